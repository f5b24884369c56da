//! URL routing (SIM_SPEC §2.1): turns a request path into what it addresses.

use std::sync::Arc;

use crate::resources::{Registry, ResourceType};

/// What a path addresses.
#[derive(Debug)]
pub enum Route {
    Version,
    Health,
    /// `/api`
    CoreRoot,
    /// `/apis`
    GroupsRoot,
    /// `/apis/{g}`
    Group(String),
    /// `/api/v1` or `/apis/{g}/{v}`
    GroupVersion(String, String),
    Resource(ResRoute),
    /// `/openapi/v3`
    OpenApiRoot,
    /// `/openapi/v3/{api/v1 | apis/g/v}`
    OpenApiGroupVersion(String),
    /// `/_sim/v1/...`: the simulator's control API.
    Control(String),
    NotFound,
}

/// A resource path: collection, object or subresource.
#[derive(Debug, Clone)]
pub struct ResRoute {
    pub rt: Arc<ResourceType>,
    /// The namespace in the path (None: cluster-scoped, or across all namespaces).
    pub ns: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

pub fn parse(reg: &Registry, path: &str) -> Route {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "readyz" | "livez", ..] => Route::Health,
        ["api"] => Route::CoreRoot,
        ["api", v] => Route::GroupVersion(String::new(), v.to_string()),
        ["api", v, rest @ ..] => resource(reg, "", v, rest),
        ["apis"] => Route::GroupsRoot,
        ["apis", g] => Route::Group(g.to_string()),
        ["apis", g, v] => Route::GroupVersion(g.to_string(), v.to_string()),
        ["apis", g, v, rest @ ..] => resource(reg, g, v, rest),
        ["_sim", "v1", rest @ ..] => Route::Control(rest.join("/")),
        ["openapi", "v3"] => Route::OpenApiRoot,
        ["openapi", "v3", rest @ ..] => Route::OpenApiGroupVersion(rest.join("/")),
        _ => Route::NotFound,
    }
}

fn resource(reg: &Registry, group: &str, version: &str, rest: &[&str]) -> Route {
    let (ns, rest): (Option<&str>, &[&str]) = match rest {
        // The namespace object itself and its subresources.
        ["namespaces", name] if group.is_empty() => (None, &["namespaces", name][..]),
        ["namespaces", name, sub @ ("status" | "finalize")] if group.is_empty() => {
            return make(
                reg,
                group,
                version,
                None,
                "namespaces",
                Some(name),
                Some(sub),
            );
        }
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(*ns), rest),
        _ => (None, rest),
    };
    match rest {
        [plural] => make(reg, group, version, ns, plural, None, None),
        [plural, name] => make(reg, group, version, ns, plural, Some(name), None),
        [plural, name, sub] => make(reg, group, version, ns, plural, Some(name), Some(sub)),
        _ => Route::NotFound,
    }
}

fn make(
    reg: &Registry,
    group: &str,
    version: &str,
    ns: Option<&str>,
    plural: &str,
    name: Option<&str>,
    sub: Option<&str>,
) -> Route {
    let Some(rt) = reg.lookup(group, version, plural) else {
        return Route::NotFound;
    };
    if ns.is_some() && !rt.namespaced {
        return Route::NotFound;
    }
    if rt.namespaced && ns.is_none() && name.is_some() {
        return Route::NotFound;
    }
    let sub_ok = match sub {
        None => true,
        Some("status") => rt.status,
        Some("scale") => rt.scale,
        Some("finalize") => rt.is("", "namespaces"),
        Some("log") => rt.is("", "pods"),
        Some(_) => false,
    };
    if !sub_ok {
        return Route::NotFound;
    }
    Route::Resource(ResRoute {
        rt,
        ns: ns.map(str::to_string),
        name: name.map(str::to_string),
        sub: sub.map(str::to_string),
    })
}
