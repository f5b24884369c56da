//! Label and field selectors of list and watch requests (SIM_SPEC §2.5).
//!
//! Parses the query-string forms and matches them against objects; a bad selector is a 400.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::object;
use crate::resources::ResourceType;
use crate::status::ApiError;

#[derive(Clone, Debug, PartialEq)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelSelector(Vec<Req>);

impl LabelSelector {
    pub fn parse(s: &str) -> Result<LabelSelector, ApiError> {
        let mut reqs = Vec::new();
        for term in split_terms(s) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            reqs.push(parse_term(term).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unable to parse requirement: invalid label selector: {term:?}"
                ))
            })?);
        }
        Ok(LabelSelector(reqs))
    }

    /// A `matchLabels`/`matchExpressions` selector object, as workloads carry it.
    pub fn from_object(sel: &Value) -> LabelSelector {
        let mut reqs = Vec::new();
        for (k, v) in object::string_map(sel.get("matchLabels")) {
            reqs.push(Req::Eq(k, v));
        }
        for e in sel
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = object::str_at(e, &["key"]).unwrap_or("").to_string();
            let values: Vec<String> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            reqs.push(match object::str_at(e, &["operator"]).unwrap_or("") {
                "In" => Req::In(key, values),
                "NotIn" => Req::NotIn(key, values),
                "Exists" => Req::Exists(key),
                _ => Req::NotExists(key),
            });
        }
        LabelSelector(reqs)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => labels.get(k) == Some(v),
            Req::NotEq(k, v) => labels.get(k) != Some(v),
            Req::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Req::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Req::Exists(k) => labels.contains_key(k),
            Req::NotExists(k) => !labels.contains_key(k),
        })
    }

    /// The `a=b,c=d` form `/scale` reports in `status.selector`.
    pub fn to_query(&self) -> String {
        self.0
            .iter()
            .map(|r| match r {
                Req::Eq(k, v) => format!("{k}={v}"),
                Req::NotEq(k, v) => format!("{k}!={v}"),
                Req::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                Req::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                Req::Exists(k) => k.clone(),
                Req::NotExists(k) => format!("!{k}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Splits on commas outside parentheses.
fn split_terms(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

fn valid_value(v: &str) -> bool {
    v.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn parse_term(t: &str) -> Option<Req> {
    if let Some(k) = t.strip_prefix('!') {
        let k = k.trim();
        return valid_key(k).then(|| Req::NotExists(k.to_string()));
    }
    if let Some((k, v)) = t.split_once("!=") {
        let (k, v) = (k.trim(), v.trim());
        return (valid_key(k) && valid_value(v)).then(|| Req::NotEq(k.into(), v.into()));
    }
    if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
        let (k, v) = (k.trim(), v.trim());
        return (valid_key(k) && valid_value(v)).then(|| Req::Eq(k.into(), v.into()));
    }
    for (op, notin) in [(" notin ", true), (" in ", false)] {
        if let Some((k, rest)) = t.split_once(op) {
            let k = k.trim();
            let rest = rest.trim();
            let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
            let values: Vec<String> = inner
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            if !valid_key(k) || values.iter().any(|v| !valid_value(v)) {
                return None;
            }
            return Some(if notin {
                Req::NotIn(k.into(), values)
            } else {
                Req::In(k.into(), values)
            });
        }
    }
    valid_key(t).then(|| Req::Exists(t.to_string()))
}

/// A parsed field selector (only `=`, `==` and `!=` exist for fields).
#[derive(Clone, Debug, Default)]
pub struct FieldSelector(Vec<(String, String, bool)>);

impl FieldSelector {
    pub fn parse(s: &str, rt: &ResourceType) -> Result<FieldSelector, ApiError> {
        let mut reqs = Vec::new();
        for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, value, eq) = if let Some((f, v)) = term.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (f, v, true)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{term}'"
                )));
            };
            let field = field.trim();
            if !supported_field(rt, field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            reqs.push((field.to_string(), value.trim().to_string(), eq));
        }
        Ok(FieldSelector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The single `metadata.name=X` a watch of one object uses, if that is all this selects.
    pub fn single_name(&self) -> Option<&str> {
        match self.0.as_slice() {
            [(f, v, true)] if f == "metadata.name" => Some(v),
            _ => None,
        }
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, value, eq)| {
            let path: Vec<&str> = field.split('.').collect();
            let actual = match object::at(obj, &path) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == *value) == *eq
        })
    }
}

fn supported_field(rt: &ResourceType, field: &str) -> bool {
    if matches!(field, "metadata.name" | "metadata.namespace") {
        return true;
    }
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => matches!(
            field,
            "spec.nodeName"
                | "status.phase"
                | "spec.restartPolicy"
                | "spec.serviceAccountName"
                | "status.podIP"
        ),
        ("", "events") => matches!(
            field,
            "involvedObject.kind"
                | "involvedObject.name"
                | "involvedObject.namespace"
                | "involvedObject.uid"
                | "involvedObject.apiVersion"
                | "involvedObject.resourceVersion"
                | "involvedObject.fieldPath"
                | "reason"
                | "type"
                | "source"
        ),
        ("", "secrets") => field == "type",
        ("", "namespaces") => field == "status.phase",
        ("", "nodes") => field == "spec.unschedulable",
        ("batch", "jobs") => field == "status.successful",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn set_based_selector() {
        let s = LabelSelector::parse("app in (a,b),!x").unwrap();
        assert!(s.matches(&labels(&[("app", "a")])));
        assert!(!s.matches(&labels(&[("app", "a"), ("x", "1")])));
        assert!(!s.matches(&labels(&[("app", "c")])));
    }

    #[test]
    fn equality_and_existence() {
        let s = LabelSelector::parse("a=1,b!=2,c").unwrap();
        assert!(s.matches(&labels(&[("a", "1"), ("c", "")])));
        assert!(!s.matches(&labels(&[("a", "1"), ("b", "2"), ("c", "")])));
        assert!(LabelSelector::parse("a in b").is_err());
        assert!(LabelSelector::parse("=x").is_err());
    }
}
