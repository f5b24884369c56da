//! Charts from repositories, found as Helm finds them: `--repo URL` with a
//! `--version` constraint, `repo/chart` from Helm's repositories.yaml and
//! its cached index, a chart archive's URL; with basic auth kept to the
//! repository's host, and Helm's words when something is missing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Env, berth_raw, real_helm};

/// Each request's path and Authorization header.
type Requests = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// An answer: status line, headers, body.
type Reply = (&'static str, Vec<(String, String)>, Vec<u8>);

/// What a test server answers to a path and an Authorization header.
type Handler = Arc<dyn Fn(&str, Option<&str>) -> Reply + Send + Sync>;

/// An HTTP/1.1 server on loopback answering with `handler`; its URL and the
/// requests it saw. With `tls`, HTTPS with that server configuration.
async fn serve_with(
    handler: Handler,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (String, Requests) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", listener.local_addr().unwrap());
    let seen: Requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let (handler, log, acceptor) =
                (Arc::clone(&handler), Arc::clone(&log), acceptor.clone());
            tokio::spawn(async move {
                match acceptor {
                    Some(a) => {
                        if let Ok(s) = a.accept(s).await {
                            answer(s, handler, log).await;
                        }
                    }
                    None => answer(s, handler, log).await,
                }
            });
        }
    });
    (url, seen)
}

async fn serve(handler: Handler) -> (String, Requests) {
    serve_with(handler, None).await
}

/// Read one request from `s` and write the handler's answer.
async fn answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut s: S,
    handler: Handler,
    log: Requests,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let authorization = head.lines().find_map(|l| {
        let (k, v) = l.split_once(": ")?;
        k.eq_ignore_ascii_case("authorization")
            .then(|| v.to_string())
    });
    log.lock()
        .unwrap()
        .push((target.clone(), authorization.clone()));
    let (status, headers, body) = handler(&target, authorization.as_deref());
    let mut head = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes()).await;
    let _ = s.write_all(&body).await;
    let _ = s.shutdown().await;
}

/// A chart repository on loopback: paths to bodies, and the requests.
pub(crate) struct Repo {
    pub(crate) url: String,
    seen: Requests,
}

impl Repo {
    /// Serve `files` (and /moved/P as a redirect to /P); with `auth`, only
    /// to requests that carry it.
    pub(crate) async fn start(files: HashMap<String, Vec<u8>>, auth: Option<&'static str>) -> Repo {
        let handler: Handler = Arc::new(move |target, authorization| {
            if let Some(to) = target.strip_prefix("/moved/") {
                return (
                    "302 Found",
                    vec![("location".into(), format!("/{to}"))],
                    Vec::new(),
                );
            }
            if auth.is_some() && authorization != auth {
                return ("401 Unauthorized", Vec::new(), Vec::new());
            }
            match files.get(target) {
                Some(b) => ("200 OK", Vec::new(), b.clone()),
                None => ("404 Not Found", Vec::new(), Vec::new()),
            }
        });
        let (url, seen) = serve(handler).await;
        Repo { url, seen }
    }

    pub(crate) fn requests(&self) -> Vec<(String, Option<String>)> {
        self.seen.lock().unwrap().clone()
    }
}

/// The berth binary in a process of its own, for an environment of its own:
/// Helm's path variables cleared, then `vars` set. Async, as the
/// repositories serve on the test's runtime. Success, stdout, stderr.
pub(crate) async fn berth_process(
    args: &[&str],
    vars: &[(&str, &std::path::Path)],
) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new(crate::common::bin_dir().join("berth"));
    cmd.args(args);
    for var in [
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "HELM_CONFIG_HOME",
        "HELM_DATA_HOME",
        "HELM_CACHE_HOME",
        "HELM_REPOSITORY_CONFIG",
        "HELM_REPOSITORY_CACHE",
        "HELM_REGISTRY_CONFIG",
        "HELM_CONTENT_CACHE",
    ] {
        cmd.env_remove(var);
    }
    // Charts it pulls go to this test binary's content cache (main.rs),
    // unless the test names a cache home of its own.
    if !vars
        .iter()
        .any(|(k, _)| *k == "HELM_CACHE_HOME" || *k == "HELM_CONTENT_CACHE")
        && let Some(own) = std::env::var_os("HELM_CONTENT_CACHE")
    {
        cmd.env("HELM_CONTENT_CACHE", own);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The demo chart at `version`, packed as a repository serves it.
pub(crate) fn packed(env: &Env, version: &str) -> Vec<u8> {
    let dir = env.chart(version);
    let files = berth::chart::load_path(std::path::Path::new(&dir), &Default::default()).unwrap();
    berth::chart::pack(&files, "hello").unwrap()
}

pub(crate) fn index(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut text = "apiVersion: v1\nentries:\n  hello:\n".to_string();
    for (version, url) in entries {
        text.push_str(&format!(
            "    - name: hello\n      version: {version}\n      urls: [{url}]\n"
        ));
    }
    text.into_bytes()
}

#[tokio::test]
async fn a_chart_comes_from_a_repository_by_version_constraint() {
    let env = Env::start().await;
    let files = HashMap::from([
        (
            "/charts/index.yaml".to_string(),
            index(&[
                ("1.0.0", "hello-1.0.0.tgz"),
                ("1.1.0", "/moved/charts/hello-1.1.0.tgz"),
                ("2.0.0-beta.1", "hello-2.0.0-beta.1.tgz"),
            ]),
        ),
        ("/charts/hello-1.0.0.tgz".to_string(), packed(&env, "1.0.0")),
        ("/charts/hello-1.1.0.tgz".to_string(), packed(&env, "1.1.0")),
    ]);
    let repo = Repo::start(files, Some("Basic dXNlcjpwYXNz")).await;
    let charts = format!("{}/charts", repo.url);
    let creds = ["--username", "user", "--password", "pass"];

    // The newest stable version, through a redirect, credentials sent.
    let args = [
        &["install", "hello", "hello", "--repo", &charts][..],
        &creds,
    ]
    .concat();
    let out = env.berth(&args).await.ok();
    assert!(out.stdout.contains("chart hello-1.1.0"), "{}", out.stdout);
    assert!(
        repo.requests()
            .iter()
            .all(|(_, a)| a.as_deref() == Some("Basic dXNlcjpwYXNz")),
        "{:?}",
        repo.requests()
    );
    // A constraint picks an older one.
    let args = [
        &[
            "upgrade",
            "hello",
            "hello",
            "--repo",
            &charts,
            "--version",
            "~1.0",
        ][..],
        &creds,
    ]
    .concat();
    let out = env.berth(&args).await.ok();
    assert!(out.stdout.contains("chart hello-1.0.0"), "{}", out.stdout);

    // Helm's words when the repository, the chart or the version is not there.
    let args = [
        &["template", "hello", "--repo", &charts, "--version", "3.x"][..],
        &creds,
    ]
    .concat();
    let missing = berth_raw(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .await
        .failed();
    assert!(
        missing.stderr.contains(&format!(
            "chart \"hello\" version \"3.x\" not found in {charts} repository"
        )),
        "{}",
        missing.stderr
    );
    let unauthorized = berth_raw(&[
        "template".into(),
        "hello".into(),
        "--repo".into(),
        charts.clone(),
    ])
    .await
    .failed();
    assert!(
        unauthorized.stderr.contains(&format!(
            "looks like \"{charts}\" is not a valid chart repository or cannot be reached: failed to fetch {charts}/index.yaml : 401 Unauthorized"
        )),
        "{}",
        unauthorized.stderr
    );
    // --devel takes pre-releases too (none is downloadable here).
    let args = [
        &["template", "hello", "--repo", &charts, "--devel"][..],
        &creds,
    ]
    .concat();
    let devel = berth_raw(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .await
        .failed();
    assert!(
        devel
            .stderr
            .contains("hello-2.0.0-beta.1.tgz : 404 Not Found"),
        "{}",
        devel.stderr
    );
}

#[tokio::test]
async fn repo_slash_chart_reads_helms_repositories_and_cached_index() {
    let env = Env::start().await;
    // The index names the archive on another host: no credentials go there.
    let cdn = Repo::start(
        HashMap::from([("/hello-1.0.0.tgz".to_string(), packed(&env, "1.0.0"))]),
        None,
    )
    .await;
    let repo = Repo::start(HashMap::new(), None).await;
    let config = env.dir.path().join("helm-config");
    let cache = env.dir.path().join("helm-cache");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::create_dir_all(cache.join("repository")).unwrap();
    std::fs::write(
        config.join("repositories.yaml"),
        format!(
            "apiVersion: \"\"\ngenerated: \"0001-01-01T00:00:00Z\"\nrepositories:\n- name: local\n  url: {}\n  username: user\n  password: pass\n",
            repo.url
        ),
    )
    .unwrap();
    std::fs::write(
        cache.join("repository/local-index.yaml"),
        index(&[("1.0.0", &format!("{}/hello-1.0.0.tgz", cdn.url))]),
    )
    .unwrap();
    let env_vars = [
        ("HELM_CONFIG_HOME", config.as_path()),
        ("HELM_CACHE_HOME", cache.as_path()),
    ];
    let (ok, text, err) = berth_process(&["template", "web", "local/hello"], &env_vars).await;
    assert!(ok, "{err}");
    assert!(text.contains("name: web"), "{text}");
    assert_eq!(cdn.requests(), [("/hello-1.0.0.tgz".to_string(), None)]);

    let (_, _, err) = berth_process(&["template", "web", "other/hello"], &env_vars).await;
    assert_eq!(err.trim(), "Error: repo other not found");
    let (_, _, err) = berth_process(&["template", "web", "local/nope"], &env_vars).await;
    assert!(
        err.contains(
            "chart \"nope\" matching  not found in local index. (try 'berth repo update' or 'helm repo update'): no chart name found"
        ),
        "{err}"
    );

    // A chart archive's URL works as it is.
    let direct = format!("{}/hello-1.0.0.tgz", cdn.url);
    let out = env.berth(&["install", "direct", &direct]).await.ok();
    assert!(out.stdout.contains("chart hello-1.0.0"), "{}", out.stdout);
}

/// Helm v4's content cache: a chart whose index gives its sha256 is kept as
/// `<cache home>/content/<first byte>/<sha256>.chart` and read from there
/// next time, without a download; a cached file that is not that content
/// is fetched again and replaced; `--content-cache` puts the cache
/// elsewhere; an index digest the archive does not have makes no entry and
/// no error.
#[tokio::test]
async fn charts_an_index_gives_a_digest_are_kept_in_helms_content_cache() {
    let env = Env::start().await;
    let tgz = packed(&env, "1.0.0");
    let digest = berth::chart::sha256_hex(&tgz);
    let entry = |digest: &str| {
        format!(
            "apiVersion: v1\nentries:\n  hello:\n    - name: hello\n      version: 1.0.0\n      \
             digest: {digest}\n      urls: [hello-1.0.0.tgz]\n"
        )
        .into_bytes()
    };
    let repo = Repo::start(
        HashMap::from([
            ("/good/index.yaml".to_string(), entry(&digest)),
            ("/good/hello-1.0.0.tgz".to_string(), tgz.clone()),
            ("/stale/index.yaml".to_string(), entry(&"ab".repeat(32))),
            ("/stale/hello-1.0.0.tgz".to_string(), tgz.clone()),
        ]),
        None,
    )
    .await;
    let cache = env.dir.path().join("helm-cache");
    let vars = [("HELM_CACHE_HOME", cache.as_path())];
    let downloads = || {
        repo.requests()
            .iter()
            .filter(|(p, _)| p.ends_with(".tgz"))
            .count()
    };
    let template = |repo_dir: &str, extra: &[&str]| {
        let url = format!("{}/{repo_dir}", repo.url);
        let args: Vec<String> = [&["template", "web", "hello", "--repo", &url][..], extra]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (ok, text, err) = berth_process(&args, &vars).await;
            assert!(ok && text.contains("name: web"), "{err}");
        }
    };
    let cached = cache
        .join("content")
        .join(&digest[..2])
        .join(format!("{digest}.chart"));
    template("good", &[]).await;
    assert_eq!(downloads(), 1);
    assert_eq!(std::fs::read(&cached).unwrap(), tgz);
    template("good", &[]).await;
    assert_eq!(downloads(), 1, "read from the cache");
    // Damaged: downloaded again and replaced.
    std::fs::write(&cached, b"not a chart").unwrap();
    template("good", &[]).await;
    assert_eq!(downloads(), 2);
    assert_eq!(std::fs::read(&cached).unwrap(), tgz);
    // --content-cache (as $HELM_CONTENT_CACHE) names another directory.
    let other = env.dir.path().join("other-cache");
    let other_text = crate::common::path(&other);
    template("good", &["--content-cache", &other_text]).await;
    assert_eq!(downloads(), 3);
    let elsewhere = other.join(&digest[..2]).join(format!("{digest}.chart"));
    assert_eq!(std::fs::read(&elsewhere).unwrap(), tgz);
    template("good", &["--content-cache", &other_text]).await;
    assert_eq!(downloads(), 3);
    // A digest the archive does not have: no entry, no error.
    template("stale", &[]).await;
    template("stale", &[]).await;
    assert_eq!(downloads(), 5);
    let stale = cache.join("content").join("ab");
    assert!(!stale.exists(), "{}", stale.display());
    // A dependency's download too (Helm's dependency update reads it there).
    let parent = env.dir.path().join("parent");
    crate::common::write_file(
        &parent.join("Chart.yaml"),
        &format!(
            "apiVersion: v2\nname: parent\nversion: 1.0.0\ndependencies:\n- name: hello\n  version: 1.0.0\n  repository: {}/good\n",
            repo.url
        ),
    );
    let parent_text = crate::common::path(&parent);
    let (ok, _, err) = berth_process(&["dependency", "update", &parent_text], &vars).await;
    assert!(ok, "{err}");
    assert_eq!(downloads(), 5, "from the cache");
    assert_eq!(
        std::fs::read(parent.join("charts/hello-1.0.0.tgz")).unwrap(),
        tgz
    );
    // `berth env` shows where it is, as `helm env`.
    let (_, text, _) = berth_process(&["env", "HELM_CONTENT_CACHE"], &vars).await;
    assert_eq!(text, format!("{}\n", cache.join("content").display()));
}

#[tokio::test]
async fn repo_add_update_list_remove_keep_helms_files() {
    let env = Env::start().await;
    let files = HashMap::from([
        (
            "/stable/index.yaml".to_string(),
            index(&[("1.0.0", "hello-1.0.0.tgz")]),
        ),
        ("/stable/hello-1.0.0.tgz".to_string(), packed(&env, "1.0.0")),
    ]);
    let repo = Repo::start(files, None).await;
    let home = env.dir.path().join("home");
    let home_var = [("HOME", home.as_path())];
    let url = format!("{}/stable", repo.url);
    let (ok, out, err) = berth_process(&["repo", "add", "local", &url], &home_var).await;
    assert!(ok, "{err}");
    assert_eq!(out, "\"local\" has been added to your repositories\n");
    // Where Helm keeps them, in its format.
    let config = std::fs::read_to_string(home.join(".config/helm/repositories.yaml")).unwrap();
    assert!(config.contains("name: local"), "{config}");
    assert!(config.contains(&format!("url: {url}")), "{config}");
    assert!(
        home.join(".cache/helm/repository/local-index.yaml")
            .exists()
    );

    let (ok, out, _) = berth_process(&["repo", "add", "local", &url], &home_var).await;
    assert!(ok);
    assert!(out.contains("already exists with the same configuration, skipping"));
    let (ok, _, err) = berth_process(
        &["repo", "add", "local", "http://127.0.0.1:1/other"],
        &home_var,
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("repository name (local) already exists, please specify a different name"),
        "{err}"
    );
    let (ok, _, err) = berth_process(
        &["repo", "add", "broken", "http://127.0.0.1:1/x"],
        &home_var,
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("looks like \"http://127.0.0.1:1/x\" is not a valid chart repository or cannot be reached"),
        "{err}"
    );

    let (ok, out, _) = berth_process(&["repo", "list"], &home_var).await;
    assert!(ok);
    assert!(out.contains("local") && out.contains(&url), "{out}");
    // Helm's aliases: `repo ls`, `repo up`.
    let (ok, listed, _) = berth_process(&["repo", "ls"], &home_var).await;
    assert!(ok);
    assert_eq!(listed, out);
    let (ok, out, err) = berth_process(&["repo", "up"], &home_var).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("...Successfully got an update from the \"local\" chart repository"),
        "{out}"
    );
    let (ok, out, err) = berth_process(&["template", "web", "local/hello"], &home_var).await;
    assert!(ok, "{err}");
    assert!(out.contains("name: web"), "{out}");

    let (ok, out, _) = berth_process(&["repo", "remove", "local"], &home_var).await;
    assert!(ok);
    assert_eq!(out, "\"local\" has been removed from your repositories\n");
    // Helm v4's words, a notice on stderr and no failure (v3 failed).
    let (ok, out, err) = berth_process(&["repo", "list"], &home_var).await;
    assert!(ok, "{err}");
    assert_eq!(
        (out.as_str(), err.as_str()),
        ("", "no repositories to show\n")
    );
    let (ok, out, _) = berth_process(&["repo", "list", "-o", "json"], &home_var).await;
    assert!(ok);
    assert_eq!(out, "[]\n");
    let (ok, _, err) = berth_process(&["template", "web", "local/hello"], &home_var).await;
    assert!(!ok);
    assert!(err.contains("repo local not found"), "{err}");
}

#[tokio::test]
async fn a_chart_comes_from_an_oci_registry_with_a_token() {
    let env = Env::start().await;
    let blobs: HashMap<String, Vec<u8>> = ["1.0.0", "1.1.0"]
        .iter()
        .map(|v| {
            let tgz = packed(&env, v);
            (berth::chart::sha256_hex(&tgz), tgz)
        })
        .collect();
    let digest_of = |v: &str| {
        let tgz = packed(&env, v);
        berth::chart::sha256_hex(&tgz)
    };
    // 9.9.9 names a digest its blob does not have.
    let forged = "a".repeat(64);
    let mut blobs = blobs;
    blobs.insert(forged.clone(), packed(&env, "1.0.0"));
    let manifests: HashMap<String, String> = [
        ("1.0.0", digest_of("1.0.0")),
        ("1.1.0", digest_of("1.1.0")),
        ("9.9.9", forged.clone()),
    ]
    .iter()
    .map(|(v, digest)| {
        (
            v.to_string(),
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:00","size":2}},"layers":[{{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"sha256:{digest}","size":1}}]}}"#
            ),
        )
    })
    .collect();
    let manifest_digest = format!(
        "sha256:{}",
        berth::chart::sha256_hex(manifests["1.1.0"].as_bytes())
    );
    // The token endpoint is the registry itself; everything under /v2
    // wants the token it hands out.
    let realm = Arc::new(Mutex::new(String::new()));
    let realm2 = Arc::clone(&realm);
    let handler: Handler = Arc::new(move |target, authorization| {
        if target.starts_with("/token?") {
            assert!(
                target.contains("scope=repository%3Acharts%2Fhello%3Apull"),
                "{target}"
            );
            return ("200 OK", Vec::new(), br#"{"token":"t0k3n"}"#.to_vec());
        }
        if authorization != Some("Bearer t0k3n") {
            let challenge = format!(
                r#"Bearer realm="{}/token",service="fake",scope="repository:charts/hello:pull""#,
                realm2.lock().unwrap()
            );
            return (
                "401 Unauthorized",
                vec![("www-authenticate".into(), challenge)],
                Vec::new(),
            );
        }
        match target {
            // Two pages: the newest stable tag is on the second.
            "/v2/charts/hello/tags/list" => (
                "200 OK",
                vec![(
                    "link".into(),
                    r#"</v2/charts/hello/tags/list?last=1.0.0&n=1>; rel="next""#.into(),
                )],
                br#"{"name":"charts/hello","tags":["1.0.0"]}"#.to_vec(),
            ),
            "/v2/charts/hello/tags/list?last=1.0.0&n=1" => (
                "200 OK",
                Vec::new(),
                br#"{"name":"charts/hello","tags":["1.1.0","2.0.0-rc.1"]}"#.to_vec(),
            ),
            t => {
                if let Some(tag) = t.strip_prefix("/v2/charts/hello/manifests/")
                    && let Some(m) = manifests.get(tag)
                {
                    return ("200 OK", Vec::new(), m.clone().into_bytes());
                }
                if let Some(d) = t.strip_prefix("/v2/charts/hello/blobs/sha256:")
                    && let Some(b) = blobs.get(d)
                {
                    return ("200 OK", Vec::new(), b.clone());
                }
                ("404 Not Found", Vec::new(), Vec::new())
            }
        }
    });
    let (url, seen) = serve(handler).await;
    *realm.lock().unwrap() = url.clone();
    let reference = format!("oci://{}/charts/hello", url.trim_start_matches("http://"));

    // The newest stable tag, then an exact version, then a tag in the
    // reference itself.
    let out = env
        .berth(&["install", "hello", &reference, "--plain-http"])
        .await
        .ok();
    assert!(out.stdout.contains("chart hello-1.1.0"), "{}", out.stdout);
    let out = env
        .berth(&[
            "upgrade",
            "hello",
            &reference,
            "--plain-http",
            "--version",
            "1.0.0",
        ])
        .await
        .ok();
    assert!(out.stdout.contains("chart hello-1.0.0"), "{}", out.stdout);
    let tagged = format!("{reference}:1.1.0");
    let out = env
        .berth(&["upgrade", "hello", &tagged, "--plain-http"])
        .await
        .ok();
    assert!(out.stdout.contains("chart hello-1.1.0"), "{}", out.stdout);
    // What Helm's registry client says it pulled goes to stderr here,
    // where it cannot spoil the release's output (Helm puts it on stdout).
    assert!(
        out.stderr.contains(&format!(
            "Pulled: {}:1.1.0\nDigest: {manifest_digest}\n",
            reference.trim_start_matches("oci://")
        )),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("Pulled:"), "{}", out.stdout);
    // Pulled twice, downloaded at most once: the second came from Helm's
    // content cache (the first may have too, if another test pulled it).
    let blob = format!("/v2/charts/hello/blobs/sha256:{}", digest_of("1.1.0"));
    let downloads = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| *p == blob)
        .count();
    assert!(downloads <= 1, "{downloads} downloads of {blob}");
    let missing = env
        .berth(&[
            "upgrade",
            "hello",
            &reference,
            "--plain-http",
            "--version",
            "3.x",
        ])
        .await
        .failed();
    assert!(
        missing
            .stderr
            .contains("could not locate a version matching provided version string 3.x"),
        "{}",
        missing.stderr
    );
    let forged_out = env
        .berth(&[
            "upgrade",
            "hello",
            &reference,
            "--plain-http",
            "--version",
            "9.9.9",
        ])
        .await
        .failed();
    assert!(
        forged_out.stderr.contains(&format!(
            "the chart layer's digest is sha256:{}",
            digest_of("1.0.0")
        )),
        "{}",
        forged_out.stderr
    );
    assert_eq!(
        env.berth(&["history", "hello", "-o", "json"])
            .await
            .ok()
            .json()[3],
        serde_json::Value::Null,
        "nothing recorded"
    );
}

#[tokio::test]
async fn an_https_repository_is_verified_unless_told_not_to() {
    let env = Env::start().await;
    // A certificate of its own, no CA anybody trusts.
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let ca_file = env.dir.path().join("repo-ca.pem");
    std::fs::write(&ca_file, cert.pem()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let files = HashMap::from([
        (
            "/index.yaml".to_string(),
            index(&[("1.0.0", "hello-1.0.0.tgz")]),
        ),
        ("/hello-1.0.0.tgz".to_string(), packed(&env, "1.0.0")),
    ]);
    let handler: Handler = Arc::new(move |target, _| match files.get(target) {
        Some(b) => ("200 OK", Vec::new(), b.clone()),
        None => ("404 Not Found", Vec::new(), Vec::new()),
    });
    let (url, _) = serve_with(handler, Some(Arc::new(config))).await;
    let template = |extra: &[&str]| {
        let mut args: Vec<String> = ["template", "web", "hello", "--repo", &url]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        async move { berth_raw(&args).await }
    };
    let refused = template(&[]).await.failed();
    assert!(
        refused.stderr.contains("invalid peer certificate"),
        "{}",
        refused.stderr
    );
    let with_ca = template(&["--ca-file", &crate::common::path(&ca_file)])
        .await
        .ok();
    assert!(with_ca.stdout.contains("name: web"), "{}", with_ca.stdout);
    let insecure = template(&["--insecure-skip-tls-verify"]).await.ok();
    assert!(insecure.stdout.contains("name: web"), "{}", insecure.stdout);
}

/// `registry login` checks the credentials with the registry before it
/// stores them where Helm keeps them; a pull then uses them; `logout`
/// forgets them.
#[tokio::test]
async fn registry_login_checks_and_stores_credentials_as_helm() {
    let env = Env::start().await;
    let tgz = packed(&env, "1.0.0");
    let digest = berth::chart::sha256_hex(&tgz);
    let files = HashMap::from([
        ("/v2/".to_string(), b"{}".to_vec()),
        (
            "/v2/charts/hello/manifests/1.0.0".to_string(),
            format!(
                r#"{{"schemaVersion":2,"layers":[{{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"sha256:{digest}","size":1}}]}}"#
            )
            .into_bytes(),
        ),
        (format!("/v2/charts/hello/blobs/sha256:{digest}"), tgz),
    ]);
    // "user:pass"
    let registry = Repo::start(files, Some("Basic dXNlcjpwYXNz")).await;
    let host = registry.url.trim_start_matches("http://").to_string();
    let config = env.dir.path().join("registry/config.json");
    let vars = [("HELM_REGISTRY_CONFIG", config.as_path())];

    let (ok, _, err) = berth_process(
        &[
            "registry",
            "login",
            &host,
            "-u",
            "user",
            "-p",
            "nope",
            "--plain-http",
        ],
        &vars,
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains(&format!("login to {host} failed:")) && err.contains("401 Unauthorized"),
        "{err}"
    );
    assert!(!config.exists(), "nothing stored for a failed login");

    let mut login = tokio::process::Command::new(crate::common::bin_dir().join("berth"));
    login
        .args([
            "registry",
            "login",
            &host,
            "-u",
            "user",
            "--password-stdin",
            "--plain-http",
        ])
        .env("HELM_REGISTRY_CONFIG", &config)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = login.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"pass\n")
        .await
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Login Succeeded\n");
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert_eq!(stored["auths"][&host]["auth"], "dXNlcjpwYXNz");

    // A pull from the registry now carries them.
    let dest = env.dir.path().join("pulled");
    let reference = format!("oci://{host}/charts/hello");
    let (ok, _, err) = berth_process(
        &[
            "pull",
            &reference,
            "--version",
            "1.0.0",
            "--plain-http",
            "-d",
            &crate::common::path(&dest),
        ],
        &vars,
    )
    .await;
    assert!(ok, "{err}");
    assert!(dest.join("hello-1.0.0.tgz").exists());

    let (ok, out, _) = berth_process(&["registry", "logout", &host], &vars).await;
    assert!(ok);
    assert_eq!(out, format!("Removing login credentials for {host}\n"));
    let (ok, _, err) = berth_process(&["registry", "logout", &host], &vars).await;
    assert!(!ok);
    assert_eq!(err.trim(), format!("Error: not logged in to {host}"));
}

/// What a pushable test registry holds: blobs by digest, manifests by
/// `repository:reference` (tag or digest), uploads in progress.
#[derive(Default)]
struct Store {
    blobs: HashMap<String, Vec<u8>>,
    manifests: HashMap<String, Vec<u8>>,
    uploads: HashMap<String, String>,
}

/// An OCI registry on loopback that takes pushes (the distribution spec's
/// monolithic uploads) and serves what it holds, to requests with `auth`.
pub(crate) struct PushRegistry {
    pub(crate) host: String,
    store: Arc<Mutex<Store>>,
}

impl PushRegistry {
    pub(crate) async fn start(auth: &'static str) -> PushRegistry {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let store = Arc::new(Mutex::new(Store::default()));
        let shared = Arc::clone(&store);
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let store = Arc::clone(&shared);
                tokio::spawn(async move { registry_answer(s, store, auth).await });
            }
        });
        PushRegistry { host, store }
    }

    /// Put an artifact in the store as a push would: its blobs, and its
    /// manifest under `repository:tag` and its digest.
    pub(crate) fn put(
        &self,
        repository: &str,
        tag: &str,
        manifest: &serde_json::Value,
        blobs: &[&[u8]],
    ) {
        let mut st = self.store.lock().unwrap();
        for b in blobs {
            st.blobs.insert(
                format!("sha256:{}", berth::chart::sha256_hex(b)),
                b.to_vec(),
            );
        }
        let m = serde_json::to_vec(manifest).unwrap();
        let digest = format!("sha256:{}", berth::chart::sha256_hex(&m));
        st.manifests
            .insert(format!("{repository}:{digest}"), m.clone());
        st.manifests.insert(format!("{repository}:{tag}"), m);
    }

    fn manifest(&self, key: &str) -> serde_json::Value {
        let store = self.store.lock().unwrap();
        serde_json::from_slice(&store.manifests[key]).unwrap()
    }
}

async fn registry_answer(mut s: tokio::net::TcpStream, store: Arc<Mutex<Store>>, auth: &str) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut first = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (
        first.next().unwrap_or("").to_string(),
        first.next().unwrap_or("/").to_string(),
    );
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let length: usize = header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let (status, headers, out): (&str, Vec<(String, String)>, Vec<u8>) =
        if header("authorization").as_deref() != Some(auth) {
            (
                "401 Unauthorized",
                vec![("www-authenticate".into(), "Basic realm=\"test\"".into())],
                Vec::new(),
            )
        } else {
            let mut st = store.lock().unwrap();
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            let path = path.to_string();
            let digest_of = |b: &[u8]| format!("sha256:{}", berth::chart::sha256_hex(b));
            if path == "/v2/" {
                ("200 OK", vec![], b"{}".to_vec())
            } else if let Some(id) = path.strip_prefix("/upload/") {
                let digest = query
                    .split('&')
                    .find_map(|p| p.strip_prefix("digest="))
                    .unwrap_or("")
                    .replace("%3A", ":")
                    .replace("%3a", ":");
                if st.uploads.remove(id).is_some() && digest_of(&body) == digest {
                    st.blobs.insert(digest, body.clone());
                    ("201 Created", vec![], Vec::new())
                } else {
                    ("400 Bad Request", vec![], Vec::new())
                }
            } else if let Some(rest) = path.strip_prefix("/v2/") {
                if let Some((repo, _)) = rest.split_once("/blobs/uploads") {
                    let id = st.uploads.len().to_string() + &st.blobs.len().to_string();
                    st.uploads.insert(id.clone(), repo.to_string());
                    (
                        "202 Accepted",
                        vec![("location".into(), format!("/upload/{id}"))],
                        Vec::new(),
                    )
                } else if let Some((_, digest)) = rest.split_once("/blobs/") {
                    match st.blobs.get(digest) {
                        Some(b) => ("200 OK", vec![], b.clone()),
                        None => ("404 Not Found", vec![], Vec::new()),
                    }
                } else if let Some((repo, reference)) = rest.split_once("/manifests/") {
                    let key = format!("{repo}:{reference}");
                    if method == "PUT" {
                        let digest = digest_of(&body);
                        st.manifests
                            .insert(format!("{repo}:{digest}"), body.clone());
                        st.manifests.insert(key, body.clone());
                        (
                            "201 Created",
                            vec![("docker-content-digest".into(), digest)],
                            Vec::new(),
                        )
                    } else {
                        match st.manifests.get(&key) {
                            Some(m) => (
                                "200 OK",
                                vec![
                                    (
                                        "content-type".into(),
                                        "application/vnd.oci.image.manifest.v1+json".into(),
                                    ),
                                    ("docker-content-digest".into(), digest_of(m)),
                                ],
                                m.clone(),
                            ),
                            None => ("404 Not Found", vec![], Vec::new()),
                        }
                    }
                } else if let Some((repo, _)) = rest.split_once("/tags/list") {
                    let tags: Vec<String> = st
                        .manifests
                        .keys()
                        .filter_map(|k| k.strip_prefix(&format!("{repo}:")))
                        .filter(|t| !t.starts_with("sha256:"))
                        .map(str::to_string)
                        .collect();
                    (
                        "200 OK",
                        vec![],
                        serde_json::to_vec(&serde_json::json!({"name": repo, "tags": tags}))
                            .unwrap(),
                    )
                } else {
                    ("404 Not Found", vec![], Vec::new())
                }
            } else {
                ("404 Not Found", vec![], Vec::new())
            }
        };
    let mut response = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
        out.len()
    );
    for (k, v) in headers {
        response.push_str(&format!("{k}: {v}\r\n"));
    }
    response.push_str("\r\n");
    let _ = s.write_all(response.as_bytes()).await;
    if method != "HEAD" {
        let _ = s.write_all(&out).await;
    }
    let _ = s.shutdown().await;
}

/// berth pushes what real Helm pulls, with the credentials `berth registry
/// login` stored; real Helm pushes what berth pulls.
#[tokio::test]
async fn push_and_login_interoperate_with_real_helm() {
    let env = Env::start().await;
    let registry = PushRegistry::start("Basic dXNlcjpwYXNz").await;
    let host = registry.host.clone();
    let config = env.dir.path().join("registry/config.json");
    let vars = [("HELM_REGISTRY_CONFIG", config.as_path())];
    let dist = env.dir.path().join("dist");
    let d = crate::common::path(&dist);
    for version in ["1.0.0", "1.1.0"] {
        let (ok, _, err) = berth_process(&["package", &env.chart(version), "-d", &d], &vars).await;
        assert!(ok, "{err}");
    }
    let (ok, _, err) = berth_process(
        &[
            "registry",
            "login",
            &host,
            "-u",
            "user",
            "-p",
            "pass",
            "--plain-http",
        ],
        &vars,
    )
    .await;
    assert!(ok, "{err}");

    let remote = format!("oci://{host}/charts");
    let archive = dist.join("hello-1.1.0.tgz");
    let (ok, out, err) = berth_process(
        &[
            "push",
            &crate::common::path(&archive),
            &remote,
            "--plain-http",
        ],
        &vars,
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!(
            "Pushed: {host}/charts/hello:1.1.0\nDigest: sha256:"
        )),
        "{out}"
    );
    let manifest = registry.manifest("charts/hello:1.1.0");
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.cncf.helm.config.v1+json"
    );
    assert_eq!(
        manifest["layers"][0]["digest"],
        format!(
            "sha256:{}",
            berth::chart::sha256_hex(&std::fs::read(&archive).unwrap())
        )
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.title"],
        "hello"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.version"],
        "1.1.0"
    );

    // Real Helm, with the login berth stored, pulls what berth pushed; then
    // pushes the other version, which berth pulls.
    let helm_dir = env.dir.path().join("helm-pulled");
    std::fs::create_dir_all(&helm_dir).unwrap();
    let script = "import sys\nfrom helm_python.registry import RegistryClient\nc = RegistryClient(plain_http=True, credentials_file=sys.argv[1])\nc.pull(sys.argv[2] + '/hello', version='1.1.0', destination=sys.argv[3], plain_http=True)\nc.push(sys.argv[4], sys.argv[2], plain_http=True)";
    real_helm(
        script,
        &[
            &crate::common::path(&config),
            &remote,
            &crate::common::path(&helm_dir),
            &crate::common::path(&dist.join("hello-1.0.0.tgz")),
        ],
    )
    .await;
    assert_eq!(
        std::fs::read(helm_dir.join("hello-1.1.0.tgz")).unwrap(),
        std::fs::read(&archive).unwrap()
    );
    let ours = env.dir.path().join("berth-pulled");
    let (ok, _, err) = berth_process(
        &[
            "pull",
            &format!("{remote}/hello"),
            "--version",
            "1.0.0",
            "--plain-http",
            "-d",
            &crate::common::path(&ours),
        ],
        &vars,
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read(ours.join("hello-1.0.0.tgz")).unwrap(),
        std::fs::read(dist.join("hello-1.0.0.tgz")).unwrap()
    );

    // A directory is not pushed; nor is anything without the credentials.
    let (ok, _, err) = berth_process(&["push", &d, &remote, "--plain-http"], &vars).await;
    assert!(!ok);
    assert!(err.contains("cannot push directory"), "{err}");
    let (ok, _, err) = berth_process(
        &[
            "push",
            &crate::common::path(&archive),
            &remote,
            "--plain-http",
        ],
        &[],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("401 Unauthorized"), "{err}");
}

/// `repo index` writes the index real Helm's `repo index` writes for the
/// same directory (but for the times): archives at the top and one level
/// down, a file that is no chart skipped, an older index merged.
#[tokio::test]
async fn repo_index_writes_what_helms_writes() {
    let env = Env::start().await;
    let root = env.dir.path();
    let merge = root.join("old-index.yaml");
    std::fs::write(
        &merge,
        "apiVersion: v1\nentries:\n  old:\n  - name: old\n    version: 0.1.0\n    urls: [old-0.1.0.tgz]\n    created: \"2020-01-01T00:00:00Z\"\n  hello:\n  - name: hello\n    version: 1.0.0\n    urls: [stale.tgz]\n",
    )
    .unwrap();
    for copy in ["ours", "helms"] {
        let dir = root.join(copy);
        std::fs::create_dir_all(dir.join("older")).unwrap();
        std::fs::write(dir.join("hello-1.1.0.tgz"), packed(&env, "1.1.0")).unwrap();
        std::fs::write(dir.join("older/hello-1.0.0.tgz"), packed(&env, "1.0.0")).unwrap();
        std::fs::write(dir.join("notes.tgz"), b"not a chart").unwrap();
    }
    let ours = root.join("ours");
    let (ok, _, err) = berth_process(
        &[
            "repo",
            "index",
            &crate::common::path(&ours),
            "--url",
            "https://acme.example/charts",
            "--merge",
            &crate::common::path(&merge),
        ],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    let script = "import sys\nfrom helm_python.registry import repo_index_generate\nrepo_index_generate(sys.argv[1], base_url='https://acme.example/charts', merge=sys.argv[2])";
    real_helm(
        script,
        &[
            &crate::common::path(&root.join("helms")),
            &crate::common::path(&merge),
        ],
    )
    .await;
    let without_times = |copy: &str| -> String {
        std::fs::read_to_string(root.join(copy).join("index.yaml"))
            .unwrap()
            .lines()
            .filter(|l| !l.contains("created:") && !l.starts_with("generated:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let index = without_times("ours");
    assert!(
        index.contains("https://acme.example/charts/older/hello-1.0.0.tgz"),
        "{index}"
    );
    assert_eq!(index, without_times("helms"));
}

/// `berth env` shows where berth finds Helm's files and its own, as `helm
/// env` shows Helm's: sorted `NAME="value"` lines, or one value.
#[tokio::test]
async fn env_shows_the_paths_berth_shares_with_helm() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let cache = dir.path().join("cache");
    let vars = [
        ("HELM_CONFIG_HOME", config.as_path()),
        ("HELM_CACHE_HOME", cache.as_path()),
    ];
    let (ok, out, err) = berth_process(&["env"], &vars).await;
    assert!(ok, "{err}");
    let p = |p: std::path::PathBuf| crate::common::path(&p);
    for line in [
        format!(
            "HELM_REPOSITORY_CONFIG=\"{}\"",
            p(config.join("repositories.yaml"))
        ),
        format!("HELM_REPOSITORY_CACHE=\"{}\"", p(cache.join("repository"))),
        format!(
            "HELM_REGISTRY_CONFIG=\"{}\"",
            p(config.join("registry/config.json"))
        ),
        "BERTH_NAMESPACE=\"default\"".to_string(),
    ] {
        assert!(out.lines().any(|l| l == line), "{line} in:\n{out}");
    }
    let names: Vec<&str> = out.lines().map(|l| l.split('=').next().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    let (_, out, _) = berth_process(&["env", "HELM_REPOSITORY_CONFIG"], &vars).await;
    assert_eq!(out, format!("{}\n", p(config.join("repositories.yaml"))));
    let (_, out, _) = berth_process(
        &["env", "BERTH_AGENT", "--agent", "https://10.0.0.5:7443"],
        &vars,
    )
    .await;
    assert_eq!(out, "https://10.0.0.5:7443\n");
}

#[tokio::test]
async fn repo_add_takes_helms_password_stdin_timeout_and_deleted_repo_rules() {
    let env = Env::start().await;
    let files = HashMap::from([(
        "/private/index.yaml".to_string(),
        index(&[("1.0.0", "hello-1.0.0.tgz")]),
    )]);
    // The password is checked: only a request with it gets the index.
    let repo = Repo::start(files, Some("Basic Y2k6czNjcjN0")).await;
    let home = env.dir.path().join("home");
    let home_var = [("HOME", home.as_path())];
    let url = format!("{}/private", repo.url);

    // --password-stdin: the password from stdin, its newline dropped.
    let mut cmd = tokio::process::Command::new(crate::common::bin_dir().join("berth"));
    cmd.args([
        "repo",
        "add",
        "private",
        &url,
        "--username",
        "ci",
        "--password-stdin",
    ])
    .env("HOME", &home)
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    for var in [
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "HELM_REPOSITORY_CONFIG",
        "HELM_REPOSITORY_CACHE",
    ] {
        cmd.env_remove(var);
    }
    let mut child = cmd.spawn().unwrap();
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"s3cr3t\n").await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = std::fs::read_to_string(home.join(".config/helm/repositories.yaml")).unwrap();
    assert!(config.contains("password: s3cr3t"), "{config}");

    // A username without a password: Helm would prompt, berth says so.
    let (ok, _, err) = berth_process(
        &["repo", "add", "other", &url, "--username", "ci"],
        &home_var,
    )
    .await;
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--password-stdin"), "{err}");

    // The repositories Helm's project deleted are refused unless allowed.
    let stable = "https://kubernetes-charts.storage.googleapis.com";
    let (ok, _, err) = berth_process(&["repo", "add", "stable", stable], &home_var).await;
    assert!(!ok);
    assert_eq!(
        err,
        format!(
            "Error: repo \"{stable}\" is no longer available; try \"https://charts.helm.sh/stable\" instead\n"
        )
    );
    let gone = "http://127.0.0.1:1//kubernetes-charts.storage.googleapis.com";
    let (_, _, err) = berth_process(
        &["repo", "add", "stable", gone, "--allow-deprecated-repos"],
        &home_var,
    )
    .await;
    assert!(err.contains("cannot be reached"), "{err}");

    // --timeout bounds the index download: a server that never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/x", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            open.push(s);
        }
    });
    let (ok, _, err) = berth_process(
        &["repo", "add", "slow", &silent_url, "--timeout", "300ms"],
        &home_var,
    )
    .await;
    held.abort();
    assert!(!ok);
    assert!(err.contains("context deadline exceeded"), "{err}");

    // repo list --no-headers: the rows only.
    let (ok, out, _) = berth_process(&["repo", "list", "--no-headers"], &home_var).await;
    assert!(ok);
    assert!(out.starts_with("private"), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");

    // Helm's --repository-config and --repository-cache put those files
    // elsewhere, as their HELM_* variables do.
    let config = env.dir.path().join("elsewhere/repos.yaml");
    let cache = env.dir.path().join("elsewhere/cache");
    let (config_s, cache_s) = (crate::common::path(&config), crate::common::path(&cache));
    let (ok, _, err) = berth_process(
        &[
            "repo",
            "add",
            "second",
            &url,
            "--username",
            "ci",
            "--password",
            "s3cr3t",
            "--repository-config",
            &config_s,
            &format!("--repository-cache={cache_s}"),
        ],
        &home_var,
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("name: second")
    );
    assert!(cache.join("second-index.yaml").exists());
    let (ok, out, _) = berth_process(
        &["repo", "list", "--repository-config", &config_s],
        &home_var,
    )
    .await;
    assert!(ok);
    let names: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["second"], "{out}");
    // --registry-config too: where `env` (and registry login) look.
    let (ok, out, _) = berth_process(
        &[
            "env",
            "HELM_REGISTRY_CONFIG",
            "--registry-config",
            "/somewhere/config.json",
        ],
        &home_var,
    )
    .await;
    assert!(ok);
    assert_eq!(out, "/somewhere/config.json\n");
}
