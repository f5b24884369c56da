//! The `format` checks of santhosh-tekuri/jsonschema v6 (asserted for
//! drafts 4–7), with its messages. Messages that come from Go's standard
//! library (`time.Parse`, `strconv.Atoi`, `url.Parse`) are reproduced for
//! the common failures; `netip.ParseAddr`'s detailed reasons are
//! summarized.

use crate::gofmt::quote as go_quote;

/// Go's `%q` of a rune.
fn qr(c: char) -> String {
    let mut s = crate::gofmt::sprintf("%q", &[crate::value::Value::Int(c as i64)]);
    if s.is_empty() {
        s = format!("'{c}'");
    }
    s
}

/// Checks `s` against format `name`; unknown formats always pass.
pub fn check(name: &str, s: &str) -> Option<Result<(), String>> {
    Some(match name {
        "json-pointer" => json_pointer(s),
        "relative-json-pointer" => relative_json_pointer(s),
        "uuid" => uuid(s),
        "duration" => duration(s),
        "period" => period(s),
        "ipv4" => ipv4(s),
        "ipv6" => ipv6(s),
        "hostname" => hostname(s),
        "email" => email(s),
        "date" => date(s),
        "time" => time(s),
        "date-time" => date_time(s),
        "uri" | "iri" => uri(s),
        "uri-reference" | "iri-reference" => uri_reference(s),
        "uri-template" => uri_template(s),
        "semver" => semver(s),
        "regex" => regex(s),
        _ => return None,
    })
}

fn err<T>(msg: impl Into<String>) -> Result<T, String> {
    Err(msg.into())
}

fn json_pointer(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if !s.starts_with('/') {
        return err("not starting with /");
    }
    for tok in s.split('/').skip(1) {
        let mut escape = false;
        for ch in tok.chars() {
            if escape {
                escape = false;
                if ch != '0' && ch != '1' {
                    return err("~ must be followed by 0 or 1");
                }
                continue;
            }
            if ch == '~' {
                escape = true;
                continue;
            }
            if !matches!(ch, '\x00'..='\x2E' | '\x30'..='\x7D' | '\x7F'..='\u{10FFFF}') {
                return err(format!("invalid character {}", qr(ch)));
            }
        }
        if escape {
            return err("~ must be followed by 0 or 1");
        }
    }
    Ok(())
}

fn relative_json_pointer(s: &str) -> Result<(), String> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return err("must start with non-negative integer");
    }
    if digits > 1 && s.starts_with('0') {
        return err("starts with zero");
    }
    let rest = &s[digits..];
    if rest == "#" {
        return Ok(());
    }
    json_pointer(rest)
}

fn uuid(s: &str) -> Result<(), String> {
    let groups: Vec<&str> = s.split('-').collect();
    let want = [8, 4, 4, 4, 12];
    if groups.len() != want.len() {
        return err(format!("must have {} elements", want.len()));
    }
    for (i, g) in groups.iter().enumerate() {
        if g.len() != want[i] {
            return err(format!(
                "element {} must be {} characters long",
                i + 1,
                want[i]
            ));
        }
        if let Some(c) = g.chars().find(|c| !c.is_ascii_hexdigit()) {
            return err(format!("non-hex character {}", qr(c)));
        }
    }
    Ok(())
}

fn duration(s: &str) -> Result<(), String> {
    let Some(s) = s.strip_prefix('P') else {
        return err("must start with P");
    };
    if s.is_empty() {
        return err("nothing after P");
    }
    if let Some(w) = s.strip_suffix('W') {
        if w.is_empty() {
            return err("no number in week");
        }
        if !w.bytes().all(|b| b.is_ascii_digit()) {
            return err("invalid week");
        }
        return Ok(());
    }
    let all_units = ["YMD", "HMS"];
    for (i, part) in s.split('T').enumerate() {
        if i != 0 && part.is_empty() {
            return err("no time elements");
        }
        if i >= all_units.len() {
            return err("more than one T");
        }
        let mut units = all_units[i];
        let mut part = part;
        while !part.is_empty() {
            let digits = part.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return err("missing number");
            }
            part = &part[digits..];
            let Some(unit) = part.chars().next() else {
                return err("missing unit");
            };
            match units.find(unit) {
                Some(j) => units = &units[j + 1..],
                None => {
                    let q = qr(unit);
                    return if all_units[i].contains(unit) {
                        err(format!("unit {q} out of order"))
                    } else {
                        err(format!("invalid unit {q}"))
                    };
                }
            }
            part = &part[unit.len_utf8()..];
        }
    }
    Ok(())
}

/// `strconv.Atoi`.
fn atoi(s: &str) -> Result<i64, String> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", go_quote(s)))
}

fn ipv4(s: &str) -> Result<(), String> {
    let groups: Vec<&str> = s.split('.').collect();
    if groups.len() != 4 {
        return err("expected four decimals");
    }
    for g in groups {
        if g.len() > 1 && g.starts_with('0') {
            return err("leading zeros");
        }
        let n = atoi(g)?;
        if !(0..=255).contains(&n) {
            return err("decimal must be between 0 and 255");
        }
    }
    Ok(())
}

fn ipv6(s: &str) -> Result<(), String> {
    if !s.contains(':') {
        return err("missing colon");
    }
    if let Some((_, zone)) = s.split_once('%') {
        let addr = &s[..s.len() - zone.len() - 1];
        if addr.parse::<std::net::Ipv6Addr>().is_ok() && !zone.is_empty() {
            return err("zone id is not a part of ipv6 address");
        }
    }
    match s.parse::<std::net::Ipv6Addr>() {
        Ok(_) => Ok(()),
        Err(_) => err(format!("ParseAddr({}): unable to parse IP", go_quote(s))),
    }
}

fn hostname(s: &str) -> Result<(), String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 {
        return err("more than 253 characters long");
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return err("label must be 1 to 63 characters long");
        }
        if label.starts_with('-') {
            return err("label starts with hyphen");
        }
        if label.ends_with('-') {
            return err("label ends with hyphen");
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return err(format!("invalid character {}", qr(c)));
        }
    }
    Ok(())
}

fn email(s: &str) -> Result<(), String> {
    if s.len() > 254 {
        return err("more than 255 characters long");
    }
    let Some(at) = s.rfind('@') else {
        return err("missing @");
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.len() > 64 {
        return err("local part more than 64 characters long");
    }
    if local.len() > 1 && local.starts_with('"') {
        let inner = &local[1..local.len() - 1];
        if inner.contains('\\') || inner.contains('"') {
            return err("backslash and quote are not allowed within quoted local part");
        }
    } else {
        if local.starts_with('.') {
            return err("starts with dot");
        }
        if local.ends_with('.') {
            return err("ends with dot");
        }
        if local.contains("..") {
            return err("consecutive dots");
        }
        if let Some(c) = local
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".!#$%&'*+-/=?^_`{|}~".contains(*c)))
        {
            return err(format!("invalid character {}", qr(c)));
        }
    }
    if let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        if let Some(v6) = inner.strip_prefix("IPv6:") {
            return ipv6(v6).map_err(|e| format!("invalid ipv6 address: {e}"));
        }
        return ipv4(inner).map_err(|e| format!("invalid ipv4 address: {e}"));
    }
    hostname(domain).map_err(|e| format!("invalid domain: {e}"))
}

fn date(s: &str) -> Result<(), String> {
    crate::funcs::dates::parse_time("2006-01-02", s).map(|_| ())
}

fn time(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    if b.len() < 9 {
        return err("less than 9 characters long");
    }
    if b[2] != b':' || b[5] != b':' {
        return err("missing colon in correct place");
    }
    let mut hms = Vec::new();
    for tok in s[..8].splitn(3, ':') {
        let Ok(i) = atoi(tok) else {
            return err("invalid hour/min/sec");
        };
        if i < 0 {
            return err("non-positive hour/min/sec");
        }
        hms.push(i);
    }
    if hms.len() != 3 {
        return err("missing hour/min/sec");
    }
    let (mut h, mut m, sec) = (hms[0], hms[1], hms[2]);
    if h > 23 || m > 59 || sec > 60 {
        return err("hour/min/sec out of range");
    }
    let mut rest = &s[8..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return err("no digits in second fraction");
        }
        rest = &frac[digits..];
    }
    if rest != "z" && rest != "Z" {
        if rest.len() != 6 {
            return err("offset must be 6 characters long");
        }
        let sign = match rest.as_bytes()[0] {
            b'+' => -1,
            b'-' => 1,
            _ => return err("offset must begin with plus/minus"),
        };
        let off = &rest[1..];
        if off.as_bytes()[2] != b':' {
            return err("missing colon in offset in correct place");
        }
        let mut zhm = Vec::new();
        for tok in off.splitn(2, ':') {
            let Ok(i) = atoi(tok) else {
                return err("invalid hour/min in offset");
            };
            if i < 0 {
                return err("non-positive hour/min in offset");
            }
            zhm.push(i);
        }
        let (zh, zm) = (zhm[0], zhm[1]);
        if zh > 23 || zm > 59 {
            return err("hour/min in offset out of range");
        }
        let mut hm = (h * 60 + m) + sign * (zh * 60 + zm);
        if hm < 0 {
            hm += 24 * 60;
        }
        h = hm / 60;
        m = hm % 60;
    }
    if sec >= 60 && (h != 23 || m != 59) {
        return err("invalid leap second");
    }
    Ok(())
}

fn date_time(s: &str) -> Result<(), String> {
    if s.len() < 20 {
        return err("less than 20 characters long");
    }
    if !s.is_char_boundary(10) || !s.is_char_boundary(11) {
        return err("11th character must be t or T");
    }
    let b = s.as_bytes();
    if b[10] != b't' && b[10] != b'T' {
        return err("11th character must be t or T");
    }
    date(&s[..10]).map_err(|e| format!("invalid date element: {e}"))?;
    time(&s[11..]).map_err(|e| format!("invalid time element: {e}"))
}

/// The checks of Go's `url.Parse` that reject strings, plus the
/// validator's own IPv6-host check. Returns whether the URL is absolute.
fn parse_url(s: &str) -> Result<bool, String> {
    let fail = |why: String| Err(format!("parse {}: {why}", go_quote(s)));
    if s.chars().any(|c| (c as u32) < 0x20 || c == '\x7f') {
        return fail("net/url: invalid control character in URL".into());
    }
    let (rest, frag) = s.split_once('#').unwrap_or((s, ""));
    for part in [rest, frag] {
        let b = part.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let ok = b.len() >= i + 3
                    && b[i + 1].is_ascii_hexdigit()
                    && b[i + 2].is_ascii_hexdigit();
                if !ok {
                    let end = (i + 3).min(b.len());
                    return fail(format!(
                        "invalid URL escape {}",
                        go_quote(&String::from_utf8_lossy(&b[i..end]))
                    ));
                }
                i += 3;
            } else {
                i += 1;
            }
        }
    }
    let mut scheme = "";
    let mut after = rest;
    if let Some(colon) = rest.find(':') {
        let cand = &rest[..colon];
        if colon == 0 {
            return fail("missing protocol scheme".into());
        }
        if cand.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = cand;
            after = &rest[colon + 1..];
        } else if !cand.contains('/') {
            return fail("first path segment in URL cannot contain colon".into());
        }
    }
    let after = after.split_once('?').map_or(after, |(a, _)| a);
    if let Some(auth) = after.strip_prefix("//") {
        let authority = auth.split('/').next().unwrap_or("");
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if let Some(h) = host.strip_prefix('[') {
            let Some(end) = h.find(']') else {
                return fail("missing ']' in host".into());
            };
            let name = &h[..end];
            if let Err(e) = ipv6(name) {
                return Err(format!("invalid ipv6 address: {e}"));
            }
        } else {
            let hostname = host.rsplit_once(':').map_or(host, |(h, _)| h);
            if hostname.contains(':') {
                return Err("ipv6 address not enclosed in brackets".into());
            }
            if let Some(c) = hostname.chars().find(|c| " <>\"{}|\\^`".contains(*c)) {
                return fail(format!(
                    "invalid character {} in host name",
                    go_quote(&c.to_string())
                ));
            }
        }
    }
    Ok(!scheme.is_empty())
}

fn uri(s: &str) -> Result<(), String> {
    if !parse_url(s)? {
        return err("relative url");
    }
    Ok(())
}

fn uri_reference(s: &str) -> Result<(), String> {
    if s.contains('\\') {
        return err("contains \\");
    }
    parse_url(s).map(|_| ())
}

fn uri_template(s: &str) -> Result<(), String> {
    parse_url(s)?;
    // Braces in each path segment must pair up, without nesting.
    let path = s.split(['?', '#']).next().unwrap_or("");
    for tok in path.split('/') {
        let mut want = true;
        for ch in tok.chars() {
            let got = match ch {
                '{' => true,
                '}' => false,
                _ => continue,
            };
            if got != want {
                return err("nested curly braces");
            }
            want = !want;
        }
        if !want {
            return err("no matching closing brace");
        }
    }
    Ok(())
}

fn period(s: &str) -> Result<(), String> {
    let Some((start, end)) = s.split_once('/') else {
        return err("missing slash");
    };
    if start.starts_with('P') {
        duration(start).map_err(|e| format!("invalid start duration: {e}"))?;
        date_time(end).map_err(|e| format!("invalid end date-time: {e}"))
    } else {
        date_time(start).map_err(|e| format!("invalid start date-time: {e}"))?;
        if end.starts_with('P') {
            duration(end).map_err(|e| format!("invalid end duration: {e}"))
        } else {
            date_time(end).map_err(|e| format!("invalid end date-time: {e}"))
        }
    }
}

fn semver(s: &str) -> Result<(), String> {
    let mut s = s;
    if let Some(i) = s.find('+') {
        let build = &s[i + 1..];
        if build.is_empty() {
            return err("build is empty");
        }
        for id in build.split('.') {
            if id.is_empty() {
                return err("build identifier is empty");
            }
            if let Some(c) = id
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return err(format!("invalid character {} in build identifier", qr(c)));
            }
        }
        s = &s[..i];
    }
    if let Some(i) = s.find('-') {
        for id in s[i + 1..].split('.') {
            if id.is_empty() {
                return err("pre-release identifier is empty");
            }
            if let Some(c) = id
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return err(format!(
                    "invalid character {} in pre-release identifier",
                    qr(c)
                ));
            }
            if id.bytes().all(|b| b.is_ascii_digit()) && id.len() > 1 && id.starts_with('0') {
                return err("pre-release numeric identifier starts with zero");
            }
        }
        s = &s[..i];
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 3 {
        return err("versionCore must have 3 numbers separated by dot");
    }
    for (name, v) in ["major", "minor", "patch"].iter().zip(parts) {
        if v.is_empty() {
            return err(format!("{name} is empty"));
        }
        if v.len() > 1 && v.starts_with('0') {
            return err(format!("{name} starts with zero"));
        }
        if !v.bytes().all(|b| b.is_ascii_digit()) {
            return err(format!("{name} contains non-digit"));
        }
    }
    Ok(())
}

fn regex(s: &str) -> Result<(), String> {
    super::compile::go_regex(s).map(|_| ())
}
