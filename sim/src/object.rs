//! Small helpers for reading and writing Kubernetes objects held as `serde_json::Value`.
//!
//! Objects stay untyped inside the simulator so that every kind, custom resources included,
//! goes through one write path; these helpers keep the JSON plumbing out of the logic.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Follows `path` through nested objects.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.as_object()?.get(*p)?;
    }
    Some(cur)
}

pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

pub fn i64_at(v: &Value, path: &[&str]) -> Option<i64> {
    at(v, path).and_then(Value::as_i64)
}

pub fn bool_at(v: &Value, path: &[&str]) -> Option<bool> {
    at(v, path).and_then(Value::as_bool)
}

/// The object at `path`, created (replacing non-objects) as needed.
pub fn obj_mut<'a>(v: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut cur = v;
    for p in path {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        cur = cur
            .as_object_mut()
            .expect("made an object above")
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    cur.as_object_mut().expect("made an object above")
}

pub fn set(v: &mut Value, path: &[&str], value: Value) {
    let (last, parent) = path.split_last().expect("non-empty path");
    obj_mut(v, parent).insert(last.to_string(), value);
}

pub fn remove(v: &mut Value, path: &[&str]) -> Option<Value> {
    let (last, parent) = path.split_last()?;
    let mut cur = v;
    for p in parent {
        cur = cur.as_object_mut()?.get_mut(*p)?;
    }
    cur.as_object_mut()?.remove(*last)
}

pub fn name(v: &Value) -> &str {
    str_at(v, &["metadata", "name"]).unwrap_or("")
}

pub fn namespace(v: &Value) -> &str {
    str_at(v, &["metadata", "namespace"]).unwrap_or("")
}

pub fn uid(v: &Value) -> &str {
    str_at(v, &["metadata", "uid"]).unwrap_or("")
}

pub fn resource_version(v: &Value) -> Option<&str> {
    str_at(v, &["metadata", "resourceVersion"])
}

pub fn generation(v: &Value) -> i64 {
    i64_at(v, &["metadata", "generation"]).unwrap_or(0)
}

pub fn is_deleting(v: &Value) -> bool {
    at(v, &["metadata", "deletionTimestamp"]).is_some_and(|t| !t.is_null())
}

pub fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub fn labels(v: &Value) -> BTreeMap<String, String> {
    string_map(at(v, &["metadata", "labels"]))
}

pub fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    at(v, &["metadata", "annotations"])
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

pub fn finalizers(v: &Value) -> Vec<String> {
    at(v, &["metadata", "finalizers"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn set_finalizers(v: &mut Value, f: &[String]) {
    if f.is_empty() {
        remove(v, &["metadata", "finalizers"]);
    } else {
        set(v, &["metadata", "finalizers"], Value::from(f.to_vec()));
    }
}

/// One `metadata.ownerReferences` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub controller: bool,
    pub block_owner_deletion: bool,
}

pub fn owner_refs(v: &Value) -> Vec<OwnerRef> {
    at(v, &["metadata", "ownerReferences"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|o| OwnerRef {
                    api_version: str_at(o, &["apiVersion"]).unwrap_or("").to_string(),
                    kind: str_at(o, &["kind"]).unwrap_or("").to_string(),
                    name: str_at(o, &["name"]).unwrap_or("").to_string(),
                    uid: str_at(o, &["uid"]).unwrap_or("").to_string(),
                    controller: bool_at(o, &["controller"]).unwrap_or(false),
                    block_owner_deletion: bool_at(o, &["blockOwnerDeletion"]).unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The controlling owner, if any.
pub fn controller_ref(v: &Value) -> Option<OwnerRef> {
    owner_refs(v).into_iter().find(|o| o.controller)
}

/// The uids `metadata.ownerReferences` names, borrowed (controllers ask this for every object
/// they look at, so it must not allocate).
pub fn owner_uids(v: &Value) -> impl Iterator<Item = &str> {
    at(v, &["metadata", "ownerReferences"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|o| str_at(o, &["uid"]).unwrap_or(""))
}

/// The uid of the controlling owner, if any, borrowed.
pub fn controller_uid(v: &Value) -> Option<&str> {
    at(v, &["metadata", "ownerReferences"])
        .and_then(Value::as_array)?
        .iter()
        .find(|o| bool_at(o, &["controller"]).unwrap_or(false))
        .map(|o| str_at(o, &["uid"]).unwrap_or(""))
}

/// An owner reference to `owner`, as controllers set it.
pub fn controller_owner_ref(owner: &Value) -> Value {
    serde_json::json!({
        "apiVersion": str_at(owner, &["apiVersion"]).unwrap_or(""),
        "kind": str_at(owner, &["kind"]).unwrap_or(""),
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Drops `null` members recursively, as Go's decoder does for most optional fields.
pub fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Parses a duration knob such as `1500ms`, `2s`, `1m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000.0)
    } else {
        (s, 1000.0)
    };
    let n: f64 = num.trim().parse().ok()?;
    (n >= 0.0).then(|| std::time::Duration::from_millis((n * mult) as u64))
}

/// Compact JSON with object keys sorted at every level, for hashing and comparisons that
/// must not depend on key order.
pub fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}
