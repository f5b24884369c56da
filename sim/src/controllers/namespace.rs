//! Namespace lifecycle (SIM_SPEC §2.7): every active namespace gets a `default`
//! ServiceAccount; a terminating one has its contents deleted and is removed once empty.

use std::time::Duration;

use serde_json::json;

use super::WorkKey;
use crate::apiserver::{Cluster, DeleteOpts, WriteOpts};
use crate::object;
use crate::store::ObjKey;

pub fn reconcile(c: &mut Cluster, key: &ObjKey) {
    let Some(ns_obj) = c.store.get(key).cloned() else {
        return;
    };
    let ns = key.name.clone();
    if !object::is_deleting(&ns_obj) {
        let sa_rt = c.rt("", "serviceaccounts");
        if c.get_stored(&sa_rt, &ns, "default").is_none() {
            let body = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
            let _ = c.create(
                &sa_rt,
                &ns,
                body,
                &WriteOpts::system("kube-controller-manager"),
            );
        }
        return;
    }
    // Terminating: delete what is left, then the namespace itself.
    let namespaced: Vec<_> = c.registry.all().filter(|r| r.namespaced).cloned().collect();
    let mut remaining = 0;
    for rt in namespaced {
        // One served version per resource is enough.
        if c.registry
            .by_key(&rt.key())
            .is_some_and(|p| p.version != rt.version)
        {
            continue;
        }
        for obj in c.store.list(&rt.key(), Some(&ns)) {
            remaining += 1;
            if !object::is_deleting(&obj) {
                let _ = c.delete(&rt, &ns, object::name(&obj), &DeleteOpts::default());
            }
        }
    }
    if remaining == 0 {
        let rt = c.rt("", "namespaces");
        let mut obj = (*ns_obj).clone();
        object::remove(&mut obj, &["spec", "finalizers"]);
        if object::finalizers(&obj).is_empty() {
            c.store_remove(&rt, obj);
        }
    } else {
        c.work.add_at(
            c.now().plus(Duration::from_millis(500)),
            WorkKey::Obj(key.clone()),
        );
    }
}
