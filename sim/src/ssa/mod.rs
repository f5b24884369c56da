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
#[derive(Clone, Debug)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: Option<String>,
    pub fields: FieldSet,
    /// The entry's JSON as it was taken from the object, while nothing in the entry has
    /// changed: written back as it is instead of being rendered again (most writes change one
    /// manager's entry, and rendering a field set is most of the cost of writing the list).
    raw: Option<Value>,
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

fn parse_entry(e: &Value) -> Entry {
    Entry {
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
        raw: None,
    }
}

/// Reads `metadata.managedFields`.
pub fn entries(obj: &Value) -> Vec<Entry> {
    object::at(obj, &["metadata", "managedFields"])
        .and_then(Value::as_array)
        .map(|a| a.iter().map(parse_entry).collect())
        .unwrap_or_default()
}

/// Takes `metadata.managedFields` out of an object whose list [`write_entries`] wrote (a
/// stored object or a copy of one): entries nothing changes go back as they were.
pub fn take_entries(obj: &mut Value) -> Vec<Entry> {
    match object::remove(obj, &["metadata", "managedFields"]) {
        Some(Value::Array(list)) => list
            .into_iter()
            .map(|v| {
                let mut e = parse_entry(&v);
                e.raw = Some(v);
                e
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Writes `metadata.managedFields`, dropping entries whose set is empty.
pub fn write_entries(obj: &mut Value, entries: Vec<Entry>) {
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            if let Some(raw) = e.raw {
                return raw;
            }
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
        let mut touched = false;
        for p in removed.iter() {
            touched |= e.fields.remove_under(p);
        }
        if !e.is(w.manager, "Update", w.scope) {
            for p in changed.iter() {
                touched |= e.fields.remove_under(p);
            }
        }
        if touched {
            e.raw = None;
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
            e.raw = None;
        }
        None => entries.push(Entry {
            manager: w.manager.to_string(),
            operation: "Update".to_string(),
            api_version: w.api_version.to_string(),
            time: Some(w.now.to_string()),
            subresource: subresource_of(w.scope).map(str::to_string),
            fields: changed,
            raw: None,
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
    let mut merged = live.cloned().unwrap_or_else(tree::empty);
    // The live object's entries, moved out of the copy (which gets the new list at the end).
    let mut entries = take_entries(&mut merged);

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
                entries[*idx].raw = None;
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
            e.raw = None;
        }
        None => entries.push(Entry {
            manager: w.manager.to_string(),
            operation: "Apply".to_string(),
            api_version: w.api_version.to_string(),
            time: Some(w.now.to_string()),
            subresource: subresource_of(w.scope).map(str::to_string),
            fields: applied,
            raw: None,
        }),
    }
    write_entries(&mut merged, entries);
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
            raw: None,
        };
        write_entries(&mut live, vec![migrated]);
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
            raw: None,
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

    #[test]
    fn entries_taken_from_an_object_are_rendered_again_only_when_they_change() {
        let rt = Registry::new().lookup("", "v1", "configmaps").unwrap();
        let entry = |manager: &str, op: &str, fields: Value| {
            json!({"manager": manager, "operation": op, "apiVersion": "v1",
                   "time": "2025-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": fields})
        };
        let applier = entry(
            "applier",
            "Apply",
            json!({"f:data": {"f:a": {}, "f:b": {}}}),
        );
        let labeller = entry(
            "labeller",
            "Update",
            json!({"f:metadata": {"f:labels": {"f:x": {}}}}),
        );
        let old = json!({"metadata": {"name": "c", "labels": {"x": "1"},
                         "managedFields": [applier, labeller.clone()]},
                         "data": {"a": "1", "b": "2"}});
        let mut new = old.clone();
        new["data"]["a"] = json!("9");
        let mut entries = take_entries(&mut new);
        assert!(object::at(&new, &["metadata", "managedFields"]).is_none());
        record_update(&rt, &mut entries, &old, &new, &writer("editor"));
        write_entries(&mut new, entries);
        let written = new["metadata"]["managedFields"].as_array().unwrap();
        // The applier lost `a` to the editor: rendered again without it.
        assert_eq!(written[0]["fieldsV1"], json!({"f:data": {"f:b": {}}}));
        // Nobody touched the labeller's entry: written back as it was.
        assert_eq!(written[1], labeller);
        assert_eq!(written[2]["manager"], "editor");
        assert_eq!(written[2]["fieldsV1"], json!({"f:data": {"f:a": {}}}));
        assert_eq!(written[2]["time"], "2026-01-01T00:00:00Z");
    }
}
