//! The simulator's own control API under `/_sim/v1/` (SIM_SPEC §6 "Controls"); each endpoint
//! has a Rust twin on `SimHandle`. kube never calls these.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::Method;
use serde_json::{Value, json};

use super::{App, ReqInfo, Resp, json_response};
use crate::faults::Rule;
use crate::resources::ResKey;
use crate::status::{ApiError, ApiResult};

fn body_json(body: &[u8]) -> ApiResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

pub(super) async fn serve(
    app: &Arc<App>,
    path: &str,
    info: &ReqInfo,
    body: Bytes,
) -> ApiResult<Resp> {
    let m = &info.method;
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (m.clone(), segs.as_slice()) {
        (Method::GET, ["faults"]) => Ok(json_response(200, &app.faults.list())),
        (Method::POST, ["faults"]) => {
            let rule: Rule = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("invalid fault rule: {e}")))?;
            let id = app.faults.add(rule);
            Ok(json_response(201, &json!({"id": id})))
        }
        (Method::DELETE, ["faults"]) => {
            app.faults.clear();
            Ok(json_response(200, &json!({})))
        }
        (Method::DELETE, ["faults", id]) => {
            let id: u64 = id
                .parse()
                .map_err(|_| ApiError::bad_request("fault ids are numbers"))?;
            if app.faults.remove(id) {
                Ok(json_response(200, &json!({})))
            } else {
                Err(ApiError::new(
                    404,
                    "NotFound",
                    format!("fault {id} not found"),
                ))
            }
        }
        (Method::POST, ["watches", "drop"]) => {
            let b = body_json(&body)?;
            let abort = b.get("mode").and_then(Value::as_str) == Some("abort");
            let res = b.get("match").and_then(|m| {
                m.get("resource")
                    .and_then(Value::as_str)
                    .map(|r| ResKey::new(m.get("group").and_then(Value::as_str).unwrap_or(""), r))
            });
            let n = app.lock().store.drop_watches(res.as_ref(), abort);
            Ok(json_response(200, &json!({"dropped": n})))
        }
        (Method::POST, ["compact"]) => {
            let mut c = app.lock();
            c.store.compact();
            Ok(json_response(
                200,
                &json!({"resourceVersion": c.store.current_rv().to_string()}),
            ))
        }
        (Method::POST, ["clock", "advance"]) => {
            let b = body_json(&body)?;
            let ms = b.get("ms").and_then(Value::as_u64).unwrap_or(0);
            app.engine.advance(Duration::from_millis(ms)).await;
            Ok(json_response(
                200,
                &json!({"now": app.clock.now().rfc3339_micro()}),
            ))
        }
        (Method::POST, ["settle"]) => {
            app.engine.settle().await;
            Ok(json_response(200, &json!({})))
        }
        (Method::GET, ["state"]) => {
            let c = app.lock();
            let mut counts = serde_json::Map::new();
            for (k, _) in c.store.all() {
                let name = if k.res.group.is_empty() {
                    k.res.plural.clone()
                } else {
                    format!("{}.{}", k.res.plural, k.res.group)
                };
                let e = counts.entry(name).or_insert(json!(0));
                *e = json!(e.as_u64().unwrap_or(0) + 1);
            }
            Ok(json_response(
                200,
                &json!({
                    "resourceVersion": c.store.current_rv().to_string(),
                    "now": app.clock.now().rfc3339_micro(),
                    "objects": Value::Object(counts),
                    "watches": c.store.watch_count(),
                }),
            ))
        }
        (Method::POST, ["reset"]) => {
            app.lock().reset();
            app.requests.clear();
            app.faults.clear();
            Ok(json_response(200, &json!({})))
        }
        (Method::GET, ["requests"]) => Ok(json_response(200, &json!(app.requests.snapshot()))),
        (Method::DELETE, ["requests"]) => {
            app.requests.clear();
            Ok(json_response(200, &json!({})))
        }
        _ => Err(ApiError::no_route()),
    }
}
