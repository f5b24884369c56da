//! `berth template` renders exactly what real Helm renders: golden files in
//! tests/golden/expected come from Helm v4 itself (tests/golden/regen.py,
//! checked against live Helm by scripts/test.sh).

use std::path::PathBuf;

use crate::common::{berth_raw, path};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn template_output_matches_helm_for_every_golden_case() {
    let cases: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/golden/cases.json")).unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let values = dir.path().join(format!("{name}.json"));
        // JSON is YAML: the values reach the chart as Helm's -f would pass them.
        std::fs::write(&values, case["values"].to_string()).unwrap();
        let mut args = vec![
            "template".to_string(),
            case["release"].as_str().unwrap().to_string(),
            path(&root().join(case["chart"].as_str().unwrap())),
            "-n".into(),
            case["namespace"].as_str().unwrap().to_string(),
            "-f".into(),
            path(&values),
        ];
        for (key, flag) in [
            ("no_hooks", "--no-hooks"),
            ("skip_tests", "--skip-tests"),
            ("include_crds", "--include-crds"),
        ] {
            if case[key].as_bool() == Some(true) {
                args.push(flag.into());
            }
        }
        for expr in case["set_literal"].as_array().into_iter().flatten() {
            args.push("--set-literal".into());
            args.push(expr.as_str().unwrap().to_string());
        }
        let out = berth_raw(&args).await;
        // What Helm logged on stderr (coalescing warnings…, and its error
        // when it failed), when anything.
        let want_stderr =
            std::fs::read_to_string(root().join(format!("tests/golden/expected/{name}.stderr")))
                .unwrap_or_default();
        // No manifest: Helm failed.
        let Ok(want) =
            std::fs::read_to_string(root().join(format!("tests/golden/expected/{name}.yaml")))
        else {
            if out.code == 0 || out.stderr != want_stderr {
                failures.push(format!(
                    "{name}: Helm fails; berth exit {}\n  berth: {:?}\n  helm:  {want_stderr:?}",
                    out.code, out.stderr
                ));
            }
            continue;
        };
        if out.code == 0 && out.stderr != want_stderr {
            failures.push(format!(
                "{name}: stderr differs\n  berth: {:?}\n  helm:  {want_stderr:?}",
                out.stderr
            ));
        }
        if out.code != 0 {
            failures.push(format!("{name}: exit {}: {}", out.code, out.stderr));
        } else if out.stdout != want {
            let first = out
                .stdout
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(out.stdout.lines().count().min(want.lines().count()));
            failures.push(format!(
                "{name}: first difference at line {}:\n  berth: {:?}\n  helm:  {:?}",
                first + 1,
                out.stdout.lines().nth(first),
                want.lines().nth(first)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn template_prints_helms_value_warnings_on_stderr_and_still_renders() {
    let chart = path(&root().join("template/tests/golden/charts/conflicts"));
    let out = berth_raw(&[
        "template".into(),
        "c".into(),
        chart,
        "--set".into(),
        "sub.x.a=1".into(),
    ])
    .await
    .ok();
    assert!(out.stdout.contains("name: sub"), "{}", out.stdout);
    let skipped = r#"level=INFO msg="warning: skipped value for conflicts.sub.x: Not a table.""#;
    // Helm coalesces three times for a chart with dependencies; two of the
    // passes see the user's table over the subchart's `x: false`.
    assert_eq!(
        out.stderr.lines().filter(|l| *l == skipped).count(),
        2,
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn template_warns_that_a_chart_is_deprecated_and_warns_before_failing() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("old");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: old\nversion: 1.0.0\ndeprecated: true\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "a:\n  b:\n    c: 1\n").unwrap();
    std::fs::write(chart.join("templates/x.yaml"), "{{ fail \"no\" }}\n").unwrap();
    let out = berth_raw(&[
        "template".into(),
        path(&chart),
        "--set".into(),
        "a.b=1".into(),
    ])
    .await
    .failed();
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines[0], r#"level=WARN msg="this chart is deprecated""#,
        "{}",
        out.stderr
    );
    assert_eq!(
        lines[1],
        r#"level=INFO msg="warning: cannot overwrite table with non table for old.a.b (map[c:1])""#,
        "{}",
        out.stderr
    );
    assert!(lines[2].contains("no"), "{}", out.stderr);
}

#[tokio::test]
async fn template_without_a_name_uses_release_name() {
    let out = berth_raw(&["template".into(), path(&root().join("cli/src/demo/chart"))])
        .await
        .ok();
    assert!(
        out.stdout.contains("name: release-name-hello"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn template_takes_installs_flags_as_helm_template_does() {
    let chart = path(&root().join("cli/src/demo/chart"));
    let run = |extra: &[&str]| {
        let mut args: Vec<String> = vec!["template".into(), "web".into(), chart.clone()];
        args.extend(extra.iter().map(|s| s.to_string()));
        async move { berth_raw(&args).await }
    };
    let plain = run(&[]).await.ok().stdout;
    // What concerns the cluster changes nothing in the output.
    let flags = [
        "--create-namespace",
        "--timeout",
        "2m",
        "--wait",
        "--wait-for-jobs",
        "--atomic",
        "--rollback-on-failure",
        "--description",
        "d",
        "--take-ownership",
        "--force-conflicts",
        "--replace",
        "--skip-crds",
        "--hide-notes",
        "--render-subchart-notes",
        "-l",
        "team=web",
        "--labels",
        "tier=front",
        "--dry-run=client",
    ];
    let out = run(&flags).await.ok();
    assert_eq!(out.stdout, plain);
    // Helm's notices for the flags it deprecates, as Helm prints them.
    assert_eq!(
        out.stderr,
        "Flag --atomic has been deprecated, use --rollback-on-failure instead\n\
         Flag --hide-notes has been deprecated, this flag has no effect for 'berth template' and will be removed in Helm 5\n\
         Flag --render-subchart-notes has been deprecated, this flag has no effect for 'berth template' and will be removed in Helm 5\n"
    );
    // A bare --dry-run is Helm's deprecated spelling of client.
    let out = run(&["--dry-run"]).await.ok();
    assert_eq!(out.stdout, plain);
    assert_eq!(
        out.stderr,
        "level=WARN msg=\"--dry-run is deprecated and should be replaced with '--dry-run=client'\"\n"
    );
    // Refused as Helm refuses them.
    let out = run(&["--dry-run=none"]).await.failed();
    assert_eq!(
        out.stderr,
        "Error: invalid dry-run value (\"none\"). Must be \"server\" or \"client\"\n"
    );
    let out = run(&["-l", "owner=x"]).await.failed();
    assert!(
        out.stderr
            .starts_with("Error: user supplied labels contains system reserved label name."),
        "{}",
        out.stderr
    );
    // A server-side dry run needs an agent (see below).
    let out = run(&["--dry-run=server"]).await.failed();
    assert_eq!(
        out.stderr,
        "Error: no agent given: pass --agent URL or set BERTH_AGENT\n"
    );
}

/// `--dry-run=server` (Helm's deprecated `--validate` too): the agent
/// renders the chart against its cluster (the cluster's capabilities over
/// --kube-version, `lookup` answered), the API server checks every object,
/// and nothing is recorded or applied; the release is printed as a local
/// render is, with --skip-tests, --show-only and --output-dir; with
/// --is-upgrade it renders as an upgrade and takes objects that exist.
#[tokio::test]
async fn template_dry_run_server_renders_against_the_agents_cluster() {
    let env = crate::common::Env::start().await;
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: seen\ndata:\n  \
              kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  \
              ns: {{ dig \"metadata\" \"name\" \"none\" (lookup \"v1\" \"Namespace\" \"\" \"default\") | quote }}\n  \
              upgrade: {{ .Release.IsUpgrade | quote }}\n";
    let test = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: probe\n  annotations:\n    \"helm.sh/hook\": test\n\
                spec:\n  containers:\n    - name: c\n      image: busybox\n";
    let chart = crate::common::write_chart(&env, "seen", &[("cm.yaml", cm), ("test.yaml", test)]);
    let e = &env;
    let template = |extra: &[&str]| {
        let mut args = vec![
            "template",
            "web",
            chart.as_str(),
            "--kube-version",
            "1.20.0",
        ];
        args.extend_from_slice(extra);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        async move {
            e.berth(&args.iter().map(String::as_str).collect::<Vec<_>>())
                .await
        }
    };
    let local = template(&[]).await.ok().stdout;
    assert!(
        local.contains("  kube: \"v1.20.0\"\n  ns: \"none\"\n"),
        "{local}"
    );
    let server = template(&["--dry-run=server"]).await.ok();
    assert!(
        server.stdout.contains("  ns: \"default\"\n"),
        "{}",
        server.stdout
    );
    assert!(!server.stdout.contains("v1.20.0"), "{}", server.stdout);
    assert_eq!(server.stderr, "");
    // Otherwise the same documents, in the same order.
    let ns_line = |text: &str| {
        text.lines()
            .filter(|l| !l.starts_with("  kube: ") && !l.starts_with("  ns: "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(ns_line(&server.stdout), ns_line(&local));
    let validate = template(&["--validate"]).await.ok();
    assert_eq!(validate.stdout, server.stdout);
    assert_eq!(
        validate.stderr,
        "Flag --validate has been deprecated, use '--dry-run=server' instead\n"
    );
    // Nothing recorded, nothing applied.
    let list = env.berth(&["list", "-A", "-o", "json"]).await.ok().json();
    assert_eq!(list, serde_json::json!([]));
    assert!(
        env.get("v1", "ConfigMap", "default", "seen")
            .await
            .is_none()
    );
    // --skip-tests and --show-only, as for a local render.
    let skipped = template(&["--dry-run=server", "--skip-tests"])
        .await
        .ok()
        .stdout;
    assert!(!skipped.contains("name: probe"), "{skipped}");
    assert!(
        server
            .stdout
            .contains("# Source: seen/templates/test.yaml\n")
    );
    let only = template(&["--dry-run=server", "-s", "templates/test.yaml"])
        .await
        .ok()
        .stdout;
    assert!(
        only.starts_with("---\n# Source: seen/templates/test.yaml\n"),
        "{only}"
    );
    assert!(!only.contains("kind: ConfigMap"), "{only}");
    // --output-dir: a file per template.
    let out_dir = env.dir.path().join("out");
    let out_dir = crate::common::path(&out_dir);
    let wrote = template(&["--dry-run=server", "--output-dir", &out_dir])
        .await
        .ok()
        .stdout;
    assert_eq!(
        wrote,
        format!(
            "wrote {out_dir}/seen/templates/cm.yaml\nwrote {out_dir}/seen/templates/test.yaml\n\n"
        )
    );
    let written = std::fs::read_to_string(format!("{out_dir}/seen/templates/cm.yaml")).unwrap();
    assert!(written.contains("  ns: \"default\"\n"), "{written}");
    // A release of that name may exist: a dry run does not check the name.
    env.berth(&["install", "web", &chart]).await.ok();
    template(&["--dry-run=server"]).await.ok();
    // Another release's objects are refused, as an install refuses them;
    // rendered as an upgrade (--is-upgrade) they are not, as in Helm.
    let other = ["template", "other", &chart, "--dry-run=server"];
    let taken = env.berth(&other).await.failed();
    assert!(
        taken.stderr.contains(
            "ConfigMap \"seen\" in namespace \"default\" exists and cannot be imported into the current release"
        ),
        "{}",
        taken.stderr
    );
    let upgrade = env
        .berth(&[&other[..], &["--is-upgrade"]].concat())
        .await
        .ok()
        .stdout;
    assert!(upgrade.contains("  upgrade: \"true\"\n"), "{upgrade}");
    assert!(server.stdout.contains("  upgrade: \"false\"\n"));
    // What the API server refuses is refused, in one line, and not printed.
    let bad = crate::common::write_chart(
        &env,
        "bad",
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata:\n  n: [1]\n",
        )],
    );
    let refused = env
        .berth(&["template", "web", &bad, "--dry-run=server"])
        .await
        .failed();
    assert_eq!(refused.stdout, "");
    assert!(
        refused
            .stderr
            .starts_with("Error: web: DryRunFailed: ConfigMap/bad: ")
            && refused.stderr.lines().count() == 1,
        "{}",
        refused.stderr
    );
    // Helm's flag group: not both.
    let both = template(&["--validate", "--dry-run=server"]).await.failed();
    assert!(
        both.stderr.ends_with(
            "Error: if any flags in the group [validate dry-run] are set none of the others can be; [dry-run validate] were all set\n"
        ),
        "{}",
        both.stderr
    );
}

#[tokio::test]
async fn debug_prints_what_rendered_when_it_is_not_yaml_as_helm_does() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("dbg");
    crate::common::write_file(
        &chart.join("Chart.yaml"),
        "apiVersion: v2\nname: dbg\nversion: 1.0.0\n",
    );
    crate::common::write_file(&chart.join("templates/a.yaml"), "kind: ConfigMap\n");
    crate::common::write_file(&chart.join("templates/b.yaml"), "data: [{{ .Values.x }}\n");
    crate::common::write_file(&chart.join("templates/NOTES.txt"), "notes\n");
    let chart = path(&chart);
    let error = "Error: YAML parse error on dbg/templates/b.yaml: error converting YAML to JSON: yaml: line 1: did not find expected node content";
    let out = berth_raw(&["template".into(), "x".into(), chart.clone()])
        .await
        .failed();
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, format!("{error}\n"));
    // Helm's renderResources hands back every rendered file (not the notes).
    let out = berth_raw(&["template".into(), "x".into(), chart, "--debug".into()])
        .await
        .failed();
    assert_eq!(
        out.stdout,
        "---\n# Source: dbg/templates/a.yaml\nkind: ConfigMap\n\n---\n# Source: dbg/templates/b.yaml\ndata: [\n"
    );
    assert_eq!(out.stderr, format!("{error}\n"));
}

#[tokio::test]
async fn template_refuses_a_missing_chart_in_one_line() {
    let out = berth_raw(&["template".into(), "x".into(), "/nonexistent/chart".into()])
        .await
        .failed();
    assert!(out.stderr.contains("/nonexistent/chart"), "{}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1);
}

fn withcrds() -> String {
    path(&root().join("tests/golden/charts/withcrds"))
}

fn golden(name: &str) -> String {
    std::fs::read_to_string(root().join(format!("tests/golden/expected/{name}.yaml"))).unwrap()
}

#[tokio::test]
async fn show_only_prints_the_documents_of_the_named_templates() {
    // Helm (v4.2.3) re-splits its output and prints each selected document
    // as `---\n<document>\n`. The separator swallows the blank line after
    // the ConfigMap; the stream's last document keeps its own newline.
    let out = berth_raw(&[
        "template".into(),
        "w".into(),
        withcrds(),
        "--skip-tests".into(),
        "-s".into(),
        "templates/widget.yaml".into(),
    ])
    .await
    .ok();
    let want = "---\n# Source: withcrds/templates/widget.yaml\n\
                apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: w-config\n\
                data:\n  color: \"blue\"\n\
                ---\n# Source: withcrds/templates/widget.yaml\n\
                apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w-widget\n\
                spec:\n  color: blue\n  size: 3\n\n";
    assert_eq!(out.stdout, want);

    let glob = berth_raw(&[
        "template".into(),
        "w".into(),
        withcrds(),
        "-s".into(),
        "templates/tests/*".into(),
    ])
    .await
    .ok();
    assert!(
        glob.stdout
            .starts_with("---\n# Source: withcrds/templates/tests/test-widget.yaml\n")
    );
    assert_eq!(glob.stdout.matches("# Source:").count(), 1);

    let missing = berth_raw(&[
        "template".into(),
        "w".into(),
        withcrds(),
        "-s".into(),
        "templates/nope.yaml".into(),
    ])
    .await
    .failed();
    assert_eq!(
        missing.stderr.trim(),
        "Error: could not find template templates/nope.yaml in chart"
    );
}

#[tokio::test]
async fn output_dir_writes_one_file_per_template_like_helm() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = berth_raw(&[
        "template".into(),
        "w".into(),
        withcrds(),
        "--include-crds".into(),
        "--output-dir".into(),
        path(&out_dir),
    ])
    .await
    .ok();
    let base = path(&out_dir);
    assert_eq!(
        out.stdout,
        format!(
            "wrote {base}/withcrds/crds/widgets.example.com.yaml\n\
             wrote {base}/withcrds/templates/widget.yaml\n\
             wrote {base}/withcrds/templates/widget.yaml\n\
             wrote {base}/withcrds/templates/tests/test-widget.yaml\n\n"
        )
    );
    // The same documents as the stream, grouped by template file.
    let stream = golden("withcrds-include-crds");
    let widget = std::fs::read_to_string(out_dir.join("withcrds/templates/widget.yaml")).unwrap();
    let crd =
        std::fs::read_to_string(out_dir.join("withcrds/crds/widgets.example.com.yaml")).unwrap();
    assert!(stream.starts_with(crd.trim_end()), "{crd}");
    assert!(stream.contains(widget.trim_end()), "{widget}");
    // Each document as Helm sorted it, untouched by a re-split: the
    // ConfigMap ended its template file, so its newline stays.
    assert!(widget.contains("color: \"blue\"\n\n---\n"), "{widget}");
    assert_eq!(
        widget
            .matches("---\n# Source: withcrds/templates/widget.yaml\n")
            .count(),
        2
    );
    let test =
        std::fs::read_to_string(out_dir.join("withcrds/templates/tests/test-widget.yaml")).unwrap();
    assert!(test.contains("\"helm.sh/hook\": test"));
}

#[tokio::test]
async fn template_names_the_release_as_helm_template_does() {
    let chart = path(&root().join("cli/src/demo/chart"));
    let named = berth_raw(&[
        "template".into(),
        "--name-template".into(),
        r#"{{ "Web" | lower }}-{{ add 1 2 }}"#.into(),
        chart.clone(),
    ])
    .await
    .ok();
    assert!(
        named.stdout.contains("name: web-3-hello"),
        "{}",
        named.stdout
    );
    // `helm template` presets "release-name", so -g generates nothing…
    let generated = berth_raw(&["template".into(), "-g".into(), chart.clone()])
        .await
        .ok();
    assert!(
        generated.stdout.contains("name: release-name-hello"),
        "{}",
        generated.stdout
    );
    // …and a NAME conflicts with either flag.
    let both = berth_raw(&["template".into(), "web".into(), chart.clone(), "-g".into()])
        .await
        .failed();
    assert_eq!(
        both.stderr.trim(),
        "Error: cannot set --generate-name and also specify a name"
    );
    // More than NAME and CHART, in Helm's NameAndChart's words (install too).
    for verb in ["template", "install"] {
        let extra = berth_raw(&[
            verb.into(),
            "web".into(),
            chart.clone(),
            "a".into(),
            "b".into(),
        ])
        .await
        .failed();
        assert_eq!(
            extra.stderr,
            "Error: expected at most two arguments, unexpected arguments: a, b\n"
        );
    }
}

#[tokio::test]
async fn skip_schema_validation_renders_values_the_schema_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("strict");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: strict\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("values.schema.json"),
        r#"{"properties": {"replicas": {"type": "integer"}}}"#,
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "r: {{ .Values.replicas }}\n",
    )
    .unwrap();
    let args = |extra: &[&str]| {
        let mut a = vec![
            "template".to_string(),
            path(&chart),
            "--set".into(),
            "replicas=many".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let refused = berth_raw(&args(&[])).await.failed();
    assert!(
        refused
            .stderr
            .contains("values don't meet the specifications"),
        "{}",
        refused.stderr
    );
    let rendered = berth_raw(&args(&["--skip-schema-validation"])).await.ok();
    assert!(rendered.stdout.contains("r: many"), "{}", rendered.stdout);
}

/// pkg/cmd/install.go's CheckDependencies text (helm-python-sdk words this
/// one differently, so it has no golden file).
#[tokio::test]
async fn template_refuses_a_chart_whose_dependencies_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("needy");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: needy\nversion: 1.0.0\ndependencies:\n- name: db\n  version: 1.0.0\n- name: cache\n  version: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
    let out = berth_raw(&["template".into(), path(&chart)]).await.failed();
    assert_eq!(
        out.stderr.trim(),
        "Error: an error occurred while checking for chart dependencies. You may need to run \
         'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but missing \
         in charts/ directory: db, cache"
    );
}

/// What real Helm renders for `template` (helm-python-sdk), by file.
async fn helm_rendered(chart: &str) -> serde_json::Value {
    let script = "import json,sys\nfrom helm_python import Chart\ntry:\n    print(json.dumps(Chart.load(sys.argv[1]).render(name='x')))\nexcept Exception as e:\n    print(json.dumps({'error': str(e)}))";
    serde_json::from_slice(&crate::common::real_helm(script, &[chart]).await).unwrap()
}

#[tokio::test]
async fn go_1_26_urls_and_yaml_control_characters_render_as_helm_renders_them() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("u");
    crate::common::write_file(
        &chart.join("Chart.yaml"),
        "apiVersion: v2\nname: u\nversion: 1.0.0\n",
    );
    // Sprig's urlParse stands on Go 1.26's net/url, as Helm's build does:
    // only http and https take the port from the first colon.
    let urls = [
        "ftp://a:1:2/",
        "postgres://h1:5432,h2:5432/db",
        "mongodb://u:p@h1:1,h2:2/x?y=1#f",
    ];
    let mut t = String::from("kind: ConfigMap\ndata:\n");
    for (i, u) in urls.iter().enumerate() {
        t.push_str(&format!(
            "  u{i}: {{{{ urlParse {u:?} | toJson | quote }}}}\n"
        ));
    }
    crate::common::write_file(&chart.join("templates/cm.yaml"), &t);
    let p = path(&chart);
    let helm = helm_rendered(&p).await;
    let out = berth_raw(&[
        "template".into(),
        "x".into(),
        p.clone(),
        "--show-only".into(),
        "templates/cm.yaml".into(),
    ])
    .await
    .ok();
    let want = helm["u/templates/cm.yaml"].as_str().unwrap();
    assert!(
        out.stdout.trim_end().ends_with(want.trim_end()),
        "berth:\n{}\nhelm:\n{want}",
        out.stdout
    );

    // A control character in values.yaml: go-yaml's reader refuses it
    // before parsing, and berth says what Helm says.
    crate::common::write_file(&chart.join("values.yaml"), "a: \u{7}\n");
    let helm = helm_rendered(&p).await;
    let out = berth_raw(&["template".into(), "x".into(), p])
        .await
        .failed();
    assert!(
        helm["error"]
            .as_str()
            .unwrap()
            .contains("yaml: control characters are not allowed"),
        "{helm}"
    );
    assert_eq!(
        out.stderr,
        "Error: cannot load values.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: control characters are not allowed\n"
    );
}

/// A chart with a Secret, a ConfigMap and a Secret hook.
fn secret_chart(dir: &std::path::Path) -> String {
    crate::common::small_chart(
        dir,
        "vault",
        &[
            (
                "a.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: hunter2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n",
            ),
            (
                "hook.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\n  annotations:\n    helm.sh/hook: pre-install\nstringData:\n  token: t0\n",
            ),
        ],
    )
}

#[tokio::test]
async fn hide_secret_suppresses_secrets_as_helm_does() {
    let dir = tempfile::tempdir().unwrap();
    let chart = secret_chart(dir.path());
    // As Helm's renderResources writes a hidden Secret; hooks are printed
    // as rendered (Helm hides only the release's manifests).
    let out = berth_raw(&[
        "template".into(),
        "r".into(),
        chart.clone(),
        "--hide-secret".into(),
    ])
    .await
    .ok();
    assert_eq!(
        out.stdout,
        "---\n# Source: vault/templates/a.yaml\n# HIDDEN: The Secret output has been suppressed\n\
         ---\n# Source: vault/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n\
         ---\n# Source: vault/templates/hook.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\n  annotations:\n    helm.sh/hook: pre-install\nstringData:\n  token: t0\n\n"
    );
    // --output-dir writes what rendered, as Helm's does.
    let out_dir = dir.path().join("out");
    berth_raw(&[
        "template".into(),
        "r".into(),
        chart.clone(),
        "--hide-secret".into(),
        "--output-dir".into(),
        path(&out_dir),
    ])
    .await
    .ok();
    let written = std::fs::read_to_string(out_dir.join("vault/templates/a.yaml")).unwrap();
    assert!(written.contains("hunter2"), "{written}");

    // install and upgrade take it with a dry run only, whose rendered
    // release shows the Secrets as Helm's does.
    let env = crate::common::Env::start().await;
    let out = env
        .berth(&["install", "r", &chart, "--hide-secret"])
        .await
        .failed();
    assert_eq!(
        out.stderr,
        "Error: hiding Kubernetes secrets requires a dry-run mode\n"
    );
    let out = env
        .berth(&["install", "r", &chart, "--hide-secret", "--dry-run"])
        .await
        .ok();
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"));
    assert!(
        out.stdout.contains(
            "MANIFEST:\n---\n# Source: vault/templates/a.yaml\n# HIDDEN: The Secret output has been suppressed\n\
             ---\n# Source: vault/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\n"
        ),
        "{}",
        out.stdout
    );
    let out = env
        .berth(&["upgrade", "r", &chart, "--install", "--hide-secret"])
        .await
        .failed();
    assert_eq!(
        out.stderr,
        "Error: hiding Kubernetes secrets requires a dry-run mode\n"
    );
    // Nothing was installed.
    let out = env.berth(&["list", "-q"]).await.ok();
    assert_eq!(out.stdout, "");
}

#[tokio::test]
async fn enable_dns_lets_get_host_by_name_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let chart = crate::common::small_chart(
        dir.path(),
        "dns",
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dns\ndata:\n  ip: \"{{ getHostByName .Values.host }}\"\n",
        )],
    );
    let template = |extra: &[&str]| {
        let mut args = vec!["template".to_string(), "r".into(), chart.clone()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    // Helm's stub without the flag; the lookup with it.
    let out = berth_raw(&template(&["--set", "host=127.0.0.1"]))
        .await
        .ok();
    assert!(out.stdout.contains("ip: \"\"\n"), "{}", out.stdout);
    let out = berth_raw(&template(&["--set", "host=127.0.0.1", "--enable-dns"]))
        .await
        .ok();
    assert!(out.stdout.contains("ip: \"127.0.0.1\"\n"), "{}", out.stdout);
    // A name without addresses fails as Sprig's function does in Helm.
    let out = berth_raw(&template(&[
        "--set",
        "host=nothing.invalid",
        "--enable-dns",
    ]))
    .await
    .failed();
    assert_eq!(
        out.stderr,
        "Error: template: dns/templates/cm.yaml:6:10: executing \"dns/templates/cm.yaml\" at <getHostByName .Values.host>: error calling getHostByName: invalid argument to Intn\n"
    );

    // install and upgrade: berthd resolves, in the cluster.
    let env = crate::common::Env::start().await;
    env.berth(&[
        "install",
        "r",
        &chart,
        "--set",
        "host=127.0.0.1",
        "--enable-dns",
    ])
    .await
    .ok();
    let manifest = env.berth(&["get", "manifest", "r"]).await.ok();
    assert!(
        manifest.stdout.contains("ip: \"127.0.0.1\"\n"),
        "{}",
        manifest.stdout
    );
    env.berth(&["upgrade", "r", &chart, "--set", "host=127.0.0.1"])
        .await
        .ok();
    let manifest = env.berth(&["get", "manifest", "r"]).await.ok();
    assert!(
        manifest.stdout.contains("ip: \"\"\n"),
        "{}",
        manifest.stdout
    );
}

#[tokio::test]
async fn installs_refuse_fields_the_api_does_not_know_unless_validation_is_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let chart = crate::common::small_chart(
        dir.path(),
        "typo",
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndatta:\n  a: b\n",
        )],
    );
    let env = crate::common::Env::start().await;
    // As Helm v4 (fieldValidation=Strict): the misspelt field is an error,
    // not silently dropped.
    let out = env.berth(&["install", "t", &chart]).await.failed();
    assert!(
        out.stderr
            .contains("strict decoding error: unknown field \"datta\""),
        "{}",
        out.stderr
    );
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(env.kube().await, "default");
    assert!(cms.get_opt("typo").await.unwrap().is_none());
    // A dry run sends every object as a server dry run (Helm's
    // --dry-run=server), so it meets the same refusal and records nothing.
    let out = env
        .berth(&["install", "t2", &chart, "--dry-run"])
        .await
        .failed();
    assert!(
        out.stderr.contains("unknown field \"datta\""),
        "{}",
        out.stderr
    );
    let out = env.berth(&["history", "t2"]).await.failed();
    assert!(out.stderr.contains("not found"), "{}", out.stderr);
    // What `berth diff upgrade` shows is what the upgrade would meet.
    let out = env
        .berth(&["diff", "upgrade", "t", &chart, "--install"])
        .await
        .failed();
    assert!(
        out.stderr.contains("unknown field \"datta\""),
        "{}",
        out.stderr
    );
    // --disable-openapi-validation: Ignore, the field is dropped.
    env.berth(&[
        "upgrade",
        "t",
        &chart,
        "--install",
        "--disable-openapi-validation",
    ])
    .await
    .ok();
    let cm = cms.get("typo").await.unwrap();
    assert!(cm.data.is_none(), "{cm:?}");

    // Hooks are created validated, as Helm builds them, whatever the flag.
    let hooked = crate::common::small_chart(
        dir.path(),
        "hooked",
        &[(
            "hook.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hook\n  annotations:\n    helm.sh/hook: pre-install\ndatta:\n  a: b\n",
        )],
    );
    let out = env
        .berth(&["install", "h", &hooked, "--disable-openapi-validation"])
        .await
        .failed();
    assert!(
        out.stderr.contains("unknown field \"datta\""),
        "{}",
        out.stderr
    );
}

/// Go's `time.Local` takes its name from `$TZ` (the zone's name, "UTC"
/// when unset-but-empty or unreadable, "Local" for /etc/localtime): a
/// template printing `now.Location` and a date in Local shows what Helm
/// shows under the same `$TZ`.
#[tokio::test]
async fn the_local_zone_is_named_as_go_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = r#"kind: ConfigMap
data:
  zone: {{ printf "%s %s" now.Location (toDate "2006-01-02" "2020-06-01" | date "MST -0700") | quote }}
"#;
    let chart = crate::common::small_chart(dir.path(), "zones", &[("cm.yaml", t)]);
    let script = "import os,sys\nos.environ['TZ']=sys.argv[2]\nfrom helm_python import Chart\nprint(Chart.load(sys.argv[1]).render(name='x')['zones/templates/cm.yaml'], end='')";
    for tz in ["Asia/Kolkata", "", "No/Such_Zone"] {
        let helm = crate::common::real_helm(script, &[&chart, tz]).await;
        let helm = String::from_utf8_lossy(&helm);
        let (ok, berth, err) = crate::repos::berth_process(
            &["template", "x", &chart],
            &[("TZ", std::path::Path::new(tz))],
        )
        .await;
        assert!(ok, "{err}");
        assert!(
            berth.contains(helm.trim()),
            "TZ={tz}\nberth:\n{berth}\nhelm:\n{helm}"
        );
    }
}

/// A template that does arithmetic on times: `Sub` gives a time.Duration,
/// `Location` and `In` move between zones. Installed through berthd, the
/// stored manifest is what Helm renders; a template that hands `In` no
/// location is refused in Go's words and records nothing.
#[tokio::test]
async fn time_arithmetic_installs_as_helm_renders_it() {
    let env = crate::common::Env::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cm = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: times
data:
{{- $a := toDate "2006-01-02 15:04:05" "2020-01-02 03:04:05" }}
{{- $b := toDate "2006-01-02T15:04:05Z07:00" "2020-01-01T00:00:00+02:00" }}
{{- $d := $a.Sub $b }}
  since: {{ $d | quote }}
  hours: {{ $d.Hours | quote }}
  rounded: {{ $d.Round 3600000000000 | quote }}
  json: {{ toJson (dict "d" $d) | quote }}
  zones: {{ printf "%s|%s|%s" $a.Location $b.Location $b.UTC.Location | quote }}
  moved: {{ $a.In $b.Location | quote }}
  later: {{ $b.Add $d | quote }}
"#;
    let chart = crate::common::small_chart(dir.path(), "clock", &[("cm.yaml", cm)]);
    let helm = helm_rendered(&chart).await;
    let want = helm["clock/templates/cm.yaml"]
        .as_str()
        .expect("Helm renders it");
    assert!(want.contains("since: \"29h4m5s\""), "{want}");

    env.berth(&["install", "clock", &chart]).await.ok();
    let manifest = env.berth(&["get", "manifest", "clock"]).await.ok().stdout;
    assert!(
        manifest.contains(want.trim()),
        "berth:\n{manifest}\nhelm:\n{want}"
    );

    // `In nil`: Go's error, one line naming the template; nothing recorded.
    let bad = crate::common::small_chart(
        dir.path(),
        "badclock",
        &[(
            "cm.yaml",
            "kind: ConfigMap\ndata:\n  t: {{ (toDate \"2006\" \"2020\").In nil | quote }}\n",
        )],
    );
    let out = env.berth(&["install", "badclock", &bad]).await.failed();
    assert!(
        out.stderr
            .contains("error calling In: time: missing Location in call to Time.In"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    let list = env.berth(&["list", "-a"]).await.ok().stdout;
    assert!(!list.contains("badclock"), "{list}");
}
