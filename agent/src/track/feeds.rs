//! The watches one wait shares: one per kind and namespace (on the
//! release's label) for the objects, whatever their number, and one per
//! namespace for the pods of every workload waiting there, and one per
//! namespace and kind for the Events of the workloads whose controllers
//! say only there that they cannot create pods.
//!
//! One watch per object meant a list and a watch request per object and
//! per workload's pods, and, while berthd spoke HTTP/1.1, a connection and
//! TLS handshake each: on a 200-object upgrade with 50 Deployments, ~200
//! requests and ~100 connections where three watches do. (Over HTTP/2 the
//! watches share the connection of every other request,
//! `cluster/client.rs`.) Helm's kstatus
//! watcher shares its informers the same way, per kind and namespace.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::Api;
use kube::discovery::{ApiResource, Scope};
use kube::runtime::{WatchStreamExt, watcher};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tokio::sync::{Notify, mpsc};

/// The states of one object (or of one workload's pods), as JSON, in the
/// order the API server sent them, each one copy however many wait on
/// it. Ends when its watch ends.
pub type Feed = mpsc::UnboundedReceiver<Arc<Value>>;

/// What a watch hands each state on by to one waiter.
type Sender = mpsc::UnboundedSender<Arc<Value>>;

/// An object as a watch brings it, for what judges its state: the JSON the
/// API server sent, read straight into a tree, without its managedFields
/// (which no judge reads and which are often the bulk of it), and the
/// metadata kube's watcher keeps its place by. Read as a Pod or a
/// DynamicObject and turned into JSON, each state was read twice over
/// (DynamicObject's flattened fields buffered first) and written once.
#[derive(Clone, Debug)]
pub struct Live {
    meta: ObjectMeta,
    value: Value,
}

impl Live {
    fn into_value(self) -> Arc<Value> {
        Arc::new(self.value)
    }

    fn name(&self) -> String {
        self.meta.name.clone().unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for Live {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Live, D::Error> {
        let mut value = Value::deserialize(d)?;
        let mut meta = ObjectMeta::default();
        if let Some(m) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("managedFields");
            let text = |key: &str| m.get(key).and_then(Value::as_str).map(str::to_string);
            meta.name = text("name");
            meta.namespace = text("namespace");
            meta.resource_version = text("resourceVersion");
            meta.uid = text("uid");
        }
        Ok(Live { meta, value })
    }
}

impl kube::Resource for Live {
    type DynamicType = ApiResource;
    type Scope = kube::core::DynamicResourceScope;

    fn group(dt: &ApiResource) -> Cow<'_, str> {
        dt.group.as_str().into()
    }

    fn version(dt: &ApiResource) -> Cow<'_, str> {
        dt.version.as_str().into()
    }

    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        dt.kind.as_str().into()
    }

    fn api_version(dt: &ApiResource) -> Cow<'_, str> {
        dt.api_version.as_str().into()
    }

    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        dt.plural.as_str().into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

/// Every watch of one wait, built before it starts.
pub struct Feeds {
    client: kube::Client,
    /// Label selector of the objects waited for ("" for none).
    selector: String,
    /// (group, version, plural, namespace) → the group's watch.
    objects: HashMap<(String, String, String, String), ObjectGroup>,
    /// namespace → its pods.
    pods: HashMap<String, Arc<PodFeed>>,
    /// (namespace, kind) → the Events about objects of that kind.
    events: HashMap<(String, String), Arc<EventFeed>>,
}

struct ObjectGroup {
    api: Api<Live>,
    by_name: HashMap<String, Vec<Sender>>,
}

impl Feeds {
    pub fn new(client: kube::Client, selector: &str) -> Feeds {
        Feeds {
            client,
            selector: selector.to_string(),
            objects: HashMap::new(),
            pods: HashMap::new(),
            events: HashMap::new(),
        }
    }

    /// The feed of one object's states.
    pub fn object(&mut self, ar: &ApiResource, scope: &Scope, namespace: &str, name: &str) -> Feed {
        let key = (
            ar.group.clone(),
            ar.version.clone(),
            ar.plural.clone(),
            namespace.to_string(),
        );
        let client = self.client.clone();
        let group = self.objects.entry(key).or_insert_with(|| ObjectGroup {
            api: match scope {
                Scope::Cluster => Api::all_with(client, ar),
                Scope::Namespaced => Api::namespaced_with(client, namespace, ar),
            },
            by_name: HashMap::new(),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        group.by_name.entry(name.to_string()).or_default().push(tx);
        rx
    }

    /// The pods of a namespace, watched once the first workload asks.
    pub fn pods(&mut self, namespace: &str) -> Arc<PodFeed> {
        self.pods
            .entry(namespace.to_string())
            .or_insert_with(|| {
                Arc::new(PodFeed {
                    api: Api::namespaced_with(
                        self.client.clone(),
                        namespace,
                        &ApiResource::erase::<Pod>(&()),
                    ),
                    state: Mutex::new(PodState::default()),
                    wanted: Notify::new(),
                })
            })
            .clone()
    }

    /// The pod-creation Events about objects of `kind` in a namespace,
    /// watched once the first of them asks.
    pub fn events(&mut self, namespace: &str, kind: &str) -> Arc<EventFeed> {
        self.events
            .entry((namespace.to_string(), kind.to_string()))
            .or_insert_with(|| {
                Arc::new(EventFeed {
                    api: Api::namespaced_with(
                        self.client.clone(),
                        namespace,
                        &ApiResource::erase::<Event>(&()),
                    ),
                    kind: kind.to_string(),
                    state: Mutex::new(EventState::default()),
                    wanted: Notify::new(),
                })
            })
            .clone()
    }

    /// Run every watch, until dropped (or until they all end, which closes
    /// their feeds).
    pub async fn run(self) {
        let selector = self.selector;
        let objects = self
            .objects
            .into_values()
            .map(|g| feed_objects(g, selector.clone()));
        let pods = self.pods.into_values().map(feed_pods);
        let events = self.events.into_values().map(feed_events);
        futures::future::join3(
            futures::future::join_all(objects),
            futures::future::join_all(pods),
            futures::future::join_all(events),
        )
        .await;
    }
}

async fn feed_objects(group: ObjectGroup, selector: String) {
    let mut config = watcher::Config::default();
    if !selector.is_empty() {
        config = config.labels(&selector);
    } else if let [name] = group.by_name.keys().collect::<Vec<_>>()[..] {
        // One object and no label to find it by (a hook): by its name.
        config = config.fields(&format!("metadata.name={name}"));
    }
    let objects = watcher(group.api, config)
        .default_backoff()
        .applied_objects();
    futures::pin_mut!(objects);
    while let Some(item) = objects.next().await {
        let object = match item {
            Ok(o) => o,
            Err(e) => {
                tracing::debug!(error = %e, "watch error, retrying");
                continue;
            }
        };
        let Some(waiting) = group
            .by_name
            .get(object.meta.name.as_deref().unwrap_or_default())
        else {
            continue;
        };
        let value = object.into_value();
        for tx in waiting {
            let _ = tx.send(Arc::clone(&value));
        }
    }
}

/// One namespace's pods, shared by the workloads waiting in it: each gets
/// the pods its `spec.selector.matchLabels` selects, those already seen
/// first.
pub struct PodFeed {
    api: Api<Live>,
    state: Mutex<PodState>,
    wanted: Notify,
}

#[derive(Default)]
struct PodState {
    started: bool,
    /// The pods as last seen, by name.
    pods: HashMap<String, Arc<Value>>,
    subscribers: Vec<(BTreeMap<String, String>, Sender)>,
}

fn selects(selector: &BTreeMap<String, String>, pod: &Value) -> bool {
    let labels = &pod["metadata"]["labels"];
    selector
        .iter()
        .all(|(k, v)| labels[k].as_str() == Some(v.as_str()))
}

impl PodFeed {
    /// The pods `match_labels` selects, from now on (and those seen so far).
    pub fn subscribe(&self, match_labels: BTreeMap<String, String>) -> Feed {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.state.lock().expect("pod feed poisoned");
        for pod in state.pods.values() {
            if selects(&match_labels, pod) {
                let _ = tx.send(Arc::clone(pod));
            }
        }
        state.subscribers.push((match_labels, tx));
        if !state.started {
            state.started = true;
            self.wanted.notify_one();
        }
        rx
    }

    fn seen(&self, pod: Arc<Value>) {
        let mut state = self.state.lock().expect("pod feed poisoned");
        state.subscribers.retain(|(_, tx)| !tx.is_closed());
        for (selector, tx) in &state.subscribers {
            if selects(selector, &pod) {
                let _ = tx.send(Arc::clone(&pod));
            }
        }
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        state.pods.insert(name.to_string(), pod);
    }

    /// A pod went: its subscribers see it as deleting, so whatever it
    /// signalled no longer counts.
    fn gone(&self, name: &str) {
        let mut state = self.state.lock().expect("pod feed poisoned");
        let Some(pod) = state.pods.remove(name) else {
            return;
        };
        let mut pod = Arc::unwrap_or_clone(pod);
        if let Some(meta) = pod["metadata"].as_object_mut() {
            meta.entry("deletionTimestamp")
                .or_insert_with(|| Value::String("1970-01-01T00:00:00Z".into()));
        }
        let pod = Arc::new(pod);
        for (selector, tx) in &state.subscribers {
            if selects(selector, &pod) {
                let _ = tx.send(Arc::clone(&pod));
            }
        }
    }

    fn end(&self) {
        self.state
            .lock()
            .expect("pod feed poisoned")
            .subscribers
            .clear();
    }
}

async fn feed_pods(feed: Arc<PodFeed>) {
    feed.wanted.notified().await;
    let events = watcher(feed.api.clone(), watcher::Config::default()).default_backoff();
    futures::pin_mut!(events);
    // The names a relist found: pods missing from it went meanwhile.
    let mut relisted: Option<HashSet<String>> = None;
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                tracing::debug!(error = %e, "pod watch error, retrying");
                continue;
            }
        };
        match event {
            watcher::Event::Init => relisted = Some(HashSet::new()),
            watcher::Event::InitApply(p) => {
                if let Some(names) = relisted.as_mut() {
                    names.insert(p.name());
                }
                feed.seen(p.into_value());
            }
            watcher::Event::InitDone => {
                let Some(names) = relisted.take() else {
                    continue;
                };
                let went: Vec<String> = {
                    let state = feed.state.lock().expect("pod feed poisoned");
                    state
                        .pods
                        .keys()
                        .filter(|n| !names.contains(*n))
                        .cloned()
                        .collect()
                };
                for name in went {
                    feed.gone(&name);
                }
            }
            watcher::Event::Apply(p) => feed.seen(p.into_value()),
            watcher::Event::Delete(p) => feed.gone(&p.name()),
        }
    }
    feed.end();
}

/// The Events a controller records about creating an object's pods:
/// `FailedCreate` (a policy webhook, a quota, a missing ServiceAccount
/// refused one) and `SuccessfulCreate`.
pub const CREATE_REASONS: &[&str] = &["FailedCreate", "SuccessfulCreate"];

/// When an Event last happened (RFC 3339): `lastTimestamp`, else
/// `eventTime` (the events.k8s.io recorder's), else `firstTimestamp`.
pub fn event_time(event: &Value) -> &str {
    ["lastTimestamp", "eventTime", "firstTimestamp"]
        .iter()
        .find_map(|f| event[*f].as_str())
        .unwrap_or_default()
}

/// One namespace's pod-creation Events ([`CREATE_REASONS`]) about objects
/// of one kind (a field selector on `involvedObject.kind`), shared by the
/// workloads of that kind waiting there: each gets those about it by name,
/// those seen before it asked first, each version of an Event once, the
/// ones a list brings in the order they happened.
pub struct EventFeed {
    api: Api<Live>,
    kind: String,
    state: Mutex<EventState>,
    wanted: Notify,
}

#[derive(Default)]
struct EventState {
    started: bool,
    /// Every version delivered, by the Event's name: a relist brings them
    /// again, and an old failure must not come back after a success.
    delivered: HashMap<String, String>,
    /// What was delivered, by the involved object's name, in order.
    about: HashMap<String, Vec<Arc<Value>>>,
    subscribers: Vec<(String, Sender)>,
}

impl EventFeed {
    /// The pod-creation Events about the object `name`, from now on (and
    /// those seen so far).
    pub fn subscribe(&self, name: &str) -> Feed {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.state.lock().expect("event feed poisoned");
        for event in state.about.get(name).into_iter().flatten() {
            let _ = tx.send(Arc::clone(event));
        }
        state.subscribers.push((name.to_string(), tx));
        if !state.started {
            state.started = true;
            self.wanted.notify_one();
        }
        rx
    }

    fn seen(&self, events: Vec<Arc<Value>>) {
        let mut state = self.state.lock().expect("event feed poisoned");
        state.subscribers.retain(|(_, tx)| !tx.is_closed());
        for event in events {
            let reason = event["reason"].as_str().unwrap_or_default();
            if !CREATE_REASONS.contains(&reason) {
                continue;
            }
            let name = event["metadata"]["name"].as_str().unwrap_or_default();
            let version = event["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default();
            if state.delivered.get(name).map(String::as_str) == Some(version) {
                continue;
            }
            state
                .delivered
                .insert(name.to_string(), version.to_string());
            let about = event["involvedObject"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            for (wants, tx) in &state.subscribers {
                if *wants == about {
                    let _ = tx.send(Arc::clone(&event));
                }
            }
            state.about.entry(about).or_default().push(event);
        }
    }

    fn end(&self) {
        self.state
            .lock()
            .expect("event feed poisoned")
            .subscribers
            .clear();
    }
}

async fn feed_events(feed: Arc<EventFeed>) {
    feed.wanted.notified().await;
    let config = watcher::Config::default().fields(&format!("involvedObject.kind={}", feed.kind));
    let events = watcher(feed.api.clone(), config).default_backoff();
    futures::pin_mut!(events);
    // What a list brings, to be told in the order it happened.
    let mut listed: Option<Vec<Arc<Value>>> = None;
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                tracing::debug!(error = %e, "event watch error, retrying");
                continue;
            }
        };
        match event {
            watcher::Event::Init => listed = Some(Vec::new()),
            watcher::Event::InitApply(e) => match listed.as_mut() {
                Some(list) => list.push(e.into_value()),
                None => feed.seen(vec![e.into_value()]),
            },
            watcher::Event::InitDone => {
                let mut list = listed.take().unwrap_or_default();
                list.sort_by(|a, b| event_time(a).cmp(event_time(b)));
                feed.seen(list);
            }
            watcher::Event::Apply(e) => feed.seen(vec![e.into_value()]),
            // An Event that expired says nothing new.
            watcher::Event::Delete(_) => {}
        }
    }
    feed.end();
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;
    use kube::core::WatchEvent;

    #[test]
    fn a_watched_state_is_its_json_without_managed_fields_and_keeps_its_place() {
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "web-1", "namespace": "shop", "uid": "u-1", "resourceVersion": "42",
                "labels": {"app": "web"},
                "managedFields": [{"manager": "kubelet", "operation": "Update",
                                   "fieldsV1": {"f:status": {}}}],
            },
            "status": {"phase": "Running", "extra": null},
        });
        // Either order of the event's members (kube-apiserver writes the
        // type first).
        for line in [
            format!(r#"{{"type":"MODIFIED","object":{pod}}}"#),
            format!(r#"{{"object":{pod},"type":"MODIFIED"}}"#),
        ] {
            let event: WatchEvent<Live> = serde_json::from_str(&line).unwrap();
            let WatchEvent::Modified(live) = event else {
                panic!("not a modification: {line}");
            };
            assert_eq!(live.meta().resource_version.as_deref(), Some("42"));
            assert_eq!(live.meta().uid.as_deref(), Some("u-1"));
            assert_eq!(live.name(), "web-1");
            let mut want = pod.clone();
            want["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("managedFields");
            assert_eq!(*live.into_value(), want);
        }
        let url = Live::url_path(&ApiResource::erase::<Pod>(&()), Some("shop"));
        assert_eq!(url, "/api/v1/namespaces/shop/pods");
    }
}
