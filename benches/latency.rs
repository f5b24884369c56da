//! How long after a Deployment becomes ready in the cluster the CLI says so.
//!
//! berth-sim runs on a manual clock, so nothing becomes ready until the
//! bench moves time. Each round installs the demo chart with `--wait`
//! through the real CLI → berthd (mTLS) → berth-sim path; once the CLI has
//! printed the wait phase, the bench advances the simulator's clock (the
//! controllers make the Deployment ready during that call) and measures
//! until the CLI writes the "ready" line. Reported from the end of the
//! clock advance (the ready state is in the store) and from its start.
//!
//!     cargo bench --bench latency        # BERTH_BENCH_ROUNDS=N

use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::{count, median};

/// A CLI output that reports each line with the instant it was written.
struct Probe(mpsc::Sender<(String, Instant)>);

impl Write for Probe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let now = Instant::now();
        for line in String::from_utf8_lossy(buf).lines() {
            let _ = self.0.send((line.to_string(), now));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn wait_line(rx: &mpsc::Receiver<(String, Instant)>, needle: &str) -> Instant {
    let mut seen = Vec::new();
    loop {
        let Ok((line, at)) = rx.recv_timeout(Duration::from_secs(30)) else {
            panic!(
                "the CLI never printed {needle:?}; it printed:\n{}",
                seen.join("\n")
            );
        };
        if line.contains(needle) {
            return at;
        }
        seen.push(line);
    }
}

#[tokio::main]
async fn main() {
    let rounds = count("BERTH_BENCH_ROUNDS", 30);
    let stack = common::Stack::start(berth_sim::Clock::Manual).await;
    let (dir, sim) = (&stack.dir, &stack.sim);
    let chart = dir.path().join("hello");
    berth_cli::demo::write_chart(&chart, "1.0.0").expect("chart");
    let conn = &stack.conn;
    let (mut from_store, mut from_advance) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let name = format!("l{round}");
        let (tx, rx) = mpsc::channel();
        let mut args = vec![
            "berth".to_string(),
            "install".into(),
            name.clone(),
            chart.display().to_string(),
            "--wait".into(),
        ];
        args.extend(conn.iter().cloned());
        let cli = tokio::spawn(async move {
            let mut io = berth_cli::Io::new(Box::new(Probe(tx)), Box::new(std::io::sink()));
            berth_cli::run(args, &mut io).await
        });
        let rx = tokio::task::spawn_blocking(move || {
            wait_line(&rx, "wait (");
            rx
        })
        .await
        .unwrap();
        let start = Instant::now();
        sim.clock().advance(Duration::from_secs(2)).await;
        let advanced = Instant::now();
        let needle = format!("Deployment/{name}-hello (default) ready");
        let printed = tokio::task::spawn_blocking(move || wait_line(&rx, &needle))
            .await
            .unwrap();
        assert_eq!(cli.await.unwrap(), 0, "install {name} failed");
        if round > 0 {
            from_store.push(printed.saturating_duration_since(advanced));
            from_advance.push(printed.saturating_duration_since(start));
        }
    }
    let show = |mut v: Vec<Duration>| {
        v.sort();
        let p90 = v[(v.len() * 9 / 10).min(v.len() - 1)];
        let max = *v.last().unwrap();
        format!(
            "{:.1} ms | {:.1} ms | {:.1} ms",
            median(v).as_secs_f64() * 1e3,
            p90.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        )
    };
    println!("{rounds} rounds: ready in the simulator → \"ready\" printed by the CLI\n");
    println!("| measured from | median | p90 | max |");
    println!("|---|---|---|---|");
    println!(
        "| end of the clock advance (state stored) | {} |",
        show(from_store)
    );
    println!("| start of the clock advance | {} |", show(from_advance));
    stack.stop().await;
}
