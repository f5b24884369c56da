//! `.Capabilities`: Helm v4.2's defaults and Kubernetes version parsing
//! (`pkg/chart/common/capabilities.go`).

use crate::value::{Capabilities, HelmVersion, KubeVersion};

pub const DEFAULT_KUBE_VERSION: &str = "v1.36.0";

/// Helm v4.2's `DefaultVersionSet`: client-go's scheme, in its priority order.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// Helm v4.2.3's build info as charts see it in `.Capabilities.HelmVersion`.
pub fn helm_version() -> HelmVersion {
    HelmVersion {
        version: "v4.2".into(),
        git_commit: String::new(),
        git_tree_state: String::new(),
        go_version: "go1.26.6".into(),
        kube_client_version: "v1.36".into(),
    }
}

/// Helm's `ParseKubeVersion` (k8s `ParseGeneric`): `v1.33.4-gke.1` keeps its
/// text as `Version` and normalizes to `v1.33.4`.
pub fn parse_kube_version(version: &str) -> KubeVersion {
    let trimmed = version.trim();
    let body = trimmed.strip_prefix('v').unwrap_or(trimmed);
    let core: String = body
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let parts: Vec<&str> = core.split('.').filter(|p| !p.is_empty()).collect();
    let num = |i: usize| {
        parts
            .get(i)
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (major, minor, patch) = (num(0), num(1), num(2));
    let full = if trimmed.starts_with('v') {
        trimmed.to_string()
    } else {
        format!("v{trimmed}")
    };
    let normalized = if parts.len() >= 3 {
        format!("v{major}.{minor}.{patch}")
    } else {
        format!("v{major}.{minor}")
    };
    KubeVersion {
        version: full,
        normalized,
        major: major.to_string(),
        minor: minor.to_string(),
    }
}

/// The template-side `.Capabilities` object.
pub fn to_object(c: &super::Capabilities) -> Capabilities {
    Capabilities {
        kube_version: parse_kube_version(&c.kube_version),
        api_versions: c.api_versions.clone(),
        helm_version: helm_version(),
    }
}
