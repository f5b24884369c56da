//! What berth does with rendered manifests before it applies them
//! (src/render.rs, src/manifest.rs, src/postrender.rs, and berthd's
//! agent/src/ops): any rendered text is refused with an error or sorted,
//! assembled and parsed into objects, never panicking.
//!
//! The input is the rendered files of a chart, separated by NUL bytes:
//! `mychart/templates/<i>.yaml`, or, when a file starts with `@NAME` and a
//! newline, `mychart/templates/NAME` (`_x.tpl` is a partial). Their bytes
//! are Go strings, as `render_go` hands them over. Then, as an install:
//!
//! * `sort_manifests` (documents, heads, hooks split out, install order)
//!   and `release_manifest`, then `parse_objects` of that manifest, of each
//!   hook as berthd parses one (agent/src/ops/hooks.rs `objects`) and of
//!   each file as a `crds/` file (agent/src/ops/crds.rs `objects`); the
//!   objects sorted in uninstall order (agent/src/ops/mod.rs, uninstall.rs);
//! * the post-renderer's round trip (`annotate_and_merge`, then
//!   `split_and_deannotate` of that, and of the whole input as if a
//!   post-renderer had written it), sorted again;
//! * a diff's Secret redaction (`secrets::redact_manifests`).
//!
//! One invariant is checked besides: the head `sort_manifests` reads on its
//! fast path (`berth_template::yaml::manifest_head`, a line scanner and an
//! event walk) comes only from a document the full decoder takes, and is
//! the head that decoder gives.
//!
//! With BERTH_FUZZ_SHOW set, replaying an input prints each step's result.

#![no_main]

use std::collections::BTreeMap;

use berth::manifest::{self, UNINSTALL_ORDER};
use berth_template::value::gostr;
use berth_template::yaml::go_string_field;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn show(what: &str, v: &dyn std::fmt::Debug) {
    if std::env::var_os("BERTH_FUZZ_SHOW").is_some() {
        eprintln!("{what}: {v:?}");
    }
}

/// Rendered files, as `sort_manifests` gets them: hooks and resources in
/// install order, then the objects berthd applies, or the first error.
fn install(files: &BTreeMap<String, String>) {
    let (hooks, manifests) = match manifest::sort_manifests(files) {
        Ok(sorted) => sorted,
        Err(e) => {
            show("sort_manifests", &e.to_string());
            return;
        }
    };
    let release = manifest::release_manifest(&manifests);
    show("manifest", &release);
    match manifest::parse_objects(&release) {
        Ok(mut objects) => {
            manifest::sort_by_kind(&mut objects, |o| o.object.kind.as_str(), UNINSTALL_ORDER);
            show(
                "objects",
                &objects.iter().map(|o| &o.object).collect::<Vec<_>>(),
            );
        }
        Err(e) => show("parse_objects", &e.to_string()),
    }
    for hook in &hooks {
        let text = format!("---\n# Source: {}\n{}\n", hook.path, hook.manifest);
        if let Err(e) = manifest::parse_objects(&text) {
            show("hook", &e.to_string());
        }
    }
    // A diff of the release against itself and against nothing.
    let _ = berth::secrets::redact_manifests(&release, &release);
    let _ = berth::secrets::redact_manifests("", &release);
}

/// The head `sort_manifests` reads on its fast path
/// (`berth_template::yaml::manifest_head`) comes only from a document the
/// full decoder takes, and is the head that decoder gives (what the fast
/// path promises).
fn check_head(doc: &str) {
    if gostr::yaml_reader_error(doc).is_some() {
        return;
    }
    let Some(h) = berth_template::yaml::manifest_head(doc) else {
        return;
    };
    let v = match manifest::parse_document(doc) {
        Ok(v) => v,
        Err(e) => panic!("manifest_head read {h:?} from a document the decoder refuses: {e}"),
    };
    let s = |v: Option<&Value>| v.and_then(go_string_field).unwrap_or_default();
    let meta = v.get("metadata");
    let annotations: BTreeMap<String, String> = meta
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), s(Some(v)))).collect())
        .unwrap_or_default();
    let full = (
        s(v.get("apiVersion")),
        s(v.get("kind")),
        s(meta.and_then(|m| m.get("name"))),
        annotations,
    );
    assert_eq!((h.api_version, h.kind, h.name, h.annotations), full);
}

fuzz_target!(|data: &[u8]| {
    let mut files = BTreeMap::new();
    for (i, part) in data.split(|&b| b == 0).enumerate() {
        let text = gostr::from_bytes(part);
        let (name, content) = match text.strip_prefix('@').and_then(|t| t.split_once('\n')) {
            Some((name, content)) => (name.to_string(), content.to_string()),
            None => (format!("{i}.yaml"), text),
        };
        // A chart's crds/ file, as berthd reads one (not templated).
        let crd = format!("---\n# Source: mychart/crds/{name}\n{content}\n");
        if let Err(e) = manifest::parse_objects(&crd) {
            show("crd", &e.to_string());
        }
        for doc in manifest::split_manifests(&content) {
            check_head(&doc);
        }
        files.insert(format!("mychart/templates/{name}"), content);
    }
    install(&files);

    // --post-renderer: what berth sends, and what comes back, here the same.
    match berth::postrender::annotate_and_merge(&files) {
        Ok(merged) => match berth::postrender::split_and_deannotate(&merged, "") {
            Ok(back) => install(&back),
            Err(e) => show("split_and_deannotate (round trip)", &e),
        },
        Err(e) => show("annotate_and_merge", &e),
    }
    // A post-renderer's own output.
    let all = gostr::from_bytes(data);
    match berth::postrender::split_and_deannotate(&all, "") {
        Ok(back) => install(&back),
        Err(e) => show("split_and_deannotate", &e),
    }
});
