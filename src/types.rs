//! Domain names parsed at the boundary: a release name, a namespace, a
//! revision number. Once parsed they are trusted everywhere inside.

use std::fmt;

/// Why a name given by a user was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error(
        "release name {0:?}: invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53"
    )]
    Release(String),
    #[error(
        "namespace {0:?}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character, and be at most 63 characters"
    )]
    Namespace(String),
}

/// A DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Kubernetes' rules for a label (apimachinery validation:
/// IsQualifiedName for the key, IsValidLabelValue for the value), which the
/// release labels meet so that Helm's release Secrets (`berth export-helm`)
/// can carry them: the reason in one line, or Ok.
pub fn check_label(key: &str, value: &str) -> Result<(), String> {
    fn name_part(s: &str) -> bool {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    }
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty() && p.len() <= 253 && p.split('.').all(|l| l.len() <= 63 && is_dns_label(l))
    });
    if !prefix_ok || !name_part(name) {
        return Err(format!(
            "label key {key:?}: must be a name of at most 63 characters (alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric), optionally after a DNS subdomain prefix and '/'"
        ));
    }
    if !value.is_empty() && !name_part(value) {
        return Err(format!(
            "label {key:?} value {value:?}: must be empty or at most 63 characters (alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric)"
        ));
    }
    Ok(())
}

/// A release name with Helm's rules (pkg/chart/v2/util/validate_name.go):
/// dot-separated DNS labels, at most 53 characters so that generated
/// object names stay within Kubernetes' 63.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseName(String);

impl ReleaseName {
    pub const MAX_LEN: usize = 53;

    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.len() > Self::MAX_LEN || !s.split('.').all(is_dns_label) {
            return Err(NameError::Release(s.to_string()));
        }
        Ok(ReleaseName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReleaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Kubernetes namespace name (a DNS-1123 label of at most 63 characters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Namespace(String);

impl Namespace {
    pub const DEFAULT: &'static str = "default";

    /// An empty string means Helm's default namespace.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.is_empty() {
            return Ok(Namespace(Self::DEFAULT.to_string()));
        }
        if s.len() > 63 || !is_dns_label(s) {
            return Err(NameError::Namespace(s.to_string()));
        }
        Ok(Namespace(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A revision number; revisions of a release start at 1 and never repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision(pub u64);

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_kubernetes_rules() {
        for (k, v) in [
            ("team", "web"),
            ("example.com/tier", ""),
            ("a_b.c-d", "X-1.2_3"),
        ] {
            assert_eq!(check_label(k, v), Ok(()), "{k}={v}");
        }
        for (k, v) in [
            ("", "x"),
            ("-team", "x"),
            ("team/", "x"),
            ("Example.com/t", "x"),
            ("a/b/c", "x"),
            (&"k".repeat(64), "x"),
            ("team", "web app"),
            ("team", "-web"),
            ("team", &"v".repeat(64)),
        ] {
            assert!(check_label(k, v).is_err(), "{k}={v}");
        }
    }

    #[test]
    fn release_names_follow_helm() {
        for ok in ["a", "my-app", "web.v2", "a1", &"x".repeat(53)] {
            assert!(ReleaseName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "My-App", "-a", "a-", "a..b", "a_b", &"x".repeat(54)] {
            assert!(ReleaseName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespaces_are_dns_labels() {
        assert_eq!(Namespace::parse("").unwrap().as_str(), "default");
        assert!(Namespace::parse("team-a").is_ok());
        assert!(Namespace::parse("a.b").is_err());
        assert!(Namespace::parse(&"n".repeat(64)).is_err());
    }
}

/// Helm's duration flags (Go's time.ParseDuration for the units Helm users
/// write): `300s`, `5m`, `1h30m`, `5m0s`, `1500ms`, or bare seconds.
/// Longer than Go's longest `time.Duration` (2562047h47m16.854775807s) is
/// out of range, as for Helm.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    /// Go's longest duration, in seconds.
    const LONGEST: f64 = 9_223_372_036.854_775;
    let out_of_range =
        || format!("invalid duration {s:?}: out of range (the longest is 2562047h47m16s)");
    if let Ok(n) = s.parse::<u64>() {
        if n as f64 > LONGEST {
            return Err(out_of_range());
        }
        return Ok(std::time::Duration::from_secs(n));
    }
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s.starts_with('-') {
        return Err(format!(
            "invalid duration {s:?}: a timeout cannot be negative"
        ));
    }
    let mut total = 0f64;
    let mut num = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            rest = &rest[1..];
            continue;
        }
        let (unit, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else {
            return Err(format!("invalid duration {s:?}: unknown unit"));
        };
        let n: f64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
        total += n * unit;
        num.clear();
        rest = &rest[len..];
    }
    if !num.is_empty() {
        return Err(format!("invalid duration {s:?}: missing unit"));
    }
    if total > LONGEST {
        return Err(out_of_range());
    }
    std::time::Duration::try_from_secs_f64(total).map_err(|_| out_of_range())
}

#[cfg(test)]
mod duration_tests {
    use super::parse_duration;

    #[test]
    fn durations_like_helm() {
        assert_eq!(parse_duration("300").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("5m0s").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("1500ms").unwrap().as_millis(), 1500);
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("99999999999999999999999h").is_err());
        // Past Go's longest duration, or negative: refused in one line.
        assert!(parse_duration("2562047h").is_ok());
        for bad in ["2562048h", "3000000000000000h", "9223372037", "-5s"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.starts_with(&format!("invalid duration {bad:?}: ")), "{e}");
        }
    }
}
