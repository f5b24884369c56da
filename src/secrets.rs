//! Secrets shown without their values, as the helm-diff plugin shows them
//! by default: each key of a v1 Secret's `data` and `stringData` (merged,
//! as the API server merges them) becomes `REDACTED # (N bytes)` when both
//! sides hold the same bytes, else `-------- # (N bytes)` on the old side
//! and `++++++++ # (N bytes)` on the new; kubectl's last-applied annotation,
//! which repeats them, is masked the same way. A diff then says which keys
//! changed and nothing of what they hold.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A core v1 Secret.
pub fn is_secret(v: &Value) -> bool {
    v.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && v.get("kind").and_then(Value::as_str) == Some("Secret")
}

/// Mask the values of the two sides of a change of one Secret (either
/// side may be missing: a creation or a deletion). Anything that is not a
/// v1 Secret is left as it is.
pub fn redact_pair(old: Option<&mut Value>, new: Option<&mut Value>) {
    let old = old.filter(|v| is_secret(v));
    let new = new.filter(|v| is_secret(v));
    let old_values = old.as_deref().map(values_of);
    let new_values = new.as_deref().map(values_of);
    let old_applied = old.as_deref().and_then(last_applied).map(str::to_string);
    let new_applied = new.as_deref().and_then(last_applied).map(str::to_string);
    if let (Some(v), Some(mine)) = (old, &old_values) {
        mask(v, mine, new_values.as_ref(), "--------");
        mask_applied(v, &old_applied, &new_applied, "--------");
    }
    if let (Some(v), Some(mine)) = (new, &new_values) {
        mask(v, mine, old_values.as_ref(), "++++++++");
        mask_applied(v, &new_applied, &old_applied, "++++++++");
    }
}

/// Two manifests (`---`-separated documents, as a release stores them)
/// with their Secrets masked, each paired with the other side's Secret of
/// the same namespace and name. Other documents keep their text.
pub fn redact_manifests(old: &str, new: &str) -> (String, String) {
    let mut old_docs = documents(old);
    let mut new_docs = documents(new);
    let key = |v: &Value| {
        let text = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        (text("/metadata/namespace"), text("/metadata/name"))
    };
    let new_index: BTreeMap<_, usize> = new_docs
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.secret.as_ref().map(|v| (key(v), i)))
        .collect();
    let mut paired = vec![false; new_docs.len()];
    for doc in &mut old_docs {
        let Some(v) = doc.secret.as_mut() else {
            continue;
        };
        let other = new_index.get(&key(v)).copied();
        if let Some(i) = other {
            paired[i] = true;
        }
        let theirs = other.and_then(|i| new_docs[i].secret.as_mut());
        redact_pair(Some(v), theirs);
    }
    for (i, doc) in new_docs.iter_mut().enumerate() {
        if let (false, Some(v)) = (paired[i], doc.secret.as_mut()) {
            redact_pair(None, Some(v));
        }
    }
    (render(&old_docs), render(&new_docs))
}

/// A document of a manifest: its text, and (for a Secret) its object.
struct Document {
    text: String,
    secret: Option<Value>,
}

fn documents(manifest: &str) -> Vec<Document> {
    crate::manifest::split_manifests(manifest)
        .into_iter()
        .map(|text| {
            let secret = crate::manifest::parse_document(&text)
                .ok()
                .filter(is_secret);
            Document { text, secret }
        })
        .collect()
}

fn render(docs: &[Document]) -> String {
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        match &d.secret {
            Some(v) => {
                // The comments before the object (`# Source: …`) stay.
                for line in d.text.lines().take_while(|l| l.starts_with('#')) {
                    out.push_str(line);
                    out.push('\n');
                }
                out.push_str(&berth_template::yaml::to_yaml(v));
            }
            None => {
                out.push_str(d.text.trim_end());
                out.push('\n');
            }
        }
    }
    out
}

/// A Secret's values by key: `data` decoded, `stringData` over it.
fn values_of(v: &Value) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Some(data) = v.get("data").and_then(Value::as_object) {
        for (k, x) in data {
            let text = x.as_str().unwrap_or_default();
            let bytes = berth_template::funcs::encoding::b64decode(text.as_bytes())
                .unwrap_or_else(|_| text.as_bytes().to_vec());
            out.insert(k.clone(), bytes);
        }
    }
    if let Some(data) = v.get("stringData").and_then(Value::as_object) {
        for (k, x) in data {
            let text = match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.insert(k.clone(), text.into_bytes());
        }
    }
    out
}

fn marker(same: bool, changed: &str, len: usize) -> Value {
    let mark = if same { "REDACTED" } else { changed };
    Value::String(format!("{mark} # ({len} bytes)"))
}

fn mask(
    v: &mut Value,
    mine: &BTreeMap<String, Vec<u8>>,
    theirs: Option<&BTreeMap<String, Vec<u8>>>,
    changed: &str,
) {
    let Some(m) = v.as_object_mut() else {
        return;
    };
    let had = m.remove("stringData").is_some() | m.remove("data").is_some();
    if !had {
        return;
    }
    let data: Map<String, Value> = mine
        .iter()
        .map(|(k, bytes)| {
            let same = theirs.and_then(|t| t.get(k)) == Some(bytes);
            (k.clone(), marker(same, changed, bytes.len()))
        })
        .collect();
    m.insert("data".into(), Value::Object(data));
}

fn last_applied(v: &Value) -> Option<&str> {
    v.pointer("/metadata/annotations")?
        .get(LAST_APPLIED)?
        .as_str()
}

fn mask_applied(v: &mut Value, mine: &Option<String>, theirs: &Option<String>, changed: &str) {
    let Some(text) = mine else {
        return;
    };
    if let Some(a) = v
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.insert(
            LAST_APPLIED.into(),
            marker(theirs.as_ref() == Some(text), changed, text.len()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_become_markers_that_say_only_what_changed() {
        let mut old = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"user": "YWRtaW4=", "password": "aHVudGVyMg=="}});
        let mut new = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "stringData": {"user": "admin", "password": "hunter3", "token": "t"}});
        redact_pair(Some(&mut old), Some(&mut new));
        assert_eq!(
            old["data"],
            json!({"user": "REDACTED # (5 bytes)", "password": "-------- # (7 bytes)"})
        );
        assert_eq!(
            new["data"],
            json!({"user": "REDACTED # (5 bytes)", "password": "++++++++ # (7 bytes)",
                   "token": "++++++++ # (1 bytes)"})
        );
        assert!(new.get("stringData").is_none());
        // Not a Secret: untouched.
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}});
        redact_pair(Some(&mut cm), None);
        assert_eq!(cm["data"]["a"], "b");
    }

    #[test]
    fn manifests_keep_other_documents_and_pair_secrets_by_name() {
        let old = "---\n# Source: c/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: one\n---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n";
        let new = old.replace("k: one", "k: two");
        let (o, n) = redact_manifests(old, &new);
        assert!(!o.contains("one") && !n.contains("two"), "{o}\n{n}");
        assert!(o.contains("# Source: c/templates/s.yaml\n"), "{o}");
        assert!(
            o.contains("k: '-------- # (3 bytes)'") || o.contains("k: -------- # (3 bytes)"),
            "{o}"
        );
        assert!(
            n.contains("# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap"),
            "{n}"
        );
    }
}
