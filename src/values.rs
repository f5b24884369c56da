//! User-supplied values: `-f` files and the `--set` family, merged in Helm's
//! order (pkg/cli/values/options.go): files, then --set-json, --set,
//! --set-string, --set-file, --set-literal.
//!
//! Numbers follow one convention across berth (see berth-template): numbers
//! Helm holds as float64 — everything read from YAML or JSON — are `f64`;
//! integers typed by `--set` (Helm's strvals gives int64) are `i64`. The
//! distinction survives JSON on the wire because serde_json writes `3.0` for
//! an f64 and `3` for an i64.

use std::io::Read;
use std::path::{Path, PathBuf};

use berth_template::value::gostr;
use berth_template::yaml::MAX_DEPTH;
use serde::Deserialize;
use serde_json::{Map, Value};

mod literal;
mod strvals;

pub use literal::parse_literal_into;
pub use strvals::{parse_into, parse_json_into, parse_string_into};

#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    /// Worded as Go's `os.ReadFile` fails (`open x: no such file or directory`).
    #[error("{}", go_read_error(&.path.display().to_string(), .source))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to parse {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("failed parsing --set data: {0}")]
    Set(String),
    #[error("failed parsing --set-string data: {0}")]
    SetString(String),
    #[error("failed parsing --set-json data {0}")]
    SetJson(String),
    #[error("failed parsing --set-file data: {0}")]
    SetFile(String),
    #[error("failed parsing --set-literal data: {0}")]
    SetLiteral(String),
    #[error("values must be a map, got {0}")]
    NotAMap(String),
    /// Deeper than berth's YAML reader lets a values file nest.
    #[error("{0}: values nest more than {MAX_DEPTH} levels deep")]
    TooDeep(String),
}

/// The values flags of install/upgrade/template, as Helm names them.
#[derive(Debug, Default, Clone)]
pub struct ValueOptions {
    pub value_files: Vec<PathBuf>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    pub set_json: Vec<String>,
    pub set_file: Vec<String>,
    pub set_literal: Vec<String>,
}

impl ValueOptions {
    /// Merge everything into one map, as `helm install` does before sending
    /// the values to the chart.
    pub fn merge(&self) -> Result<Map<String, Value>, ValuesError> {
        let mut base = Map::new();
        for path in &self.value_files {
            let text = read_file(path)?;
            // Bytes Helm's YAML reader refuses (not UTF-8, control
            // characters) are refused in its words, not replaced: its
            // LoadValues decoding a document says so.
            if let Some(problem) = gostr::yaml_reader_error(&text) {
                return Err(ValuesError::Parse {
                    path: path.clone(),
                    message: format!(
                        "cannot unmarshal yaml document: error converting YAML to JSON: yaml: {problem}"
                    ),
                });
            }
            let current = parse_yaml_map(&text).map_err(|message| ValuesError::Parse {
                path: path.clone(),
                message,
            })?;
            base = merge_maps(base, current);
        }
        for expr in &self.set_json {
            if let Some(at) = too_deep(expr.as_bytes(), MAX_DEPTH) {
                return Err(ValuesError::TooDeep(format!("--set-json, at byte {at}")));
            }
            let trimmed = expr.trim();
            if trimmed.starts_with('{') {
                let parsed = from_json(trimmed)
                    .map_err(|_| ValuesError::SetJson(format!("JSON: {expr}")))?;
                match helm_numbers(parsed) {
                    Value::Object(m) => base = merge_maps(base, m),
                    _ => return Err(ValuesError::SetJson(format!("JSON: {expr}"))),
                }
            } else {
                parse_json_into(expr, &mut base).map_err(|_| ValuesError::SetJson(expr.clone()))?;
            }
        }
        for expr in &self.set {
            parse_into(expr, &mut base).map_err(ValuesError::Set)?;
        }
        for expr in &self.set_string {
            parse_string_into(expr, &mut base).map_err(ValuesError::SetString)?;
        }
        for expr in &self.set_file {
            strvals::parse_file_into(expr, &mut base, &|p: &str| {
                // Go keeps the bytes; its JSON encoding of the values then
                // writes what is not UTF-8 as U+FFFD.
                read_capped(&mut open(Path::new(p)).map_err(|e| go_read_error(p, &e))?)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .map_err(|e| go_read_error(p, &e))
            })
            .map_err(ValuesError::SetFile)?;
        }
        for expr in &self.set_literal {
            parse_literal_into(expr, &mut base).map_err(ValuesError::SetLiteral)?;
        }
        // --set-json's keys nest too (a.b.c={...}).
        if depth(&base) > MAX_DEPTH {
            return Err(ValuesError::TooDeep("the values given".into()));
        }
        Ok(base)
    }
}

/// The most bytes one values file (or --set-file) is read to: far past what
/// an agent takes (its --max-values-size), short of `-f /dev/zero` taking
/// the machine's memory.
const MAX_VALUES_FILE: u64 = 256 << 20;

fn open(path: &Path) -> std::io::Result<Box<dyn std::io::Read>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    Ok(Box::new(std::fs::File::open(path)?))
}

/// All of `r`, or an error past [`MAX_VALUES_FILE`] bytes.
fn read_capped(r: &mut dyn std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut b = Vec::new();
    r.take(MAX_VALUES_FILE + 1).read_to_end(&mut b)?;
    if b.len() as u64 > MAX_VALUES_FILE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("more than {} MiB of values", MAX_VALUES_FILE >> 20),
        ));
    }
    Ok(b)
}

/// A values file as the Go string Helm reads: bytes that are not UTF-8 are
/// kept (see `gostr`), for the YAML reader to refuse.
fn read_file(path: &Path) -> Result<String, ValuesError> {
    open(path)
        .and_then(|mut r| read_capped(&mut r))
        .map(|b| gostr::from_bytes(&b))
        .map_err(|source| ValuesError::Read {
            path: path.to_path_buf(),
            source,
        })
}

/// The text of Go's `*fs.PathError` when `os.ReadFile(path)` fails, which
/// Helm passes on as is: `open x: no such file or directory`, `read x: is a
/// directory`.
pub fn go_read_error(path: &str, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => format!("open {path}: no such file or directory"),
        ErrorKind::PermissionDenied => format!("open {path}: permission denied"),
        ErrorKind::IsADirectory => format!("read {path}: is a directory"),
        ErrorKind::FileTooLarge => format!("read {path}: {e}"),
        _ => format!("open {path}: {e}"),
    }
}

/// The errno text of Go's `*fs.PathError` (`stat x: <this>`).
pub fn go_errno(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "no such file or directory".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::IsADirectory => "is a directory".into(),
        ErrorKind::NotADirectory => "not a directory".into(),
        _ => e.to_string(),
    }
}

/// Parse a values document (one or more YAML documents, merged) into a map,
/// with Helm's number convention.
pub fn parse_yaml_map(text: &str) -> Result<Map<String, Value>, String> {
    match berth_template::yaml::parse_values(text).map_err(|e| e.to_string())? {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        other => Err(format!("values must be a map, got {}", kind_name(&other))),
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Values as JSON (what the CLI sends berthd, what the journal keeps), as
/// deep as a values file may nest them ([`MAX_DEPTH`], the YAML reader's
/// limit; serde_json alone stops at 128), parsed on the big stack.
pub fn from_json(text: &str) -> Result<Value, String> {
    if let Some(at) = too_deep(text.as_bytes(), MAX_DEPTH) {
        return Err(format!(
            "nested more than {MAX_DEPTH} levels deep (at byte {at})"
        ));
    }
    berth_template::with_big_stack(|| {
        let mut de = serde_json::Deserializer::from_str(text);
        de.disable_recursion_limit();
        let value = Value::deserialize(&mut de).and_then(|v| de.end().map(|()| v));
        value.map_err(|e| e.to_string())
    })?
}

/// How deeply the collections of a map nest (the map itself: 1), without
/// recursing.
fn depth(map: &Map<String, Value>) -> usize {
    let mut deepest = 1;
    let mut todo: Vec<(&Value, usize)> = map.values().map(|v| (v, 2)).collect();
    while let Some((v, d)) = todo.pop() {
        let inner: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Object(m) => Box::new(m.values()),
            Value::Array(a) => Box::new(a.iter()),
            _ => continue,
        };
        deepest = deepest.max(d);
        todo.extend(inner.map(|v| (v, d + 1)));
    }
    deepest
}

/// The offset of the first `[` or `{` (outside strings) nested more than
/// `max` deep in a JSON text.
fn too_deep(text: &[u8], max: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in text.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Convert every number to f64, as Go's encoding/json does into `any`.
pub fn helm_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Value::Array(a) => Value::Array(a.into_iter().map(helm_numbers).collect()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, helm_numbers(v))).collect())
        }
        other => other,
    }
}

/// Helm's loader.MergeMaps: `b` wins; maps merge recursively.
pub fn merge_maps(mut a: Map<String, Value>, b: Map<String, Value>) -> Map<String, Value> {
    for (k, v) in b {
        match (a.remove(&k), v) {
            (Some(Value::Object(old)), Value::Object(new)) => {
                a.insert(k, Value::Object(merge_maps(old, new)));
            }
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_nest_as_deep_as_a_values_file_and_no_deeper() {
        let nested = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        let v = from_json(&nested(MAX_DEPTH)).unwrap();
        assert_eq!(depth(v.as_object().unwrap()), MAX_DEPTH);
        assert_eq!(
            from_json(&nested(MAX_DEPTH + 1)).unwrap_err(),
            format!("nested more than {MAX_DEPTH} levels deep (at byte 5000)")
        );
        // Brackets in strings do not count; a list is a level too.
        let quoted = format!("{{\"a\":\"{}\\\"[\"}}", "[".repeat(2000));
        assert!(from_json(&quoted).is_ok(), "{quoted}");
        assert_eq!(too_deep(b"[[[1]]]", 2), Some(2));
        assert_eq!(too_deep(b"[[1],[1]]", 2), None);
        // Still serde_json's errors otherwise.
        assert!(from_json("{\"a\": 1} x").is_err());
    }

    #[test]
    fn files_then_set_flags_in_helm_order() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("v.yaml");
        std::fs::write(&f, "a: 1\nb:\n  c: x\n").unwrap();
        let opts = ValueOptions {
            value_files: vec![f],
            set: vec!["b.d=2".into(), "a=7".into()],
            set_string: vec!["e=true".into()],
            ..Default::default()
        };
        let m = opts.merge().unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"a": 7, "b": {"c": "x", "d": 2}, "e": "true"})
        );
    }

    #[test]
    fn yaml_numbers_are_floats() {
        let m = parse_yaml_map("a: 1\n").unwrap();
        assert!(m["a"].is_f64());
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"a":1.0}"#);
    }
}
