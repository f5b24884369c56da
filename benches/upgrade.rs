//! Upgrade end to end and footprint: berth against real Helm on one
//! cluster, with a 200-object chart and `--wait`.
//!
//! One berth-sim (fast profile, real clock) runs in this process. berth runs
//! as users run it: the release `berth` binary talks over mTLS to a release
//! `berthd` process. Helm v4 runs through helm-python-sdk
//! (`benches/helm_upgrade.py`, one interpreter fed step by step) against the
//! same simulator. Each round, for each tool (the order alternates): install
//! the chart (50 × ServiceAccount, ConfigMap, Service, Deployment) with
//! `--wait`, upgrade it with a new image tag (every Deployment rolls out)
//! with `--wait`, then uninstall it (untimed). One warm-up round.
//!
//! "Own time" is what a tool adds on top of the cluster: the step's wall
//! time minus the time during which the simulator was serving at least one
//! of its requests (watches excluded: they stay open) or still rolling out
//! (from the end of the last Deployment write until the bench's own watch
//! sees the last Deployment of the release complete). The server side
//! starts when the simulator starts reading a request, so TLS, HTTP and
//! JSON work on the client side count as the tool's own time.
//!
//! Footprint: berthd's resident memory (/proc/PID/status) idle after start,
//! sampled during the upgrades, its peak, and idle after the rounds; and the
//! time from spawning `berth history` to its first byte on stdout.
//!
//!     cargo build --release --locked --bins     # the bench runs these binaries
//!     BERTH_BENCH_ROUNDS=5 cargo bench --locked -p berth --bench upgrade
//!
//! Helm's client-side throttling is lifted (client-go QPS and burst 1000):
//! with Helm's defaults (`BERTH_BENCH_HELM_QPS=default`: 5 per second after
//! a burst of 100) its upgrade of this chart waits minutes on its own rate
//! limiter. `BERTH_BENCH_HELM=0` skips Helm; `BERTH_BENCH_BERTHD_WRAPPER="valgrind
//! --tool=callgrind"` runs berthd under a profiler (its memory numbers then
//! are the profiler's); `BERTH_BENCH_BIN_DIR` says where the binaries are
//! (default: the bench's own target directory). `BERTH_BENCH_SIM_SCALE=10`
//! runs the simulator's clock ten times faster than the wall clock (its
//! controllers' 20–50 ms hops and 200 ms pod starts take a tenth): the
//! cluster's own rollout then weighs less against what the tools do.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

mod common;
use common::{ROOT, count, median, python};

/// Services in the chart; each is four objects.
const SERVICES: usize = 50;

/// The bench drives processes from this thread (blocking waits); the
/// simulator and the bench's own watch run on their own runtime.
fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rounds = count("BERTH_BENCH_ROUNDS", 5);
    let startup_rounds = count("BERTH_BENCH_STARTUP_ROUNDS", 30);
    let with_helm = std::env::var("BERTH_BENCH_HELM").map_or(true, |v| v != "0");
    let scale: f64 = std::env::var("BERTH_BENCH_SIM_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(1.0);
    let bins = bin_dir();
    let (berth, berthd) = (bins.join("berth"), bins.join("berthd"));
    for b in [&berth, &berthd] {
        assert!(
            b.exists(),
            "{} is missing: run `cargo build --release --locked --bins` first (or set BERTH_BENCH_BIN_DIR)",
            b.display()
        );
    }
    berth_agent::install_crypto_provider();
    let dir = tempfile::tempdir().expect("temporary directory");
    let chart = dir.path().join("chart");
    write_chart(&chart, SERVICES);
    let pki = berth::tls::init_dev_pki(&dir.path().join("pki"), &["127.0.0.1".into()], "admin")
        .expect("PKI");
    let sim = rt
        .block_on(
            berth_sim::Simulator::builder()
                .profile(berth_sim::Profile::Fast)
                .clock(berth_sim::Clock::Real { scale })
                .start(),
        )
        .expect("simulator starts");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let client = rt.block_on(kube_client(&sim.kubeconfig_yaml()));
    let rollouts = Rollouts::watch(&rt, client.clone());

    let port = free_port();
    let agent = Agent::spawn(&berthd, &pki, dir.path(), &kubeconfig, port);
    let conn = vec![
        "--agent".to_string(),
        format!("https://127.0.0.1:{port}"),
        "--ca".into(),
        pki.ca_cert.display().to_string(),
        "--cert".into(),
        pki.client_cert.display().to_string(),
        "--key".into(),
        pki.client_key.display().to_string(),
    ];
    let cli = Cli {
        exe: berth.clone(),
        conn: conn.clone(),
    };
    cli.wait_until_serving();
    std::thread::sleep(Duration::from_secs(1));
    let idle_start = agent.memory();

    let mut helm = with_helm.then(|| Helm::spawn(&kubeconfig));
    let chart_arg = chart.display().to_string();
    let mut results: HashMap<(&str, &str), Vec<Step>> = HashMap::new();
    let mut during_upgrade = 0u64;
    for round in 0..=rounds {
        let mut tools: Vec<&str> = vec!["berth"];
        if helm.is_some() {
            tools.push("helm");
        }
        if round % 2 == 1 {
            tools.reverse();
        }
        let last = round == rounds;
        for tool in tools {
            let name = format!("{}{round}", &tool[..1]);
            let steps = [("install", None), ("upgrade", Some("2.0.0"))];
            for (verb, tag) in steps {
                sim.clear_requests();
                let step = match tool {
                    "berth" => {
                        let mut args = vec![verb.to_string(), name.clone(), chart_arg.clone()];
                        args.push("--wait".into());
                        if let Some(tag) = tag {
                            args.extend(["--set".into(), format!("image.tag={tag}")]);
                        }
                        let sampler = (verb == "upgrade").then(|| agent.sample_rss());
                        let window = cli.run(&args);
                        if let Some(s) = sampler {
                            during_upgrade = during_upgrade.max(s.stop());
                        }
                        Step::of(window.0, window.1, None, &sim.requests(), &rollouts, &name)
                    }
                    _ => {
                        let h = helm.as_mut().expect("helm");
                        let line = match tag {
                            None => format!("install {name} {chart_arg}"),
                            Some(tag) => format!("upgrade {name} {chart_arg} {tag}"),
                        };
                        let (start, end, took) = h.step(&line);
                        Step::of(start, end, Some(took), &sim.requests(), &rollouts, &name)
                    }
                };
                if round > 0 {
                    results.entry((tool, verb)).or_default().push(step);
                }
            }
            // The last berth release stays, for `berth history`.
            if !(last && tool == "berth") {
                match tool {
                    "berth" => {
                        cli.run(&["uninstall".to_string(), name.clone()]);
                    }
                    _ => {
                        let h = helm.as_mut().expect("helm");
                        h.step(&format!("uninstall {name}"));
                    }
                }
                rt.block_on(pods_gone(&client, &name));
            }
        }
    }
    let last_release = format!("b{rounds}");
    std::thread::sleep(Duration::from_secs(2));
    let idle_after = agent.memory();
    let startup = cli.first_byte(&["history".to_string(), last_release], startup_rounds);

    println!(
        "{rounds} rounds (+1 warm-up); chart of {} objects ({SERVICES} × ServiceAccount, ConfigMap, Service, Deployment), --wait; simulator clock ×{scale}; medians\n",
        SERVICES * 4
    );
    println!("| step | berth | Helm v4 | ratio |");
    println!("|---|---|---|---|");
    for verb in ["install", "upgrade"] {
        let b = Step::median_of(&results[&("berth", verb)], |s| s.wall);
        match results.get(&("helm", verb)) {
            Some(h) => {
                let h = Step::median_of(h, |s| s.wall);
                println!(
                    "| {verb} --wait | {} | {} | {:.2} |",
                    ms(b),
                    ms(h),
                    b.as_secs_f64() / h.as_secs_f64()
                );
            }
            None => println!("| {verb} --wait | {} | – | – |", ms(b)),
        }
    }
    println!();
    println!("| upgrade: where the time goes | berth | Helm v4 |");
    println!("|---|---|---|");
    type Row = (&'static str, fn(&Step) -> String);
    let rows: [Row; 7] = [
        ("wall time", |s| ms(s.wall)),
        ("simulator serving the tool's requests (union)", |s| {
            ms(s.api)
        }),
        (
            "rollout after the last Deployment write, not overlapping",
            |s| ms(s.rollout),
        ),
        ("**own time** (wall − the two above)", |s| {
            format!("**{} ({:.0}%)**", ms(s.own()), 100.0 * s.own_share())
        }),
        ("API requests (watches)", |s| {
            format!("{} ({})", s.requests, s.watches)
        }),
        ("sum of request latencies", |s| ms(s.latency_sum)),
        ("connections the requests came on (HTTP version)", |s| {
            format!("{} ({})", s.connections, s.http_versions)
        }),
    ];
    let berth_up = Step::median_step(&results[&("berth", "upgrade")]);
    let helm_up = results
        .get(&("helm", "upgrade"))
        .map(|h| Step::median_step(h));
    for (label, show) in rows {
        println!(
            "| {label} | {} | {} |",
            show(&berth_up),
            helm_up.as_ref().map_or("–".into(), show)
        );
    }
    println!();
    println!("| upgrade: when, from the step's start (medians) | berth | Helm v4 |");
    println!("|---|---|---|");
    type Mark = (&'static str, fn(&Marks) -> Duration);
    let marks: [Mark; 8] = [
        ("first API request", |m| m.first_request),
        ("first write", |m| m.first_write),
        ("first Deployment write", |m| m.first_deployment_write),
        ("last Deployment write answered", |m| {
            m.last_deployment_write
        }),
        ("last Deployment rolled out (the bench's watch)", |m| {
            m.rolled_out
        }),
        ("step's end", |m| m.end),
        ("a Deployment's rollout from its write: median", |m| {
            m.chain_median
        }),
        ("a Deployment's rollout from its write: slowest", |m| {
            m.chain_max
        }),
    ];
    for (label, at) in marks {
        println!(
            "| {label} | {} | {} |",
            ms(at(&berth_up.marks)),
            helm_up.as_ref().map_or("–".into(), |h| ms(at(&h.marks)))
        );
    }
    let hwm = agent.peak();
    println!();
    println!("| footprint | measured | goal |");
    println!("|---|---|---|");
    println!(
        "| berthd RSS, idle after start | {} | < 20 MiB |",
        mib(idle_start)
    );
    println!(
        "| berthd RSS, during the {}-object upgrades (max of 5 ms samples) | {} | < 80 MiB |",
        SERVICES * 4,
        mib(during_upgrade)
    );
    println!(
        "| berthd peak RSS over the whole run (VmHWM) | {} | – |",
        mib(hwm)
    );
    println!(
        "| berthd RSS, idle after the rounds | {} | – |",
        mib(idle_after)
    );
    println!(
        "| `berth history` (2 revisions), spawn to first byte: median / p90 | {} / {} | < 30 ms |",
        ms(startup.0),
        ms(startup.1)
    );
    agent.stop();
    drop(helm);
    rt.block_on(sim.shutdown());
}

/// One timed step and how its time splits.
#[derive(Clone, Debug, Default)]
struct Step {
    wall: Duration,
    api: Duration,
    rollout: Duration,
    requests: usize,
    watches: usize,
    latency_sum: Duration,
    connections: usize,
    http_versions: String,
    /// When things happened, from the step's start (`Marks`).
    marks: Marks,
}

/// Milestones of a step, each from its start: what comes before the first
/// Deployment write and after the last Deployment's rollout is the tool's
/// to shorten; what lies between is mostly the simulator's rollout chain.
#[derive(Clone, Debug, Default)]
struct Marks {
    first_request: Duration,
    first_write: Duration,
    first_deployment_write: Duration,
    last_deployment_write: Duration,
    rolled_out: Duration,
    end: Duration,
    /// Each Deployment's rollout, from its write answered to complete:
    /// the median and the slowest of the step's.
    chain_median: Duration,
    chain_max: Duration,
}

impl Step {
    /// `wall` is the tool's own measure when it has one (Helm's SDK call),
    /// else the window; requests are the simulator's log of the window.
    fn of(
        start: Instant,
        end: Instant,
        wall: Option<Duration>,
        requests: &[berth_sim::RequestRecord],
        rollouts: &Rollouts,
        release: &str,
    ) -> Step {
        let wall = wall.unwrap_or(end - start);
        let clip = |a: Instant, b: Instant| (a.max(start), b.min(end));
        let mut busy = Vec::new();
        let mut step = Step {
            wall,
            ..Step::default()
        };
        let mut last_deployment_write = None;
        let mut marks = Marks {
            end: end - start,
            ..Marks::default()
        };
        let since = |t: Instant| t.saturating_duration_since(start);
        let (mut first_request, mut first_write, mut first_deployment_write) = (None, None, None);
        let mut written: HashMap<String, Instant> = HashMap::new();
        let in_window = || {
            requests
                .iter()
                .filter(|r| r.started >= start && r.started <= end)
        };
        step.connections = in_window()
            .map(|r| r.connection)
            .collect::<BTreeSet<_>>()
            .len();
        step.http_versions = in_window()
            .map(|r| r.http_version.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ");
        for r in in_window() {
            if r.verb == "watch" {
                step.watches += 1;
                continue;
            }
            step.requests += 1;
            step.latency_sum += r.took;
            let done = r.started + r.took;
            busy.push(clip(r.started, done));
            let earliest =
                |at: &mut Option<Instant>| *at = Some(at.map_or(r.started, |a| a.min(r.started)));
            earliest(&mut first_request);
            if r.method != "GET" {
                earliest(&mut first_write);
            }
            if r.path.contains("/deployments") && r.method != "GET" {
                earliest(&mut first_deployment_write);
                last_deployment_write = last_deployment_write.max(Some(done));
                if let Some(name) = r.path.rsplit('/').next() {
                    let at = written.entry(name.to_string()).or_insert(done);
                    *at = (*at).max(done);
                }
            }
        }
        step.api = union(&busy);
        let ready = rollouts.last_ready(release);
        marks.first_request = first_request.map_or(Duration::ZERO, since);
        marks.first_write = first_write.map_or(Duration::ZERO, since);
        marks.first_deployment_write = first_deployment_write.map_or(Duration::ZERO, since);
        marks.last_deployment_write = last_deployment_write.map_or(Duration::ZERO, since);
        marks.rolled_out = ready.map_or(Duration::ZERO, since);
        let chains: Vec<Duration> = {
            let map = rollouts.ready.lock().unwrap();
            written
                .iter()
                .filter_map(|(name, at)| Some(map.get(name)?.1?.saturating_duration_since(*at)))
                .collect()
        };
        if !chains.is_empty() {
            marks.chain_max = chains.iter().copied().max().unwrap_or_default();
            marks.chain_median = median(chains);
        }
        step.marks = marks;
        if let (Some(from), Some(to)) = (last_deployment_write, ready) {
            busy.push(clip(from, to));
            step.rollout = union(&busy) - step.api;
        }
        step
    }

    fn own(&self) -> Duration {
        self.wall.saturating_sub(self.api + self.rollout)
    }

    fn own_share(&self) -> f64 {
        self.own().as_secs_f64() / self.wall.as_secs_f64()
    }

    fn median_of(steps: &[Step], f: impl Fn(&Step) -> Duration) -> Duration {
        median(steps.iter().map(f).collect())
    }

    /// Each field's median (so the row shows a typical step, not one
    /// round's luck).
    fn median_step(steps: &[Step]) -> Step {
        let mid = |mut v: Vec<usize>| {
            v.sort();
            v[v.len() / 2]
        };
        let wall = Step::median_of(steps, |s| s.wall);
        let api = Step::median_of(steps, |s| s.api);
        let rollout = Step::median_of(steps, |s| s.rollout);
        let mark = |f: fn(&Marks) -> Duration| Step::median_of(steps, |s| f(&s.marks));
        Step {
            wall,
            api,
            rollout,
            marks: Marks {
                first_request: mark(|m| m.first_request),
                first_write: mark(|m| m.first_write),
                first_deployment_write: mark(|m| m.first_deployment_write),
                last_deployment_write: mark(|m| m.last_deployment_write),
                rolled_out: mark(|m| m.rolled_out),
                end: mark(|m| m.end),
                chain_median: mark(|m| m.chain_median),
                chain_max: mark(|m| m.chain_max),
            },
            requests: mid(steps.iter().map(|s| s.requests).collect()),
            watches: mid(steps.iter().map(|s| s.watches).collect()),
            latency_sum: Step::median_of(steps, |s| s.latency_sum),
            connections: mid(steps.iter().map(|s| s.connections).collect()),
            http_versions: steps
                .iter()
                .map(|s| s.http_versions.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(" / "),
        }
    }
}

/// Total length of a set of intervals (overlaps counted once).
fn union(intervals: &[(Instant, Instant)]) -> Duration {
    let mut v: Vec<_> = intervals.iter().filter(|(a, b)| b > a).copied().collect();
    v.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (a, b) in v {
        current = match current {
            Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    if let Some((a, b)) = current {
        total += b - a;
    }
    total
}

/// Deployment name → (generation, when that generation was seen complete).
type ReadyAt = HashMap<String, (i64, Option<Instant>)>;

/// When each Deployment last became complete (its current generation
/// observed, every replica updated and available, no old ones left), as a
/// watch of the bench's own sees it.
struct Rollouts {
    ready: Arc<Mutex<ReadyAt>>,
}

impl Rollouts {
    fn watch(rt: &tokio::runtime::Runtime, client: kube::Client) -> Rollouts {
        let ready: Arc<Mutex<ReadyAt>> = Default::default();
        let seen = ready.clone();
        let api: Api<Deployment> = Api::namespaced(client, "default");
        rt.spawn(async move {
            // With a backoff: once the simulator is gone at the end, a watch that
            // retried at once kept a worker busy and the runtime's shutdown waiting.
            let events = watcher(api, watcher::Config::default())
                .default_backoff()
                .applied_objects();
            futures::pin_mut!(events);
            while let Some(d) = events.next().await {
                let Ok(d) = d else { continue };
                let now = Instant::now();
                let name = d.metadata.name.clone().unwrap_or_default();
                let generation = d.metadata.generation.unwrap_or(0);
                let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                let st = d.status.clone().unwrap_or_default();
                let complete = st.observed_generation.unwrap_or(0) >= generation
                    && st.updated_replicas.unwrap_or(0) == want
                    && st.available_replicas.unwrap_or(0) == want
                    && st.replicas.unwrap_or(0) == want;
                let mut map = seen.lock().unwrap();
                let entry = map.entry(name).or_insert((generation, None));
                if entry.0 != generation || !complete {
                    *entry = (generation, None);
                }
                if complete && entry.1.is_none() {
                    entry.1 = Some(now);
                }
            }
        });
        Rollouts { ready }
    }

    /// The moment the last Deployment of `release` became complete.
    fn last_ready(&self, release: &str) -> Option<Instant> {
        let prefix = format!("{release}-");
        // The bench's watch may see the last event a little after the tool.
        std::thread::sleep(Duration::from_millis(50));
        let map = self.ready.lock().unwrap();
        map.iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .map(|(_, (_, at))| *at)
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .max()
    }
}

/// The berth CLI, run as a process.
struct Cli {
    exe: PathBuf,
    conn: Vec<String>,
}

impl Cli {
    fn command(&self, args: &[String]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(args).args(&self.conn).stdin(Stdio::null());
        c
    }

    /// Run to the end; the window it ran in.
    fn run(&self, args: &[String]) -> (Instant, Instant) {
        let start = Instant::now();
        let out = self
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("running berth");
        let end = Instant::now();
        assert!(
            out.status.success(),
            "berth {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (start, end)
    }

    fn wait_until_serving(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let ok = self
                .command(&["list".to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            assert!(Instant::now() < deadline, "berthd did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Median and p90 of spawn → first stdout byte, over `n` runs.
    fn first_byte(&self, args: &[String], n: usize) -> (Duration, Duration) {
        let mut times = Vec::new();
        for _ in 0..=n {
            let start = Instant::now();
            let mut child = self
                .command(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawning berth");
            let mut out = child.stdout.take().expect("stdout");
            let mut byte = [0u8; 1];
            out.read_exact(&mut byte).expect("berth history printed");
            times.push(start.elapsed());
            std::io::copy(&mut out, &mut std::io::sink()).ok();
            assert!(child.wait().expect("berth").success());
        }
        times.remove(0); // warm-up
        times.sort();
        (times[times.len() / 2], times[times.len() * 9 / 10])
    }
}

/// A release `berthd` process.
struct Agent {
    child: Child,
}

impl Agent {
    fn spawn(
        exe: &Path,
        pki: &berth::tls::DevPki,
        dir: &Path,
        kubeconfig: &Path,
        port: u16,
    ) -> Agent {
        let wrapper = std::env::var("BERTH_BENCH_BERTHD_WRAPPER").unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let mut cmd = match words.next() {
            Some(w) => {
                let mut c = Command::new(w);
                c.args(words).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        let log = std::fs::File::create(dir.join("berthd.log")).expect("log file");
        cmd.args(["--listen", &format!("127.0.0.1:{port}")]);
        common::berthd_flags(&mut cmd, pki, &dir.join("data"), kubeconfig)
            .args(["--log-format", "text"])
            .env("BERTHD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        Agent {
            child: cmd.spawn().expect("spawning berthd"),
        }
    }

    /// Resident set size now, in KiB.
    fn memory(&self) -> u64 {
        common::status_kib(self.child.id(), "VmRSS:")
    }

    /// Peak resident set size so far, in KiB.
    fn peak(&self) -> u64 {
        common::status_kib(self.child.id(), "VmHWM:")
    }

    /// Sample the RSS every 5 ms on a thread until stopped.
    fn sample_rss(&self) -> Sampler {
        let pid = self.child.id();
        let stop = Arc::new(AtomicBool::new(false));
        let max = Arc::new(AtomicU64::new(0));
        let (s, m) = (stop.clone(), max.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                m.fetch_max(common::status_kib(pid, "VmRSS:"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Sampler { stop, max, thread }
    }

    fn stop(mut self) {
        // SIGTERM: berthd shuts down gracefully.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

struct Sampler {
    stop: Arc<AtomicBool>,
    max: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Sampler {
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.max.load(Ordering::Relaxed)
    }
}

/// Real Helm in one Python process (benches/helm_upgrade.py).
struct Helm {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Helm {
    fn spawn(kubeconfig: &Path) -> Helm {
        let mut child = Command::new(python())
            .arg(Path::new(ROOT).join("benches/helm_upgrade.py"))
            .arg(kubeconfig)
            .arg(std::env::var("BERTH_BENCH_HELM_QPS").unwrap_or_else(|_| "1000".into()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("running python");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Helm {
            child,
            stdin,
            stdout,
        }
    }

    /// Send one command; the window around it and Helm's own time.
    fn step(&mut self, line: &str) -> (Instant, Instant, Duration) {
        let start = Instant::now();
        writeln!(self.stdin, "{line}").expect("helm_upgrade.py is running");
        self.stdin.flush().expect("helm_upgrade.py is running");
        let mut answer = String::new();
        self.stdout
            .read_line(&mut answer)
            .expect("helm_upgrade.py answers");
        let end = Instant::now();
        let secs = answer
            .strip_prefix("ok ")
            .and_then(|s| s.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("helm {line:?}: {}", answer.trim()));
        (start, end, Duration::from_secs_f64(secs))
    }
}

impl Drop for Helm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until no pod of the release is left (uninstall deletes in the
/// background), so every round starts from the same cluster.
async fn pods_gone(client: &kube::Client, release: &str) {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let params = ListParams::default().labels(&format!("app.kubernetes.io/instance={release}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while api
        .list(&params)
        .await
        .map_or(true, |l| !l.items.is_empty())
    {
        assert!(Instant::now() < deadline, "pods of {release} did not go");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn kube_client(kubeconfig: &str) -> kube::Client {
    let kc = kube::config::Kubeconfig::from_yaml(kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("kube config");
    kube::Client::try_from(cfg).expect("kube client")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `$BERTH_BENCH_BIN_DIR`, else the profile directory this bench was built
/// in (target/release/deps/upgrade-… → target/release).
fn bin_dir() -> PathBuf {
    if let Ok(d) = std::env::var("BERTH_BENCH_BIN_DIR") {
        return d.into();
    }
    let exe = std::env::current_exe().expect("own path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target directory")
        .to_path_buf()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A chart of `services` × (ServiceAccount, ConfigMap, Service, Deployment),
/// shaped like a real multi-service chart: shared helpers, per-service
/// values, a config checksum on the pods. `image.tag` changes every
/// Deployment and nothing else.
fn write_chart(dir: &Path, services: usize) {
    let list: Vec<Value> = (0..services)
        .map(|i| {
            json!({
                "name": format!("svc-{i:03}"),
                "port": 8000 + i,
                "replicas": 1 + i % 2,
                "env": {"LOG_LEVEL": "info", "SERVICE_INDEX": i.to_string()},
                "config": {"timeout": "30s", "retries": 3, "upstreams": [format!("svc-{:03}", (i + 1) % services)]}
            })
        })
        .collect();
    let values = berth_template::yaml::to_yaml(&json!({
        "image": {"repository": "registry.example/app", "tag": "1.0.0"},
        "services": list,
    }));
    let write = |name: &str, text: &str| common::write_file(dir, name, text);
    write(
        "Chart.yaml",
        "apiVersion: v2\nname: fleet\nversion: 1.0.0\nappVersion: \"1.0.0\"\n",
    );
    write("values.yaml", &values);
    write(
        "templates/_helpers.tpl",
        r#"{{- define "fleet.name" -}}
{{ .root.Release.Name }}-{{ .svc.name }}
{{- end }}
{{- define "fleet.selector" -}}
app.kubernetes.io/name: {{ .svc.name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}
{{- define "fleet.labels" -}}
{{ include "fleet.selector" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "fleet.config" -}}
{{ toYaml .svc.config }}
{{- end }}
"#,
    );
    write(
        "templates/serviceaccounts.yaml",
        r#"{{- range .Values.services }}
{{- $ctx := dict "svc" . "root" $ }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "fleet.name" $ctx }}
  labels:
    {{- include "fleet.labels" $ctx | nindent 4 }}
automountServiceAccountToken: false
{{- end }}
"#,
    );
    write(
        "templates/configmaps.yaml",
        r#"{{- range .Values.services }}
{{- $ctx := dict "svc" . "root" $ }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "fleet.name" $ctx }}
  labels:
    {{- include "fleet.labels" $ctx | nindent 4 }}
data:
  config.yaml: |
    {{- include "fleet.config" $ctx | nindent 4 }}
{{- end }}
"#,
    );
    write(
        "templates/services.yaml",
        r#"{{- range .Values.services }}
{{- $ctx := dict "svc" . "root" $ }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "fleet.name" $ctx }}
  labels:
    {{- include "fleet.labels" $ctx | nindent 4 }}
spec:
  ports:
    - name: http
      port: {{ .port }}
      targetPort: http
  selector:
    {{- include "fleet.selector" $ctx | nindent 4 }}
{{- end }}
"#,
    );
    write(
        "templates/deployments.yaml",
        r#"{{- range .Values.services }}
{{- $ctx := dict "svc" . "root" $ }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "fleet.name" $ctx }}
  labels:
    {{- include "fleet.labels" $ctx | nindent 4 }}
spec:
  replicas: {{ .replicas | default 1 }}
  selector:
    matchLabels:
      {{- include "fleet.selector" $ctx | nindent 6 }}
  template:
    metadata:
      annotations:
        checksum/config: {{ include "fleet.config" $ctx | sha256sum }}
      labels:
        {{- include "fleet.labels" $ctx | nindent 8 }}
    spec:
      serviceAccountName: {{ include "fleet.name" $ctx }}
      containers:
        - name: app
          image: "{{ $.Values.image.repository }}:{{ $.Values.image.tag }}"
          ports:
            - name: http
              containerPort: {{ .port }}
          env:
            {{- range $k, $v := .env }}
            - name: {{ $k }}
              value: {{ $v | quote }}
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ include "fleet.name" $ctx }}
          resources:
            requests:
              cpu: 50m
              memory: 64Mi
{{- end }}
"#,
    );
}
