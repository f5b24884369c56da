//! `berth create` writes the chart a Helm user knows: the files of real
//! Helm's `create` (names, modes, the empty charts/) reading the same
//! values with the same defaults, rendering in berth as in real Helm and
//! linting as Helm's own, installing and passing its test; over an
//! existing chart with Helm's warnings; and from a starter chart
//! (a directory or an archive, by absolute path or by name under
//! `$HELM_DATA_HOME/starters`) as Helm's CreateFrom copies it. Bad names
//! and places are refused in one line and nothing is written.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{Env, archive_files, path, real_helm, write_file};
use crate::repos::berth_process;

/// An entry of a directory tree: its relative path, its mode, and (for a
/// file) its bytes, or (for a chart archive) the files inside it.
type Entry = (String, u32, Vec<(String, Vec<u8>)>);

/// Every entry below `root`, in path order.
fn tree(root: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            let meta = std::fs::metadata(&p).unwrap();
            let rel = path(p.strip_prefix(root).unwrap());
            let mode = meta.permissions().mode() & 0o777;
            if meta.is_dir() {
                stack.push(p.clone());
                out.push((rel, mode, Vec::new()));
            } else if rel.ends_with(".tgz") {
                // Helm's archives carry the files' times; compare what is in them.
                out.push((rel, mode, archive_files(&p)));
            } else {
                out.push((rel, mode, vec![(String::new(), std::fs::read(&p).unwrap())]));
            }
        }
    }
    out.sort();
    out
}

/// Real Helm's loaded chart: its metadata and values.
async fn helm_loaded(dir: &Path) -> serde_json::Value {
    let script = "import json,sys\nfrom helm_python import Chart\nc = Chart.load(sys.argv[1])\nprint(json.dumps({'metadata': c.metadata, 'values': c.values}))";
    serde_json::from_slice(&real_helm(script, &[&path(dir)]).await).unwrap()
}

/// The objects a rendered stream holds, sorted by kind and name.
fn objects<'a>(texts: impl Iterator<Item = &'a str>) -> Vec<serde_json::Value> {
    let mut out: Vec<serde_json::Value> = texts
        .flat_map(|t| t.split("\n---"))
        .filter_map(|doc| berth_template::yaml::parse_document(doc).ok())
        .filter(|v| v.is_object())
        .collect();
    out.sort_by_key(|o| format!("{}/{}", o["kind"], o["metadata"]["name"]));
    out
}

#[tokio::test]
async fn create_writes_the_chart_helm_users_know() {
    let root = tempfile::tempdir().unwrap();
    let (ours, theirs) = (root.path().join("berth"), root.path().join("helm"));
    std::fs::create_dir_all(&ours).unwrap();
    std::fs::create_dir_all(&theirs).unwrap();
    let web = path(&ours.join("web"));
    let (ok, out, err) = berth_process(&["create", &web], &[]).await;
    assert!(ok, "{err}");
    assert_eq!(out, format!("Creating {web}\n"));
    real_helm(
        "import sys, helm_python\nhelm_python.Chart.create('web', sys.argv[1])",
        &[&path(&theirs)],
    )
    .await;
    // The files of `helm create`, with its modes and the empty charts/
    // (their texts are berth's own); the same Chart.yaml and values.
    let names = |root: &Path| -> Vec<(String, u32)> {
        tree(root).into_iter().map(|(n, m, _)| (n, m)).collect()
    };
    assert_eq!(names(&ours), names(&theirs));
    assert!(ours.join("web/charts").is_dir());
    assert_eq!(
        helm_loaded(&ours.join("web")).await,
        helm_loaded(&theirs.join("web")).await
    );

    // It renders in berth as in real Helm, with the defaults and with what
    // the values switch on.
    let cases = [
        serde_json::json!({}),
        serde_json::json!({
            "ingress": {"enabled": true, "className": "nginx",
                        "tls": [{"secretName": "web-tls", "hosts": ["chart-example.local"]}]},
            "autoscaling": {"enabled": true, "targetMemoryUtilizationPercentage": 70},
            "serviceAccount": {"create": false},
            "podAnnotations": {"a": "b"}, "podLabels": {"team": "web"},
            "resources": {"limits": {"memory": "128Mi"}},
            "volumes": [{"name": "tmp", "emptyDir": {}}],
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }),
        serde_json::json!({
            "httpRoute": {"enabled": true}, "service": {"type": "NodePort"},
            "fullnameOverride": "shop", "imagePullSecrets": [{"name": "regcred"}],
            "securityContext": {"runAsNonRoot": true},
        }),
    ];
    let script = "import json,sys\nfrom helm_python import Chart\nout = Chart.load(sys.argv[1]).render(values=json.loads(sys.argv[2]), name='web')\nprint(json.dumps(out))";
    for values in &cases {
        let file = root.path().join("values.json");
        std::fs::write(&file, values.to_string()).unwrap();
        let (ok, rendered, err) =
            berth_process(&["template", "web", &web, "-f", &path(&file)], &[]).await;
        assert!(ok, "{err}");
        let helm: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&real_helm(script, &[&web, &values.to_string()]).await).unwrap();
        let theirs = objects(
            helm.iter()
                .filter(|(k, _)| !k.ends_with("NOTES.txt"))
                .filter_map(|(_, v)| v.as_str()),
        );
        assert_eq!(
            objects(std::iter::once(rendered.as_str())),
            theirs,
            "{values}"
        );
        assert!(theirs.len() >= 4, "{values}: {theirs:?}");
    }

    // Real Helm's lint finds in it what it finds in its own scaffold.
    let lint = "import json,sys\nfrom helm_python import chart\nprint(json.dumps([chart.lint(d, None)['messages'] for d in sys.argv[1:]]))";
    let reports: Vec<serde_json::Value> =
        serde_json::from_slice(&real_helm(lint, &[&web, &path(&theirs.join("web"))]).await)
            .unwrap();
    assert_eq!(reports[0], reports[1]);
    let (ok, out, err) = berth_process(&["lint", &web, "--strict"], &[]).await;
    assert!(ok, "{out}{err}");

    // Over the chart again: Helm's warning per file it overwrites, in its
    // order; a file of the user's is left alone.
    let before = tree(&ours);
    write_file(&ours.join("web/values.yaml"), "edited: true\n");
    write_file(&ours.join("web/templates/extra.yaml"), "mine\n");
    let (ok, out, err) = berth_process(&["create", &web], &[]).await;
    assert!(ok, "{err}");
    let warned: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(warned.len(), 12, "{out}");
    assert_eq!(
        warned[0],
        format!("WARNING: File \"{web}/Chart.yaml\" already exists. Overwriting.")
    );
    assert_eq!(
        warned[11],
        format!(
            "WARNING: File \"{web}/templates/tests/test-connection.yaml\" already exists. Overwriting."
        )
    );
    std::fs::remove_file(ours.join("web/templates/extra.yaml")).unwrap();
    assert_eq!(tree(&ours), before);
}

#[tokio::test]
async fn a_created_chart_installs_and_passes_its_test() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().unwrap();
    let web = path(&dir.path().join("web"));
    env.berth(&["create", &web]).await.ok();
    let out = env.berth(&["install", "web", &web, "--wait"]).await.ok();
    assert!(out.stdout.contains("STATUS: deployed"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("kubectl port-forward service/web 8080:80 --namespace default"),
        "{}",
        out.stdout
    );
    env.berth(&["test", "web"]).await.ok();
}

/// A starter exercising what CreateFrom treats apart: `<CHARTNAME>` in
/// templates and values.yaml (replaced) and in other files and subcharts
/// (kept), the schema, .helmignore, Chart.lock (dropped), a subchart as a
/// directory and one as an archive (both saved as archives).
fn starter(dir: &Path) {
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: starter\nversion: 9.9.9\ndescription: a starter\nkubeVersion: \">=1.20\"\ndependencies:\n- name: sub\n  version: 0.1.0\n",
        ),
        (
            "values.yaml",
            "# Values of <CHARTNAME>\nname: <CHARTNAME>\nlist: [a, b]\n",
        ),
        ("values.schema.json", "{\"type\": \"object\"}\n"),
        (
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"<CHARTNAME>.fullname\" . }}\n",
        ),
        (
            "templates/_helpers.tpl",
            "{{- define \"<CHARTNAME>.fullname\" -}}{{ .Release.Name }}{{- end }}\n",
        ),
        ("templates/tests/t.yaml", "# test of <CHARTNAME>\n"),
        ("files/data.txt", "data of <CHARTNAME>\n"),
        ("README.md", "# <CHARTNAME>\n"),
        (".helmignore", "ignored/\n*.bak\n"),
        ("ignored/x", "x\n"),
        ("notes.bak", "x\n"),
        (
            "Chart.lock",
            "dependencies:\n- name: sub\n  version: 0.1.0\ndigest: sha256:abc\ngenerated: \"2020-01-01T00:00:00Z\"\n",
        ),
        (
            "charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        ),
        ("charts/sub/templates/x.yaml", "# <CHARTNAME>\n"),
    ];
    for (name, text) in files {
        write_file(&dir.join(name), text);
    }
}

#[tokio::test]
async fn create_from_a_starter_as_helm_copies_it() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let source = data.join("starters/base");
    starter(&source);
    // A second subchart, packed.
    let packed = root.path().join("packed");
    write_file(
        &packed.join("Chart.yaml"),
        "apiVersion: v2\nname: packed\nversion: 2.0.0\n",
    );
    let (ok, _, err) = berth_process(
        &[
            "package",
            &path(&packed),
            "-d",
            &path(&source.join("charts")),
        ],
        &[],
    )
    .await;
    assert!(ok, "{err}");

    let theirs = root.path().join("helm");
    real_helm(
        "import sys, helm_python\nhelm_python.Chart.create_from('shop', sys.argv[1], sys.argv[2])",
        &[&path(&theirs), &path(&source)],
    )
    .await;
    // Helm's `create` command gives CreateFrom this Chart.yaml (the
    // Python SDK's call leaves out the description and the type).
    let chartfile = "apiVersion: v2\nappVersion: 0.1.0\ndescription: A Helm chart for Kubernetes\nname: shop\ntype: application\nversion: 0.1.0\n";
    write_file(&theirs.join("shop/Chart.yaml"), chartfile);
    let expected = tree(&theirs);
    assert!(
        expected
            .iter()
            .any(|(n, _, _)| n == "shop/charts/packed-2.0.0.tgz")
    );
    assert!(!expected.iter().any(|(n, _, _)| n.contains("ignored")));

    // By absolute path, by name under $HELM_DATA_HOME/starters, and from
    // an archive of the starter.
    let by_path = root.path().join("by-path");
    let out_dir = path(&by_path.join("shop"));
    let (ok, out, err) = berth_process(&["create", &out_dir, "-p", &path(&source)], &[]).await;
    assert!(ok, "{err}");
    assert_eq!(out, format!("Creating {out_dir}\n"));
    assert_eq!(tree(&by_path), expected);

    let by_name = root.path().join("by-name");
    let (ok, _, err) = berth_process(
        &["create", &path(&by_name.join("shop")), "--starter", "base"],
        &[("HELM_DATA_HOME", &data)],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(tree(&by_name), expected);

    let (ok, _, err) = berth_process(&["package", &path(&source), "-d", &path(&data)], &[]).await;
    assert!(ok, "{err}");
    let from_archive = root.path().join("from-archive");
    let (ok, _, err) = berth_process(
        &[
            "create",
            &path(&from_archive.join("shop")),
            "-p",
            &path(&data.join("starter-9.9.9.tgz")),
        ],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(tree(&from_archive), expected);
}

#[tokio::test]
async fn create_refuses_bad_names_and_places() {
    let root = tempfile::tempdir().unwrap();
    let r = path(root.path());
    write_file(&root.path().join("afile"), "x\n");
    std::fs::create_dir_all(root.path().join("empty")).unwrap();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec![format!("{r}/web app")],
            "chart name must match the regular expression \"^[a-zA-Z0-9._-]+$\"".into(),
        ),
        (
            vec![format!("{r}/{}", "a".repeat(251))],
            "chart name must be between 1 and 250 characters".into(),
        ),
        (
            vec![format!("{r}/missing/web")],
            format!("stat {r}/missing: no such file or directory"),
        ),
        (
            vec![format!("{r}/afile/web")],
            format!("no such directory {r}/afile"),
        ),
        (
            vec![format!("{r}/afile")],
            format!("file {r}/afile already exists and is not a directory"),
        ),
        (
            vec![format!("{r}/web"), "-p".into(), format!("{r}/nowhere")],
            format!("could not load {r}/nowhere: stat {r}/nowhere: no such file or directory"),
        ),
        (
            vec![format!("{r}/web"), "-p".into(), format!("{r}/empty")],
            format!("could not load {r}/empty: {r}/empty: not a chart directory or .tgz archive"),
        ),
        (
            vec![
                format!("{r}/web"),
                "--chart-api-version".into(),
                "v9".into(),
            ],
            "unsupported chart API version: v9 (supported: v2, v3)".into(),
        ),
    ];
    for (args, error) in cases {
        let mut all = vec!["create"];
        all.extend(args.iter().map(String::as_str));
        let (ok, _, err) = berth_process(&all, &[]).await;
        assert!(!ok, "{args:?} was accepted");
        assert_eq!(err, format!("Error: {error}\n"), "{args:?}");
    }
    // Nothing was written but the two files the test made.
    let mut left: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["afile", "empty"]);
    assert!(
        std::fs::read_dir(root.path().join("empty"))
            .unwrap()
            .next()
            .is_none()
    );
}
