//! The string validators Helm's lint rules call, reproduced exactly:
//!
//! * Chart.yaml (pkg/chart/v2/lint/rules/chartfile.go): a maintainer's email
//!   and url, the sources and the icon go through
//!   github.com/asaskevich/govalidator at v0.0.0-20230301143203-a9d515a09cc2
//!   (`IsEmail`, `IsURL`, `IsRequestURL`). The last two stand on Go's
//!   `net/url` parser (Go 1.26, the toolchain Helm v4.2.3 is built with),
//!   which berth-template's `funcs::url` reproduces (Sprig's `urlParse`
//!   stands on it too).
//! * templates (pkg/chart/v2/lint/rules/template.go): `validateMetadataName`,
//!   the per-kind name rules of k8s.io/apimachinery (v0.36.1 in Helm
//!   v4.2.3's go.mod; v0.36.3 differs in none of them), and the text of the
//!   warning as Go's `field` and `errors` packages render it.
//!
//! Go's regexp classes `\d` and `\s` are ASCII-only, Rust's are Unicode: the
//! patterns below spell them `[0-9]` and `[\t\n\f\r ]` (Go's `\s` has no
//! `\v`). Nothing here panics on any input.

use std::sync::OnceLock;

use berth_template::funcs::url;
use regex::Regex;

// ---------------------------------------------------------------------------
// govalidator

/// govalidator's `IsURL` bounds (validator.go: `maxURLRuneCount`,
/// `minURLRuneCount`).
const MAX_URL_RUNE_COUNT: usize = 2083;
const MIN_URL_RUNE_COUNT: usize = 3;

/// govalidator's patterns.go `Email`, `\d` as `[0-9]`.
const EMAIL: &str = concat!(
    r#"^(((([a-zA-Z]|[0-9]|[!#\$%&'\*\+\-/=\?\^_`{\|}~]|[\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}])+"#,
    r#"(\.([a-zA-Z]|[0-9]|[!#\$%&'\*\+\-/=\?\^_`{\|}~]|[\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}])+)*)"#,
    r#"|((\x22)((((\x20|\x09)*(\x0d\x0a))?(\x20|\x09)+)?(([\x01-\x08\x0b\x0c\x0e-\x1f\x7f]|\x21|[\x23-\x5b]|[\x5d-\x7e]"#,
    r#"|[\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}])|(\([\x01-\x09\x0b\x0c\x0d-\x7f]"#,
    r#"|[\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}]))))*(((\x20|\x09)*(\x0d\x0a))?(\x20|\x09)+)?(\x22)))"#,
    r#"@((([a-zA-Z]|[0-9]|[\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}])"#,
    r#"|(([a-zA-Z]|[0-9]|[\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}])"#,
    r#"([a-zA-Z]|[0-9]|-|\.|_|~|[\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}])*"#,
    r#"([a-zA-Z]|[0-9]|[\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}])))\.)+"#,
    r#"(([a-zA-Z]|[\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}])"#,
    r#"|(([a-zA-Z]|[\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}])"#,
    r#"([a-zA-Z]|[0-9]|-|_|~|[\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}])*"#,
    r#"([a-zA-Z]|[\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}])))\.?$"#,
);

/// govalidator's patterns.go `IP` (no `\d` in it).
const IP: &str = concat!(
    r"(([0-9a-fA-F]{1,4}:){7,7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}",
    r"|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}",
    r"|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}",
    r"|[0-9a-fA-F]{1,4}:((:[0-9a-fA-F]{1,4}){1,6})|:((:[0-9a-fA-F]{1,4}){1,7}|:)",
    r"|fe80:(:[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]{1,}",
    r"|::(ffff(:0{1,4}){0,1}:){0,1}((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])",
    r"|([0-9a-fA-F]{1,4}:){1,4}:((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9]))",
);

/// govalidator's `URLSchema`, `URLUsername` (`\S` as `[^\t\n\f\r ]`),
/// `URLPath` (`[^\s]` likewise), `URLPort`, `URLIP` and `URLSubdomain`.
const URL_SCHEMA: &str = r"((ftp|tcp|udp|wss?|https?)://)";
const URL_USERNAME: &str = r"([^\t\n\f\r ]+(:[^\t\n\f\r ]*)?@)";
const URL_PATH: &str = r"((/|\?|#)[^\t\n\f\r ]*)";
const URL_PORT: &str = r"(:([0-9]{1,5}))";
const URL_IP: &str = r"([1-9][0-9]?|1[0-9][0-9]|2[01][0-9]|22[0-3]|24[0-9]|25[0-5])(\.([0-9]{1,2}|1[0-9][0-9]|2[0-4][0-9]|25[0-5])){2}(?:\.([0-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5]))";
const URL_SUBDOMAIN: &str =
    r"((www\.)|([a-zA-Z0-9]+([-_\.]?[a-zA-Z0-9])*[a-zA-Z0-9]\.[a-zA-Z0-9]+))";

/// A compiled pattern, or `None` if it failed to compile (it never does:
/// the unit tests check), which then matches nothing rather than panic.
type Pattern = Option<Regex>;

fn is_match(pattern: &Pattern, s: &str) -> bool {
    pattern.as_ref().is_some_and(|re| re.is_match(s))
}

struct Patterns {
    email: Pattern,
    url: Pattern,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        email: Regex::new(EMAIL).ok(),
        url: Regex::new(&url_pattern()).ok(),
    })
}

/// govalidator's `URL`, assembled as patterns.go assembles it.
fn url_pattern() -> String {
    format!(
        r"^{URL_SCHEMA}?{URL_USERNAME}?(({URL_IP}|(\[{IP}\])|(([a-zA-Z0-9]([a-zA-Z0-9-_]+)?[a-zA-Z0-9]([-\.][a-zA-Z0-9]+)*)|({URL_SUBDOMAIN}?))?(([a-zA-Z\x{{00a1}}-\x{{ffff}}0-9]+-?-?)*[a-zA-Z\x{{00a1}}-\x{{ffff}}0-9]+)(?:\.([a-zA-Z\x{{00a1}}-\x{{ffff}}]{{1,}}))?))\.?{URL_PORT}?{URL_PATH}?$"
    )
}

/// govalidator's `IsEmail`: the `Email` pattern, nothing more (no length
/// limits; uppercase is fine).
pub fn is_email(s: &str) -> bool {
    is_match(&patterns().email, s)
}

/// govalidator's `IsURL`: the rune-count bounds and the leading-dot rule,
/// then `url.Parse` (of `"http://" + s` when `s` has a colon but no
/// `"://"`) must succeed with a host not starting with a dot, and without a
/// host the path (if any) must hold a dot; finally the `URL` pattern must
/// match `s` itself.
pub fn is_url(s: &str) -> bool {
    // The upper bound counts runes, the lower one bytes.
    if s.is_empty()
        || s.chars().count() >= MAX_URL_RUNE_COUNT
        || s.len() <= MIN_URL_RUNE_COUNT
        || s.starts_with('.')
    {
        return false;
    }
    let parsed = if s.contains(':') && !s.contains("://") {
        url::parse(format!("http://{s}").as_bytes())
    } else {
        url::parse(s.as_bytes())
    };
    let Ok(u) = parsed else {
        return false;
    };
    if u.host().starts_with(b".") {
        return false;
    }
    if u.host().is_empty() && !u.path().is_empty() && !u.path().contains(&b'.') {
        return false;
    }
    is_match(&patterns().url, s)
}

/// govalidator's `IsRequestURL`: Go's `url.ParseRequestURI` succeeds and
/// the URL has a scheme.
pub fn is_request_url(s: &str) -> bool {
    url::parse_request_uri(s.as_bytes()).is_ok_and(|u| !u.scheme().is_empty())
}

// ---------------------------------------------------------------------------
// Kubernetes object names

/// Which apimachinery name check applies to a kind (Helm's
/// `validateMetadataNameFunc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameRule {
    /// `validation.NameIsDNSSubdomain` (also `ValidateServiceAccountName`):
    /// the default, for every kind not named below.
    DnsSubdomain,
    /// `validation.NameIsDNS1035Label`: services.
    Dns1035Label,
    /// `validation.ValidateNamespaceName`, which is `NameIsDNSLabel`.
    DnsLabel,
    /// `content.IsPathSegmentName`: RBAC roles and bindings.
    PathSegment,
    /// Certificate signing requests: no validation.
    Unchecked,
}

impl NameRule {
    fn for_kind(kind: &str) -> Self {
        match go_to_lower(kind).as_str() {
            "service" => Self::Dns1035Label,
            "namespace" => Self::DnsLabel,
            "certificatesigningrequest" => Self::Unchecked,
            "role" | "clusterrole" | "rolebinding" | "clusterrolebinding" => Self::PathSegment,
            // "serviceaccount" and the kinds Helm lists explicitly
            // (pod, deployment, …) take the default too.
            _ => Self::DnsSubdomain,
        }
    }

    /// The messages the check returns (with `prefix` false, as Helm calls
    /// it).
    fn check(self, name: &str) -> Vec<String> {
        match self {
            Self::DnsSubdomain => is_dns1123_subdomain(name),
            Self::Dns1035Label => is_dns1035_label(name),
            Self::DnsLabel => is_dns1123_label(name),
            Self::PathSegment => is_path_segment_name(name),
            Self::Unchecked => Vec::new(),
        }
    }
}

/// Go's `strings.ToLower` where it matters for matching ASCII kind names:
/// Go lowers 'İ' (U+0130) to a plain 'i', Rust to "i̇".
fn go_to_lower(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{130}' => 'i',
            c => c.to_lowercase().next().unwrap_or(c),
        })
        .collect()
}

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_LABEL_MAX_LENGTH: usize = 63;
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const DNS1035_LABEL_MAX_LENGTH: usize = 63;

/// `dns1123SubdomainFmt`: labels joined by dots.
fn dns1123_subdomain_fmt() -> String {
    format!(r"{DNS1123_LABEL_FMT}(\.{DNS1123_LABEL_FMT})*")
}

struct NamePatterns {
    dns1123_label: Pattern,
    dns1123_subdomain: Pattern,
    dns1035_label: Pattern,
}

fn name_patterns() -> &'static NamePatterns {
    static P: OnceLock<NamePatterns> = OnceLock::new();
    P.get_or_init(|| NamePatterns {
        dns1123_label: Regex::new(&format!("^{DNS1123_LABEL_FMT}$")).ok(),
        dns1123_subdomain: Regex::new(&format!("^{}$", dns1123_subdomain_fmt())).ok(),
        dns1035_label: Regex::new(&format!("^{DNS1035_LABEL_FMT}$")).ok(),
    })
}

/// pkg/util/validation `MaxLenError` (in characters there; the length
/// checked is in bytes all the same).
fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// pkg/util/validation `RegexError`, with its examples as it joins them:
/// `(e.g. 'a',  or 'b', regex used …` — the double space is Go's.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = msg.to_string();
    if examples.is_empty() {
        return out + " (regex used for validation is '" + fmt + "')";
    }
    out += " (e.g. ";
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out += " or ";
        }
        out += "'";
        out += example;
        out += "', ";
    }
    out + "regex used for validation is '" + fmt + "')"
}

/// pkg/util/validation `IsDNS1123Label`.
fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    let p = name_patterns();
    if !is_match(&p.dns1123_label, value) {
        if is_match(&p.dns1123_subdomain, value) {
            // A valid subdomain but no label: the length was checked, so dots.
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR_MSG,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// pkg/util/validation `IsDNS1123Subdomain`.
fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !is_match(&name_patterns().dns1123_subdomain, value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            &dns1123_subdomain_fmt(),
            &["example.com"],
        ));
    }
    errs
}

/// pkg/util/validation `IsDNS1035Label`.
fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1035_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1035_LABEL_MAX_LENGTH));
    }
    if !is_match(&name_patterns().dns1035_label, value) {
        errs.push(regex_error(
            DNS1035_LABEL_ERR_MSG,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

/// pkg/api/validate/content `IsPathSegmentName`: not "." or "..", no "/"
/// or "%" (no length limit, "" allowed).
fn is_path_segment_name(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    ["/", "%"]
        .iter()
        .filter(|bad| name.contains(*bad))
        .map(|bad| format!("may not contain '{bad}'"))
        .collect()
}

/// Helm's `validateMetadataName`: the warning for an object of `kind`
/// named `name`, or `None` when the name is fine.
///
/// Each message becomes `field.Invalid(metadata.name, name, msg)`, which
/// renders as `metadata.name: Invalid value: "<name>": <msg>`; the list's
/// `ToAggregate` drops repeated messages and renders one error as itself,
/// several as `[a, b]`.
pub fn metadata_name_error(kind: &str, name: &str) -> Option<String> {
    let msgs = NameRule::for_kind(kind).check(name);
    if msgs.is_empty() {
        return None;
    }
    let quoted = berth_template::gofmt::quote(name);
    let mut errs: Vec<String> = Vec::with_capacity(msgs.len());
    for msg in msgs {
        let err = format!("metadata.name: Invalid value: {quoted}: {msg}");
        if !errs.contains(&err) {
            errs.push(err);
        }
    }
    let aggregate = match errs.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    Some(format!(
        "object name does not conform to Kubernetes naming requirements: {quoted}: {aggregate}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every expected value below is what real Helm v4.2.3 decided: `helm lint`
    // (helm_python, Helm built with Go 1.26.6) of throwaway charts whose
    // Chart.yaml had the string as a maintainer's email or url, a source or
    // the icon, or whose templates/x.yaml had an object of the kind and name.

    /// (input, `is_url` — a maintainer's url, `is_request_url` — a source
    /// or the icon)
    const URLS: &[(&str, bool, bool)] = &[
        ("https://example.com", true, true),
        ("http://example.com/path?q=1#frag", true, true),
        ("example.com", true, false),
        ("foo", false, false),
        ("foo.bar", true, false),
        ("localhost:8080", true, true),
        ("http://127.0.0.1:80/x", true, true),
        ("http://256.1.1.1", false, true),
        ("http://[::1]:8080/x", true, true),
        ("http://[fe80::1%25en0]", true, true),
        ("http://[1.2.3.4]", false, false),
        ("http://[::ffff:1.2.3.4]", true, true),
        ("http://[v1.x]", false, false),
        ("http://[::1", false, false),
        ("http://a[b]", false, false),
        ("http://[1::2::3]", false, false),
        ("http://[::1]:", false, true),
        ("http://user:pass@example.com", true, true),
        ("http://ü@example.com", false, false),
        ("http://example.com:abc", false, false),
        ("http://example.com:99999", true, true),
        ("http://a:1:2/", false, false),
        ("ftp://a:1:2/", false, true),
        ("http://x.com:80:80", false, false),
        ("postgres://h1:5432,h2:5432/db", false, true),
        ("http://exa mple.com", false, false),
        ("http://example.com/a b", false, true),
        ("http://例子.测试", true, true),
        ("http://example.com/%zz", false, false),
        ("http://ex%41mple.com", false, false),
        ("http://ex%C3%BCmple.com", false, true),
        ("http://example.com/#%zz", false, false),
        ("http://example.com/?%zz", true, true),
        ("http://[fe80::1%25en%200]", false, true),
        ("http://[fe80::1%25]", false, false),
        ("mailto:user@example.com", true, true),
        ("mailto:foo", false, true),
        ("urn:isbn:0451450523", false, true),
        ("file:///etc/passwd", false, true),
        ("http://", false, true),
        (".example.com", false, false),
        ("http://.example.com", false, true),
        ("http://user@.example.com", false, true),
        ("//example.com/path", false, false),
        ("/just/a/path", false, false),
        ("*", false, false),
        ("a.b", false, false),
        ("abc", false, false),
        ("a:b", false, true),
        ("1http://example.com", false, false),
        ("http://exam\u{1}ple.com", false, false),
        ("http://exa<mple.com", false, true),
        ("http://exa{mple}.com", false, false),
        ("http://x.com/%4", false, false),
        ("http://a.b:65536", true, true),
        ("http://a.b:123456", false, true),
        ("git+ssh://git@github.com/x/y.git", true, true),
        ("HtTpS://A.B", false, true),
        ("a%2Eb", false, false),
        ("x.com/%2E", true, false),
        ("s3://bucket/key", false, true),
        ("oci://registry.io/chart", false, true),
        ("ü.c", true, false),
        ("http://a.b/😀", true, true),
    ];
    /// (input, `is_email` — a maintainer's email)
    const EMAILS: &[(&str, bool)] = &[
        ("a@b.com", true),
        ("user.name+tag@example.co.uk", true),
        ("A@B.COM", true),
        ("a@b", false),
        ("a@b.c", true),
        ("a@b.c1", false),
        ("@b.com", false),
        ("a@", false),
        ("a@@b.com", false),
        ("a b@c.com", false),
        ("\"a b\"@c.com", false),
        ("a..b@c.com", false),
        (".a@b.com", false),
        ("a.@b.com", false),
        ("ü@exämple.com", true),
        ("a@b-.com", false),
        ("a@b_c.com", true),
        ("a@b.com.", true),
        ("a@[1.2.3.4]", false),
        ("a@1.2.3.4", false),
        ("!#$%&'*+-/=?^_`{|}~@x.com", true),
        ("a@日本.jp", true),
        ("\"a\r\n b\"@c.com", false),
        ("a@\u{ffef}.com", true),
        ("a@\u{fff0}.com", false),
    ];

    #[test]
    fn urls_are_judged_as_helm_judges_them() {
        for &(s, url, request_url) in URLS {
            assert_eq!(is_url(s), url, "is_url({s:?})");
            assert_eq!(is_request_url(s), request_url, "is_request_url({s:?})");
        }
    }

    #[test]
    fn is_url_bounds_count_runes() {
        // 13 + 2069 = 2082 runes: under govalidator's 2083; one more is not.
        let under = format!("http://x.com/{}", "ü".repeat(2069));
        let at = format!("http://x.com/{}", "ü".repeat(2070));
        assert!(is_url(&under));
        assert!(!is_url(&at));
        assert!(is_request_url(&at));
    }

    #[test]
    fn emails_are_judged_as_helm_judges_them() {
        for &(s, email) in EMAILS {
            assert_eq!(is_email(s), email, "is_email({s:?})");
        }
    }

    #[test]
    fn patterns_compile() {
        let p = patterns();
        assert!(p.email.is_some() && p.url.is_some());
        let n = name_patterns();
        assert!(n.dns1123_label.is_some() && n.dns1123_subdomain.is_some());
        assert!(n.dns1035_label.is_some());
    }

    const PREFIX: &str = "object name does not conform to Kubernetes naming requirements: ";

    // The messages as Helm printed them (the double space is apimachinery's).
    const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
        alphanumeric characters, '-' or '.', and must start and end with an alphanumeric \
        character (e.g. 'example.com', regex used for validation is \
        '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
        characters or '-', and must start and end with an alphanumeric character \
        (e.g. 'my-name',  or '123-abc', regex used for validation is \
        '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    const DNS1035: &str = "a DNS-1035 label must consist of lower case alphanumeric characters \
        or '-', start with an alphabetic character, and end with an alphanumeric character \
        (e.g. 'my-name',  or 'abc-123', regex used for validation is \
        '[a-z]([-a-z0-9]*[a-z0-9])?')";

    /// Helm's warning for a name that needs no quoting, with one error per
    /// message — in the form the literal cases below pin.
    fn warning(name: &str, msgs: &[&str]) -> Option<String> {
        let errs: Vec<String> = msgs
            .iter()
            .map(|m| format!("metadata.name: Invalid value: \"{name}\": {m}"))
            .collect();
        match errs.as_slice() {
            [] => None,
            [one] => Some(format!("{PREFIX}\"{name}\": {one}")),
            many => Some(format!("{PREFIX}\"{name}\": [{}]", many.join(", "))),
        }
    }

    #[test]
    fn name_warnings_are_worded_as_helm_words_them() {
        assert_eq!(
            metadata_name_error("Service", "Foo_bar").as_deref(),
            Some(
                "object name does not conform to Kubernetes naming requirements: \"Foo_bar\": \
                 metadata.name: Invalid value: \"Foo_bar\": a DNS-1035 label must consist of \
                 lower case alphanumeric characters or '-', start with an alphabetic character, \
                 and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex \
                 used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
            )
        );
        assert_eq!(
            metadata_name_error("RoleBinding", "a/%b").as_deref(),
            Some(
                "object name does not conform to Kubernetes naming requirements: \"a/%b\": \
                 [metadata.name: Invalid value: \"a/%b\": may not contain '/', \
                 metadata.name: Invalid value: \"a/%b\": may not contain '%']"
            )
        );
    }

    #[test]
    fn names_are_quoted_as_go_quotes_them() {
        // (name, as Helm printed it quoted)
        let cases = [
            ("x\"y", r#""x\"y""#),
            ("tab\tx", r#""tab\tx""#),
            ("é\u{1}", r#""é\x01""#),
            ("\u{a0}", r#""\u00a0""#),
            ("😀", r#""😀""#),
        ];
        for (name, quoted) in cases {
            let want =
                format!("{PREFIX}{quoted}: metadata.name: Invalid value: {quoted}: {SUBDOMAIN}");
            assert_eq!(metadata_name_error("Pod", name), Some(want), "{name:?}");
        }
    }

    /// (kind, name, the messages of Helm's warning; none: no warning)
    const NAMES: &[(&str, &str, &[&str])] = &[
        ("Pod", "ok", &[]),
        ("Pod", "my-name", &[]),
        ("Pod", "a.b.c", &[]),
        ("Pod", "Foo", &[SUBDOMAIN]),
        ("Pod", "foo_bar", &[SUBDOMAIN]),
        ("Pod", "-foo", &[SUBDOMAIN]),
        ("Pod", "foo-", &[SUBDOMAIN]),
        ("Pod", "", &[SUBDOMAIN]),
        ("Pod", "a..b", &[SUBDOMAIN]),
        ("Pod", "a/b", &[SUBDOMAIN]),
        ("Pod", "a:b", &[SUBDOMAIN]),
        ("Deployment", "1abc", &[]),
        ("ConfigMap", "123", &[]),
        ("MyCRD", "foo_bar", &[SUBDOMAIN]),
        ("Service", "my-name", &[]),
        ("Service", "a.b.c", &[DNS1035]),
        ("service", "Foo", &[DNS1035]),
        ("SERVICE", "foo_bar", &[DNS1035]),
        ("Service", "1abc", &[DNS1035]),
        ("Service", "foo-", &[DNS1035]),
        ("Service", "", &[DNS1035]),
        ("Namespace", "my-name", &[]),
        ("Namespace", "a.b.c", &["must not contain dots"]),
        ("Namespace", "123", &[]),
        ("Namespace", "-foo", &[LABEL]),
        ("Namespace", "a..b", &[LABEL]),
        ("Namespace", "Foo", &[LABEL]),
        ("Namespace", "", &[LABEL]),
        ("ServiceAccount", "Foo", &[SUBDOMAIN]),
        ("ServiceAccount", "a.b.c", &[]),
        ("ServiceAccount", "foo_bar", &[SUBDOMAIN]),
        ("CertificateSigningRequest", "foo_bar", &[]),
        ("CertificateSigningRequest", "", &[]),
        ("CertificateSigningRequest", "a/b", &[]),
        ("Role", ".", &["may not be '.'"]),
        ("ClusterRole", "..", &["may not be '..'"]),
        (
            "RoleBinding",
            "a/%b",
            &["may not contain '/'", "may not contain '%'"],
        ),
        ("ClusterRoleBinding", "Foo_Bar", &[]),
        ("Role", "", &[]),
        ("Role", "a:b", &[]),
        ("Role", "...", &[]),
        ("Role", "a%b", &["may not contain '%'"]),
        ("clusterrole", "/", &["may not contain '/'"]),
        ("", "foo_bar", &[SUBDOMAIN]),
        ("", "ok", &[]),
    ];

    #[test]
    fn names_are_checked_per_kind_as_helm_checks_them() {
        for &(kind, name, msgs) in NAMES {
            assert_eq!(
                metadata_name_error(kind, name),
                warning(name, msgs),
                "{kind} {name:?}"
            );
        }
    }

    #[test]
    fn kinds_are_lowered_as_go_lowers_them() {
        // Go's strings.ToLower turns 'İ' into a plain 'i': a service.
        assert_eq!(
            metadata_name_error("SERVİCE", "foo_bar"),
            warning("foo_bar", &[DNS1035])
        );
    }

    #[test]
    fn long_names() {
        let too_long = "must be no more than 253 characters";
        let max63 = "must be no more than 63 characters";
        let cases: &[(&str, String, &[&str])] = &[
            ("Pod", "a".repeat(253), &[]),
            ("Pod", "a".repeat(254), &[too_long]),
            ("Pod", "A".repeat(254), &[too_long, SUBDOMAIN]),
            ("Service", "a".repeat(63), &[]),
            ("Service", "a".repeat(64), &[max63]),
            ("Namespace", "a".repeat(64), &[max63]),
            ("Namespace", "A".repeat(254), &[max63, LABEL]),
            ("ClusterRole", "x".repeat(300), &[]),
        ];
        for (kind, name, msgs) in cases {
            assert_eq!(
                metadata_name_error(kind, name),
                warning(name, msgs),
                "{kind} {}",
                name.len()
            );
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        for s in [
            "",
            "%",
            "%%",
            "[",
            "]",
            "@",
            ":",
            "::",
            "//",
            "http://[",
            "http://[%",
            "http://[%25",
            "http://[::%25",
            "http://[]",
            "http://[::1%]",
            "http://@",
            "http://:",
            "a://%",
            "http://[1:2:3:4:5:6:7:8:9]",
            "http://[::1.2.3.4.5]",
            "\u{0}",
            "ü:ü",
        ] {
            let _ = (is_url(s), is_request_url(s), is_email(s));
            for kind in [
                "Pod",
                "Service",
                "Namespace",
                "Role",
                "CertificateSigningRequest",
            ] {
                let _ = metadata_name_error(kind, s);
            }
        }
    }
}
