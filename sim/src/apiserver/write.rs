//! The write path: create, replace, patch and apply all end in `commit`, which applies the
//! rules every stored object obeys (SIM_SPEC §2.2–2.4, §3).

use std::sync::Arc;

use serde_json::Value;

use super::Cluster;
use super::fields::{self, FieldValidation};
use super::patch::{PatchKind, apply_patch};
use crate::object;
use crate::resources::{GenerationPolicy, ResourceType};
use crate::ssa::{self, Scope, Writer};
use crate::status::{ApiError, ApiResult, Cause};
use crate::store::ObjKey;

/// Options of one write.
#[derive(Clone, Debug)]
pub struct WriteOpts {
    /// The `fieldManager` parameter.
    pub field_manager: Option<String>,
    /// The manager used when `fieldManager` is absent (User-Agent prefix, else "unknown").
    pub default_manager: String,
    pub dry_run: bool,
    pub scope: Scope,
    pub force: bool,
    /// How unknown fields of built-in kinds are treated; None for the simulator's own writes.
    pub field_validation: Option<FieldValidation>,
}

impl Default for WriteOpts {
    fn default() -> Self {
        WriteOpts {
            field_manager: None,
            default_manager: "unknown".to_string(),
            dry_run: false,
            scope: Scope::Main,
            force: false,
            field_validation: None,
        }
    }
}

impl WriteOpts {
    /// A write by a simulated component (controller, kubelet) on the main endpoint.
    pub fn system(manager: &str) -> WriteOpts {
        WriteOpts {
            field_manager: Some(manager.to_string()),
            ..WriteOpts::default()
        }
    }

    /// A status write by a simulated component.
    pub fn status(manager: &str) -> WriteOpts {
        WriteOpts {
            scope: Scope::Status,
            ..WriteOpts::system(manager)
        }
    }

    pub fn manager(&self) -> &str {
        self.field_manager
            .as_deref()
            .unwrap_or(&self.default_manager)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Update,
    Apply,
}

impl Cluster {
    fn key_for(rt: &ResourceType, ns: &str, name: &str) -> ObjKey {
        ObjKey::new(rt.key(), if rt.namespaced { ns } else { "" }, name)
    }

    pub fn get_stored(&self, rt: &ResourceType, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.store.get(&Self::key_for(rt, ns, name)).cloned()
    }

    /// Takes the namespace from the URL, refusing a body that names another one.
    fn settle_namespace(rt: &ResourceType, ns: &str, body: &mut Value) -> ApiResult<()> {
        if !rt.namespaced {
            object::remove(body, &["metadata", "namespace"]);
            return Ok(());
        }
        match object::str_at(body, &["metadata", "namespace"]) {
            Some(b) if !b.is_empty() && b != ns => Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            )),
            _ => {
                object::set(
                    body,
                    &["metadata", "namespace"],
                    Value::String(ns.to_string()),
                );
                Ok(())
            }
        }
    }

    fn settle_name(body: &mut Value, name: &str) -> ApiResult<()> {
        match object::str_at(body, &["metadata", "name"]) {
            Some(b) if !b.is_empty() && b != name => Err(ApiError::bad_request(format!(
                "the name of the object ({b}) does not match the name on the URL ({name})"
            ))),
            _ => {
                object::set(body, &["metadata", "name"], Value::String(name.to_string()));
                Ok(())
            }
        }
    }

    /// Refuses creation in a missing or terminating namespace.
    fn check_namespace_for_create(&self, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<()> {
        if !rt.namespaced {
            return Ok(());
        }
        match self.namespace_state(ns) {
            None => Err(ApiError::namespace_not_found(ns)),
            Some(true) => Err(ApiError::forbidden(
                rt,
                name,
                &format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                ),
            )),
            Some(false) => Ok(()),
        }
    }

    /// POST to a collection.
    pub fn create(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: &str,
        mut body: Value,
        opts: &WriteOpts,
    ) -> ApiResult<Value> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        check_type_meta(rt, &body)?;
        // Decoding comes first on a real server: a mistyped body is a 400 before any 422.
        if let Some(mode) = opts.field_validation {
            let warnings = fields::check(rt, &mut body, mode, false)?;
            self.warnings.extend(warnings);
        }
        Self::settle_namespace(rt, ns, &mut body)?;
        if object::resource_version(&body).is_some_and(|rv| !rv.is_empty()) {
            // etcd3's store returns a plain error here, which the handler turns into a 500 with
            // reason Unknown (apimachinery `ErrorToAPIStatus`).
            return Err(ApiError::new(
                500,
                "Unknown",
                "resourceVersion should not be set on objects to be created",
            )
            .without_details());
        }
        let mut name = object::name(&body).to_string();
        if name.is_empty() {
            let prefix = object::str_at(&body, &["metadata", "generateName"])
                .unwrap_or("")
                .to_string();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    rt,
                    "",
                    vec![Cause::new(
                        "FieldValueRequired",
                        "Required value: name or generateName is required",
                        "metadata.name",
                    )],
                ));
            }
            for _ in 0..8 {
                name = self.generate_name(&prefix);
                if self.get_stored(rt, ns, &name).is_none() {
                    break;
                }
            }
            object::set(
                &mut body,
                &["metadata", "name"],
                Value::String(name.clone()),
            );
        }
        self.check_namespace_for_create(rt, ns, &name)?;
        if self.get_stored(rt, ns, &name).is_some() {
            return Err(ApiError::already_exists(rt, &name));
        }
        object::remove(&mut body, &["metadata", "managedFields"]);
        self.commit(rt, None, body, Op::Update, opts)
            .map(|(v, _)| self.present(rt, &v))
    }

    /// PUT of an object or of its status.
    pub fn replace(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: &str,
        name: &str,
        mut body: Value,
        opts: &WriteOpts,
    ) -> ApiResult<Value> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        check_type_meta(rt, &body)?;
        Self::settle_name(&mut body, name)?;
        Self::settle_namespace(rt, ns, &mut body)?;
        let old = self
            .get_stored(rt, ns, name)
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        check_precondition(rt, name, &body, &old)?;
        self.commit(rt, Some(old), body, Op::Update, opts)
            .map(|(v, _)| self.present(rt, &v))
    }

    /// PATCH with a JSON, merge or strategic-merge patch.
    pub fn patch(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: &str,
        name: &str,
        kind: PatchKind,
        patch: &Value,
        opts: &WriteOpts,
    ) -> ApiResult<Value> {
        if opts.force {
            return Err(ApiError::bad_request(
                "force is only supported for apply patches",
            ));
        }
        let old = self
            .get_stored(rt, ns, name)
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        let current = self.present(rt, &old);
        let mut body = apply_patch(rt, kind, &current, patch)?;
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the patched object must be a JSON object",
            ));
        }
        Self::settle_name(&mut body, name)?;
        Self::settle_namespace(rt, ns, &mut body)?;
        check_precondition(rt, name, &body, &old)?;
        self.commit(rt, Some(old), body, Op::Update, opts)
            .map(|(v, _)| self.present(rt, &v))
    }

    /// Server-side apply. Returns the object and whether it was created.
    pub fn apply(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: &str,
        name: &str,
        mut body: Value,
        opts: &WriteOpts,
    ) -> ApiResult<(Value, bool)> {
        let Some(manager) = opts.field_manager.clone().filter(|m| !m.is_empty()) else {
            return Err(ApiError::bad_request(
                "PATCH /apply requests require a fieldManager: fieldManager is required for apply requests",
            ));
        };
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the apply patch must be a YAML or JSON object",
            ));
        }
        if object::at(&body, &["metadata", "managedFields"]).is_some_and(|v| !v.is_null()) {
            return Err(ApiError::bad_request("metadata.managedFields must be nil"));
        }
        let api_version = object::str_at(&body, &["apiVersion"]).unwrap_or("");
        if api_version != rt.api_version() {
            return Err(ApiError::bad_request(format!(
                "Incorrect version specified in apply patch. Specified patch version: {api_version}, expected: {}",
                rt.api_version()
            )));
        }
        let kind = object::str_at(&body, &["kind"]).unwrap_or("");
        if kind != rt.kind {
            return Err(ApiError::bad_request(format!(
                "Incorrect kind specified in apply patch. Specified patch kind: {kind}, expected: {}",
                rt.kind
            )));
        }
        Self::settle_name(&mut body, name)?;
        Self::settle_namespace(rt, ns, &mut body)?;
        // Unknown fields never reach the field manager (they are dropped, or refused).
        if let Some(mode) = opts.field_validation {
            let warnings = fields::check(rt, &mut body, mode, true)?;
            self.warnings.extend(warnings);
        }
        let old = self.get_stored(rt, ns, name);
        if let Some(old) = &old {
            check_precondition(rt, name, &body, old)?;
        } else {
            if opts.scope == Scope::Status {
                return Err(ApiError::not_found(rt, name));
            }
            self.check_namespace_for_create(rt, ns, name)?;
            object::remove(&mut body, &["metadata", "resourceVersion"]);
        }
        let now = self.now().rfc3339();
        let writer = Writer {
            manager: &manager,
            api_version: &rt.api_version(),
            scope: opts.scope,
            now: &now,
        };
        let live = old.as_ref().map(|o| self.present(rt, o));
        let mut merged = ssa::apply(rt, live.as_ref(), &body, &writer, opts.force)?;
        object::set(
            &mut merged,
            &["metadata", "name"],
            Value::String(name.to_string()),
        );
        if rt.namespaced {
            object::set(
                &mut merged,
                &["metadata", "namespace"],
                Value::String(ns.to_string()),
            );
        }
        let created = old.is_none();
        let (obj, _) = self.commit(rt, old, merged, Op::Apply, opts)?;
        Ok((self.present(rt, &obj), created))
    }

    /// Writes a status as a simulated controller; no-op writes cost nothing.
    pub fn write_status(
        &mut self,
        rt: &Arc<ResourceType>,
        obj: &Value,
        status: Value,
        manager: &str,
    ) {
        let Some(old) = self.get_stored(rt, object::namespace(obj), object::name(obj)) else {
            return;
        };
        // The status endpoint takes only the status (and a Deployment's annotations) from the
        // body (see `commit`): send those and the name, not a copy of the whole metadata with
        // its managedFields.
        let mut meta = serde_json::Map::new();
        let keep: &[&str] = if rt.is("apps", "deployments") {
            &["name", "namespace", "annotations"]
        } else {
            &["name", "namespace"]
        };
        for k in keep {
            if let Some(v) = object::at(obj, &["metadata", k]) {
                meta.insert((*k).into(), v.clone());
            }
        }
        let mut body = serde_json::Map::new();
        body.insert("metadata".into(), Value::Object(meta));
        body.insert("status".into(), status);
        let body = Value::Object(body);
        let _ = self.commit(rt, Some(old), body, Op::Update, &WriteOpts::status(manager));
    }

    /// Replaces an object as a simulated controller (main endpoint).
    pub fn write_object(
        &mut self,
        rt: &Arc<ResourceType>,
        obj: Value,
        manager: &str,
    ) -> ApiResult<Value> {
        let old = self
            .get_stored(rt, object::namespace(&obj), object::name(&obj))
            .ok_or_else(|| ApiError::not_found(rt, object::name(&obj)))?;
        self.commit(rt, Some(old), obj, Op::Update, &WriteOpts::system(manager))
            .map(|(v, _)| self.present(rt, &v))
    }

    /// The rules every write obeys; returns the object as stored (or as it would be, on dry run)
    /// and whether anything changed. Callers that answer a request `present` it.
    fn commit(
        &mut self,
        rt: &Arc<ResourceType>,
        old: Option<Arc<Value>>,
        mut new: Value,
        op: Op,
        opts: &WriteOpts,
    ) -> ApiResult<(Arc<Value>, bool)> {
        if !new.is_object() {
            return Err(ApiError::bad_request(
                "the resulting object must be a JSON object",
            ));
        }
        if let Some(mode) = opts.field_validation {
            let warnings = fields::check(rt, &mut new, mode, matches!(op, Op::Apply))?;
            self.warnings.extend(warnings);
        }
        let now = self.now();
        let name = object::name(&new).to_string();
        let ns = object::namespace(&new).to_string();
        if let Some(m) = new.as_object_mut() {
            m.insert("apiVersion".into(), Value::String(rt.api_version()));
            m.insert("kind".into(), Value::String(rt.kind.clone()));
        }

        // Which part of the object this endpoint may change.
        match (opts.scope, &old) {
            (Scope::Status, Some(o)) => {
                // Nothing this endpoint takes from the body differs from what is stored: a
                // no-op, known before copying the object (controllers re-send the same status
                // on most passes).
                let kept = |path: &[&str]| {
                    object::at(&new, path).is_none_or(|v| object::at(o, path) == Some(v))
                };
                if object::at(&new, &["status"]) == object::at(o, &["status"])
                    && kept(&["metadata", "managedFields"])
                    && (!rt.is("apps", "deployments") || kept(&["metadata", "annotations"]))
                {
                    return Ok((o.clone(), false));
                }
                let mut merged = (**o).clone();
                match new.get("status") {
                    Some(s) => object::set(&mut merged, &["status"], s.clone()),
                    None => {
                        object::remove(&mut merged, &["status"]);
                    }
                }
                if let Some(mf) = object::at(&new, &["metadata", "managedFields"]) {
                    object::set(&mut merged, &["metadata", "managedFields"], mf.clone());
                }
                // The Deployment status strategy keeps annotations from the request: that is how
                // the controller records `deployment.kubernetes.io/revision` without a new generation.
                if rt.is("apps", "deployments")
                    && let Some(a) = object::at(&new, &["metadata", "annotations"])
                {
                    object::set(&mut merged, &["metadata", "annotations"], a.clone());
                }
                new = merged;
            }
            (Scope::Status, None) => return Err(ApiError::not_found(rt, &name)),
            (Scope::Main, Some(o)) if rt.status => match o.get("status") {
                Some(s) => object::set(&mut new, &["status"], s.clone()),
                None => {
                    object::remove(&mut new, &["status"]);
                }
            },
            (Scope::Main, None) if rt.status => {
                object::remove(&mut new, &["status"]);
            }
            _ => {}
        }

        // Server-set metadata.
        object::remove(&mut new, &["metadata", "resourceVersion"]);
        object::remove(&mut new, &["metadata", "selfLink"]);
        match &old {
            Some(o) => {
                for k in [
                    "uid",
                    "creationTimestamp",
                    "generation",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                ] {
                    match object::at(o, &["metadata", k]) {
                        Some(v) => object::set(&mut new, &["metadata", k], v.clone()),
                        None => {
                            object::remove(&mut new, &["metadata", k]);
                        }
                    }
                }
                if object::is_deleting(o) {
                    let before = object::finalizers(o);
                    let added: Vec<String> = object::finalizers(&new)
                        .into_iter()
                        .filter(|f| !before.contains(f))
                        .collect();
                    if !added.is_empty() {
                        return Err(ApiError::invalid(
                            rt,
                            &name,
                            vec![Cause::forbidden(
                                "metadata.finalizers",
                                &format!(
                                    "no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                                ),
                            )],
                        ));
                    }
                }
            }
            None => {
                let uid = self.new_uid();
                object::set(&mut new, &["metadata", "uid"], Value::String(uid));
                object::set(
                    &mut new,
                    &["metadata", "creationTimestamp"],
                    Value::String(now.rfc3339()),
                );
                object::remove(&mut new, &["metadata", "deletionTimestamp"]);
                object::remove(&mut new, &["metadata", "deletionGracePeriodSeconds"]);
                if rt.generation != GenerationPolicy::None {
                    object::set(&mut new, &["metadata", "generation"], Value::from(1));
                } else {
                    object::remove(&mut new, &["metadata", "generation"]);
                }
            }
        }

        if let Some(schema) = rt.schema.as_ref().filter(|_| rt.custom) {
            super::defaults::prune_custom(&mut new, schema);
        }
        self.apply_defaults(rt, &mut new, old.as_deref());
        self.validate(rt, old.as_deref(), &new)?;

        if let Some(o) = &old
            && opts.scope == Scope::Main
            && generation_changes(rt, o, &new)
        {
            object::set(
                &mut new,
                &["metadata", "generation"],
                Value::from(object::generation(o) + 1),
            );
        }

        if op == Op::Update {
            let sent = object::at(&new, &["metadata", "managedFields"]);
            let stored = old
                .as_deref()
                .and_then(|o| object::at(o, &["metadata", "managedFields"]));
            let base = match (sent, &old) {
                (Some(mf), Some(_)) if Some(mf) != stored => ssa::entries(&new),
                (Some(_), None) => Vec::new(),
                // The stored list, sent back unchanged: moved out and written back, so entries
                // this write does not touch are not rendered again.
                (Some(_), Some(_)) => ssa::take_entries(&mut new),
                (None, Some(o)) => ssa::entries(o),
                (None, None) => Vec::new(),
            };
            let mut entries = base;
            let empty = serde_json::json!({});
            let now_s = now.rfc3339();
            let writer = Writer {
                manager: opts.manager(),
                api_version: &rt.api_version(),
                scope: opts.scope,
                now: &now_s,
            };
            // The stored object as this version presents it.
            let before = old.as_deref().map(|o| self.presented(rt, o));
            ssa::record_update(
                rt,
                &mut entries,
                before.as_deref().unwrap_or(&empty),
                &new,
                &writer,
            );
            ssa::write_entries(&mut new, entries);
        }

        if let Some(o) = &old
            && same_ignoring_times(o, &new)
        {
            return Ok((o.clone(), false));
        }

        if opts.dry_run {
            if let Some(rv) = old.as_deref().and_then(object::resource_version) {
                object::set(
                    &mut new,
                    &["metadata", "resourceVersion"],
                    Value::String(rv.to_string()),
                );
            }
            return Ok((Arc::new(new), true));
        }

        let key = Self::key_for(rt, &ns, &name);
        let rv = self.store.next_rv();
        object::set(
            &mut new,
            &["metadata", "resourceVersion"],
            Value::String(rv.to_string()),
        );

        let finished = old.as_deref().is_some_and(object::is_deleting)
            && object::finalizers(&new).is_empty()
            && !awaits_kubelet(rt, &new);
        let event = if finished {
            match self.store.remove(&key, new.clone(), rv) {
                Some(ev) => ev,
                None => return Ok((Arc::new(new), true)),
            }
        } else {
            self.store.put(key, new, rv)
        };
        self.after_commit(&event);
        Ok((event.object.clone(), true))
    }
}

/// A pod in graceful termination stays until the kubelet confirms it is gone.
pub(super) fn awaits_kubelet(rt: &ResourceType, obj: &Value) -> bool {
    rt.is("", "pods")
        && object::i64_at(obj, &["metadata", "deletionGracePeriodSeconds"]).unwrap_or(0) > 0
}

/// `apiVersion`/`kind` in a body must match the URL when present.
fn check_type_meta(rt: &ResourceType, body: &Value) -> ApiResult<()> {
    if let Some(k) = object::str_at(body, &["kind"])
        && !k.is_empty()
        && k != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind of the provided object ({k}) does not match the resource ({})",
            rt.kind
        )));
    }
    if let Some(v) = object::str_at(body, &["apiVersion"])
        && !v.is_empty()
        && v != rt.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({v}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    Ok(())
}

/// A `metadata.resourceVersion` in the body must equal the stored one.
fn check_precondition(rt: &ResourceType, name: &str, body: &Value, old: &Value) -> ApiResult<()> {
    match object::resource_version(body) {
        Some(rv) if !rv.is_empty() && Some(rv) != object::resource_version(old) => {
            Err(ApiError::conflict_modified(rt, name))
        }
        _ => Ok(()),
    }
}

fn generation_changes(rt: &ResourceType, old: &Value, new: &Value) -> bool {
    match rt.generation {
        GenerationPolicy::None => false,
        GenerationPolicy::Spec => old.get("spec") != new.get("spec"),
        GenerationPolicy::SpecOrAnnotations => {
            old.get("spec") != new.get("spec")
                || object::at(old, &["metadata", "annotations"])
                    != object::at(new, &["metadata", "annotations"])
        }
        GenerationPolicy::NonMetadata => {
            let strip = |v: &Value| {
                let mut v = v.clone();
                if let Some(m) = v.as_object_mut() {
                    m.remove("metadata");
                    if rt.status {
                        m.remove("status");
                    }
                }
                v
            };
            strip(old) != strip(new)
        }
    }
}

/// Equal apart from resourceVersion and managedFields timestamps: a noop write (SIM_SPEC §2.2).
/// Compares in place: it runs on every write, and objects are large next to what changes.
fn same_ignoring_times(old: &Value, new: &Value) -> bool {
    same_members(old, new, None, &|k, o, n| match k {
        "metadata" => same_members(o, n, Some("resourceVersion"), &|k, o, n| match k {
            "managedFields" => same_entries(o, n),
            _ => o == n,
        }),
        _ => o == n,
    })
}

/// managedFields entries equal apart from their `time`.
fn same_entries(old: &Value, new: &Value) -> bool {
    let (Some(o), Some(n)) = (old.as_array(), new.as_array()) else {
        return old == new;
    };
    o.len() == n.len()
        && o.iter()
            .zip(n)
            .all(|(a, b)| same_members(a, b, Some("time"), &|_, a, b| a == b))
}

/// Two JSON objects with the same members apart from `ignored`, each pair equal by `eq`
/// (anything else: plain equality).
fn same_members(
    old: &Value,
    new: &Value,
    ignored: Option<&str>,
    eq: &dyn Fn(&str, &Value, &Value) -> bool,
) -> bool {
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return old == new;
    };
    let counted = |m: &serde_json::Map<String, Value>| {
        m.len() - usize::from(ignored.is_some_and(|i| m.contains_key(i)))
    };
    counted(o) == counted(n)
        && o.iter()
            .filter(|(k, _)| Some(k.as_str()) != ignored)
            .all(|(k, ov)| n.get(k).is_some_and(|nv| eq(k, ov, nv)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::same_ignoring_times;

    #[test]
    fn a_write_that_changes_only_times_and_the_version_is_the_same() {
        let old = json!({
            "metadata": {"name": "a", "resourceVersion": "5", "managedFields": [
                {"manager": "m", "time": "2026-01-01T00:00:00Z", "fieldsV1": {"f:spec": {}}}
            ]},
            "spec": {"x": 1}
        });
        let mut new = old.clone();
        new["metadata"]["resourceVersion"] = json!("6");
        new["metadata"]["managedFields"][0]["time"] = json!("2026-01-02T00:00:00Z");
        assert!(same_ignoring_times(&old, &new));
        let mut unversioned = new.clone();
        unversioned["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("resourceVersion");
        assert!(same_ignoring_times(&old, &unversioned));

        let mut spec = new.clone();
        spec["spec"]["x"] = json!(2);
        assert!(!same_ignoring_times(&old, &spec));
        let mut owner = new.clone();
        owner["metadata"]["managedFields"][0]["manager"] = json!("other");
        assert!(!same_ignoring_times(&old, &owner));
        let mut label = new.clone();
        label["metadata"]["labels"] = json!({"a": "b"});
        assert!(!same_ignoring_times(&old, &label));
        let mut extra = new;
        extra["status"] = json!({});
        assert!(!same_ignoring_times(&old, &extra));
    }
}
