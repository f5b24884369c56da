//! The public API: `Simulator::builder()` → `SimBuilder::start()` → `SimHandle`.
//!
//! Owns start-up (TLS material, listener, bootstrap or restored state, background tasks) and
//! shutdown; every spawned task is tracked and stopped through one cancellation token.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::apiserver::Cluster;
use crate::clock::{Clock, ClockCore, SimTime};
use crate::config::{Profile, SimConfig, Timings, Transport};
use crate::controllers::Engine;
use crate::faults::Faults;
use crate::http::{App, RequestLog, RequestRecord};
use crate::{kubeconfig, persist, server, tls};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("simulator I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("simulator state file: {0}")]
    State(String),
    #[error("building a client for the simulator: {0}")]
    Client(String),
}

/// Entry point of the builder API.
pub struct Simulator;

impl Simulator {
    pub fn builder() -> SimBuilder {
        SimBuilder {
            cfg: SimConfig::default(),
            timings: None,
            error: None,
            faults: Vec::new(),
        }
    }
}

/// Collects configuration; `start` validates it and runs the simulator.
pub struct SimBuilder {
    cfg: SimConfig,
    timings: Option<Timings>,
    error: Option<String>,
    faults: Vec<crate::faults::Rule>,
}

impl SimBuilder {
    /// A fault rule in force from the first request (more can be added at
    /// run time with `SimHandle::faults` or `POST /_sim/v1/faults`).
    pub fn fault(mut self, rule: crate::faults::Rule) -> Self {
        self.faults.push(rule);
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.cfg.seed = seed;
        self
    }
    pub fn nodes(mut self, n: u32) -> Self {
        self.cfg.nodes = n;
        self
    }
    pub fn profile(mut self, p: Profile) -> Self {
        self.cfg.profile = p;
        self
    }
    /// Overrides the profile's timings.
    pub fn timings(mut self, t: Timings) -> Self {
        self.timings = Some(t);
        self
    }
    pub fn clock(mut self, c: Clock) -> Self {
        self.cfg.clock = c;
        self
    }
    /// The Kubernetes version to report, as "1.35".
    pub fn k8s_version(mut self, v: &str) -> Self {
        match v
            .trim_start_matches('v')
            .split('.')
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["1", minor, ..] if minor.parse::<u32>().is_ok_and(|m| m >= 20) => {
                self.cfg.k8s_minor = minor.parse().unwrap_or(35);
            }
            _ => {
                self.error = Some(format!(
                    "unsupported Kubernetes version {v:?} (expected 1.N)"
                ))
            }
        }
        self
    }
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.cfg.listen = addr;
        self
    }
    pub fn transport(mut self, t: Transport) -> Self {
        self.cfg.transport = t;
        self
    }
    /// Plain HTTP instead of HTTPS.
    pub fn http(self) -> Self {
        self.transport(Transport::Http)
    }
    /// Restore state from `path` at start (if it exists) and save it there on shutdown.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cfg.state_file = Some(path.into());
        self
    }
    pub fn history_max_events(mut self, n: usize) -> Self {
        self.cfg.history_max_events = n;
        self
    }
    /// The kubelet holds a pod while a ConfigMap or Secret (or a key of
    /// one) that its volumes or environment take is missing, as on a
    /// cluster: `FailedMount`, `CreateContainerConfigError`. Off by default,
    /// since what a chart's Job or operator would create never appears here.
    pub fn check_pod_sources(mut self, on: bool) -> Self {
        self.cfg.check_pod_sources = on;
        self
    }
    /// Prefix of the pod annotations that steer the simulated kubelet (default `kubesim.invalid/`).
    pub fn knob_prefix(mut self, p: &str) -> Self {
        self.cfg.knob_prefix = p.to_string();
        self
    }

    /// Starts the server and the controllers.
    pub async fn start(mut self) -> Result<SimHandle, SimError> {
        if let Some(e) = self.error {
            return Err(SimError::Config(e));
        }
        if self.cfg.nodes == 0 {
            return Err(SimError::Config("at least one node is needed".into()));
        }
        if let Clock::Real { scale } = self.cfg.clock
            && !(scale > 0.0 && scale.is_finite())
        {
            return Err(SimError::Config(format!(
                "clock scale must be positive, got {scale}"
            )));
        }
        self.cfg.timings = self
            .timings
            .take()
            .unwrap_or_else(|| self.cfg.profile.timings());
        let _ = rustls::crypto::ring::default_provider().install_default();

        let listener = tokio::net::TcpListener::bind(self.cfg.listen).await?;
        let addr = listener.local_addr()?;
        let (tls_acceptor, ca_pem, scheme) = match self.cfg.transport {
            Transport::Https => {
                let material = tls::generate()?;
                let acceptor = tokio_rustls::TlsAcceptor::from(tls::server_config(&material)?);
                (Some(acceptor), Some(material.ca_pem), "https")
            }
            Transport::Http => (None, None, "http"),
        };
        // Clients reach a wildcard listener on loopback, which the certificate names.
        let reachable = if addr.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        } else {
            addr
        };
        let url = format!("{scheme}://{reachable}");

        let cfg = Arc::new(self.cfg);
        let clock = Arc::new(ClockCore::new(cfg.clock));
        let faults = Arc::new(Faults::new(cfg.seed));
        for rule in std::mem::take(&mut self.faults) {
            faults.add(rule);
        }
        let mut cluster = Cluster::new(cfg.clone(), clock.clone());
        cluster.faults = faults.clone();
        let restored = match &cfg.state_file {
            Some(p) => persist::load(&mut cluster, p).map_err(SimError::State)?,
            None => false,
        };
        if !restored {
            cluster.bootstrap();
        }
        let cluster = Arc::new(Mutex::new(cluster));
        let engine = Engine::new(cluster.clone(), clock.clone());
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let app = Arc::new(App {
            cluster: cluster.clone(),
            engine: engine.clone(),
            faults,
            requests: Arc::new(RequestLog::default()),
            clock: clock.clone(),
            cfg: cfg.clone(),
            cancel: cancel.clone(),
            server_address: reachable.to_string(),
        });
        if clock.is_manual() {
            engine.settle().await;
        } else {
            tracker.spawn(engine.clone().run(cancel.clone()));
        }
        tracker.spawn(server::serve(
            listener,
            tls_acceptor,
            app.clone(),
            cancel.clone(),
            tracker.clone(),
        ));
        if let Some(path) = cfg.state_file.clone() {
            tracker.spawn(autosave(cluster.clone(), path, cancel.clone()));
        }
        let kubeconfig = kubeconfig::render(&url, ca_pem.as_deref());
        Ok(SimHandle {
            url,
            addr,
            kubeconfig,
            ca_pem,
            app,
            cancel,
            tracker,
        })
    }
}

/// Saves the state every few seconds while it changes.
async fn autosave(cluster: Arc<Mutex<Cluster>>, path: PathBuf, cancel: CancellationToken) {
    let mut saved_rv = 0;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        let c = cluster.lock().unwrap_or_else(|p| p.into_inner());
        if c.store.current_rv() != saved_rv {
            saved_rv = c.store.current_rv();
            if let Err(e) = persist::save(&c, &path) {
                tracing::warn!("saving simulator state to {}: {e}", path.display());
            }
        }
    }
}

/// A running simulator.
pub struct SimHandle {
    url: String,
    addr: SocketAddr,
    kubeconfig: String,
    ca_pem: Option<String>,
    app: Arc<App>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

/// Dropping the handle stops the server and the controllers (without saving state; use
/// `shutdown` for that).
impl Drop for SimHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The simulator clock, as tests see it.
#[derive(Clone)]
pub struct SimClock {
    clock: Arc<ClockCore>,
    engine: Arc<Engine>,
}

impl SimClock {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now().to_chrono()
    }
    pub fn now_sim(&self) -> SimTime {
        self.clock.now()
    }
    pub fn is_manual(&self) -> bool {
        self.clock.is_manual()
    }
    /// Manual clock: moves time forward, running controllers at every timer on the way.
    /// Real clock: waits that much simulated time.
    pub async fn advance(&self, d: Duration) {
        self.engine.advance(d).await;
    }
}

impl SimHandle {
    /// `https://127.0.0.1:PORT` (or `http://` with plain HTTP).
    pub fn url(&self) -> &str {
        &self.url
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// A kubeconfig that points at this simulator and trusts its CA.
    pub fn kubeconfig_yaml(&self) -> String {
        self.kubeconfig.clone()
    }
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, &self.kubeconfig)
    }
    /// A kube client configured from this simulator's kubeconfig (feature `client`).
    #[cfg(feature = "client")]
    pub async fn client(&self) -> Result<kube::Client, SimError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let kc = kube::config::Kubeconfig::from_yaml(&self.kubeconfig)
            .map_err(|e| SimError::Client(e.to_string()))?;
        let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .map_err(|e| SimError::Client(e.to_string()))?;
        kube::Client::try_from(cfg).map_err(|e| SimError::Client(e.to_string()))
    }

    /// The PEM of the CA that signed the server certificate (None with plain HTTP).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }
    /// Fault rules (SIM_SPEC §6).
    pub fn faults(&self) -> &Faults {
        &self.app.faults
    }
    pub fn clock(&self) -> SimClock {
        SimClock {
            clock: self.app.clock.clone(),
            engine: self.app.engine.clone(),
        }
    }
    /// Runs controllers until nothing is left to do now (Manual clock), or waits until the
    /// background controllers have no queued work (Real clock).
    pub async fn settle(&self) {
        self.app.engine.settle().await;
    }
    /// The request log.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.app.requests.snapshot()
    }
    pub fn clear_requests(&self) {
        self.app.requests.clear();
    }
    /// Forgets the watch history: resuming from any earlier resourceVersion gets 410.
    pub fn compact(&self) {
        self.app.lock().store.compact();
    }
    /// Ends live watches (of one `group`/`resource`, or all), cleanly or mid-chunk.
    pub fn drop_watches(&self, resource: Option<(&str, &str)>, abort: bool) -> usize {
        let key = resource.map(|(g, r)| crate::resources::ResKey::new(g, r));
        self.app.lock().store.drop_watches(key.as_ref(), abort)
    }
    /// Back to a freshly bootstrapped cluster.
    pub fn reset(&self) {
        self.app.lock().reset();
        self.app.requests.clear();
        self.app.faults.clear();
    }
    /// The current cluster-wide resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.app.lock().store.current_rv()
    }
    /// Direct access to the cluster state, for assertions in tests.
    pub fn with_cluster<T>(&self, f: impl FnOnce(&mut Cluster) -> T) -> T {
        f(&mut self.app.lock())
    }
    /// Stops serving, saves state (with a state file) and waits for every task to end.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        if let Some(path) = &self.app.cfg.state_file {
            let c = self.app.lock();
            if let Err(e) = persist::save(&c, path) {
                tracing::warn!("saving simulator state to {}: {e}", path.display());
            }
        }
    }
}
