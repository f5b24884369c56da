//! Manifests: splitting rendered templates into documents, telling hooks from
//! resources, ordering kinds as Helm installs them, assembling the release
//! manifest text, and parsing it back into objects.
//!
//! This is the one place that knows Kubernetes kind order (Helm's
//! pkg/release/v1/util/{manifest,manifest_sorter,kind_sorter}.go).

use std::collections::BTreeMap;

use berth_template::value::gostr;
use serde_json::Value;

use crate::proto::ObjectRef;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("YAML parse error on {path}: {message}")]
    Yaml { path: String, message: String },
    #[error("{path}: object has no {field}")]
    Missing { path: String, field: &'static str },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Helm's InstallOrder.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Helm's UninstallOrder: webhooks first, namespaces last.
pub const UNINSTALL_ORDER: &[&str] = &[
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "Ingress",
    "IngressClass",
    "Service",
    "CronJob",
    "Job",
    "StatefulSet",
    "HorizontalPodAutoscaler",
    "Deployment",
    "ReplicaSet",
    "ReplicationController",
    "Pod",
    "DaemonSet",
    "RoleBindingList",
    "RoleBinding",
    "RoleList",
    "Role",
    "ClusterRoleBindingList",
    "ClusterRoleBinding",
    "ClusterRoleList",
    "ClusterRole",
    "CustomResourceDefinition",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "ConfigMap",
    "SecretList",
    "Secret",
    "ServiceAccount",
    "PodDisruptionBudget",
    "PodSecurityPolicy",
    "LimitRange",
    "ResourceQuota",
    "NetworkPolicy",
    "Namespace",
    "PriorityClass",
];

/// Helm's lessByKind: listed kinds by position, unknown kinds after them in
/// alphabetical order; the sort is stable so equal kinds keep their order.
pub fn sort_by_kind<T>(items: &mut [T], kind: impl Fn(&T) -> &str, order: &[&str]) {
    let rank = |k: &str| order.iter().position(|o| *o == k);
    items.sort_by(|a, b| {
        let (ka, kb) = (kind(a), kind(b));
        match (rank(ka), rank(kb)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => ka.cmp(kb),
        }
    });
}

/// The fields Helm reads from each document before deciding what it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Head {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub annotations: BTreeMap<String, String>,
}

/// A rendered resource document and the template it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub source: String,
    pub content: String,
    pub head: Head,
}

/// A hook document (annotated `helm.sh/hook`).
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    pub name: String,
    pub kind: String,
    pub path: String,
    pub manifest: String,
    pub events: Vec<String>,
    pub weight: i32,
    pub delete_policies: Vec<String>,
    pub output_log_policies: Vec<String>,
}

impl Hook {
    /// Whether it runs on `event` ("pre-install", "test", …).
    pub fn runs_on(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }
}

pub const HOOK_ANNOTATION: &str = "helm.sh/hook";
pub const HOOK_WEIGHT_ANNOTATION: &str = "helm.sh/hook-weight";
pub const HOOK_DELETE_ANNOTATION: &str = "helm.sh/hook-delete-policy";
pub const HOOK_OUTPUT_LOG_ANNOTATION: &str = "helm.sh/hook-output-log-policy";
pub const RESOURCE_POLICY_ANNOTATION: &str = "helm.sh/resource-policy";

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
];

/// Helm's SplitManifests as of v4.2.3 (the Helm berth renders like, see
/// `.Capabilities.HelmVersion`): split on `(?:^|\s*\n)---\s*`, drop blank
/// documents, trim leading whitespace of each. The separator swallows the
/// whitespace before it, so every document but a file's last loses its
/// trailing blank lines (Helm 4.2.4 narrowed the separator to `^---[ \t]*`).
pub fn split_manifests(big: &str) -> Vec<String> {
    // Go's `\s`, which is narrower than char::is_whitespace.
    fn go_space(b: u8) -> bool {
        matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
    }
    fn skip_space(b: &[u8], mut i: usize) -> usize {
        while i < b.len() && go_space(b[i]) {
            i += 1;
        }
        i
    }
    let text = big.trim_start();
    let b = text.as_bytes();
    let mut docs = Vec::new();
    let (mut start, mut i) = (0, 0);
    if text.starts_with("---") {
        // The `^---` alternative.
        i = skip_space(b, 3);
        start = i;
    }
    while i < b.len() {
        if !go_space(b[i]) {
            i += 1;
            continue;
        }
        // A run of whitespace is a separator's start when it ends in a
        // newline followed by `---`.
        let end = skip_space(b, i);
        if b[end - 1] == b'\n' && text[end..].starts_with("---") {
            docs.push(&text[start..i]);
            i = skip_space(b, end + 3);
            start = i;
        } else {
            i = end;
        }
    }
    docs.push(&text[start..]);
    docs.into_iter()
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim_start().to_string())
        .collect()
}

/// A YAML error from serde-saphyr (directly or through kube) as one line:
/// its text is the first line, and below it a source snippet; a leading
/// `error: ` is dropped.
pub fn yaml_error_line(e: &str) -> &str {
    let first = e.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first)
}

/// serde-saphyr's default budget, less its limit of 32 comment lines read
/// ahead between a key and its value: go-yaml takes any number, and charts
/// and config files comment out long blocks there. Every YAML berth reads
/// with serde-saphyr goes through this.
pub fn yaml_budget() -> Option<serde_saphyr::Budget> {
    serde_saphyr::budget! { max_buffered_comment_events: usize::MAX }
}

/// Parse one YAML document the way kubectl and Helm do (YAML 1.1 octals,
/// integers stay integers). serde-saphyr's default budget bounds what a
/// hostile document costs (250 000 nodes, aliases replayed included, depth
/// 64); errors are one line, without its source snippets.
pub fn parse_document(doc: &str) -> Result<Value, String> {
    // A repeated key is no error for Helm or kubectl (sigs.k8s.io/yaml on
    // go-yaml v2): the last one wins.
    let opts = serde_saphyr::options! {
        legacy_octal_numbers: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        with_snippet: false,
        budget: yaml_budget(),
    };
    let docs: Vec<Value> = match serde_saphyr::from_multiple_with_options(doc, opts) {
        Ok(docs) => docs,
        // A number beyond f64 (`1e400`): go-yaml v2 cannot parse it as a
        // float and keeps the text, so the object holds the string; its
        // own reader decides (`.inf`, which go-yaml does take, then fails
        // as JSON cannot hold it).
        Err(serde_saphyr::Error::NonFiniteFloat { .. }) => {
            return berth_template::yaml::parse_document_ints(doc).map_err(|e| e.to_string());
        }
        // How deeply the maps and lists of a rendered object may nest
        // (Helm's go-yaml takes 10 000).
        Err(serde_saphyr::Error::Budget {
            breach: serde_saphyr::budget::BudgetBreach::Depth { .. },
            location,
        }) => {
            return Err(format!(
                "line {}: the object nests more than {} levels deep, berth's limit for a rendered object",
                location.line(),
                serde_saphyr::budget::Budget::default().max_depth
            ));
        }
        Err(e) => return Err(e.to_string()),
    };
    Ok(docs
        .into_iter()
        .find(|d| !d.is_null())
        .unwrap_or(Value::Null))
}

/// A scalar as the string field of Helm's `SimpleHead` gets it
/// (sigs.k8s.io/yaml writes numbers with Go's FormatInt and 32-bit
/// FormatFloat, booleans as words; null leaves it empty).
fn head_string(v: &Value) -> String {
    berth_template::yaml::go_string_field(v).unwrap_or_default()
}

fn head_of(v: &Value) -> Head {
    let s = |v: Option<&Value>| v.map(head_string).unwrap_or_default();
    let meta = v.get("metadata");
    let annotations = meta
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), head_string(v))).collect())
        .unwrap_or_default();
    Head {
        api_version: s(v.get("apiVersion")),
        kind: s(v.get("kind")),
        name: s(meta.and_then(|m| m.get("name"))),
        annotations,
    }
}

/// The head of a document decoded in full, or why it cannot be read.
fn document_head(path: &str, doc: &str) -> Result<Head, ManifestError> {
    // Helm reads each document with sigs.k8s.io/yaml; when it cannot,
    // the message is go-yaml's ("error converting YAML to JSON: yaml:
    // line 8: could not find expected ':'"), which berth-template's
    // reader words the same way.
    let value = parse_document(doc).map_err(|message| ManifestError::Yaml {
        path: path.to_string(),
        message: berth_template::yaml::parse_document(doc)
            .err()
            .map_or(message, |e| e.to_string()),
    })?;
    // Helm decodes each document into its `SimpleHead` struct, which
    // fails on a list or scalar document, or a collection where a string
    // or a mapping belongs.
    if let Some(message) = crate::chart::metadata::simple_head_error(&value) {
        return Err(ManifestError::Yaml {
            path: path.to_string(),
            message: format!("error unmarshaling JSON: while decoding JSON: {message}"),
        });
    }
    Ok(head_of(&value))
}

/// Helm's SortManifests: files in name order (partials and blank files
/// skipped), documents in file order, hooks split out; both lists then
/// stably sorted by kind in install order.
pub fn sort_manifests(
    files: &BTreeMap<String, String>,
) -> Result<(Vec<Hook>, Vec<Manifest>), ManifestError> {
    let mut hooks = Vec::new();
    let mut generic = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            if let Some(problem) = gostr::yaml_reader_error(&doc) {
                return Err(ManifestError::Yaml {
                    path: path.clone(),
                    message: format!("error converting YAML to JSON: yaml: {problem}"),
                });
            }
            let head = rendered_head(path, &doc)?;
            let Some(hook_types) = head.annotations.get(HOOK_ANNOTATION) else {
                generic.push(Manifest {
                    source: path.clone(),
                    content: doc,
                    head,
                });
                continue;
            };
            let Some(events) = hook_events(hook_types) else {
                // Helm logs "skipping unknown hooks" and drops the document.
                continue;
            };
            let list = |key: &str| -> Vec<String> {
                head.annotations
                    .get(key)
                    .map(|v| v.split(',').map(|p| p.trim().to_lowercase()).collect())
                    .unwrap_or_default()
            };
            hooks.push(Hook {
                name: head.name.clone(),
                kind: head.kind.clone(),
                path: path.clone(),
                manifest: doc.clone(),
                events,
                weight: head
                    .annotations
                    .get(HOOK_WEIGHT_ANNOTATION)
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(0),
                delete_policies: list(HOOK_DELETE_ANNOTATION),
                output_log_policies: list(HOOK_OUTPUT_LOG_ANNOTATION),
            });
        }
    }
    sort_by_kind(&mut hooks, |h| h.kind.as_str(), INSTALL_ORDER);
    sort_by_kind(&mut generic, |m| m.head.kind.as_str(), INSTALL_ORDER);
    Ok((hooks, generic))
}

/// A rendered document's head.
fn rendered_head(path: &str, doc: &str) -> Result<Head, ManifestError> {
    Ok(match berth_template::yaml::manifest_head(doc) {
        // The usual document: its head, read without decoding it all (a
        // full decoding costs more than rendering it).
        Some(h) => Head {
            api_version: h.api_version,
            kind: h.kind,
            name: h.name,
            annotations: h.annotations,
        },
        None => document_head(path, doc)?,
    })
}

/// The events of a `helm.sh/hook` annotation as Helm's sorter reads them
/// (trimmed, lower case, `test-success` the old name of `test`), or None
/// when one is unknown: Helm then skips the whole document.
fn hook_events(annotation: &str) -> Option<Vec<String>> {
    annotation
        .split(',')
        .map(|t| match t.trim().to_lowercase() {
            t if t == "test-success" => Some("test".to_string()),
            t => HOOK_EVENTS.contains(&t.as_str()).then_some(t),
        })
        .collect()
}

/// Whether a rendered document is a hook that runs on `test` (Helm's
/// isTestHook over what its sorter made of the document).
pub fn is_test_hook(document: &str) -> bool {
    rendered_head("", document)
        .ok()
        .and_then(|h| {
            h.annotations
                .get(HOOK_ANNOTATION)
                .and_then(|a| hook_events(a))
        })
        .is_some_and(|events| events.iter().any(|e| e == "test"))
}

/// The release manifest Helm stores: `---\n# Source: <path>\n<doc>\n` per
/// resource, in install order.
pub fn release_manifest(manifests: &[Manifest]) -> String {
    let mut out = String::new();
    for m in manifests {
        out.push_str(&format!("---\n# Source: {}\n{}\n", m.source, m.content));
    }
    out
}

/// The `(source, document)` pairs of a manifest as [`release_manifest`]
/// writes it (`---\n# Source: <path>\n<document>\n` each): what a stored or
/// dry-run release holds, back as the documents it was made of. A document
/// never holds a line starting `---` (rendering splits there), so each ends
/// where the next `---\n# Source: ` starts.
pub fn sourced_documents(manifest: &str) -> Vec<(&str, &str)> {
    const START: &str = "---\n# Source: ";
    let mut out = Vec::new();
    let mut rest = manifest;
    while let Some(doc) = rest.strip_prefix(START) {
        let end = doc.find(&format!("\n{START}")).map_or(doc.len(), |i| i + 1);
        let (this, next) = doc.split_at(end);
        rest = next;
        let (source, content) = this.split_once('\n').unwrap_or((this, ""));
        out.push((source, content.strip_suffix('\n').unwrap_or(content)));
    }
    out
}

/// What uninstall does with an object, as Helm's filterManifestsToKeep sorts
/// it by its `helm.sh/resource-policy` annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUninstall {
    /// No such annotation: deleted.
    Delete,
    /// `keep`, read trimmed and in any case (where an upgrade's prune wants
    /// `keep` exactly): left, and listed as kept.
    Keep,
    /// Any other value: Helm's filter puts the object in neither of its
    /// lists, so it is neither deleted nor listed; berth leaves it too, as
    /// deleting what Helm would leave could lose data.
    Leave,
}

pub fn on_uninstall(o: &Object) -> OnUninstall {
    match o.annotation(RESOURCE_POLICY_ANNOTATION) {
        None => OnUninstall::Delete,
        Some(p) if p.trim().eq_ignore_ascii_case("keep") => OnUninstall::Keep,
        Some(_) => OnUninstall::Leave,
    }
}

/// Whether an upgrade's prune leaves this live object: Helm's Update reads
/// the annotation from the cluster's copy and wants `keep` exactly.
pub fn kept_on_prune(live: &Value) -> bool {
    live.pointer("/metadata/annotations")
        .and_then(|a| a.get(RESOURCE_POLICY_ANNOTATION))
        .and_then(Value::as_str)
        == Some("keep")
}

/// One object of a stored manifest, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub source: String,
    pub object: ObjectRef,
    pub body: Value,
}

impl Object {
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.body
            .pointer("/metadata/annotations")?
            .get(key)?
            .as_str()
    }
}

/// Parse a release manifest (as produced by [`release_manifest`]) back into
/// objects. Every object must have apiVersion, kind and metadata.name.
pub fn parse_objects(manifest: &str) -> Result<Vec<Object>, ManifestError> {
    let mut out = Vec::new();
    for doc in split_manifests(manifest) {
        let source = doc
            .lines()
            .find_map(|l| l.strip_prefix("# Source: "))
            .unwrap_or("manifest")
            .to_string();
        let body = parse_document(&doc).map_err(|message| ManifestError::Yaml {
            path: source.clone(),
            message,
        })?;
        if body.is_null() {
            continue;
        }
        if !body.is_object() {
            return Err(ManifestError::Invalid {
                path: source,
                message: "document is not a mapping".into(),
            });
        }
        // A list (`kind: List`, or any `…List` with `items`) stands for its
        // items, as Helm's resource builder flattens it; an item without
        // apiVersion or kind takes the list's (a typed list's items carry
        // none).
        let list_kind = body["kind"].as_str().unwrap_or_default();
        if let (Some(element), Some(items)) = (
            list_kind.strip_suffix("List"),
            body.get("items").and_then(Value::as_array),
        ) {
            for item in items {
                let mut item = item.clone();
                if let Some(m) = item.as_object_mut() {
                    if !m.contains_key("apiVersion") {
                        m.insert("apiVersion".into(), body["apiVersion"].clone());
                    }
                    if !m.contains_key("kind") && !element.is_empty() {
                        m.insert("kind".into(), Value::String(element.to_string()));
                    }
                }
                out.push(object_of(&source, item)?);
            }
            continue;
        }
        out.push(object_of(&source, body)?);
    }
    Ok(out)
}

/// One object of a manifest: it must be a mapping with apiVersion, kind and
/// metadata.name.
fn object_of(source: &str, body: Value) -> Result<Object, ManifestError> {
    let source = source.to_string();
    if !body.is_object() {
        return Err(ManifestError::Invalid {
            path: source,
            message: "a list item is not a mapping".into(),
        });
    }
    let field = |p: &str| {
        body.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let object = ObjectRef {
        api_version: field("/apiVersion"),
        kind: field("/kind"),
        namespace: field("/metadata/namespace"),
        name: field("/metadata/name"),
    };
    for (pointer, value, what) in [
        ("/apiVersion", &object.api_version, "apiVersion"),
        ("/kind", &object.kind, "kind"),
        ("/metadata/name", &object.name, "metadata.name"),
    ] {
        // A YAML 1.1 scalar such as `n`, `off` or `1` read as no string.
        if let Some(other) = body
            .pointer(pointer)
            .filter(|v| !v.is_string() && !v.is_null())
        {
            return Err(ManifestError::Invalid {
                path: source,
                message: format!(
                    "{what} is {other}, not a string (YAML reads n, no, off, 1… as other types: quote it)"
                ),
            });
        }
        if value.is_empty() {
            return Err(ManifestError::Missing {
                path: source,
                field: what,
            });
        }
    }
    Ok(Object {
        source,
        object,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What release_manifest wrote, document for document: a file's last
    /// document keeps its trailing blank lines, a document may hold `---`
    /// inside a line and `# Source:` lines of its own.
    #[test]
    fn sourced_documents_give_back_what_release_manifest_joined() {
        let docs = [
            ("c/templates/a.yaml", "a: 1"),
            ("c/templates/a.yaml", "b: |\n  x --- y\n  # Source: no\n\n"),
            ("c/charts/s/templates/b.yaml", ""),
            ("c/templates/c.yaml", "# Source: c/templates/c.yaml\nc: 3"),
        ];
        let manifests: Vec<Manifest> = docs
            .iter()
            .map(|(source, content)| Manifest {
                source: source.to_string(),
                content: content.to_string(),
                head: Head::default(),
            })
            .collect();
        assert_eq!(sourced_documents(&release_manifest(&manifests)), docs);
        assert!(sourced_documents("").is_empty());
    }

    /// Charts comment out long blocks, as go-yaml takes any number of
    /// comment lines between a key and its value (granit-parser reads 96
    /// ahead by default).
    #[test]
    fn a_long_comment_block_between_a_key_and_its_value_parses() {
        let comments: String = (0..300).map(|i| format!("  # {i}\n")).collect();
        let doc = format!("kind: ConfigMap\ndata:\n{comments}  a: b\n");
        assert_eq!(
            parse_document(&doc).unwrap(),
            serde_json::json!({"kind": "ConfigMap", "data": {"a": "b"}})
        );
    }

    #[test]
    fn a_list_stands_for_its_items_as_helm_flattens_it() {
        let manifest = "---\n# Source: c/templates/list.yaml\napiVersion: v1\nkind: List\nitems:\n\
            - apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n\
            - apiVersion: v1\n  kind: Secret\n  metadata:\n    name: b\n\
            ---\n# Source: c/templates/typed.yaml\napiVersion: v1\nkind: ConfigMapList\nitems:\n\
            - metadata:\n    name: c\n";
        let objects = parse_objects(manifest).unwrap();
        let names: Vec<(&str, &str, &str)> = objects
            .iter()
            .map(|o| {
                (
                    o.object.kind.as_str(),
                    o.object.name.as_str(),
                    o.source.as_str(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("ConfigMap", "a", "c/templates/list.yaml"),
                ("Secret", "b", "c/templates/list.yaml"),
                ("ConfigMap", "c", "c/templates/typed.yaml"),
            ]
        );
        assert_eq!(objects[2].body["apiVersion"], "v1");
        let bad = "---\n# Source: c/templates/l.yaml\napiVersion: v1\nkind: List\nitems:\n- 3\n";
        assert_eq!(
            parse_objects(bad).unwrap_err().to_string(),
            "c/templates/l.yaml: a list item is not a mapping"
        );
    }

    #[test]
    fn split_follows_helm() {
        let docs = split_manifests("\n---\na: 1\n---   \n\n---\nb: 2\n--- # c\nc: 3");
        // The first separator swallows the blank lines before the second
        // `---`, which then stays in the document, as in Go's regexp.Split.
        assert_eq!(docs, vec!["a: 1", "---\nb: 2", "# c\nc: 3"]);
    }

    #[test]
    fn split_drops_whitespace_before_a_separator_like_helm_4_2_3() {
        // cert-manager's rbac.yaml leaves blank lines between its documents;
        // `helm template` (v4.2.3) prints none, nor a block scalar's last
        // blank line, but keeps the file's trailing newline.
        let docs = split_manifests("a: 1\n\n  \n---\nb: |\n  x\n\n---c: 2\n---\n---\n\nd: 3\n\n");
        assert_eq!(docs, vec!["a: 1", "b: |\n  x", "c: 2", "---\n\nd: 3\n\n"]);
    }

    #[test]
    fn unparsable_documents_fail_with_helms_words() {
        // argo-cd's prometheusrule.yaml with empty rules; message from Helm v4.2.3.
        let files = BTreeMap::from([(
            "c/templates/rule.yaml".to_string(),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\napiVersion: v1\n\
             kind: PrometheusRule\nspec:\n  groups:\n  - name: argocd\n    rules:\n    []\n"
                .to_string(),
        )]);
        let err = sort_manifests(&files).unwrap_err();
        assert_eq!(
            err.to_string(),
            "YAML parse error on c/templates/rule.yaml: error converting YAML to JSON: \
             yaml: line 8: could not find expected ':'"
        );
    }

    #[test]
    fn heads_helm_cannot_hold_fail_with_its_words() {
        // Messages from Helm v4 (helm-python-sdk), one document each.
        let meta = r#"struct { Name string "json:\"name\""; Annotations map[string]string "json:\"annotations\"" }"#;
        let cases = [
            (
                "apiVersion: [1]\nkind: [2]\nmetadata: 3",
                "array into Go struct field SimpleHead.apiVersion of type string".to_string(),
            ),
            (
                "kind: {a: 1}\nmetadata: {name: a}",
                "object into Go struct field SimpleHead.kind of type string".into(),
            ),
            (
                "kind: A\nmetadata: abc",
                format!("string into Go struct field SimpleHead.metadata of type {meta}"),
            ),
            (
                "kind: A\nmetadata: true",
                format!("bool into Go struct field SimpleHead.metadata of type {meta}"),
            ),
            (
                "kind: A\nmetadata: {name: {a: 1}}",
                "object into Go struct field .metadata.name of type string".into(),
            ),
            // Keys are met sorted: annotations before name.
            (
                "kind: A\nmetadata: {name: [1], annotations: s}",
                "string into Go struct field .metadata.annotations of type map[string]string"
                    .into(),
            ),
            (
                "kind: A\nmetadata: {name: a, annotations: {x: [1]}}",
                "array into Go struct field .metadata.annotations of type string".into(),
            ),
        ];
        for (doc, want) in cases {
            let doc = match doc.starts_with("apiVersion") {
                true => doc.to_string(),
                false => format!("apiVersion: v1\n{doc}"),
            };
            let files = BTreeMap::from([("c/templates/a.yaml".to_string(), doc.clone())]);
            let err = sort_manifests(&files).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "YAML parse error on c/templates/a.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {want}"
                ),
                "{doc}"
            );
        }
        // Scalars are strings to Helm (sigs.k8s.io/yaml converts them for a
        // string field), and a null annotation is empty.
        let files = BTreeMap::from([(
            "c/templates/a.yaml".to_string(),
            "apiVersion: 1\nkind: true\nmetadata: {name: 5, annotations: {helm.sh/hook-weight: 3, x: null}}\n".to_string(),
        )]);
        let (_, generic) = sort_manifests(&files).unwrap();
        assert_eq!(generic[0].head.annotations["helm.sh/hook-weight"], "3");
        assert_eq!(generic[0].head.annotations["x"], "");
        assert_eq!(
            (
                generic[0].head.api_version.as_str(),
                generic[0].head.kind.as_str()
            ),
            ("1", "true")
        );
        assert_eq!(generic[0].head.name, "5");
    }

    #[test]
    fn bytes_helms_yaml_reader_refuses_fail_with_its_words() {
        // A template that cut a multi-byte character (`abbrev 4 "ééééé"`)
        // or printed a control character; messages from Helm v4.
        for (bytes, problem) in [
            (
                &b"a: 1\nx: \xc3\xa9\xc3...\n"[..],
                "invalid trailing UTF-8 octet",
            ),
            (
                &b"a: 1\nx: \x01\n"[..],
                "control characters are not allowed",
            ),
        ] {
            let files =
                BTreeMap::from([("c/templates/a.yaml".to_string(), gostr::from_bytes(bytes))]);
            assert_eq!(
                sort_manifests(&files).unwrap_err().to_string(),
                format!(
                    "YAML parse error on c/templates/a.yaml: error converting YAML to JSON: yaml: {problem}"
                )
            );
        }
    }

    #[test]
    fn kinds_sort_in_install_order_unknown_last_alphabetically() {
        let mut kinds = vec![
            "Zeta",
            "Deployment",
            "Alpha",
            "Namespace",
            "Service",
            "Deployment",
        ];
        sort_by_kind(&mut kinds, |k| k, INSTALL_ORDER);
        assert_eq!(
            kinds,
            vec![
                "Namespace",
                "Service",
                "Deployment",
                "Deployment",
                "Alpha",
                "Zeta"
            ]
        );
    }

    #[test]
    fn hooks_are_split_out() {
        let mut files = BTreeMap::new();
        files.insert(
            "c/templates/a.yaml".to_string(),
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: pre-install,post-upgrade\n    helm.sh/hook-weight: \"-5\"\n".to_string(),
        );
        files.insert("c/templates/_h.tpl".to_string(), "x".to_string());
        files.insert(
            "c/templates/b.yaml".to_string(),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\n".to_string(),
        );
        let (hooks, manifests) = sort_manifests(&files).unwrap();
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].events, vec!["pre-install", "post-upgrade"]);
        assert_eq!(hooks[0].weight, -5);
        let kinds: Vec<_> = manifests.iter().map(|m| m.head.kind.as_str()).collect();
        assert_eq!(kinds, vec!["ConfigMap", "Service"]);
        let text = release_manifest(&manifests);
        assert!(
            text.starts_with("---\n# Source: c/templates/b.yaml\napiVersion: v1\nkind: ConfigMap")
        );
        let objects = parse_objects(&text).unwrap();
        assert_eq!(objects[1].object.name, "s");
        assert_eq!(objects[1].source, "c/templates/a.yaml");
    }

    #[test]
    fn a_test_hook_is_what_helms_sorter_makes_one() {
        let doc = |hook: &str| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: {hook}\n"
            )
        };
        assert!(is_test_hook(&doc("test")));
        assert!(is_test_hook(&doc("\" Test-Success \"")));
        assert!(is_test_hook(&doc("pre-install, test")));
        // An unknown event: Helm's sorter skips the document, it is no hook.
        assert!(!is_test_hook(&doc("test,bogus")));
        assert!(!is_test_hook(&doc("pre-install")));
        assert!(!is_test_hook(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n"
        ));
        assert_eq!(
            hook_events(" Post-Install ,test-success"),
            Some(vec!["post-install".to_string(), "test".to_string()])
        );
    }

    #[test]
    fn bad_yaml_names_the_template() {
        let mut files = BTreeMap::new();
        files.insert("c/templates/x.yaml".to_string(), "a: [1,\n".to_string());
        let e = sort_manifests(&files).unwrap_err().to_string();
        assert!(
            e.starts_with("YAML parse error on c/templates/x.yaml"),
            "{e}"
        );
    }

    #[test]
    fn an_object_nested_too_deep_is_refused_in_one_line_that_says_so() {
        let mut doc =
            String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\nextra:\n");
        for i in 1..=serde_saphyr::budget::Budget::default().max_depth {
            doc.push_str(&format!("{}a:\n", " ".repeat(i)));
        }
        let e = parse_objects(&doc).unwrap_err().to_string();
        assert!(
            e.ends_with("line 69: the object nests more than 64 levels deep, berth's limit for a rendered object"),
            "{e}"
        );
        let mut files = BTreeMap::new();
        files.insert("c/templates/x.yaml".to_string(), doc);
        assert_eq!(
            sort_manifests(&files).unwrap_err().to_string(),
            "YAML parse error on c/templates/x.yaml: line 69: the object nests more than 64 levels deep, berth's limit for a rendered object"
        );
    }

    #[test]
    fn alias_bombs_in_rendered_manifests_are_refused_in_one_line() {
        let mut doc = String::from(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
        );
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            doc.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
        }
        // What the agent reads a stored manifest with.
        let e = parse_objects(&doc).unwrap_err().to_string();
        assert!(e.contains("budget breached"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        // Rendering words it as Helm does.
        let mut files = BTreeMap::new();
        files.insert("c/templates/x.yaml".to_string(), doc.clone());
        assert_eq!(
            sort_manifests(&files).unwrap_err().to_string(),
            "YAML parse error on c/templates/x.yaml: error converting YAML to JSON: yaml: document contains excessive aliasing"
        );
    }

    #[test]
    fn a_number_beyond_f64_stays_text_as_go_yaml_keeps_it() {
        let v = parse_document("a: 1e400\nb: -9e999\nc: 1.5\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": "1e400", "b": "-9e999", "c": 1.5})
        );
        assert!(parse_document("a: .inf\n").is_err());
    }

    #[test]
    fn octal_modes_become_ints() {
        let v = parse_document("mode: 0644\nn: 3\n").unwrap();
        assert_eq!(v["mode"], 420);
        assert!(v["n"].is_i64() || v["n"].is_u64());
    }
}
