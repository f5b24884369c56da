//! Post-rendering as Helm v4 does it (pkg/action/action.go, the
//! "combined" strategy): every rendered document, hooks included, is
//! annotated with the file it came from and sent as one stream to the
//! post-renderer; what comes back is split into files again by that
//! annotation (documents without it go to `generated-by-postrender-N.yaml`)
//! and sorted into hooks and resources as a render is.
//!
//! Helm reads and writes the documents with kyaml, which keeps each
//! document's text (key order, quoting) until the release manifest is read
//! as YAML 1.1; berth reads each document as YAML 1.1 at once (what it
//! comes to mean in Helm too: a plugin's plain `on` is `true` in both) and
//! writes it as sigs.k8s.io/yaml does (keys sorted), so the same objects
//! can read differently in the manifest.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::manifest::{parse_document, split_manifests};

/// The annotation that carries a document's file through the post-renderer.
pub const FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

/// Helm's `annotateAndMerge`: the documents of every file (partials and
/// empty files left out) in file order, each annotated with its file,
/// joined as one YAML stream.
pub fn annotate_and_merge(files: &BTreeMap<String, String>) -> Result<String, String> {
    let mut docs = Vec::new();
    for (name, content) in files {
        let base = name.rsplit('/').next().unwrap_or(name);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            unique_keys(&doc).map_err(|e| format!("parsing {name}: {e}"))?;
            let mut value = parse_document(&doc).map_err(|e| format!("parsing {name}: {e}"))?;
            if value.is_null() {
                continue;
            }
            set_annotation(&mut value, name).map_err(|e| format!("annotating {name}: {e}"))?;
            docs.push(berth_template::yaml::marshal(&value));
        }
    }
    Ok(docs.join("---\n"))
}

/// Helm's `splitAndDeannotate`: the post-renderer's documents back into
/// files by their annotation, which is removed.
pub fn split_and_deannotate(
    post_rendered: &str,
    fallback_prefix: &str,
) -> Result<BTreeMap<String, String>, String> {
    let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut i = 0;
    for doc in split_manifests(post_rendered) {
        unique_keys(&doc).map_err(|e| format!("error parsing YAML: {e}"))?;
        let mut value = parse_document(&doc).map_err(|e| format!("error parsing YAML: {e}"))?;
        if value.is_null() {
            continue;
        }
        let Value::Object(object) = &mut value else {
            return Err(format!(
                "getting metadata: wrong node kind: expected MappingNode but got {}",
                node_kind(&value)
            ));
        };
        let name = take_annotation(object).unwrap_or_else(|| match fallback_prefix {
            "" => format!("generated-by-postrender-{i}.yaml"),
            p => format!("generated-by-postrender-{p}-{i}.yaml"),
        });
        by_file
            .entry(name)
            .or_default()
            .push(berth_template::yaml::marshal(&value));
        i += 1;
    }
    Ok(by_file
        .into_iter()
        .map(|(name, docs)| (name, docs.join("---\n")))
        .collect())
}

/// kyaml (yaml.v3), which Helm reads every post-rendered document with,
/// refuses a mapping key given twice where a plain render keeps the last.
fn unique_keys(doc: &str) -> Result<(), String> {
    let opts = serde_saphyr::options! {
        legacy_octal_numbers: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        with_snippet: false,
        budget: crate::manifest::yaml_budget(),
    };
    match serde_saphyr::from_multiple_with_options::<Value>(doc, opts) {
        // yaml.v3's words.
        Err(serde_saphyr::Error::DuplicateMappingKey { key, location }) => Err(format!(
            "yaml: line {}: mapping key {:?} already defined",
            location.line(),
            key.unwrap_or_default()
        )),
        _ => Ok(()),
    }
}

fn node_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "SequenceNode",
        _ => "ScalarNode",
    }
}

fn set_annotation(value: &mut Value, file: &str) -> Result<(), String> {
    let Value::Object(object) = value else {
        return Err(format!(
            "wrong node kind: expected MappingNode but got {}",
            node_kind(value)
        ));
    };
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if metadata.is_null() {
        *metadata = Value::Object(Map::new());
    }
    let Value::Object(metadata) = metadata else {
        return Err("metadata: wrong node kind: expected MappingNode".into());
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if annotations.is_null() {
        *annotations = Value::Object(Map::new());
    }
    let Value::Object(annotations) = annotations else {
        return Err("metadata.annotations: wrong node kind: expected MappingNode".into());
    };
    annotations.insert(FILENAME_ANNOTATION.into(), Value::String(file.into()));
    Ok(())
}

/// The document's file annotation, removed (with the annotations map if it
/// is then empty).
fn take_annotation(object: &mut Map<String, Value>) -> Option<String> {
    let metadata = object.get_mut("metadata")?.as_object_mut()?;
    let annotations = metadata.get_mut("annotations")?.as_object_mut()?;
    let name = annotations.remove(FILENAME_ANNOTATION)?;
    if annotations.is_empty() {
        metadata.remove("annotations");
    }
    match name {
        Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_go_through_the_post_renderer_and_come_back() {
        let files = BTreeMap::from([
            ("c/templates/_helpers.tpl".to_string(), "ignored: 1\n".to_string()),
            ("c/templates/b.yaml".to_string(), "kind: B\nmetadata:\n  name: b\n---\nkind: B2\n".to_string()),
            ("c/templates/a.yaml".to_string(), "# only a comment\n---\nkind: A\nmetadata:\n  name: a\n  annotations:\n    keep: \"yes\"\n".to_string()),
            ("c/templates/empty.yaml".to_string(), "\n".to_string()),
        ]);
        let merged = annotate_and_merge(&files).unwrap();
        assert_eq!(
            merged,
            "kind: A\nmetadata:\n  annotations:\n    keep: \"yes\"\n    postrenderer.helm.sh/postrender-filename: c/templates/a.yaml\n  name: a\n---\nkind: B\nmetadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: c/templates/b.yaml\n  name: b\n---\nkind: B2\nmetadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: c/templates/b.yaml\n"
        );
        // A post-renderer that adds a document of its own.
        let out = format!("{merged}---\nkind: New\nmetadata:\n  name: nn\n");
        let back = split_and_deannotate(&out, "").unwrap();
        assert_eq!(
            back,
            BTreeMap::from([
                (
                    "c/templates/a.yaml".to_string(),
                    "kind: A\nmetadata:\n  annotations:\n    keep: \"yes\"\n  name: a\n"
                        .to_string()
                ),
                (
                    "c/templates/b.yaml".to_string(),
                    "kind: B\nmetadata:\n  name: b\n---\nkind: B2\nmetadata: {}\n".to_string()
                ),
                (
                    "generated-by-postrender-3.yaml".to_string(),
                    "kind: New\nmetadata:\n  name: nn\n".to_string()
                ),
            ])
        );
        assert!(
            annotate_and_merge(&BTreeMap::from([(
                "x.yaml".to_string(),
                "- a\n".to_string()
            )]))
            .unwrap_err()
            .starts_with("annotating x.yaml: wrong node kind")
        );
        assert!(
            split_and_deannotate("a: [\n", "")
                .unwrap_err()
                .starts_with("error parsing YAML: ")
        );
        let twice = split_and_deannotate("kind: A\nkind: B\n", "").unwrap_err();
        assert!(
            twice.starts_with("error parsing YAML: ") && twice.contains("kind"),
            "{twice}"
        );
    }
}
