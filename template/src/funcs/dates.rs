//! Time: Sprig's date functions (`date.go`) over a port of the parts of Go's
//! `time` package they reach — `Format`/`Parse` with Go's reference-time
//! layouts, `Duration` parsing and printing, zones (UTC, `Local` — which Go
//! takes from `$TZ` or `/etc/localtime`, UTC in most containers — and IANA
//! names read from the system's zoneinfo files), and the `time.Time`
//! methods templates call.

use std::fmt::Write as _;
use std::sync::Arc;

use super::{FuncMap, Ty, add, s, sig, sig_var};
use crate::error::GoError;
use crate::exec::Engine;
use crate::helm::objects::Method;
use crate::value::{Object, Value, gostr};

/// A Go `time.Time`: an instant and the zone it is shown in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoTime {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    pub nanos: u32,
    /// Seconds east of UTC in the time's zone at this instant.
    pub offset: i32,
    /// Zone abbreviation ("UTC", "EST"); empty for a fabricated offset zone.
    pub abbr: String,
    /// The location the time is in (what `Location` returns).
    pub loc: Loc,
}

/// Where a time is: Go's `*time.Location`. Go compares locations as
/// pointers; equality here follows which ones Go shares.
#[derive(Debug, Clone)]
pub enum Loc {
    Utc,
    Local,
    /// A zone of its own (`time.FixedZone(name, offset)`), made per parse.
    Fixed {
        name: Arc<str>,
        offset: i32,
    },
}

impl Loc {
    pub fn fixed(name: &str, offset: i32) -> Loc {
        Loc::Fixed {
            name: name.into(),
            offset,
        }
    }

    /// `Location.String()`.
    pub fn name(&self) -> &str {
        match self {
            Loc::Utc => "UTC",
            Loc::Local => local_name(),
            Loc::Fixed { name, .. } => name,
        }
    }
}

impl PartialEq for Loc {
    fn eq(&self, other: &Loc) -> bool {
        match (self, other) {
            (Loc::Utc, Loc::Utc) | (Loc::Local, Loc::Local) => true,
            (Loc::Fixed { name: a, offset: x }, Loc::Fixed { name: b, offset: y }) => {
                // `FixedZone` hands out one zone per whole hour from −12 to
                // +14 when unnamed; BurntSushi/toml's local zones are
                // package variables.
                let shared = |name: &str, off: i32| {
                    (name.is_empty() && off % 3600 == 0 && (-12..=14).contains(&(off / 3600)))
                        || matches!(name, "datetime-local" | "date-local" | "time-local")
                };
                Arc::ptr_eq(a, b) || (x == y && a == b && shared(a, *x))
            }
            _ => false,
        }
    }
}

impl Eq for Loc {}

const UNIX_TO_INTERNAL: i64 = 62_135_596_800; // seconds from 0001-01-01 to 1970-01-01

impl GoTime {
    /// Nanoseconds since Go's zero time (January 1, year 1, UTC), which
    /// `Truncate` and `Round` count multiples from.
    fn since_zero_nanos(&self) -> i128 {
        (i128::from(self.secs) + i128::from(UNIX_TO_INTERNAL)) * 1_000_000_000
            + i128::from(self.nanos)
    }

    /// The time `d` nanoseconds later (earlier when negative), in the same
    /// zone; `time.Time.Add`.
    fn plus_nanos(&self, d: i128) -> GoTime {
        let total = i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos) + d;
        GoTime {
            secs: total
                .div_euclid(1_000_000_000)
                .clamp(i64::MIN.into(), i64::MAX.into()) as i64,
            nanos: total.rem_euclid(1_000_000_000) as u32,
            ..self.clone()
        }
    }

    pub fn utc(secs: i64, nanos: u32) -> GoTime {
        GoTime {
            secs,
            nanos,
            offset: 0,
            abbr: "UTC".into(),
            loc: Loc::Utc,
        }
    }

    /// Go's zero `time.Time` (0001-01-01 00:00:00 UTC).
    pub fn zero() -> GoTime {
        GoTime::utc(-UNIX_TO_INTERNAL, 0)
    }

    /// `time.Now()`: in Local.
    pub fn now() -> GoTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        GoTime::utc(d.as_secs() as i64, d.subsec_nanos()).in_local()
    }

    /// `t.Local()`.
    pub fn in_local(&self) -> GoTime {
        self.in_zone(local_zone(), Loc::Local)
    }

    /// The local seconds as Go's `absSec` has them: the Unix seconds
    /// plus the offset, wrapping in int64 (AddDate can give any int64),
    /// taken as unsigned seconds from the absolute epoch; so a time before
    /// that epoch (Unix seconds near int64's minimum) has the date 2^64
    /// seconds later (`dateInZone` of -9223372036854775808 is in year
    /// 292277026596, one second after int64's maximum).
    fn local_secs(&self) -> i128 {
        let local = self.secs.wrapping_add(self.offset as i64);
        let abs = local.wrapping_sub(ABSOLUTE_TO_UNIX) as u64;
        i128::from(abs) + i128::from(ABSOLUTE_TO_UNIX)
    }

    /// Days since 1970-01-01 of [`GoTime::local_secs`].
    fn local_days(&self) -> i64 {
        self.local_secs().div_euclid(86_400) as i64
    }

    fn civil(&self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.local_days();
        let rem = self.local_secs().rem_euclid(86_400) as i64;
        let (y, m, d) = civil_from_days(days);
        (
            y,
            m,
            d,
            (rem / 3600) as u32,
            ((rem % 3600) / 60) as u32,
            (rem % 60) as u32,
        )
    }

    fn weekday(&self) -> u32 {
        // 1970-01-01 was a Thursday (4).
        (self.local_days() + 4).rem_euclid(7) as u32
    }

    fn year_day(&self) -> u32 {
        let (y, _, _, _, _, _) = self.civil();
        (self.local_days() - days_from_civil(y, 1, 1) + 1) as u32
    }

    /// `t.In(loc)`: the same instant in another location.
    pub fn in_loc(&self, loc: &Loc) -> GoTime {
        match loc {
            Loc::Utc => GoTime::utc(self.secs, self.nanos),
            Loc::Local => self.in_local(),
            Loc::Fixed { name, offset } => GoTime {
                offset: *offset,
                abbr: name.to_string(),
                loc: loc.clone(),
                ..self.clone()
            },
        }
    }

    /// Seconds and nanoseconds since 1970 in `unit`s of nanoseconds
    /// (`UnixMilli` & co.), wrapping past int64 as Go's do (their result
    /// is undefined there).
    fn unix_in(&self, unit: i64) -> i64 {
        self.secs
            .wrapping_mul(1_000_000_000 / unit)
            .wrapping_add(i64::from(self.nanos) / unit)
    }

    /// `t.In(zone)`, `zone` being `loc`.
    pub fn in_zone(&self, zone: &Zone, loc: Loc) -> GoTime {
        let (offset, abbr) = zone.lookup(self.secs);
        GoTime {
            secs: self.secs,
            nanos: self.nanos,
            offset,
            abbr,
            loc,
        }
    }

    pub fn add_nanos(&self, d: i128) -> GoTime {
        let total = self.secs as i128 * 1_000_000_000 + self.nanos as i128 + d;
        GoTime {
            secs: total.div_euclid(1_000_000_000) as i64,
            nanos: total.rem_euclid(1_000_000_000) as u32,
            ..self.clone()
        }
    }

    /// Go's `Time.String()` (without the monotonic clock reading).
    pub fn go_string(&self) -> String {
        format_time(self, "2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// Go's `Time.GoString()`, what `%#v` prints:
    /// `time.Date(2006, time.January, 2, 15, 4, 5, 0, time.UTC)`.
    pub fn go_syntax(&self) -> String {
        let (year, month, day, hour, min, sec) = self.civil();
        let loc = match &self.loc {
            Loc::Utc => "time.UTC".to_string(),
            Loc::Local => "time.Local".to_string(),
            Loc::Fixed { name, .. } => format!("time.Location({})", crate::gofmt::quote(name)),
        };
        format!(
            "time.Date({year}, time.{}, {day}, {hour}, {min}, {sec}, {}, {loc})",
            MONTHS[month as usize - 1],
            self.nanos
        )
    }

    /// The `wall` and `ext` fields of Go's time.Time for a time without a
    /// monotonic clock reading: the nanoseconds, and the seconds since
    /// January 1 of year 1.
    pub fn wall_ext(&self) -> (u64, i64) {
        (
            u64::from(self.nanos),
            self.secs.wrapping_add(62_135_596_800),
        )
    }
}

/// Days since 1970-01-01 → (year, month, day) (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Go's `norm` (time.go): `lo` brought into [0, base), what overflows
/// carried into `hi`, in Go's wrapping int arithmetic.
fn go_norm(mut hi: i64, mut lo: i64, base: i64) -> (i64, i64) {
    if lo < 0 {
        let n = lo.wrapping_neg().wrapping_sub(1) / base + 1;
        hi = hi.wrapping_sub(n);
        lo = lo.wrapping_add(n.wrapping_mul(base));
    }
    if lo >= base {
        let n = lo / base;
        hi = hi.wrapping_add(n);
        lo = lo.wrapping_sub(n.wrapping_mul(base));
    }
    (hi, lo)
}

/// Years from Go's absolute epoch (March 1 of year -292277022400) to year 0.
const ABSOLUTE_YEARS: u64 = 292_277_022_400;
/// Seconds from Go's absolute epoch to the Unix epoch, negated
/// (`absoluteToInternal + internalToUnix`).
const ABSOLUTE_TO_UNIX: i64 = -9_223_372_028_741_760_000;

/// Go's `dateToAbsDays` (Go 1.23): days from the absolute epoch to a date
/// whose month is normalized; the day may be out of range. Unsigned and
/// wrapping, as Go computes it.
fn date_to_abs_days(year: i64, month: u32, day: i64) -> u64 {
    let jan_feb = u32::from(month < 3);
    let amonth = month + 12 * jan_feb;
    let y = (year as u64)
        .wrapping_sub(u64::from(jan_feb))
        .wrapping_add(ABSOLUTE_YEARS);
    let ayday = (979 * amonth - 2919) >> 5;
    let century = y / 100;
    let cyear = (y % 100) as u32;
    let cday = 1461 * cyear / 4;
    let century_days = 146_097u64.wrapping_mul(century) / 4;
    century_days.wrapping_add(i64::from(cday + ayday).wrapping_add(day).wrapping_sub(1) as u64)
}

/// Go's `time.Date` in a zone `offset` seconds east of UTC: the Unix
/// seconds of a [year, month, day] and [hour, minute, second] that may be
/// out of range (normalized, carrying over), with Go's wrapping where an
/// int overflows — an absurd `AddDate` gives Go's absurd time, not a panic.
fn go_date_unix(date: [i64; 3], clock: [u32; 3], offset: i32) -> i64 {
    let [year, month, day] = date;
    let (year, m) = go_norm(year, month.wrapping_sub(1), 12);
    let (hour, min, sec) = (clock[0] as i64, clock[1] as i64, clock[2] as i64);
    let days = date_to_abs_days(year, m as u32 + 1, day) as i64;
    days.wrapping_mul(86_400)
        .wrapping_add(hour * 3600 + min * 60 + sec)
        .wrapping_add(ABSOLUTE_TO_UNIX)
        .wrapping_sub(i64::from(offset))
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Days in month `m` (1 to 12) of year `y` (proleptic Gregorian).
pub fn days_in(m: u32, y: i64) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

// ---- zones ----

/// A time zone: fixed, or transitions read from a TZif file.
#[derive(Debug, Clone)]
pub enum Zone {
    Fixed(i32, String),
    Tzif(Tzif),
}

#[derive(Debug, Clone)]
pub struct Tzif {
    transitions: Vec<(i64, usize)>,
    types: Vec<(i32, bool, String)>,
    footer: Option<PosixTz>,
}

impl Zone {
    fn lookup(&self, secs: i64) -> (i32, String) {
        match self {
            Zone::Fixed(off, name) => (*off, name.clone()),
            Zone::Tzif(t) => t.lookup(secs),
        }
    }

    /// Go's `Location.lookupName`: the offset of a zone abbreviation,
    /// preferring one in effect at the time.
    fn lookup_name(&self, name: &str, unix: i64) -> Option<i32> {
        match self {
            Zone::Fixed(off, n) => (n == name).then_some(*off),
            Zone::Tzif(t) => {
                let candidates: Vec<i32> = t
                    .types
                    .iter()
                    .filter(|ty| ty.2 == name)
                    .map(|ty| ty.0)
                    .collect();
                // First a zone of that name in effect then (its offset then),
                // else any zone of that name.
                candidates
                    .iter()
                    .find_map(|off| {
                        let (o, n) = t.lookup(unix - *off as i64);
                        (n == name).then_some(o)
                    })
                    .or(candidates.first().copied())
            }
        }
    }
}

impl Tzif {
    fn lookup(&self, secs: i64) -> (i32, String) {
        let first_std = || {
            self.types
                .iter()
                .find(|t| !t.1)
                .or(self.types.first())
                .map(|t| (t.0, t.2.clone()))
                .unwrap_or((0, "UTC".into()))
        };
        if self.transitions.is_empty() || secs < self.transitions[0].0 {
            if self.transitions.is_empty()
                && let Some(f) = &self.footer
            {
                return f.lookup(secs);
            }
            return first_std();
        }
        let idx = match self.transitions.binary_search_by(|(t, _)| t.cmp(&secs)) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        if idx == self.transitions.len() - 1
            && let Some(f) = &self.footer
        {
            return f.lookup(secs);
        }
        let (off, _, abbr) = &self.types[self.transitions[idx].1];
        (*off, abbr.clone())
    }
}

/// Go's `time.Local`: the zone named by `$TZ` (a zoneinfo name or, after
/// a `:`, a path), `/etc/localtime` when `$TZ` is unset, UTC when `$TZ` is
/// empty or the zone cannot be read.
pub fn local_zone() -> &'static Zone {
    &local().0
}

/// `time.Local.String()`: "Local" for /etc/localtime, the name `$TZ` gave
/// for another zone, "UTC" when it fell back to UTC (Go's initLocal).
pub fn local_name() -> &'static str {
    &local().1
}

fn local() -> &'static (Zone, String) {
    static LOCAL: std::sync::OnceLock<(Zone, String)> = std::sync::OnceLock::new();
    LOCAL.get_or_init(|| {
        let utc = (Zone::Fixed(0, "UTC".into()), "UTC".to_string());
        let read = |path: &str| {
            std::fs::read(path)
                .ok()
                .and_then(|d| parse_tzif(&d))
                .map(Zone::Tzif)
        };
        let named = |zone: Option<Zone>, name: &str| zone.map(|z| (z, name.to_string()));
        let found = match std::env::var("TZ") {
            Err(_) => named(read("/etc/localtime"), "Local"),
            Ok(tz) if tz.is_empty() || tz == "UTC" => None,
            Ok(tz) => {
                let tz = tz.strip_prefix(':').unwrap_or(&tz);
                if tz.starts_with('/') {
                    let name = if tz == "/etc/localtime" { "Local" } else { tz };
                    named(read(tz), name)
                } else if tz == "Local" {
                    None
                } else {
                    named(load_location(tz), tz)
                }
            }
        };
        found.unwrap_or(utc)
    })
}

/// Go's `time.LoadLocation`: UTC, Local, or a zoneinfo file.
pub fn load_location(name: &str) -> Option<Zone> {
    if name.is_empty() || name == "UTC" {
        return Some(Zone::Fixed(0, "UTC".into()));
    }
    if name == "Local" {
        return Some(local_zone().clone());
    }
    if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
        return None;
    }
    let dirs = [
        "/usr/share/zoneinfo",
        "/usr/share/lib/zoneinfo",
        "/usr/lib/locale/TZ",
        "/etc/zoneinfo",
    ];
    for dir in dirs {
        if let Ok(data) = std::fs::read(format!("{dir}/{name}")) {
            return parse_tzif(&data).map(Zone::Tzif);
        }
    }
    None
}

fn be32(b: &[u8], i: usize) -> Option<i64> {
    Some(i32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?) as i64)
}

fn be64(b: &[u8], i: usize) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

/// Parses a TZif file (v1, or the 64-bit v2+ block and its POSIX footer).
fn parse_tzif(data: &[u8]) -> Option<Tzif> {
    if data.get(..4)? != b"TZif" {
        return None;
    }
    let version = data[4];
    let header = |b: &[u8]| -> Option<[usize; 6]> {
        let mut h = [0usize; 6];
        for (k, slot) in h.iter_mut().enumerate() {
            *slot = be32(b, 20 + 4 * k)? as usize;
        }
        Some(h)
    };
    let [isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt] = header(data)?;
    let v1_len = timecnt * 5 + typecnt * 6 + charcnt + leapcnt * 8 + isstdcnt + isutcnt;
    let (block, time_size, start) = if version >= b'2' {
        let second = &data[44 + v1_len..];
        (second, 8, 44)
    } else {
        (data, 4, 44)
    };
    let [isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt] = header(block)?;
    let mut p = start;
    let mut transitions = Vec::with_capacity(timecnt);
    for k in 0..timecnt {
        let t = if time_size == 8 {
            be64(block, p + 8 * k)?
        } else {
            be32(block, p + 4 * k)?
        };
        transitions.push((t, 0usize));
    }
    p += timecnt * time_size;
    for (k, tr) in transitions.iter_mut().enumerate() {
        tr.1 = *block.get(p + k)? as usize;
    }
    p += timecnt;
    let mut raw_types = Vec::with_capacity(typecnt);
    for k in 0..typecnt {
        let off = be32(block, p + 6 * k)? as i32;
        let dst = *block.get(p + 6 * k + 4)? != 0;
        let idx = *block.get(p + 6 * k + 5)? as usize;
        raw_types.push((off, dst, idx));
    }
    p += typecnt * 6;
    let chars = block.get(p..p + charcnt)?;
    let abbr = |i: usize| -> String {
        let rest = chars.get(i..).unwrap_or(&[]);
        let end = rest.iter().position(|c| *c == 0).unwrap_or(rest.len());
        String::from_utf8_lossy(&rest[..end]).into_owned()
    };
    let types: Vec<(i32, bool, String)> = raw_types
        .iter()
        .map(|(o, d, i)| (*o, *d, abbr(*i)))
        .collect();
    p += charcnt + leapcnt * (time_size + 4) + isstdcnt + isutcnt;
    let footer = if version >= b'2' {
        let rest = block.get(p..)?;
        let text = String::from_utf8_lossy(rest);
        let line = text
            .trim_start_matches('\n')
            .split('\n')
            .next()
            .unwrap_or("");
        PosixTz::parse(line)
    } else {
        None
    };
    if transitions.iter().any(|(_, i)| *i >= types.len()) {
        return None;
    }
    Some(Tzif {
        transitions,
        types,
        footer,
    })
}

/// A POSIX TZ rule string (`EST5EDT,M3.2.0,M11.1.0`).
#[derive(Debug, Clone)]
pub struct PosixTz {
    std: (String, i32),
    dst: Option<((String, i32), Rule, Rule)>,
}

#[derive(Debug, Clone)]
enum RuleDay {
    Julian1(u32),
    Julian0(u32),
    MonthWeekDay(u32, u32, u32),
}

#[derive(Debug, Clone)]
struct Rule {
    day: RuleDay,
    time: i64,
}

impl PosixTz {
    fn parse(s: &str) -> Option<PosixTz> {
        let b = s.as_bytes();
        let mut i = 0;
        let name = |i: &mut usize| -> Option<String> {
            if b.get(*i) == Some(&b'<') {
                let end = s[*i..].find('>')? + *i;
                let n = s[*i + 1..end].to_string();
                *i = end + 1;
                return Some(n);
            }
            let start = *i;
            while *i < b.len() && b[*i].is_ascii_alphabetic() {
                *i += 1;
            }
            (*i > start).then(|| s[start..*i].to_string())
        };
        let offset = |i: &mut usize| -> Option<i64> {
            let mut sign = 1;
            if matches!(b.get(*i), Some(b'+' | b'-')) {
                if b[*i] == b'-' {
                    sign = -1;
                }
                *i += 1;
            }
            let mut parts = [0i64; 3];
            for (k, part) in parts.iter_mut().enumerate() {
                if k > 0 {
                    if b.get(*i) != Some(&b':') {
                        break;
                    }
                    *i += 1;
                }
                let start = *i;
                while *i < b.len() && b[*i].is_ascii_digit() {
                    *i += 1;
                }
                *part = s.get(start..*i)?.parse().ok()?;
            }
            Some(sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]))
        };
        let std_name = name(&mut i)?;
        let std_off = -offset(&mut i)? as i32;
        if i >= b.len() {
            return Some(PosixTz {
                std: (std_name, std_off),
                dst: None,
            });
        }
        let dst_name = name(&mut i)?;
        let dst_off = if b.get(i).is_some_and(|c| *c != b',') {
            -offset(&mut i)? as i32
        } else {
            std_off + 3600
        };
        let rule = |i: &mut usize| -> Option<Rule> {
            if b.get(*i) != Some(&b',') {
                return None;
            }
            *i += 1;
            let num = |i: &mut usize| -> Option<u32> {
                let start = *i;
                while *i < b.len() && b[*i].is_ascii_digit() {
                    *i += 1;
                }
                s.get(start..*i)?.parse().ok()
            };
            let day = match b.get(*i)? {
                b'J' => {
                    *i += 1;
                    RuleDay::Julian1(num(i)?)
                }
                b'M' => {
                    *i += 1;
                    let m = num(i)?;
                    *i += 1;
                    let w = num(i)?;
                    *i += 1;
                    let d = num(i)?;
                    RuleDay::MonthWeekDay(m, w, d)
                }
                _ => RuleDay::Julian0(num(i)?),
            };
            let time = if b.get(*i) == Some(&b'/') {
                *i += 1;
                offset(i)?
            } else {
                7200
            };
            Some(Rule { day, time })
        };
        let start = rule(&mut i)?;
        let end = rule(&mut i)?;
        Some(PosixTz {
            std: (std_name, std_off),
            dst: Some(((dst_name, dst_off), start, end)),
        })
    }

    fn lookup(&self, secs: i64) -> (i32, String) {
        let Some(((dst_name, dst_off), start, end)) = &self.dst else {
            return (self.std.1, self.std.0.clone());
        };
        let year = civil_from_days((secs + self.std.1 as i64).div_euclid(86_400)).0;
        let at = |r: &Rule, off: i32| -> i64 {
            let day = match r.day {
                RuleDay::Julian1(n) => {
                    let mut d = n as i64 - 1;
                    if is_leap(year) && n >= 60 {
                        d += 1;
                    }
                    days_from_civil(year, 1, 1) + d
                }
                RuleDay::Julian0(n) => days_from_civil(year, 1, 1) + n as i64,
                RuleDay::MonthWeekDay(m, w, d) => {
                    let first = days_from_civil(year, m, 1);
                    let wd_first = (first + 4).rem_euclid(7) as u32;
                    let mut day = 1 + (d + 7 - wd_first) % 7 + (w - 1) * 7;
                    while day > days_in(m, year) {
                        day -= 7;
                    }
                    first + day as i64 - 1
                }
            };
            day * 86_400 + r.time - off as i64
        };
        let dst_start = at(start, self.std.1);
        let dst_end = at(end, *dst_off);
        let in_dst = if dst_start < dst_end {
            secs >= dst_start && secs < dst_end
        } else {
            !(secs >= dst_end && secs < dst_start)
        };
        if in_dst {
            (*dst_off, dst_name.clone())
        } else {
            (self.std.1, self.std.0.clone())
        }
    }
}

// ---- formatting (Go's layout language) ----

#[derive(Debug, Clone, Copy, PartialEq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    ISO8601TZ,
    ISO8601SecondsTZ,
    ISO8601ShortTZ,
    ISO8601ColonTZ,
    ISO8601ColonSecondsTZ,
    NumTZ,
    NumSecondsTz,
    NumShortTZ,
    NumColonTZ,
    NumColonSecondsTZ,
    /// Fractional seconds: digits, trailing zeros dropped (`.999`) or kept (`.000`), separator.
    Frac(usize, bool, char),
}

/// Go's `nextStdChunk`: the literal prefix, the element, and the rest.
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &layout[i..];
        let (std, len) = match b[i] {
            b'J' => {
                if rest.starts_with("Jan") {
                    if rest.starts_with("January") {
                        (Some(Std::LongMonth), 7)
                    } else if !starts_with_lower(&layout[i + 3..]) {
                        (Some(Std::Month), 3)
                    } else {
                        (None, 0)
                    }
                } else {
                    (None, 0)
                }
            }
            b'M' => {
                if rest.starts_with("Mon") {
                    if rest.starts_with("Monday") {
                        (Some(Std::LongWeekDay), 6)
                    } else if !starts_with_lower(&layout[i + 3..]) {
                        (Some(Std::WeekDay), 3)
                    } else {
                        (None, 0)
                    }
                } else if rest.starts_with("MST") {
                    (Some(Std::TZ), 3)
                } else {
                    (None, 0)
                }
            }
            b'0' => {
                if let Some(&c) = b.get(i + 1) {
                    if (b'1'..=b'6').contains(&c) {
                        let s = match c {
                            b'1' => Std::ZeroMonth,
                            b'2' => Std::ZeroDay,
                            b'3' => Std::ZeroHour12,
                            b'4' => Std::ZeroMinute,
                            b'5' => Std::ZeroSecond,
                            _ => Std::Year,
                        };
                        (Some(s), 2)
                    } else if c == b'0' && b.get(i + 2) == Some(&b'2') {
                        (Some(Std::ZeroYearDay), 3)
                    } else {
                        (None, 0)
                    }
                } else {
                    (None, 0)
                }
            }
            b'1' => {
                if b.get(i + 1) == Some(&b'5') {
                    (Some(Std::Hour), 2)
                } else {
                    (Some(Std::NumMonth), 1)
                }
            }
            b'2' => {
                if rest.starts_with("2006") {
                    (Some(Std::LongYear), 4)
                } else {
                    (Some(Std::Day), 1)
                }
            }
            b'_' => {
                if b.get(i + 1) == Some(&b'2') {
                    // _2006 is really a literal _, followed by stdLongYear.
                    if rest.starts_with("_2006") {
                        return (&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]);
                    }
                    (Some(Std::UnderDay), 2)
                } else if b.get(i + 1) == Some(&b'_') && b.get(i + 2) == Some(&b'2') {
                    (Some(Std::UnderYearDay), 3)
                } else {
                    (None, 0)
                }
            }
            b'3' => (Some(Std::Hour12), 1),
            b'4' => (Some(Std::Minute), 1),
            b'5' => (Some(Std::Second), 1),
            b'P' => {
                if b.get(i + 1) == Some(&b'M') {
                    (Some(Std::PM), 2)
                } else {
                    (None, 0)
                }
            }
            b'p' => {
                if b.get(i + 1) == Some(&b'm') {
                    (Some(Std::Pm), 2)
                } else {
                    (None, 0)
                }
            }
            b'-' => {
                if rest.starts_with("-07:00:00") {
                    (Some(Std::NumColonSecondsTZ), 9)
                } else if rest.starts_with("-0700") {
                    if rest.starts_with("-070000") {
                        (Some(Std::NumSecondsTz), 7)
                    } else {
                        (Some(Std::NumTZ), 5)
                    }
                } else if rest.starts_with("-07:00") {
                    (Some(Std::NumColonTZ), 6)
                } else if rest.starts_with("-07") {
                    (Some(Std::NumShortTZ), 3)
                } else {
                    (None, 0)
                }
            }
            b'Z' => {
                if rest.starts_with("Z07:00:00") {
                    (Some(Std::ISO8601ColonSecondsTZ), 9)
                } else if rest.starts_with("Z070000") {
                    (Some(Std::ISO8601SecondsTZ), 7)
                } else if rest.starts_with("Z0700") {
                    (Some(Std::ISO8601TZ), 5)
                } else if rest.starts_with("Z07:00") {
                    (Some(Std::ISO8601ColonTZ), 6)
                } else if rest.starts_with("Z07") {
                    (Some(Std::ISO8601ShortTZ), 3)
                } else {
                    (None, 0)
                }
            }
            b'.' | b',' => {
                let c = b.get(i + 1).copied();
                if (c == Some(b'0') || c == Some(b'9')) && i + 1 < b.len() {
                    let ch = b[i + 1];
                    let mut j = i + 1;
                    while j < b.len() && b[j] == ch {
                        j += 1;
                    }
                    // String of digits must end here - only fractional second if all digits.
                    if !(j < b.len() && b[j].is_ascii_digit()) {
                        (
                            Some(Std::Frac(j - (i + 1), ch == b'0', b[i] as char)),
                            j - i,
                        )
                    } else {
                        (None, 0)
                    }
                } else {
                    (None, 0)
                }
            }
            _ => (None, 0),
        };
        if let Some(std) = std {
            return (&layout[..i], Some(std), &layout[i + len..]);
        }
        i += rest.chars().next().map(char::len_utf8).unwrap_or(1);
    }
    (layout, None, "")
}

fn starts_with_lower(s: &str) -> bool {
    s.as_bytes().first().is_some_and(|c| c.is_ascii_lowercase())
}

/// Go's `Time.Format(layout)`.
pub fn format_time(t: &GoTime, layout: &str) -> String {
    let (year, month, day, hour, min, sec) = t.civil();
    let mut out = String::new();
    let mut rest = layout;
    loop {
        let (prefix, std, suffix) = next_std_chunk(rest);
        out.push_str(prefix);
        let Some(std) = std else { break };
        rest = suffix;
        match std {
            Std::Year => {
                let _ = write!(out, "{:02}", year.rem_euclid(100));
            }
            Std::LongYear => {
                if year < 0 {
                    let _ = write!(out, "-{:04}", -year);
                } else {
                    let _ = write!(out, "{year:04}");
                }
            }
            Std::Month => out.push_str(&MONTHS[(month - 1) as usize][..3]),
            Std::LongMonth => out.push_str(MONTHS[(month - 1) as usize]),
            Std::NumMonth => out.push_str(&month.to_string()),
            Std::ZeroMonth => {
                let _ = write!(out, "{month:02}");
            }
            Std::WeekDay => out.push_str(&DAYS[t.weekday() as usize][..3]),
            Std::LongWeekDay => out.push_str(DAYS[t.weekday() as usize]),
            Std::Day => out.push_str(&day.to_string()),
            Std::UnderDay => {
                let _ = write!(out, "{day:>2}");
            }
            Std::ZeroDay => {
                let _ = write!(out, "{day:02}");
            }
            Std::UnderYearDay => {
                let _ = write!(out, "{:>3}", t.year_day());
            }
            Std::ZeroYearDay => {
                let _ = write!(out, "{:03}", t.year_day());
            }
            Std::Hour => {
                let _ = write!(out, "{hour:02}");
            }
            Std::Hour12 => out.push_str(&(if hour % 12 == 0 { 12 } else { hour % 12 }).to_string()),
            Std::ZeroHour12 => {
                let _ = write!(out, "{:02}", if hour % 12 == 0 { 12 } else { hour % 12 });
            }
            Std::Minute => out.push_str(&min.to_string()),
            Std::ZeroMinute => {
                let _ = write!(out, "{min:02}");
            }
            Std::Second => out.push_str(&sec.to_string()),
            Std::ZeroSecond => {
                let _ = write!(out, "{sec:02}");
            }
            Std::PM => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
            Std::TZ => {
                if !t.abbr.is_empty() {
                    out.push_str(&t.abbr);
                } else {
                    // No name: use the numeric offset like -0700.
                    push_offset(&mut out, t.offset, false, false, false);
                }
            }
            Std::ISO8601TZ
            | Std::ISO8601ColonTZ
            | Std::ISO8601SecondsTZ
            | Std::ISO8601ShortTZ
            | Std::ISO8601ColonSecondsTZ
                if t.offset == 0 =>
            {
                out.push('Z')
            }
            Std::ISO8601TZ | Std::NumTZ => push_offset(&mut out, t.offset, false, false, false),
            Std::ISO8601ColonTZ | Std::NumColonTZ => {
                push_offset(&mut out, t.offset, true, false, false)
            }
            Std::ISO8601SecondsTZ | Std::NumSecondsTz => {
                push_offset(&mut out, t.offset, false, true, false)
            }
            Std::ISO8601ColonSecondsTZ | Std::NumColonSecondsTZ => {
                push_offset(&mut out, t.offset, true, true, false)
            }
            Std::ISO8601ShortTZ | Std::NumShortTZ => {
                push_offset(&mut out, t.offset, false, false, true)
            }
            Std::Frac(n, keep_zeros, sep) => {
                let digits = format!("{:09}", t.nanos);
                let mut d = digits[..n.min(9)].to_string();
                if !keep_zeros {
                    while d.ends_with('0') {
                        d.pop();
                    }
                    if d.is_empty() {
                        continue;
                    }
                }
                out.push(sep);
                out.push_str(&d);
            }
        }
    }
    out
}

fn push_offset(out: &mut String, offset: i32, colon: bool, seconds: bool, short: bool) {
    let (sign, off) = if offset < 0 {
        ('-', -offset)
    } else {
        ('+', offset)
    };
    out.push(sign);
    let _ = write!(out, "{:02}", off / 3600);
    if !short {
        if colon {
            out.push(':');
        }
        let _ = write!(out, "{:02}", (off % 3600) / 60);
    }
    if seconds {
        if colon {
            out.push(':');
        }
        let _ = write!(out, "{:02}", off % 60);
    }
}

// ---- parsing ----

/// Go's `parseSignedOffset`: the length of a `+h`/`-hh` hour offset.
fn parse_signed_offset(value: &str) -> usize {
    let b = value.as_bytes();
    if b.is_empty() || (b[0] != b'+' && b[0] != b'-') {
        return 0;
    }
    let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return 0;
    }
    match value[1..1 + digits].parse::<u64>() {
        Ok(x) if x <= 24 => 1 + digits,
        _ => 0,
    }
}

/// Go's `parseTimeZone`: the length of a zone abbreviation at the start
/// of `value` (`MST`, `CEST`, `ChST`, `GMT+3`, `+03`), if any.
fn parse_time_zone(value: &str) -> Option<usize> {
    if value.len() < 3 {
        return None;
    }
    if value.starts_with("ChST") || value.starts_with("MeST") {
        return Some(4);
    }
    if let Some(rest) = value.strip_prefix("GMT") {
        return Some(3 + parse_signed_offset(rest));
    }
    if value.starts_with(['+', '-']) {
        let n = parse_signed_offset(value);
        return (n > 0).then_some(n);
    }
    let b = value.as_bytes();
    let upper = b
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        3 => Some(3),
        4 if b[3] == b'T' || value.starts_with("WITA") => Some(4),
        5 if b[4] == b'T' => Some(5),
        _ => None,
    }
}

/// Go's `time.ParseInLocation(layout, value, Local)`.
/// The `time` package's `quote` (its errors' quoting): like
/// `strconv.Quote` for ASCII, but each byte of a non-ASCII or control
/// character is written `\xNN`.
fn time_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='\x7f' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                let bytes: &[u8] = match gostr::escaped_byte(c) {
                    Some(b) => &[b],
                    None => c.encode_utf8(&mut buf).as_bytes(),
                };
                for b in bytes.iter() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
        }
    }
    out.push('"');
    out
}

pub fn parse_time(layout: &str, value: &str) -> Result<GoTime, String> {
    let alayout = layout;
    let avalue = value;
    let err = |elem: &str, v: &str, msg: &str| -> String {
        format!(
            "parsing time {} as {}: cannot parse {} as {}{msg}",
            time_quote(avalue),
            time_quote(alayout),
            time_quote(v),
            time_quote(elem)
        )
    };
    // Go's zero year: a layout without one parses into year 0.
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nsec) =
        (0i64, -1i64, -1i64, 0i64, 0i64, 0i64, 0i64);
    let mut yday = -1i64;
    let mut pm_set = false;
    let mut am_set = false;
    let mut zone_offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    let mut layout = layout;
    let mut value = value;
    loop {
        let (prefix, std, suffix) = next_std_chunk(layout);
        let std_str = &layout[prefix.len()..layout.len() - suffix.len()];
        value = skip(value, prefix).map_err(|at| err(prefix, &at, ""))?;
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(format!(
                    "parsing time {}: extra text: {}",
                    time_quote(avalue),
                    time_quote(value)
                ));
            }
            break;
        };
        layout = suffix;
        let hold = value;
        let range_err =
            |what: &str| format!("parsing time {}: {what} out of range", time_quote(avalue));
        match std {
            Std::Year => {
                // Go reads the two bytes with atoi, which takes a sign.
                let b = value.as_bytes();
                let digits = match b {
                    [b'+' | b'-', d, ..] => std::slice::from_ref(d),
                    [d0, d1, ..] => &[*d0, *d1][..],
                    _ => &[][..],
                };
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return Err(err(std_str, hold, ""));
                }
                let mut n = digits
                    .iter()
                    .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
                if b[0] == b'-' {
                    n = -n;
                }
                year = if n >= 69 { n + 1900 } else { n + 2000 };
                value = &value[2..];
            }
            Std::LongYear => {
                if value.len() < 4 || !value.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
                    return Err(err(std_str, hold, ""));
                }
                year = value[..4].parse().unwrap_or(0);
                value = &value[4..];
            }
            Std::Month | Std::LongMonth => {
                let names: Vec<&str> = if std == Std::Month {
                    MONTHS.iter().map(|m| &m[..3]).collect()
                } else {
                    MONTHS.to_vec()
                };
                let (i, rest) = lookup_name(&names, value).ok_or_else(|| err(std_str, hold, ""))?;
                month = i as i64 + 1;
                value = rest;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (n, rest) =
                    getnum(value, std == Std::ZeroMonth).ok_or_else(|| err(std_str, hold, ""))?;
                if !(1..=12).contains(&n) {
                    return Err(range_err("month"));
                }
                month = n;
                value = rest;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let names: Vec<&str> = if std == Std::WeekDay {
                    DAYS.iter().map(|d| &d[..3]).collect()
                } else {
                    DAYS.to_vec()
                };
                let (_, rest) = lookup_name(&names, value).ok_or_else(|| err(std_str, hold, ""))?;
                value = rest;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay && value.starts_with(' ') {
                    value = &value[1..];
                }
                let (n, rest) =
                    getnum(value, std == Std::ZeroDay).ok_or_else(|| err(std_str, hold, ""))?;
                day = n;
                value = rest;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let mut v = value;
                for _ in 0..2 {
                    if std == Std::UnderYearDay && v.starts_with(' ') {
                        v = &v[1..];
                    }
                }
                let (n, rest) =
                    getnum3(v, std == Std::ZeroYearDay).ok_or_else(|| err(std_str, hold, ""))?;
                yday = n;
                value = rest;
            }
            Std::Hour => {
                let (n, rest) = getnum(value, false).ok_or_else(|| err(std_str, hold, ""))?;
                if !(0..24).contains(&n) {
                    return Err(range_err("hour"));
                }
                hour = n;
                value = rest;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (n, rest) =
                    getnum(value, std == Std::ZeroHour12).ok_or_else(|| err(std_str, hold, ""))?;
                if !(0..=12).contains(&n) {
                    return Err(range_err("hour"));
                }
                hour = n;
                value = rest;
            }
            Std::Minute | Std::ZeroMinute => {
                let (n, rest) =
                    getnum(value, std == Std::ZeroMinute).ok_or_else(|| err(std_str, hold, ""))?;
                if !(0..60).contains(&n) {
                    return Err(range_err("minute"));
                }
                min = n;
                value = rest;
            }
            Std::Second | Std::ZeroSecond => {
                let (n, rest) =
                    getnum(value, std == Std::ZeroSecond).ok_or_else(|| err(std_str, hold, ""))?;
                if !(0..60).contains(&n) {
                    return Err(range_err("second"));
                }
                sec = n;
                value = rest;
                // Fractional second in the value but not the layout.
                if value.len() >= 2
                    && (value.starts_with('.') || value.starts_with(','))
                    && value.as_bytes()[1].is_ascii_digit()
                {
                    let (_, next_std, _) = next_std_chunk(layout);
                    if !matches!(next_std, Some(Std::Frac(..))) {
                        let mut n = 1;
                        while n < value.len() && value.as_bytes()[n].is_ascii_digit() {
                            n += 1;
                        }
                        nsec = parse_nanos(&value[1..n]);
                        value = &value[n..];
                    }
                }
            }
            Std::PM | Std::Pm => {
                let Some(p) = value.get(..2) else {
                    return Err(err(std_str, hold, ""));
                };
                match (std, p) {
                    (Std::PM, "PM") | (Std::Pm, "pm") => pm_set = true,
                    (Std::PM, "AM") | (Std::Pm, "am") => am_set = true,
                    _ => return Err(err(std_str, hold, "")),
                }
                value = &value[2..];
            }
            Std::ISO8601TZ
            | Std::ISO8601ColonTZ
            | Std::ISO8601SecondsTZ
            | Std::ISO8601ShortTZ
            | Std::ISO8601ColonSecondsTZ
                if value.starts_with('Z') =>
            {
                value = &value[1..];
                zone_offset = Some(0);
                zone_name = Some("UTC".into());
            }
            Std::ISO8601TZ
            | Std::ISO8601ColonTZ
            | Std::ISO8601SecondsTZ
            | Std::ISO8601ShortTZ
            | Std::ISO8601ColonSecondsTZ
            | Std::NumTZ
            | Std::NumShortTZ
            | Std::NumColonTZ
            | Std::NumSecondsTz
            | Std::NumColonSecondsTZ => {
                // Go's layout of the offset: sign, hours, then minutes and
                // seconds as the element asks (byte offsets into the value).
                let colon = matches!(std, Std::ISO8601ColonTZ | Std::NumColonTZ);
                let colon_seconds =
                    matches!(std, Std::ISO8601ColonSecondsTZ | Std::NumColonSecondsTZ);
                let seconds = matches!(std, Std::ISO8601SecondsTZ | Std::NumSecondsTz);
                let short = matches!(std, Std::ISO8601ShortTZ | Std::NumShortTZ);
                let b = value.as_bytes();
                let (need, min_at, sec_at): (usize, Option<usize>, Option<usize>) = if colon {
                    (6, Some(4), None)
                } else if short {
                    (3, None, None)
                } else if colon_seconds {
                    (9, Some(4), Some(7))
                } else if seconds {
                    (7, Some(3), Some(5))
                } else {
                    (5, Some(3), None)
                };
                if b.len() < need
                    || ((colon || colon_seconds) && b[3] != b':')
                    || (colon_seconds && b[6] != b':')
                {
                    return Err(err(std_str, hold, ""));
                }
                let two = |at: Option<usize>| match at {
                    None => Some(0),
                    Some(i) if b[i].is_ascii_digit() && b[i + 1].is_ascii_digit() => {
                        Some(i64::from(b[i] - b'0') * 10 + i64::from(b[i + 1] - b'0'))
                    }
                    Some(_) => None,
                };
                // getnum stops at the first bad field; the others read 0.
                let hh = two(Some(1));
                let mm = hh.and(two(min_at));
                let ss = mm.and(two(sec_at));
                // Go checks the ranges (the last one out wins) before the
                // digits' and the sign's validity.
                let (h, m, sc) = (hh.unwrap_or(0), mm.unwrap_or(0), ss.unwrap_or(0));
                if sc > 60 {
                    return Err(range_err("time zone offset second"));
                }
                if m > 60 {
                    return Err(range_err("time zone offset minute"));
                }
                if h > 24 {
                    return Err(range_err("time zone offset hour"));
                }
                if ss.is_none() || !matches!(b[0], b'+' | b'-') {
                    return Err(err(std_str, hold, ""));
                }
                let mut off = ((h * 60 + m) * 60 + sc) as i32;
                if b[0] == b'-' {
                    off = -off;
                }
                zone_offset = Some(off);
                // The sign, digits and colons checked are ASCII.
                value = &value[need..];
            }
            Std::TZ => {
                // A time zone abbreviation (Go's `parseTimeZone`).
                if value.starts_with("UTC") {
                    zone_name = Some("UTC".into());
                    value = &value[3..];
                } else {
                    let Some(n) = parse_time_zone(value) else {
                        return Err(err(std_str, hold, ""));
                    };
                    zone_name = Some(value[..n].to_string());
                    value = &value[n..];
                }
            }
            Std::Frac(ndigit, true, _) => {
                // stdFracSecond0 (`.000`): exactly this many digits.
                let n = 1 + ndigit;
                let b = value.as_bytes();
                if b.len() < n || !matches!(b[0], b'.' | b',') {
                    return Err(err(std_str, hold, ""));
                }
                // parseNanoseconds: Go's atoi of the digits, which takes a
                // sign (and no digits at all after one).
                // Only the first nine are read; they scale to nanoseconds
                // by the count the layout asks for.
                let read = n.min(10);
                let (neg, digits) = match b[1..read].split_first() {
                    Some((b'-', d)) => (true, d),
                    Some((b'+', d)) => (false, d),
                    _ => (false, &b[1..read]),
                };
                if !digits.iter().all(u8::is_ascii_digit) {
                    return Err(err(std_str, hold, ""));
                }
                let ns = digits
                    .iter()
                    .fold(0i64, |ns, d| ns * 10 + i64::from(d - b'0'));
                if neg && ns != 0 {
                    return Err(range_err("fractional second"));
                }
                nsec = ns * 10i64.pow((10 - read) as u32);
                value = &value[n..];
            }
            Std::Frac(..) => {
                // stdFracSecond9 (`.999`): optional, any number of digits.
                let b = value.as_bytes();
                if b.len() < 2 || !matches!(b[0], b'.' | b',') || !b[1].is_ascii_digit() {
                    continue;
                }
                let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                nsec = parse_nanos(&value[1..n]);
                value = &value[n..];
            }
        }
    }
    if pm_set && hour < 12 {
        hour += 12;
    } else if am_set && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        // Go's mapping of the day of the year to a month and day: the
        // leap day taken out first, then the months of a common year.
        let mut yday = yday;
        let mut md = None;
        if is_leap(year) {
            if yday == 31 + 29 {
                md = Some((2, 29));
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        let out_of_range = |what: &str| format!("parsing time {}: {what}", time_quote(avalue));
        if !(1..=365).contains(&yday) {
            return Err(out_of_range("day-of-year out of range"));
        }
        let (m, d) = md.unwrap_or_else(|| {
            let mut m = 1u32;
            let mut before = 0i64;
            while m < 12 && before + i64::from(days_in(m, 1)) < yday {
                before += i64::from(days_in(m, 1));
                m += 1;
            }
            (i64::from(m), yday - before)
        });
        if month >= 0 && month != m {
            return Err(out_of_range("day-of-year does not match month"));
        }
        if day >= 0 && day != d {
            return Err(out_of_range("day-of-year does not match day"));
        }
        month = m;
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > days_in(month as u32, year) as i64 {
        return Err(format!(
            "parsing time {}: day out of range",
            time_quote(avalue)
        ));
    }
    let local =
        days_from_civil(year, month as u32, day as u32) * 86_400 + hour * 3600 + min * 60 + sec;
    let zone = local_zone();
    let t = match (zone_offset, zone_name) {
        // "Z", or "UTC" for a zone name, means UTC itself (Go's `z`), an
        // offset beside it notwithstanding.
        (_, Some(name)) if name == "UTC" => GoTime::utc(local, nsec as u32),
        (Some(off), name) => {
            // An offset (and name) in effect in Local at that time takes
            // Local's zone; others get a zone of their own.
            let secs = local - off as i64;
            let (loff, labbr) = zone.lookup(secs);
            let name = name.unwrap_or_default();
            let (abbr, loc) = if loff == off && (name.is_empty() || name == labbr) {
                (labbr, Loc::Local)
            } else {
                let loc = Loc::fixed(&name, off);
                (name, loc)
            };
            GoTime {
                secs,
                nanos: nsec as u32,
                offset: off,
                abbr,
                loc,
            }
        }
        (None, Some(name)) => {
            // A zone abbreviation Local knows gets its offset; others are
            // fabricated (GMT±h keeps its hours, anything else offset 0).
            match zone.lookup_name(&name, local) {
                // The instant is shown in Local's zone at that time.
                Some(off) => GoTime::utc(local - off as i64, nsec as u32).in_local(),
                None => {
                    let off = name
                        .strip_prefix("GMT")
                        .filter(|r| !r.is_empty())
                        .and_then(|r| r.parse::<i32>().ok())
                        .map_or(0, |h| h * 3600);
                    // Go keeps the wall time as UTC here (the offset only
                    // changes how the instant is shown).
                    GoTime {
                        secs: local,
                        nanos: nsec as u32,
                        offset: off,
                        loc: Loc::fixed(&name, off),
                        abbr: name,
                    }
                }
            }
        }
        // A wall time in Local (Go's `Date(…, Local)`).
        (None, None) => {
            let (off1, _) = zone.lookup(local);
            let off = if off1 == 0 {
                0
            } else {
                zone.lookup(local - off1 as i64).0
            };
            GoTime::utc(local - off as i64, nsec as u32).in_local()
        }
    };
    Ok(t)
}

fn parse_nanos(digits: &str) -> i64 {
    let mut d: String = digits.chars().take(9).collect();
    while d.len() < 9 {
        d.push('0');
    }
    d.parse().unwrap_or(0)
}

/// Go's `skip`: the layout's literal text matched in the value; on a
/// mismatch, the value from where it stopped (what the error names).
fn skip<'a>(value: &'a str, prefix: &str) -> Result<&'a str, String> {
    let mut v = value;
    let mut p = prefix;
    while !p.is_empty() {
        if p.starts_with(' ') {
            if !v.is_empty() && !v.starts_with(' ') {
                return Err(v.to_string());
            }
            p = p.trim_start_matches(' ');
            v = v.trim_start_matches(' ');
            continue;
        }
        let Some(c) = p.chars().next() else {
            break;
        };
        if !v.starts_with(c) {
            // Go compares bytes: those of a character that do match are
            // skipped, even part of one.
            let same = v
                .bytes()
                .zip(c.to_string().bytes())
                .take_while(|(a, b)| a == b)
                .count();
            return Err(gostr::from_bytes(&gostr::to_bytes(v)[same..]));
        }
        p = &p[c.len_utf8()..];
        v = &v[c.len_utf8()..];
    }
    Ok(v)
}

fn getnum(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if !b.first()?.is_ascii_digit() {
        return None;
    }
    if b.len() < 2 || !b[1].is_ascii_digit() {
        if fixed {
            return None;
        }
        return Some(((b[0] - b'0') as i64, &s[1..]));
    }
    Some((((b[0] - b'0') * 10 + (b[1] - b'0')) as i64, &s[2..]))
}

fn getnum3(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let n = s.bytes().take(3).take_while(u8::is_ascii_digit).count();
    if n == 0 || (fixed && n != 3) {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

fn lookup_name<'a>(names: &[&str], value: &'a str) -> Option<(usize, &'a str)> {
    for (i, n) in names.iter().enumerate() {
        if value
            .get(..n.len())
            .is_some_and(|v| v.eq_ignore_ascii_case(n))
        {
            return Some((i, &value[n.len()..]));
        }
    }
    None
}

// ---- durations ----

/// Go's `time.Duration.String()`.
pub fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Sub-second: ns, µs, ms with a fraction.
        let (unit, scale) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac(u, scale));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let h = secs_total / 3600;
        let m = (secs_total % 3600) / 60;
        let s_part = frac(u % 60_000_000_000, 1_000_000_000);
        if h > 0 {
            let _ = write!(out, "{h}h{m}m");
        } else if m > 0 {
            let _ = write!(out, "{m}m");
        }
        out.push_str(&s_part);
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

/// `v / scale` with the remainder as a decimal fraction, trailing zeros dropped.
fn frac(v: u64, scale: u64) -> String {
    let int = v / scale;
    let rem = v % scale;
    if rem == 0 {
        return int.to_string();
    }
    let width = scale.to_string().len() - 1;
    let mut f = format!("{rem:0width$}");
    while f.ends_with('0') {
        f.pop();
    }
    format!("{int}.{f}")
}

/// Go's `time.ParseDuration`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let orig = s;
    let err = || format!("time: invalid duration {}", time_quote(orig));
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        if n == 0 {
            return Err(err());
        }
        let num: f64 = rest[..n].parse().map_err(|_| err())?;
        rest = &rest[n..];
        let u = rest
            .bytes()
            .take_while(|c| !(c.is_ascii_digit() || *c == b'.'))
            .count();
        if u == 0 {
            return Err(format!(
                "time: missing unit in duration {}",
                time_quote(orig)
            ));
        }
        let unit = &rest[..u];
        rest = &rest[u..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    time_quote(unit),
                    time_quote(orig)
                ));
            }
        };
        total += num * scale;
    }
    if total > i64::MAX as f64 {
        return Err(err());
    }
    let v = total.round() as i64;
    Ok(if neg { -v } else { v })
}

// ---- template functions ----

fn time_of(v: &Value) -> Option<GoTime> {
    match v {
        Value::Object(o) => match &**o {
            Object::Time(t) => Some(t.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn time_value(t: GoTime) -> Value {
    Value::object(Object::Time(t))
}

fn duration_value(d: i64) -> Value {
    Value::object(Object::Duration(d))
}

/// The nanoseconds of a `time.Duration` argument: a duration, or a
/// constant (which arrives as int64).
fn nanos(v: &Value) -> i64 {
    v.duration().unwrap_or_else(|| super::i(v))
}

/// Go's `Time.Sub`: `t - u`, saturated at the durations' range.
fn sub(t: &GoTime, u: &GoTime) -> i64 {
    let d = (i128::from(t.secs) - i128::from(u.secs)) * 1_000_000_000 + i128::from(t.nanos)
        - i128::from(u.nanos);
    d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Go's `Duration.Round`: to the nearest multiple of `m`, halfway away
/// from zero, saturating.
fn round_duration(d: i64, m: i64) -> i64 {
    if m <= 0 {
        return d;
    }
    // lessThanHalf, in uint64 as Go computes it.
    let less_than_half = |x: i64| (x as u64).wrapping_add(x as u64) < m as u64;
    let mut r = d % m;
    if d < 0 {
        r = -r;
        if less_than_half(r) {
            return d + r;
        }
        let d1 = d.wrapping_sub(m).wrapping_add(r);
        return if d1 < d { d1 } else { i64::MIN };
    }
    if less_than_half(r) {
        return d - r;
    }
    let d1 = d.wrapping_add(m).wrapping_sub(r);
    if d1 > d { d1 } else { i64::MAX }
}

/// Go's `Duration.Hours` & co.: whole units plus the rest as a fraction.
fn in_units(d: i64, unit: i64) -> f64 {
    (d / unit) as f64 + (d % unit) as f64 / unit as f64
}

/// Methods of `*time.Location`.
pub fn location_method(name: &str) -> Option<Method> {
    match name {
        "String" => Some(Method {
            sig: sig(&[]),
            f: |_, r, _| {
                Ok(Value::str(match r {
                    Value::Object(o) => match &**o {
                        Object::Location(l) => l.name(),
                        _ => "",
                    },
                    _ => "",
                }))
            },
        }),
        _ => None,
    }
}

/// Methods of `time.Duration`.
pub fn duration_method(name: &str) -> Option<Method> {
    use Ty::*;
    let m = |params: &'static [Ty], f: MethodFn| {
        Some(Method {
            sig: sig(params),
            f,
        })
    };
    match name {
        "Hours" => m(&[], |_, r, _| {
            Ok(Value::Float(in_units(nanos(r), 3_600_000_000_000)))
        }),
        "Minutes" => m(&[], |_, r, _| {
            Ok(Value::Float(in_units(nanos(r), 60_000_000_000)))
        }),
        "Seconds" => m(&[], |_, r, _| {
            Ok(Value::Float(in_units(nanos(r), 1_000_000_000)))
        }),
        "Milliseconds" => m(&[], |_, r, _| Ok(Value::Int64(nanos(r) / 1_000_000))),
        "Microseconds" => m(&[], |_, r, _| Ok(Value::Int64(nanos(r) / 1_000))),
        "Nanoseconds" => m(&[], |_, r, _| Ok(Value::Int64(nanos(r)))),
        "String" => m(&[], |_, r, _| Ok(Value::str(duration_string(nanos(r))))),
        "Round" => m(&[Duration], |_, r, a| {
            Ok(duration_value(round_duration(nanos(r), nanos(&a[0]))))
        }),
        "Truncate" => m(&[Duration], |_, r, a| {
            let (d, m) = (nanos(r), nanos(&a[0]));
            Ok(duration_value(if m <= 0 { d } else { d - d % m }))
        }),
        "Abs" => m(&[], |_, r, _| {
            let d = nanos(r);
            Ok(duration_value(if d == i64::MIN {
                i64::MAX
            } else {
                d.abs()
            }))
        }),
        _ => None,
    }
}

/// Sprig's `dateInZone`: a time, or Unix seconds (int, int64); anything
/// else is "now".
fn date_in_zone(layout: &str, date: &Value, zone: &str) -> String {
    let t = match date {
        Value::Int(i) | Value::Int64(i) => GoTime::utc(*i, 0),
        other => time_of(other).unwrap_or_else(GoTime::now),
    };
    let z = load_location(zone).unwrap_or(Zone::Fixed(0, "UTC".into()));
    format_time(&t.in_zone(&z, Loc::fixed(zone, 0)), layout)
}

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "now", sig(&[]), |_, _| Ok(time_value(GoTime::now())));
    add(m, "date", sig(&[Str, Any]), |_, a| {
        Ok(Value::str(date_in_zone(s(&a[0]), &a[1], "Local")))
    });
    add(m, "dateInZone", sig(&[Str, Any, Str]), |_, a| {
        Ok(Value::str(date_in_zone(s(&a[0]), &a[1], s(&a[2]))))
    });
    add(m, "date_in_zone", sig(&[Str, Any, Str]), |_, a| {
        Ok(Value::str(date_in_zone(s(&a[0]), &a[1], s(&a[2]))))
    });
    add(m, "htmlDate", sig(&[Any]), |_, a| {
        Ok(Value::str(date_in_zone("2006-01-02", &a[0], "Local")))
    });
    add(m, "htmlDateInZone", sig(&[Any, Str]), |_, a| {
        Ok(Value::str(date_in_zone("2006-01-02", &a[0], s(&a[1]))))
    });
    for name in ["dateModify", "date_modify"] {
        add(m, name, sig(&[Str, Time]), |_, a| {
            let t = time_of(&a[1]).unwrap_or_else(GoTime::zero);
            Ok(time_value(match parse_duration(s(&a[0])) {
                Ok(d) => t.add_nanos(d as i128),
                Err(_) => t,
            }))
        });
    }
    for name in ["mustDateModify", "must_date_modify"] {
        add(m, name, sig(&[Str, Time]), |_, a| {
            let t = time_of(&a[1]).unwrap_or_else(GoTime::zero);
            let d = parse_duration(s(&a[0])).map_err(GoError::plain)?;
            Ok(time_value(t.add_nanos(d as i128)))
        });
    }
    add(m, "ago", sig(&[Any]), |_, a| {
        let t = match &a[0] {
            Value::Int(i) | Value::Int64(i) => GoTime::utc(*i, 0),
            other => time_of(other).unwrap_or_else(GoTime::now),
        };
        let now = GoTime::now();
        let d = (now.secs as i128 * 1_000_000_000 + now.nanos as i128)
            - (t.secs as i128 * 1_000_000_000 + t.nanos as i128);
        // Round to the second, halves away from zero.
        let rounded =
            ((d + if d >= 0 { 500_000_000 } else { -500_000_000 }) / 1_000_000_000) * 1_000_000_000;
        Ok(Value::str(duration_string(
            rounded.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
        )))
    });
    add(m, "toDate", sig(&[Str, Str]), |_, a| {
        Ok(time_value(
            parse_time(s(&a[0]), s(&a[1])).unwrap_or_else(|_| GoTime::zero()),
        ))
    });
    add(m, "mustToDate", sig(&[Str, Str]), |_, a| {
        parse_time(s(&a[0]), s(&a[1]))
            .map(time_value)
            .map_err(GoError::plain)
    });
    add(m, "unixEpoch", sig(&[Time]), |_, a| {
        Ok(Value::str(
            time_of(&a[0]).unwrap_or_else(GoTime::zero).secs.to_string(),
        ))
    });
    add(m, "duration", sig(&[Any]), |_, a| {
        let n: i64 = match &a[0] {
            Value::String(x) => x.parse().unwrap_or(0),
            Value::Int64(i) => *i,
            _ => 0,
        };
        Ok(Value::str(duration_string(n.wrapping_mul(1_000_000_000))))
    });
    add(m, "durationRound", sig(&[Any]), |_, a| {
        let d: i64 = match &a[0] {
            Value::String(x) => parse_duration(x).unwrap_or(0),
            Value::Int64(i) => *i,
            other => match time_of(other) {
                Some(t) => {
                    let now = GoTime::now();
                    (now.secs - t.secs).saturating_mul(1_000_000_000)
                }
                None => 0,
            },
        };
        Ok(Value::str(duration_round(d)))
    });
    let _ = sig_var;
}

/// Sprig's `durationRound`.
fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    let hour = 3_600_000_000_000u64;
    let units = [
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ];
    for (size, suffix) in units {
        if u > size {
            return format!("{}{suffix}", u / size);
        }
    }
    "0s".into()
}

type MethodFn = fn(&mut Engine<'_>, &Value, Vec<Value>) -> Result<Value, GoError>;

fn recv(v: &Value) -> GoTime {
    time_of(v).unwrap_or_else(GoTime::zero)
}

/// Methods of `time.Time` that templates use.
pub fn method(name: &str) -> Option<Method> {
    use Ty::*;
    let m = |params: &'static [Ty], f: MethodFn| {
        Some(Method {
            sig: sig(params),
            f,
        })
    };
    match name {
        "Year" => m(&[], |_, r, _| Ok(Value::Int(recv(r).civil().0))),
        "Month" => m(&[], |_, r, _| {
            Ok(Value::str(MONTHS[(recv(r).civil().1 - 1) as usize]))
        }),
        "Day" => m(&[], |_, r, _| Ok(Value::Int(recv(r).civil().2 as i64))),
        "Hour" => m(&[], |_, r, _| Ok(Value::Int(recv(r).civil().3 as i64))),
        "Minute" => m(&[], |_, r, _| Ok(Value::Int(recv(r).civil().4 as i64))),
        "Second" => m(&[], |_, r, _| Ok(Value::Int(recv(r).civil().5 as i64))),
        "Nanosecond" => m(&[], |_, r, _| Ok(Value::Int(recv(r).nanos as i64))),
        "YearDay" => m(&[], |_, r, _| Ok(Value::Int(recv(r).year_day() as i64))),
        "Weekday" => m(&[], |_, r, _| {
            Ok(Value::str(DAYS[recv(r).weekday() as usize]))
        }),
        "Unix" => m(&[], |_, r, _| Ok(Value::Int64(recv(r).secs))),
        "UnixMilli" => m(&[], |_, r, _| Ok(Value::Int64(recv(r).unix_in(1_000_000)))),
        "UnixMicro" => m(&[], |_, r, _| Ok(Value::Int64(recv(r).unix_in(1000)))),
        "UnixNano" => m(&[], |_, r, _| Ok(Value::Int64(recv(r).unix_in(1)))),
        "UTC" => m(&[], |_, r, _| Ok(time_value(recv(r).in_loc(&Loc::Utc)))),
        "Local" => m(&[], |_, r, _| Ok(time_value(recv(r).in_loc(&Loc::Local)))),
        "Location" => m(&[], |_, r, _| {
            Ok(Value::object(Object::Location(recv(r).loc)))
        }),
        "In" => m(&[Location], |_, r, a| {
            let t = recv(r);
            // The argument is a *time.Location or nil (its type is checked).
            let Some(Object::Location(loc)) = (match &a[0] {
                Value::Object(o) => Some(&**o),
                _ => None,
            }) else {
                return Err(super::err("time: missing Location in call to Time.In"));
            };
            Ok(time_value(t.in_loc(loc)))
        }),
        "Format" => m(&[Str], |_, r, a| {
            Ok(Value::str(format_time(&recv(r), s(&a[0]))))
        }),
        "String" => m(&[], |_, r, _| Ok(Value::str(recv(r).go_string()))),
        "IsZero" => m(&[], |_, r, _| {
            Ok(Value::Bool(
                recv(r).secs == -UNIX_TO_INTERNAL && recv(r).nanos == 0,
            ))
        }),
        "AddDate" => m(&[Int, Int, Int], |_, r, a| {
            let t = recv(r);
            let (y, mo, d, h, mi, se) = t.civil();
            // Go normalizes overflowing days (Jan 31 + 1 month = Mar 3),
            // and wraps what overflows an int as Go does.
            let date = [
                y.wrapping_add(super::i(&a[0])),
                (mo as i64).wrapping_add(super::i(&a[1])),
                (d as i64).wrapping_add(super::i(&a[2])),
            ];
            Ok(time_value(GoTime {
                secs: go_date_unix(date, [h, mi, se], t.offset),
                ..t
            }))
        }),
        "Add" => m(&[Duration], |_, r, a| {
            Ok(time_value(recv(r).plus_nanos(i128::from(nanos(&a[0])))))
        }),
        "Sub" => m(&[Time], |_, r, a| {
            Ok(duration_value(sub(&recv(r), &recv(&a[0]))))
        }),
        "Truncate" => m(&[Duration], |_, r, a| {
            let (t, d) = (recv(r), i128::from(nanos(&a[0])));
            if d <= 0 {
                return Ok(time_value(t));
            }
            let rem = t.since_zero_nanos().rem_euclid(d);
            Ok(time_value(t.plus_nanos(-rem)))
        }),
        "Round" => m(&[Duration], |_, r, a| {
            let (t, d) = (recv(r), i128::from(nanos(&a[0])));
            if d <= 0 {
                return Ok(time_value(t));
            }
            // Halfway rounds up, as Go's `lessThanHalf` decides.
            let rem = t.since_zero_nanos().rem_euclid(d);
            let step = if rem + rem < d { -rem } else { d - rem };
            Ok(time_value(t.plus_nanos(step)))
        }),
        "Before" => m(&[Time], |_, r, a| {
            Ok(Value::Bool(
                cmp_time(&recv(r), &recv(&a[0])) == std::cmp::Ordering::Less,
            ))
        }),
        "After" => m(&[Time], |_, r, a| {
            Ok(Value::Bool(
                cmp_time(&recv(r), &recv(&a[0])) == std::cmp::Ordering::Greater,
            ))
        }),
        "Equal" => m(&[Time], |_, r, a| {
            Ok(Value::Bool(
                cmp_time(&recv(r), &recv(&a[0])) == std::cmp::Ordering::Equal,
            ))
        }),
        _ => None,
    }
}

fn cmp_time(a: &GoTime, b: &GoTime) -> std::cmp::Ordering {
    (a.secs, a.nanos).cmp(&(b.secs, b.nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        let t = parse_time("2006-01-02T15:04:05Z07:00", "2021-03-04T10:05:06+02:00").unwrap();
        assert_eq!(
            format_time(&t, "Mon Jan _2 15:04:05 MST 2006"),
            "Thu Mar  4 10:05:06 +0200 2021"
        );
        assert_eq!(
            format_time(&GoTime::utc(t.secs, t.nanos), time_rfc3339()),
            "2021-03-04T08:05:06Z"
        );
        assert_eq!(t.go_string(), "2021-03-04 10:05:06 +0200 +0200");
        assert_eq!(format_time(&GoTime::zero(), "2006-01-02"), "0001-01-01");
        assert_eq!(duration_string(3_661_000_000_000), "1h1m1s");
        assert_eq!(duration_string(1_500_000_000), "1.5s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
    }

    fn time_rfc3339() -> &'static str {
        "2006-01-02T15:04:05Z07:00"
    }
}
