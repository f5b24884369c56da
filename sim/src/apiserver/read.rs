//! Reads: get and list with selectors and `limit`/`continue` pagination over a consistent
//! snapshot (SIM_SPEC §2.5).

use base64::Engine;
use serde_json::{Map, Value, json};

use super::Cluster;
use crate::object;
use crate::resources::ResourceType;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::{ApiError, ApiResult};

/// Parameters of a list request.
#[derive(Clone, Debug, Default)]
pub struct ListOpts {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: u64,
    start: String,
}

fn encode_token(rv: u64, ns: &str, name: &str) -> String {
    let t = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv,
        start: format!("{ns}/{name}\u{0}"),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&t).unwrap_or_default())
}

fn decode_token(s: &str) -> Option<(u64, String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()?;
    let t: ContinueToken = serde_json::from_slice(&bytes).ok()?;
    (t.v == "meta.k8s.io/v1").then_some((t.rv, t.start))
}

/// The snapshot boundary key of an object (namespace/name).
fn position(obj: &Value) -> String {
    format!("{}/{}\u{0}", object::namespace(obj), object::name(obj))
}

impl Cluster {
    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<Value> {
        self.get_stored(rt, ns, name)
            .map(|o| self.present(rt, &o))
            .ok_or_else(|| ApiError::not_found(rt, name))
    }

    /// A `<Kind>List` of the matching objects.
    pub fn list(&self, rt: &ResourceType, ns: Option<&str>, opts: &ListOpts) -> ApiResult<Value> {
        let current = self.store.current_rv();
        let (list_rv, start, objects) = if let Some(tok) = &opts.continue_token {
            let (rv, start) = decode_token(tok).ok_or_else(|| {
                ApiError::bad_request("continue key is not valid: illegal base64 data")
            })?;
            let objects = self.store.snapshot_at(&rt.key(), ns, rv).map_err(|_| {
                ApiError::expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
            })?;
            (rv, Some(start), objects)
        } else {
            let exact = opts.resource_version_match.as_deref() == Some("Exact");
            match opts.resource_version.as_deref() {
                Some(rv) if exact && rv != current.to_string() => {
                    let n: u64 = rv.parse().map_err(|_| {
                        ApiError::bad_request(format!("invalid resource version: {rv}"))
                    })?;
                    let objects = self.store.snapshot_at(&rt.key(), ns, n).map_err(|t| {
                        ApiError::expired(format!(
                            "too old resource version: {} ({})",
                            t.asked, t.oldest
                        ))
                    })?;
                    (n, None, objects)
                }
                _ => (current, None, self.store.list(&rt.key(), ns)),
            }
        };

        let mut items = Vec::new();
        let mut next = None;
        let mut remaining = 0usize;
        for obj in objects.iter() {
            if start.as_ref().is_some_and(|s| position(obj) <= *s) {
                continue;
            }
            if !opts.labels.matches(&object::labels(obj)) || !opts.fields.matches(obj) {
                continue;
            }
            if opts.limit.is_some_and(|l| l > 0 && items.len() >= l) {
                remaining += 1;
                if next.is_none() {
                    let last: &Value = items.last().expect("limit > 0 means items exist");
                    next = Some(encode_token(
                        list_rv,
                        object::namespace(last),
                        object::name(last),
                    ));
                }
                continue;
            }
            let mut item = self.present(rt, obj);
            if let Some(m) = item.as_object_mut() {
                m.remove("kind");
                m.remove("apiVersion");
            }
            items.push(item);
        }
        let mut meta = Map::new();
        meta.insert("resourceVersion".into(), json!(list_rv.to_string()));
        if let Some(n) = next {
            meta.insert("continue".into(), json!(n));
            meta.insert("remainingItemCount".into(), json!(remaining));
        }
        Ok(json!({
            "kind": rt.list_kind(),
            "apiVersion": rt.api_version(),
            "metadata": Value::Object(meta),
            "items": items,
        }))
    }
}
