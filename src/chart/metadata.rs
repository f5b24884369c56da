//! Chart.yaml, requirements.yaml and Chart.lock as Helm reads them: each is
//! unmarshalled with sigs.k8s.io/yaml into a typed Go struct
//! (`chart.Metadata`, `chart.Lock` in pkg/chart/v2), so a field of the wrong
//! type fails the load with encoding/json's words, and `Metadata.Validate`
//! then sanitizes the strings and checks names, versions, maintainers and
//! dependencies.
//!
//! The document stays the JSON berth's YAML reader produced, checked against
//! a description of Helm's structs ([`Ty`]); what Go would have converted on
//! the way (a number read into a string field, a field named in another
//! case) is converted in place, so everything downstream sees what Helm's
//! struct holds. Unknown fields are kept: Helm drops them, and nothing here
//! reads them.

use serde_json::{Map, Value};

use super::ChartError;

/// The fields of Chart.yaml berth itself reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub api_version: String,
    pub name: String,
    pub version: String,
    pub app_version: String,
    pub description: String,
    pub kube_version: String,
    pub chart_type: String,
}

impl Metadata {
    /// Reads a document [`decode_metadata`] has checked, whose scalars are
    /// text already.
    pub(super) fn from_json(md: &Map<String, Value>) -> Metadata {
        let s = |k: &str| md.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Metadata {
            api_version: s("apiVersion"),
            name: s("name"),
            version: s("version"),
            app_version: s("appVersion"),
            description: s("description"),
            kube_version: s("kubeVersion"),
            chart_type: s("type"),
        }
    }

    /// `mychart-1.0.0`, as Helm's history and list show a chart.
    pub fn chart_ref(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }
}

/// A Go type of Helm's chart structs, as encoding/json decodes into it.
#[derive(Clone, Copy)]
enum Ty {
    /// `string`; sigs.k8s.io/yaml turns a number or bool headed here into text.
    Str,
    Bool,
    /// `interface {}`: anything.
    Any,
    /// `time.Time`, which decodes itself (`Time.UnmarshalJSON`).
    Time,
    List(&'static Ty),
    /// `map[string]string`.
    StrMap,
    /// `*T`: null stays nil, anything else decodes as `T`.
    Ptr(&'static Struct),
    Struct(&'static Struct),
}

struct Struct {
    /// The name encoding/json's messages put before a field ("" for an
    /// anonymous struct).
    name: &'static str,
    /// The type as `reflect.Type.String` prints it.
    go: &'static str,
    fields: &'static [(&'static str, Ty)],
}

impl Ty {
    /// The type as Go's `reflect.Type.String` prints it.
    fn go(self) -> String {
        match self {
            Ty::Str => "string".into(),
            Ty::Bool => "bool".into(),
            Ty::Any => "interface {}".into(),
            Ty::Time => "time.Time".into(),
            Ty::List(t) => format!("[]{}", t.go()),
            Ty::StrMap => "map[string]string".into(),
            Ty::Ptr(s) => format!("*{}", s.go),
            Ty::Struct(s) => s.go.to_string(),
        }
    }
}

/// pkg/chart/v2/metadata.go.
static MAINTAINER: Struct = Struct {
    name: "Maintainer",
    go: "v2.Maintainer",
    fields: &[("name", Ty::Str), ("email", Ty::Str), ("url", Ty::Str)],
};

/// pkg/chart/v2/dependency.go.
static DEPENDENCY: Struct = Struct {
    name: "Dependency",
    go: "v2.Dependency",
    fields: &[
        ("name", Ty::Str),
        ("version", Ty::Str),
        ("repository", Ty::Str),
        ("condition", Ty::Str),
        ("tags", Ty::List(&Ty::Str)),
        ("enabled", Ty::Bool),
        ("import-values", Ty::List(&Ty::Any)),
        ("alias", Ty::Str),
    ],
};

static METADATA: Struct = Struct {
    name: "Metadata",
    go: "v2.Metadata",
    fields: &[
        ("name", Ty::Str),
        ("home", Ty::Str),
        ("sources", Ty::List(&Ty::Str)),
        ("version", Ty::Str),
        ("description", Ty::Str),
        ("keywords", Ty::List(&Ty::Str)),
        ("maintainers", Ty::List(&Ty::Ptr(&MAINTAINER))),
        ("icon", Ty::Str),
        ("apiVersion", Ty::Str),
        ("condition", Ty::Str),
        ("tags", Ty::Str),
        ("appVersion", Ty::Str),
        ("deprecated", Ty::Bool),
        ("annotations", Ty::StrMap),
        ("kubeVersion", Ty::Str),
        ("dependencies", Ty::List(&Ty::Ptr(&DEPENDENCY))),
        ("type", Ty::Str),
    ],
};

static LOCK: Struct = Struct {
    name: "Lock",
    go: "v2.Lock",
    fields: &[
        ("generated", Ty::Time),
        ("digest", Ty::Str),
        ("dependencies", Ty::List(&Ty::Ptr(&DEPENDENCY))),
    ],
};

/// The anonymous struct of `SimpleHead.Metadata`.
static HEAD_METADATA: Struct = Struct {
    name: "",
    go: r#"struct { Name string "json:\"name\""; Annotations map[string]string "json:\"annotations\"" }"#,
    fields: &[("name", Ty::Str), ("annotations", Ty::StrMap)],
};

/// pkg/release/v1/util's `SimpleHead`, into which Helm's SortManifests
/// decodes each rendered document.
static SIMPLE_HEAD: Struct = Struct {
    name: "SimpleHead",
    go: "util.SimpleHead",
    fields: &[
        ("apiVersion", Ty::Str),
        ("kind", Ty::Str),
        ("metadata", Ty::Ptr(&HEAD_METADATA)),
    ],
};

/// The anonymous-free stub `helm lint` decodes each rendered document
/// into (pkg/chart/v2/lint/rules/template.go `k8sYamlStruct`).
static LINT_METADATA: Struct = Struct {
    name: "k8sYamlMetadata",
    go: "rules.k8sYamlMetadata",
    fields: &[("Namespace", Ty::Str), ("Name", Ty::Str)],
};

static LINT_HEAD: Struct = Struct {
    name: "k8sYamlStruct",
    go: "rules.k8sYamlStruct",
    fields: &[
        ("apiVersion", Ty::Str),
        ("Kind", Ty::Str),
        ("Metadata", Ty::Struct(&LINT_METADATA)),
    ],
};

/// A rendered document as `helm lint` reads it: apiVersion, kind and
/// metadata's name, or `None` for an empty (null) document. The error is
/// encoding/json's, wrapped as sigs.k8s.io/yaml wraps it when `wrap`.
pub fn lint_head(doc: Value, wrap: bool) -> Result<Option<[String; 3]>, String> {
    if doc.is_null() {
        return Ok(None);
    }
    let mut d = Decoder::default();
    let mut doc = doc;
    if let Some(e) = d
        .value(&mut doc, Ty::Struct(&LINT_HEAD))
        .err()
        .or(d.saved.take())
    {
        return Err(if wrap {
            format!("error unmarshaling JSON: while decoding JSON: {e}")
        } else {
            e
        });
    }
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    Ok(Some([
        s(doc.get("apiVersion")),
        s(doc.get("Kind")),
        s(doc.get("Metadata").and_then(|m| m.get("Name"))),
    ]))
}

/// Why Helm's `SimpleHead` cannot hold a rendered document, in
/// encoding/json's words (`json: cannot unmarshal …`), if it cannot.
pub(crate) fn simple_head_error(doc: &Value) -> Option<String> {
    let mut d = Decoder::default();
    let mut doc = doc.clone();
    d.value(&mut doc, Ty::Struct(&SIMPLE_HEAD))
        .err()
        .or(d.saved)
}

/// Chart.yaml (or requirements.yaml) read into `chart.Metadata`: the
/// object, scalars in string fields as text and fields under their own
/// names. The error reads as sigs.k8s.io/yaml's (`error unmarshaling JSON:
/// while decoding JSON: json: cannot unmarshal …`).
pub(super) fn decode_metadata(doc: Value) -> Result<Map<String, Value>, String> {
    decode_document(doc, &METADATA)
}

/// Chart.lock (or requirements.lock) read into `chart.Lock`, only to refuse
/// what Helm refuses: nothing of it is used.
pub(super) fn check_lock(doc: Value) -> Result<(), String> {
    decode_document(doc, &LOCK).map(drop)
}

/// Helm's `chartutil.StrictLoadChartfile` (sigs.k8s.io/yaml's
/// `UnmarshalStrict` into `chart.Metadata`): why it refuses a Chart.yaml
/// the lenient reading takes — a key given twice in a mapping, a field
/// `chart.Metadata` does not have — or `None`.
pub fn strict_chartfile_error(data: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(data).ok()?;
    let doc = match berth_template::yaml::parse_document_for(text, true, &metadata_strings) {
        Ok(doc) => doc,
        Err(e) => return Some(e.to_string()),
    };
    let mut d = Decoder {
        strict: true,
        ..Decoder::default()
    };
    decode_with(&mut d, doc, &METADATA).err()
}

/// Helm's `chartutil.LoadChartfile`: Chart.yaml read into `chart.Metadata`
/// and nothing checked (what `helm lint` reads it with).
pub fn load_chartfile(data: &[u8]) -> Result<Map<String, Value>, String> {
    super::read_document(data, &metadata_strings).and_then(decode_metadata)
}

/// Whether a Chart.yaml's (or requirements.yaml's) value at `path` lands
/// in a string of `chart.Metadata`, where sigs.k8s.io/yaml makes text of a
/// number (`appVersion: .inf` is "+Inf").
pub(super) fn metadata_strings(path: &[String]) -> bool {
    lands_in_string(Ty::Struct(&METADATA), path)
}

/// [`metadata_strings`] for a Chart.lock's `chart.Lock`.
pub(super) fn lock_strings(path: &[String]) -> bool {
    lands_in_string(Ty::Struct(&LOCK), path)
}

/// Fields matched as encoding/json (and sigs.k8s.io/yaml) match them:
/// exactly, else ignoring case.
fn lands_in_string(ty: Ty, path: &[String]) -> bool {
    match (ty, path.split_first()) {
        (Ty::Str, None) => true,
        (Ty::List(elem), Some((seg, rest))) if seg == "[]" => lands_in_string(*elem, rest),
        (Ty::StrMap, Some((_, rest))) => rest.is_empty(),
        (Ty::Ptr(s) | Ty::Struct(s), Some((key, rest))) => s
            .fields
            .iter()
            .find(|(name, _)| name == key)
            .or_else(|| s.fields.iter().find(|(name, _)| fold(name) == fold(key)))
            .is_some_and(|&(_, ty)| lands_in_string(ty, rest)),
        _ => false,
    }
}

fn decode_document(doc: Value, s: &'static Struct) -> Result<Map<String, Value>, String> {
    decode_with(&mut Decoder::default(), doc, s)
}

fn decode_with(
    d: &mut Decoder,
    mut doc: Value,
    s: &'static Struct,
) -> Result<Map<String, Value>, String> {
    let hard = d.value(&mut doc, Ty::Struct(s));
    // encoding/json goes on after a type error and reports the first one;
    // an error of a type that decodes itself (time.Time) stops it at once.
    if let Some(e) = hard.err().or(d.saved.take()) {
        return Err(format!("error unmarshaling JSON: while decoding JSON: {e}"));
    }
    match doc {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

/// encoding/json's decoder state for its error messages: the innermost
/// struct and the JSON names of the fields leading to the value.
#[derive(Default)]
struct Decoder {
    within: Option<&'static str>,
    fields: Vec<&'static str>,
    /// The first type error.
    saved: Option<String>,
    /// encoding/json's `DisallowUnknownFields`.
    strict: bool,
}

impl Decoder {
    fn value(&mut self, v: &mut Value, ty: Ty) -> Result<(), String> {
        match (ty, &mut *v) {
            // null leaves a string or bool as it was and makes the rest nil.
            (_, Value::Null) | (Ty::Bool, Value::Bool(_)) => Ok(()),
            (Ty::Any, _) => {
                floats(v);
                Ok(())
            }
            (Ty::Time, Value::String(s)) => check_rfc3339(s),
            (Ty::Time, _) => Err("Time.UnmarshalJSON: input is not a JSON string".into()),
            (Ty::Str, Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
                if let Some(s) = berth_template::yaml::go_string_field(v) {
                    *v = Value::String(s);
                }
                Ok(())
            }
            (Ty::List(elem), Value::Array(items)) => {
                items.iter_mut().try_for_each(|x| self.value(x, *elem))
            }
            (Ty::StrMap, Value::Object(m)) => m.values_mut().try_for_each(|x| {
                // A null value in a map[string]string is its zero value.
                if x.is_null() {
                    *x = Value::String(String::new());
                }
                self.value(x, Ty::Str)
            }),
            (Ty::Ptr(s) | Ty::Struct(s), Value::Object(m)) => self.object(m, s),
            (Ty::Ptr(s), _) => {
                self.mismatch(v, Ty::Struct(s));
                Ok(())
            }
            _ => {
                self.mismatch(v, ty);
                Ok(())
            }
        }
    }

    /// The fields in the order encoding/json meets them (sigs.k8s.io/yaml
    /// marshals a map, so in sorted order), each matched to the struct's
    /// field by name, exactly or else ignoring case, as encoding/json does.
    fn object(&mut self, m: &mut Map<String, Value>, s: &'static Struct) -> Result<(), String> {
        let mut keys: Vec<String> = m.keys().cloned().collect();
        keys.sort();
        let mut out = Map::new();
        for key in keys {
            let mut v = m.remove(&key).unwrap_or(Value::Null);
            let field = s
                .fields
                .iter()
                .find(|(name, _)| *name == key)
                .or_else(|| s.fields.iter().find(|(name, _)| fold(name) == fold(&key)));
            let Some(&(name, ty)) = field else {
                if self.strict && self.saved.is_none() {
                    self.saved = Some(format!(
                        "json: unknown field {}",
                        berth_template::gofmt::quote(&key)
                    ));
                }
                floats(&mut v);
                out.insert(key, v);
                continue;
            };
            let outer = self.within.replace(s.name);
            self.fields.push(name);
            let r = self.value(&mut v, ty);
            self.fields.pop();
            self.within = outer;
            r?;
            // A later null leaves a string or bool field as it was.
            if !(v.is_null() && matches!(ty, Ty::Str | Ty::Bool) && out.contains_key(name)) {
                out.insert(name.to_string(), v);
            }
        }
        *m = out;
        Ok(())
    }

    fn mismatch(&mut self, v: &Value, ty: Ty) {
        if self.saved.is_some() {
            return;
        }
        let kind = json_kind(v);
        self.saved = Some(match self.within {
            Some(s) => format!(
                "json: cannot unmarshal {kind} into Go struct field {s}.{} of type {}",
                self.fields.join("."),
                ty.go()
            ),
            None => format!(
                "json: cannot unmarshal {kind} into Go value of type {}",
                ty.go()
            ),
        });
    }
}

/// The JSON kind encoding/json names in "cannot unmarshal KIND into …".
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What is not read into a string keeps go-yaml's integers only as
/// encoding/json's float64s.
fn floats(v: &mut Value) {
    match v {
        Value::Number(n) if !n.is_f64() => {
            if let Some(f) = n.as_f64().and_then(serde_json::Number::from_f64) {
                *n = f;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(floats),
        Value::Object(m) => m.values_mut().for_each(floats),
        _ => {}
    }
}

/// Case folding close enough to `bytes.EqualFold` for field names.
fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ſ' => 's',
            '\u{212A}' => 'k',
            c => c.to_lowercase().next().unwrap_or(c),
        })
        .collect()
}

/// requirements.yaml decoded over Chart.yaml's metadata, as Helm's
/// `yaml.Unmarshal` into the same struct does: a field given replaces the
/// one there, but a null string stays and annotations are merged.
pub(super) fn merge(md: &mut Map<String, Value>, over: Map<String, Value>) {
    for (k, v) in over {
        match (k.as_str(), v) {
            ("annotations", Value::Object(add)) => {
                if let Some(Value::Object(have)) = md.get_mut("annotations") {
                    have.extend(add);
                } else {
                    md.insert(k, Value::Object(add));
                }
            }
            (_, Value::Null) if field_ty(&k).is_some_and(|t| matches!(t, Ty::Str | Ty::Bool)) => {}
            (_, v) => {
                md.insert(k, v);
            }
        }
    }
}

fn field_ty(name: &str) -> Option<Ty> {
    METADATA
        .fields
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, t)| t)
}

/// Helm's `Metadata.Validate` (pkg/chart/v2/metadata.go): sanitizes the
/// strings Helm sanitizes, in place, then checks the chart can be used.
pub(super) fn validate(md: &mut Map<String, Value>) -> Result<Metadata, ChartError> {
    let invalid = |s: String| Err(ChartError::Invalid(s));
    for k in [
        "name",
        "description",
        "home",
        "icon",
        "condition",
        "tags",
        "appVersion",
        "kubeVersion",
        "sources",
        "keywords",
    ] {
        sanitize(md.get_mut(k));
    }
    let m = Metadata::from_json(md);
    if m.api_version.is_empty() {
        return invalid("chart.metadata.apiVersion is required".into());
    }
    if m.name.is_empty() {
        return invalid("chart.metadata.name is required".into());
    }
    if m.name == "." || m.name == ".." {
        return invalid(format!("chart.metadata.name {:?} is not allowed", m.name));
    }
    // `md.Name != filepath.Base(md.Name)`: a '/' anywhere but in "/" itself.
    if m.name != "/" && m.name.contains('/') {
        return invalid(format!("chart.metadata.name {:?} is invalid", m.name));
    }
    if m.version.is_empty() {
        return invalid("chart.metadata.version is required".into());
    }
    if !is_semver(&m.version) {
        return invalid(format!("chart.metadata.version {:?} is invalid", m.version));
    }
    if !matches!(m.chart_type.as_str(), "" | "application" | "library") {
        return invalid("chart.metadata.type must be application or library".into());
    }
    for x in list_mut(md, "maintainers") {
        let Value::Object(x) = x else {
            return invalid("maintainers must not contain empty or null nodes".into());
        };
        for k in ["name", "email", "url"] {
            sanitize(x.get_mut(k));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for d in list_mut(md, "dependencies") {
        let Value::Object(d) = d else {
            return invalid("dependencies must not contain empty or null nodes".into());
        };
        for k in ["name", "version", "repository", "condition", "tags"] {
            sanitize(d.get_mut(k));
        }
        let field = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let (name, alias) = (field("name"), field("alias"));
        // aliasNameFormat, pkg/chart/v2/chart.go.
        let alias_ok = alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !alias_ok {
            return invalid(format!(
                "dependency {name:?} has disallowed characters in the alias"
            ));
        }
        let key = if alias.is_empty() { name } else { alias };
        if !seen.insert(key.clone()) {
            return invalid(format!(
                "more than one dependency with name or alias {key:?}"
            ));
        }
    }
    Ok(Metadata::from_json(md))
}

fn list_mut<'a>(md: &'a mut Map<String, Value>, key: &str) -> std::slice::IterMut<'a, Value> {
    match md.get_mut(key) {
        Some(Value::Array(items)) => items.iter_mut(),
        _ => [].iter_mut(),
    }
}

/// Helm's `sanitizeString` over a string or a list of strings: whitespace
/// becomes a space, what Go does not print is dropped.
fn sanitize(v: Option<&mut Value>) {
    let print = berth_template::gofmt::is_print;
    match v {
        Some(Value::String(s)) if s.chars().any(|c| c.is_whitespace() || !print(c)) => {
            *s = s
                .chars()
                .filter_map(|c| match c {
                    c if c.is_whitespace() => Some(' '),
                    c if print(c) => Some(c),
                    _ => None,
                })
                .collect();
        }
        Some(Value::Array(items)) => items.iter_mut().for_each(|x| sanitize(Some(x))),
        _ => {}
    }
}

/// Helm's `isValidSemver`: Masterminds/semver's `NewVersion` takes it
/// (berth-template's port of it, which `semverCompare` and lint's version
/// rule use too: `1.2.3-` and `1.2.3+a+b` are refused, so is a part past
/// uint64).
fn is_semver(v: &str) -> bool {
    berth_template::funcs::semver::Version::parse(v).is_ok()
}

/// What `Time.UnmarshalJSON` accepts, refused in `time.Parse`'s words for
/// layout RFC 3339. Helm v4.2.3 takes what Parse takes: a one-digit hour,
/// a comma before the fraction, an offset of +24:00 (Go's stricter
/// `parseStrictRFC3339` checks are not in effect there).
fn check_rfc3339(value: &str) -> Result<(), String> {
    const LAYOUT: &str = "2006-01-02T15:04:05Z07:00";
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let cannot = |rest: &str, elem: &str| {
        Err(format!(
            "parsing time {} as {}: cannot parse {} as {}",
            quote(value),
            quote(LAYOUT),
            quote(rest),
            quote(elem)
        ))
    };
    let out_of_range = |what: &str| {
        Err(format!(
            "parsing time {}: {what} out of range",
            quote(value)
        ))
    };
    // getnum: one or two digits, exactly two when `fixed`.
    let num = |s: &str, fixed: bool| -> Option<(u32, usize)> {
        let b = s.as_bytes();
        let d = |i: usize| {
            b.get(i)
                .filter(|c| c.is_ascii_digit())
                .map(|c| u32::from(c - b'0'))
        };
        match (d(0)?, d(1)) {
            (x, Some(y)) => Some((x * 10 + y, 2)),
            (_, None) if fixed => None,
            (x, None) => Some((x, 1)),
        }
    };
    let mut rest = value;
    let year_ok = rest.len() >= 4 && rest.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    if !year_ok {
        return cannot(rest, "2006");
    }
    let year: u32 = rest[..4].parse().unwrap_or(0);
    rest = &rest[4..];
    let mut fields = [0u32; 5];
    let steps = [
        ("-", "01", true),
        ("-", "02", true),
        ("T", "15", false),
        (":", "04", true),
        (":", "05", true),
    ];
    for (i, (lit, elem, fixed)) in steps.into_iter().enumerate() {
        let Some(r) = rest.strip_prefix(lit) else {
            return cannot(rest, lit);
        };
        rest = r;
        let Some((n, used)) = num(rest, fixed) else {
            return cannot(rest, elem);
        };
        // The day is checked against the month once all is read.
        let limit = [12, 99, 23, 59, 59][i];
        if (i == 0 && n == 0) || n > limit {
            return out_of_range(["month", "day", "hour", "minute", "second"][i]);
        }
        fields[i] = n;
        rest = &rest[used..];
    }
    // A fraction of a second, which Parse takes after seconds unasked.
    let frac = rest.len() >= 2
        && matches!(rest.as_bytes()[0], b'.' | b',')
        && rest.as_bytes()[1].is_ascii_digit();
    if frac {
        let n = 1 + rest[1..].bytes().take_while(u8::is_ascii_digit).count();
        rest = &rest[n..];
    }
    if let Some(r) = rest.strip_prefix('Z') {
        rest = r;
    } else {
        let b = rest.as_bytes();
        if b.len() < 6 || b[3] != b':' {
            return cannot(rest, "Z07:00");
        }
        let (Some((h, _)), Some((m, _))) = (
            num(rest.get(1..3).unwrap_or(""), true),
            num(rest.get(4..6).unwrap_or(""), true),
        ) else {
            return cannot(rest, "Z07:00");
        };
        // Go lets an offset of 24 hours or 60 minutes through here.
        if m > 60 {
            return out_of_range("time zone offset minute");
        }
        if h > 24 {
            return out_of_range("time zone offset hour");
        }
        if !matches!(b[0], b'+' | b'-') {
            return cannot(rest, "Z07:00");
        }
        rest = &rest[6..];
    }
    if !rest.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            quote(value),
            quote(rest)
        ));
    }
    if fields[1] < 1
        || fields[1] > berth_template::funcs::dates::days_in(fields[0], i64::from(year))
    {
        return out_of_range("day");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{BufferedFile, Limits, build};

    const HEAD: &str = "apiVersion: v2\nname: x\nversion: 0.1.0\n";

    fn chart(files: &[(&str, &str)]) -> Vec<BufferedFile> {
        files
            .iter()
            .map(|(name, data)| BufferedFile {
                name: name.to_string(),
                data: data.as_bytes().to_vec().into(),
            })
            .collect()
    }

    fn load_error(files: &[(&str, &str)]) -> String {
        match build(&chart(files), &Limits::default()) {
            Ok(_) => "loaded".into(),
            Err(e) => e.to_string(),
        }
    }

    /// Each Chart.yaml (after the head) with Helm v4.2.3's error for it
    /// (`helm install --dry-run`).
    #[test]
    fn chart_yaml_helm_refuses_is_refused_in_helms_words() {
        let json = "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal";
        let cases: &[(&str, &str)] = &[
            (
                "dependencies: 5",
                "number into Go struct field Metadata.dependencies of type []*v2.Dependency",
            ),
            (
                "dependencies: [5]",
                "number into Go struct field Metadata.dependencies of type v2.Dependency",
            ),
            (
                "dependencies: abc",
                "string into Go struct field Metadata.dependencies of type []*v2.Dependency",
            ),
            (
                "dependencies: [[1]]",
                "array into Go struct field Metadata.dependencies of type v2.Dependency",
            ),
            (
                "Dependencies: 5",
                "number into Go struct field Metadata.dependencies of type []*v2.Dependency",
            ),
            (
                "maintainers: 5",
                "number into Go struct field Metadata.maintainers of type []*v2.Maintainer",
            ),
            (
                "maintainers: [abc]",
                "string into Go struct field Metadata.maintainers of type v2.Maintainer",
            ),
            (
                "maintainers:\n- name: [a]",
                "array into Go struct field Maintainer.maintainers.name of type string",
            ),
            (
                "keywords: 5",
                "number into Go struct field Metadata.keywords of type []string",
            ),
            (
                "keywords: [[1]]",
                "array into Go struct field Metadata.keywords of type string",
            ),
            (
                "sources: {a: 1}",
                "object into Go struct field Metadata.sources of type []string",
            ),
            (
                "annotations: [1]",
                "array into Go struct field Metadata.annotations of type map[string]string",
            ),
            (
                "annotations: {a: [1]}",
                "array into Go struct field Metadata.annotations of type string",
            ),
            (
                "appVersion: [1]",
                "array into Go struct field Metadata.appVersion of type string",
            ),
            (
                "icon: {a: 1}",
                "object into Go struct field Metadata.icon of type string",
            ),
            (
                "tags: [a]",
                "array into Go struct field Metadata.tags of type string",
            ),
            (
                "deprecated: yes-please",
                "string into Go struct field Metadata.deprecated of type bool",
            ),
            (
                "deprecated: 1",
                "number into Go struct field Metadata.deprecated of type bool",
            ),
            (
                "kubeVersion: [1]",
                "array into Go struct field Metadata.kubeVersion of type string",
            ),
            (
                "dependencies:\n- name: sub\n  repository: ''\n  import-values: 5",
                "number into Go struct field Dependency.dependencies.import-values of type []interface {}",
            ),
            (
                "dependencies:\n- name: a\n  tags: a",
                "string into Go struct field Dependency.dependencies.tags of type []string",
            ),
            (
                "dependencies:\n- name: a\n  enabled: 'yes'",
                "string into Go struct field Dependency.dependencies.enabled of type bool",
            ),
        ];
        for (extra, want) in cases {
            let got = load_error(&[("Chart.yaml", &format!("{HEAD}{extra}\n"))]);
            assert_eq!(got, format!("{json} {want}"), "for {extra:?}");
        }
        let whole: &[(&str, &str)] = &[
            // The first error in sorted key order, not the first or the one
            // validation would have named.
            (
                "apiVersion: v2\nname: [a]\nversion: [1]\nappVersion: [1]\n",
                "array into Go struct field Metadata.appVersion of type string",
            ),
            (
                "apiVersion: v2\nname: x\nversion: [1]\n",
                "array into Go struct field Metadata.version of type string",
            ),
            (
                "apiVersion: v2\nname: [a]\nversion: 0.1.0\n",
                "array into Go struct field Metadata.name of type string",
            ),
            ("- a\n", "array into Go value of type v2.Metadata"),
            ("abc\n", "string into Go value of type v2.Metadata"),
        ];
        for (text, want) in whole {
            let got = load_error(&[("Chart.yaml", text)]);
            assert_eq!(got, format!("{json} {want}"), "for {text:?}");
        }
    }

    #[test]
    fn metadata_validation_refuses_what_helm_does() {
        let cases: &[(&str, &str)] = &[
            (
                "dependencies: [null]",
                "validation: dependencies must not contain empty or null nodes",
            ),
            (
                "maintainers: [null]",
                "validation: maintainers must not contain empty or null nodes",
            ),
            (
                "dependencies:\n- name: a\n  alias: z\n- name: b\n  alias: z",
                "validation: more than one dependency with name or alias \"z\"",
            ),
            (
                "dependencies:\n- name: a\n- name: b\n  alias: a",
                "validation: more than one dependency with name or alias \"a\"",
            ),
            (
                "dependencies:\n- name: a\n  alias: 'a.b'",
                "validation: dependency \"a\" has disallowed characters in the alias",
            ),
            // The name is read as text first.
            (
                "dependencies:\n- name: 5\n  alias: 'a b'",
                "validation: dependency \"5\" has disallowed characters in the alias",
            ),
        ];
        for (extra, want) in cases {
            let got = load_error(&[("Chart.yaml", &format!("{HEAD}{extra}\n"))]);
            assert_eq!(got, *want, "for {extra:?}");
        }
        let names: &[(&str, &str)] = &[
            (".", "validation: chart.metadata.name \".\" is not allowed"),
            ("'a/'", "validation: chart.metadata.name \"a/\" is invalid"),
            // Sanitized away before it is checked.
            ("\"\\u0001\"", "validation: chart.metadata.name is required"),
        ];
        for (name, want) in names {
            let got = load_error(&[(
                "Chart.yaml",
                &format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n"),
            )]);
            assert_eq!(got, *want, "for {name:?}");
        }
    }

    /// sigs.k8s.io/yaml makes text of a float headed for a string field,
    /// `.inf` too (found by difftest, lint: berth refused the Chart.yaml).
    #[test]
    fn a_non_finite_float_in_a_string_field_is_its_go_text() {
        let md = super::load_chartfile(
            format!("{HEAD}appVersion: .inf\nmaintainers:\n- NAME: -.inf\nkeywords: [.nan]\n")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(md["appVersion"], "+Inf");
        assert_eq!(md["maintainers"][0]["name"], "-Inf");
        assert_eq!(md["keywords"][0], "NaN");
        assert_eq!(
            super::load_chartfile(format!("{HEAD}deprecated: .inf\n").as_bytes()).unwrap_err(),
            "error converting YAML to JSON: json: unsupported value: +Inf"
        );
        assert_eq!(
            super::load_chartfile(format!("{HEAD}other: [.inf]\n").as_bytes()).unwrap_err(),
            "error converting YAML to JSON: json: unsupported value: +Inf"
        );
    }

    /// Versions Helm's loader refuses as Masterminds' NewVersion does (found
    /// by difftest, lint: berth's own check let these through).
    #[test]
    fn versions_are_checked_as_masterminds_new_version_checks_them() {
        for bad in [
            "1.2.3-",
            "1.2.3+b+c",
            "18446744073709551616.0.0",
            "1.2.3-a..b",
            "' 1.2.3'",
            "1.2.3-01",
        ] {
            let got = load_error(&[(
                "Chart.yaml",
                &format!("apiVersion: v2\nname: x\nversion: {bad}\n"),
            )]);
            let v = bad.trim_matches('\'');
            assert_eq!(
                got,
                format!("validation: chart.metadata.version {v:?} is invalid")
            );
        }
        for ok in ["1", "v1.2", "01.2.3", "1.2.3+b.1"] {
            let got = load_error(&[(
                "Chart.yaml",
                &format!("apiVersion: v2\nname: x\nversion: {ok}\n"),
            )]);
            assert_eq!(got, "loaded", "for {ok}");
        }
    }

    #[test]
    fn lock_and_requirements_files_helm_refuses_are_refused() {
        let v1 = "apiVersion: v1\nname: x\nversion: 0.1.0\n";
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("Chart.yaml", HEAD), ("Chart.lock", "dependencies: [[[\n")],
                "cannot load Chart.lock: error converting YAML to JSON: yaml: line 1: did not find expected node content",
            ),
            (
                &[
                    ("Chart.yaml", HEAD),
                    ("Chart.lock", "dependencies: 5\ndigest: 1\n"),
                ],
                "cannot load Chart.lock: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go struct field Lock.dependencies of type []*v2.Dependency",
            ),
            (
                &[("Chart.yaml", HEAD), ("Chart.lock", "- 1\n")],
                "cannot load Chart.lock: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type v2.Lock",
            ),
            (
                &[
                    ("Chart.yaml", v1),
                    ("requirements.yaml", "dependencies: 5\n"),
                ],
                "cannot load requirements.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go struct field Metadata.dependencies of type []*v2.Dependency",
            ),
            (
                &[("Chart.yaml", v1), ("requirements.yaml", "- 1\n")],
                "cannot load requirements.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type v2.Metadata",
            ),
            // Values are read before the metadata is validated.
            (
                &[
                    ("Chart.yaml", "apiVersion: v2\nname: x\n"),
                    ("values.yaml", "a: [\n"),
                ],
                "cannot load values.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line 1: did not find expected node content",
            ),
        ];
        for (files, want) in cases {
            assert_eq!(load_error(files), *want, "for {files:?}");
        }
    }

    #[test]
    fn chart_lock_generated_is_read_as_time_unmarshal_json_reads_it() {
        let cases: &[(&str, &str)] = &[
            ("null", "loaded"),
            ("2020-01-01T00:00:00Z", "loaded"),
            ("'2020-01-01T00:00:00.123+02:00'", "loaded"),
            // Go's stricter RFC 3339 checks are not in effect in Helm.
            ("'2020-01-01T1:00:00,5+24:00'", "loaded"),
            (
                "'2020-01-01T00:00:00+25:00'",
                "parsing time \"2020-01-01T00:00:00+25:00\": time zone offset hour out of range",
            ),
            (
                "'2019-02-29T00:00:00Z'",
                "parsing time \"2019-02-29T00:00:00Z\": day out of range",
            ),
            ("5", "Time.UnmarshalJSON: input is not a JSON string"),
            ("[1]", "Time.UnmarshalJSON: input is not a JSON string"),
            (
                "'2020-01-01'",
                "parsing time \"2020-01-01\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\" as \"T\"",
            ),
            (
                "abc",
                "parsing time \"abc\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"abc\" as \"2006\"",
            ),
            (
                "'2020-01-01T25:00:00Z'",
                "parsing time \"2020-01-01T25:00:00Z\": hour out of range",
            ),
        ];
        for (generated, want) in cases {
            let got = load_error(&[
                ("Chart.yaml", HEAD),
                ("Chart.lock", &format!("generated: {generated}\n")),
            ]);
            let want = match *want {
                "loaded" => "loaded".to_string(),
                w => format!(
                    "cannot load Chart.lock: error unmarshaling JSON: while decoding JSON: {w}"
                ),
            };
            assert_eq!(got, want, "for {generated:?}");
        }
    }

    /// Charts Helm loads, and what its `.Chart` holds for them.
    #[test]
    fn unusual_charts_helm_loads_still_load() {
        let load = |text: &str| {
            build(&chart(&[("Chart.yaml", text)]), &Limits::default())
                .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        };
        let app = |extra: &str| load(&format!("{HEAD}{extra}\n")).metadata.app_version;
        assert_eq!(app("appVersion: 1.10"), "1.1");
        assert_eq!(app("appVersion: 1"), "1");
        assert_eq!(app("appVersion: true"), "true");
        assert_eq!(app("appVersion: 1000000"), "1000000");
        assert_eq!(app("appVersion: 1000000.0"), "1e+06");
        assert_eq!(app("appVersion: 1.123456789"), "1.1234568");
        assert_eq!(app("appVersion: null"), "");
        assert_eq!(
            load("apiVersion: v2\nname: x\nversion: 1.0\n")
                .metadata
                .version,
            "1"
        );
        assert_eq!(
            load("apiVersion: v2\nname: x\nversion: 1.0.0\n")
                .metadata
                .version,
            "1.0.0"
        );
        // encoding/json matches field names ignoring case.
        assert_eq!(
            load("apiVersion: v2\nName: foo\nversion: 0.1.0\n")
                .metadata
                .name,
            "foo"
        );
        // Backslashes are no path separators to Helm on Linux.
        assert_eq!(
            load("apiVersion: v2\nname: 'a\\b'\nversion: 0.1.0\n")
                .metadata
                .name,
            "a\\b"
        );
        let l = load(&format!(
            "{HEAD}dependencies: []\nmaintainers: null\nkeywords: [1, true, null]\nannotations: {{a: 1, 2: null}}\n\
             deprecated: yes\ndescription: \"a\\tb\\u0001c\"\nkubeVersion: null\n"
        ));
        let md = &l.chart.metadata;
        assert_eq!(md["keywords"], serde_json::json!(["1", "true", null]));
        // Helm's map[string]string holds "" for a null (`.Chart.Annotations`
        // renders {"2":"","a":"1"} with Helm v4).
        assert_eq!(md["annotations"], serde_json::json!({"a": "1", "2": ""}));
        assert_eq!(md["deprecated"], serde_json::json!(true));
        assert_eq!(l.metadata.description, "a bc");
        assert_eq!(l.metadata.kube_version, "");
    }

    #[test]
    fn requirements_yaml_is_read_over_the_metadata() {
        let l = build(
            &chart(&[
                (
                    "Chart.yaml",
                    "apiVersion: v1\nname: x\nversion: 0.1.0\nannotations: {a: '1'}\n",
                ),
                (
                    "requirements.yaml",
                    "annotations: {b: 2}\nname: null\ndependencies:\n- name: sub\n  version: 1.0\n",
                ),
            ]),
            &Limits::default(),
        )
        .unwrap();
        let md = &l.chart.metadata;
        assert_eq!(md["name"], "x");
        assert_eq!(md["annotations"], serde_json::json!({"a": "1", "b": "2"}));
        assert_eq!(md["dependencies"][0]["version"], "1");
    }
}
