//! The simulated API server's semantics, independent of HTTP: reads, the write path every
//! change goes through (defaulting, validation, generation, managedFields, noop detection,
//! finalizers), deletion and garbage-collection hooks, and the cluster bootstrap.
//!
//! HTTP handlers and controllers both call these methods on `Cluster` while holding its lock,
//! so every write, whoever makes it, gets the same resourceVersion, watch and managedFields
//! treatment.

pub(crate) mod defaults;
mod delete;
pub mod fields;
mod gojson;
pub mod patch;
mod read;
mod validate;
mod write;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::clock::{ClockCore, SimTime};
use crate::config::SimConfig;
use crate::controllers::WorkQueue;
use crate::resources::{Registry, ResKey, ResourceType};
use crate::store::{ObjKey, Store};

pub use delete::{DeleteOpts, Deleted, Propagation};
pub use read::ListOpts;
pub use write::WriteOpts;

/// Characters of generated name suffixes (apimachinery `rand.String`).
pub const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The whole simulated cluster state. Guarded by one mutex; never held across an await.
pub struct Cluster {
    pub store: Store,
    pub registry: Registry,
    pub cfg: Arc<SimConfig>,
    pub clock: Arc<ClockCore>,
    pub rng: StdRng,
    pub work: WorkQueue,
    /// Next ClusterIP offset in 10.96.0.0/12.
    next_cluster_ip: u32,
    next_node_port: u32,
    /// Event dedup: (involved uid, reason, message) → Event name.
    pub event_names: HashMap<(String, String, String), String>,
    /// Events created so far (expired ones are swept periodically).
    pub events_created: u64,
    /// Warnings of the current request (unknown fields), drained by the HTTP layer.
    pub warnings: Vec<String>,
    /// The simulated kubelet's per-pod timelines.
    pub kubelet: crate::controllers::pod::Kubelet,
    /// The fault rules, which the controllers' own writes consult too.
    pub faults: Arc<crate::faults::Faults>,
}

impl Cluster {
    pub fn new(cfg: Arc<SimConfig>, clock: Arc<ClockCore>) -> Cluster {
        Cluster {
            store: Store::new(cfg.history_max_events),
            registry: Registry::new(),
            rng: StdRng::seed_from_u64(cfg.seed),
            work: WorkQueue::default(),
            next_cluster_ip: 10,
            next_node_port: 30000,
            event_names: HashMap::new(),
            events_created: 0,
            warnings: Vec::new(),
            kubelet: Default::default(),
            faults: Arc::new(crate::faults::Faults::new(cfg.seed)),
            cfg,
            clock,
        }
    }

    pub fn now(&self) -> SimTime {
        self.clock.now()
    }

    pub fn rt(&self, group: &str, plural: &str) -> Arc<ResourceType> {
        self.registry
            .by_key(&ResKey::new(group, plural))
            .unwrap_or_else(|| panic!("built-in resource {plural}.{group} is always registered"))
    }

    /// A random v4-format UID from the seeded RNG.
    pub fn new_uid(&mut self) -> String {
        let mut b = [0u8; 16];
        self.rng.fill(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// `n` random characters from `NAME_ALPHABET`.
    pub fn random_suffix(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| NAME_ALPHABET[self.rng.random_range(0..NAME_ALPHABET.len())] as char)
            .collect()
    }

    /// apiserver's SimpleNameGenerator: `base` cut to 58 bytes, then five random
    /// characters (what `generateName` and the controllers' pod names get).
    pub fn generate_name(&mut self, base: &str) -> String {
        let mut cut = base.len().min(58);
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}{}", &base[..cut], self.random_suffix(5))
    }

    pub fn random_hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit(self.rng.random_range(0..16), 16).unwrap_or('0'))
            .collect()
    }

    pub fn allocate_cluster_ip(&mut self) -> String {
        let n = self.next_cluster_ip;
        self.next_cluster_ip += 1;
        // 10.96.0.0/12: 10.96.0.0 – 10.111.255.255.
        format!("10.{}.{}.{}", 96 + (n >> 16), (n >> 8) & 0xff, n & 0xff)
    }

    pub fn allocate_node_port(&mut self) -> u32 {
        let p = self.next_node_port;
        self.next_node_port = if p >= 32767 { 30000 } else { p + 1 };
        p
    }

    /// Whether namespace `ns` exists (and whether it is terminating).
    pub fn namespace_state(&self, ns: &str) -> Option<bool> {
        let key = ObjKey::new(ResKey::new("", "namespaces"), "", ns);
        self.store.get(&key).map(|n| crate::object::is_deleting(n))
    }

    /// Back to a freshly bootstrapped cluster (the RV counter keeps rising).
    pub fn reset(&mut self) {
        self.store.reset();
        self.registry.set_custom(Vec::new());
        self.kubelet = Default::default();
        self.event_names.clear();
        let notify = self.work.notify.clone();
        self.work = WorkQueue::default();
        self.work.notify = notify;
        self.bootstrap();
    }

    /// Creates the namespaces, nodes and service accounts every cluster starts with.
    pub fn bootstrap(&mut self) {
        let ns_rt = self.rt("", "namespaces");
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            let _ = self.create(&ns_rt, "", body, &WriteOpts::system("kube-apiserver"));
        }
        let node_rt = self.rt("", "nodes");
        for i in 0..self.cfg.nodes {
            let body = crate::controllers::node::node_object(self, i);
            let status = body["status"].clone();
            if let Ok(node) = self.create(&node_rt, "", body, &WriteOpts::system("kubelet")) {
                self.write_status(&node_rt, &node, status, "kubelet");
            }
        }
        // The one Service every cluster has.
        let svc_rt = self.rt("", "services");
        let svc = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 6443}]}
        });
        self.next_cluster_ip = 1;
        let _ = self.create(
            &svc_rt,
            "default",
            svc,
            &WriteOpts::system("kube-apiserver"),
        );
        self.next_cluster_ip = 10;
        // The default StorageClass claims get (see defaults.rs), and the
        // PriorityClasses every cluster has, which charts name.
        let sc_rt = self.rt("storage.k8s.io", "storageclasses");
        let sc = json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "standard",
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "kubesim.invalid/standard",
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate"
        });
        let _ = self.create(&sc_rt, "", sc, &WriteOpts::system("kube-apiserver"));
        let pc_rt = self.rt("scheduling.k8s.io", "priorityclasses");
        for (name, value, description) in [
            (
                "system-cluster-critical",
                2_000_000_000,
                "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
            ),
            (
                "system-node-critical",
                2_000_001_000,
                "Used for system critical pods that must not be moved from their current node.",
            ),
        ] {
            let pc = json!({
                "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": name},
                "value": value,
                "preemptionPolicy": "PreemptLowerPriority",
                "description": description
            });
            let _ = self.create(&pc_rt, "", pc, &WriteOpts::system("kube-apiserver"));
        }
    }

    /// Converts a stored object to the version it is requested at (CRDs serve several).
    pub fn present(&self, rt: &ResourceType, obj: &Value) -> Value {
        let mut out = obj.clone();
        if let Some(m) = out.as_object_mut() {
            m.insert("apiVersion".into(), Value::String(rt.api_version()));
        }
        out
    }

    /// [`Cluster::present`], borrowing the object when it is in that version already.
    pub fn presented<'a>(&self, rt: &ResourceType, obj: &'a Value) -> Cow<'a, Value> {
        if crate::object::str_at(obj, &["apiVersion"]) == Some(rt.api_version().as_str()) {
            Cow::Borrowed(obj)
        } else {
            Cow::Owned(self.present(rt, obj))
        }
    }
}
