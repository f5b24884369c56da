//! The controller engine (SIM_SPEC §5): a work queue fed by committed changes and by timers on
//! the simulator clock, and the reconcile functions (one file per controller).
//!
//! Controllers run synchronously on `&mut Cluster` and write through the normal write path, so
//! resourceVersions, watch events and managedFields stay consistent. With a Real clock a task
//! runs passes after a small latency (so observedGeneration lags as on a real cluster); with
//! a Manual clock nothing moves until `advance` or `settle`.

pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod events;
pub mod gc;
pub mod job;
pub mod misc;
pub mod namespace;
pub mod node;
pub mod pod;
pub mod replicaset;
pub mod statefulset;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use serde_json::Value;

use crate::apiserver::{Cluster, WriteOpts};
use crate::clock::{ClockCore, SimTime};
use crate::faults::Facts;
use crate::object;
use crate::resources::ResKey;
use crate::resources::ResourceType;
use crate::status::ApiResult;
use crate::store::{EventType, ObjKey, StoreEvent};

/// A unit of controller work.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkKey {
    /// Reconcile this object with its kind's controller.
    Obj(ObjKey),
    /// One garbage-collector pass over owner references and deletion finalizers.
    Gc,
}

/// Pending work: a FIFO of distinct keys plus timers on simulated time.
pub struct WorkQueue {
    queue: VecDeque<WorkKey>,
    queued: HashSet<WorkKey>,
    timers: BTreeSet<(SimTime, u64, WorkKey)>,
    seq: u64,
    /// Failed syncs in a row, per object: the retry's backoff.
    failures: HashMap<ObjKey, u32>,
    pub notify: Arc<Notify>,
}

impl Default for WorkQueue {
    fn default() -> Self {
        WorkQueue {
            queue: VecDeque::new(),
            queued: HashSet::new(),
            timers: BTreeSet::new(),
            seq: 0,
            failures: HashMap::new(),
            notify: Arc::new(Notify::new()),
        }
    }
}

impl WorkQueue {
    pub fn add(&mut self, k: WorkKey) {
        if self.queued.insert(k.clone()) {
            self.queue.push_back(k);
            self.notify.notify_one();
        }
    }

    pub fn add_at(&mut self, at: SimTime, k: WorkKey) {
        self.seq += 1;
        self.timers.insert((at, self.seq, k));
        self.notify.notify_one();
    }

    /// Syncs `key` again after a failure, backing off as client-go's
    /// default controller rate limiter does: 5 ms, doubling with each
    /// failure in a row, at most 1000 s.
    pub fn retry(&mut self, now: SimTime, key: &ObjKey) {
        let n = self.failures.entry(key.clone()).or_insert(0);
        let delay = Duration::from_millis(5)
            .saturating_mul(1u32 << (*n).min(20))
            .min(Duration::from_secs(1000));
        *n += 1;
        self.add_at(now.plus(delay), WorkKey::Obj(key.clone()));
    }

    /// A sync of `key` succeeded: its next failure backs off from the start.
    pub fn forget(&mut self, key: &ObjKey) {
        self.failures.remove(key);
    }

    /// Moves timers due at `now` into the queue.
    fn take_due(&mut self, now: SimTime) {
        for k in self.take_due_timers(now) {
            self.add(k);
        }
    }

    /// Takes the keys whose timers are due at `now`, each once, leaving the queue as it is.
    fn take_due_timers(&mut self, now: SimTime) -> Vec<WorkKey> {
        let mut keys = Vec::new();
        while let Some(first) = self.timers.first() {
            if first.0 > now {
                break;
            }
            let (_, _, k) = self.timers.pop_first().expect("checked non-empty");
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys
    }

    fn drain(&mut self) -> Vec<WorkKey> {
        self.queued.clear();
        self.queue.drain(..).collect()
    }

    pub fn has_ready_work(&self) -> bool {
        !self.queue.is_empty()
    }

    pub fn next_timer(&self) -> Option<SimTime> {
        self.timers.first().map(|t| t.0)
    }
}

/// Kinds that have a controller of their own.
fn has_controller(res: &ResKey) -> bool {
    matches!(
        (res.group.as_str(), res.plural.as_str()),
        ("", "pods")
            | ("", "namespaces")
            | ("", "services")
            | ("", "persistentvolumeclaims")
            | ("apps", "deployments")
            | ("apps", "replicasets")
            | ("apps", "statefulsets")
            | ("apps", "daemonsets")
            | ("batch", "jobs")
            | ("batch", "cronjobs")
            | ("networking.k8s.io", "ingresses")
            | ("apiextensions.k8s.io", "customresourcedefinitions")
    )
}

impl Cluster {
    /// Queues the work a committed change causes.
    pub fn after_commit(&mut self, ev: &StoreEvent) {
        if has_controller(&ev.key.res) {
            self.work.add(WorkKey::Obj(ev.key.clone()));
        }
        let mut owners = object::owner_refs(&ev.object);
        if let Some(old) = &ev.old {
            owners.extend(object::owner_refs(old));
        }
        for o in owners.iter().filter(|o| o.controller) {
            if let Some(rt) = self.registry.by_kind(&o.api_version, &o.kind) {
                let ns = if rt.namespaced {
                    ev.key.ns.as_str()
                } else {
                    ""
                };
                self.work
                    .add(WorkKey::Obj(ObjKey::new(rt.key(), ns, &o.name)));
            }
        }
        let deleting = object::is_deleting(&ev.object);
        if ev.kind == EventType::Deleted || deleting {
            self.work.add(WorkKey::Gc);
        }
        if !ev.key.ns.is_empty()
            && ev.kind == EventType::Deleted
            && self.namespace_state(&ev.key.ns) == Some(true)
        {
            self.work.add(WorkKey::Obj(ObjKey::new(
                ResKey::new("", "namespaces"),
                "",
                &ev.key.ns,
            )));
        }
        // A new or changed pod may matter to every DaemonSet / StatefulSet of its namespace only
        // through its owner, handled above; nodes are fixed, so nothing else to do.
    }

    /// A controller's create, refused as admission would refuse it when a
    /// fault rule names the controller's field manager (SIM_SPEC §6 rules
    /// reach the controllers' own writes only that way).
    pub fn create_as_controller(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: &str,
        body: Value,
        manager: &str,
    ) -> ApiResult<Value> {
        let name = object::name(&body);
        let name = if name.is_empty() {
            object::str_at(&body, &["metadata", "generateName"]).unwrap_or_default()
        } else {
            name
        };
        let base = if rt.group.is_empty() {
            format!("/api/{}", rt.version)
        } else {
            format!("/apis/{}/{}", rt.group, rt.version)
        };
        let facts = Facts {
            verb: "create".into(),
            group: rt.group.clone(),
            resource: rt.plural.clone(),
            subresource: String::new(),
            namespace: ns.to_string(),
            name: name.to_string(),
            path: format!("{base}/namespaces/{ns}/{}", rt.plural),
            field_manager: manager.to_string(),
        };
        if let Some(e) = self.faults.check_controller(&facts, self.now()) {
            return Err(e);
        }
        self.create(rt, ns, body, &WriteOpts::system(manager))
    }

    /// Queues every object that has a controller (after restoring saved state).
    pub fn requeue_all(&mut self) {
        let keys: Vec<ObjKey> = self
            .store
            .all()
            .filter(|(k, _)| has_controller(&k.res))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.work.add(WorkKey::Obj(k));
        }
        self.work.add(WorkKey::Gc);
    }

    fn reconcile(&mut self, key: &WorkKey) {
        match key {
            WorkKey::Gc => gc::run(self),
            WorkKey::Obj(k) => match (k.res.group.as_str(), k.res.plural.as_str()) {
                ("", "pods") => pod::reconcile(self, k),
                ("", "namespaces") => namespace::reconcile(self, k),
                ("", "services") => misc::reconcile_service(self, k),
                ("", "persistentvolumeclaims") => misc::reconcile_pvc(self, k),
                ("apps", "deployments") => deployment::reconcile(self, k),
                ("apps", "replicasets") => replicaset::reconcile(self, k),
                ("apps", "statefulsets") => statefulset::reconcile(self, k),
                ("apps", "daemonsets") => daemonset::reconcile(self, k),
                ("batch", "jobs") => job::reconcile(self, k),
                ("batch", "cronjobs") => cronjob::reconcile(self, k),
                ("networking.k8s.io", "ingresses") => misc::reconcile_ingress(self, k),
                ("apiextensions.k8s.io", "customresourcedefinitions") => {
                    misc::reconcile_crd(self, k)
                }
                _ => {}
            },
        }
    }

    /// Runs the keys whose timers are due now, at once: a timer stands for something that
    /// happens at its time (a container started, a grace period ended), not for a change a
    /// controller notices later.
    fn run_due_timers(&mut self) {
        let now = self.now();
        let due = self.work.take_due_timers(now);
        for k in &due {
            self.reconcile(k);
        }
    }

    /// One draw of the reconcile latency (SIM_SPEC §5: 20–50 ms on a Real clock).
    fn reconcile_latency(&mut self) -> Duration {
        let (lo, hi) = self.cfg.timings.reconcile_latency;
        if hi > lo {
            Duration::from_millis(
                self.rng
                    .random_range(lo.as_millis() as u64..=hi.as_millis() as u64),
            )
        } else {
            lo
        }
    }

    /// Runs one pass: every key queued now (after moving due timers in). Returns how many ran.
    fn pass(&mut self) -> usize {
        let now = self.now();
        self.work.take_due(now);
        let batch = self.work.drain();
        for k in &batch {
            self.reconcile(k);
        }
        batch.len()
    }

    /// Runs passes at the current time until no work is left.
    pub fn settle_now(&mut self) {
        for _ in 0..MAX_PASSES {
            if self.pass() == 0 {
                return;
            }
        }
        tracing::warn!("controllers did not settle after {MAX_PASSES} passes");
    }
}

const MAX_PASSES: usize = 10_000;

/// Drives controllers: in the background for a Real clock, on demand for a Manual one.
pub struct Engine {
    cluster: Arc<Mutex<Cluster>>,
    clock: Arc<ClockCore>,
    busy: std::sync::atomic::AtomicBool,
}

impl Engine {
    pub fn new(cluster: Arc<Mutex<Cluster>>, clock: Arc<ClockCore>) -> Arc<Engine> {
        Arc::new(Engine {
            cluster,
            clock,
            busy: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cluster> {
        self.cluster.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Manual clock: moves time forward by `d`, running controllers at every timer on the way.
    /// Real clock: waits `d` of simulated time.
    pub async fn advance(&self, d: Duration) {
        if !self.clock.is_manual() {
            let until = self.clock.now().plus(d);
            self.clock.sleep_until(until).await;
            return;
        }
        let target = self.clock.now().plus(d);
        loop {
            let mut c = self.lock();
            c.settle_now();
            match c.work.next_timer() {
                Some(t) if t <= target => {
                    drop(c);
                    self.clock.set_manual(t);
                }
                _ => break,
            }
        }
        self.clock.set_manual(target);
        self.lock().settle_now();
        tokio::task::yield_now().await;
    }

    /// Runs controllers until nothing is left to do at the current time (Manual), or waits
    /// until the background engine has no queued work (Real).
    pub async fn settle(&self) {
        if self.clock.is_manual() {
            self.lock().settle_now();
            tokio::task::yield_now().await;
            return;
        }
        loop {
            let idle = !self.lock().work.has_ready_work()
                && !self.busy.load(std::sync::atomic::Ordering::SeqCst);
            if idle {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The background loop of a Real clock. Work a committed change queued runs in one pass a
    /// reconcile latency after the first of it arrived; a timer's work runs at its time, also
    /// while a pass is pending.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let notify = self.lock().work.notify.clone();
        let mut pass_at: Option<tokio::time::Instant> = None;
        loop {
            let next_timer = {
                let mut c = self.lock();
                c.run_due_timers();
                if pass_at.is_none() && c.work.has_ready_work() {
                    self.busy.store(true, std::sync::atomic::Ordering::SeqCst);
                    let latency = c.reconcile_latency();
                    let wait = self.clock.real_duration(latency).unwrap_or(latency);
                    pass_at = Some(tokio::time::Instant::now() + wait);
                }
                c.work.next_timer()
            };
            let timer = async {
                match next_timer {
                    Some(t) => self.clock.sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            let pass = async {
                match pass_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = notify.notified() => {}
                _ = timer => {}
                _ = pass => {
                    self.lock().pass();
                    pass_at = None;
                    self.busy.store(false, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }
    }
}

/// FNV-1a 32-bit, used for pod-template hashes (k8s `ComputeHash` uses FNV-32a too).
pub fn fnv32a(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c9dc5;
    for b in data {
        h ^= *b as u32;
        h = h.wrapping_mul(0x01000193);
    }
    h
}

/// k8s `rand.SafeEncodeString(fmt.Sprint(hash))`: every decimal digit mapped into the
/// name alphabet.
pub fn safe_encode(hash: u32) -> String {
    hash.to_string()
        .bytes()
        .map(|b| {
            crate::apiserver::NAME_ALPHABET[b as usize % crate::apiserver::NAME_ALPHABET.len()]
                as char
        })
        .collect()
}

/// The hash of a pod template plus collision count, as `pod-template-hash` labels carry it.
pub fn template_hash(template: &serde_json::Value, collision_count: i64) -> String {
    let mut canon = template.clone();
    object::remove(&mut canon, &["metadata", "labels", "pod-template-hash"]);
    let mut bytes = object::canonical(&canon).into_bytes();
    if collision_count > 0 {
        bytes.extend(collision_count.to_string().bytes());
    }
    safe_encode(fnv32a(&bytes))
}
