//! Helm's own template functions (`pkg/engine/funcs.go`, `engine.go`):
//! include, tpl, required, fail, lookup, and the YAML/JSON/TOML converters
//! Helm puts in place of Sprig's.

use super::{FuncMap, Ty, add, s, sig};
use crate::error::{GoError, warn_wrap};
use crate::exec::Engine;
use crate::gofmt;
use crate::helm::Warning;
use crate::value::{List, ListType, Map, Value, json as vjson};

type R = Result<Value, GoError>;

/// Helm's `recursionMaxNums`.
const RECURSION_MAX: usize = 1000;

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "include", sig(&[Str, Any]), include);
    add(m, "tpl", sig(&[Str, Any]), tpl);
    add(m, "required", sig(&[Str, Any]), |eng, a| {
        let missing = match &a[1] {
            Value::Nil | Value::Invalid => true,
            Value::String(s) => s.is_empty(),
            _ => false,
        };
        if missing {
            if let Some(log) = &eng.lint {
                // Helm's words differ for nil and "".
                let message = match &a[1] {
                    Value::String(_) => "missing required values",
                    _ => "missing required value",
                };
                let w = Warning::slog(message, vec![("message", s(&a[0]).to_string())]);
                log.lock().unwrap_or_else(|e| e.into_inner()).push(w);
                return Ok(Value::str(""));
            }
            return Err(GoError::plain(warn_wrap(s(&a[0]))));
        }
        Ok(a[1].clone())
    });
    add(m, "fail", sig(&[Str]), |eng, a| {
        if let Some(log) = &eng.lint {
            let w = Warning::info("funcMap fail", vec![("message", s(&a[0]).to_string())]);
            log.lock().unwrap_or_else(|e| e.into_inner()).push(w);
            return Ok(Value::str(""));
        }
        Err(GoError::plain(warn_wrap(s(&a[0]))))
    });
    add(m, "lookup", sig(&[Str, Str, Str, Str]), |eng, a| {
        let Some(l) = eng.lookup else {
            return Ok(Value::Map(Map::new()));
        };
        match l.lookup(s(&a[0]), s(&a[1]), s(&a[2]), s(&a[3])) {
            Ok(v) => Ok(match vjson::from_json(&v) {
                Value::Map(m) => Value::Map(m),
                _ => Value::Map(Map::new()),
            }),
            Err(e) => Err(GoError::plain(e)),
        }
    });
    add(m, "toYaml", sig(&[Any]), |_, a| {
        if super::check_encodable(&a[0])?.is_some() {
            return Ok(Value::str(""));
        }
        Ok(Value::str(crate::yaml::to_yaml_value(&a[0])))
    });
    add(m, "toYamlPretty", sig(&[Any]), |_, a| {
        super::check_printable(&a[0])?;
        crate::yaml::to_yaml_pretty_value(&a[0])
            .map(Value::str)
            .map_err(GoError::plain)
    });
    add(m, "mustToYaml", sig(&[Any]), |_, a| {
        if let Some(e) = super::check_encodable(&a[0])? {
            return Err(GoError::plain(format!("error marshaling into JSON: {e}")));
        }
        crate::yaml::marshal_value(&a[0])
            .map(|y| Value::str(y.strip_suffix('\n').unwrap_or(&y)))
            .map_err(|e| GoError::plain(format!("error marshaling into JSON: {e}")))
    });
    add(m, "fromYaml", sig(&[Str]), |_, a| {
        let m = Map::new();
        match crate::yaml::decode_value(s(&a[0])) {
            Ok(Value::Map(v)) => return Ok(Value::Map(v)),
            Ok(Value::Nil) => {}
            Ok(other) => m.insert(
                "Error",
                Value::str(unmarshal_type_error(&other, "map[string]interface {}")),
            ),
            Err(e) => m.insert(
                "Error",
                Value::str(format!("error converting YAML to JSON: {e}")),
            ),
        }
        Ok(Value::Map(m))
    });
    add(
        m,
        "fromYamlArray",
        sig(&[Str]),
        |_, a| match crate::yaml::decode_value(s(&a[0])) {
            Ok(Value::List(l)) => Ok(Value::List(l)),
            Ok(Value::Nil) => Ok(Value::list(Vec::new())),
            Ok(other) => Ok(Value::list(vec![Value::str(unmarshal_type_error(
                &other,
                "[]interface {}",
            ))])),
            Err(e) => Ok(Value::list(vec![Value::str(format!(
                "error converting YAML to JSON: {e}"
            ))])),
        },
    );
    add(m, "toJson", sig(&[Any]), |_, a| {
        if super::check_encodable(&a[0])?.is_some() {
            return Ok(Value::str(""));
        }
        Ok(Value::str(crate::json::marshal(&a[0]).unwrap_or_default()))
    });
    add(m, "mustToJson", sig(&[Any]), |_, a| {
        if let Some(e) = super::check_encodable(&a[0])? {
            return Err(GoError::plain(e));
        }
        crate::json::marshal(&a[0])
            .map(Value::str)
            .map_err(GoError::plain)
    });
    // encoding/json decodes an object into the map despite a number too
    // big for a float64 inside (it becomes nil): Helm's map then has both
    // what was decoded and the "Error".
    add(m, "fromJson", sig(&[Str]), |_, a| {
        let m = Map::new();
        match crate::json::unmarshal_partial(s(&a[0])) {
            Ok((Value::Map(v), None)) => return Ok(Value::Map(v)),
            Ok((Value::Map(v), Some(e))) => {
                v.insert("Error", Value::str(e));
                return Ok(Value::Map(v));
            }
            // encoding/json sets the map to nil for `null`.
            Ok((Value::Nil, None)) => return Ok(Value::Map(Map::nil_map())),
            Ok((other, e)) => m.insert(
                "Error",
                Value::str(json_type_error(
                    &other,
                    e.is_some(),
                    "map[string]interface {}",
                )),
            ),
            Err(e) => m.insert("Error", Value::str(e)),
        }
        Ok(Value::Map(m))
    });
    add(
        m,
        "fromJsonArray",
        sig(&[Str]),
        |_, a| match crate::json::unmarshal_partial(s(&a[0])) {
            Ok((Value::List(l), None)) => Ok(Value::List(l)),
            // encoding/json sets the slice to nil for `null`.
            Ok((Value::Nil, None)) => Ok(Value::List(List::nil_of(ListType::Any))),
            // An array with a number too big: Helm's result is the error.
            Ok((Value::List(_), Some(e))) => Ok(Value::list(vec![Value::str(e)])),
            // Anything else is not decoded at all: its kind is the error.
            Ok((other, e)) => Ok(Value::list(vec![Value::str(json_type_error(
                &other,
                e.is_some(),
                "[]interface {}",
            ))])),
            Err(e) => Ok(Value::list(vec![Value::str(e)])),
        },
    );
}

/// The JSON kind of a decoded value; `overflow`: the text was a number too
/// big for a float64 (decoded as nil).
fn json_kind(v: &Value, overflow: bool) -> &'static str {
    match v {
        Value::Nil if overflow => "number",
        Value::List(_) => "array",
        Value::Map(_) => "object",
        Value::String(_) => "string",
        Value::Float(_) => "number",
        Value::Bool(_) => "bool",
        _ => "null",
    }
}

/// encoding/json's `UnmarshalTypeError` text.
fn json_type_error(v: &Value, overflow: bool, target: &str) -> String {
    format!(
        "json: cannot unmarshal {} into Go value of type {target}",
        json_kind(v, overflow)
    )
}

/// sigs.k8s.io/yaml's wrapping of the same error.
fn unmarshal_type_error(v: &Value, target: &str) -> String {
    format!(
        "error unmarshaling JSON: while decoding JSON: {}",
        json_type_error(v, false, target)
    )
}

/// Helm's `include`: executes a named template into a string.
fn include(eng: &mut Engine<'_>, a: Vec<Value>) -> R {
    let name = s(&a[0]).to_string();
    let count = eng.include_counts.entry(name.clone()).or_insert(0);
    if *count > RECURSION_MAX {
        return Err(GoError::wrap(
            format!("rendering template has a nested reference name: {name}: "),
            GoError::plain("unable to execute template"),
        ));
    }
    *count += 1;
    let r = eng.execute_template(&name, a[1].clone().indirect_interface());
    if let Some(c) = eng.include_counts.get_mut(&name) {
        *c = c.saturating_sub(1);
    }
    r.map(Value::str)
}

/// Helm's `tpl`: parses a string as a template in a copy of the current
/// template set (so its `define`s are visible to it, and only to it) and
/// executes it, named like the root template.
/// How deeply `tpl` calls may nest. Helm has no limit (a runaway `tpl`
/// recursion crashes it with a stack overflow); every level wraps the
/// error message again, so deep nesting also costs quadratic memory.
/// Above `include`'s limit ([`RECURSION_MAX`] of one name), so that a
/// helper that `tpl`s an include of itself fails with Helm's error.
pub const MAX_TPL_NESTING: usize = RECURSION_MAX + 100;

fn tpl(eng: &mut Engine<'_>, a: Vec<Value>) -> R {
    let text = s(&a[0]).to_string();
    if eng.tpl_nesting >= MAX_TPL_NESTING {
        return Err(GoError::plain(format!(
            "tpl: exceeded maximum nesting depth ({MAX_TPL_NESTING})"
        )));
    }
    eng.tpl_nesting += 1;
    let r = tpl_at_depth(eng, text, a);
    eng.tpl_nesting -= 1;
    r
}

fn tpl_at_depth(eng: &mut Engine<'_>, text: String, a: Vec<Value>) -> R {
    let mut set = (*eng.templates).clone();
    let name = set.name.clone();
    let tree = match set.parse(&name, &text) {
        Ok(t) => t,
        Err(e) => {
            return Err(GoError::wrap(
                format!("cannot parse template {}: ", gofmt::quote(&text)),
                GoError::plain(e.0),
            ));
        }
    };
    let data = a[1].clone().indirect_interface();
    let out = eng.with_templates(set, |eng| eng.execute_tree(&tree, data));
    match out {
        Ok(s) => Ok(Value::str(s.replace("<no value>", ""))),
        Err(e) => Err(GoError::wrap(
            format!(
                "error during tpl function execution for {}: ",
                gofmt::quote(&text)
            ),
            e,
        )),
    }
}
