//! Resource endpoints: get, list, create, update, patch, apply, delete, deletecollection and
//! the `status`/`scale` subresources, with content negotiation (JSON, YAML,
//! PartialObjectMetadata).

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderValue, Method};
use serde_json::{Value, json};

use super::route::ResRoute;
use super::{App, ReqInfo, Resp, json_response, table};
use crate::apiserver::fields::FieldValidation;
use crate::apiserver::patch::{PatchKind, apply_patch};
use crate::apiserver::{Cluster, DeleteOpts, Deleted, ListOpts, Propagation, WriteOpts};
use crate::faults::Action;
use crate::object;
use crate::selector::{FieldSelector, LabelSelector};
use crate::ssa::Scope;
use crate::status::{ApiError, ApiResult};

pub(super) async fn serve(
    app: &Arc<App>,
    r: ResRoute,
    info: &ReqInfo,
    body: Bytes,
    watch_fault: Option<Action>,
) -> ApiResult<Resp> {
    let m = &info.method;
    let ns = r.ns.clone().unwrap_or_default();
    if *m == Method::GET {
        return match (&r.name, r.sub.as_deref()) {
            (Some(name), Some("scale")) => {
                let obj = app.lock().get(&r.rt, &ns, name)?;
                Ok(json_response(200, &scale_doc(&obj)))
            }
            (Some(name), Some("log")) => {
                let pod = app.lock().get(&r.rt, &ns, name)?;
                pod_log(&pod, info.q("container")).map(|t| super::text_response(200, &t))
            }
            (Some(name), _) => {
                let obj = app.lock().get(&r.rt, &ns, name)?;
                if table::wants_table(&info.accept) {
                    let meta =
                        json!({"resourceVersion": object::resource_version(&obj).unwrap_or("")});
                    let t =
                        table::table(&r.rt, &[obj], meta, include_object(info), app.clock.now());
                    return Ok(json_response(200, &t));
                }
                Ok(json_response(200, &negotiate(&obj, info, false)))
            }
            (None, _) if info.flag("watch") => super::watch::start(app, &r, info, watch_fault),
            (None, _) => {
                let opts = list_opts(&r, info)?;
                let list = app.lock().list(&r.rt, r.ns.as_deref(), &opts)?;
                if table::wants_table(&info.accept) {
                    let items: Vec<Value> = list["items"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|mut i| {
                            i["kind"] = json!(r.rt.kind);
                            i["apiVersion"] = json!(r.rt.api_version());
                            i
                        })
                        .collect();
                    let t = table::table(
                        &r.rt,
                        &items,
                        list["metadata"].clone(),
                        include_object(info),
                        app.clock.now(),
                    );
                    return Ok(json_response(200, &t));
                }
                Ok(json_response(200, &negotiate(&list, info, true)))
            }
        };
    }
    // Writes need a namespace for namespaced kinds.
    if r.rt.namespaced && r.ns.is_none() {
        return Err(ApiError::no_route());
    }
    let dry_run = match info.q("dryRun") {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid dry run value: {other:?}"
            )));
        }
    };
    let opts = WriteOpts {
        field_manager: info.q("fieldManager").map(str::to_string),
        default_manager: manager_from_user_agent(&info.user_agent),
        dry_run,
        scope: if r.sub.as_deref() == Some("status") {
            Scope::Status
        } else {
            Scope::Main
        },
        force: info.flag("force"),
        field_validation: Some(FieldValidation::parse(
            info.q("fieldValidation").unwrap_or(""),
        )?),
    };
    if opts.field_manager.as_ref().is_some_and(|f| f.len() > 128) {
        return Err(ApiError::bad_request(
            "fieldManager: Too long: may not be more than 128 bytes",
        ));
    }
    if *m == Method::POST {
        if r.name.is_some() {
            return Err(ApiError::method_not_allowed());
        }
        let obj = parse_body(&body, &info.content_type)?;
        let (created, warnings) = warned(app, |c| c.create(&r.rt, &ns, obj, &opts));
        return Ok(with_warnings(json_response(201, &created?), warnings));
    }
    if *m == Method::DELETE {
        let del = delete_opts(info, &body)?;
        return match &r.name {
            Some(name) => {
                let (outcome, warning) = app.lock().delete(&r.rt, &ns, name, &del)?;
                let mut resp = match outcome {
                    Deleted::Gone(status) => json_response(200, &status),
                    Deleted::Pending(obj) => json_response(200, &obj),
                };
                if let Some(w) = warning
                    && let Ok(v) = HeaderValue::from_str(&format!("299 - \"{w}\""))
                {
                    resp.headers_mut().insert("warning", v);
                }
                Ok(resp)
            }
            None => {
                let opts = list_opts(&r, info)?;
                let list = app
                    .lock()
                    .delete_collection(&r.rt, r.ns.as_deref(), &opts, &del)?;
                Ok(json_response(200, &list))
            }
        };
    }
    let Some(name) = r.name.clone() else {
        return Err(ApiError::method_not_allowed());
    };
    if r.sub.as_deref() == Some("scale") {
        return scale_write(app, &r, &ns, &name, info, &body, &opts);
    }
    if *m == Method::PUT {
        let obj = parse_body(&body, &info.content_type)?;
        let (out, warnings) = warned(app, |c| c.replace(&r.rt, &ns, &name, obj, &opts));
        return Ok(with_warnings(json_response(200, &out?), warnings));
    }
    if *m == Method::PATCH {
        let ct = info.content_type.split(';').next().unwrap_or("").trim();
        if ct == "application/apply-patch+yaml" || ct == "application/apply-patch+cbor" {
            let obj = parse_apply(&body)?;
            let (result, warnings) = warned(app, |c| c.apply(&r.rt, &ns, &name, obj, &opts));
            let (out, created) = result?;
            let code = if created { 201 } else { 200 };
            return Ok(with_warnings(json_response(code, &out), warnings));
        }
        let kind =
            PatchKind::from_content_type(ct).ok_or_else(|| ApiError::unsupported_media_type(ct))?;
        let patch: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
        let (out, warnings) = warned(app, |c| c.patch(&r.rt, &ns, &name, kind, &patch, &opts));
        return Ok(with_warnings(json_response(200, &out?), warnings));
    }
    Err(ApiError::method_not_allowed())
}

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// `includeObject` of a Table request: None, Metadata (the default) or Object.
pub(super) fn include_object(info: &ReqInfo) -> &str {
    info.q("includeObject").unwrap_or("Metadata")
}

/// Runs a write and collects the warnings it produced.
fn warned<T>(app: &Arc<App>, f: impl FnOnce(&mut Cluster) -> T) -> (T, Vec<String>) {
    let mut c = app.lock();
    c.warnings.clear();
    let out = f(&mut c);
    (out, std::mem::take(&mut c.warnings))
}

/// Adds `Warning: 299 - "..."` headers, as the API server reports dropped fields.
fn with_warnings(mut resp: Resp, warnings: Vec<String>) -> Resp {
    for w in warnings {
        if let Ok(v) = HeaderValue::from_str(&format!("299 - {w:?}")) {
            resp.headers_mut().append("warning", v);
        }
    }
    resp
}

/// Canned container logs (SIM_SPEC §8 allows them): what the simulated container did.
fn pod_log(pod: &Value, container: Option<&str>) -> ApiResult<String> {
    let pod_name = object::name(pod);
    let statuses = object::at(pod, &["status", "containerStatuses"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<String> = object::at(pod, &["spec", "containers"])
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| object::str_at(c, &["name"]).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let container = match container {
        Some(c) => c.to_string(),
        None if names.len() == 1 => names[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                names.join(" ")
            )));
        }
    };
    if !names.contains(&container) {
        return Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {pod_name}"
        )));
    }
    let status = statuses
        .iter()
        .find(|s| object::str_at(s, &["name"]) == Some(container.as_str()));
    let state = status
        .and_then(|s| s.get("state"))
        .cloned()
        .unwrap_or(json!({}));
    let last = status
        .and_then(|s| object::at(s, &["lastState", "terminated"]))
        .cloned();
    if let Some(reason) = object::str_at(&state, &["waiting", "reason"]).filter(|_| last.is_none())
    {
        return Err(ApiError::bad_request(format!(
            "container {container:?} in pod {pod_name:?} is waiting to start: {reason}"
        )));
    }
    let mut lines = Vec::new();
    let mut describe = |t: &Value| {
        if let Some(at) = object::str_at(t, &["startedAt"])
            .or_else(|| object::str_at(t, &["running", "startedAt"]))
        {
            lines.push(format!("{at} [berth-sim] container {container} started"));
        }
        if let Some(code) = object::i64_at(t, &["exitCode"]) {
            let at = object::str_at(t, &["finishedAt"]).unwrap_or("");
            lines.push(format!(
                "{at} [berth-sim] container {container} exited with code {code}"
            ));
        }
    };
    if let Some(t) = &last {
        describe(t);
    }
    if let Some(t) = state.get("terminated") {
        describe(t);
    } else if state.get("running").is_some() {
        describe(&state);
    }
    Ok(lines.iter().map(|l| format!("{l}\n")).collect())
}

/// The manager of an Update when `fieldManager` is absent: the User-Agent up to the first `/`.
fn manager_from_user_agent(ua: &str) -> String {
    let prefix = ua.split('/').next().unwrap_or("").trim();
    if prefix.is_empty() {
        "unknown".to_string()
    } else {
        prefix.to_string()
    }
}

fn parse_body(body: &[u8], content_type: &str) -> ApiResult<Value> {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    if ct == "application/yaml" {
        return parse_yaml_single(body);
    }
    if ct == PROTOBUF {
        return crate::protobuf::decode(body);
    }
    if !ct.is_empty() && ct != "application/json" && ct != "*/*" {
        return Err(ApiError::unsupported_media_type(ct));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized or could not be decoded as JSON: {e}"
        ))
    })
}

fn parse_yaml_single(body: &[u8]) -> ApiResult<Value> {
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(
        text,
        // One line, as kube-apiserver's decoding errors are.
        // Any number of comment lines between a key and its value, as
        // kube-apiserver's go-yaml takes.
        serde_saphyr::options! {
            legacy_octal_numbers: true,
            with_snippet: false,
            budget: serde_saphyr::budget! { max_buffered_comment_events: usize::MAX },
        },
    )
    .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    let mut docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    match docs.len() {
        1 => Ok(docs.remove(0)),
        0 => Err(ApiError::bad_request("the body is empty")),
        _ => Err(ApiError::bad_request(
            "the apply patch must contain exactly one document",
        )),
    }
}

/// Apply bodies are YAML, and JSON is YAML.
fn parse_apply(body: &[u8]) -> ApiResult<Value> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    parse_yaml_single(body)
}

fn list_opts(r: &ResRoute, info: &ReqInfo) -> ApiResult<ListOpts> {
    Ok(ListOpts {
        labels: LabelSelector::parse(info.q("labelSelector").unwrap_or(""))?,
        fields: FieldSelector::parse(info.q("fieldSelector").unwrap_or(""), &r.rt)?,
        limit: match info.q("limit") {
            None | Some("") => None,
            Some(s) => Some(
                s.parse::<usize>()
                    .map_err(|_| ApiError::bad_request(format!("invalid limit: {s:?}")))?,
            ),
        },
        continue_token: info
            .q("continue")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        resource_version: info
            .q("resourceVersion")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        resource_version_match: info
            .q("resourceVersionMatch")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    })
}

fn delete_opts(info: &ReqInfo, body: &[u8]) -> ApiResult<DeleteOpts> {
    let b: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else if info.content_type.starts_with(PROTOBUF) {
        crate::protobuf::decode(body)?
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    let policy = b
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or(info.q("propagationPolicy"));
    let mut propagation =
        match policy {
            None | Some("") => None,
            Some(p) => Some(Propagation::parse(p).ok_or_else(|| {
                ApiError::bad_request(format!("invalid propagationPolicy: {p:?}"))
            })?),
        };
    if propagation.is_none() {
        // The deprecated orphanDependents flag.
        match b.get("orphanDependents").and_then(Value::as_bool) {
            Some(true) => propagation = Some(Propagation::Orphan),
            Some(false) => propagation = Some(Propagation::Background),
            None => {}
        }
    }
    let dry_run = b
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v == "All"))
        || info.q("dryRun") == Some("All");
    Ok(DeleteOpts {
        propagation,
        grace_period: b
            .get("gracePeriodSeconds")
            .and_then(Value::as_i64)
            .or_else(|| info.q("gracePeriodSeconds").and_then(|s| s.parse().ok())),
        dry_run,
        uid: object::str_at(&b, &["preconditions", "uid"]).map(str::to_string),
        resource_version: object::str_at(&b, &["preconditions", "resourceVersion"])
            .map(str::to_string),
    })
}

/// Answers `as=PartialObjectMetadata[List]` requests with metadata only.
fn negotiate(v: &Value, info: &ReqInfo, list: bool) -> Value {
    if !info.accept.contains("as=PartialObjectMetadata") {
        return v.clone();
    }
    if list {
        let items: Vec<Value> = v
            .get("items")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|i| json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": i.get("metadata").cloned().unwrap_or(json!({}))}))
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": v.get("metadata").cloned().unwrap_or(json!({})),
            "items": items,
        })
    } else {
        json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": v.get("metadata").cloned().unwrap_or(json!({})),
        })
    }
}

/// An `autoscaling/v1` Scale for an object with `spec.replicas`.
fn scale_doc(obj: &Value) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or(json!({}));
    let mut m = json!({});
    for k in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = meta.get(k) {
            m[k] = v.clone();
        }
    }
    let selector = object::at(obj, &["spec", "selector"])
        .map(|s| LabelSelector::from_object(s).to_query())
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": m,
        "spec": {"replicas": object::i64_at(obj, &["spec", "replicas"]).unwrap_or(0)},
        "status": {"replicas": object::i64_at(obj, &["status", "replicas"]).unwrap_or(0), "selector": selector},
    })
}

fn scale_write(
    app: &Arc<App>,
    r: &ResRoute,
    ns: &str,
    name: &str,
    info: &ReqInfo,
    body: &[u8],
    opts: &WriteOpts,
) -> ApiResult<Resp> {
    let mut c = app.lock();
    let obj = c.get(&r.rt, ns, name)?;
    let current = scale_doc(&obj);
    let scale_rt = c.rt("apps", "deployments");
    let wanted = if info.method == Method::PUT {
        parse_body(body, &info.content_type)?
    } else {
        let ct = info.content_type.split(';').next().unwrap_or("").trim();
        if ct == "application/apply-patch+yaml" {
            let mut doc = current.clone();
            json_patch::merge(&mut doc, &parse_apply(body)?);
            doc
        } else {
            let kind = PatchKind::from_content_type(ct)
                .ok_or_else(|| ApiError::unsupported_media_type(ct))?;
            let patch: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            apply_patch(&scale_rt, kind, &current, &patch)?
        }
    };
    if let Some(rv) = object::resource_version(&wanted)
        && !rv.is_empty()
        && Some(rv) != object::resource_version(&obj)
    {
        return Err(ApiError::conflict_modified(&r.rt, name));
    }
    let replicas = object::i64_at(&wanted, &["spec", "replicas"]).unwrap_or(0);
    let mut updated = obj.clone();
    object::set(&mut updated, &["spec", "replicas"], json!(replicas));
    object::remove(&mut updated, &["metadata", "resourceVersion"]);
    let main = WriteOpts {
        scope: Scope::Main,
        ..opts.clone()
    };
    let out = c.replace(&r.rt, ns, name, updated, &main)?;
    Ok(json_response(200, &scale_doc(&out)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_yaml_body_that_does_not_parse_is_refused_in_one_line() {
        let err = super::parse_body(b"metadata: {name: x\n", "application/yaml").unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.message.starts_with("error decoding YAML: "),
            "{}",
            err.message
        );
        assert_eq!(err.message.lines().count(), 1, "{}", err.message);
    }
}
