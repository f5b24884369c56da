//! What kubectl needs beyond kube: Table answers and the OpenAPI v3 parameter check.

use serde_json::json;

use crate::support::{get, raw, start};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

#[tokio::test]
async fn get_as_table_prints_like_kubectl() {
    let (sim, client) = start().await;
    let t = raw(
        &client,
        "GET",
        "/api/v1/namespaces",
        None,
        &[("accept", TABLE)],
    )
    .await
    .json();
    assert_eq!(t["kind"], "Table");
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["Name", "Status", "Age"]);
    let row = &t["rows"][0];
    assert_eq!(row["cells"][1], "Active");
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert!(t["metadata"]["resourceVersion"].is_string());

    raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&json!({"metadata": {"name": "t"}, "data": {"a": "b"}})),
        &[],
    )
    .await;
    let one = raw(
        &client,
        "GET",
        "/api/v1/namespaces/default/configmaps/t?includeObject=Object",
        None,
        &[("accept", TABLE)],
    )
    .await
    .json();
    assert_eq!(one["rows"][0]["cells"][1], 1);
    assert_eq!(one["rows"][0]["object"]["kind"], "ConfigMap");
    sim.shutdown().await;
}

#[tokio::test]
async fn openapi_v3_advertises_field_validation() {
    let (sim, client) = start().await;
    let root = get(&client, "/openapi/v3").await.json();
    let url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = get(&client, &url).await.json();
    let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"]["kind"],
        "Deployment"
    );
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    assert_eq!(get(&client, "/openapi/v3/apis/nope/v1").await.status, 404);
    sim.shutdown().await;
}

/// One object to create (and the status to write, where the kind has a status
/// subresource), and the Table a real API server answers for it.
struct Case {
    collection: &'static str,
    object: serde_json::Value,
    status: Option<serde_json::Value>,
    columns: &'static [&'static str],
    /// Priority-1 columns, which kubectl shows with `-o wide` only.
    wide: &'static [&'static str],
    /// "AGE" stands for an age in seconds, "CREATED" for the creationTimestamp.
    cells: serde_json::Value,
}

/// The Table for one object: column names, wide-only column names, cells.
async fn table_of(
    client: &kube::Client,
    path: &str,
) -> (Vec<String>, Vec<String>, Vec<serde_json::Value>) {
    let t = raw(client, "GET", path, None, &[("accept", TABLE)])
        .await
        .json();
    assert_eq!(t["kind"], "Table", "{path}: {t}");
    let defs = t["columnDefinitions"].as_array().unwrap();
    let names = |wide: bool| {
        defs.iter()
            .filter(|c| (c["priority"].as_i64().unwrap_or(0) > 0) == wide)
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let cells = t["rows"][0]["cells"].as_array().unwrap().clone();
    assert_eq!(cells.len(), defs.len(), "{path}: a cell per column");
    (names(false), names(true), cells)
}

fn printer_cases() -> Vec<Case> {
    let webhook = |name: &str| {
        json!({"name": name, "clientConfig": {"url": format!("https://{name}/hook")},
               "admissionReviewVersions": ["v1"], "sideEffects": "None"})
    };
    vec![
        Case {
            collection: "/api/v1/persistentvolumes",
            object: json!({"metadata": {"name": "pv1"}, "spec": {
                "capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "fast",
                "volumeMode": "Block", "claimRef": {"namespace": "default", "name": "data"},
                "hostPath": {"path": "/tmp/pv1"}}}),
            status: Some(json!({"phase": "Bound"})),
            columns: &[
                "Name",
                "Capacity",
                "Access Modes",
                "Reclaim Policy",
                "Status",
                "Claim",
                "StorageClass",
                "VolumeAttributesClass",
                "Reason",
                "Age",
            ],
            wide: &["VolumeMode"],
            cells: json!([
                "pv1",
                "5Gi",
                "RWO,RWX",
                "Retain",
                "Bound",
                "default/data",
                "fast",
                "<unset>",
                "",
                "AGE",
                "Block"
            ]),
        },
        Case {
            collection: "/api/v1/namespaces/default/persistentvolumeclaims",
            object: json!({"metadata": {"name": "claim"}, "spec": {
                "volumeName": "pv-x", "storageClassName": "manual", "volumeMode": "Block",
                "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}}}}),
            status: Some(json!({"phase": "Bound", "capacity": {"storage": "1Gi"},
                                "accessModes": ["ReadWriteMany", "ReadWriteOnce"]})),
            columns: &[
                "Name",
                "Status",
                "Volume",
                "Capacity",
                "Access Modes",
                "StorageClass",
                "VolumeAttributesClass",
                "Age",
            ],
            wide: &["VolumeMode"],
            cells: json!([
                "claim", "Bound", "pv-x", "1Gi", "RWO,RWX", "manual", "<unset>", "AGE", "Block"
            ]),
        },
        Case {
            collection: "/api/v1/namespaces/default/resourcequotas",
            object: json!({"metadata": {"name": "quota"}, "spec": {"hard": {
                "requests.cpu": "2", "limits.memory": "2Gi", "pods": "10"}}}),
            status: Some(json!({
                "hard": {"requests.cpu": "2", "limits.memory": "2Gi", "pods": "10"},
                "used": {"requests.cpu": "500m", "pods": "3"}})),
            columns: &["Name", "Request", "Limit", "Age"],
            wide: &[],
            cells: json!([
                "quota",
                "pods: 3/10, requests.cpu: 500m/2",
                "limits.memory: 0/2Gi",
                "AGE"
            ]),
        },
        Case {
            collection: "/api/v1/namespaces/default/limitranges",
            object: json!({"metadata": {"name": "limits"}, "spec": {"limits": [
                {"type": "Container", "default": {"cpu": "500m"}}]}}),
            status: None,
            columns: &["Name", "Created At"],
            wide: &[],
            cells: json!(["limits", "CREATED"]),
        },
        Case {
            collection: "/api/v1/namespaces/default/endpoints",
            object: json!({"metadata": {"name": "web"}, "subsets": [{
                "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]}]}),
            status: None,
            columns: &["Name", "Endpoints", "Age"],
            wide: &[],
            cells: json!([
                "web",
                "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...",
                "AGE"
            ]),
        },
        Case {
            collection: "/apis/networking.k8s.io/v1/ingressclasses",
            object: json!({"metadata": {"name": "nginx"}, "spec": {
                "controller": "k8s.io/ingress-nginx",
                "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters",
                               "name": "external-lb"}}}),
            status: None,
            columns: &["Name", "Controller", "Parameters", "Age"],
            wide: &[],
            cells: json!([
                "nginx",
                "k8s.io/ingress-nginx",
                "IngressParameters.k8s.example.com/external-lb",
                "AGE"
            ]),
        },
        Case {
            collection: "/apis/storage.k8s.io/v1/storageclasses",
            object: json!({"metadata": {"name": "fast"}, "provisioner": "example.com/fast",
                           "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer",
                           "allowVolumeExpansion": true}),
            status: None,
            columns: &[
                "Name",
                "Provisioner",
                "ReclaimPolicy",
                "VolumeBindingMode",
                "AllowVolumeExpansion",
                "Age",
            ],
            wide: &[],
            cells: json!([
                "fast",
                "example.com/fast",
                "Retain",
                "WaitForFirstConsumer",
                true,
                "AGE"
            ]),
        },
        Case {
            collection: "/apis/storage.k8s.io/v1/csidrivers",
            object: json!({"metadata": {"name": "csi.example.com"}, "spec": {
                "attachRequired": false, "podInfoOnMount": true, "storageCapacity": true,
                "requiresRepublish": false, "tokenRequests": [{"audience": "a"}, {"audience": "b"}],
                "volumeLifecycleModes": ["Persistent", "Ephemeral"]}}),
            status: None,
            columns: &[
                "Name",
                "AttachRequired",
                "PodInfoOnMount",
                "StorageCapacity",
                "TokenRequests",
                "RequiresRepublish",
                "Modes",
                "Age",
            ],
            wide: &[],
            cells: json!([
                "csi.example.com",
                false,
                true,
                true,
                "a,b",
                false,
                "Persistent,Ephemeral",
                "AGE"
            ]),
        },
        Case {
            collection: "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            object: json!({"metadata": {"name": "mutate"},
                           "webhooks": [webhook("a.example.com"), webhook("b.example.com")]}),
            status: None,
            columns: &["Name", "Webhooks", "Age"],
            wide: &[],
            cells: json!(["mutate", 2, "AGE"]),
        },
        Case {
            collection: "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
            object: json!({"metadata": {"name": "validate"}, "webhooks": [webhook("c.example.com")]}),
            status: None,
            columns: &["Name", "Webhooks", "Age"],
            wide: &[],
            cells: json!(["validate", 1, "AGE"]),
        },
        Case {
            collection: "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
            object: json!({"metadata": {"name": "policy"}, "spec": {
                "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["deployments"]}]},
                "validations": [{"expression": "true"}, {"expression": "1 == 1"}]}}),
            status: None,
            columns: &["Name", "Validations", "ParamKind", "Age"],
            wide: &[],
            cells: json!(["policy", 2, "v1/ConfigMap", "AGE"]),
        },
        Case {
            collection: "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
            object: json!({"metadata": {"name": "by-name"}, "spec": {"policyName": "policy",
                "paramRef": {"name": "params", "parameterNotFoundAction": "Deny"},
                "validationActions": ["Deny"]}}),
            status: None,
            columns: &["Name", "PolicyName", "ParamRef", "Age"],
            wide: &[],
            cells: json!(["by-name", "policy", "*/params", "AGE"]),
        },
        Case {
            collection: "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
            object: json!({"metadata": {"name": "by-selector"}, "spec": {"policyName": "policy",
                "paramRef": {"selector": {"matchLabels": {"b": "2", "a": "1"},
                    "matchExpressions": [{"key": "env", "operator": "In", "values": ["x", "y"]}]},
                    "parameterNotFoundAction": "Allow"},
                "validationActions": ["Warn"]}}),
            status: None,
            columns: &["Name", "PolicyName", "ParamRef", "Age"],
            wide: &[],
            // The selector's generated Go String(), as the printer calls it.
            cells: json!([
                "by-selector",
                "policy",
                "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:env,Operator:In,Values:[x y],},},}",
                "AGE"
            ]),
        },
        Case {
            collection: "/apis/apiregistration.k8s.io/v1/apiservices",
            object: json!({"metadata": {"name": "v1beta1.metrics.k8s.io"}, "spec": {
                "group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                "versionPriority": 100,
                "service": {"namespace": "kube-system", "name": "metrics-server"}}}),
            status: Some(
                json!({"conditions": [{"type": "Available", "status": "False",
                "reason": "MissingEndpoints", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}),
            ),
            columns: &["Name", "Service", "Available", "Age"],
            wide: &[],
            cells: json!([
                "v1beta1.metrics.k8s.io",
                "kube-system/metrics-server",
                "False (MissingEndpoints)",
                "AGE"
            ]),
        },
        Case {
            collection: "/apis/apiregistration.k8s.io/v1/apiservices",
            object: json!({"metadata": {"name": "v1.example.com"}, "spec": {
                "group": "example.com", "version": "v1", "groupPriorityMinimum": 100,
                "versionPriority": 100}}),
            status: None,
            columns: &["Name", "Service", "Available", "Age"],
            wide: &[],
            cells: json!(["v1.example.com", "Local", "Unknown", "AGE"]),
        },
        Case {
            collection: "/apis/scheduling.k8s.io/v1/priorityclasses",
            object: json!({"metadata": {"name": "high"}, "value": 1000, "globalDefault": false,
                           "preemptionPolicy": "Never"}),
            status: None,
            columns: &["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"],
            wide: &[],
            cells: json!(["high", 1000, false, "AGE", "Never"]),
        },
        Case {
            collection: "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
            object: json!({"metadata": {"name": "web-abc"}, "addressType": "IPv4",
                "ports": [{"name": "http", "port": 80}, {"name": "dns"}, {}, {"port": 9090}],
                "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]}]}),
            status: None,
            columns: &["Name", "AddressType", "Ports", "Endpoints", "Age"],
            wide: &[],
            cells: json!([
                "web-abc",
                "IPv4",
                "80,dns,* + 1 more...",
                "10.0.0.1,10.0.0.2,10.0.0.3",
                "AGE"
            ]),
        },
        Case {
            collection: "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
            object: json!({"metadata": {"name": "empty"}, "addressType": "IPv6", "endpoints": []}),
            status: None,
            columns: &["Name", "AddressType", "Ports", "Endpoints", "Age"],
            wide: &[],
            cells: json!(["empty", "IPv6", "<unset>", "<unset>", "AGE"]),
        },
        Case {
            collection: "/apis/node.k8s.io/v1/runtimeclasses",
            object: json!({"metadata": {"name": "gvisor"}, "handler": "runsc"}),
            status: None,
            columns: &["Name", "Handler", "Age"],
            wide: &[],
            cells: json!(["gvisor", "runsc", "AGE"]),
        },
    ]
}

#[tokio::test]
async fn each_kind_prints_the_columns_and_cells_of_its_printer() {
    let (sim, client) = start().await;
    for case in printer_cases() {
        let created = raw(&client, "POST", case.collection, Some(&case.object), &[]).await;
        assert!(
            created.status < 300,
            "{}: {}",
            case.collection,
            created.text
        );
        let created = created.json();
        let path = format!(
            "{}/{}",
            case.collection,
            created["metadata"]["name"].as_str().unwrap()
        );
        if let Some(status) = &case.status {
            let patched = raw(
                &client,
                "PATCH",
                &format!("{path}/status"),
                Some(&json!({"status": status})),
                &[("content-type", "application/merge-patch+json")],
            )
            .await;
            assert_eq!(patched.status, 200, "{path}/status: {}", patched.text);
        }
        let (columns, wide, cells) = table_of(&client, &path).await;
        assert_eq!(columns, case.columns, "{path}");
        assert_eq!(wide, case.wide, "{path}");
        for (i, (got, want)) in cells.iter().zip(case.cells.as_array().unwrap()).enumerate() {
            match want.as_str() {
                Some("AGE") => assert!(
                    got.as_str().is_some_and(|a| a.ends_with('s')),
                    "{path}: cell {i} is an age in seconds, got {got}"
                ),
                Some("CREATED") => {
                    assert_eq!(got, &created["metadata"]["creationTimestamp"], "{path}")
                }
                _ => assert_eq!(got, want, "{path}: cell {i}"),
            }
        }
        assert_eq!(cells.len(), case.cells.as_array().unwrap().len(), "{path}");
    }

    // The class every sim cluster has is the default one: the printer marks its name.
    let (_, _, cells) = table_of(&client, "/apis/storage.k8s.io/v1/storageclasses/standard").await;
    assert_eq!(
        cells[..5],
        [
            json!("standard (default)"),
            json!("kubesim.invalid/standard"),
            json!("Delete"),
            json!("Immediate"),
            json!(false)
        ]
    );
    sim.shutdown().await;
}
