//! Go's `net/url` as Helm v4.2.3 has it (Go 1.26): `Parse`,
//! `ParseRequestURI` and `URL.String`, ported byte for byte — its errors
//! (`invalid port ":port" after host`, `first path segment in URL cannot
//! contain colon`, …), its unescaping of each part and the escaping
//! `String` applies to the host, path, user info and fragment — and Sprig's
//! `urlParse` and `urlJoin` on top of it.
//!
//! The parser is public ([`parse`], [`parse_request_uri`], [`Url`]): berth's
//! lint judges a chart's URLs with govalidator's `IsURL` and `IsRequestURL`,
//! which stand on the same Go functions. Go strings are bytes, and so is
//! everything here: a template string comes in through `gostr::to_bytes`,
//! plain text as its UTF-8 bytes.

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

/// A URL's user info: `(username, password)`, unescaped; `None` for none.
type User = Option<(Vec<u8>, Option<Vec<u8>>)>;

/// A parsed URL: the parts of Go's `url.URL` that Sprig and govalidator
/// read (no `RawPath`, `ForceQuery`, `OmitHost` or `RawFragment`: they only
/// steer `String`, which Sprig calls on URLs built from strings alone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Url {
    scheme: Vec<u8>,
    opaque: Vec<u8>,
    user: User,
    host: Vec<u8>,
    path: Vec<u8>,
    raw_query: Vec<u8>,
    fragment: Vec<u8>,
}

impl Url {
    /// Lower-cased, as parsing leaves it; empty for a relative URL.
    pub fn scheme(&self) -> &[u8] {
        &self.scheme
    }

    /// The rootless rest of `scheme:rest` (still escaped).
    pub fn opaque(&self) -> &[u8] {
        &self.opaque
    }

    /// `host` or `host:port`, unescaped; an IPv6 literal keeps its brackets.
    pub fn host(&self) -> &[u8] {
        &self.host
    }

    /// `URL.Hostname`: the host without its port or IPv6 brackets.
    pub fn hostname(&self) -> &[u8] {
        hostname(&self.host)
    }

    /// Unescaped.
    pub fn path(&self) -> &[u8] {
        &self.path
    }

    /// After the `?`, still escaped (never checked).
    pub fn raw_query(&self) -> &[u8] {
        &self.raw_query
    }

    /// Unescaped.
    pub fn fragment(&self) -> &[u8] {
        &self.fragment
    }
}

/// Go's `url.Parse`: the fragment is cut off first (and must unescape),
/// the rest may be any URI reference, relative ones included. Errors read
/// as Go's `*url.Error`: `parse "<url>": <reason>`.
pub fn parse(raw: &[u8]) -> Result<Url, String> {
    let (u, frag) = match raw.iter().position(|&b| b == b'#') {
        Some(i) => (&raw[..i], Some(&raw[i + 1..])),
        None => (raw, None),
    };
    let mut url = parse_uri(u, false).map_err(|e| parse_error(u, &e))?;
    if let Some(frag) = frag.filter(|f| !f.is_empty()) {
        url.fragment = unescape(frag, Mode::Fragment).map_err(|e| parse_error(raw, &e))?;
    }
    Ok(url)
}

/// Go's `url.ParseRequestURI`: the URL as an HTTP request line carries it —
/// an absolute URI or an absolute path, nothing relative, and no fragment
/// (a `#` is just a byte of the path or query).
pub fn parse_request_uri(raw: &[u8]) -> Result<Url, String> {
    parse_uri(raw, true).map_err(|e| parse_error(raw, &e))
}

fn parse_error(raw: &[u8], reason: &str) -> String {
    format!("parse {}: {reason}", quote(&gostr::from_bytes(raw)))
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
    let u = parse(&raw).map_err(|e| super::err(format!("unable to parse url: {e}")))?;
    let str = |b: &[u8]| Value::str(gostr::from_bytes(b));
    let d = Map::new();
    d.insert("scheme", str(&u.scheme));
    d.insert("host", str(&u.host));
    d.insert("hostname", str(u.hostname()));
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
        u.user = parse(&probe)
            .map_err(|e| super::err(format!("unable to parse userinfo in dict: {e}")))?
            .user;
    }
    Ok(Value::str(gostr::from_bytes(&u.string())))
}

/// Go's `parse(rawURL, viaRequest)`: the URL without its fragment, in the
/// context of `Parse` (any URI reference) or, `via_request`, of
/// `ParseRequestURI`.
fn parse_uri(raw: &[u8], via_request: bool) -> Result<Url, String> {
    if raw.iter().any(|&b| b < b' ' || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    if raw.is_empty() && via_request {
        return Err("empty url".into());
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
        if via_request {
            return Err("invalid URI for request".into());
        }
        let segment = rest.split(|&b| b == b'/').next().unwrap_or_default();
        if segment.contains(&b':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!url.scheme.is_empty() || (!via_request && !rest.starts_with(b"///")))
        && rest.starts_with(b"//")
    {
        let authority = &rest[2..];
        let (authority, path) = match authority.iter().position(|&b| b == b'/') {
            Some(i) => (&authority[..i], &authority[i..]),
            None => (authority, &b""[..]),
        };
        let (user, host) = parse_authority(&url.scheme, authority)?;
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

/// `parseAuthority`: `[userinfo@]host`, the host checked first.
fn parse_authority(scheme: &[u8], authority: &[u8]) -> Result<(User, Vec<u8>), String> {
    let at = authority.iter().rposition(|&b| b == b'@');
    let host = parse_host(scheme, &authority[at.map_or(0, |i| i + 1)..])?;
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

/// `parseHost`: `host[:port]`, or an IP literal in brackets — with an
/// optional `%25` zone and a port — which must parse as an IPv6 address
/// (`netip.ParseAddr`; an IPv4 one is refused, an IPv4-mapped IPv6 one is
/// fine). A `[` anywhere but first is invalid.
///
/// Colons outside brackets are strict only for http and https, where the
/// port starts at the first colon; other schemes (and none) keep Go's older
/// leniency for the host lists of PostgreSQL or MongoDB DSNs, the port
/// starting at the last colon (go.dev/issue/75223, go.dev/issue/78077).
/// Real Helm: `urlParse "ftp://a:1:2/"` has host `a:1:2`, `urlParse
/// "http://a:1:2/"` fails with `invalid port ":1:2" after host`.
fn parse_host(scheme: &[u8], host: &[u8]) -> Result<Vec<u8>, String> {
    let invalid_port =
        |p: &[u8]| format!("invalid port {} after host", quote(&gostr::from_bytes(p)));
    let Some(open) = host.iter().rposition(|&b| b == b'[') else {
        if let Some(first) = host.iter().position(|&b| b == b':') {
            let strict = scheme == b"http" || scheme == b"https";
            let i = if strict {
                first
            } else {
                host.iter().rposition(|&b| b == b':').unwrap_or(first)
            };
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

/// `URL.EscapedPath` of a path set by hand (no `RawPath`): `escape(path,
/// encodePath)`.
pub fn escape_path(path: &[u8]) -> Vec<u8> {
    escape(path, Mode::Path)
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

#[cfg(test)]
mod tests {
    use super::*;

    // The Go 1.26 rules. Expected values for `parse` are real Helm v4.2.3's
    // (built with Go 1.26.6): `{{ urlParse "…" | toJson }}` rendered with
    // helm_python, and for `parse_request_uri` its lint verdict on a
    // chart's `sources` (govalidator's `IsRequestURL`).

    /// `(host, hostname, path)` of a URL that parses.
    fn parts(raw: &str) -> (String, String, String) {
        let u = parse(raw.as_bytes()).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (text(u.host()), text(u.hostname()), text(u.path()))
    }

    #[test]
    fn hosts_of_other_schemes_may_hold_colons_the_port_after_the_last() {
        let cases = [
            ("ftp://a:1:2/", "a:1:2", "a:1", "/"),
            (
                "postgres://h1:5432,h2:5432/db",
                "h1:5432,h2:5432",
                "h1:5432,h2",
                "/db",
            ),
            ("ws://a:b:1/", "a:b:1", "a:b", "/"),
            ("ftp://::1/", "::1", ":", "/"),
            // No scheme is not http either.
            ("//a:1:2/x", "a:1:2", "a:1", "/x"),
        ];
        for (raw, host, hostname, path) in cases {
            let want = (host.to_owned(), hostname.to_owned(), path.to_owned());
            assert_eq!(parts(raw), want, "{raw:?}");
        }
        assert_eq!(
            parse(b"ftp://a:1:b/"),
            Err(r#"parse "ftp://a:1:b/": invalid port ":b" after host"#.to_owned())
        );
    }

    #[test]
    fn http_and_https_hosts_take_the_port_after_the_first_colon() {
        let cases = [
            ("http://a:1:2/", ":1:2"),
            ("https://a:1:2/", ":1:2"),
            // The scheme is lower-cased before the host is looked at.
            ("HTTP://a:1:2/", ":1:2"),
            ("http://::1/", "::1"),
        ];
        for (raw, port) in cases {
            let want = format!("parse {raw:?}: invalid port {port:?} after host");
            assert_eq!(parse(raw.as_bytes()), Err(want), "{raw:?}");
        }
    }

    #[test]
    fn request_uris_are_absolute_uris_or_absolute_paths() {
        for raw in [
            "http://example.com/a b",
            "a:b",
            "http://[::1]:",
            "ftp://a:1:2/",
        ] {
            assert!(parse_request_uri(raw.as_bytes()).is_ok(), "{raw:?}");
        }
        assert_eq!(
            parse_request_uri(b""),
            Err(r#"parse "": empty url"#.to_owned())
        );
        assert_eq!(
            parse_request_uri(b"example.com"),
            Err(r#"parse "example.com": invalid URI for request"#.to_owned())
        );
        assert!(parse_request_uri(b"http://a:1:2/").is_err());
        let request = |raw: &str| {
            parse_request_uri(raw.as_bytes()).unwrap_or_else(|e| panic!("{raw:?}: {e}"))
        };
        // No fragment: a `#` is a byte of the path, whose escapes must hold.
        let u = request("http://h/p#f");
        assert_eq!((u.path(), u.fragment()), (&b"/p#f"[..], &b""[..]));
        assert!(parse_request_uri(b"http://h/p#%zz").is_err());
        // Without a scheme `//` starts a path, not an authority.
        let u = request("//h/p");
        assert_eq!((u.host(), u.path()), (&b""[..], &b"//h/p"[..]));
    }

    #[test]
    fn bracketed_hosts_must_be_ipv6() {
        let (host, hostname, _) = parts("http://[::ffff:1.2.3.4]:80/");
        assert_eq!(
            (host.as_str(), hostname.as_str()),
            ("[::ffff:1.2.3.4]:80", "::ffff:1.2.3.4")
        );
        assert_eq!(
            parse(b"http://[1.2.3.4]/"),
            Err(r#"parse "http://[1.2.3.4]/": invalid IP-literal"#.to_owned())
        );
    }
}
