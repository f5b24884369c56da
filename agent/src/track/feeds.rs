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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, DynamicObject};
use kube::discovery::{ApiResource, Scope};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use tokio::sync::{Notify, mpsc};

/// The states of one object (or of one workload's pods), as JSON, in the
/// order the API server sent them. Ends when its watch ends.
pub type Feed = mpsc::UnboundedReceiver<Value>;

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
    api: Api<DynamicObject>,
    by_name: HashMap<String, Vec<mpsc::UnboundedSender<Value>>>,
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
                    api: Api::namespaced(self.client.clone(), namespace),
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
                    api: Api::namespaced(self.client.clone(), namespace),
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
        let mut object = match item {
            Ok(o) => o,
            Err(e) => {
                tracing::debug!(error = %e, "watch error, retrying");
                continue;
            }
        };
        let name = object.metadata.name.as_deref().unwrap_or_default();
        let Some(waiting) = group.by_name.get(name) else {
            continue;
        };
        let value = crate::cluster::live_value(&mut object);
        for tx in waiting {
            let _ = tx.send(value.clone());
        }
    }
}

/// One namespace's pods, shared by the workloads waiting in it: each gets
/// the pods its `spec.selector.matchLabels` selects, those already seen
/// first.
pub struct PodFeed {
    api: Api<Pod>,
    state: Mutex<PodState>,
    wanted: Notify,
}

#[derive(Default)]
struct PodState {
    started: bool,
    /// The pods as last seen, by name.
    pods: HashMap<String, Value>,
    subscribers: Vec<(BTreeMap<String, String>, mpsc::UnboundedSender<Value>)>,
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
                let _ = tx.send(pod.clone());
            }
        }
        state.subscribers.push((match_labels, tx));
        if !state.started {
            state.started = true;
            self.wanted.notify_one();
        }
        rx
    }

    fn seen(&self, pod: Value) {
        let mut state = self.state.lock().expect("pod feed poisoned");
        state.subscribers.retain(|(_, tx)| !tx.is_closed());
        for (selector, tx) in &state.subscribers {
            if selects(selector, &pod) {
                let _ = tx.send(pod.clone());
            }
        }
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        state.pods.insert(name.to_string(), pod);
    }

    /// A pod went: its subscribers see it as deleting, so whatever it
    /// signalled no longer counts.
    fn gone(&self, name: &str) {
        let mut state = self.state.lock().expect("pod feed poisoned");
        let Some(mut pod) = state.pods.remove(name) else {
            return;
        };
        if let Some(meta) = pod["metadata"].as_object_mut() {
            meta.entry("deletionTimestamp")
                .or_insert_with(|| Value::String("1970-01-01T00:00:00Z".into()));
        }
        for (selector, tx) in &state.subscribers {
            if selects(selector, &pod) {
                let _ = tx.send(pod.clone());
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
    let name_of = |p: &Pod| p.metadata.name.clone().unwrap_or_default();
    let json = |mut p: Pod| crate::cluster::live_value(&mut p);
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
                    names.insert(name_of(&p));
                }
                feed.seen(json(p));
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
            watcher::Event::Apply(p) => feed.seen(json(p)),
            watcher::Event::Delete(p) => feed.gone(&name_of(&p)),
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
    api: Api<Event>,
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
    about: HashMap<String, Vec<Value>>,
    subscribers: Vec<(String, mpsc::UnboundedSender<Value>)>,
}

impl EventFeed {
    /// The pod-creation Events about the object `name`, from now on (and
    /// those seen so far).
    pub fn subscribe(&self, name: &str) -> Feed {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.state.lock().expect("event feed poisoned");
        for event in state.about.get(name).into_iter().flatten() {
            let _ = tx.send(event.clone());
        }
        state.subscribers.push((name.to_string(), tx));
        if !state.started {
            state.started = true;
            self.wanted.notify_one();
        }
        rx
    }

    fn seen(&self, events: Vec<Value>) {
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
                    let _ = tx.send(event.clone());
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
    let json = |e: &Event| serde_json::to_value(e).unwrap_or(Value::Null);
    // What a list brings, to be told in the order it happened.
    let mut listed: Option<Vec<Value>> = None;
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
                Some(list) => list.push(json(&e)),
                None => feed.seen(vec![json(&e)]),
            },
            watcher::Event::InitDone => {
                let mut list = listed.take().unwrap_or_default();
                list.sort_by(|a, b| event_time(a).cmp(event_time(b)));
                feed.seen(list);
            }
            watcher::Event::Apply(e) => feed.seen(vec![json(&e)]),
            // An Event that expired says nothing new.
            watcher::Event::Delete(_) => {}
        }
    }
    feed.end();
}
