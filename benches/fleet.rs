//! One upgrade on one cluster against the same upgrade on a whole fleet.
//!
//! 50 berth-sims (fast profile, real clock) and 50 berthds run in this
//! process on loopback, each agent with its own data directory and
//! kubeconfig, all serving one shared PKI; a berth config file names them
//! as clusters `c00`… with the label `bench=fleet`. Each round times, with
//! the CLI in-process (`berth_cli::run`, as a user runs it, progress lines
//! and all):
//!
//! - `berth --cluster c00 upgrade --install one CHART --wait --set …`
//! - `berth fleet upgrade --install fleet CHART --wait --selector bench=fleet --set …`
//!   with the default `--max-parallel` (all clusters at once), and with
//!   `--max-parallel 10` (the default before)
//! - the one-cluster and all-at-once runs again with pods that take 2 s to
//!   start (berth-sim's `start-delay` knob) rather than the fast profile's
//!   200 ms: the same CPU, spent while the clusters wait for containers
//!
//! The chart is `helm create`'s scaffold (Deployment, Service,
//! ServiceAccount, NOTES, a test hook); every round sets a new pod
//! annotation, so each run is a real upgrade with a rollout to wait for.
//! One warm-up round (the installs), then medians of N rounds.
//!
//! The simulators and agents run on a tokio runtime of their own and the
//! CLI on another, as they would in separate processes; all of them share
//! this machine's cores, which a real fleet does not.
//!
//!     cargo bench --bench fleet        # BERTH_BENCH_ROUNDS=N BERTH_BENCH_CLUSTERS=N
//!     BERTH_BENCH_ONLY=one,fleet …  # some of one, fleet, fleet-10, one-2s, fleet-2s
//!     BERTH_BENCH_MARKS=1 …         # when the clusters' requests came, each round,
//!                                   # and its start on CLOCK_MONOTONIC (for perf)

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{Capture, Pki, ROOT, Stack, count, cpu_time, median};

struct Variant {
    key: &'static str,
    label: String,
    /// The one-cluster run this one's ratio is taken against.
    one: &'static str,
    /// Clusters it upgrades.
    clusters: usize,
    args: Vec<String>,
    times: Vec<Duration>,
    /// CPU time the whole process (CLI, agents, simulators) used per round.
    cpu: Vec<Duration>,
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    let clusters = count("BERTH_BENCH_CLUSTERS", 50);
    let rounds = count("BERTH_BENCH_ROUNDS", 5);
    let only = std::env::var("BERTH_BENCH_ONLY").ok();
    let fleet_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("fleet")
        .build()
        .expect("runtime");
    let cli_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("cli")
        .build()
        .expect("runtime");

    let pki = Arc::new(Pki::generate());
    let started = Instant::now();
    let stacks: Vec<Stack> = fleet_rt.block_on(async {
        let mut stacks = Vec::new();
        for _ in 0..clusters {
            stacks.push(
                Stack::with_pki(Arc::clone(&pki), berth_sim::Clock::Real { scale: 1.0 }).await,
            );
        }
        stacks
    });
    eprintln!(
        "{clusters} simulators and agents started in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir().expect("temporary directory");
    let config_path = dir.path().join("config.yaml");
    let files = &pki.files;
    berth_cli::config::Config {
        current_cluster: None,
        clusters: stacks
            .iter()
            .enumerate()
            .map(|(i, s)| berth_cli::config::Cluster {
                name: format!("c{i:02}"),
                agent: s.agent_url.clone(),
                ca: files.ca_cert.clone(),
                cert: files.client_cert.clone(),
                key: files.client_key.clone(),
                labels: [("bench".to_string(), "fleet".to_string())].into(),
            })
            .collect(),
    }
    .save_to(&config_path)
    .expect("config file");
    let chart = Path::new(ROOT).join("tests/golden/charts/scaffold");

    let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let fleet = strings(&["fleet", "upgrade", "--install", "fleet"]);
    let all = strings(&["--selector", "bench=fleet"]);
    // berth-sim's pod knob: containers that take as long to start as real
    // ones often do, instead of the fast profile's 200 ms.
    let slow = strings(&["--set", "podAnnotations.kubesim\\.invalid/start-delay=2s"]);
    let variant = |key, label: String, one, clusters, args: Vec<String>| Variant {
        key,
        label,
        one,
        clusters,
        args,
        times: Vec::new(),
        cpu: Vec::new(),
    };
    let one_args = strings(&["--cluster", "c00", "upgrade", "--install", "one"]);
    let mut variants = vec![
        variant(
            "one",
            "one cluster: `upgrade --install --wait`".into(),
            "one",
            1,
            one_args.clone(),
        ),
        variant(
            "fleet",
            format!(
                "fleet of {clusters}: `fleet upgrade --install --wait` (default --max-parallel: all)"
            ),
            "one",
            clusters,
            [fleet.clone(), all.clone()].concat(),
        ),
        variant(
            "fleet-10",
            format!("fleet of {clusters}, `--max-parallel 10` (the default before 2026-12-04)"),
            "one",
            clusters,
            [
                fleet.clone(),
                all.clone(),
                strings(&["--max-parallel", "10"]),
            ]
            .concat(),
        ),
        variant(
            "one-2s",
            "one cluster, pods that start in 2 s".into(),
            "one-2s",
            1,
            [one_args, slow.clone()].concat(),
        ),
        variant(
            "fleet-2s",
            format!("fleet of {clusters}, pods that start in 2 s"),
            "one-2s",
            clusters,
            [fleet, all, slow].concat(),
        ),
    ];
    variants.retain(|v| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|k| k == v.key))
    });

    let marks = std::env::var("BERTH_BENCH_MARKS").is_ok();
    let load_before = load();
    let mut idle_cpu = 0.0;
    for round in 0..=rounds {
        if round == 1 {
            // What the clusters cost while nothing runs, with the warm-up's releases
            // installed: controllers' timers, journals' flush threads, idle connections.
            let (cpu, wall) = (cpu_time(), Instant::now());
            std::thread::sleep(Duration::from_secs(2));
            idle_cpu = (cpu_time() - cpu).as_secs_f64() / wall.elapsed().as_secs_f64();
        }
        for v in &mut variants {
            let mut args = vec![
                "berth".to_string(),
                "--config".into(),
                config_path.display().to_string(),
            ];
            args.extend(v.args.iter().cloned());
            args.extend([
                chart.display().to_string(),
                "--wait".into(),
                "--set".into(),
                format!("podAnnotations.round=r{round}-{}", v.key),
            ]);
            let (out, err) = (Capture::default(), Capture::default());
            let mut io = berth_cli::Io::new(Box::new(out.clone()), Box::new(err.clone()));
            if marks {
                eprintln!("round {round} {} starts at {} ns", v.key, monotonic_ns());
            }
            let (start, cpu) = (Instant::now(), cpu_time());
            let code = cli_rt.block_on(berth_cli::run(args.clone(), &mut io));
            let (took, cpu) = (start.elapsed(), cpu_time() - cpu);
            assert_eq!(
                code,
                0,
                "berth {args:?} failed:\n{}\n{}",
                out.text(),
                err.text()
            );
            eprintln!(
                "round {round} {}: {:.0} ms",
                v.key,
                took.as_secs_f64() * 1e3
            );
            if marks {
                print_marks(&stacks, start, took);
            }
            if round > 0 {
                v.times.push(took);
                v.cpu.push(cpu);
            }
        }
    }
    let load_after = load();

    println!(
        "{clusters} clusters (simulator + berthd each, in-process, loopback mTLS), scaffold chart, \
         {rounds} rounds, medians; load average {load_before} before, {load_after} after\n"
    );
    println!(
        "| run | wall time | ratio to one cluster | CPU time (all threads) | CPU per cluster |"
    );
    println!("|---|---|---|---|---|");
    for v in &variants {
        let m = median(v.times.clone());
        let one = variants.iter().find(|o| o.key == v.one);
        let ratio = one.map_or("–".to_string(), |o| {
            format!(
                "{:.2}",
                m.as_secs_f64() / median(o.times.clone()).as_secs_f64()
            )
        });
        let cpu = median(v.cpu.clone()).as_secs_f64() * 1e3;
        println!(
            "| {} | {:.0} ms | {ratio} | {cpu:.0} ms | {:.1} ms |",
            v.label,
            m.as_secs_f64() * 1e3,
            cpu / v.clusters as f64
        );
    }
    println!(
        "\nidle: the {clusters} clusters use {:.0}% of one core while nothing runs (after the warm-up)",
        idle_cpu * 100.0
    );
    println!("\ngoal: fleet ≤ 1.5 × one cluster");

    fleet_rt.block_on(async {
        for s in stacks {
            s.stop().await;
        }
    });
}

/// CLOCK_MONOTONIC, as `perf record -k CLOCK_MONOTONIC` stamps samples.
fn monotonic_ns() -> u64 {
    // SAFETY: an all-zero timespec is valid, and clock_gettime only fills it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// When, from the round's start, each cluster's agent made its first
/// request, wrote the Deployment and opened the last of its wait's watches
/// (the simulators' request logs): the earliest, the median and the latest
/// cluster.
fn print_marks(stacks: &[Stack], start: Instant, took: Duration) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut first = Vec::new();
    let mut write = Vec::new();
    let mut watch = Vec::new();
    for s in stacks {
        let reqs = s.sim.requests();
        let win: Vec<_> = reqs.iter().filter(|r| r.started >= start).collect();
        if let Some(r) = win.first() {
            first.push(r.started - start);
        }
        if let Some(r) = win
            .iter()
            .find(|r| r.path.contains("/deployments/") && r.method == "PATCH")
        {
            write.push(r.started - start);
        }
        if let Some(r) = win.iter().rev().find(|r| r.verb == "watch") {
            watch.push(r.started - start);
        }
        s.sim.clear_requests();
    }
    let q = |mut v: Vec<Duration>| {
        v.sort();
        if v.is_empty() {
            return "-".to_string();
        }
        format!(
            "{:.0}/{:.0}/{:.0}",
            ms(v[0]),
            ms(v[v.len() / 2]),
            ms(v[v.len() - 1])
        )
    };
    eprintln!(
        "  from the start, ms (first/median/last cluster): first request {}, Deployment write {}, \
         wait's last watch {}, end {:.0}",
        q(first),
        q(write),
        q(watch),
        ms(took)
    );
}
