//! A minimal OpenAPI v3 surface for kubectl: `/openapi/v3` and one document per
//! group-version listing each resource's PATCH operation with its query parameters.
//!
//! kubectl (1.27+) asks these documents whether the server supports the `fieldValidation`
//! parameter (`QueryParamVerifierV3`); when it does, kubectl validates server-side and never
//! needs schemas. Without them it falls back to downloading `/openapi/v2` for client-side
//! validation and fails ("failed to download openapi"). Schemas themselves are out of scope
//! (SIM_SPEC §8), so `kubectl explain` does not work; client-side apply falls back to the
//! patch metadata compiled into kubectl.

use serde_json::{Map, Value, json};

use crate::resources::Registry;

/// `api/v1` or `apis/{g}/{v}`.
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn hash(reg: &Registry, group: &str, version: &str) -> String {
    let mut s = String::new();
    for g in reg.groups().iter().filter(|g| g.name == group) {
        for (v, types) in g.versions.iter().filter(|(v, _)| v == version) {
            s.push_str(v);
            for t in types {
                s.push_str(&t.plural);
                s.push_str(&t.kind);
            }
        }
    }
    format!("{:08X}", crate::controllers::fnv32a(s.as_bytes()))
}

/// `GET /openapi/v3`.
pub fn root(reg: &Registry) -> Value {
    let mut paths = Map::new();
    for g in reg.groups() {
        for (v, _) in &g.versions {
            let p = gv_path(&g.name, v);
            paths.insert(
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", hash(reg, &g.name, v))}),
            );
        }
    }
    json!({"paths": paths})
}

fn query_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": "string", "uniqueItems": true}})
}

/// `GET /openapi/v3/api/v1` or `/openapi/v3/apis/{g}/{v}`; None if not served.
pub fn group_version(reg: &Registry, path: &str) -> Option<Value> {
    let (group, version) = match path
        .trim_matches('/')
        .split('/')
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["api", v] => (String::new(), v.to_string()),
        ["apis", g, v] => (g.to_string(), v.to_string()),
        _ => return None,
    };
    let groups = reg.groups();
    let g = groups.iter().find(|g| g.name == group)?;
    let (_, types) = g.versions.iter().find(|(v, _)| *v == version)?;
    let mut paths = Map::new();
    let prefix = format!("/{}", gv_path(&group, &version));
    for t in types {
        let item = if t.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("{prefix}/{}/{{name}}", t.plural)
        };
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let patch = json!({
            "description": format!("partially update the specified {}", t.kind),
            "operationId": format!("patch{}", t.kind),
            "parameters": [
                query_param("dryRun", "When present, indicates that modifications should not be persisted."),
                query_param("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."),
                query_param("fieldValidation", "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields."),
                query_param("force", "Force is going to \"force\" Apply requests."),
            ],
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": gvk,
        });
        paths.insert(item, json!({"patch": patch}));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
