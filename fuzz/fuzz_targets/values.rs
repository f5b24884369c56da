//! The values pipeline of an install (src/values.rs, src/chart.rs,
//! src/render.rs and berth-template's helm::{process_dependencies,
//! coalesce_values, validate_values}): whatever the user's values file, the
//! chart's values.yaml and its values.schema.json hold, they are refused
//! with an error or coalesced, checked and written out, never panicking.
//!
//! The input is three parts separated by NUL bytes: the user's values file
//! (YAML, as `-f` gives it), the chart's values.yaml, and its
//! values.schema.json (none when there is no second NUL). The user's values
//! go the way the CLI and berthd take them: read as a Go string, parsed
//! into a map (`parse_yaml_map`, merged as `-f` files are), sent as JSON
//! and read back as berthd reads a request. The chart is loaded by
//! `chart::build` from its files: `mychart`, with the fuzzed values.yaml
//! and schema, and a subchart `sub` (also under the alias `other`) that
//! gets the same schema, so that conditions, tags, import-values, globals
//! and per-chart validation see the values. Then, as `render::render`
//! does: process_dependencies → coalesce_values → validate_values; the
//! coalesced values are written as `toYaml`, `toYamlPretty`, `toJson`, the
//! `helm get values` YAML and the JSON a revision records.
//!
//! A caught panic is an error starting with "internal error"
//! (template/src/stack.rs); libfuzzer-sys's panic hook aborts first, and the
//! assertions below catch one that got past it; the user's file, when it
//! does not parse, gets a one-line error. With BERTH_FUZZ_SHOW set,
//! replaying an input prints each step's result.

#![no_main]

use berth::chart::{BufferedFile, Limits, build};
use berth_template::helm;
use berth_template::value::gostr;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const CHART_YAML: &str = "\
apiVersion: v2
name: mychart
version: 0.1.0
dependencies:
  - name: sub
    version: 0.1.0
    condition: sub.enabled
    tags: [front]
    import-values:
      - data
      - child: exports.data
        parent: imported
  - name: sub
    alias: other
    version: \">=0.1.0\"
    condition: other.on,sub.enabled
    tags: [back, front]
";

const SUB_CHART_YAML: &str = "apiVersion: v2\nname: sub\nversion: 0.1.0\n";

const SUB_VALUES_YAML: &str = "\
enabled: true
num: 1
l: [a, 1]
m: {a: {b: c}}
global: {g: 1, t: {u: v}}
exports:
  data: {x: 1, z: [1, 2]}
";

fn show(what: &str, v: &dyn std::fmt::Debug) {
    if std::env::var_os("BERTH_FUZZ_SHOW").is_some() {
        eprintln!("{what}: {v:?}");
    }
}

fn assert_no_internal_error(what: &str, e: &dyn std::fmt::Display) {
    let text = e.to_string();
    show(what, &text);
    assert!(!text.contains("internal error"), "{what}: {text}");
}

fn file(name: &str, data: &[u8]) -> BufferedFile {
    BufferedFile {
        name: name.into(),
        data: data.to_vec().into(),
    }
}

/// The user's values as the CLI reads a `-f` file and berthd takes them
/// off the wire, or `None` where either refuses them.
fn user_values(bytes: &[u8]) -> Option<Value> {
    let text = gostr::from_bytes(bytes);
    if gostr::yaml_reader_error(&text).is_some() {
        return None;
    }
    let map = match berth::values::parse_yaml_map(&text) {
        Ok(m) => m,
        Err(e) => {
            assert_no_internal_error("user values", &e);
            // go-yaml's "cannot decode !!str `…` as a !!int" quotes the
            // user's text as it is, line breaks and all, as Helm prints it.
            assert!(
                !e.contains('\n') || e.contains("cannot decode !!"),
                "user values: a multi-line error: {e}"
            );
            return None;
        }
    };
    let map = berth::values::merge_maps(Map::new(), map);
    let json = serde_json::to_string(&Value::Object(map)).expect("values as JSON");
    // berthd (agent/src/ops/upgrade.rs, prepare).
    let values = berth::values::from_json(&json).ok()?;
    values.is_object().then_some(values)
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let user = parts.next().unwrap_or_default();
    let chart_values = parts.next().unwrap_or_default();
    let schema = parts.next();

    let Some(user) = user_values(user) else {
        return;
    };
    show("user values", &user);

    let mut files = vec![
        file("Chart.yaml", CHART_YAML.as_bytes()),
        file("values.yaml", chart_values),
        file("charts/sub/Chart.yaml", SUB_CHART_YAML.as_bytes()),
        file("charts/sub/values.yaml", SUB_VALUES_YAML.as_bytes()),
    ];
    if let Some(schema) = schema {
        files.push(file("values.schema.json", schema));
        files.push(file("charts/sub/values.schema.json", schema));
    }
    let loaded = match build(&files, &Limits::default()) {
        Ok(l) => l,
        Err(e) => {
            assert_no_internal_error("chart", &e);
            return;
        }
    };
    // What `helm lint` checks: values.yaml alone against the schema.
    if let Some(schema) = schema
        && let Err(e) =
            helm::validate_single_schema(&loaded.chart.values, schema, &Default::default())
    {
        assert_no_internal_error("lint schema", &e);
    }

    let mut log = Vec::new();
    let chart = match helm::process_dependencies(&loaded.chart, &user, &mut log) {
        Ok(c) => c,
        Err(e) => {
            assert_no_internal_error("process_dependencies", &e);
            return;
        }
    };
    let values = match helm::coalesce_values(&chart, &user, &mut log) {
        Ok(v) => v,
        Err(e) => {
            assert_no_internal_error("coalesce_values", &e);
            return;
        }
    };
    show(
        "warnings",
        &log.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
    );
    show("coalesced", &values);
    match helm::validate_values(&chart, &values) {
        Ok(()) => show("schema", &"ok"),
        Err(e) => assert_no_internal_error("validate_values", &e),
    }

    // `toYaml`, `toYamlPretty` and `toJson` of `.Values`, `helm get values
    // --all`, and the JSON a revision records.
    let yaml = berth_template::yaml::to_yaml(&values);
    show("toYaml", &yaml);
    let tv = berth_template::value::json::from_json(&values);
    if let Err(e) = berth_template::yaml::to_yaml_pretty_value(&tv) {
        assert_no_internal_error("toYamlPretty", &e);
    }
    if let Err(e) = berth_template::json::marshal(&tv) {
        assert_no_internal_error("toJson", &e);
    }
    let _ = berth_template::yaml::marshal(&values);
    let _ = serde_json::to_string(&values).expect("computed values as JSON");
});
