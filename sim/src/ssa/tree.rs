//! Schema-aware walks over JSON objects: the field set of an object, the fields that changed
//! between two versions, reading and removing the value at a path, and merging an applied
//! configuration into a live object.

use serde_json::{Map, Value};

use super::fieldset::{FieldSet, Path, PathElem};
use super::schema::{ListType, all_keyed, is_atomic_map, item_key, list_type};
use crate::resources::ResourceType;

/// Which part of an object a write may touch and whose fields are tracked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The main endpoint: everything but server-set metadata and (with a status subresource) `.status`.
    Main,
    /// The `/status` subresource: only `.status`.
    Status,
}

const UNTRACKED_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
];

/// The top-level members of `obj` that `scope` tracks, with their paths.
fn tracked_roots<'a>(rt: &ResourceType, obj: &'a Value, scope: Scope) -> Vec<(Path, &'a Value)> {
    let mut out = Vec::new();
    let Some(m) = obj.as_object() else { return out };
    for (k, v) in m {
        match (k.as_str(), scope) {
            ("apiVersion" | "kind", _) => {}
            ("status", Scope::Status) => out.push((vec![PathElem::field(k)], v)),
            // The Deployment status strategy lets the controller set annotations (revision).
            ("metadata", Scope::Status) if rt.is("apps", "deployments") => {
                if let Some(a) = v.get("annotations") {
                    out.push((
                        vec![PathElem::field("metadata"), PathElem::field("annotations")],
                        a,
                    ));
                }
            }
            (_, Scope::Status) => {}
            ("status", Scope::Main) if rt.status => {}
            ("metadata", Scope::Main) => {
                if let Some(meta) = v.as_object() {
                    for (mk, mv) in meta {
                        if !UNTRACKED_META.contains(&mk.as_str()) {
                            out.push((vec![PathElem::field("metadata"), PathElem::field(mk)], mv));
                        }
                    }
                }
            }
            _ => out.push((vec![PathElem::field(k)], v)),
        }
    }
    out
}

/// Maps whose creation a manager owns as a node (`".": {}`), like kubectl's create shows.
fn is_granular_map_name(path: &[PathElem]) -> bool {
    matches!(
        path.last(),
        Some(PathElem::Field(f)) if matches!(f.as_str(), "labels" | "annotations" | "data" | "binaryData" | "stringData" | "nodeSelector" | "matchLabels")
    )
}

/// Paths(C): the leaves and list items present in `obj` (SIM_SPEC §3).
pub fn fields_of(rt: &ResourceType, obj: &Value, scope: Scope) -> FieldSet {
    let mut out = FieldSet::new();
    for (path, v) in tracked_roots(rt, obj, scope) {
        walk(rt, path, v, false, &mut out);
    }
    out
}

/// Adds the fields of `v` at `path`; `created` also records created maps as nodes.
fn walk(rt: &ResourceType, path: Path, v: &Value, created: bool, out: &mut FieldSet) {
    match v {
        Value::Null => {}
        Value::Object(m) if !m.is_empty() && !is_atomic_map(rt, &path) => {
            if created && is_granular_map_name(&path) {
                out.insert(path.clone());
            }
            for (k, child) in m {
                let mut p = path.clone();
                p.push(PathElem::field(k));
                walk(rt, p, child, created, out);
            }
        }
        Value::Array(items) => match list_type(rt, &path) {
            ListType::Set => {
                for item in items {
                    let mut p = path.clone();
                    p.push(PathElem::Value(item.to_string()));
                    out.insert(p);
                }
            }
            ListType::Map(keys) if all_keyed(items, keys) => {
                for item in items {
                    let mut p = path.clone();
                    p.push(PathElem::Key(
                        item_key(item, keys).expect("checked by all_keyed"),
                    ));
                    out.insert(p.clone());
                    if let Some(m) = item.as_object() {
                        for (k, child) in m {
                            let mut q = p.clone();
                            q.push(PathElem::field(k));
                            walk(rt, q, child, created, out);
                        }
                    }
                }
            }
            _ => out.insert(path),
        },
        _ => out.insert(path),
    }
}

/// Fields an update changed (set or altered) and removed, for Update managedFields entries.
pub fn diff(rt: &ResourceType, old: &Value, new: &Value, scope: Scope) -> (FieldSet, FieldSet) {
    let mut changed = FieldSet::new();
    let mut removed = FieldSet::new();
    let old_roots = tracked_roots(rt, old, scope);
    let new_roots = tracked_roots(rt, new, scope);
    for (p, n) in &new_roots {
        let o = old_roots.iter().find(|(q, _)| q == p).map(|(_, v)| *v);
        diff_at(rt, p.clone(), o, Some(n), &mut changed, &mut removed);
    }
    for (p, o) in &old_roots {
        if !new_roots.iter().any(|(q, _)| q == p) {
            diff_at(rt, p.clone(), Some(o), None, &mut changed, &mut removed);
        }
    }
    (changed, removed)
}

fn diff_at(
    rt: &ResourceType,
    path: Path,
    old: Option<&Value>,
    new: Option<&Value>,
    changed: &mut FieldSet,
    removed: &mut FieldSet,
) {
    let old = old.filter(|v| !v.is_null());
    let new = new.filter(|v| !v.is_null());
    match (old, new) {
        (None, None) => {}
        (Some(_), None) => removed.insert(path),
        (None, Some(n)) => walk(rt, path, n, true, changed),
        (Some(o), Some(n)) if o == n => {}
        (Some(Value::Object(om)), Some(Value::Object(nm)))
            if !is_atomic_map(rt, &path) && !nm.is_empty() =>
        {
            for (k, nv) in nm {
                let mut p = path.clone();
                p.push(PathElem::field(k));
                diff_at(rt, p, om.get(k), Some(nv), changed, removed);
            }
            for (k, ov) in om {
                if !nm.contains_key(k) {
                    let mut p = path.clone();
                    p.push(PathElem::field(k));
                    diff_at(rt, p, Some(ov), None, changed, removed);
                }
            }
        }
        (Some(Value::Array(oi)), Some(Value::Array(ni))) => match list_type(rt, &path) {
            ListType::Set => {
                for v in ni.iter().filter(|v| !oi.contains(v)) {
                    let mut p = path.clone();
                    p.push(PathElem::Value(v.to_string()));
                    changed.insert(p);
                }
                for v in oi.iter().filter(|v| !ni.contains(v)) {
                    let mut p = path.clone();
                    p.push(PathElem::Value(v.to_string()));
                    removed.insert(p);
                }
            }
            ListType::Map(keys) if all_keyed(oi, keys) && all_keyed(ni, keys) => {
                let keyed = |items: &[Value]| -> Vec<(String, Value)> {
                    items
                        .iter()
                        .map(|i| (item_key(i, keys).expect("checked"), i.clone()))
                        .collect()
                };
                let (ok, nk) = (keyed(oi), keyed(ni));
                for (k, nv) in &nk {
                    let mut p = path.clone();
                    p.push(PathElem::Key(k.clone()));
                    match ok.iter().find(|(q, _)| q == k) {
                        None => {
                            changed.insert(p.clone());
                            walk_item_fields(rt, &p, nv, changed);
                        }
                        Some((_, ov)) => {
                            let (om, nm) = (ov.as_object(), nv.as_object());
                            if let (Some(om), Some(nm)) = (om, nm) {
                                for (f, fv) in nm {
                                    let mut q = p.clone();
                                    q.push(PathElem::field(f));
                                    diff_at(rt, q, om.get(f), Some(fv), changed, removed);
                                }
                                for (f, fv) in om {
                                    if !nm.contains_key(f) {
                                        let mut q = p.clone();
                                        q.push(PathElem::field(f));
                                        diff_at(rt, q, Some(fv), None, changed, removed);
                                    }
                                }
                            }
                        }
                    }
                }
                for (k, _) in &ok {
                    if !nk.iter().any(|(q, _)| q == k) {
                        let mut p = path.clone();
                        p.push(PathElem::Key(k.clone()));
                        removed.insert(p);
                    }
                }
            }
            _ => changed.insert(path),
        },
        (Some(_), Some(n)) => {
            // A scalar changed, or the type changed: the new value is owned from scratch.
            removed.insert(path.clone());
            walk(rt, path, n, true, changed);
        }
    }
}

fn walk_item_fields(rt: &ResourceType, p: &Path, item: &Value, out: &mut FieldSet) {
    if let Some(m) = item.as_object() {
        for (f, fv) in m {
            let mut q = p.clone();
            q.push(PathElem::field(f));
            walk(rt, q, fv, true, out);
        }
    }
}

/// Finds the index of the list item with key `key` in the list at `list_path`.
fn find_item(
    rt: &ResourceType,
    list_path: &[PathElem],
    items: &[Value],
    key: &str,
) -> Option<usize> {
    match list_type(rt, list_path) {
        ListType::Map(keys) => items
            .iter()
            .position(|i| item_key(i, keys).as_deref() == Some(key)),
        _ => None,
    }
}

/// The value at `path` in `obj`, if present.
pub fn value_at<'a>(rt: &ResourceType, obj: &'a Value, path: &[PathElem]) -> Option<&'a Value> {
    let mut cur = obj;
    for (i, pe) in path.iter().enumerate() {
        cur = match pe {
            PathElem::Field(f) => cur.as_object()?.get(f)?,
            PathElem::Key(k) => {
                let items = cur.as_array()?;
                &items[find_item(rt, &path[..i], items, k)?]
            }
            PathElem::Value(v) => cur.as_array()?.iter().find(|x| x.to_string() == *v)?,
        };
    }
    Some(cur)
}

/// Removes the value at `path` from `obj`; a no-op if it is not there.
pub fn remove_at(rt: &ResourceType, obj: &mut Value, path: &[PathElem]) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for (i, pe) in parent_path.iter().enumerate() {
        let next = match pe {
            PathElem::Field(f) => cur.as_object_mut().and_then(|m| m.get_mut(f)),
            PathElem::Key(k) => {
                let idx = cur
                    .as_array()
                    .and_then(|items| find_item(rt, &parent_path[..i], items, k));
                match idx {
                    Some(idx) => cur.as_array_mut().map(|a| &mut a[idx]),
                    None => None,
                }
            }
            PathElem::Value(_) => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    match last {
        PathElem::Field(f) => {
            if let Some(m) = cur.as_object_mut() {
                m.remove(f);
            }
        }
        PathElem::Key(k) => {
            let idx = cur
                .as_array()
                .and_then(|items| find_item(rt, parent_path, items, k));
            if let (Some(idx), Some(a)) = (idx, cur.as_array_mut()) {
                a.remove(idx);
            }
        }
        PathElem::Value(v) => {
            if let Some(a) = cur.as_array_mut() {
                a.retain(|x| *x.to_string() != **v);
            }
        }
    }
}

/// Merges an applied configuration into `live`: the configuration wins where it sets a value,
/// keyed lists merge by key, sets merge, everything else is replaced.
pub fn merge(rt: &ResourceType, path: &mut Path, live: &mut Value, cfg: &Value) {
    match (live, cfg) {
        (Value::Object(lm), Value::Object(cm)) if !is_atomic_map(rt, path) => {
            for (k, cv) in cm {
                if cv.is_null() {
                    continue;
                }
                path.push(PathElem::field(k));
                match lm.get_mut(k) {
                    Some(lv) => merge(rt, path, lv, cv),
                    None => {
                        lm.insert(k.clone(), stripped(cv));
                    }
                }
                path.pop();
            }
        }
        (Value::Array(li), Value::Array(ci)) => match list_type(rt, path) {
            ListType::Set => {
                for c in ci {
                    if !li.contains(c) {
                        li.push(c.clone());
                    }
                }
            }
            ListType::Map(keys) if all_keyed(li, keys) && all_keyed(ci, keys) => {
                for c in ci {
                    let key = item_key(c, keys).expect("checked by all_keyed");
                    match li
                        .iter()
                        .position(|l| item_key(l, keys).as_deref() == Some(&key))
                    {
                        Some(idx) => {
                            path.push(PathElem::Key(key));
                            merge(rt, path, &mut li[idx], c);
                            path.pop();
                        }
                        None => li.push(stripped(c)),
                    }
                }
            }
            _ => *li = ci.iter().map(stripped).collect(),
        },
        (live, cfg) => *live = stripped(cfg),
    }
}

fn stripped(v: &Value) -> Value {
    let mut v = v.clone();
    crate::object::strip_nulls(&mut v);
    v
}

/// An empty object, the starting point of an apply that creates.
pub fn empty() -> Value {
    Value::Object(Map::new())
}
