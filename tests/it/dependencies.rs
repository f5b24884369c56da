//! A chart's dependencies, managed as `helm dependency update|build|list`
//! manage them: versions resolved from a repository (by `@alias`) and a
//! `file://` directory, charts/ filled, Chart.lock written with Helm's
//! digest, `build` restoring what the lock names and refusing a stale one,
//! `--dependency-update` on template and install; and the statuses of
//! `dependency list` against real Helm's (helm-python-sdk).

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};
use sha2::Digest;

use crate::common::{Env, archive_files, path, real_helm, write_file};
use crate::repos::{Repo, berth_process, index, packed};

/// A chart with one ConfigMap named after the release and the chart.
fn chart_dir(dir: &Path, name: &str, version: &str, extra: &str) {
    write_file(
        &dir.join("Chart.yaml"),
        &format!("apiVersion: v2\nname: {name}\nversion: {version}\n{extra}"),
    );
    write_file(
        &dir.join("templates/cm.yaml"),
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ .Release.Name }}}}-{name}\n"
        ),
    );
}

/// The files of charts/, by name.
fn charts_of(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("charts"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Helm's HashReq, written out: the sha256 of Go's JSON of the requested
/// and the locked dependencies, `[name, version, repository]` each, in the
/// struct's field order (Go escapes `<`, `>` and `&`).
fn helm_digest(req: &[[&str; 3]], lock: &[[&str; 3]]) -> String {
    let list = |deps: &[[&str; 3]]| {
        let items: Vec<String> = deps
            .iter()
            .map(|[n, v, r]| {
                format!(
                    "{{\"name\":{},\"version\":{},\"repository\":{}}}",
                    json!(n),
                    json!(v),
                    json!(r)
                )
            })
            .collect();
        format!("[{}]", items.join(","))
    };
    let text = format!("[{},{}]", list(req), list(lock))
        .replace('>', "\\u003e")
        .replace('<', "\\u003c")
        .replace('&', "\\u0026");
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    )
}

#[tokio::test]
async fn dependency_update_locks_and_build_restores_as_helm() {
    let env = Env::start().await;
    let files = HashMap::from([
        (
            "/charts/index.yaml".to_string(),
            index(&[
                ("1.0.0", "hello-1.0.0.tgz"),
                ("1.1.0", "hello-1.1.0.tgz"),
                ("2.0.0", "hello-2.0.0.tgz"),
            ]),
        ),
        ("/charts/hello-1.0.0.tgz".to_string(), packed(&env, "1.0.0")),
        ("/charts/hello-1.1.0.tgz".to_string(), packed(&env, "1.1.0")),
        ("/charts/hello-2.0.0.tgz".to_string(), packed(&env, "2.0.0")),
    ]);
    let repo = Repo::start(files, None).await;
    let url = format!("{}/charts", repo.url);
    let config = env.dir.path().join("helm-config");
    let cache = env.dir.path().join("helm-cache");
    write_file(
        &config.join("repositories.yaml"),
        &format!(
            "apiVersion: \"\"\ngenerated: \"0001-01-01T00:00:00Z\"\nrepositories:\n- name: local\n  url: {url}\n"
        ),
    );
    let vars = [
        ("HELM_CONFIG_HOME", config.as_path()),
        ("HELM_CACHE_HOME", cache.as_path()),
    ];
    let parent = env.dir.path().join("parent");
    let deps = "dependencies:\n- name: hello\n  version: ^1.0.0\n  repository: '@local'\n- name: sub\n  version: '>=0.1.0'\n  repository: file://../sub\n";
    chart_dir(&parent, "parent", "0.1.0", deps);
    chart_dir(&env.dir.path().join("sub"), "sub", "0.2.0", "");
    let p = path(&parent);

    // Without them, the chart is refused as Helm refuses it.
    let (ok, _, err) = berth_process(&["template", "web", &p], &vars).await;
    assert!(!ok);
    assert!(
        err.contains("found in Chart.yaml, but missing in charts/ directory: hello, sub"),
        "{err}"
    );

    let (ok, out, err) = berth_process(&["dependency", "update", &p], &vars).await;
    assert!(ok, "{err}");
    for line in [
        "Hang tight while we grab the latest from your chart repositories...",
        "...Successfully got an update from the \"local\" chart repository",
        "Saving 2 charts",
        &format!("Downloading hello from repo {url}"),
        "Deleting outdated charts",
    ] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }
    // The newest version ^1.0.0 takes; the local chart packed.
    assert_eq!(charts_of(&parent), ["hello-1.1.0.tgz", "sub-0.2.0.tgz"]);
    let lock_text = std::fs::read_to_string(parent.join("Chart.lock")).unwrap();
    let lock: Value = serde_saphyr::from_str(&lock_text).unwrap();
    // The alias became the repository's URL, in the lock and in the digest.
    let locked = json!([
        {"name": "hello", "repository": url, "version": "1.1.0"},
        {"name": "sub", "repository": "file://../sub", "version": "0.2.0"},
    ]);
    assert_eq!(lock["dependencies"], locked, "{lock_text}");
    let req = [
        ["hello", "^1.0.0", url.as_str()],
        ["sub", ">=0.1.0", "file://../sub"],
    ];
    let locked = [
        ["hello", "1.1.0", url.as_str()],
        ["sub", "0.2.0", "file://../sub"],
    ];
    assert_eq!(lock["digest"], json!(helm_digest(&req, &locked)));
    assert!(
        lock_text.starts_with("dependencies:\n- name: hello\n"),
        "{lock_text}"
    );

    // Real Helm renders the chart as charts/ now holds it, as berth does.
    let script = "import json,sys\nfrom helm_python import Chart\nout = Chart.load(sys.argv[1]).render(name='web')\nprint(json.dumps(sorted(out)))";
    let helm = real_helm(script, &[&p]).await;
    let helm_files = String::from_utf8_lossy(&helm);
    assert!(
        helm_files.contains("parent/charts/sub/templates/cm.yaml"),
        "{helm_files}"
    );
    assert!(helm_files.contains("parent/charts/hello/"), "{helm_files}");
    let (ok, text, err) = berth_process(&["template", "web", &p], &vars).await;
    assert!(ok, "{err}");
    assert!(text.contains("name: web-sub"), "{text}");
    assert!(text.contains("# Source: parent/charts/hello/"), "{text}");

    // Both are where they should be.
    let (ok, out, _) = berth_process(&["dependency", "list", &p], &vars).await;
    assert!(ok);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .take(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["hello", "^1.0.0", "@local", "ok"],
            vec!["sub", ">=0.1.0", "file://../sub", "ok"],
        ],
        "{out}"
    );

    // build brings back exactly what the lock names, and leaves it alone.
    std::fs::remove_dir_all(parent.join("charts")).unwrap();
    let (ok, _, err) = berth_process(&["dependency", "build", &p, "--skip-refresh"], &vars).await;
    assert!(ok, "{err}");
    assert_eq!(charts_of(&parent), ["hello-1.1.0.tgz", "sub-0.2.0.tgz"]);
    assert_eq!(
        std::fs::read_to_string(parent.join("Chart.lock")).unwrap(),
        lock_text
    );

    // Chart.yaml changed: the lock is stale until updated, and the update
    // removes the version no longer wanted.
    let narrower = deps.replace("^1.0.0", "~1.0.0");
    chart_dir(&parent, "parent", "0.1.0", &narrower);
    let (ok, _, err) = berth_process(&["dependency", "build", &p], &vars).await;
    assert!(!ok);
    assert!(
        err.contains(
            "the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml)"
        ),
        "{err}"
    );
    let (ok, _, err) = berth_process(&["dep", "up", &p, "--skip-refresh"], &vars).await;
    assert!(ok, "{err}");
    assert_eq!(charts_of(&parent), ["hello-1.0.0.tgz", "sub-0.2.0.tgz"]);
    assert!(
        std::fs::read_to_string(parent.join("Chart.lock"))
            .unwrap()
            .contains("version: 1.0.0"),
    );

    // --dependency-update fetches what charts/ lacks before templating or
    // installing; progress goes to stderr, the manifests alone to stdout.
    std::fs::remove_dir_all(parent.join("charts")).unwrap();
    let (ok, text, err) =
        berth_process(&["template", "web", &p, "--dependency-update"], &vars).await;
    assert!(ok, "{err}");
    assert!(err.contains("Saving 2 charts"), "{err}");
    assert!(text.starts_with("---\n# Source: "), "{text}");
    assert!(text.contains("name: web-sub"), "{text}");
    std::fs::remove_dir_all(parent.join("charts")).unwrap();
    let conn = env.conn_args();
    let mut args = vec!["install", "web", &p, "--dependency-update"];
    args.extend(conn.iter().map(String::as_str));
    let (ok, out, err) = berth_process(&args, &vars).await;
    assert!(ok, "{err}");
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert!(
        env.get("v1", "ConfigMap", "default", "web-sub")
            .await
            .is_some()
    );

    // What cannot be found is named, and charts/ is left as it was.
    let before = charts_of(&parent);
    chart_dir(
        &parent,
        "parent",
        "0.1.0",
        &deps.replace("^1.0.0", "^3.0.0"),
    );
    let (ok, _, err) = berth_process(&["dependency", "update", &p], &vars).await;
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "can't get a valid version for 1 subchart(s): \"hello\" (repository \"{url}\", version \"^3.0.0\")"
        )),
        "{err}"
    );
    assert_eq!(charts_of(&parent), before);
    chart_dir(
        &parent,
        "parent",
        "0.1.0",
        &deps.replace("'@local'", "stable"),
    );
    let (ok, _, err) = berth_process(&["dependency", "update", &p], &vars).await;
    assert!(!ok);
    assert!(
        err.contains("no repository definition for stable. Please add them via 'berth repo add'"),
        "{err}"
    );
}

/// Every status `helm dependency list` gives, from a chart set up to show
/// each, against real Helm's list of the same chart.
#[tokio::test]
async fn dependency_list_statuses_are_helms() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("top");
    let deps = [
        ("ok", "1.0.0"),
        ("wrong", "^2.0.0"),
        ("absent", "1.0.0"),
        ("unpacked", "~1.0"),
        ("misnamed", "1.0.0"),
        ("many", "1.0.0"),
        ("invalid", "not-a-version"),
    ];
    let mut extra = "dependencies:\n".to_string();
    for (name, version) in deps {
        extra += &format!(
            "- name: {name}\n  version: {version:?}\n  repository: https://charts.invalid\n"
        );
    }
    chart_dir(&top, "top", "0.1.0", &extra);
    let charts = top.join("charts");
    let pack = |name: &str, version: &str, file: &str| {
        let src = dir.path().join(format!("src-{file}"));
        chart_dir(&src, name, version, "");
        let files = berth::chart::load_path(&src, &Default::default()).unwrap();
        std::fs::create_dir_all(&charts).unwrap();
        std::fs::write(charts.join(file), berth::chart::pack(&files, name).unwrap()).unwrap();
    };
    pack("ok", "1.0.0", "ok-1.0.0.tgz");
    pack("wrong", "1.0.0", "wrong-1.0.0.tgz");
    chart_dir(&charts.join("unpacked"), "unpacked", "1.0.3", "");
    pack("other", "1.0.0", "misnamed-1.0.0.tgz");
    pack("many", "1.0.0", "many-1.0.0.tgz");
    pack("many", "1.1.0", "many-1.1.0.tgz");
    chart_dir(&charts.join("invalid"), "invalid", "1.0.0", "");

    let p = path(&top);
    let (ok, out, err) = berth_process(&["dependency", "list", &p], &[]).await;
    assert!(ok, "{err}");
    let berth: Vec<(String, String)> = out
        .lines()
        .skip(1)
        .take(deps.len())
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            (cells[0].to_string(), cells[3..].join(" "))
        })
        .collect();
    let script = "import json,sys\nfrom helm_python.chart import dependency_list\nprint(json.dumps([[d['name'], d['status']] for d in dependency_list(sys.argv[1])]))";
    let helm = real_helm(script, &[&p]).await;
    let helm: Vec<(String, String)> = serde_json::from_slice(&helm).unwrap();
    assert_eq!(berth, helm, "{out}");
    let statuses: Vec<&str> = berth.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "ok",
            "wrong version",
            "missing",
            "unpacked",
            "misnamed",
            "too many matches",
            "invalid version"
        ]
    );
    // What charts/ holds that Chart.yaml does not name.
    let other = charts.join("misnamed-1.0.0.tgz");
    assert!(
        out.contains(&format!(
            "WARNING: {:?} is not in Chart.yaml.",
            path(&other)
        )),
        "{out}"
    );

    // Not a chart, and a chart without dependencies: one line each.
    let (ok, _, err) = berth_process(&["dependency", "list", &path(dir.path())], &[]).await;
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    let plain = dir.path().join("plain");
    chart_dir(&plain, "plain", "1.0.0", "");
    let (ok, out, _) = berth_process(&["dependency", "list", &path(&plain)], &[]).await;
    assert!(ok);
    assert_eq!(
        out.trim(),
        format!(
            "WARNING: no dependencies at {}",
            path(&plain.join("charts"))
        )
    );
}

/// A dependency from an oci:// registry: locked at the newest tag its
/// constraint takes, and pulled again by that tag on build.
#[tokio::test]
async fn an_oci_dependency_is_locked_at_the_newest_tag_it_takes() {
    let env = Env::start().await;
    let mut files = HashMap::from([(
        "/v2/charts/hello/tags/list".to_string(),
        br#"{"name":"charts/hello","tags":["1.0.0","1.1.0","2.0.0"]}"#.to_vec(),
    )]);
    let mut manifest_digests = HashMap::new();
    for v in ["1.0.0", "1.1.0", "2.0.0"] {
        let tgz = packed(&env, v);
        let digest = berth::chart::sha256_hex(&tgz);
        let manifest = format!(
            r#"{{"schemaVersion":2,"layers":[{{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"sha256:{digest}","size":1}}]}}"#
        )
        .into_bytes();
        let manifest_digest = format!("sha256:{}", berth::chart::sha256_hex(&manifest));
        files.insert(
            format!("/v2/charts/hello/manifests/{manifest_digest}"),
            manifest.clone(),
        );
        files.insert(format!("/v2/charts/hello/manifests/{v}"), manifest);
        files.insert(format!("/v2/charts/hello/blobs/sha256:{digest}"), tgz);
        manifest_digests.insert(v, manifest_digest);
    }
    // A registry answering for a digest with a manifest that is not it.
    let lying = format!("sha256:{}", "b".repeat(64));
    let real = files["/v2/charts/hello/manifests/1.0.0"].clone();
    files.insert(format!("/v2/charts/hello/manifests/{lying}"), real);
    let registry = Repo::start(files, None).await;
    let oci = format!(
        "oci://{}/charts",
        registry.url.trim_start_matches("http://")
    );
    let parent = env.dir.path().join("parent");
    chart_dir(
        &parent,
        "parent",
        "0.1.0",
        &format!("dependencies:\n- name: hello\n  version: 1.x\n  repository: {oci}\n"),
    );
    let p = path(&parent);
    let home = env.dir.path().join("helm-home");
    let vars = [("HELM_CONFIG_HOME", home.as_path())];
    let (ok, out, err) = berth_process(&["dependency", "update", &p, "--plain-http"], &vars).await;
    assert!(ok, "{err}");
    // Helm's registry client says what it pulled, after the download's line.
    let host = registry.url.trim_start_matches("http://");
    assert!(
        out.contains(&format!(
            "Downloading hello from repo {oci}\nPulled: {host}/charts/hello:1.1.0\nDigest: {}\n",
            manifest_digests["1.1.0"]
        )),
        "{out}"
    );
    assert_eq!(charts_of(&parent), ["hello-1.1.0.tgz"]);
    let lock = std::fs::read_to_string(parent.join("Chart.lock")).unwrap();
    assert!(
        lock.starts_with(&format!(
            "dependencies:\n- name: hello\n  repository: {oci}\n  version: 1.1.0\n"
        )),
        "{lock}"
    );

    std::fs::remove_dir_all(parent.join("charts")).unwrap();
    let (ok, _, err) = berth_process(&["dependency", "build", &p, "--plain-http"], &vars).await;
    assert!(ok, "{err}");
    assert_eq!(charts_of(&parent), ["hello-1.1.0.tgz"]);
    let pulled: Vec<String> = registry
        .requests()
        .into_iter()
        .map(|(target, _)| target)
        .filter(|t| t.contains("/manifests/"))
        .collect();
    assert_eq!(
        pulled,
        [
            "/v2/charts/hello/manifests/1.1.0",
            "/v2/charts/hello/manifests/1.1.0"
        ]
    );

    // A chart pinned by its manifest's digest, named by its own version;
    // a digest the registry's manifest does not have is refused.
    let dest = env.dir.path().join("by-digest");
    let d = path(&dest);
    let pinned = format!("{oci}/hello@{}", manifest_digests["2.0.0"]);
    let (ok, out, err) = berth_process(&["pull", &pinned, "--plain-http", "-d", &d], &vars).await;
    assert!(ok, "{err}");
    assert!(dest.join("hello-2.0.0.tgz").exists());
    // What Helm's pull prints: the reference with its digest, on stdout.
    let digest = &manifest_digests["2.0.0"];
    assert_eq!(
        out,
        format!("Pulled: {host}/charts/hello@{digest}\nDigest: {digest}\n")
    );
    let (ok, _, err) = berth_process(
        &[
            "pull",
            &pinned,
            "--plain-http",
            "-d",
            &d,
            "--version",
            "1.x",
        ],
        &vars,
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("is version 2.0.0, which --version 1.x does not take"),
        "{err}"
    );
    let forged = format!("{oci}/hello@{lying}");
    let (ok, _, err) = berth_process(&["pull", &forged, "--plain-http", "-d", &d], &vars).await;
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "the manifest's digest is {}, not {lying}",
            manifest_digests["1.0.0"]
        )),
        "{err}"
    );
}

/// berth's `dependency update` and real Helm's of the same chart write
/// the same Chart.lock (but for its time) and the same charts/.
#[tokio::test]
async fn dependency_update_writes_what_helms_writes() {
    let env = Env::start().await;
    let files = HashMap::from([
        (
            "/charts/index.yaml".to_string(),
            index(&[("1.0.0", "hello-1.0.0.tgz"), ("1.1.0", "hello-1.1.0.tgz")]),
        ),
        ("/charts/hello-1.0.0.tgz".to_string(), packed(&env, "1.0.0")),
        ("/charts/hello-1.1.0.tgz".to_string(), packed(&env, "1.1.0")),
    ]);
    let repo = Repo::start(files, None).await;
    let url = format!("{}/charts", repo.url);
    let root = env.dir.path();
    chart_dir(
        &root.join("sub"),
        "sub",
        "0.2.0",
        "description: packed from its directory\nunknown: dropped\n",
    );
    let deps = format!(
        "dependencies:\n- name: hello\n  version: ^1.0.0\n  repository: {url}\n  condition: hello.enabled\n  tags: [web]\n  import-values: [{{child: a, parent: b}}]\n- name: sub\n  version: '>=0.1.0 <1'\n  repository: file://../sub\n  alias: helper\n- name: inner\n  version: 0.x\n  repository: \"\"\n"
    );
    for copy in ["ours", "helms"] {
        let dir = root.join(copy);
        chart_dir(&dir, "parent", "0.1.0", &deps);
        chart_dir(&dir.join("charts/inner"), "inner", "0.3.0", "");
    }
    let home = root.join("helm-home");
    let vars = [
        ("HELM_CONFIG_HOME", home.as_path()),
        ("HELM_CACHE_HOME", home.as_path()),
    ];
    let (ok, _, err) =
        berth_process(&["dependency", "update", &path(&root.join("ours"))], &vars).await;
    assert!(ok, "{err}");
    let script = "import sys\nfrom helm_python.registry import dependency_update\ndependency_update(sys.argv[1])";
    real_helm(script, &[&path(&root.join("helms"))]).await;

    let lock = |copy: &str| -> Value {
        let text = std::fs::read_to_string(root.join(copy).join("Chart.lock")).unwrap();
        let mut v: Value = serde_saphyr::from_str(&text).unwrap();
        v.as_object_mut().unwrap().remove("generated");
        v
    };
    assert_eq!(lock("ours"), lock("helms"));
    assert_eq!(
        charts_of(&root.join("ours")),
        charts_of(&root.join("helms"))
    );
    for file in charts_of(&root.join("ours")) {
        let (a, b) = (
            root.join("ours/charts").join(&file),
            root.join("helms/charts").join(&file),
        );
        if a.is_file() {
            assert_eq!(archive_files(&a), archive_files(&b), "{file}");
        }
    }
    // The lock real Helm wrote is one berth's build takes (build wants
    // the repository added, as Helm's does).
    let (ok, _, err) = berth_process(&["repo", "add", "local", &url], &vars).await;
    assert!(ok, "{err}");
    let helms = root.join("helms");
    for file in charts_of(&helms) {
        if file.ends_with(".tgz") {
            std::fs::remove_file(helms.join("charts").join(file)).unwrap();
        }
    }
    let (ok, _, err) = berth_process(&["dependency", "build", &path(&helms)], &vars).await;
    assert!(ok, "{err}");
    assert_eq!(charts_of(&helms), charts_of(&root.join("ours")));
}

/// A v1 chart keeps its dependencies in requirements.yaml and its lock in
/// requirements.lock: berth's update writes what real Helm's does, and its
/// build takes the lock Helm wrote.
#[tokio::test]
async fn a_v1_charts_requirements_lock_is_helms() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    chart_dir(&root.join("sub"), "sub", "0.2.0", "");
    for copy in ["ours", "helms"] {
        let c = root.join(copy);
        write_file(
            &c.join("Chart.yaml"),
            "apiVersion: v1\nname: old\nversion: 0.1.0\n",
        );
        write_file(
            &c.join("requirements.yaml"),
            "dependencies:\n- name: sub\n  version: '>=0.1.0'\n  repository: file://../sub\n",
        );
    }
    let home = root.join("helm-home");
    let vars = [
        ("HELM_CONFIG_HOME", home.as_path()),
        ("HELM_CACHE_HOME", home.as_path()),
    ];
    let ours = root.join("ours");
    let (ok, _, err) = berth_process(&["dependency", "update", &path(&ours)], &vars).await;
    assert!(ok, "{err}");
    let script = "import sys\nfrom helm_python.registry import dependency_update\ndependency_update(sys.argv[1])";
    real_helm(script, &[&path(&root.join("helms"))]).await;
    let lock = |copy: &str| -> Value {
        let text = std::fs::read_to_string(root.join(copy).join("requirements.lock")).unwrap();
        let mut v: Value = serde_saphyr::from_str(&text).unwrap();
        v.as_object_mut().unwrap().remove("generated");
        v
    };
    assert_eq!(lock("ours"), lock("helms"));
    assert!(!ours.join("Chart.lock").exists());
    assert_eq!(charts_of(&ours), ["sub-0.2.0.tgz"]);

    // Helm's lock builds with berth.
    std::fs::remove_dir_all(root.join("helms/charts")).unwrap();
    let (ok, _, err) =
        berth_process(&["dependency", "build", &path(&root.join("helms"))], &vars).await;
    assert!(ok, "{err}");
    assert_eq!(charts_of(&root.join("helms")), ["sub-0.2.0.tgz"]);
}
