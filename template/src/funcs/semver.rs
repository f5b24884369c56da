//! Semantic versions as Masterminds/semver v3 parses and compares them:
//! Sprig's `semver` and `semverCompare`, the methods templates call on a
//! version (`.Major`, `.LessThan`, `.IncMinor`, …), and the constraint check
//! Helm uses for chart dependencies.

use std::cmp::Ordering;
use std::fmt;
use std::sync::OnceLock;

use regex::Regex;

use super::{FuncMap, Ty, add, s, sig};
use crate::error::GoError;
use crate::exec::Engine;
use crate::helm::objects::Method;
use crate::value::{Object, Value};

/// A parsed version (`*semver.Version`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

const LOOSE: &str = r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct Regexes {
    loose: Regex,
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

fn regexes() -> &'static Regexes {
    static R: OnceLock<Regexes> = OnceLock::new();
    R.get_or_init(|| {
        let re =
            |s: String| Regex::new(&s).unwrap_or_else(|_| Regex::new("^$").expect("trivial regex"));
        Regexes {
            loose: re(format!("^{LOOSE}$")),
            constraint: re(format!(r"^\s*({OPS})\s*({CV})\s*$")),
            range: re(format!(r"\s*({CV})\s+-\s+({CV})\s*")),
            find: re(format!(r"({OPS})\s*({CV})")),
            valid: re(format!(
                r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$"
            )),
        }
    })
}

const ERR_INVALID: &str = "invalid semantic version";

fn only(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    s.chars().all(allowed)
}

fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

fn validate_prerelease(p: &str) -> Result<(), String> {
    for part in p.split('.') {
        if part.is_empty() {
            return Err("invalid prerelease string".into());
        } else if only(part, |c| c.is_ascii_digit()) {
            if part.len() > 1 && part.starts_with('0') {
                return Err("version segment starts with 0".into());
            }
        } else if !only(part, is_allowed) {
            return Err("invalid prerelease string".into());
        }
    }
    Ok(())
}

fn validate_metadata(m: &str) -> Result<(), String> {
    for part in m.split('.') {
        if part.is_empty() || !only(part, is_allowed) {
            return Err("invalid metadata string".into());
        }
    }
    Ok(())
}

fn segment(s: &str) -> Result<u64, String> {
    let s = s.trim_start_matches('.');
    s.parse::<u64>().map_err(|_| {
        format!(
            "error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
            crate::gofmt::quote(s)
        )
    })
}

impl Version {
    /// `semver.NewVersion` (coercing: `1`, `v1.2`, `01.2.3` are accepted).
    pub fn parse(v: &str) -> Result<Version, String> {
        let Some(m) = regexes().loose.captures(v) else {
            return Err(ERR_INVALID.into());
        };
        let g = |i: usize| m.get(i).map(|x| x.as_str()).unwrap_or("");
        let out = Version {
            major: segment(g(1))?,
            minor: if g(2).is_empty() { 0 } else { segment(g(2))? },
            patch: if g(3).is_empty() { 0 } else { segment(g(3))? },
            pre: g(5).to_string(),
            metadata: g(8).to_string(),
            original: v.to_string(),
        };
        if !out.pre.is_empty() {
            validate_prerelease(&out.pre)?;
        }
        if !out.metadata.is_empty() {
            validate_metadata(&out.metadata)?;
        }
        Ok(out)
    }

    pub fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }

    fn v_prefix(&self) -> &str {
        if self.original.starts_with('v') {
            "v"
        } else {
            ""
        }
    }

    fn with_original(mut self, prefix: &str) -> Version {
        self.original = format!("{prefix}{self}");
        self
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let sp: Vec<&str> = a.split('.').collect();
    let op: Vec<&str> = b.split('.').collect();
    for i in 0..sp.len().max(op.len()) {
        let d = compare_pre_part(
            sp.get(i).copied().unwrap_or(""),
            op.get(i).copied().unwrap_or(""),
        );
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (_, Err(_)) => Ordering::Less,
        (Err(_), _) => Ordering::Greater,
        (Ok(si), Ok(oi)) => {
            if si > oi {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

/// One comparison of a constraint (`>= 1.2`, `~1.x`, …).
struct Constraint {
    con: Version,
    op: String,
    minor_dirty: bool,
    dirty: bool,
    patch_dirty: bool,
}

/// A parsed constraint: alternatives (`||`) of conjunctions.
pub struct Constraints {
    alternatives: Vec<Vec<Constraint>>,
    contains_pre: Vec<bool>,
}

fn is_x(x: &str) -> bool {
    matches!(x, "x" | "*" | "X")
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            con: Version::parse("0.0.0")?,
            op: String::new(),
            minor_dirty: false,
            dirty: true,
            patch_dirty: false,
        });
    }
    let Some(m) = regexes().constraint.captures(c) else {
        return Err(format!("improper constraint: {}", crate::gofmt::quote(c)));
    };
    let g = |i: usize| m.get(i).map(|x| x.as_str()).unwrap_or("");
    let (m3, m4, m5, m6) = (g(3), g(4), g(5), g(6));
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver = if is_x(m3) || m3.is_empty() {
        dirty = true;
        format!("0.0.0{m6}")
    } else if is_x(m4.trim_start_matches('.')) || m4.is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{m3}.0.0{m6}")
    } else if is_x(m5.trim_start_matches('.')) || m5.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{m3}{m4}.0{m6}")
    } else {
        g(2).to_string()
    };
    let con = Version::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        con,
        op: g(1).to_string(),
        minor_dirty,
        dirty,
        patch_dirty,
    })
}

impl Constraints {
    /// `semver.NewConstraint`.
    pub fn parse(c: &str) -> Result<Constraints, String> {
        let rx = regexes();
        // rewriteRange: "1 - 2" becomes ">= 1, <= 2".
        let mut c = c.to_string();
        let ranges: Vec<(String, String, String)> = rx
            .range
            .captures_iter(&c)
            .map(|m| {
                (
                    m[0].to_string(),
                    m.get(1).map(|x| x.as_str()).unwrap_or("").to_string(),
                    m.get(11).map(|x| x.as_str()).unwrap_or("").to_string(),
                )
            })
            .collect();
        for (whole, a, b) in ranges {
            c = c.replacen(&whole, &format!(">= {a}, <= {b} "), 1);
        }
        let mut alternatives = Vec::new();
        let mut contains_pre = Vec::new();
        for v in c.split("||") {
            if !rx.valid.is_match(v) {
                return Err(format!("improper constraint: {}", crate::gofmt::quote(v)));
            }
            let mut cs: Vec<String> = rx
                .find
                .find_iter(v)
                .map(|m| m.as_str().to_string())
                .collect();
            if cs.is_empty() {
                cs.push(v.to_string());
            }
            let mut has_pre = false;
            let mut result = Vec::new();
            for s in cs {
                let pc = parse_constraint(&s)?;
                if !pc.con.pre.is_empty() {
                    has_pre = true;
                }
                result.push(pc);
            }
            alternatives.push(result);
            contains_pre.push(has_pre);
        }
        Ok(Constraints {
            alternatives,
            contains_pre,
        })
    }

    /// `Constraints.Check`.
    pub fn check(&self, v: &Version) -> bool {
        self.alternatives
            .iter()
            .zip(&self.contains_pre)
            .any(|(all, pre)| all.iter().all(|c| check(v, c, *pre)))
    }
}

fn check(v: &Version, c: &Constraint, include_pre: bool) -> bool {
    if !v.pre.is_empty() && !include_pre {
        return false;
    }
    let cmp = v.compare(&c.con);
    match c.op.as_str() {
        "" | "=" => {
            if c.dirty {
                tilde(v, c)
            } else {
                cmp == Ordering::Equal
            }
        }
        "!=" => {
            if c.dirty {
                if c.con.major != v.major {
                    return true;
                }
                if c.con.minor != v.minor && !c.minor_dirty {
                    return true;
                } else if c.minor_dirty {
                    return false;
                } else if c.con.patch != v.patch && !c.patch_dirty {
                    return true;
                } else if c.patch_dirty {
                    if !v.pre.is_empty() || !c.con.pre.is_empty() {
                        return compare_prerelease(&v.pre, &c.con.pre) != Ordering::Equal;
                    }
                    return false;
                }
            }
            cmp != Ordering::Equal
        }
        ">" => {
            if !c.dirty {
                return cmp == Ordering::Greater;
            }
            if v.major > c.con.major {
                true
            } else if v.major < c.con.major || c.minor_dirty {
                false
            } else if c.patch_dirty {
                v.minor > c.con.minor
            } else {
                cmp == Ordering::Greater
            }
        }
        "<" => cmp == Ordering::Less,
        ">=" | "=>" => cmp != Ordering::Less,
        "<=" | "=<" => {
            if !c.dirty {
                return cmp != Ordering::Greater;
            }
            !(v.major > c.con.major
                || (v.major == c.con.major && v.minor > c.con.minor && !c.minor_dirty))
        }
        "~" | "~>" => tilde(v, c),
        "^" => {
            if cmp == Ordering::Less {
                return false;
            }
            if c.con.major > 0 || c.minor_dirty {
                return v.major == c.con.major;
            }
            if v.major > 0 {
                return false;
            }
            if c.con.minor > 0 || c.patch_dirty {
                return v.minor == c.con.minor;
            }
            if v.minor > 0 {
                return false;
            }
            c.con.patch == v.patch
        }
        _ => false,
    }
}

fn tilde(v: &Version, c: &Constraint) -> bool {
    if v.compare(&c.con) == Ordering::Less {
        return false;
    }
    if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minor_dirty && !c.patch_dirty
    {
        return true;
    }
    if v.major != c.con.major {
        return false;
    }
    v.minor == c.con.minor || c.minor_dirty
}

/// Helm's `IsCompatibleRange(constraint, version)`.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    let (Ok(v), Ok(c)) = (Version::parse(version), Constraints::parse(constraint)) else {
        return false;
    };
    c.check(&v)
}

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "semver", sig(&[Str]), |_, a| {
        Version::parse(s(&a[0]))
            .map(|v| Value::object(Object::Semver(v)))
            .map_err(GoError::plain)
    });
    add(m, "semverCompare", sig(&[Str, Str]), |_, a| {
        let c = Constraints::parse(s(&a[0])).map_err(GoError::plain)?;
        let v = Version::parse(s(&a[1])).map_err(GoError::plain)?;
        Ok(Value::Bool(c.check(&v)))
    });
}

fn recv(v: &Value) -> Version {
    match v {
        Value::Object(o) => match &**o {
            Object::Semver(v) | Object::SemverValue(v) => v.clone(),
            _ => unreachable_version(),
        },
        _ => unreachable_version(),
    }
}

fn unreachable_version() -> Version {
    Version {
        major: 0,
        minor: 0,
        patch: 0,
        pre: String::new(),
        metadata: String::new(),
        original: String::new(),
    }
}

fn other(v: &Value) -> Result<Version, GoError> {
    match v {
        Value::Object(o) => match &**o {
            Object::Semver(v) => Ok(v.clone()),
            _ => Err(GoError::plain(
                "wrong type for value; expected *semver.Version",
            )),
        },
        // A nil *Version: Go dereferences it and panics.
        _ => Err(GoError::plain(
            "runtime error: invalid memory address or nil pointer dereference",
        )),
    }
}

type MethodFn = fn(&mut Engine<'_>, &Value, Vec<Value>) -> Result<Value, GoError>;

/// Methods of `*semver.Version` (`pointer`) or `semver.Version`: a
/// non-addressable value lacks the pointer-receiver methods.
pub fn method(name: &str, pointer: bool) -> Option<Method> {
    if !pointer
        && matches!(
            name,
            "Original"
                | "LessThan"
                | "LessThanEqual"
                | "GreaterThan"
                | "GreaterThanEqual"
                | "Equal"
                | "Compare"
        )
    {
        return None;
    }
    use Ty::*;
    let m = |params: &'static [Ty], f: MethodFn| {
        Some(Method {
            sig: sig(params),
            f,
        })
    };
    match name {
        "Major" => m(&[], |_, r, _| Ok(Value::Uint(recv(r).major))),
        "Minor" => m(&[], |_, r, _| Ok(Value::Uint(recv(r).minor))),
        "Patch" => m(&[], |_, r, _| Ok(Value::Uint(recv(r).patch))),
        "Prerelease" => m(&[], |_, r, _| Ok(Value::str(recv(r).pre))),
        "Metadata" => m(&[], |_, r, _| Ok(Value::str(recv(r).metadata))),
        "Original" => m(&[], |_, r, _| Ok(Value::str(recv(r).original))),
        "String" => m(&[], |_, r, _| Ok(Value::str(recv(r).to_string()))),
        "IncPatch" => m(&[], |_, r, _| {
            let v = recv(r);
            let prefix = v.v_prefix().to_string();
            let mut n = v.clone();
            n.metadata.clear();
            if v.pre.is_empty() {
                n.patch += 1;
            }
            n.pre.clear();
            Ok(Value::object(Object::SemverValue(n.with_original(&prefix))))
        }),
        "IncMinor" => m(&[], |_, r, _| {
            let v = recv(r);
            let prefix = v.v_prefix().to_string();
            let n = Version {
                minor: v.minor + 1,
                patch: 0,
                pre: String::new(),
                metadata: String::new(),
                ..v
            };
            Ok(Value::object(Object::SemverValue(n.with_original(&prefix))))
        }),
        "IncMajor" => m(&[], |_, r, _| {
            let v = recv(r);
            let prefix = v.v_prefix().to_string();
            let n = Version {
                major: v.major + 1,
                minor: 0,
                patch: 0,
                pre: String::new(),
                metadata: String::new(),
                ..v
            };
            Ok(Value::object(Object::SemverValue(n.with_original(&prefix))))
        }),
        "LessThan" => m(&[Any], |_, r, a| {
            Ok(Value::Bool(
                recv(r).compare(&other(&a[0])?) == Ordering::Less,
            ))
        }),
        "LessThanEqual" => m(&[Any], |_, r, a| {
            Ok(Value::Bool(
                recv(r).compare(&other(&a[0])?) != Ordering::Greater,
            ))
        }),
        "GreaterThan" => m(&[Any], |_, r, a| {
            Ok(Value::Bool(
                recv(r).compare(&other(&a[0])?) == Ordering::Greater,
            ))
        }),
        "GreaterThanEqual" => m(&[Any], |_, r, a| {
            Ok(Value::Bool(
                recv(r).compare(&other(&a[0])?) != Ordering::Less,
            ))
        }),
        "Equal" => m(&[Any], |_, r, a| {
            Ok(Value::Bool(
                recv(r).compare(&other(&a[0])?) == Ordering::Equal,
            ))
        }),
        "Compare" => m(&[Any], |_, r, a| {
            Ok(Value::Int(match recv(r).compare(&other(&a[0])?) {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            }))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints() {
        let ok = |c: &str, v: &str| {
            Constraints::parse(c)
                .unwrap()
                .check(&Version::parse(v).unwrap())
        };
        assert!(ok(">=1.20.0", "1.36.0"));
        assert!(!ok(">=1.20.0-0", "1.19.9"));
        assert!(ok("~1.2", "1.2.9"));
        assert!(!ok("~1.2", "1.3.0"));
        assert!(ok("^1.2.3", "1.9.0"));
        assert!(!ok("^0.2.3", "0.3.0"));
        assert!(ok("1.x", "1.5.0"));
        assert!(ok(">1, <3 || =5", "5.0.0"));
        assert!(ok("1 - 2", "2.0.0"));
        assert!(!ok(">=1.0", "1.1.0-beta"));
        assert!(ok(">=1.0-0", "1.1.0-beta"));
        assert!(!is_compatible_range("", "1.0.0"));
    }
}
