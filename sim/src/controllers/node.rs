//! The simulated nodes: N fixed, Ready nodes created at bootstrap (SIM_SPEC §1).

use serde_json::{Value, json};

use crate::apiserver::Cluster;

pub fn node_name(i: u32) -> String {
    format!("kubesim-node-{i}")
}

/// The InternalIP of node `i`.
pub fn node_ip(i: u32) -> String {
    format!("172.18.0.{}", 2 + i)
}

pub fn node_object(c: &Cluster, i: u32) -> Value {
    let name = node_name(i);
    let now = c.now().rfc3339();
    let version = format!("v1.{}.0", c.cfg.k8s_minor);
    let cond = |t: &str, status: &str, reason: &str, msg: &str| {
        json!({"type": t, "status": status, "reason": reason, "message": msg,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64",
            },
        },
        "spec": {"podCIDR": format!("10.244.{i}.0/24"), "podCIDRs": [format!("10.244.{i}.0/24")]},
        "status": {
            "capacity": {"cpu": "8", "memory": "32863084Ki", "pods": "110", "ephemeral-storage": "102687672Ki"},
            "allocatable": {"cpu": "8", "memory": "32863084Ki", "pods": "110", "ephemeral-storage": "102687672Ki"},
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [
                {"type": "InternalIP", "address": node_ip(i)},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": format!("{:032x}", i as u128 + 1),
                "systemUUID": format!("{:032x}", i as u128 + 1),
                "bootID": format!("{:032x}", i as u128 + 1),
                "kernelVersion": "6.1.0-sim",
                "osImage": "berth-sim",
                "containerRuntimeVersion": "containerd://2.0.0",
                "kubeletVersion": version,
                "kubeProxyVersion": version,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    })
}
