//! `berth show` prints a chart's files as Helm's `show` does (Chart.yaml
//! re-encoded from Helm's own struct, checked against real Helm's loaded
//! metadata; values.yaml and the README as written; the CRDs of the chart
//! and its subcharts), `berth pull` saves or unpacks a chart from a
//! repository, `berth search repo` finds charts in the cached indexes, and
//! `berth package` packs a chart into what real Helm's `package` packs.
//! `show values --jsonpath` prints what real kubectl's JSONPath engine
//! (the one Helm calls) prints.

use std::collections::HashMap;

use serde_json::Value;

use crate::common::{Env, archive_files, berth_raw, kubectl, path, real_helm, write_file};
use crate::repos::{Repo, berth_process, index, packed};

/// Real Helm's loaded chart: its metadata and CRD objects.
async fn helm_chart(dir: &str) -> Value {
    let script = "import json,sys\nfrom helm_python import Chart\nc = Chart.load(sys.argv[1])\nprint(json.dumps({'metadata': c.metadata, 'crds': c.crds}))";
    let out = real_helm(script, &[dir]).await;
    serde_json::from_slice(&out).unwrap()
}

#[tokio::test]
async fn show_prints_a_charts_files_as_helm() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("web");
    write_file(
        &chart.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 1.2.0\nappVersion: 3\ndescription: \"a\\tweb  chart\"\nhome: \"\"\nkeywords: [a, b]\nunknown: dropped\nmaintainers:\n- name: ops\n  email: \"\"\nannotations:\n  team: web\ndependencies:\n- name: inner\n  version: ~0.2\n  repository: \"\"\n  condition: inner.enabled\n  import-values: [{child: a, parent: b}]\n",
    );
    let values = "# Replicas of the web tier.\nreplicas: 1   # one\n";
    write_file(&chart.join("values.yaml"), values);
    write_file(&chart.join("README.md"), "# web\n\nA chart.");
    write_file(
        &chart.join("crds/a.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: as.example.com\n",
    );
    write_file(
        &chart.join("charts/inner/Chart.yaml"),
        "apiVersion: v2\nname: inner\nversion: 0.2.1\n",
    );
    write_file(
        &chart.join("charts/inner/crds/b.yaml"),
        "---\nkind: CustomResourceDefinition\nmetadata:\n  name: bs.example.com\n",
    );
    let p = path(&chart);
    let helm = helm_chart(&p).await;

    let show = |what: &'static str| {
        let p = p.clone();
        async move {
            let (ok, out, err) = berth_process(&["show", what, &p], &[]).await;
            assert!(ok, "{err}");
            out
        }
    };
    // Byte for byte what real Helm's `show` prints, for each part.
    for what in ["all", "chart", "values", "readme", "crds"] {
        let script = "import sys\nfrom helm_python.registry import show\nsys.stdout.write(show(sys.argv[2], output_format=sys.argv[1]))";
        let helm = real_helm(script, &[what, &p]).await;
        assert_eq!(
            show(what).await,
            String::from_utf8_lossy(&helm),
            "show {what}"
        );
    }
    // Chart.yaml as Helm's struct holds it: unknown and empty fields gone.
    let chart_yaml = show("chart").await;
    assert!(chart_yaml.ends_with("\n\n"), "{chart_yaml:?}");
    let shown: Value = serde_saphyr::from_str(&chart_yaml).unwrap();
    assert_eq!(shown, helm["metadata"], "{chart_yaml}");
    assert!(
        chart_yaml.starts_with("annotations:\n  team: web\napiVersion: v2\nappVersion: \"3\"\n")
    );

    assert_eq!(show("values").await, format!("{values}\n"));
    assert_eq!(show("readme").await, "# web\n\nA chart.\n");
    let mut crds = String::new();
    for crd in helm["crds"].as_array().unwrap() {
        let data = crd["data"].as_str().unwrap();
        if !data.starts_with("---") {
            crds += "---\n";
        }
        crds += data;
        crds += "\n";
    }
    assert!(crds.contains("bs.example.com"), "{crds}");
    assert_eq!(show("crds").await, crds);
    assert_eq!(
        show("all").await,
        format!("{chart_yaml}---\n{values}\n---\n# web\n\nA chart.\n{crds}")
    );
    let (ok, inspected, _) = berth_process(&["inspect", "values", &p], &[]).await;
    assert!(ok);
    assert_eq!(inspected, format!("{values}\n"));

    // Not a chart: one line.
    let (ok, _, err) = berth_process(&["show", "chart", &path(dir.path())], &[]).await;
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[tokio::test]
async fn pull_saves_or_unpacks_a_chart_from_a_repository() {
    let env = Env::start().await;
    let files = HashMap::from([
        (
            "/index.yaml".to_string(),
            index(&[("1.0.0", "hello-1.0.0.tgz"), ("1.1.0", "hello-1.1.0.tgz")]),
        ),
        ("/hello-1.0.0.tgz".to_string(), packed(&env, "1.0.0")),
        ("/hello-1.1.0.tgz".to_string(), packed(&env, "1.1.0")),
    ]);
    let repo = Repo::start(files, None).await;
    let dest = env.dir.path().join("pulled");
    let d = path(&dest);

    let (ok, _, err) = berth_process(
        &[
            "pull",
            "hello",
            "--repo",
            &repo.url,
            "--version",
            "~1.0",
            "-d",
            &d,
        ],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read(dest.join("hello-1.0.0.tgz")).unwrap(),
        packed(&env, "1.0.0")
    );
    // Several charts, one after another, as `helm pull a b` does.
    let both = env.dir.path().join("both");
    let (ok, _, err) = berth_process(
        &[
            "pull",
            &format!("{}/hello-1.0.0.tgz", repo.url),
            &format!("{}/hello-1.1.0.tgz", repo.url),
            "-d",
            &path(&both),
        ],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    for v in ["1.0.0", "1.1.0"] {
        let file = both.join(format!("hello-{v}.tgz"));
        assert_eq!(std::fs::read(file).unwrap(), packed(&env, v));
    }

    let untar_args = [
        "pull",
        "hello",
        "--repo",
        &repo.url,
        "--untar",
        "--untardir",
        "src",
        "-d",
        &d,
    ];
    let untar = || berth_process(&untar_args, &[]);
    let (ok, _, err) = untar().await;
    assert!(ok, "{err}");
    let unpacked = dest.join("src/hello");
    assert!(
        std::fs::read_to_string(unpacked.join("Chart.yaml"))
            .unwrap()
            .contains("version: 1.1.0")
    );
    // Real Helm's pull --untar of the same chart unpacks the same files.
    let helm_dest = env.dir.path().join("helm-pulled");
    std::fs::create_dir_all(&helm_dest).unwrap();
    let script = "import sys\nfrom helm_python.registry import pull\npull('hello', repo_url=sys.argv[1], untar=True, untar_dir=sys.argv[2], destination=sys.argv[2])";
    real_helm(script, &[&repo.url, &path(&helm_dest)]).await;
    let tree = |root: &std::path::Path| {
        let files = berth::chart::load_dir(root, &Default::default()).unwrap();
        let mut files: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .map(|f| (f.name, f.data.to_vec()))
            .collect();
        files.sort();
        files
    };
    assert_eq!(tree(&unpacked), tree(&helm_dest.join("hello")));
    // The unpacked chart is the chart: it installs.
    let out = env.berth(&["install", "web", &path(&unpacked)]).await.ok();
    assert!(out.stdout.contains("chart hello-1.1.0"), "{}", out.stdout);

    // Unpacking over it is refused; a local chart is not pulled.
    let (ok, _, err) = untar().await;
    assert!(!ok);
    assert!(
        err.contains("failed to untar: a file or directory with the name"),
        "{err}"
    );
    let (ok, _, err) = berth_process(&["pull", &path(&unpacked)], &[]).await;
    assert!(!ok);
    assert!(err.contains("is a local chart"), "{err}");
}

#[tokio::test]
async fn search_repo_finds_charts_in_the_cached_indexes_as_helm() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let cache = dir.path().join("cache");
    write_file(
        &config.join("repositories.yaml"),
        "repositories:\n- name: acme\n  url: https://charts.acme.invalid\n- name: gone\n  url: https://gone.invalid\n",
    );
    write_file(
        &cache.join("repository/acme-index.yaml"),
        "apiVersion: v1\nentries:\n  nginx:\n  - {name: nginx, version: 15.2.0, appVersion: 1.25, description: NGINX web server, urls: [a.tgz]}\n  - {name: nginx, version: 15.3.0-rc.1, appVersion: 1.26, description: NGINX web server, urls: [b.tgz]}\n  - {name: nginx, version: 14.0.0, appVersion: 1.24, description: NGINX web server, urls: [c.tgz]}\n  ingress:\n  - {name: ingress, version: 1.0.0, description: An ingress controller on nginx and a description too long for its column, urls: [d.tgz]}\n  redis:\n  - {name: redis, version: 18.0.0, description: key value store, keywords: [cache], urls: [e.tgz]}\n",
    );
    let vars = [
        ("HELM_CONFIG_HOME", config.as_path()),
        ("HELM_CACHE_HOME", cache.as_path()),
    ];
    let search = |args: &'static [&'static str]| async move {
        let mut full = vec!["search", "repo"];
        full.extend(args);
        berth_process(&full, &vars).await
    };
    // A name match first; the newest stable version of each; long cells cut.
    let (ok, out, err) = search(&["nginx"]).await;
    assert!(ok, "{err}");
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split('\t').map(str::trim).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["NAME", "CHART VERSION", "APP VERSION", "DESCRIPTION"],
            vec!["acme/nginx", "15.2.0", "1.25", "NGINX web server"],
            vec![
                "acme/ingress",
                "1.0.0",
                "",
                "An ingress controller on nginx and a descriptio..."
            ],
        ],
        "{out}"
    );
    // The cache of a repository that never updated is reported, not fatal.
    assert!(
        err.contains("WARNING: repo gone is corrupt or missing"),
        "{err}"
    );

    let (_, out, _) = search(&["nginx", "--versions", "--devel", "-o", "json"]).await;
    let found: Value = serde_json::from_str(&out).unwrap();
    let versions: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["15.3.0-rc.1", "15.2.0", "14.0.0", "1.0.0"]);
    assert_eq!(found[0]["app_version"], "1.26");

    let (_, out, _) = search(&["nginx", "--version", "^14"]).await;
    assert!(out.contains("acme/nginx\t14.0.0"), "{out}");
    // Keywords are searched; --regexp takes Go's syntax.
    let (_, out, _) = search(&["CACHE", "-o", "yaml"]).await;
    assert_eq!(
        out,
        "- app_version: \"\"\n  description: key value store\n  name: acme/redis\n  version: 18.0.0\n"
    );
    let (_, out, _) = search(&["^red", "-r"]).await;
    assert!(out.contains("acme/redis"), "{out}");
    let (ok, _, err) = search(&["(", "-r"]).await;
    assert!(!ok);
    assert!(
        err.contains("error parsing regexp: missing closing ): `(`"),
        "{err}"
    );
    let (ok, out, _) = search(&["zzz"]).await;
    assert!(ok);
    assert_eq!(out, "No results found\n");
    let (ok, _, err) = search(&["zzz", "--fail-on-no-result"]).await;
    assert!(!ok);
    assert!(err.contains("no results found"), "{err}");
}

#[tokio::test]
async fn package_packs_what_helms_package_packs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // A subchart packed from a directory of its own, for charts/.
    let sub = root.join("sub");
    write_file(
        &sub.join("Chart.yaml"),
        "apiVersion: v2\nname: sub\nversion: 0.2.0\n",
    );
    write_file(&sub.join("templates/cm.yaml"), "kind: ConfigMap\n");
    let sub_files = berth::chart::load_path(&sub, &Default::default()).unwrap();
    let web = root.join("web");
    write_file(
        &web.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 1.2.0\nappVersion: \"3\"\nunknown: x\nhome: \"\"\ndependencies:\n- name: inner\n  version: ~0.2\n  repository: \"\"\n- name: sub\n  version: 0.2.0\n  repository: file://../sub\n  import-values: [{child: a, parent: b}]\n",
    );
    write_file(&web.join("values.yaml"), "# replicas\nreplicas: 1\n");
    write_file(&web.join("values.schema.json"), "{\"type\": \"object\"}");
    write_file(&web.join("templates/cm.yaml"), "kind: ConfigMap\n");
    write_file(&web.join("README.md"), "hi");
    write_file(&web.join(".helmignore"), "*.bak\n");
    write_file(&web.join("notes.bak"), "ignored");
    write_file(
        &web.join("Chart.lock"),
        "dependencies:\n- name: sub\n  repository: file://../sub\n  version: 0.2.0\ndigest: sha256:abc\ngenerated: \"2020-02-03T10:38:51.180474+01:00\"\n",
    );
    write_file(
        &web.join("charts/inner/Chart.yaml"),
        "apiVersion: v2\nname: inner\nversion: 0.2.1\n",
    );
    write_file(&web.join("charts/inner/templates/s.yaml"), "kind: Secret\n");
    std::fs::write(
        web.join("charts/sub-0.2.0.tgz"),
        berth::chart::pack(&sub_files, "sub").unwrap(),
    )
    .unwrap();

    let ours = root.join("ours");
    let (ok, out, err) = berth_process(
        &[
            "package",
            &path(&web),
            "-d",
            &path(&ours),
            "--version",
            "1.3.0",
            "--app-version",
            "4.0",
        ],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    let archive = ours.join("web-1.3.0.tgz");
    assert_eq!(
        out,
        format!(
            "Successfully packaged chart and saved it to: {}\n",
            path(&archive)
        )
    );
    let helm_dir = root.join("helm");
    let script = "import sys\nfrom helm_python.chart import package\nprint(package(sys.argv[1], destination=sys.argv[2], version='1.3.0', app_version='4.0'))";
    real_helm(script, &[&path(&web), &path(&helm_dir)]).await;
    let ours_files = archive_files(&archive);
    let names: Vec<&str> = ours_files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"charts/sub/templates/cm.yaml"), "{names:?}");
    assert!(!names.contains(&"notes.bak"), "{names:?}");
    assert_eq!(ours_files, archive_files(&helm_dir.join("web-1.3.0.tgz")));

    // The same chart packs into the same bytes.
    let first = std::fs::read(&archive).unwrap();
    let (ok, _, _) = berth_process(
        &[
            "package",
            &path(&web),
            "-d",
            &path(&ours),
            "--version",
            "1.3.0",
            "--app-version",
            "4.0",
        ],
        &[],
    )
    .await;
    assert!(ok);
    assert_eq!(std::fs::read(&archive).unwrap(), first);

    // -u fetches what charts/ lacks first; without it, Helm's refusal.
    std::fs::remove_file(web.join("charts/sub-0.2.0.tgz")).unwrap();
    let (ok, _, err) = berth_process(&["package", &path(&web), "-d", &path(&ours)], &[]).await;
    assert!(!ok);
    assert!(
        err.contains("found in Chart.yaml, but missing in charts/ directory: sub"),
        "{err}"
    );
    let (ok, out, err) =
        berth_process(&["package", &path(&web), "-d", &path(&ours), "-u"], &[]).await;
    assert!(ok, "{err}");
    assert!(out.contains("web-1.2.0.tgz"), "{out}");
    assert!(web.join("charts/sub-0.2.0.tgz").exists());
    let (ok, _, err) = berth_process(&["package", &path(&web), "--version", "one"], &[]).await;
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// Values kubectl takes as an object as they are (apiVersion, kind, the
/// label `label --local` sets; no top-level `items`, which would make
/// them a List). Numbers compared by the templates are not integers:
/// Helm reads every YAML number as a float64, kubectl integers as int64.
const JSONPATH_VALUES: &str = r#"apiVersion: v1
kind: Values
metadata:
  labels:
    a: b
image:
  repository: nginx
  tag: "1.25"
ratio: 1.5
enabled: true
nothing: null
empty: []
entries:
- name: web
  port: 80.5
  tags: [front, public]
- name: api
  port: 8080.5
  tags: []
  extra: null
- name: db
  port: 5432.5
  nested:
    deep:
      name: inner
"dotted.key": dotted
html: "<a&b>"
unicode: "héllo ✓"
"#;

/// Templates over JSONPATH_VALUES whose output does not depend on Go's
/// map order: fields, text, indexes, slices, unions, filters, ranges,
/// literals, escapes, and what fails while running (Helm then prints
/// nothing) or while parsing.
const JSONPATH_TEMPLATES: &[&str] = &[
    "{}",
    "{.image.repository}:{.image.tag}",
    "text {.ratio} {.enabled} {.nothing} {.empty}",
    "{.entries[0]}",
    "{.entries[-1].name} {.entries[*].port}",
    "{.entries[1:].name} {.entries[::2].name} {.entries[0:0].name}",
    "{.entries[0,2].name} {.entries[0]['name','port']}",
    "{['dotted\\.key']} {.dotted\\.key} {['dotted.key']}",
    "{.entries[?(@.name==\"api\")].port}",
    "{.entries[?(@.port>100.0)].name} {.entries[?(@.port<=8080.5)].name}",
    "{.entries[?(@.port==80)].name}",
    "{.entries[?(@.tags)].name} {.entries[?(@.tags[5])].name} {.entries[?(@.extra)].name}",
    "{.entries[0].tags[?(@==\"front\")]}",
    "{range .entries[*]}{.name}:{range .tags[*]}{@},{end}{\"\\n\"}{end}",
    "{range .entries[*]}{.nested.deep.name}{end}",
    "{range .empty[*]}x{end}after",
    "{range .entries[*]}{.extra}{end}",
    "{..deep.name} {.entries..tags}",
    "{.image.tag.*} {.unicode} {.html}",
    "{\"tab\\there\"} {'single'} {\"\\u00e9\"} {1} {-2} {1.5} {true}",
    "{.missing}",
    "{.entries[3].name}",
    "{.a",
    "{.a,.b}",
    "{.a[x]}",
    "{\"\\q\"}",
    "{....a}",
    "{-}",
    "{.entries[?(@.name==\"a\"}",
];

#[tokio::test]
async fn show_values_jsonpath_prints_what_kubectl_prints() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("web");
    write_file(
        &chart.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    );
    let values = chart.join("values.yaml");
    write_file(&values, JSONPATH_VALUES);
    for template in JSONPATH_TEMPLATES {
        let theirs = tokio::process::Command::new(kubectl())
            .args(["label", "--local", "--overwrite", "a=b"])
            .args(["--allow-missing-template-keys=false", "-f", &path(&values)])
            .arg(format!("-o=jsonpath={template}"))
            .output()
            .await
            .unwrap();
        let ours = berth_raw(&[
            "show".into(),
            "values".into(),
            path(&chart),
            "--jsonpath".into(),
            template.to_string(),
        ])
        .await;
        let stderr = String::from_utf8_lossy(&theirs.stderr);
        let parse_error = format!("error parsing jsonpath {template}, ");
        if let Some(at) = stderr.find(&parse_error) {
            // Refused in one line, in the engine's words.
            let reason = stderr[at + parse_error.len()..].trim_end();
            assert_eq!(ours.code, 1, "{template}: {}", ours.stdout);
            assert_eq!(
                ours.stderr,
                format!("Error: error parsing jsonpath {template}: {reason}\n"),
                "{template}"
            );
        } else {
            // A template that fails while it runs prints nothing in Helm.
            let expected = if theirs.status.success() {
                String::from_utf8_lossy(&theirs.stdout).into_owned()
            } else {
                String::new()
            };
            assert_eq!(ours.code, 0, "{template}: {}", ours.stderr);
            assert_eq!(ours.stdout, expected, "{template}");
        }
    }
    // No values.yaml: nothing, as Helm (which then does not parse the template).
    std::fs::remove_file(&values).unwrap();
    let out = berth_raw(&[
        "show".into(),
        "values".into(),
        path(&chart),
        "--jsonpath".into(),
        "{.a".into(),
    ])
    .await;
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
}

/// An Artifact Hub answer in the shape of its Monocular-compatible search
/// API: one result with a package URL, one (Monocular's) without.
const HUB_ANSWER: &str = r#"{"data":[
{"id":"bitnami/nginx","artifactHub":{"packageUrl":"https://artifacthub.io/packages/helm/bitnami/nginx"},
 "attributes":{"description":"NGINX <web> & proxy","repo":{"name":"bitnami","url":"https://charts.bitnami.com/bitnami"}},
 "relationships":{"latestChartVersion":{"data":{"version":"18.2.4","app_version":"1.27.2"}}}},
{"id":"old/web","attributes":{"description":"a chart from a Monocular instance with a description longer than the column","repo":{"name":"old","url":"https://old.example"}},
 "relationships":{"latestChartVersion":{"data":{"version":"1.0.0","app_version":"2"}}}}]}"#;

#[tokio::test]
async fn search_hub_asks_a_hubs_search_api_as_helm() {
    let files = HashMap::from([
        (
            "/hub/api/chartsvc/v1/charts/search?q=nginx+web%2Fproxy".to_string(),
            HUB_ANSWER.as_bytes().to_vec(),
        ),
        (
            "/hub/api/chartsvc/v1/charts/search?q=nothing".to_string(),
            br#"{"data":[]}"#.to_vec(),
        ),
    ]);
    let hub = Repo::start(files, None).await;
    let endpoint = format!("{}/hub", hub.url);
    let search = |extra: &[&str]| {
        let mut args = vec!["search", "hub"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--endpoint", &endpoint]);
        let args: Vec<String> = args.into_iter().map(str::to_string).collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            berth_process(&args, &[]).await
        }
    };
    // The keywords are one query, escaped as Go's url.QueryEscape does.
    let (ok, out, err) = search(&["nginx", "web/proxy"]).await;
    assert!(ok, "{err}");
    let old = format!("{endpoint}/charts/old/web");
    assert_eq!(
        out,
        format!(
            "URL                                               \tCHART VERSION\tAPP VERSION\tDESCRIPTION\n\
             https://artifacthub.io/packages/helm/bitnami/nginx\t18.2.4       \t1.27.2     \tNGINX <web> & proxy\n\
             {old:<50}\t1.0.0        \t2          \ta chart from a Monocular instance with a descri...\n"
        )
    );
    let (ok, out, err) = search(&["nginx", "web/proxy", "--list-repo-url", "-o", "json"]).await;
    assert!(ok, "{err}");
    assert_eq!(
        out,
        format!(
            "[{{\"url\":\"https://artifacthub.io/packages/helm/bitnami/nginx\",\"version\":\"18.2.4\",\"app_version\":\"1.27.2\",\"description\":\"NGINX \\u003cweb\\u003e \\u0026 proxy\",\"repository\":{{\"url\":\"https://charts.bitnami.com/bitnami\",\"name\":\"bitnami\"}}}},\
             {{\"url\":\"{old}\",\"version\":\"1.0.0\",\"app_version\":\"2\",\"description\":\"a chart from a Monocular instance with a description longer than the column\",\"repository\":{{\"url\":\"https://old.example\",\"name\":\"old\"}}}}]\n"
        )
    );
    assert!(
        hub.requests()
            .iter()
            .all(|(target, _)| target == "/hub/api/chartsvc/v1/charts/search?q=nginx+web%2Fproxy")
    );

    // Nothing found: Helm's words, or a failure with --fail-on-no-result.
    let (ok, out, _) = search(&["nothing"]).await;
    assert!(ok);
    assert_eq!(out, "No results found\n");
    let (ok, _, err) = search(&["nothing", "--fail-on-no-result"]).await;
    assert!(!ok);
    assert_eq!(err, "Error: no results found\n");
    let (ok, out, _) = search(&["nothing", "-o", "json"]).await;
    assert!(ok);
    assert_eq!(out, "[]\n");

    // A hub that does not answer, and one that is no URL: one line each.
    let (ok, _, err) = search(&["missing"]).await;
    assert!(!ok);
    assert_eq!(
        err,
        format!(
            "Error: unable to perform search against \"{endpoint}\": failed to fetch {endpoint}/api/chartsvc/v1/charts/search?q=missing : 404 Not Found\n"
        )
    );
    let (ok, _, err) = berth_process(&["search", "hub", "x", "--endpoint", "hub.local"], &[]).await;
    assert!(!ok);
    assert_eq!(
        err,
        "Error: unable to create connection to \"hub.local\": no hostname provided\n"
    );
}
