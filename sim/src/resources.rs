//! The kinds the simulator serves: the built-in table of SIM_SPEC §1 plus the kinds that
//! established CRDs add. Discovery documents, URL routing and the write path all read it.
//!
//! Owns the static description of resources; the objects themselves live in `store`.

use std::sync::Arc;

use serde_json::Value;

/// When `metadata.generation` is bumped (SIM_SPEC §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenerationPolicy {
    /// The kind carries no generation (ConfigMap, Secret, Namespace, RBAC, ...).
    None,
    /// A change to `spec`.
    Spec,
    /// A change to `spec` or `metadata.annotations` (Deployment).
    SpecOrAnnotations,
    /// Any change outside `metadata` (and `status`, when that subresource exists): custom resources.
    NonMetadata,
}

/// Identifies stored objects of one resource regardless of the version they are served at.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResKey {
    pub group: String,
    pub plural: String,
}

impl ResKey {
    pub fn new(group: &str, plural: &str) -> ResKey {
        ResKey {
            group: group.to_string(),
            plural: plural.to_string(),
        }
    }
}

/// One resource at one served version.
#[derive(Clone, Debug)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status: bool,
    pub scale: bool,
    pub generation: GenerationPolicy,
    /// Defined by a CRD: strategic merge patch is refused and lists are atomic.
    pub custom: bool,
    /// For custom resources: the version's OpenAPI schema, used for pruning.
    pub schema: Option<Value>,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `configmaps` for the core group, as error messages print it.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn key(&self) -> ResKey {
        ResKey::new(&self.group, &self.plural)
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn is(&self, group: &str, plural: &str) -> bool {
        self.group == group && self.plural == plural
    }
}

/// Every verb a served resource supports.
pub const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Verbs of the `status` and `scale` subresources.
pub const SUB_VERBS: [&str; 3] = ["get", "patch", "update"];

struct Row {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    all: bool,
    status: bool,
    scale: bool,
    generation: GenerationPolicy,
}

const fn row(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
) -> Row {
    Row {
        group,
        version,
        kind,
        plural,
        namespaced,
        short,
        all: false,
        status: false,
        scale: false,
        generation: GenerationPolicy::None,
    }
}

impl Row {
    const fn status(mut self) -> Row {
        self.status = true;
        self
    }
    const fn scale(mut self) -> Row {
        self.scale = true;
        self
    }
    const fn all(mut self) -> Row {
        self.all = true;
        self
    }
    const fn generation(mut self, g: GenerationPolicy) -> Row {
        self.generation = g;
        self
    }
}

use GenerationPolicy::{Spec, SpecOrAnnotations};

/// SIM_SPEC §1 "Served kinds" and the kinds charts commonly create besides
/// (stored only), in discovery order (groups in the order a 1.35 server lists them).
const BUILTINS: &[Row] = &[
    row("", "v1", "Namespace", "namespaces", false, &["ns"]).status(),
    row("", "v1", "Node", "nodes", false, &["no"]).status(),
    row("", "v1", "ConfigMap", "configmaps", true, &["cm"]),
    row("", "v1", "Secret", "secrets", true, &[]),
    row("", "v1", "ServiceAccount", "serviceaccounts", true, &["sa"]),
    row("", "v1", "Event", "events", true, &["ev"]),
    row("", "v1", "Service", "services", true, &["svc"])
        .status()
        .all(),
    row("", "v1", "Pod", "pods", true, &["po"])
        .status()
        .all()
        .generation(Spec),
    row(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
    )
    .status(),
    // Stored only, as the rest below marked so: charts create them, nothing
    // in the simulator acts on them (SIM_SPEC §8: no quotas, no admission
    // webhooks, no aggregated APIs).
    row(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
        &["pv"],
    )
    .status(),
    row(
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        true,
        &["quota"],
    )
    .status(),
    row("", "v1", "LimitRange", "limitranges", true, &["limits"]),
    row("", "v1", "Endpoints", "endpoints", true, &["ep"]),
    row("apps", "v1", "Deployment", "deployments", true, &["deploy"])
        .status()
        .scale()
        .all()
        .generation(SpecOrAnnotations),
    row("apps", "v1", "ReplicaSet", "replicasets", true, &["rs"])
        .status()
        .scale()
        .all()
        .generation(Spec),
    row("apps", "v1", "StatefulSet", "statefulsets", true, &["sts"])
        .status()
        .scale()
        .all()
        .generation(Spec),
    row("apps", "v1", "DaemonSet", "daemonsets", true, &["ds"])
        .status()
        .all()
        .generation(Spec),
    row(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        true,
        &[],
    ),
    row("batch", "v1", "Job", "jobs", true, &[])
        .status()
        .all()
        .generation(Spec),
    row("batch", "v1", "CronJob", "cronjobs", true, &["cj"])
        .status()
        .all()
        .generation(Spec),
    row(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        &["ing"],
    )
    .status()
    .generation(Spec),
    row(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
    )
    .generation(Spec),
    row(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        false,
        &[],
    )
    .generation(Spec),
    row(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        &[],
    ),
    row(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
    ),
    row(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
    ),
    row(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &[],
    ),
    row(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
    )
    .status()
    .generation(Spec),
    row(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        &["hpa"],
    )
    .status()
    .all()
    .generation(Spec),
    row(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
    )
    .status()
    .generation(Spec),
    row("coordination.k8s.io", "v1", "Lease", "leases", true, &[]),
    // Stored only (see PersistentVolume).
    row(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        &["sc"],
    ),
    row(
        "storage.k8s.io",
        "v1",
        "CSIDriver",
        "csidrivers",
        false,
        &[],
    ),
    row(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
        &[],
    )
    .generation(Spec),
    row(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
        &[],
    )
    .generation(Spec),
    row(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        false,
        &[],
    )
    .status()
    .generation(Spec),
    row(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        false,
        &[],
    )
    .generation(Spec),
    row(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        "apiservices",
        false,
        &[],
    )
    .status()
    .generation(Spec),
    row(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        false,
        &["pc"],
    ),
    row(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
        &[],
    ),
    row(
        "node.k8s.io",
        "v1",
        "RuntimeClass",
        "runtimeclasses",
        false,
        &[],
    ),
];

/// All built-in resource types.
pub fn builtins() -> Vec<Arc<ResourceType>> {
    BUILTINS
        .iter()
        .map(|r| {
            Arc::new(ResourceType {
                group: r.group.to_string(),
                version: r.version.to_string(),
                kind: r.kind.to_string(),
                plural: r.plural.to_string(),
                singular: r.kind.to_lowercase(),
                namespaced: r.namespaced,
                short_names: r.short.iter().map(|s| s.to_string()).collect(),
                categories: if r.all {
                    vec!["all".to_string()]
                } else {
                    vec![]
                },
                status: r.status,
                scale: r.scale,
                generation: r.generation,
                custom: false,
                schema: None,
            })
        })
        .collect()
}

/// Kubernetes version priority: GA before beta before alpha, higher numbers first, then others
/// alphabetically (apimachinery `version.CompareKubeAwareVersionStrings`).
pub fn version_priority(v: &str) -> (u8, i64, i64, String) {
    let parse = |rest: &str| -> Option<(u8, i64, i64)> {
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let major: i64 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((0, -major, 0));
        }
        for (rank, pre) in [(1u8, "beta"), (2u8, "alpha")] {
            if let Some(n) = tail.strip_prefix(pre) {
                let minor: i64 = n.parse().ok()?;
                return Some((rank, -major, -minor));
            }
        }
        None
    };
    match v.strip_prefix('v').and_then(parse) {
        Some((rank, major, minor)) => (rank, major, minor, String::new()),
        None => (3, 0, 0, v.to_string()),
    }
}

/// The resource types currently served.
#[derive(Clone)]
pub struct Registry {
    builtin: Vec<Arc<ResourceType>>,
    custom: Vec<Arc<ResourceType>>,
}

/// One API group as discovery shows it: versions in preference order.
pub struct GroupInfo {
    pub name: String,
    pub versions: Vec<(String, Vec<Arc<ResourceType>>)>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    pub fn new() -> Registry {
        Registry {
            builtin: builtins(),
            custom: Vec::new(),
        }
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.builtin.iter().chain(self.custom.iter())
    }

    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.all()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    }

    /// The preferred served version of a resource.
    pub fn by_key(&self, key: &ResKey) -> Option<Arc<ResourceType>> {
        self.all()
            .find(|r| r.group == key.group && r.plural == key.plural)
            .cloned()
    }

    /// Finds the resource of an `apiVersion` + `kind` pair (owner references, apply bodies).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        let (group, version) = split_api_version(api_version);
        self.all()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
            .cloned()
    }

    /// Replaces the kinds CRDs contribute.
    pub fn set_custom(&mut self, types: Vec<Arc<ResourceType>>) {
        self.custom = types;
    }

    pub fn custom(&self) -> &[Arc<ResourceType>] {
        &self.custom
    }

    /// Groups in discovery order: the core group first, built-in groups, then CRD groups by name.
    pub fn groups(&self) -> Vec<GroupInfo> {
        let mut out: Vec<GroupInfo> = Vec::new();
        let mut push = |rt: &Arc<ResourceType>| {
            let group = match out.iter_mut().find(|g| g.name == rt.group) {
                Some(g) => g,
                None => {
                    out.push(GroupInfo {
                        name: rt.group.clone(),
                        versions: Vec::new(),
                    });
                    out.last_mut().expect("just pushed")
                }
            };
            match group.versions.iter_mut().find(|(v, _)| *v == rt.version) {
                Some((_, list)) => list.push(rt.clone()),
                None => group.versions.push((rt.version.clone(), vec![rt.clone()])),
            }
        };
        self.builtin.iter().for_each(&mut push);
        let mut custom = self.custom.clone();
        custom.sort_by(|a, b| a.group.cmp(&b.group).then(a.plural.cmp(&b.plural)));
        custom.iter().for_each(&mut push);
        for g in &mut out {
            g.versions.sort_by_key(|(v, _)| version_priority(v));
        }
        out
    }
}

/// `apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_priority_orders_like_kubernetes() {
        let mut v = vec!["v1alpha1", "foo", "v1beta1", "v2", "v1", "v1beta2", "v10"];
        v.sort_by_key(|s| version_priority(s));
        assert_eq!(
            v,
            ["v10", "v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"]
        );
    }
}
