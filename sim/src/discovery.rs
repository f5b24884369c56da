//! Discovery documents (SIM_SPEC §1): `/version`, the legacy `/api`, `/apis`, `/apis/{g}`,
//! `/api/v1`, `/apis/{g}/{v}` documents and the aggregated v2 lists, all built from one
//! `Registry` snapshot so that every listed group-version answers.

use serde_json::{Value, json};

use crate::resources::{GroupInfo, Registry, ResourceType, SUB_VERBS, VERBS};

/// The Content-Type of an aggregated discovery answer.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether an Accept header asks for aggregated discovery (v2 or v2beta1).
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let p = part.replace(' ', "");
        p.contains("as=APIGroupDiscoveryList") && p.contains("g=apidiscovery.k8s.io")
    })
}

pub fn version(minor: u32) -> Value {
    json!({
        "major": "1",
        "minor": minor.to_string(),
        "emulationMajor": "1",
        "emulationMinor": minor.to_string(),
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": (minor - 1).to_string(),
        "gitVersion": format!("v1.{minor}.0"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.25.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_doc(g: &GroupInfo) -> Value {
    let versions: Vec<Value> = g
        .versions
        .iter()
        .map(|(v, _)| json!({"groupVersion": format!("{}/{v}", g.name), "version": v}))
        .collect();
    json!({
        "name": g.name,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

pub fn api_group_list(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg
        .groups()
        .iter()
        .filter(|g| !g.name.is_empty() && !g.versions.is_empty())
        .map(group_doc)
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(reg: &Registry, group: &str) -> Option<Value> {
    let g = reg
        .groups()
        .into_iter()
        .find(|g| g.name == group && !group.is_empty())?;
    let mut doc = group_doc(&g);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

fn legacy_entries(rt: &ResourceType) -> Vec<Value> {
    let mut main = json!({
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": VERBS,
    });
    if !rt.short_names.is_empty() {
        main["shortNames"] = json!(rt.short_names);
    }
    if !rt.categories.is_empty() {
        main["categories"] = json!(rt.categories);
    }
    let mut out = vec![main];
    if rt.status {
        out.push(json!({
            "name": format!("{}/status", rt.plural),
            "singularName": "",
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": SUB_VERBS,
        }));
    }
    if rt.scale {
        out.push(json!({
            "name": format!("{}/scale", rt.plural),
            "singularName": "",
            "namespaced": rt.namespaced,
            "group": "autoscaling",
            "version": "v1",
            "kind": "Scale",
            "verbs": SUB_VERBS,
        }));
    }
    out
}

/// `/api/v1` or `/apis/{g}/{v}`: None if the group-version is not served.
pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let g = reg.groups().into_iter().find(|g| g.name == group)?;
    let (_, types) = g.versions.iter().find(|(v, _)| v == version)?;
    let resources: Vec<Value> = types.iter().flat_map(|rt| legacy_entries(rt)).collect();
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn aggregated_resource(rt: &ResourceType) -> Value {
    let kind = json!({"group": rt.group, "version": rt.version, "kind": rt.kind});
    let mut subs = Vec::new();
    if rt.status {
        subs.push(json!({"subresource": "status", "responseKind": kind, "verbs": SUB_VERBS}));
    }
    if rt.scale {
        subs.push(json!({
            "subresource": "scale",
            "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
            "verbs": SUB_VERBS,
        }));
    }
    let mut r = json!({
        "resource": rt.plural,
        "responseKind": kind,
        "scope": if rt.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": rt.singular,
        "verbs": VERBS,
    });
    if !rt.short_names.is_empty() {
        r["shortNames"] = json!(rt.short_names);
    }
    if !rt.categories.is_empty() {
        r["categories"] = json!(rt.categories);
    }
    if !subs.is_empty() {
        r["subresources"] = json!(subs);
    }
    r
}

fn aggregated_group(g: &GroupInfo) -> Value {
    let versions: Vec<Value> = g
        .versions
        .iter()
        .map(|(v, types)| {
            json!({
                "version": v,
                "resources": types.iter().map(|rt| aggregated_resource(rt)).collect::<Vec<_>>(),
                "freshness": "Current",
            })
        })
        .collect();
    let mut meta = json!({});
    if !g.name.is_empty() {
        meta["name"] = json!(g.name);
    }
    json!({"metadata": meta, "versions": versions})
}

fn aggregated_list(items: Vec<Value>) -> Value {
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

/// Aggregated `/apis`.
pub fn aggregated_apis(reg: &Registry) -> Value {
    aggregated_list(
        reg.groups()
            .iter()
            .filter(|g| !g.name.is_empty() && !g.versions.is_empty())
            .map(aggregated_group)
            .collect(),
    )
}

/// Aggregated `/api`: exactly one item, the core group.
pub fn aggregated_core(reg: &Registry) -> Value {
    aggregated_list(
        reg.groups()
            .iter()
            .filter(|g| g.name.is_empty())
            .map(aggregated_group)
            .collect(),
    )
}
