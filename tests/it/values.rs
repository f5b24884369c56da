//! The values flags parse exactly as Helm's strvals does: the expressions
//! in tests/golden/strvals.json, with the values real Helm parsed from each
//! or the error `helm template` prints (tests/golden/regen.py).

use berth::values::ValueOptions;
use serde_json::Value;

/// Numbers compared by value: Helm's JSON output does not say whether it
/// held an int64 or a float64 (berth's own tests check that distinction).
fn numbers_as_f64(v: &Value) -> Value {
    match v {
        Value::Number(n) => serde_json::Number::from_f64(n.as_f64().unwrap_or(f64::NAN))
            .map_or(Value::Null, Value::Number),
        Value::Array(a) => Value::Array(a.iter().map(numbers_as_f64).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn set_flags_parse_as_helms_strvals() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/strvals.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let (flag, expr) = (
            case["flag"].as_str().unwrap(),
            case["expr"].as_str().unwrap(),
        );
        let mut opts = ValueOptions::default();
        let list = match flag {
            "set" => &mut opts.set,
            "set-string" => &mut opts.set_string,
            "set-json" => &mut opts.set_json,
            "set-literal" => &mut opts.set_literal,
            "set-file" => &mut opts.set_file,
            other => panic!("unknown flag {other}"),
        };
        list.push(expr.to_string());
        let got = match opts.merge() {
            Ok(m) => serde_json::json!({ "values": numbers_as_f64(&Value::Object(m)) }),
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        };
        let want = match case["expected"].get("values") {
            Some(v) => serde_json::json!({ "values": numbers_as_f64(v) }),
            None => case["expected"].clone(),
        };
        if got != want {
            failures.push(format!(
                "--{flag} {expr:?}\n  berth: {got}\n  helm:  {want}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Helm passes os.ReadFile's error on as is.
#[test]
fn an_unreadable_values_file_fails_with_gos_words() {
    let opts = ValueOptions {
        value_files: vec!["tests/golden/no-such-values.yaml".into()],
        ..Default::default()
    };
    assert_eq!(
        opts.merge().unwrap_err().to_string(),
        "open tests/golden/no-such-values.yaml: no such file or directory"
    );
}

/// A values file is read as the bytes Helm reads: what its YAML reader
/// refuses is refused in its words (LoadValues', as for a chart's
/// values.yaml) rather than replaced by U+FFFD, and
/// `-f /dev/zero` ends instead of taking the machine's memory.
#[test]
fn a_values_file_helms_reader_refuses_is_refused_and_none_is_read_forever() {
    let dir = tempfile::tempdir().unwrap();
    for (bytes, problem) in [
        (&b"a: \xc3\x28\n"[..], "invalid trailing UTF-8 octet"),
        (&b"a: \x01\n"[..], "control characters are not allowed"),
    ] {
        let file = dir.path().join("bad.yaml");
        std::fs::write(&file, bytes).unwrap();
        let opts = ValueOptions {
            value_files: vec![file.clone()],
            ..Default::default()
        };
        assert_eq!(
            opts.merge().unwrap_err().to_string(),
            format!(
                "failed to parse {}: cannot unmarshal yaml document: error converting YAML to JSON: yaml: {problem}",
                file.display()
            )
        );
    }
    let opts = ValueOptions {
        value_files: vec!["/dev/zero".into()],
        ..Default::default()
    };
    assert_eq!(
        opts.merge().unwrap_err().to_string(),
        "read /dev/zero: more than 256 MiB of values"
    );
}
