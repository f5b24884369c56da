//! The kubeconfig the simulator hands to clients (kube, kubectl, Helm).

use base64::Engine;

/// A kubeconfig for `url`; `ca_pem` is embedded as `certificate-authority-data` for HTTPS.
pub fn render(url: &str, ca_pem: Option<&str>) -> String {
    let ca = ca_pem
        .map(|pem| {
            format!(
                "    certificate-authority-data: {}\n",
                base64::engine::general_purpose::STANDARD.encode(pem)
            )
        })
        .unwrap_or_default();
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: berth-sim
  cluster:
    server: {url}
{ca}contexts:
- name: berth-sim
  context:
    cluster: berth-sim
    user: berth-sim
    namespace: default
current-context: berth-sim
preferences: {{}}
users:
- name: berth-sim
  user:
    token: berth-sim
"
    )
}
