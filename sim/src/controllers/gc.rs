//! The garbage collector (SIM_SPEC §2.7 "Propagation"): deletes dependents whose owners are
//! all gone, carries out Foreground deletion, and orphans dependents for the `orphan` finalizer.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::apiserver::{Cluster, DeleteOpts, Propagation};
use crate::object;
use crate::resources::ResourceType;
use crate::store::ObjKey;

const MANAGER: &str = "kube-controller-manager";

enum Action {
    Delete(ObjKey, Propagation),
    StripOwner(ObjKey, String),
    DropFinalizer(ObjKey, &'static str),
}

pub fn run(c: &mut Cluster) {
    // Decide from the store's uid and owner indexes (no copies), then act.
    let store = &c.store;
    let mut actions = Vec::new();
    let mut doomed: BTreeSet<ObjKey> = BTreeSet::new();
    for (key, obj) in store.owned() {
        if object::is_deleting(obj) {
            continue;
        }
        let owners: Vec<&Arc<Value>> = object::owner_uids(obj)
            .filter_map(|u| store.by_uid(u).map(|(_, v)| v))
            .collect();
        if owners.is_empty() {
            if doomed.insert(key.clone()) {
                actions.push(Action::Delete(key.clone(), Propagation::Background));
            }
            continue;
        }
        // Dependents of an owner in foreground deletion go too (foreground, if they have their own).
        let foreground = owners.iter().any(|o| {
            object::is_deleting(o)
                && object::finalizers(o)
                    .iter()
                    .any(|f| f == "foregroundDeletion")
        }) && owners.iter().all(|o| object::is_deleting(o));
        if foreground && doomed.insert(key.clone()) {
            let policy = if store.has_dependents(object::uid(obj)) {
                Propagation::Foreground
            } else {
                Propagation::Background
            };
            actions.push(Action::Delete(key.clone(), policy));
        }
    }
    for (key, obj) in store.deleting() {
        let uid = object::uid(obj);
        let fins = object::finalizers(obj);
        if fins.iter().any(|f| f == "orphan") {
            for (d, _) in store.dependents(uid) {
                actions.push(Action::StripOwner(d.clone(), uid.to_string()));
            }
            actions.push(Action::DropFinalizer(key.clone(), "orphan"));
        } else if fins.iter().any(|f| f == "foregroundDeletion") && !store.has_dependents(uid) {
            actions.push(Action::DropFinalizer(key.clone(), "foregroundDeletion"));
        }
    }

    for a in actions {
        match a {
            Action::Delete(k, policy) => {
                if let Some(rt) = c.registry.by_key(&k.res) {
                    let opts = DeleteOpts {
                        propagation: Some(policy),
                        ..Default::default()
                    };
                    let _ = c.delete(&rt, &k.ns, &k.name, &opts);
                }
            }
            Action::StripOwner(k, owner_uid) => {
                edit(c, &k, |obj| {
                    let refs: Vec<Value> = object::at(obj, &["metadata", "ownerReferences"])
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter(|r| object::str_at(r, &["uid"]) != Some(owner_uid.as_str()))
                                .cloned()
                                .collect()
                        })
                        .unwrap_or_default();
                    if refs.is_empty() {
                        object::remove(obj, &["metadata", "ownerReferences"]);
                    } else {
                        object::set(obj, &["metadata", "ownerReferences"], json!(refs));
                    }
                });
            }
            Action::DropFinalizer(k, f) => {
                edit(c, &k, |obj| {
                    let fins: Vec<String> = object::finalizers(obj)
                        .into_iter()
                        .filter(|x| x != f)
                        .collect();
                    object::set_finalizers(obj, &fins);
                });
            }
        }
    }
}

fn edit(c: &mut Cluster, key: &ObjKey, f: impl FnOnce(&mut Value)) {
    let Some(rt): Option<Arc<ResourceType>> = c.registry.by_key(&key.res) else {
        return;
    };
    let Some(obj) = c.store.get(key).cloned() else {
        return;
    };
    let mut obj = c.present(&rt, &obj);
    f(&mut obj);
    let _ = c.write_object(&rt, obj, MANAGER);
}
