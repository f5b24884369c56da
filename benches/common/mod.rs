//! What the benches share: where real Helm's Python lives, and medians.
//! Each bench uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The allocator berthd, berth and berth-sim ship with: the agents, CLIs and
/// simulators a bench runs in its own process allocate as the binaries do.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `$BERTH_BENCH_PYTHON`, else the project's `.venv` (scripts/bench.sh
/// installs helm-python-sdk there from tests/requirements.txt).
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("BERTH_BENCH_PYTHON") {
        return p.into();
    }
    let venv = Path::new(ROOT).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/bench.sh (it installs real Helm from tests/requirements.txt)",
        venv.display()
    );
    venv
}

/// What a CLI run wrote, kept for its output or for the error message of a
/// failed run.
#[derive(Clone, Default)]
pub struct Capture(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// How many times to repeat, from an environment variable or a default.
pub fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A development PKI (CA, agent and client certificates) in its own
/// directory, which any number of agents and CLIs share.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub files: berth::tls::DevPki,
}

/// A shared PKI reads as its files (to start another berthd beside a stack).
impl std::ops::Deref for Pki {
    type Target = berth::tls::DevPki;
    fn deref(&self) -> &berth::tls::DevPki {
        &self.files
    }
}

impl Pki {
    pub fn generate() -> Pki {
        berth_agent::install_crypto_provider();
        let dir = tempfile::tempdir().expect("temporary directory");
        let files =
            berth::tls::init_dev_pki(dir.path(), &["127.0.0.1".into()], "admin").expect("PKI");
        Pki { _dir: dir, files }
    }
}

/// berth-sim (fast profile, the given clock) and an in-process berthd, as
/// the lifecycle, latency and fleet benches use them: each stack has its
/// own directory (berthd's data, the simulator's kubeconfig); the PKI is
/// its own or shared with other stacks.
pub struct Stack {
    pub dir: tempfile::TempDir,
    pub pki: std::sync::Arc<Pki>,
    pub sim: berth_sim::SimHandle,
    pub agent: berth_agent::RunningAgent,
    pub kubeconfig: PathBuf,
    /// `https://127.0.0.1:PORT` of the agent.
    pub agent_url: String,
    /// `--agent/--ca/--cert/--key` for the CLI.
    pub conn: Vec<String>,
}

impl Stack {
    /// A stack with a PKI of its own.
    pub async fn start(clock: berth_sim::Clock) -> Stack {
        Stack::build(std::sync::Arc::new(Pki::generate()), clock, None).await
    }

    /// A stack whose agent serves the shared PKI's agent certificate and
    /// trusts its CA.
    pub async fn with_pki(pki: std::sync::Arc<Pki>, clock: berth_sim::Clock) -> Stack {
        Stack::build(pki, clock, None).await
    }

    /// As [`Stack::start`], with berthd's journal in `data` (an existing
    /// journal to serve) instead of a fresh one.
    pub async fn start_with(clock: berth_sim::Clock, data: Option<PathBuf>) -> Stack {
        Stack::build(std::sync::Arc::new(Pki::generate()), clock, data).await
    }

    async fn build(
        pki: std::sync::Arc<Pki>,
        clock: berth_sim::Clock,
        data: Option<PathBuf>,
    ) -> Stack {
        berth_agent::install_crypto_provider();
        let dir = tempfile::tempdir().expect("temporary directory");
        let sim = berth_sim::Simulator::builder()
            .profile(berth_sim::Profile::Fast)
            .clock(clock)
            .start()
            .await
            .expect("simulator starts");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        let files = &pki.files;
        let agent = berth_agent::start(berth_agent::AgentConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            cert: files.agent_cert.clone(),
            key: files.agent_key.clone(),
            client_ca: files.ca_cert.clone(),
            crl: None,
            data_dir: data.unwrap_or_else(|| dir.path().join("data")),
            kubeconfig: Some(kubeconfig.clone()),
            policy: Default::default(),
            settings: Default::default(),
        })
        .await
        .expect("agent starts");
        let agent_url = format!("https://127.0.0.1:{}", agent.addr.port());
        let conn = vec![
            "--agent".to_string(),
            agent_url.clone(),
            "--ca".into(),
            files.ca_cert.display().to_string(),
            "--cert".into(),
            files.client_cert.display().to_string(),
            "--key".into(),
            files.client_key.display().to_string(),
        ];
        Stack {
            dir,
            pki,
            sim,
            agent,
            kubeconfig,
            agent_url,
            conn,
        }
    }

    pub async fn stop(self) {
        self.agent.shutdown().await.expect("agent stops");
        self.sim.shutdown().await;
    }
}

/// A process's `field` (`VmRSS:`, `VmHWM:`…) from /proc/PID/status, in KiB;
/// 0 once the process is gone.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The flags every bench that runs the release `berthd` passes: the PKI's
/// agent certificate and CA, a journal directory and the simulator.
pub fn berthd_flags<'c>(
    cmd: &'c mut std::process::Command,
    pki: &berth::tls::DevPki,
    data: &Path,
    kubeconfig: &Path,
) -> &'c mut std::process::Command {
    cmd.arg("--cert")
        .arg(&pki.agent_cert)
        .arg("--key")
        .arg(&pki.agent_key)
        .arg("--client-ca")
        .arg(&pki.ca_cert)
        .arg("--data")
        .arg(data)
        .arg("--kubeconfig")
        .arg(kubeconfig)
}

/// Write `text` to `dir/name`, creating the directories on the way (the
/// benches that generate charts).
pub fn write_file(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("a file in a directory")).expect("directory");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// CPU time (user + system) this process has used, all threads.
pub fn cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is valid, and getrusage only fills it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| Duration::new(v.tv_sec as u64, v.tv_usec as u32 * 1000);
    t(u.ru_utime) + t(u.ru_stime)
}
