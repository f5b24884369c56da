//! Non-apply patches (SIM_SPEC §3 "Other patch types"): RFC 6902 JSON patch, RFC 7386 merge
//! patch and strategic merge patch with the list keys of `ssa::schema`.

use serde_json::{Map, Value};

use crate::resources::ResourceType;
use crate::ssa::fieldset::{Path, PathElem};
use crate::ssa::schema::{ListType, is_atomic_map, list_type};
use crate::status::{ApiError, ApiResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    Json,
    Merge,
    StrategicMerge,
}

impl PatchKind {
    /// Maps a PATCH Content-Type to its kind; `None` for apply and unknown types.
    pub fn from_content_type(ct: &str) -> Option<PatchKind> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Some(PatchKind::StrategicMerge),
            _ => None,
        }
    }
}

pub fn apply_patch(
    rt: &ResourceType,
    kind: PatchKind,
    current: &Value,
    patch: &Value,
) -> ApiResult<Value> {
    let mut doc = current.clone();
    match kind {
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| {
                ApiError::bad_request(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
            json_patch::patch(&mut doc, &ops).map_err(|e| {
                ApiError::new(
                    422,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
                .without_details()
            })?;
        }
        PatchKind::Merge => {
            if !patch.is_object() {
                return Err(ApiError::bad_request(
                    "the merge patch must be a JSON object",
                ));
            }
            json_patch::merge(&mut doc, patch);
        }
        PatchKind::StrategicMerge => {
            if rt.custom {
                return Err(ApiError::new(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                )
                .without_details());
            }
            if !patch.is_object() {
                return Err(ApiError::bad_request(
                    "the strategic merge patch must be a JSON object",
                ));
            }
            strategic_merge(rt, &mut Vec::new(), &mut doc, patch);
        }
    }
    Ok(doc)
}

fn is_directive(k: &str) -> bool {
    k.starts_with('$')
}

/// Removes patch directives from a value that is copied in whole.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, v)| !is_directive(k) && !v.is_null())
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(clean).collect()),
        other => other.clone(),
    }
}

fn strategic_merge(rt: &ResourceType, path: &mut Path, target: &mut Value, patch: &Value) {
    let Some(pm) = patch.as_object() else {
        *target = clean(patch);
        return;
    };
    if pm.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = clean(patch);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let tm = target.as_object_mut().expect("made an object above");
    for (k, pv) in pm {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(del)) = (tm.get_mut(field), pv.as_array()) {
                items.retain(|i| !del.contains(i));
            }
            continue;
        }
        if is_directive(k) {
            continue;
        }
        path.push(PathElem::field(k));
        if pv.is_null() {
            tm.remove(k);
        } else {
            match (tm.get_mut(k), pv) {
                (Some(tv @ Value::Object(_)), Value::Object(_)) if !is_atomic_map(rt, path) => {
                    strategic_merge(rt, path, tv, pv);
                }
                (Some(Value::Array(items)), Value::Array(patch_items)) => {
                    merge_list(rt, path, items, patch_items);
                }
                _ => {
                    let mut fresh = Value::Null;
                    if let Value::Array(patch_items) = pv {
                        let mut items = Vec::new();
                        merge_list(rt, path, &mut items, patch_items);
                        fresh = Value::Array(items);
                    } else if pv.is_object() && !is_atomic_map(rt, path) {
                        strategic_merge(rt, path, &mut fresh, pv);
                    } else {
                        fresh = clean(pv);
                    }
                    tm.insert(k.clone(), fresh);
                }
            }
        }
        path.pop();
    }
}

fn merge_list(rt: &ResourceType, path: &mut Path, items: &mut Vec<Value>, patch_items: &[Value]) {
    match list_type(rt, path) {
        ListType::Map(keys) => {
            let key = keys[0];
            if patch_items
                .iter()
                .any(|p| p.get("$patch").and_then(Value::as_str) == Some("replace"))
            {
                *items = patch_items
                    .iter()
                    .filter(|p| p.get("$patch").is_none())
                    .map(clean)
                    .collect();
                return;
            }
            for p in patch_items {
                let Some(kv) = p.get(key) else {
                    items.push(clean(p));
                    continue;
                };
                let pos = items.iter().position(|i| i.get(key) == Some(kv));
                if p.get("$patch").and_then(Value::as_str) == Some("delete") {
                    if let Some(pos) = pos {
                        items.remove(pos);
                    }
                    continue;
                }
                match pos {
                    Some(pos) => {
                        let mut kvals = serde_json::Map::new();
                        kvals.insert(key.to_string(), kv.clone());
                        path.push(PathElem::Key(Value::Object(kvals).to_string()));
                        strategic_merge(rt, path, &mut items[pos], p);
                        path.pop();
                    }
                    None => items.push(clean(p)),
                }
            }
        }
        ListType::Set => {
            for p in patch_items {
                if !items.contains(p) {
                    items.push(p.clone());
                }
            }
        }
        ListType::Atomic => *items = patch_items.iter().map(clean).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;
    use serde_json::json;

    #[test]
    fn strategic_merge_keeps_other_containers() {
        let reg = Registry::new();
        let rt = reg.lookup("apps", "v1", "deployments").unwrap();
        let cur = json!({"spec":{"template":{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"1"}]}}}});
        let patch = json!({"spec":{"template":{"spec":{"containers":[{"name":"b","image":"2"},{"name":"a","$patch":"delete"}],"$setElementOrder/containers":[{"name":"b"}]}}}});
        let out = apply_patch(&rt, PatchKind::StrategicMerge, &cur, &patch).unwrap();
        assert_eq!(
            out,
            json!({"spec":{"template":{"spec":{"containers":[{"name":"b","image":"2"}]}}}})
        );
    }
}
