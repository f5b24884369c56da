//! Sprig's `urlParse` and `urlJoin`: Go's `net/url` `Parse` and
//! `URL.String`, ported byte for byte — its errors (`invalid port ":port"
//! after host`, `first path segment in URL cannot contain colon`, …), its
//! unescaping of each part and the escaping `String` applies to the host,
//! path, user info and fragment.

use super::{FuncMap, Ty, add, s, sig};
use crate::error::GoError;
use crate::gofmt::quote;
use crate::value::{Map, Value, gostr};

type R = Result<Value, GoError>;

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "urlParse", sig(&[Str]), |_, a| url_parse(s(&a[0])));
    add(m, "urlJoin", sig(&[Dict]), |_, a| url_join(&a[0]));
}

/// The parts of a `url.URL` that Sprig reads or sets.
#[derive(Default)]
struct Url {
    scheme: Vec<u8>,
    opaque: Vec<u8>,
    /// `(username, password)`; `None` for no user info.
    user: Option<(Vec<u8>, Option<Vec<u8>>)>,
    host: Vec<u8>,
    path: Vec<u8>,
    raw_query: Vec<u8>,
    fragment: Vec<u8>,
}

/// `net/url`'s escaping contexts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

/// Sprig's `urlParse`.
fn url_parse(v: &str) -> R {
    let raw = gostr::to_bytes(v);
    let u =
        parse_with_fragment(&raw).map_err(|e| super::err(format!("unable to parse url: {e}")))?;
    let str = |b: &[u8]| Value::str(gostr::from_bytes(b));
    let d = Map::new();
    d.insert("scheme", str(&u.scheme));
    d.insert("host", str(&u.host));
    d.insert("hostname", str(hostname(&u.host)));
    d.insert("path", str(&u.path));
    d.insert("query", str(&u.raw_query));
    d.insert("opaque", str(&u.opaque));
    d.insert("fragment", str(&u.fragment));
    d.insert("userinfo", str(&userinfo_string(&u.user)));
    Ok(Value::Map(d))
}

/// Sprig's `urlJoin`: a `url.URL` built from the dict's strings, printed.
fn url_join(d: &Value) -> R {
    let get = |k: &str| -> Result<Vec<u8>, GoError> {
        match d {
            Value::Map(m) => match m.get(k) {
                None => Ok(Vec::new()),
                Some(Value::String(s)) => Ok(gostr::to_bytes(&s).into_owned()),
                Some(other) => Err(super::err(format!(
                    "unable to parse {k} key, must be of type string, but {} found",
                    super::conv::kind_of(&other)
                ))),
            },
            _ => Ok(Vec::new()),
        }
    };
    let mut u = Url {
        scheme: get("scheme")?,
        host: get("host")?,
        path: get("path")?,
        raw_query: get("query")?,
        opaque: get("opaque")?,
        fragment: get("fragment")?,
        ..Url::default()
    };
    let userinfo = get("userinfo")?;
    if !userinfo.is_empty() {
        let mut probe = b"proto://".to_vec();
        probe.extend_from_slice(&userinfo);
        probe.extend_from_slice(b"@host");
        u.user = parse_with_fragment(&probe)
            .map_err(|e| super::err(format!("unable to parse userinfo in dict: {e}")))?
            .user;
    }
    Ok(Value::str(gostr::from_bytes(&u.string())))
}

/// `url.Parse`: the fragment is cut off first; errors read
/// `parse "<url>": <reason>`.
fn parse_with_fragment(raw: &[u8]) -> Result<Url, String> {
    let (u, frag) = match raw.iter().position(|&b| b == b'#') {
        Some(i) => (&raw[..i], Some(&raw[i + 1..])),
        None => (raw, None),
    };
    let shown = |s: &[u8]| quote(&gostr::from_bytes(s));
    let mut url = parse(u).map_err(|e| format!("parse {}: {e}", shown(u)))?;
    if let Some(frag) = frag.filter(|f| !f.is_empty()) {
        url.fragment =
            unescape(frag, Mode::Fragment).map_err(|e| format!("parse {}: {e}", shown(raw)))?;
    }
    Ok(url)
}

/// `url.parse` (not via a request).
fn parse(raw: &[u8]) -> Result<Url, String> {
    if raw.iter().any(|&b| b < b' ' || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut url = Url::default();
    if raw == b"*" {
        url.path = b"*".to_vec();
        return Ok(url);
    }
    let (scheme, rest) = get_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    let mut rest = rest;
    let question_marks = rest.iter().filter(|&&b| b == b'?').count();
    if rest.ends_with(b"?") && question_marks == 1 {
        // ForceQuery (only `String` reads it, and Sprig never prints a
        // parsed URL).
        rest = &rest[..rest.len() - 1];
    } else if let Some(i) = rest.iter().position(|&b| b == b'?') {
        url.raw_query = rest[i + 1..].to_vec();
        rest = &rest[..i];
    }
    if !rest.starts_with(b"/") {
        if !url.scheme.is_empty() {
            // Rootless paths are opaque (RFC 3986).
            url.opaque = rest.to_vec();
            return Ok(url);
        }
        let segment = rest.split(|&b| b == b'/').next().unwrap_or_default();
        if segment.contains(&b':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with(b"///")) && rest.starts_with(b"//") {
        let authority = &rest[2..];
        let (authority, path) = match authority.iter().position(|&b| b == b'/') {
            Some(i) => (&authority[..i], &authority[i..]),
            None => (authority, &b""[..]),
        };
        let (user, host) = parse_authority(authority)?;
        url.user = user;
        url.host = host;
        rest = path;
    }
    url.path = unescape(rest, Mode::Path)?;
    Ok(url)
}

/// `getScheme`: the leading `scheme:`, if the text has one.
fn get_scheme(raw: &[u8]) -> Result<(&[u8], &[u8]), String> {
    for (i, &c) in raw.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i == 0 => return Ok((b"", raw)),
            b'0'..=b'9' | b'+' | b'-' | b'.' => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok((b"", raw)),
        }
    }
    Ok((b"", raw))
}

type User = Option<(Vec<u8>, Option<Vec<u8>>)>;

fn parse_authority(authority: &[u8]) -> Result<(User, Vec<u8>), String> {
    let at = authority.iter().rposition(|&b| b == b'@');
    let host = parse_host(&authority[at.map_or(0, |i| i + 1)..])?;
    let Some(at) = at else {
        return Ok((None, host));
    };
    let userinfo = &authority[..at];
    if !userinfo
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b))
    {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match userinfo.iter().position(|&b| b == b':') {
        None => (unescape(userinfo, Mode::UserPassword)?, None),
        Some(i) => (
            unescape(&userinfo[..i], Mode::UserPassword)?,
            Some(unescape(&userinfo[i + 1..], Mode::UserPassword)?),
        ),
    };
    Ok((Some(user), host))
}

/// `parseHost` (Go 1.25, after CVE-2025-47912): `host[:port]`, or an IPv6
/// literal in brackets, with an optional `%25` zone and a port, which must
/// parse as an IPv6 address (`netip.ParseAddr`).
fn parse_host(host: &[u8]) -> Result<Vec<u8>, String> {
    let invalid_port =
        |p: &[u8]| format!("invalid port {} after host", quote(&gostr::from_bytes(p)));
    let Some(open) = host.iter().rposition(|&b| b == b'[') else {
        if let Some(i) = host.iter().position(|&b| b == b':') {
            let colon_port = &host[i..];
            if !valid_optional_port(colon_port) {
                return Err(invalid_port(colon_port));
            }
        }
        return unescape(host, Mode::Host);
    };
    if open > 0 {
        return Err("invalid IP-literal".into());
    }
    let Some(close) = host.iter().rposition(|&b| b == b']') else {
        return Err("missing ']' in host".into());
    };
    let colon_port = &host[close + 1..];
    if !valid_optional_port(colon_port) {
        return Err(invalid_port(colon_port));
    }
    let colon_port = unescape(colon_port, Mode::Host)?;
    let hostname = &host[1..close];
    let unescaped = match find(hostname, b"%25") {
        Some(zone) => {
            let mut h = unescape(&hostname[..zone], Mode::Host)?;
            h.extend(unescape(&hostname[zone..], Mode::Zone)?);
            h
        }
        None => unescape(hostname, Mode::Host)?,
    };
    match parse_addr(&unescaped) {
        Err(e) => Err(format!("invalid host: {e}")),
        Ok(IpKind::V4) => Err("invalid IP-literal".into()),
        Ok(IpKind::V6) => {
            let mut out = b"[".to_vec();
            out.extend(unescaped);
            out.push(b']');
            out.extend(colon_port);
            Ok(out)
        }
    }
}

enum IpKind {
    V4,
    V6,
}

/// `netip.ParseAddr`, for its verdict and its error message.
fn parse_addr(s: &[u8]) -> Result<IpKind, String> {
    let fail = |msg: &str, at: Option<&[u8]>| {
        let mut m = format!("ParseAddr({}): {msg}", quote(&gostr::from_bytes(s)));
        if let Some(at) = at.filter(|at| !at.is_empty()) {
            m.push_str(&format!(" (at {})", quote(&gostr::from_bytes(at))));
        }
        m
    };
    for &c in s {
        match c {
            b'.' => return parse_ipv4_fields(s, &fail).map(|_| IpKind::V4),
            b':' => return parse_ipv6(s, &fail).map(|_| IpKind::V6),
            b'%' => return Err(fail("missing IPv6 address", None)),
            _ => {}
        }
    }
    Err(fail("unable to parse IP", None))
}

type Fail<'a> = dyn Fn(&str, Option<&[u8]>) -> String + 'a;

/// `parseIPv4Fields` over `s` (the address, or the IPv4 tail of an IPv6
/// one; `fail` names the whole address).
fn parse_ipv4_fields(s: &[u8], fail: &Fail<'_>) -> Result<(), String> {
    let (mut val, mut pos, mut digits) = (0u32, 0, 0);
    for (i, &c) in s.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                if digits == 1 && val == 0 {
                    return Err(fail("IPv4 field has octet with leading zero", None));
                }
                val = val * 10 + u32::from(c - b'0');
                digits += 1;
                if val > 255 {
                    return Err(fail("IPv4 field has value >255", None));
                }
            }
            b'.' => {
                if i == 0 || i == s.len() - 1 || s[i - 1] == b'.' {
                    return Err(fail(
                        "IPv4 field must have at least one digit",
                        Some(&s[i..]),
                    ));
                }
                if pos == 3 {
                    return Err(fail("IPv4 address too long", None));
                }
                pos += 1;
                val = 0;
                digits = 0;
            }
            _ => return Err(fail("unexpected character", Some(&s[i..]))),
        }
    }
    if pos < 3 {
        return Err(fail("IPv4 address too short", None));
    }
    Ok(())
}

/// `parseIPv6` (zone included).
fn parse_ipv6(input: &[u8], fail: &Fail<'_>) -> Result<(), String> {
    let mut s = input;
    if let Some(p) = s.iter().position(|&b| b == b'%') {
        if p + 1 == s.len() {
            return Err(fail("zone must be a non-empty string", None));
        }
        s = &s[..p];
    }
    let addr_end = s.len();
    let mut ellipsis: Option<usize> = None;
    if s.starts_with(b"::") {
        ellipsis = Some(0);
        s = &s[2..];
        if s.is_empty() {
            return Ok(());
        }
    }
    let mut i = 0;
    while i < 16 {
        let mut off = 0;
        let mut acc = 0u32;
        while off < s.len() {
            let Some(d) = (s[off] as char).to_digit(16) else {
                break;
            };
            acc = (acc << 4) + d;
            if off > 3 {
                return Err(fail("each group must have 4 or less digits", Some(s)));
            }
            if acc > 0xFFFF {
                return Err(fail("IPv6 field has value >=2^16", Some(s)));
            }
            off += 1;
        }
        if off == 0 {
            return Err(fail(
                "each colon-separated field must have at least one digit",
                Some(s),
            ));
        }
        if s.get(off) == Some(&b'.') {
            if ellipsis.is_none() && i != 12 {
                return Err(fail(
                    "embedded IPv4 address must replace the final 2 fields of the address",
                    Some(s),
                ));
            }
            if i + 4 > 16 {
                return Err(fail(
                    "too many hex fields to fit an embedded IPv4 at the end of the address",
                    Some(s),
                ));
            }
            parse_ipv4_fields(&input[addr_end - s.len()..addr_end], fail)?;
            s = b"";
            i += 4;
            break;
        }
        i += 2;
        s = &s[off..];
        if s.is_empty() {
            break;
        }
        if s[0] != b':' {
            return Err(fail("unexpected character, want colon", Some(s)));
        } else if s.len() == 1 {
            return Err(fail("colon must be followed by more characters", Some(s)));
        }
        s = &s[1..];
        if s[0] == b':' {
            if ellipsis.is_some() {
                return Err(fail("multiple :: in address", Some(s)));
            }
            ellipsis = Some(i);
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return Err(fail("trailing garbage after address", Some(s)));
    }
    if i < 16 && ellipsis.is_none() {
        return Err(fail("address string too short", None));
    }
    if i >= 16 && ellipsis.is_some() {
        return Err(fail(
            "the :: must expand to at least one field of zeros",
            Some(s),
        ));
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn valid_optional_port(port: &[u8]) -> bool {
    match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// `URL.Hostname`: the host without its port or IPv6 brackets.
fn hostname(host: &[u8]) -> &[u8] {
    let mut h = host;
    if let Some(colon) = h.iter().rposition(|&b| b == b':')
        && valid_optional_port(&h[colon..])
    {
        h = &h[..colon];
    }
    if h.len() >= 2 && h.starts_with(b"[") && h.ends_with(b"]") {
        h = &h[1..h.len() - 1];
    }
    h
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

/// `unescape`: `%XX` decoded, checked as `net/url` checks each part.
fn unescape(s: &[u8], mode: Mode) -> Result<Vec<u8>, String> {
    let escape_error = |e: &[u8]| format!("invalid URL escape {}", quote(&gostr::from_bytes(e)));
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                if i + 2 >= s.len()
                    || !s[i + 1].is_ascii_hexdigit()
                    || !s[i + 2].is_ascii_hexdigit()
                {
                    return Err(escape_error(&s[i..(i + 3).min(s.len())]));
                }
                // In a host, %-encoding is only for non-ASCII bytes (and
                // %25, the zone's percent sign).
                if mode == Mode::Host && unhex(s[i + 1]) < 8 && &s[i..i + 3] != b"%25" {
                    return Err(escape_error(&s[i..i + 3]));
                }
                if mode == Mode::Zone {
                    let v = (unhex(s[i + 1]) << 4) | unhex(s[i + 2]);
                    if &s[i..i + 3] != b"%25" && v != b' ' && should_escape(v, Mode::Host) {
                        return Err(escape_error(&s[i..i + 3]));
                    }
                }
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return Err(format!(
                        "invalid character {} in host name",
                        quote(&gostr::from_bytes(&s[i..i + 1]))
                    ));
                }
                i += 1;
            }
        }
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            out.push((unhex(s[i + 1]) << 4) | unhex(s[i + 2]));
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// `shouldEscape`.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone) && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => {
            return match mode {
                Mode::Path => c == b'?',
                Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
                Mode::Fragment => false,
                // Host and zone bytes reaching here are escaped.
                Mode::Host | Mode::Zone => true,
            };
        }
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

/// `escape`: bytes the mode does not allow as `%XX` (upper-case hex).
fn escape(s: &[u8], mode: Mode) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        if should_escape(c, mode) {
            out.extend_from_slice(&[b'%', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]);
        } else {
            out.push(c);
        }
    }
    out
}

/// `Userinfo.String`.
fn userinfo_string(user: &User) -> Vec<u8> {
    let Some((name, password)) = user else {
        return Vec::new();
    };
    let mut out = escape(name, Mode::UserPassword);
    if let Some(p) = password {
        out.push(b':');
        out.extend(escape(p, Mode::UserPassword));
    }
    out
}

impl Url {
    /// `URL.String` (of a URL built from strings: no RawPath, OmitHost,
    /// ForceQuery or RawFragment).
    fn string(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.scheme.is_empty() {
            out.extend_from_slice(&self.scheme);
            out.push(b':');
        }
        if !self.opaque.is_empty() {
            out.extend_from_slice(&self.opaque);
        } else {
            if !self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some() {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    out.extend_from_slice(b"//");
                }
                if self.user.is_some() {
                    out.extend(userinfo_string(&self.user));
                    out.push(b'@');
                }
                out.extend(escape(&self.host, Mode::Host));
            }
            // EscapedPath of a URL built from strings (no RawPath).
            let path = if self.path == b"*" {
                b"*".to_vec()
            } else {
                escape(&self.path, Mode::Path)
            };
            if !path.is_empty() && path[0] != b'/' && !self.host.is_empty() {
                out.push(b'/');
            }
            if out.is_empty() {
                // A first segment with a colon would read as a scheme.
                let segment = path.split(|&b| b == b'/').next().unwrap_or_default();
                if segment.contains(&b':') {
                    out.extend_from_slice(b"./");
                }
            }
            out.extend(path);
        }
        if !self.raw_query.is_empty() {
            out.push(b'?');
            out.extend_from_slice(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            out.push(b'#');
            out.extend(escape(&self.fragment, Mode::Fragment));
        }
        out
    }
}
