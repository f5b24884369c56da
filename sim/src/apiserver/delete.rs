//! Deletion (SIM_SPEC §2.7): preconditions, graceful pod termination, finalizers, propagation
//! policies (whose follow-up work the garbage collector in `controllers::gc` does) and
//! deletecollection.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Cluster;
use super::read::ListOpts;
use crate::object;
use crate::resources::ResourceType;
use crate::status::{ApiError, ApiResult, delete_success};
use crate::store::ObjKey;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    Orphan,
    Background,
    Foreground,
}

impl Propagation {
    pub fn parse(s: &str) -> Option<Propagation> {
        match s {
            "Orphan" => Some(Propagation::Orphan),
            "Background" => Some(Propagation::Background),
            "Foreground" => Some(Propagation::Foreground),
            _ => None,
        }
    }
}

/// DeleteOptions of one request.
#[derive(Clone, Debug, Default)]
pub struct DeleteOpts {
    pub propagation: Option<Propagation>,
    pub grace_period: Option<i64>,
    pub dry_run: bool,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

/// What a delete answered.
#[derive(Clone, Debug)]
pub enum Deleted {
    /// Removed now: the `Status` Success body.
    Gone(Value),
    /// Still there with `deletionTimestamp` (finalizers, graceful pod, foreground, orphan).
    Pending(Value),
}

/// Kubernetes' warning when a Job is deleted without a propagation policy (`k-job-storage`).
pub const JOB_ORPHAN_WARNING: &str = "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning";

impl Cluster {
    pub fn delete(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: &str,
        name: &str,
        opts: &DeleteOpts,
    ) -> ApiResult<(Deleted, Option<String>)> {
        let old = self
            .get_stored(rt, ns, name)
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        if let Some(uid) = &opts.uid
            && uid != object::uid(&old)
        {
            return Err(ApiError::conflict(
                rt,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    object::uid(&old)
                ),
            ));
        }
        if let Some(rv) = &opts.resource_version
            && Some(rv.as_str()) != object::resource_version(&old)
        {
            return Err(ApiError::conflict(
                rt,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    object::resource_version(&old).unwrap_or("")
                ),
            ));
        }
        let mut warning = None;
        let policy = match opts.propagation {
            Some(p) => p,
            None if rt.is("batch", "jobs") => {
                warning = Some(JOB_ORPHAN_WARNING.to_string());
                Propagation::Orphan
            }
            None => Propagation::Background,
        };

        let mut obj = (*old).clone();
        let now = self.now();
        let mut finalizers = object::finalizers(&obj);
        let already_deleting = object::is_deleting(&obj);
        match policy {
            Propagation::Orphan
                if !already_deleting && !finalizers.iter().any(|f| f == "orphan") =>
            {
                finalizers.push("orphan".into());
            }
            Propagation::Foreground
                if !already_deleting && !finalizers.iter().any(|f| f == "foregroundDeletion") =>
            {
                finalizers.push("foregroundDeletion".into());
            }
            _ => {}
        }

        let is_pod = rt.is("", "pods");
        let is_ns = rt.is("", "namespaces");
        let grace = if is_pod {
            opts.grace_period
                .or_else(|| object::i64_at(&obj, &["spec", "terminationGracePeriodSeconds"]))
                .unwrap_or(30)
                .max(0)
        } else {
            0
        };
        // A pod whose phase is final needs no grace.
        let finished_pod = is_pod
            && matches!(
                object::str_at(&obj, &["status", "phase"]),
                Some("Succeeded" | "Failed")
            );
        let graceful = is_pod && grace > 0 && !finished_pod;

        if !finalizers.is_empty() || graceful || is_ns {
            if opts.dry_run {
                return Ok((Deleted::Pending(self.present(rt, &obj)), warning));
            }
            object::set_finalizers(&mut obj, &finalizers);
            if !already_deleting {
                let at = if graceful {
                    now.plus(std::time::Duration::from_secs(grace as u64))
                } else {
                    now
                };
                object::set(
                    &mut obj,
                    &["metadata", "deletionTimestamp"],
                    json!(at.rfc3339()),
                );
                object::set(
                    &mut obj,
                    &["metadata", "deletionGracePeriodSeconds"],
                    json!(grace),
                );
                if is_ns {
                    object::set(&mut obj, &["status", "phase"], json!("Terminating"));
                }
            } else if is_pod && !graceful {
                // A second delete with grace 0 forces the pod out now.
                object::set(
                    &mut obj,
                    &["metadata", "deletionGracePeriodSeconds"],
                    json!(0),
                );
            }
            let stays = !finalizers.is_empty() || graceful || is_ns;
            if stays {
                let stored = self.store_write(rt, obj);
                return Ok((Deleted::Pending(self.present(rt, &stored)), warning));
            }
        }
        if opts.dry_run {
            return Ok((
                Deleted::Gone(delete_success(rt, name, object::uid(&obj))),
                warning,
            ));
        }
        let uid = object::uid(&obj).to_string();
        self.store_remove(rt, obj);
        Ok((Deleted::Gone(delete_success(rt, name, &uid)), warning))
    }

    /// Deletes every matching object; returns the list of what was deleted.
    pub fn delete_collection(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: Option<&str>,
        list: &ListOpts,
        opts: &DeleteOpts,
    ) -> ApiResult<Value> {
        let listed = self.list(
            rt,
            ns,
            &ListOpts {
                limit: None,
                continue_token: None,
                ..list.clone()
            },
        )?;
        let mut deleted = Vec::new();
        for item in listed
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let (ins, name) = (
                object::namespace(&item).to_string(),
                object::name(&item).to_string(),
            );
            if let Ok((outcome, _)) = self.delete(rt, &ins, &name, opts) {
                deleted.push(match outcome {
                    Deleted::Pending(o) => o,
                    Deleted::Gone(_) => item,
                });
            }
        }
        Ok(json!({
            "kind": rt.list_kind(),
            "apiVersion": rt.api_version(),
            "metadata": {"resourceVersion": self.store.current_rv().to_string()},
            "items": deleted,
        }))
    }

    /// Stores `obj` as is (server-side metadata changes that bypass defaulting and managedFields).
    pub fn store_write(&mut self, rt: &ResourceType, mut obj: Value) -> Value {
        let key = ObjKey::new(rt.key(), object::namespace(&obj), object::name(&obj));
        let rv = self.store.next_rv();
        object::set(
            &mut obj,
            &["metadata", "resourceVersion"],
            json!(rv.to_string()),
        );
        let ev = self.store.put(key, obj.clone(), rv);
        self.after_commit(&ev);
        obj
    }

    /// Removes an object now, publishing DELETED with a fresh RV.
    pub fn store_remove(&mut self, rt: &ResourceType, mut obj: Value) {
        let key = ObjKey::new(rt.key(), object::namespace(&obj), object::name(&obj));
        let rv = self.store.next_rv();
        object::set(
            &mut obj,
            &["metadata", "resourceVersion"],
            json!(rv.to_string()),
        );
        if let Some(ev) = self.store.remove(&key, obj, rv) {
            self.after_commit(&ev);
        }
    }
}
