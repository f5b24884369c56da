//! YAML exactly as Helm reads and writes it.
//!
//! Reading is sigs.k8s.io/yaml over go-yaml v2 (YAML 1.1 typing, every
//! number a float64); writing is sigs.k8s.io/yaml's `Marshal` (see
//! `encode`). Both are used by the template functions (`toYaml`,
//! `fromYaml`, `.Files.AsConfig`) and offered to the other crates for
//! values files.

mod decode;
mod encode;
pub mod resolve;

use crate::value::{Value, json as vjson};

/// A YAML syntax or typing error, with its position (1-based; 0 = unknown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl YamlError {
    fn render(&self) -> String {
        if self.line == 0 {
            format!("yaml: {}", self.message)
        } else {
            format!(
                "yaml: line {}, column {}: {}",
                self.line, self.column, self.message
            )
        }
    }
}

/// Parses a values file (or Chart.yaml) the way Helm does: the first
/// document must be a mapping (an empty document is `{}`), numbers are f64.
pub fn parse_values(text: &str) -> Result<serde_json::Value, YamlError> {
    match decode::decode(text)? {
        Value::Nil => Ok(serde_json::Value::Object(Default::default())),
        v @ Value::Map(_) => Ok(vjson::to_json(&v)),
        other => Err(YamlError {
            line: 0,
            column: 0,
            message: format!(
                "cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            ),
        }),
    }
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
    marshal_value(&vjson::from_json(v))
        .map(|s| s.trim_end_matches('\n').to_string())
        .unwrap_or_default()
}

/// `sigs.k8s.io/yaml.Marshal` (what `helm get values` prints): ends with a newline.
pub fn marshal(v: &serde_json::Value) -> String {
    marshal_value(&vjson::from_json(v)).unwrap_or_default()
}

/// Decodes YAML into a template value (`fromYaml` semantics).
pub fn decode_value(text: &str) -> Result<Value, YamlError> {
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
        Value::String(s) => Y::Str(s.to_string()),
        Value::Bytes(b) => Y::Str(crate::funcs::encoding::b64encode(b)),
        Value::List(l) => Y::Seq(l.items.iter().map(to_y).collect::<Result<_, _>>()?),
        Value::Map(m) => Y::Map(
            m.pairs()
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_y(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Object(_) => {
            let text = crate::json::marshal(v)?;
            let back = crate::json::unmarshal(&text)?;
            to_y(&back)?
        }
    })
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
    fn key_order() {
        let mut keys = vec!["b", "a10", "a9", "a_", "aZ", "a"];
        keys.sort_by(|a, b| {
            if encode::key_less(a, b) {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        });
        assert_eq!(keys, ["a", "a_", "a9", "a10", "aZ", "b"]);
    }
}
