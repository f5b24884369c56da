//! Watch streams (SIM_SPEC §4): newline-delimited JSON events, initial state, bookmarks,
//! resume from a resourceVersion, 410 as an ERROR event, selector transitions, timeouts and
//! the watch-only fault actions.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::route::ResRoute;
use super::{App, ReqInfo, Resp};
use crate::faults::Action;
use crate::object;
use crate::resources::ResourceType;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::{ApiError, ApiResult, Cause};
use crate::store::{EventType, StoreEvent, Subscription, WatchMsg};

/// What one watch selects.
struct Filter {
    rt: Arc<ResourceType>,
    /// `as=Table` watches: events carry one-row Tables (the value is `includeObject`).
    table: Option<String>,
    clock: Arc<crate::clock::ClockCore>,
    ns: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    metadata_only: bool,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        self.ns.as_ref().is_none_or(|n| object::namespace(obj) == n)
            && self.labels.matches(&object::labels(obj))
            && self.fields.matches(obj)
    }

    /// The object as this watch shows it. Borrowed when that is the stored
    /// object as it is: a plain watch of the version it is stored in.
    fn present<'a>(&self, obj: &'a Value) -> Cow<'a, Value> {
        let api_version = self.rt.api_version();
        if self.table.is_none()
            && !self.metadata_only
            && obj.get("apiVersion").and_then(Value::as_str) == Some(api_version.as_str())
        {
            return Cow::Borrowed(obj);
        }
        let mut out = obj.clone();
        if let Some(m) = out.as_object_mut() {
            m.insert("apiVersion".into(), json!(api_version));
        }
        if let Some(include) = &self.table {
            let meta = json!({"resourceVersion": object::resource_version(&out).unwrap_or("")});
            return Cow::Owned(super::table::table(
                &self.rt,
                &[out],
                meta,
                include,
                self.clock.now(),
            ));
        }
        if self.metadata_only {
            return Cow::Owned(json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": out.get("metadata").cloned().unwrap_or(json!({})),
            }));
        }
        Cow::Owned(out)
    }

    /// The event a watcher sees for a store event, after selector transitions.
    fn translate(&self, ev: &StoreEvent) -> Option<String> {
        let now = self.matches(&ev.object);
        let before = ev.old.as_deref().map(|o| self.matches(o));
        let current = Cow::Borrowed(&*ev.object);
        let (kind, obj) = match (ev.kind, before, now) {
            (EventType::Added, _, true) => ("ADDED", current),
            (EventType::Modified, Some(true), true) => ("MODIFIED", current),
            (EventType::Modified, Some(false), true) => ("ADDED", current),
            (EventType::Modified, Some(true), false) => {
                // No longer selected: DELETED with the previous content at the new RV.
                let mut old = ev.old.as_deref().cloned().unwrap_or(Value::Null);
                object::set(
                    &mut old,
                    &["metadata", "resourceVersion"],
                    json!(ev.rv.to_string()),
                );
                ("DELETED", Cow::Owned(old))
            }
            (EventType::Deleted, Some(true), _) => ("DELETED", current),
            _ => return None,
        };
        Some(line(kind, &self.present(&obj)))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> String {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let (kind, api_version) = if self.metadata_only {
            (
                "PartialObjectMetadata".to_string(),
                "meta.k8s.io/v1".to_string(),
            )
        } else {
            (self.rt.kind.clone(), self.rt.api_version())
        };
        line(
            "BOOKMARK",
            &json!({"kind": kind, "apiVersion": api_version, "metadata": meta}),
        )
    }
}

/// `{"type":…,"object":…}` and a newline, written straight from the object.
/// The type comes first, as kube-apiserver writes its `WatchEvent` (and
/// SIM_SPEC §4 shows it): a client that reads the event into a type tagged
/// by it (kube's `WatchEvent<K>`) then reads the object straight into its
/// type, where with the object first serde holds the whole object in a
/// buffer of its own until the tag comes.
fn line(kind: &str, obj: &Value) -> String {
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(b"{\"type\":");
    let written = serde_json::to_writer(&mut out, kind)
        .and_then(|()| {
            out.extend_from_slice(b",\"object\":");
            serde_json::to_writer(&mut out, obj)
        })
        .is_ok();
    out.extend_from_slice(b"}\n");
    match String::from_utf8(out) {
        Ok(s) if written => s,
        _ => String::new(),
    }
}

fn expired_line(asked: u64, oldest: u64) -> String {
    line(
        "ERROR",
        &json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("too old resource version: {asked} ({oldest})"),
            "reason": "Expired", "code": 410,
        }),
    )
}

/// Watch-only faults, decoded.
#[derive(Default)]
struct WatchFaults {
    close_after_events: Option<u64>,
    close_after_ms: Option<u64>,
    abort: bool,
    expire: bool,
    stall: bool,
    no_end_bookmark: bool,
}

impl WatchFaults {
    fn from(a: Option<Action>) -> WatchFaults {
        let mut f = WatchFaults::default();
        match a {
            Some(Action::WatchCloseAfter { events, ms }) => {
                f.close_after_events = events;
                f.close_after_ms = ms;
            }
            Some(Action::WatchAbortAfter { events, ms }) => {
                f.close_after_events = events;
                f.close_after_ms = ms;
                f.abort = true;
            }
            Some(Action::WatchExpire) => f.expire = true,
            Some(Action::WatchStall) => f.stall = true,
            Some(Action::WatchNoInitialEndBookmark) => f.no_end_bookmark = true,
            _ => {}
        }
        f
    }
}

type Chunk = Result<Bytes, std::io::Error>;

pub(super) fn start(
    app: &Arc<App>,
    r: &ResRoute,
    info: &ReqInfo,
    fault: Option<Action>,
) -> ApiResult<Resp> {
    let filter = Filter {
        rt: r.rt.clone(),
        table: super::table::wants_table(&info.accept)
            .then(|| super::resource::include_object(info).to_string()),
        clock: app.clock.clone(),
        ns: r.ns.clone(),
        labels: LabelSelector::parse(info.q("labelSelector").unwrap_or(""))?,
        fields: FieldSelector::parse(info.q("fieldSelector").unwrap_or(""), &r.rt)?,
        metadata_only: info.accept.contains("as=PartialObjectMetadata"),
    };
    let bookmarks = info.flag("allowWatchBookmarks");
    let send_initial = info.q("sendInitialEvents").map(|v| v == "true");
    let rv_match = info.q("resourceVersionMatch").unwrap_or("");
    if send_initial.is_some() && (!bookmarks || rv_match != "NotOlderThan") {
        let mut e = ApiError::new(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan and allowWatchBookmarks=true",
        );
        let d = e.details_mut();
        d.kind = Some("ListOptions".into());
        d.group = Some("meta.k8s.io".into());
        d.causes = vec![Cause::forbidden(
            "resourceVersionMatch",
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        )];
        return Err(e);
    }
    let timeout = info
        .q("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let faults = WatchFaults::from(fault);
    let rv_param = info.q("resourceVersion").unwrap_or("");

    // Initial lines and the subscription are taken under one lock: no gap, no duplicate.
    let mut initial: Vec<String> = Vec::new();
    let mut expired = None;
    let sub: Option<Subscription>;
    let start_rv;
    {
        let mut c = app.lock();
        start_rv = c.store.current_rv();
        let from_scratch = rv_param.is_empty() || rv_param == "0";
        if faults.expire {
            expired = Some(expired_line(rv_param.parse().unwrap_or(0), start_rv));
            sub = None;
        } else if from_scratch || send_initial == Some(true) {
            if send_initial != Some(false) {
                for obj in c.store.list(&r.rt.key(), r.ns.as_deref()) {
                    if filter.matches(&obj) {
                        initial.push(line("ADDED", &filter.present(&obj)));
                    }
                }
            }
            if send_initial == Some(true) && !faults.no_end_bookmark {
                initial.push(filter.bookmark(start_rv, true));
            }
            sub = Some(c.store.subscribe(r.rt.key(), r.ns.clone()));
        } else {
            let rv: u64 = rv_param.parse().map_err(|_| {
                ApiError::bad_request(format!("invalid resource version: {rv_param:?}"))
            })?;
            match c.store.events_since(&r.rt.key(), rv) {
                Err(t) => {
                    expired = Some(expired_line(t.asked, t.oldest));
                    sub = None;
                }
                Ok(events) => {
                    initial.extend(events.iter().filter_map(|e| filter.translate(e)));
                    sub = Some(c.store.subscribe(r.rt.key(), r.ns.clone()));
                }
            }
        }
    }

    let (tx, rx) = mpsc::channel::<Chunk>(64);
    let app2 = app.clone();
    tokio::spawn(async move {
        run(
            app2, filter, sub, initial, expired, start_rv, bookmarks, timeout, faults, tx,
        )
        .await;
    });
    let stream =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

#[allow(clippy::too_many_arguments)]
async fn run(
    app: Arc<App>,
    filter: Filter,
    sub: Option<Subscription>,
    initial: Vec<String>,
    expired: Option<String>,
    start_rv: u64,
    bookmarks: bool,
    timeout: Duration,
    faults: WatchFaults,
    tx: mpsc::Sender<Chunk>,
) {
    let send = |s: String| {
        let tx = tx.clone();
        async move { tx.send(Ok(Bytes::from(s))).await.is_ok() }
    };
    if let Some(e) = expired {
        let _ = send(e).await;
        return;
    }
    let Some(mut sub) = sub else { return };
    let clock = app.clock.clone();
    let started = clock.now();
    let deadline = started.plus(timeout);
    let interval = app.cfg.timings.bookmark_interval;
    let mut next_bookmark = started.plus(interval);
    let fault_deadline = faults
        .close_after_ms
        .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
    let mut sent_events: u64 = 0;
    let mut last_rv = start_rv;
    let mut ended_by_fault = false;

    if faults.stall {
        // Hold the connection open and silent until the client gives up or time runs out.
        tokio::select! {
            _ = clock.sleep_until(deadline) => {}
            _ = app.cancel.cancelled() => {}
            _ = tx.closed() => {}
        }
        app.lock().store.unsubscribe(sub.id);
        return;
    }

    let over_budget = |n: u64| faults.close_after_events.is_some_and(|max| n >= max);
    for l in initial {
        if over_budget(sent_events) {
            ended_by_fault = true;
            break;
        }
        if !send(l).await {
            app.lock().store.unsubscribe(sub.id);
            return;
        }
        sent_events += 1;
    }

    while !ended_by_fault {
        let fault_timer = async {
            match fault_deadline {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        // Biased: committed events first, then overdue bookmarks, then the deadline, so a
        // Manual clock jumping far ahead still produces every bookmark in order.
        tokio::select! {
            biased;
            msg = sub.rx.recv() => match msg {
                Some(WatchMsg::Event(ev)) => {
                    last_rv = last_rv.max(ev.rv);
                    if let Some(l) = filter.translate(&ev) {
                        if over_budget(sent_events) {
                            ended_by_fault = true;
                            break;
                        }
                        if !send(l).await {
                            break;
                        }
                        sent_events += 1;
                    }
                }
                Some(WatchMsg::Close { abort }) => {
                    if abort {
                        abort_stream(&tx).await;
                    }
                    break;
                }
                None => break,
            },
            _ = clock.sleep_until(next_bookmark) => {
                next_bookmark = next_bookmark.plus(interval);
                if bookmarks {
                    let rv = current_rv_after_drain(&app, &filter, &mut sub, &mut last_rv, &tx).await;
                    if !send(filter.bookmark(rv, false)).await {
                        break;
                    }
                }
            }
            _ = clock.sleep_until(deadline) => {
                if bookmarks {
                    let rv = current_rv_after_drain(&app, &filter, &mut sub, &mut last_rv, &tx).await;
                    let _ = send(filter.bookmark(rv, false)).await;
                }
                break;
            }
            _ = fault_timer => {
                ended_by_fault = true;
            }
            _ = app.cancel.cancelled() => break,
            _ = tx.closed() => break,
        }
    }
    if ended_by_fault && faults.abort {
        abort_stream(&tx).await;
    }
    app.lock().store.unsubscribe(sub.id);
}

/// Cuts the stream in the middle of an event. The events before it are flushed first: hyper
/// drops unwritten data when a body fails, and the client must see them.
async fn abort_stream(tx: &mpsc::Sender<Chunk>) {
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = tx
        .send(Ok(Bytes::from_static(b"{\"type\":\"MODIFIED\",\"obj")))
        .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let _ = tx
        .send(Err(std::io::Error::other("watch cut by fault injection")))
        .await;
}

/// Sends events already committed, then returns the current RV for a bookmark: every event
/// of this resource up to it has been delivered.
async fn current_rv_after_drain(
    app: &Arc<App>,
    filter: &Filter,
    sub: &mut Subscription,
    last_rv: &mut u64,
    tx: &mpsc::Sender<Chunk>,
) -> u64 {
    let (rv, pending) = {
        let c = app.lock();
        let rv = c.store.current_rv();
        let mut pending = Vec::new();
        while let Ok(WatchMsg::Event(ev)) = sub.rx.try_recv() {
            *last_rv = (*last_rv).max(ev.rv);
            if let Some(l) = filter.translate(&ev) {
                pending.push(l);
            }
        }
        (rv, pending)
    };
    for l in pending {
        let _ = tx.send(Ok(Bytes::from(l))).await;
    }
    rv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_the_json_of_its_event() {
        let obj = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p\u{e9}\"q"}});
        for kind in ["ADDED", "MODIFIED", "DELETED", "BOOKMARK"] {
            let written = line(kind, &obj);
            let (text, rest) = written.split_at(written.len() - 1);
            assert_eq!(rest, "\n");
            let read: Value = serde_json::from_str(text).unwrap();
            assert_eq!(read, json!({"type": kind, "object": obj}));
            let head = format!("{{\"type\":\"{kind}\",\"object\":{{");
            assert!(written.starts_with(&head), "{written}");
        }
    }
}
