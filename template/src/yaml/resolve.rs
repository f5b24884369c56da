//! go-yaml v2's implicit typing of plain scalars (`resolve.go`), YAML 1.1
//! flavoured: `yes`/`no`/`on`/`off`/`y`/`n` are booleans, `0755` is octal,
//! `1_000` is an integer, `2001-12-14` is a timestamp (kept as a string when
//! decoding into `interface{}`).
//!
//! Used both ways: decoding values files, and deciding on output whether a
//! string must be quoted so it reads back as a string.

use crate::parse::{parse_go_float, parse_go_int, parse_go_uint};

/// What a plain scalar means.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    /// A timestamp; decoding into `interface{}` keeps the text.
    Timestamp,
    Str,
}

/// go-yaml v2's `resolve("", s)` for a plain scalar.
pub fn resolve(s: &str) -> Resolved {
    let hint = s.as_bytes().first().copied();
    let hint = match hint {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        _ => return Resolved::Str,
    };
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false);
        }
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match hint {
        b'.' => {
            if let Some(f) = parse_float_strict(s) {
                return Resolved::Float(f);
            }
        }
        b'D' | b'S' => {
            if is_timestamp(s) {
                return Resolved::Timestamp;
            }
            let plain = s.replace('_', "");
            if let Some(i) = parse_go_int(&plain) {
                return Resolved::Int(i);
            }
            if let Some(u) = parse_go_uint(&plain) {
                return Resolved::Uint(u);
            }
            if is_yaml_float(&plain)
                && let Some(f) = parse_float_strict(&plain)
            {
                return Resolved::Float(f);
            }
            if let Some(bin) = plain.strip_prefix("0b") {
                if let Ok(i) = i64::from_str_radix(bin, 2) {
                    return Resolved::Int(i);
                }
                if let Ok(u) = u64::from_str_radix(bin, 2) {
                    return Resolved::Uint(u);
                }
            } else if let Some(bin) = plain.strip_prefix("-0b")
                && let Ok(i) = i64::from_str_radix(&format!("-{bin}"), 2)
            {
                return Resolved::Int(i);
            }
        }
        _ => {}
    }
    Resolved::Str
}

/// `strconv.ParseFloat(s, 64)` for the forms YAML can reach here.
fn parse_float_strict(s: &str) -> Option<f64> {
    if s.contains('_') {
        return None;
    }
    parse_go_float(s)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// go-yaml v2's `parseTimestamp` layouts: `2006-1-2T15:4:5.999999999Z07:00`,
/// `2006-1-2t15:4:5.999999999Z07:00`, `2006-1-2 15:4:5.999999999`, `2006-1-2`.
pub fn is_timestamp(s: &str) -> bool {
    // The date part: year (4 digits), month and day (1-2 digits each).
    let b = s.as_bytes();
    let mut i = 0;
    let num = |i: &mut usize, min: usize, max: usize| -> Option<u32> {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
            *i += 1;
        }
        if *i - start < min {
            return None;
        }
        std::str::from_utf8(&b[start..*i]).ok()?.parse().ok()
    };
    let expect = |i: &mut usize, c: u8| -> bool {
        if *i < b.len() && b[*i] == c {
            *i += 1;
            true
        } else {
            false
        }
    };
    // Go's parseTimestamp first requires 4 leading digits and a '-'.
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let Some(_year) = num(&mut i, 4, 4) else {
        return false;
    };
    if !expect(&mut i, b'-') {
        return false;
    }
    let Some(month) = num(&mut i, 1, 2) else {
        return false;
    };
    if !expect(&mut i, b'-') {
        return false;
    }
    let Some(day) = num(&mut i, 1, 2) else {
        return false;
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    // Time part: "T"/"t" layouts end with a zone (Z or ±hh:mm), the " " layout has none.
    let with_zone = if expect(&mut i, b'T') || expect(&mut i, b't') {
        true
    } else if expect(&mut i, b' ') {
        false
    } else {
        return false;
    };
    let Some(h) = num(&mut i, 1, 2) else {
        return false;
    };
    if !expect(&mut i, b':') {
        return false;
    }
    let Some(m) = num(&mut i, 1, 2) else {
        return false;
    };
    if !expect(&mut i, b':') {
        return false;
    }
    let Some(sec) = num(&mut i, 1, 2) else {
        return false;
    };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    if expect(&mut i, b'.') && num(&mut i, 1, 9).is_none() {
        return false;
    }
    if !with_zone {
        return i == b.len();
    }
    if expect(&mut i, b'Z') {
        return i == b.len();
    }
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
        if num(&mut i, 2, 2).is_none() || !expect(&mut i, b':') || num(&mut i, 2, 2).is_none() {
            return false;
        }
        return i == b.len();
    }
    false
}

/// go-yaml's `isBase60Float`: strings quoted on output for YAML 1.1 readers.
pub fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !(b[0] == b'+' || b[0] == b'-' || b[0].is_ascii_digit()) || !s.contains(':')
    {
        return false;
    }
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let mut i = 0;
    if b[i] == b'+' || b[i] == b'-' {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let len = i - start;
        if len == 0 || (len == 2 && b[start] > b'5') {
            // "[0-5]?[0-9]": a two-digit group must start with 0-5.
            if len == 2 {
                // Backtrack: treat as one digit group followed by something else.
                i = start + 1;
            } else {
                return false;
            }
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml's `isOldBool`.
pub fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_scalars() {
        assert_eq!(resolve("yes"), Resolved::Bool(true));
        assert_eq!(resolve("Off"), Resolved::Bool(false));
        assert_eq!(resolve("0755"), Resolved::Int(493));
        assert_eq!(resolve("1_000"), Resolved::Int(1000));
        assert_eq!(resolve("08"), Resolved::Float(8.0));
        assert_eq!(resolve("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve(".5"), Resolved::Float(0.5));
        assert_eq!(resolve("0x1F"), Resolved::Int(31));
        assert_eq!(resolve("2001-12-14"), Resolved::Timestamp);
        assert_eq!(resolve("1:30"), Resolved::Str);
        assert_eq!(resolve("1.0"), Resolved::Float(1.0));
        assert_eq!(resolve("abc"), Resolved::Str);
        assert_eq!(resolve("~"), Resolved::Null);
        assert_eq!(resolve("+12"), Resolved::Int(12));
    }

    #[test]
    fn base60() {
        assert!(is_base60_float("1:30"));
        assert!(is_base60_float("190:20:30.15"));
        assert!(!is_base60_float("1:"));
        assert!(!is_base60_float("a:1"));
    }
}
