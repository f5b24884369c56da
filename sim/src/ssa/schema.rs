//! The little schema knowledge server-side apply needs: which lists are keyed (and by what),
//! which are sets, and which maps are atomic (SIM_SPEC §3 list-key table).
//!
//! Built-in kinds follow the `listType`/`listMapKey` markers of the Kubernetes API types;
//! custom resources treat every list as atomic unless their schema says otherwise.

use std::collections::BTreeMap;

use serde_json::Value;

use super::fieldset::PathElem;
use crate::resources::ResourceType;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    Atomic,
    Set,
    Map(&'static [&'static str]),
}

fn field_names(path: &[PathElem]) -> Vec<&str> {
    path.iter()
        .filter_map(|p| match p {
            PathElem::Field(f) => Some(f.as_str()),
            _ => None,
        })
        .collect()
}

/// The type of the list found at `path`.
pub fn list_type(rt: &ResourceType, path: &[PathElem]) -> ListType {
    let names = field_names(path);
    let Some(last) = names.last().copied() else {
        return ListType::Atomic;
    };
    if names.first() == Some(&"metadata") {
        return match last {
            "finalizers" => ListType::Set,
            "ownerReferences" => ListType::Map(&["uid"]),
            _ => ListType::Atomic,
        };
    }
    if rt.custom {
        return ListType::Atomic;
    }
    let in_container = names
        .iter()
        .any(|n| matches!(*n, "containers" | "initContainers" | "ephemeralContainers"));
    match last {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims" => ListType::Map(&["name"]),
        "volumeMounts" => ListType::Map(&["mountPath"]),
        "volumeDevices" => ListType::Map(&["devicePath"]),
        "ports" if in_container => ListType::Map(&["containerPort", "protocol"]),
        "ports" if rt.group.is_empty() && rt.plural == "services" && names == ["spec", "ports"] => {
            ListType::Map(&["port", "protocol"])
        }
        "conditions" => ListType::Map(&["type"]),
        "hostAliases" => ListType::Map(&["ip"]),
        "podIPs" | "hostIPs" => ListType::Map(&["ip"]),
        "topologySpreadConstraints" => ListType::Map(&["topologyKey", "whenUnsatisfiable"]),
        _ => ListType::Atomic,
    }
}

/// Whether the map or struct at `path` is owned as one leaf (label selectors).
pub fn is_atomic_map(rt: &ResourceType, path: &[PathElem]) -> bool {
    let names = field_names(path);
    match names.last().copied() {
        Some("selector") => {
            !(rt.group.is_empty()
                && matches!(rt.plural.as_str(), "services" | "replicationcontrollers"))
        }
        Some("labelSelector" | "namespaceSelector" | "podSelector") => true,
        _ => false,
    }
}

/// The canonical key of an associative-list item, or None if a key field is missing.
pub fn item_key(item: &Value, keys: &[&str]) -> Option<String> {
    let obj = item.as_object()?;
    let mut key = BTreeMap::new();
    for k in keys {
        match obj.get(*k) {
            Some(v) if !v.is_null() => {
                key.insert(k.to_string(), v.clone());
            }
            // `protocol` defaults to TCP on ports, and the key is computed after defaulting.
            _ if *k == "protocol" => {
                key.insert(k.to_string(), Value::String("TCP".into()));
            }
            _ => return None,
        }
    }
    serde_json::to_string(&key).ok()
}

/// Whether every item of a keyed list carries its key (otherwise the list is treated as atomic).
pub fn all_keyed(items: &[Value], keys: &[&str]) -> bool {
    items.iter().all(|i| item_key(i, keys).is_some())
}
