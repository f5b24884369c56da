//! Release operations end to end, berth against real Helm, on one cluster.
//!
//! One berth-sim (fast profile) serves both. berth runs as users run it: the
//! CLI (in-process) talks to an in-process berthd over mTLS, which journals
//! to sled and applies with server-side apply. Helm v4 runs through
//! helm-python-sdk against the same simulator with its default Secret
//! storage. Each round installs the demo chart under a fresh name, upgrades
//! it to a new chart version with new values, rolls back to revision 1 and
//! uninstalls it, all without `--wait` (rollout time is the simulator's, the
//! same for both). Medians per verb are compared.
//!
//! `BERTH_BENCH_API_DELAY_MS=N` answers every API request N ms late (a
//! fault rule of the simulator), as an API server farther away than
//! loopback and backed by etcd would, for both tools.
//!
//!     scripts/bench.sh            # or: cargo bench --bench lifecycle

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::{Capture, ROOT, count, median, python};
const VERBS: [&str; 4] = ["install", "upgrade", "rollback", "uninstall"];

#[tokio::main]
async fn main() {
    let rounds: usize = count("BERTH_BENCH_ROUNDS", 30);
    let stack = common::Stack::start(berth_sim::Clock::Real { scale: 1.0 }).await;
    let delay = count("BERTH_BENCH_API_DELAY_MS", 0);
    if delay > 0 {
        use berth_sim::faults::{Action, Match, Rule};
        stack
            .sim
            .faults()
            .add(Rule::new(Match::default(), Action::delay(delay as u64)));
    }
    let dir = &stack.dir;
    let v1 = dir.path().join("hello-1.0.0");
    let v2 = dir.path().join("hello-1.1.0");
    berth_cli::demo::write_chart(&v1, "1.0.0").expect("chart");
    berth_cli::demo::write_chart(&v2, "1.1.0").expect("chart");

    let conn = &stack.conn;
    let mut berth_times: [Vec<Duration>; 4] = Default::default();
    // One warm-up round, then the measured ones.
    for round in 0..=rounds {
        let name = format!("b{round}");
        let steps: [Vec<String>; 4] = [
            vec!["install".into(), name.clone(), path(&v1)],
            vec![
                "upgrade".into(),
                name.clone(),
                path(&v2),
                "--set".into(),
                "replicaCount=3".into(),
            ],
            vec!["rollback".into(), name.clone(), "1".into()],
            vec!["uninstall".into(), name.clone()],
        ];
        for (i, step) in steps.into_iter().enumerate() {
            let mut args = vec!["berth".to_string()];
            args.extend(step);
            args.extend(conn.iter().cloned());
            let err = Capture::default();
            let mut io = berth_cli::Io::new(Box::new(std::io::sink()), Box::new(err.clone()));
            let start = Instant::now();
            let code = berth_cli::run(args.clone(), &mut io).await;
            let took = start.elapsed();
            assert_eq!(code, 0, "berth {args:?} failed: {}", err.text());
            if round > 0 {
                berth_times[i].push(took);
            }
        }
    }

    let helm = helm_medians(&stack.kubeconfig, &v1, &v2, rounds);
    println!(
        "{rounds} rounds, API requests {delay} ms late; medians; ratio = berth / Helm (below 1 is faster)\n"
    );
    println!("| verb | berth | Helm v4 | ratio |");
    println!("|---|---|---|---|");
    for (i, verb) in VERBS.iter().enumerate() {
        let b = median(std::mem::take(&mut berth_times[i]));
        let h = helm[i];
        println!(
            "| {verb} | {:.1} ms | {:.1} ms | {:.2} |",
            b.as_secs_f64() * 1e3,
            h.as_secs_f64() * 1e3,
            b.as_secs_f64() / h.as_secs_f64()
        );
    }
    stack.stop().await;
}

fn helm_medians(kubeconfig: &Path, v1: &Path, v2: &Path, rounds: usize) -> Vec<Duration> {
    let out = Command::new(python())
        .arg(Path::new(ROOT).join("benches/helm_lifecycle.py"))
        .args([kubeconfig, v1, v2])
        .arg(rounds.to_string())
        .output()
        .expect("running python");
    assert!(
        out.status.success(),
        "helm_lifecycle.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|s| Duration::from_secs_f64(s.parse().expect("seconds")))
        .collect()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}
