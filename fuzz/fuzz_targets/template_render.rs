//! Rendering (berth_template::helm::render): any template, with any values,
//! must render or fail with an error, never panic.
//!
//! The input is one template's text (templates/t.yaml of a small chart),
//! optionally followed by a NUL byte and a values document (YAML) given as
//! the user's values; values that do not parse are dropped. The chart's own
//! values.yaml holds a few values of every kind for `.Values` to reach.
//!
//! Rendering catches a panic and returns it as an error starting with
//! "internal error" (template/src/stack.rs); libfuzzer-sys's panic hook
//! aborts first, and the assertion below catches one that got past it.
//! With BERTH_FUZZ_SHOW set, replaying an input prints its output or error.

#![no_main]

use std::sync::LazyLock;

use berth_template::helm::{self, Chart, File, ReleaseOptions, RenderOptions};
use libfuzzer_sys::fuzz_target;

const CHART_YAML: &str = "apiVersion: v2\nname: mychart\nversion: 0.1.0\nappVersion: \"1.0\"\n";

const VALUES_YAML: &str = "\
i: 3
n: -7
big: 9223372036854775807
f: 1.5
s: hello
e: \"\"
b: true
z: null
l: [1, \"two\", 3.5, null, [4], {k: v}]
m: {a: 1, b: [x, y], c: {d: e}}
date: \"2021-03-04T09:05:06Z\"
";

/// Chart.yaml and values.yaml, parsed once.
static PARSED: LazyLock<(serde_json::Value, serde_json::Value)> = LazyLock::new(|| {
    (
        berth_template::yaml::parse_values(CHART_YAML).expect("Chart.yaml"),
        berth_template::yaml::parse_values(VALUES_YAML).expect("values.yaml"),
    )
});

fn assert_no_internal_error(what: &str, e: &dyn std::fmt::Display) {
    let text = e.to_string();
    // stack.rs formats a caught panic as "internal error: <message>"; Go's
    // own "internal error: no fields in evalChainNode" and regexp's
    // "regexp/syntax: internal error" are ordinary errors.
    let bad = text.match_indices("internal error").any(|(i, _)| {
        !text[..i].ends_with("regexp/syntax: ")
            && !text[i..].starts_with("internal error: no fields in evalChainNode")
    });
    assert!(!bad, "{what}: {text}");
}

fuzz_target!(|data: &[u8]| {
    let (tpl, vals) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let user = match vals.map(String::from_utf8_lossy) {
        Some(text) => match berth_template::yaml::parse_values(&text) {
            Ok(v) => v,
            Err(e) => {
                assert_no_internal_error("parse_values", &e);
                serde_json::Value::Object(Default::default())
            }
        },
        None => serde_json::Value::Object(Default::default()),
    };
    let chart = Chart {
        metadata: PARSED.0.clone(),
        values: PARSED.1.clone(),
        templates: vec![File {
            name: "templates/t.yaml".into(),
            data: tpl.to_vec().into(),
        }],
        files: vec![File {
            name: "files/a.txt".into(),
            data: b"file a\nline 2\n".to_vec().into(),
        }],
        ..Default::default()
    };
    let mut log = Vec::new();
    let values = match helm::coalesce_values(&chart, &user, &mut log) {
        Ok(v) => v,
        Err(e) => {
            assert_no_internal_error("coalesce_values", &e);
            return;
        }
    };
    let opts = RenderOptions::new(ReleaseOptions {
        name: "rel".into(),
        namespace: "ns".into(),
        revision: 1,
        is_install: true,
        is_upgrade: false,
    });
    let result = helm::render(&chart, &values, &opts);
    if std::env::var_os("BERTH_FUZZ_SHOW").is_some() {
        // For triage: what the input rendered to, or its error.
        match &result {
            Ok(out) => out.iter().for_each(|(k, v)| {
                let end = v.char_indices().nth(2000).map_or(v.len(), |(i, _)| i);
                eprintln!("{k} ({} bytes): {}", v.len(), &v[..end]);
            }),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    if let Err(e) = result {
        assert_no_internal_error("render", &e);
    }
});
