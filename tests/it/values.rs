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

/// Values nest as deep as a values file may (1000 levels, the YAML
/// reader's limit): such values install, read back and are reused by an
/// upgrade (berthd read at most 128 levels of JSON); deeper ones, which
/// only --set-json can give, are refused in one line by the CLI, which no
/// longer overflows its stack on them.
#[tokio::test]
async fn values_nest_as_deep_as_a_values_file_may() {
    let env = crate::common::Env::start().await;
    let dir = tempfile::tempdir().unwrap();
    let chart = crate::common::small_chart(
        dir.path(),
        "deep",
        &[(
            "cm.yaml",
            "kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: deep\ndata:\n  n: {{ len (toJson .Values) | quote }}\n",
        )],
    );
    // 999 maps in the file, 1000 with the top one.
    let mut file = String::new();
    for i in 0..998 {
        file.push_str(&format!("{}a:\n", " ".repeat(i)));
    }
    file.push_str(&format!("{}b: 1\n", " ".repeat(998)));
    let values = dir.path().join("deep.yaml");
    std::fs::write(&values, file).unwrap();
    let berth = async |args: &[&str]| env.berth_process(args, &[]).await;
    let (ok, _, err) = berth(&[
        "install",
        "deep",
        &chart,
        "-f",
        &crate::common::path(&values),
    ])
    .await;
    assert!(ok, "{err}");
    let (ok, out, err) = berth(&["get", "values", "deep", "-o", "json"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.matches("{\"a\":").count(), 998, "{out}");
    let (ok, _, err) = berth(&["upgrade", "deep", &chart, "--reuse-values", "--set", "c=2"]).await;
    assert!(ok, "{err}");
    let (ok, out, err) = berth(&["get", "values", "deep", "-o", "json"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("\"b\":1") && out.contains("\"c\":2"), "{out}");

    let deeper = format!("x={}1{}", "{\"a\":".repeat(5000), "}".repeat(5000));
    let (ok, _, err) = berth(&["upgrade", "deep", &chart, "--set-json", &deeper]).await;
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "Error: --set-json, at byte 5002: values nest more than 1000 levels deep"
    );
    let history = env.berth(&["history", "deep"]).await.ok().stdout;
    assert_eq!(history.lines().count(), 3, "{history}");
}
