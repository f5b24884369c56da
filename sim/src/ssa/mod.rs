//! Server-side apply and managedFields (SIM_SPEC §3): a simplified structured-merge-diff.
//!
//! Owns field ownership: computing Paths(C), conflicts, force, removal of fields a manager
//! stopped applying, and the Update bookkeeping of every other write. It never stores
//! anything; the write path (`apiserver`) calls in and commits the result.

pub mod fieldset;
pub mod schema;
pub mod tree;

use serde_json::{Map, Value, json};

use crate::object;
use crate::resources::ResourceType;
use crate::status::{ApiError, Cause};
use fieldset::{FieldSet, Path, PathElem, path_string};
pub use tree::Scope;

/// One `metadata.managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: Option<String>,
    pub fields: FieldSet,
}

impl Entry {
    fn is(&self, manager: &str, operation: &str, scope: Scope) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource_of(scope)
    }

    /// How conflict messages name this manager (apiserver `printManager`).
    fn printed(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            s.push_str(&format!(" with subresource {sub:?}"));
        }
        if self.operation == "Update" {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

fn subresource_of(scope: Scope) -> Option<&'static str> {
    match scope {
        Scope::Main => None,
        Scope::Status => Some("status"),
    }
}

/// Reads `metadata.managedFields`.
pub fn entries(obj: &Value) -> Vec<Entry> {
    object::at(obj, &["metadata", "managedFields"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| Entry {
                    manager: object::str_at(e, &["manager"]).unwrap_or("").to_string(),
                    operation: object::str_at(e, &["operation"])
                        .unwrap_or("Update")
                        .to_string(),
                    api_version: object::str_at(e, &["apiVersion"]).unwrap_or("").to_string(),
                    time: object::str_at(e, &["time"]).map(str::to_string),
                    subresource: object::str_at(e, &["subresource"]).map(str::to_string),
                    fields: e
                        .get("fieldsV1")
                        .map(FieldSet::from_fields_v1)
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `metadata.managedFields`, dropping entries whose set is empty.
pub fn write_entries(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut m = Map::new();
            m.insert("manager".into(), json!(e.manager));
            m.insert("operation".into(), json!(e.operation));
            m.insert("apiVersion".into(), json!(e.api_version));
            if let Some(t) = &e.time {
                m.insert("time".into(), json!(t));
            }
            m.insert("fieldsType".into(), json!("FieldsV1"));
            m.insert("fieldsV1".into(), e.fields.to_fields_v1());
            if let Some(s) = &e.subresource {
                m.insert("subresource".into(), json!(s));
            }
            Value::Object(m)
        })
        .collect();
    if list.is_empty() {
        object::remove(obj, &["metadata", "managedFields"]);
    } else {
        object::set(obj, &["metadata", "managedFields"], Value::Array(list));
    }
}

/// Who is writing, and how.
#[derive(Clone, Debug)]
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub scope: Scope,
    pub now: &'a str,
}

/// Records an Update operation: the writer takes every changed field and nobody else keeps
/// them; removed fields leave every set. `entries` starts as the live object's entries.
pub fn record_update(
    rt: &ResourceType,
    entries: &mut Vec<Entry>,
    old: &Value,
    new: &Value,
    w: &Writer,
) {
    let (changed, removed) = tree::diff(rt, old, new, w.scope);
    if changed.is_empty() && removed.is_empty() {
        return;
    }
    for e in entries.iter_mut() {
        for p in removed.iter() {
            e.fields.remove_under(p);
        }
        if !e.is(w.manager, "Update", w.scope) {
            for p in changed.iter() {
                e.fields.remove_under(p);
            }
        }
    }
    if changed.is_empty() {
        entries.retain(|e| !e.fields.is_empty());
        return;
    }
    match entries
        .iter_mut()
        .find(|e| e.is(w.manager, "Update", w.scope))
    {
        Some(e) => {
            e.fields.union_with(&changed);
            e.time = Some(w.now.to_string());
            e.api_version = w.api_version.to_string();
        }
        None => entries.push(Entry {
            manager: w.manager.to_string(),
            operation: "Update".to_string(),
            api_version: w.api_version.to_string(),
            time: Some(w.now.to_string()),
            subresource: subresource_of(w.scope).map(str::to_string),
            fields: changed,
        }),
    }
    entries.retain(|e| !e.fields.is_empty());
}

/// Applies `config` as `w.manager` onto `live` (None when the apply creates). Returns the
/// merged object carrying the new managedFields, or a 409 listing the conflicts.
pub fn apply(
    rt: &ResourceType,
    live: Option<&Value>,
    config: &Value,
    w: &Writer,
    force: bool,
) -> Result<Value, ApiError> {
    let applied = tree::fields_of(rt, config, w.scope);
    let mut entries = live.map(entries).unwrap_or_default();
    let mut merged = live.cloned().unwrap_or_else(tree::empty);

    if let Some(live) = live {
        let conflicts = find_conflicts(rt, live, config, &applied, &entries, w);
        if !conflicts.is_empty() {
            if !force {
                let named = conflicts
                    .iter()
                    .map(|(idx, p)| (entries[*idx].printed(), p.clone()))
                    .collect();
                return Err(conflict_status(named));
            }
            for (idx, path) in &conflicts {
                entries[*idx].fields.remove_under(path);
            }
        }
    }

    // Merge only the part of the configuration this endpoint may change.
    let mut cfg = config.clone();
    restrict_to_scope(rt, &mut cfg, w.scope);
    tree::merge(rt, &mut Vec::new(), &mut merged, &cfg);

    // Removal: fields this manager applied before and no longer does, unless others own them.
    let previous = entries
        .iter()
        .find(|e| e.is(w.manager, "Apply", w.scope))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let dropped = previous.difference(&applied);
    let mut doomed: Vec<&Path> = dropped
        .iter()
        .filter(|p| {
            // Still applied beneath (a map or list item whose children remain), or owned by
            // someone else: only disowned, not removed.
            !applied.has_under(p)
                && !entries
                    .iter()
                    .any(|e| !e.is(w.manager, "Apply", w.scope) && e.fields.has_under(p))
        })
        .collect();
    // Deepest first, so removing a list item cannot shift a path computed for a sibling.
    doomed.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in doomed {
        tree::remove_at(rt, &mut merged, p);
    }

    match entries
        .iter_mut()
        .find(|e| e.is(w.manager, "Apply", w.scope))
    {
        Some(e) => {
            if e.fields != applied {
                e.fields = applied;
                e.api_version = w.api_version.to_string();
            }
            e.time = Some(w.now.to_string());
        }
        None => entries.push(Entry {
            manager: w.manager.to_string(),
            operation: "Apply".to_string(),
            api_version: w.api_version.to_string(),
            time: Some(w.now.to_string()),
            subresource: subresource_of(w.scope).map(str::to_string),
            fields: applied,
        }),
    }
    write_entries(&mut merged, &entries);
    Ok(merged)
}

/// Keeps only what `scope` may write: `.status` for the status subresource, the rest otherwise.
fn restrict_to_scope(rt: &ResourceType, cfg: &mut Value, scope: Scope) {
    let Some(m) = cfg.as_object_mut() else { return };
    match scope {
        Scope::Status => m.retain(|k, _| k == "status"),
        Scope::Main => {
            if rt.status {
                m.remove("status");
            }
            if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
                for k in [
                    "uid",
                    "resourceVersion",
                    "generation",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "managedFields",
                    "selfLink",
                ] {
                    meta.remove(k);
                }
            }
        }
    }
    m.remove("apiVersion");
    m.remove("kind");
}

/// (entry index, path) pairs where another manager owns a field the configuration changes.
fn find_conflicts(
    rt: &ResourceType,
    live: &Value,
    config: &Value,
    applied: &FieldSet,
    entries: &[Entry],
    w: &Writer,
) -> Vec<(usize, Path)> {
    let mut out = Vec::new();
    for path in applied.iter() {
        if !matches!(path.last(), Some(PathElem::Field(_))) {
            continue;
        }
        let wanted = tree::value_at(rt, config, path);
        let current = tree::value_at(rt, live, path);
        if same_value(wanted, current) {
            continue;
        }
        for (idx, e) in entries.iter().enumerate() {
            if !e.is(w.manager, "Apply", w.scope) && e.fields.contains(path) {
                out.push((idx, path.clone()));
            }
        }
    }
    out
}

fn same_value(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            let (mut a, mut b) = (a.clone(), b.clone());
            object::strip_nulls(&mut a);
            object::strip_nulls(&mut b);
            a == b
        }
        (None, None) => true,
        _ => false,
    }
}

/// The 409 of a conflicting apply (apiserver `internal/conflict.go`), from (manager, path) pairs.
pub fn conflict_status(mut conflicts: Vec<(String, Path)>) -> ApiError {
    conflicts.sort();
    conflicts.dedup();
    let causes: Vec<Cause> = conflicts
        .iter()
        .map(|(m, p)| {
            Cause::new(
                "FieldManagerConflict",
                format!("conflict with {m}"),
                path_string(p),
            )
        })
        .collect();
    let message = if conflicts.len() == 1 {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            conflicts[0].0,
            path_string(&conflicts[0].1)
        )
    } else {
        let mut lines = Vec::new();
        let mut last: Option<&str> = None;
        for (m, p) in &conflicts {
            if last != Some(m.as_str()) {
                lines.push(format!("conflicts with {m}:"));
                last = Some(m.as_str());
            }
            lines.push(format!("- {}", path_string(p)));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    let mut e = ApiError::new(409, "Conflict", message);
    e.details_mut().causes = causes;
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;
    use serde_json::json;

    fn writer(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            api_version: "v1",
            scope: Scope::Main,
            now: "2026-01-01T00:00:00Z",
        }
    }

    #[test]
    fn a_map_node_in_the_old_set_is_not_removed_while_its_keys_are_applied() {
        // kubectl's client-side-apply migration hands an Apply entry sets with `".": {}` nodes.
        let rt = Registry::new().lookup("", "v1", "configmaps").unwrap();
        let mut live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"app": "x"}}});
        let migrated = Entry {
            manager: "kubectl".into(),
            operation: "Apply".into(),
            api_version: "v1".into(),
            time: None,
            subresource: None,
            fields: FieldSet::from_fields_v1(
                &json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}),
            ),
        };
        write_entries(&mut live, &[migrated]);
        let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"app": "x"}}});
        let out = apply(&rt, Some(&live), &cfg, &writer("kubectl"), false).unwrap();
        assert_eq!(out["metadata"]["labels"]["app"], "x");
    }

    #[test]
    fn update_takes_changed_fields_from_other_managers() {
        let rt = Registry::new().lookup("", "v1", "configmaps").unwrap();
        let old = json!({"data": {"a": "1", "b": "2"}});
        let new = json!({"data": {"a": "9", "b": "2"}});
        let mut entries = vec![Entry {
            manager: "applier".into(),
            operation: "Apply".into(),
            api_version: "v1".into(),
            time: None,
            subresource: None,
            fields: FieldSet::from_fields_v1(&json!({"f:data": {"f:a": {}, "f:b": {}}})),
        }];
        record_update(&rt, &mut entries, &old, &new, &writer("editor"));
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].fields.to_fields_v1(),
            json!({"f:data": {"f:b": {}}})
        );
        assert_eq!(entries[1].manager, "editor");
        assert_eq!(
            entries[1].fields.to_fields_v1(),
            json!({"f:data": {"f:a": {}}})
        );
    }
}
