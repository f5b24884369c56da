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

/// Why k8s `ParseGeneric` (what Helm's `ParseKubeVersion` uses) refuses
/// `version`, in its words: it wants `v`, then at least two dot-separated
/// numbers, the first without a leading zero; anything after them is kept
/// but not read.
pub fn check_kube_version(version: &str) -> Result<(), String> {
    let body = version.trim_start();
    let body = body.strip_prefix('v').unwrap_or(body);
    let numbers_end = body
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || (c == '.' && body[i + 1..].starts_with(|d: char| d.is_ascii_digit()) && i > 0))
        })
        .map_or(body.len(), |(i, _)| i);
    let numbers = &body[..numbers_end];
    if numbers.is_empty() {
        return Err(format!("could not parse {version:?} as version"));
    }
    let components: Vec<&str> = numbers.split('.').collect();
    if components.len() < 2 {
        return Err(format!("illegal version string {version:?}"));
    }
    for (i, comp) in components.iter().enumerate() {
        if i == 0 && comp.starts_with('0') && *comp != "0" {
            return Err(format!(
                "illegal zero-prefixed version component {comp:?} in {version:?}"
            ));
        }
        if comp.parse::<u64>().is_err() {
            return Err(format!(
                "illegal non-numeric version component {comp:?} in {version:?}: strconv.ParseUint: parsing {comp:?}: value out of range"
            ));
        }
    }
    Ok(())
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

#[cfg(test)]
mod kube_version_tests {
    use super::check_kube_version;

    #[test]
    fn kube_versions_parse_as_k8s_parse_generic() {
        for ok in ["1.30", "v1.30.2", "1.2.3.4", "v1.33.4-gke.1", " v1.0x"] {
            assert_eq!(check_kube_version(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_kube_version("garbage").unwrap_err(),
            r#"could not parse "garbage" as version"#
        );
        assert_eq!(
            check_kube_version("1").unwrap_err(),
            r#"illegal version string "1""#
        );
        assert_eq!(
            check_kube_version("01.2").unwrap_err(),
            r#"illegal zero-prefixed version component "01" in "01.2""#
        );
    }
}
