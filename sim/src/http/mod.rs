//! The HTTP edge: turns requests into calls on `Cluster`, and results into responses.
//!
//! Owns request parsing (path, query, bodies, content negotiation), fault injection at the
//! request level, the request log, and response encoding. Semantics live in `apiserver`.

mod control;
mod resource;
pub mod route;
pub mod table;
mod watch;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::apiserver::Cluster;
use crate::clock::ClockCore;
use crate::config::SimConfig;
use crate::controllers::Engine;
use crate::discovery;
use crate::faults::{Action, Facts, Faults, injected_error};
use crate::status::ApiError;
use route::Route;

/// Shared state of the HTTP layer.
pub struct App {
    pub cluster: Arc<Mutex<Cluster>>,
    pub engine: Arc<Engine>,
    pub faults: Arc<Faults>,
    pub requests: Arc<RequestLog>,
    pub clock: Arc<ClockCore>,
    pub cfg: Arc<SimConfig>,
    pub cancel: CancellationToken,
    /// `host:port` as clients reach the server.
    pub server_address: String,
}

impl App {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Cluster> {
        self.cluster.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Per-connection handle: setting `kill` makes the connection's IO fail, so it is reset.
pub struct ConnHandle {
    pub kill: AtomicBool,
    /// The connection's number, unique in the process, so a request log tells
    /// which requests shared a connection.
    pub id: u64,
}

impl Default for ConnHandle {
    fn default() -> ConnHandle {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ConnHandle {
            kill: AtomicBool::new(false),
            id: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// One served request, as `GET /_sim/v1/requests` and `SimHandle::requests` show it.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    pub verb: String,
    pub content_type: String,
    pub field_manager: String,
    pub user_agent: String,
    /// Who the request authenticated as (`user_of`).
    pub user: String,
    pub status: u16,
    pub latency_ms: u64,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub http_version: String,
    /// The connection it came on (`ConnHandle::id`).
    pub connection: u64,
    /// When the server started handling it, and how long that took (for a
    /// watch: until the response headers), so a client's own time can be
    /// told from the time it spent waiting on the server (benches/upgrade.rs).
    #[serde(skip)]
    pub started: Instant,
    #[serde(skip)]
    pub took: Duration,
}

/// A bounded log of requests.
#[derive(Default)]
pub struct RequestLog {
    entries: Mutex<Vec<RequestRecord>>,
}

const REQUEST_LOG_MAX: usize = 20_000;

impl RequestLog {
    fn push(&self, r: RequestRecord) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if e.len() >= REQUEST_LOG_MAX {
            e.remove(0);
        }
        e.push(r);
    }
    pub fn snapshot(&self) -> Vec<RequestRecord> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// The parts of a request handlers look at.
#[derive(Clone, Debug)]
pub struct ReqInfo {
    pub method: Method,
    pub path: String,
    pub raw_query: String,
    pub query: HashMap<String, String>,
    pub content_type: String,
    pub accept: String,
    pub user_agent: String,
}

impl ReqInfo {
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query.get(k).map(String::as_str)
    }
    pub fn flag(&self, k: &str) -> bool {
        matches!(self.q(k), Some("true" | "1"))
    }
}

pub type Resp = Response<Body>;

pub fn json_response(code: u16, v: &Value) -> Resp {
    let mut r = Response::new(Body::from(serde_json::to_vec(v).unwrap_or_default()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub fn error_response(e: &ApiError) -> Resp {
    let mut r = json_response(e.code, &e.to_status());
    if let Some(secs) = e.retry_after()
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn text_response(code: u16, s: &str) -> Resp {
    let mut r = Response::new(Body::from(s.to_string()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn parse_query(raw: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            let s = s.replace('+', " ");
            percent_decode(&s)
        };
        out.entry(dec(k)).or_insert_with(|| dec(v));
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The verb SIM_SPEC §6 names for a request, used by fault rules and the request log.
fn verb_of(route: &Route, info: &ReqInfo) -> String {
    let m = &info.method;
    match route {
        Route::Resource(r) => {
            let v = if *m == Method::GET {
                if r.name.is_some() {
                    "get"
                } else if info.flag("watch") {
                    "watch"
                } else {
                    "list"
                }
            } else if *m == Method::POST {
                "create"
            } else if *m == Method::PUT {
                "update"
            } else if *m == Method::PATCH {
                if info.content_type.starts_with("application/apply-patch") {
                    "apply"
                } else {
                    "patch"
                }
            } else if *m == Method::DELETE {
                if r.name.is_some() {
                    "delete"
                } else {
                    "deletecollection"
                }
            } else {
                "unknown"
            };
            v.to_string()
        }
        Route::Control(_) => "control".to_string(),
        _ => "discovery".to_string(),
    }
}

fn facts_of(route: &Route, info: &ReqInfo, verb: &str) -> Facts {
    let mut f = Facts {
        verb: verb.to_string(),
        path: info.path.clone(),
        field_manager: info.q("fieldManager").unwrap_or("").to_string(),
        ..Facts::default()
    };
    if let Route::Resource(r) = route {
        f.group = r.rt.group.clone();
        f.resource = r.rt.plural.clone();
        f.subresource = r.sub.clone().unwrap_or_default();
        f.namespace = r.ns.clone().unwrap_or_default();
        f.name = r.name.clone().unwrap_or_default();
    }
    f
}

const MAX_BODY: usize = 32 << 20;

/// The user a request's `Authorization` header names, as an API server's
/// static token file would: the token the simulator's kubeconfig carries
/// (`kubeconfig.rs`) is user `berth-sim`; no credentials are
/// `system:anonymous`. Nothing is refused: the log only shows whether a
/// client sent its kubeconfig's credentials.
fn user_of(authorization: Option<&str>) -> String {
    match authorization {
        Some("Bearer berth-sim") => "berth-sim",
        Some(_) => "(unknown credentials)",
        None => "system:anonymous",
    }
    .to_string()
}

/// Serves one request.
pub async fn handle(
    app: Arc<App>,
    conn: Arc<ConnHandle>,
    req: Request<hyper::body::Incoming>,
) -> Result<Resp, Infallible> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let version = parts.version;
    let user = user_of(
        parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    let header = |h: header::HeaderName| {
        parts
            .headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let info = ReqInfo {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        query: parse_query(&raw_query),
        raw_query,
        content_type: header(header::CONTENT_TYPE),
        accept: header(header::ACCEPT),
        user_agent: header(header::USER_AGENT),
    };
    let route = {
        let c = app.lock();
        route::parse(&c.registry, &info.path)
    };
    let verb = verb_of(&route, &info);
    let facts = facts_of(&route, &info, &verb);
    let decision = if matches!(route, Route::Control(_)) {
        Default::default()
    } else {
        app.faults.check(&facts, app.clock.now(), verb == "watch")
    };
    if decision.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(decision.delay_ms)).await;
    }

    let bytes = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => Bytes::new(),
    };

    let resp = match &decision.action {
        Some(Action::Status {
            code,
            reason,
            message,
            retry_after_s,
        }) => error_response(&injected_error(
            *code,
            reason.as_deref(),
            message.as_deref(),
            *retry_after_s,
            &facts,
        )),
        Some(Action::Reset) => {
            conn.kill.store(true, Ordering::SeqCst);
            text_response(500, "")
        }
        Some(Action::Garbage) => {
            let mut r = text_response(200, "<html>this is not the JSON you are looking for");
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        other => {
            let watch_fault = other.clone().filter(|a| {
                matches!(
                    a,
                    Action::WatchCloseAfter { .. }
                        | Action::WatchAbortAfter { .. }
                        | Action::WatchExpire
                        | Action::WatchStall
                        | Action::WatchNoInitialEndBookmark
                )
            });
            let served = serve(&app, route, &info, bytes, watch_fault).await;
            let mut resp = served.unwrap_or_else(|e| error_response(&e));
            match other {
                Some(Action::CommitThenFail { code }) => {
                    resp = error_response(&injected_error(*code, None, None, None, &facts));
                }
                Some(Action::Truncate) => resp = truncate(resp).await,
                _ => {}
            }
            resp
        }
    };
    app.requests.push(RequestRecord {
        method: info.method.to_string(),
        path: info.path.clone(),
        query: info.raw_query.clone(),
        verb,
        content_type: info.content_type.clone(),
        field_manager: facts.field_manager.clone(),
        user_agent: info.user_agent.clone(),
        user,
        status: resp.status().as_u16(),
        latency_ms: started.elapsed().as_millis() as u64,
        http_version: format!("{version:?}"),
        connection: conn.id,
        started,
        took: started.elapsed(),
    });
    Ok(resp)
}

/// Half the body, then a broken stream: the client sees 200 headers and an incomplete body.
async fn truncate(resp: Resp) -> Resp {
    let (mut parts, body) = resp.into_parts();
    let full = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let half = full.slice(0..full.len() / 2);
    parts.status = StatusCode::OK;
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len().max(1)));
    let stream = futures::stream::iter(vec![
        Ok::<Bytes, std::io::Error>(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "truncated by fault injection",
        )),
    ]);
    Response::from_parts(parts, Body::from_stream(stream))
}

async fn serve(
    app: &Arc<App>,
    route: Route,
    info: &ReqInfo,
    body: Bytes,
    watch_fault: Option<Action>,
) -> Result<Resp, ApiError> {
    let get_only = |info: &ReqInfo| {
        if info.method == Method::GET {
            Ok(())
        } else {
            Err(ApiError::method_not_allowed())
        }
    };
    match route {
        Route::Version => {
            get_only(info)?;
            Ok(json_response(200, &discovery::version(app.cfg.k8s_minor)))
        }
        Route::Health => Ok(text_response(200, "ok")),
        Route::CoreRoot => {
            get_only(info)?;
            if discovery::wants_aggregated(&info.accept) {
                let doc = discovery::aggregated_core(&app.lock().registry);
                Ok(aggregated(doc))
            } else {
                Ok(json_response(
                    200,
                    &discovery::api_versions(&app.server_address),
                ))
            }
        }
        Route::GroupsRoot => {
            get_only(info)?;
            let c = app.lock();
            if discovery::wants_aggregated(&info.accept) {
                Ok(aggregated(discovery::aggregated_apis(&c.registry)))
            } else {
                Ok(json_response(200, &discovery::api_group_list(&c.registry)))
            }
        }
        Route::Group(g) => {
            get_only(info)?;
            discovery::api_group(&app.lock().registry, &g)
                .map(|d| json_response(200, &d))
                .ok_or_else(ApiError::no_route)
        }
        Route::GroupVersion(g, v) => {
            get_only(info)?;
            discovery::resource_list(&app.lock().registry, &g, &v)
                .map(|d| json_response(200, &d))
                .ok_or_else(ApiError::no_route)
        }
        Route::OpenApiRoot => {
            get_only(info)?;
            Ok(json_response(
                200,
                &crate::openapi::root(&app.lock().registry),
            ))
        }
        Route::OpenApiGroupVersion(p) => {
            get_only(info)?;
            crate::openapi::group_version(&app.lock().registry, &p)
                .map(|d| json_response(200, &d))
                .ok_or_else(ApiError::no_route)
        }
        Route::Resource(r) => resource::serve(app, r, info, body, watch_fault).await,
        Route::Control(path) => control::serve(app, &path, info, body).await,
        Route::NotFound => Err(ApiError::no_route()),
    }
}

fn aggregated(doc: Value) -> Resp {
    let mut r = json_response(200, &doc);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(discovery::AGGREGATED_CONTENT_TYPE),
    );
    r
}
