//! `berth lint` reports what real Helm's `lint` reports, finding for
//! finding and byte for byte: charts that break each of Helm's rules
//! (Chart.yaml, values.yaml and its schema, rendered templates, deprecated
//! APIs, dependencies, crds/) are linted by both, with Helm's default
//! options and with `--strict`, a namespace, a Kubernetes version and
//! `--set`; and the command's own behaviour (archives, several paths,
//! `--quiet`, `--with-subcharts`, what it refuses) is Helm's.

use std::path::Path;

use serde_json::Value;

use crate::common::{path, real_helm, write_file};
use crate::repos::berth_process;

const CHART: &str = "apiVersion: v2\nname: NAME\nversion: 1.0.0\nicon: https://example.com/i.png\n";
const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";
const LIST: &str = "apiVersion: v1\nkind: List\nmetadata:\n  name: l\n";

/// A chart per case: its directory name and files (`NAME` in Chart.yaml
/// becomes the directory name).
fn cases() -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let chart = |extra: &str| (("Chart.yaml"), format!("{CHART}{extra}"));
    let t = |name: &'static str, text: &str| (name, text.to_string());
    vec![
        (
            "clean",
            vec![
                chart(""),
                t("values.yaml", "a: 1\n"),
                t("templates/cm.yaml", CM),
            ],
        ),
        (
            "chartfile",
            vec![
                t(
                    "Chart.yaml",
                    "apiVersion: v1\nname: chartfile\nversion: 1.0\nappVersion: true\ntype: application\nunknown: x\nmaintainers:\n- name: ops\n  name: dev\n",
                ),
                t("templates/cm.yaml", CM),
            ],
        ),
        (
            "versions",
            vec![t(
                "Chart.yaml",
                "apiVersion: v3\nname: a/versions\nversion: v1.2\n",
            )],
        ),
        (
            "maintainers",
            vec![chart(
                "maintainers:\n- email: ops@example.com\nsources:\n- example.com/src\n",
            )],
        ),
        (
            "values",
            vec![
                chart(""),
                t("values.yaml", "port: \"80\"\n"),
                t(
                    "values.schema.json",
                    r#"{"type": "object", "required": ["name"], "properties": {"port": {"type": "integer"}}}"#,
                ),
                t("templates/cm.yaml", CM),
            ],
        ),
        // The user's null (`--set image=null`) removes what values.yaml
        // sets before the schema sees it (found by difftest, lint, seed
        // 1211761). One error at most per report: Helm lists the errors
        // of `additionalProperties` in Go's map order, which varies.
        (
            "values-null",
            vec![
                chart(""),
                t("values.yaml", "image: x=1\nnested:\n  a: 1\n"),
                t(
                    "values.schema.json",
                    r#"{"additionalProperties": {"type": "string"}, "properties": {"port": {"type": "integer"}, "nested": {"type": "object", "additionalProperties": {"type": "string"}}}}"#,
                ),
                t("templates/cm.yaml", CM),
            ],
        ),
        // The values rule merges values.yaml into the user's own tables,
        // which the template rule then gets: the user's `tags.back=null`
        // is gone from them, so values.yaml's `back: false` comes back
        // when the rule coalesces and turns the failing subchart off
        // (found by difftest, lint, seed 1220072, where the subchart's
        // null values then met import-values' merge).
        (
            "values-null-tag",
            vec![
                chart("dependencies:\n- name: sub\n  version: 0.1.0\n  tags: [back]\n"),
                t("values.yaml", "tags:\n  back: false\n"),
                t("templates/cm.yaml", CM),
                t(
                    "charts/sub/Chart.yaml",
                    "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
                ),
                t("charts/sub/templates/bad.yaml", "a: {{ upper 1 }}\n"),
            ],
        ),
        ("values-scalar", vec![chart(""), t("values.yaml", "- a\n")]),
        (
            "templates",
            vec![
                chart(""),
                t(
                    "templates/deploy.yaml",
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\napiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: {{ .Release.Name }}-{{ .Release.Namespace }}-{{ .Capabilities.KubeVersion.Minor }}\n",
                ),
                t(
                    "templates/list.yaml",
                    "apiVersion: v1\nkind: List\nitems:\n- metadata:\n    annotations:\n      helm.sh/resource-policy: keep\n",
                ),
                t("templates/indent.yaml", "\n  kind: ConfigMap\n"),
                t("templates/data.json", "{}"),
                t(
                    "templates/required.yaml",
                    "{{ fail \"not while linting\" }}\nkind: Secret\nmetadata:\n  name: {{ required \"x is required\" .Values.x | default \"s\" }}\n",
                ),
                t(
                    "templates/stream.yaml",
                    "{\"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\"}}\n{\"kind\": \"Secret\", \"metadata\": {\"name\": \"b\"}}\n",
                ),
            ],
        ),
        (
            "broken-yaml",
            vec![
                chart(""),
                t("templates/cm.yaml", &format!("{CM}---\nkind: [\n")),
            ],
        ),
        (
            "broken-separator",
            vec![
                chart(""),
                t("templates/cm.yaml", &format!("{CM}--- oops\n")),
            ],
        ),
        (
            "broken-json",
            vec![chart(""), t("templates/cm.yaml", "{ {- .Release.Name }}\n")],
        ),
        (
            "render-error",
            vec![chart(""), t("templates/cm.yaml", "{{ .Values.a.b.c }}\n")],
        ),
        (
            "dependencies",
            vec![
                chart(
                    "dependencies:\n- name: sub\n  version: 1.0.0\n- name: gone\n  version: 1.0.0\n",
                ),
                t("templates/cm.yaml", CM),
                t(
                    "charts/sub/Chart.yaml",
                    "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
                ),
                t("charts/sub/crds/b.yaml", "apiVersion: v1\nkind: Foo\n"),
                t(
                    "charts/extra/Chart.yaml",
                    "apiVersion: v2\nname: extra\nversion: 1.0.0\n",
                ),
                t(
                    "crds/a.yaml",
                    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\n",
                ),
            ],
        ),
        (
            "unloadable",
            vec![
                chart("type: plugin\n"),
                t("templates/cm.yaml", CM),
                t("crds/x.yaml", "kind: CustomResourceDefinition\n"),
            ],
        ),
        // Found by difftest (lint): the loader's version check is
        // Masterminds' NewVersion; a schema is read by Go's json.Decoder
        // (EOF, unexpected EOF); core/v1 kinds deprecated by hand.
        (
            "prerelease",
            vec![
                t(
                    "Chart.yaml",
                    "apiVersion: v2\nname: prerelease\nversion: 1.2.3-\n",
                ),
                t("templates/cm.yaml", CM),
            ],
        ),
        (
            "schema-empty",
            vec![
                chart(""),
                t("values.schema.json", ""),
                t("templates/cm.yaml", CM),
            ],
        ),
        (
            "schema-cut",
            vec![
                chart(""),
                t("values.yaml", "a: 1\n"),
                t("values.schema.json", "{\"type\": "),
                t("templates/cm.yaml", CM),
            ],
        ),
        (
            "schema-trailing",
            vec![
                chart(""),
                t("values.yaml", "a: 1\n"),
                t("values.schema.json", "{} x"),
            ],
        ),
        (
            "endpoints",
            vec![
                chart(""),
                t(
                    "templates/ep.yaml",
                    "apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: ep\n---\napiVersion: v1\nkind: ComponentStatusList\nmetadata:\n  name: cs\n",
                ),
            ],
        ),
        // A non-finite float headed for a string field of Chart.yaml is
        // the text Go formats it as; elsewhere it stays unloadable.
        (
            "inf",
            vec![
                chart("appVersion: .inf\nmaintainers:\n- name: -.inf\nkeywords: [.nan]\n"),
                t("templates/cm.yaml", CM),
            ],
        ),
        (
            "inf-bool",
            vec![chart("deprecated: .inf\n"), t("templates/cm.yaml", CM)],
        ),
        // A List is read into lint's stub of items first: what does not
        // fit it is that read's error (a number is text to an annotation).
        (
            "list-items",
            vec![
                chart(""),
                t("templates/a.yaml", &format!("{LIST}items: x\n")),
                t("templates/b.yaml", &format!("{LIST}items: [1]\n")),
                t(
                    "templates/c.yaml",
                    &format!("{LIST}items: [{{metadata: 1}}]\n"),
                ),
                t(
                    "templates/d.yaml",
                    &format!("{LIST}items: [{{metadata: {{annotations: [a]}}}}]\n"),
                ),
                t(
                    "templates/e.yaml",
                    &format!(
                        "{LIST}items: [{{metadata: {{annotations: {{helm.sh/resource-policy: 1}}}}}}]\n"
                    ),
                ),
                t(
                    "templates/f.yaml",
                    &format!(
                        "{LIST}ITEMS:\n- Metadata:\n    Annotations:\n      helm.sh/resource-policy: keep\n"
                    ),
                ),
                t(
                    "templates/g.yaml",
                    &format!(
                        "{LIST}items: [null, {{metadata: null}}, {{metadata: {{annotations: {{a: null}}}}}}]\n"
                    ),
                ),
            ],
        ),
        // A leading `---` is the first document's first line to
        // apimachinery's YAMLReader: an error's line counts it.
        (
            "separator-first",
            vec![
                chart(""),
                t(
                    "templates/cm.yaml",
                    "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: \n  null\n",
                ),
            ],
        ),
        (
            "names",
            vec![
                chart(""),
                t(
                    "templates/names.yaml",
                    "kind: Service\nmetadata:\n  name: 9lives\n---\nkind: Role\nmetadata:\n  name: a/b\n---\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n---\nkind: Namespace\nmetadata:\n  name: -ns\n",
                ),
            ],
        ),
    ]
}

fn write_cases(root: &Path) -> Vec<String> {
    cases()
        .into_iter()
        .map(|(name, files)| {
            let dir = root.join(name);
            for (file, text) in files {
                write_file(&dir.join(file), &text.replace("NAME", name));
            }
            path(&dir)
        })
        .collect()
}

/// Real Helm's lint of each directory, as `helm lint DIR OPTIONS` prints
/// it (pkg/cmd/lint.go's layout of action.Lint's result): stdout, and the
/// error it ends with if the chart failed.
async fn helm_lint(dirs: &[String], options: &Value) -> Vec<(String, Option<String>)> {
    let script = "import json,sys\nfrom helm_python import chart\nopts = json.loads(sys.argv[1])\nvalues = opts.pop('values', None)\nprint(json.dumps([chart.lint(d, values, **opts) for d in sys.argv[2:]]))";
    let options = options.to_string();
    let args: Vec<&str> = std::iter::once(options.as_str())
        .chain(dirs.iter().map(String::as_str))
        .collect();
    let reports: Vec<Value> = serde_json::from_slice(&real_helm(script, &args).await).unwrap();
    let sev = ["UNKNOWN", "INFO", "WARNING", "ERROR"];
    dirs.iter()
        .zip(reports)
        .map(|(dir, r)| {
            let mut out = format!("==> Linting {dir}\n");
            let messages = r["messages"].as_array().unwrap();
            let errors = r["errors"].as_array().unwrap();
            if messages.is_empty() {
                for e in errors {
                    out.push_str(&format!("Error {}\n", e.as_str().unwrap()));
                }
            }
            for m in messages {
                out.push_str(&format!(
                    "[{}] {}: {}\n",
                    sev[m["severity"].as_u64().unwrap() as usize],
                    m["path"].as_str().unwrap(),
                    m["error"].as_str().unwrap()
                ));
            }
            out.push('\n');
            let summary = format!(
                "1 chart(s) linted, {} chart(s) failed",
                usize::from(!errors.is_empty())
            );
            if errors.is_empty() {
                out.push_str(&format!("{summary}\n"));
                (out, None)
            } else {
                (out, Some(summary))
            }
        })
        .collect()
}

async fn compare(dirs: &[String], helm_options: Value, berth_flags: &[&str]) {
    let helm = helm_lint(dirs, &helm_options).await;
    for (dir, (want, failure)) in dirs.iter().zip(helm) {
        let mut args = vec!["lint", dir.as_str()];
        args.extend_from_slice(berth_flags);
        let (ok, out, err) = berth_process(&args, &[]).await;
        assert_eq!(out, want, "berth {args:?}");
        match failure {
            None => assert!(ok, "{dir}: {err}"),
            Some(summary) => {
                assert!(!ok, "{dir} should fail");
                assert_eq!(
                    err.lines().last(),
                    Some(&*format!("Error: {summary}")),
                    "{dir}"
                );
            }
        }
        // What lint mode lets pass is logged as Helm's slog lines.
        if dir.ends_with("/templates") {
            let mut log =
                "level=INFO msg=\"funcMap fail\" message=\"not while linting\"\n".to_string();
            if !berth_flags.contains(&"--set") {
                log.push_str(
                    "level=WARN msg=\"missing required value\" message=\"x is required\"\n",
                );
            }
            assert!(err.starts_with(&log), "{err}");
        }
    }
}

#[tokio::test]
async fn lint_reports_what_real_helm_lint_reports() {
    let root = tempfile::tempdir().unwrap();
    let dirs = write_cases(root.path());
    compare(&dirs, serde_json::json!({}), &[]).await;
    compare(
        &dirs,
        serde_json::json!({"strict": true, "namespace": "prod", "kube_version": "v1.20.0", "values": {"x": "given", "port": 80, "image": null, "nested": {"a": null}}}),
        &["--strict", "-n", "prod", "--kube-version", "v1.20.0", "--set", "x=given,port=80,image=null,nested.a=null"],
    )
    .await;
    // Only there: other cases' schemas refuse a `tags` table.
    let tag = dirs.iter().filter(|d| d.ends_with("/values-null-tag"));
    compare(
        &tag.cloned().collect::<Vec<_>>(),
        serde_json::json!({"values": {"tags": {"back": null}}}),
        &["--set", "tags.back=null"],
    )
    .await;
}

#[tokio::test]
async fn lint_takes_archives_and_many_charts_as_helm_lint_does() {
    let root = tempfile::tempdir().unwrap();
    let dirs = write_cases(root.path());
    let clean = &dirs[0];
    let deps = dirs.iter().find(|d| d.ends_with("dependencies")).unwrap();

    // An archive is linted as the chart it holds.
    let (ok, _, err) = berth_process(&["package", clean, "-d", &path(root.path())], &[]).await;
    assert!(ok, "{err}");
    let archive = path(&root.path().join("clean-1.0.0.tgz"));
    let (ok, out, _) = berth_process(&["lint", &archive], &[]).await;
    assert!(ok);
    assert_eq!(
        out,
        format!("==> Linting {archive}\n\n1 chart(s) linted, 0 chart(s) failed\n")
    );

    // Several charts: one report each, one summary; --quiet leaves out
    // the charts with nothing above INFO and the INFO lines.
    let missing = path(&root.path().join("missing"));
    let (ok, out, err) = berth_process(&["lint", clean, "--quiet", deps, &missing], &[]).await;
    assert!(!ok);
    assert_eq!(
        out,
        format!(
            "==> Linting {deps}\n[ERROR] {deps}: chart metadata is missing these dependencies: extra\n[WARNING] {deps}: chart directory is missing these dependencies: gone\n[ERROR] crds/a.yaml: apiVersion is not in 'apiextensions.k8s.io'\n[ERROR] crds/a.yaml: object kind is not 'CustomResourceDefinition'\n[ERROR] crds/b.yaml: apiVersion is not in 'apiextensions.k8s.io'\n[ERROR] crds/b.yaml: object kind is not 'CustomResourceDefinition'\n\n==> Linting {missing}\nError unable to check Chart.yaml file in chart: stat {missing}/Chart.yaml: no such file or directory\n\n"
        )
    );
    assert_eq!(err, "Error: 3 chart(s) linted, 2 chart(s) failed\n");
    let (ok, out, _) = berth_process(&["lint", "--quiet", clean], &[]).await;
    assert!(ok);
    assert_eq!(out, "");

    // --with-subcharts adds every chart below charts/.
    let (_, out, _) = berth_process(&["lint", deps, "--with-subcharts"], &[]).await;
    let linted: Vec<&str> = out.lines().filter(|l| l.starts_with("==> ")).collect();
    assert_eq!(
        linted,
        [
            format!("==> Linting {deps}"),
            format!("==> Linting {deps}/charts/extra"),
            format!("==> Linting {deps}/charts/sub"),
        ]
    );

    // Bad flags are refused before anything is linted.
    let (ok, out, err) = berth_process(&["lint", clean, "--kube-version", "garbage"], &[]).await;
    assert!(!ok);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "Error: invalid kube version 'garbage': could not parse \"garbage\" as version\n"
    );
    // An empty --kube-version is no --kube-version, as Helm's.
    let (ok, _, err) = berth_process(&["lint", clean, "--kube-version", ""], &[]).await;
    assert!(ok, "{err}");
    let (ok, out, err) = berth_process(&["template", "r", clean, "--kube-version", ""], &[]).await;
    assert!(ok, "{err}");
    assert!(!out.is_empty());
    let (ok, _, err) = berth_process(&["lint", clean, "-f", &missing], &[]).await;
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
}
