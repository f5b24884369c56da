//! YAML exactly as Helm reads and writes it.
//!
//! Reading is sigs.k8s.io/yaml over go-yaml v2 (YAML 1.1 typing, every
//! number a float64); writing is sigs.k8s.io/yaml's `Marshal` (see
//! `encode`). Both are used by the template functions (`toYaml`,
//! `fromYaml`, `.Files.AsConfig`) and offered to the other crates for
//! values files. `head` reads just the head of a rendered manifest
//! document, for sorting manifests quickly (`scan` reads most documents'
//! heads line by line, without the parser).

mod decode;
mod encode;
mod head;
mod lookahead;
pub mod resolve;
mod scan;
mod tabs;
mod tokens;

pub use decode::{MAX_DEPTH, StringAt};
pub use head::{ManifestHead, manifest_head};

use crate::value::{Map, MapType, Value, json as vjson};

/// A YAML syntax or typing error: where it is (1-based line and column
/// in the text given; 0 = unknown) and what go-yaml calls the problem.
/// It displays as Helm shows it: go-yaml's `yaml: line N: problem` (with
/// go-yaml's own line, which is 0-based for parser errors and counts from
/// the start of the document), wrapped as the reading function wraps it
/// (`parse_values`: `cannot unmarshal yaml document: error converting YAML
/// to JSON: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    text: String,
}

impl YamlError {
    /// A go-yaml error; `go_line` is the line go-yaml prints, if any.
    pub(crate) fn go(
        line: usize,
        column: usize,
        message: impl Into<String>,
        go_line: Option<usize>,
    ) -> YamlError {
        let message = message.into();
        let text = match go_line {
            Some(l) => format!("yaml: line {l}: {message}"),
            None => format!("yaml: {message}"),
        };
        YamlError {
            line,
            column,
            message,
            text,
        }
    }

    /// An error worded in full by its source.
    pub(crate) fn plain(line: usize, column: usize, text: impl Into<String>) -> YamlError {
        let text = text.into();
        YamlError {
            line,
            column,
            message: text.clone(),
            text,
        }
    }

    fn wrapped(mut self, prefix: &str) -> YamlError {
        self.text = format!("{prefix}{}", self.text);
        self
    }
}

/// Parses a values file the way Helm's `loader.LoadValues` does: every
/// `---`-separated document must be a mapping (empty ones count as `{}`),
/// later documents are deep-merged over earlier ones, numbers are f64.
/// Errors read as `LoadValues`' (`cannot unmarshal yaml document: error
/// converting YAML to JSON: yaml: line 2: did not find expected key`; Helm
/// prefixes `cannot load values.yaml: ` or `failed to parse <file>: `), and
/// carry the 1-based line and column in the text.
pub fn parse_values(text: &str) -> Result<serde_json::Value, YamlError> {
    crate::on_big_stack(crate::BIG_STACK, || parse_values_here(text))
        .unwrap_or_else(|e| Err(YamlError::plain(0, 0, e)))
}

/// sigs.k8s.io/yaml's `Unmarshal` of one document (what Helm uses for
/// `Chart.yaml`, `Chart.lock` and `requirements.yaml`): the first document
/// only, YAML 1.1 typing, numbers as f64, `null` for an empty text. The
/// error reads as Helm's: `error converting YAML to JSON: yaml: line N: …`.
pub fn parse_document(text: &str) -> Result<serde_json::Value, YamlError> {
    crate::on_big_stack(crate::BIG_STACK, || {
        decode::decode(text)
            .map(|v| vjson::to_json(&v))
            .map_err(|e| e.wrapped("error converting YAML to JSON: "))
    })
    .unwrap_or_else(|e| Err(YamlError::plain(0, 0, e)))
}

/// A scalar of [`parse_document`]'s result read into a Go `string` field:
/// sigs.k8s.io/yaml (`convertToJSONableObject`) turns a number or bool
/// headed for a string field into text before encoding/json sees it,
/// integers with `FormatInt` and floats with `FormatFloat(f, 'g', -1, 32)`,
/// so `appVersion: 1.10` reads as "1.1" and `1000000.0` as "1e+06".
/// `None` for what is not a scalar (null included).
pub fn go_string_field(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) if !n.is_f64() => Some(n.to_string()),
        serde_json::Value::Number(n) => Some(decode::format_float32(n.as_f64().unwrap_or(0.0))),
        _ => None,
    }
}

/// [`parse_document`] for reading into one of Helm's Go structs (Chart.yaml,
/// Chart.lock): YAML integers stay integers, as go-yaml hands them to
/// sigs.k8s.io/yaml, which writes one headed for a string field with
/// `FormatInt` (`1000000`, where the float64 would be "1e+06"); the caller
/// turns the others into floats.
pub fn parse_document_ints(text: &str) -> Result<serde_json::Value, YamlError> {
    crate::on_big_stack(crate::BIG_STACK, || {
        decode::decode_ints(text)
            .map(|v| vjson::to_json(&v))
            .map_err(|e| e.wrapped("error converting YAML to JSON: "))
    })
    .unwrap_or_else(|e| Err(YamlError::plain(0, 0, e)))
}

/// [`parse_document_ints`] (with `strict`, [`parse_document_ints_strict`])
/// for a Go struct whose string fields `string_at` names: a non-finite
/// float headed for one is the text Go formats it as (`appVersion: .inf`
/// is "+Inf"), as sigs.k8s.io/yaml writes it; elsewhere it is still
/// encoding/json's `unsupported value`.
pub fn parse_document_for(
    text: &str,
    strict: bool,
    string_at: decode::StringAt,
) -> Result<serde_json::Value, YamlError> {
    crate::on_big_stack(crate::BIG_STACK, || {
        decode::decode_ints_for(text, strict, string_at)
            .map(|v| vjson::to_json(&v))
            .map_err(|e| e.wrapped("error converting YAML to JSON: "))
    })
    .unwrap_or_else(|e| Err(YamlError::plain(0, 0, e)))
}

/// sigs.k8s.io/yaml's `UnmarshalStrict` as far as YAML goes: as
/// [`parse_document_ints`], and a key repeated in a mapping is an error
/// (`error converting YAML to JSON: yaml: unmarshal errors:\n  line 3: key
/// "apiVersion" already set in map`). Unknown fields are the caller's.
pub fn parse_document_ints_strict(text: &str) -> Result<serde_json::Value, YamlError> {
    crate::on_big_stack(crate::BIG_STACK, || {
        decode::decode_ints_strict(text)
            .map(|v| vjson::to_json(&v))
            .map_err(|e| e.wrapped("error converting YAML to JSON: "))
    })
    .unwrap_or_else(|e| Err(YamlError::plain(0, 0, e)))
}

fn parse_values_here(text: &str) -> Result<serde_json::Value, YamlError> {
    let mut merged = Map::new();
    let (docs, bad_separator) = split_documents(text);
    for (first_line, doc) in docs {
        let m = match decode::decode(&doc) {
            Ok(Value::Nil) => continue,
            Ok(Value::Map(m)) => m,
            Ok(other) => {
                return Err(YamlError::plain(
                    first_line,
                    1,
                    format!(
                        "cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        json_kind(&other)
                    ),
                ));
            }
            Err(mut e) => {
                // The position is the file's; Helm's message counts lines
                // from the start of the document.
                if e.line > 0 {
                    e.line += first_line - 1;
                }
                return Err(
                    e.wrapped("cannot unmarshal yaml document: error converting YAML to JSON: ")
                );
            }
        };
        merged = merge_maps(&merged, &m);
    }
    if let Some(e) = bad_separator {
        return Err(e);
    }
    Ok(vjson::to_json(&Value::Map(merged)))
}

/// Kubernetes' `YAMLReader`: documents are separated by lines starting with
/// `---` (only spaces or a comment may follow). Returns each document with
/// the line it starts on, and the error for a bad separator: Helm decodes
/// each document as it reads it, so the documents before the one a bad
/// separator ends fail first.
///
/// Its `LineReader` reads lines with `bufio.Reader.ReadLine` and ends each
/// with `\n`: a `\r\n` ending becomes `\n`, and the last line gets a line
/// break even when the file has none, so a block scalar on it keeps its
/// newline (`a: |` then `  x` at the end of the file reads as "x\n").
fn split_documents(text: &str) -> (Vec<(usize, String)>, Option<YamlError>) {
    let mut docs = Vec::new();
    let mut cur = String::new();
    let mut start = 1;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let line = match line.strip_suffix('\n') {
            Some(l) => l.strip_suffix('\r').unwrap_or(l),
            None => line,
        };
        if let Some(rest) = line.strip_prefix("---") {
            let trimmed = rest.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                let e = YamlError::plain(
                    i + 1,
                    1,
                    format!(
                        "error reading yaml document: invalid Yaml document separator: {trimmed}"
                    ),
                );
                return (docs, Some(e));
            }
            if !cur.is_empty() {
                docs.push((start, std::mem::take(&mut cur)));
                start = i + 2;
                continue;
            }
            // With nothing read yet the reader keeps the separator as the
            // document's first line: go-yaml's line numbers count it.
        }
        cur.push_str(line);
        cur.push('\n');
    }
    if !cur.is_empty() {
        docs.push((start, cur));
    }
    (docs, None)
}

/// Helm's `loader.MergeMaps`: `b` over `a`, recursing where both are tables.
fn merge_maps(a: &Map, b: &Map) -> Map {
    let out = Map::typed(a.entries.borrow().clone(), MapType::Any);
    for (k, v) in b.pairs() {
        if let (Value::Map(bv), Some(Value::Map(av))) = (&v, out.get(&k)) {
            out.insert(k, Value::Map(merge_maps(&av, bv)));
            continue;
        }
        out.insert(k, v);
    }
    out
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "array",
        Value::String(_) => "string",
        Value::Float(_) => "number",
        Value::Bool(_) => "bool",
        _ => "value",
    }
}

/// Helm's `toYaml` template function: `sigs.k8s.io/yaml.Marshal` without
/// the final newline. Values that cannot be encoded (NaN) give "".
pub fn to_yaml(v: &serde_json::Value) -> String {
    crate::on_big_stack(crate::BIG_STACK, || to_yaml_value(&vjson::from_json(v)))
        .unwrap_or_default()
}

/// Helm's `toYaml` of a template value.
pub fn to_yaml_value(v: &Value) -> String {
    match marshal_value(v) {
        Ok(s) => s.strip_suffix('\n').map(str::to_string).unwrap_or(s),
        Err(_) => String::new(),
    }
}

/// Helm's `toYamlPretty`: go-yaml v3's `Encoder` with `SetIndent(2)` run
/// on the value itself — no JSON round trip, so floats print as Go's `%g`
/// (`1e+06`), control characters are escaped rather than rejected, and
/// sequences are indented under their keys. Errors give "" (Helm swallows
/// them); the final newline is trimmed.
///
/// A type go-yaml v3 cannot marshal (a complex number) makes it panic, and
/// the panic reaches the template as the function's error: that is `Err`.
pub fn to_yaml_pretty_value(v: &Value) -> Result<String, String> {
    match to_y_v3(v) {
        Ok(y) => {
            let s = encode::emit_v3(&y);
            Ok(s.strip_suffix('\n').map(str::to_string).unwrap_or(s))
        }
        Err(e) if e.starts_with(CANNOT_MARSHAL) => Err(e),
        Err(_) => Ok(String::new()),
    }
}

/// go-yaml v3's panic for a kind it has no encoding for.
const CANNOT_MARSHAL: &str = "cannot marshal type: ";

/// A value as go-yaml v3's encoder walks it (`encoder.marshal`): maps get
/// v3's key order, structs their lowercased field names in field order.
fn to_y_v3(v: &Value) -> Result<encode::Y, String> {
    use crate::value::Object;
    use encode::Y;
    let Some(_level) = crate::value::DepthGuard::enter() else {
        return Err("yaml: value nests too deeply".into());
    };
    let sorted = |pairs: Vec<(String, Y)>| {
        let mut y = Y::Map(pairs);
        encode::sort_keys_v3_shallow(&mut y);
        y
    };
    let bytes = |b: &[u8]| Y::Seq(b.iter().map(|x| Y::Uint(u64::from(*x))).collect());
    let s = |x: &str| Y::Str(x.to_string());
    Ok(match v {
        Value::Invalid | Value::Nil => Y::Null,
        Value::Bool(b) => Y::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Y::Int(*i),
        Value::Uint(u) => Y::Uint(*u),
        Value::Float(f) => Y::Float(*f),
        // go-yaml v3 panics "cannot marshal type: complex128".
        Value::Complex(..) => return Err(format!("{CANNOT_MARSHAL}{}", v.type_name())),
        Value::String(x) => Y::Str(x.to_string()),
        // A []byte is a slice like any other: a sequence of numbers.
        Value::Bytes(b) => bytes(b),
        Value::List(l) => Y::Seq(l.items.iter().map(to_y_v3).collect::<Result<_, _>>()?),
        Value::Map(m) => sorted(
            m.pairs()
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_y_v3(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Object(o) => match &**o {
            Object::Files(files) => sorted(
                files
                    .iter()
                    .map(|(k, data)| (k.clone(), bytes(data)))
                    .collect(),
            ),
            Object::Capabilities(c) => Y::Map(vec![
                ("kubeversion".into(), kube_version_y(&c.kube_version)),
                (
                    "apiversions".into(),
                    Y::Seq(c.api_versions.iter().map(|a| s(a)).collect()),
                ),
                ("helmversion".into(), helm_version_y(&c.helm_version)),
            ]),
            Object::KubeVersion(k) => kube_version_y(k),
            Object::HelmVersion(h) => helm_version_y(h),
            // semver.Version is an encoding.TextMarshaler.
            Object::Semver(ver) | Object::SemverValue(ver) => Y::Str(ver.to_string()),
            Object::Certificate(c) => {
                Y::Map(vec![("cert".into(), s(&c.cert)), ("key".into(), s(&c.key))])
            }
            Object::Time(t) => Y::Raw(crate::funcs::dates::format_time(
                t,
                "2006-01-02T15:04:05.999999999Z07:00",
            )),
            // go-yaml v3 writes a time.Duration as its String().
            Object::Duration(d) => Y::Str(crate::funcs::dates::duration_string(*d)),
            // A struct of unexported fields.
            Object::Location(_) => Y::Map(Vec::new()),
        },
    })
}

fn kube_version_y(k: &crate::value::KubeVersion) -> encode::Y {
    let s = |x: &str| encode::Y::Str(x.to_string());
    encode::Y::Map(vec![
        ("version".into(), s(&k.version)),
        ("major".into(), s(&k.major)),
        ("minor".into(), s(&k.minor)),
    ])
}

fn helm_version_y(h: &crate::value::HelmVersion) -> encode::Y {
    let s = |x: &str| encode::Y::Str(x.to_string());
    encode::Y::Map(vec![
        ("version".into(), s(&h.version)),
        ("gitcommit".into(), s(&h.git_commit)),
        ("gittreestate".into(), s(&h.git_tree_state)),
        ("goversion".into(), s(&h.go_version)),
        ("kubeclientversion".into(), s(&h.kube_client_version)),
    ])
}

/// `sigs.k8s.io/yaml.Marshal` (what `helm get values` prints): ends with a newline.
pub fn marshal(v: &serde_json::Value) -> String {
    crate::on_big_stack(crate::BIG_STACK, || {
        marshal_value(&vjson::from_json(v)).unwrap_or_default()
    })
    .unwrap_or_default()
}

/// Decodes YAML into a template value (`fromYaml` semantics). The text's
/// bytes are checked first, as go-yaml's reader checks them (a string cut
/// inside a character by `abbrev` or `trunc` is not UTF-8).
pub fn decode_value(text: &str) -> Result<Value, YamlError> {
    if let Some(problem) = crate::value::gostr::yaml_reader_error(text) {
        return Err(YamlError::go(0, 0, problem, None));
    }
    decode::decode(text)
}

/// `sigs.k8s.io/yaml.Marshal` of a template value.
pub fn marshal_value(v: &Value) -> Result<String, String> {
    let mut y = to_y(v)?;
    encode::sort_keys(&mut y);
    Ok(encode::emit(&y))
}

/// The JSON round trip of `Marshal`: a value as go-yaml reads its JSON text.
fn to_y(v: &Value) -> Result<encode::Y, String> {
    use encode::Y;
    // Only cyclic maps (built by templates with `set`) nest this deep;
    // Go's encoding/json reports them so.
    let Some(_level) = crate::value::DepthGuard::enter() else {
        return Err(format!(
            "json: unsupported value: encountered a cycle via {}",
            v.type_name()
        ));
    };
    Ok(match v {
        Value::Invalid | Value::Nil => Y::Null,
        Value::Bool(b) => Y::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Y::Int(*i),
        Value::Uint(u) => Y::Uint(*u),
        Value::Float(f) => {
            let text = crate::json::format_float(*f)?;
            match resolve::resolve(&text) {
                resolve::Resolved::Int(i) => Y::Int(i),
                resolve::Resolved::Uint(u) => Y::Uint(u),
                resolve::Resolved::Float(f) => Y::Float(f),
                _ => Y::Str(text),
            }
        }
        Value::Complex(..) => return Err(format!("json: unsupported type: {}", v.type_name())),
        Value::String(s) => Y::Str(through_json(s)?),
        Value::Bytes(b) => Y::Str(crate::funcs::encoding::b64encode(b)),
        Value::List(l) if l.nil => Y::Null,
        Value::List(l) => Y::Seq(l.items.iter().map(to_y).collect::<Result<_, _>>()?),
        Value::Map(m) if m.nil => Y::Null,
        Value::Map(m) => Y::Map(
            m.pairs()
                .iter()
                .map(|(k, v)| Ok((through_json(k)?, to_y(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Object(_) => {
            let text = crate::json::marshal(v)?;
            let back = crate::json::unmarshal(&text)?;
            to_y(&back)?
        }
    })
}

/// A string as go-yaml reads it back from `json.Marshal`'s output: control
/// characters JSON leaves raw are rejected by the YAML reader, and a raw NEL
/// (U+0085) is a line break that double-quoted scalars fold.
fn through_json(s: &str) -> Result<String, String> {
    // json.Marshal replaces invalid UTF-8 (see `value::gostr`) with U+FFFD.
    let s = &*crate::value::gostr::to_display(s);
    if s.chars()
        .any(|c| matches!(c as u32, 0x7F | 0x80..=0x84 | 0x86..=0x9F | 0xFFFE | 0xFFFF))
    {
        return Err("yaml: control characters are not allowed".into());
    }
    if !s.contains('\u{85}') {
        return Ok(s.to_string());
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\u{85}' {
            // Blanks before the break are dropped, as is the indentation after it.
            while out.ends_with(' ') {
                out.pop();
            }
            let mut breaks = 0;
            while i < chars.len() && (chars[i] == '\u{85}' || chars[i] == ' ') {
                if chars[i] == '\u{85}' {
                    breaks += 1;
                }
                i += 1;
            }
            if breaks == 1 {
                out.push(' ');
            } else {
                out.extend(std::iter::repeat_n('\n', breaks - 1));
            }
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn y(v: serde_json::Value) -> String {
        to_yaml(&v)
    }

    #[test]
    fn to_yaml_basics() {
        assert_eq!(y(json!({"b": 1.0, "a": "x"})), "a: x\nb: 1");
        assert_eq!(
            y(json!({"a": [1.5, "yes", ""], "m": {}, "l": []})),
            "a:\n- 1.5\n- \"yes\"\n- \"\"\nl: []\nm: {}"
        );
        assert_eq!(y(json!({"s": "line1\nline2\n"})), "s: |\n  line1\n  line2");
        assert_eq!(
            y(json!([{"a": 1.0, "b": {"c": null}}])),
            "- a: 1\n  b:\n    c: null"
        );
        assert_eq!(
            y(json!({"num": 1000000.0, "n": "y"})),
            "\"n\": \"y\"\nnum: 1000000"
        );
    }

    #[test]
    fn parse_values_yaml11() {
        let v = parse_values("a: yes\nb: 0755\nc: 1e3\nd: '1'\ne:\nf: [1, two]\n").unwrap();
        assert_eq!(
            v,
            json!({"a": true, "b": 493.0, "c": 1000.0, "d": "1", "e": null, "f": [1.0, "two"]})
        );
        assert_eq!(parse_values("").unwrap(), json!({}));
        assert_eq!(
            parse_values("base: &b {x: 1}\nderived:\n  <<: *b\n  z: 2\n  y: 3\n").unwrap(),
            json!({"base": {"x": 1.0}, "derived": {"x": 1.0, "z": 2.0, "true": 3.0}})
        );
    }

    #[test]
    fn single_documents() {
        assert_eq!(
            parse_document("a: 1\n---\nb: 2").unwrap(),
            json!({"a": 1.0})
        );
        assert_eq!(parse_document("").unwrap(), json!(null));
        assert_eq!(
            parse_document("a: b: c").unwrap_err().to_string(),
            "error converting YAML to JSON: yaml: mapping values are not allowed in this context"
        );
    }

    #[test]
    fn values_errors_read_like_helm() {
        // Helm's `LoadValues` messages (after its "cannot load values.yaml: ").
        let e = |t: &str| parse_values(t).unwrap_err().to_string();
        let conv = "cannot unmarshal yaml document: error converting YAML to JSON: yaml: ";
        assert_eq!(
            e("a: b: c"),
            format!("{conv}mapping values are not allowed in this context")
        );
        assert_eq!(
            e("a:\n  - b\n c: d"),
            format!("{conv}line 2: did not find expected key")
        );
        assert_eq!(
            e("a: 1\n---\nb: [1"),
            format!("{conv}line 1: did not find expected ',' or ']'")
        );
        assert_eq!(
            e("a: *nope"),
            format!("{conv}unknown anchor 'nope' referenced")
        );
        assert_eq!(
            e("a: !!int \"x\""),
            format!("{conv}cannot decode !!str `x` as a !!int")
        );
        assert_eq!(
            e("just a string"),
            "cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type map[string]interface {}"
        );
        assert_eq!(
            e("a: 1\n--- x"),
            "error reading yaml document: invalid Yaml document separator: x"
        );
        // Stray brackets, text after a quoted scalar, a key in a flow
        // collection left open: what real Helm says of each.
        for (text, want) in [
            ("a: [1, 2]]\n", "did not find expected key"),
            ("a: {b: 1}}\n", "did not find expected key"),
            ("a: }\n", "did not find expected node content"),
            ("a: \"x\" y\n", "did not find expected key"),
            ("a: 'x' y\n", "did not find expected key"),
            (
                "a: [b, c\nd: e\n",
                "line 1: did not find expected ',' or ']'",
            ),
            (
                "a: {b: c\nd: e\n",
                "line 1: did not find expected ',' or '}'",
            ),
            // A separator before any document is that document's first
            // line (Kubernetes' YAMLReader); after one, it is dropped.
            (
                "--- # c\na: 1\nk: `x`\n",
                "line 3: found character that cannot start any token",
            ),
            (
                "---\nk: `x`\n",
                "line 2: found character that cannot start any token",
            ),
            (
                "a: 1\n--- # c\nk: `x`\n",
                "found character that cannot start any token",
            ),
            // Documents before the one a bad separator ends are decoded
            // (and fail) first.
            (
                "a: `x`\n---\nb: 1\n--- |\n",
                "found character that cannot start any token",
            ),
            // Escapes YAML 1.2 has and go-yaml v2 (libyaml) has not.
            ("k: \"\\/\"\n", "found unknown escape character"),
            (
                "a: 1\nk: [\"x\\/\"]\n",
                "line 2: found unknown escape character",
            ),
            (
                "k: \"\\ud83d\\ude00\"\n",
                "found invalid Unicode character escape code",
            ),
            (
                "a:\n  b: \"\\uDFFF\"\n",
                "line 2: found invalid Unicode character escape code",
            ),
        ] {
            assert_eq!(e(text), format!("{conv}{want}"), "{text:?}");
        }
        let err = parse_values("a: 1\n---\nb: [1").unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (3, "did not find expected ',' or ']'")
        );
    }

    /// Nine levels of ten aliases: 10^9 strings if expanded.
    fn billion_laughs() -> String {
        let mut y = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            y.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        y
    }

    #[test]
    fn alias_bombs_are_refused_as_go_yaml_refuses_them() {
        let bomb = billion_laughs();
        assert_eq!(
            parse_values(&bomb).unwrap_err().to_string(),
            "cannot unmarshal yaml document: error converting YAML to JSON: yaml: document contains excessive aliasing"
        );
        assert_eq!(
            parse_document(&bomb).unwrap_err().to_string(),
            "error converting YAML to JSON: yaml: document contains excessive aliasing"
        );
        assert!(decode_value(&bomb).is_err());
        // The same through merge keys.
        let mut merges = String::from("m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n");
        for i in 1..12 {
            let refs = (0..10)
                .map(|j| format!("k{j}: {{<<: *m{}}}", i - 1))
                .collect::<Vec<_>>()
                .join(", ");
            merges.push_str(&format!("m{i}: &m{i} {{{refs}}}\n"));
        }
        assert!(
            parse_values(&merges)
                .unwrap_err()
                .to_string()
                .ends_with("excessive aliasing")
        );
    }

    #[test]
    fn ordinary_aliases_still_work() {
        // 300 aliases of a 3-node map: many aliases, but most of the
        // document is its own.
        let mut y = String::from("base: &b {x: 1, z: two}\n");
        for i in 0..300 {
            y.push_str(&format!("k{i}: {{own: {i}, other: {i}, ref: *b}}\n"));
        }
        let v = parse_values(&y).unwrap();
        assert_eq!(v["k299"]["ref"], json!({"x": 1.0, "z": "two"}));
        // An alias of a scalar, and merging an aliased sequence of maps.
        let v = parse_values("s: &s hi\nt: *s\nl: &l [{a: 1}]\nm:\n  <<: *l\n").unwrap_err();
        assert_eq!(
            v.to_string(),
            "cannot unmarshal yaml document: error converting YAML to JSON: yaml: map merge requires map or sequence of maps as the value"
        );
        let v = parse_values("s: &s hi\nt: *s\nm:\n  <<: [*a, {b: 2}]\n");
        assert!(v.is_err(), "unknown anchor");
        let v = parse_values("s: &s hi\nt: *s\na: &a {a: 1}\nm:\n  <<: [*a, {b: 2}]\n").unwrap();
        assert_eq!(v["t"], "hi");
        assert_eq!(v["m"], json!({"a": 1.0, "b": 2.0}));
    }

    #[test]
    fn key_order() {
        let mut keys = vec!["b", "a10", "a9", "a_", "aZ", "a"];
        keys.sort_by(|a, b| {
            if encode::key_less_with(a, b, false) {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        });
        assert_eq!(keys, ["a", "a_", "a9", "a10", "aZ", "b"]);
    }
}
