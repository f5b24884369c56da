//! Crash safety: the real berthd is killed with SIGKILL at random points of
//! random operations (mid-upload, mid-apply, mid-wait, mid-journal write),
//! many times. After every restart the journal opens, nothing is left
//! pending, each release's history is consistent, and the next operation
//! on the release succeeds.
//!
//! `BERTH_CRASH_ITERATIONS` (default 25) sets the number of kills and
//! `BERTH_CRASH_SEED` replays a run (the seed is printed on failure).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Berthd, Env, NEVER_READY, Out, berth_raw, path};

/// splitmix64: a reproducible sequence from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A chart with a large, unique payload, so its upload takes a while and
/// is never skipped: a kill can land in the middle of it.
fn big_chart(env: &Env, rng: &mut Rng, i: usize) -> String {
    let dir = env.dir.path().join(format!("big-{i}"));
    berth_cli::demo::write_chart(&dir, "2.0.0").unwrap();
    let mut payload = Vec::with_capacity(3 << 20);
    while payload.len() < 3 << 20 {
        payload.extend_from_slice(&rng.next().to_le_bytes());
    }
    std::fs::write(dir.join("payload.bin"), payload).unwrap();
    path(&dir)
}

fn history(out: &Out) -> Vec<Value> {
    out.json().as_array().cloned().unwrap_or_default()
}

/// Every invariant a restarted agent must hold for one release.
fn check_history(name: &str, ns: &str, h: &[Value], context: &str) {
    let revs: Vec<u64> = h.iter().map(|r| r["revision"].as_u64().unwrap()).collect();
    let first = revs.first().copied().unwrap_or(1);
    let want: Vec<u64> = (first..first + revs.len() as u64).collect();
    assert_eq!(
        revs, want,
        "{ns}/{name}: revisions not contiguous ({context})"
    );
    let statuses: Vec<&str> = h.iter().map(|r| r["status"].as_str().unwrap()).collect();
    for (r, s) in h.iter().zip(&statuses) {
        assert!(
            !s.starts_with("pending"),
            "{ns}/{name} revision {} still {s} after a restart ({context})",
            r["revision"]
        );
        if *s == "failed" {
            assert!(
                !r["description"].as_str().unwrap_or_default().is_empty(),
                "{ns}/{name} revision {} failed without a description ({context})",
                r["revision"]
            );
        }
    }
    let deployed = statuses.iter().filter(|s| **s == "deployed").count();
    assert!(
        deployed <= 1,
        "{ns}/{name}: {deployed} deployed revisions ({context}): {statuses:?}"
    );
    let last = statuses.last().copied().unwrap_or_default();
    if statuses.contains(&"superseded") && last != "uninstalled" {
        assert_eq!(
            deployed, 1,
            "{ns}/{name}: something was deployed before, but no revision is now ({context}): {statuses:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn berthd_killed_at_random_points_loses_nothing_and_leaves_nothing_stuck() {
    let iterations: usize = std::env::var("BERTH_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    let seed: u64 = std::env::var("BERTH_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let mut rng = Rng(seed);
    let mut env = Env::without_agent().await;
    let mut agent = Berthd::spawn(&env, &[]).await;
    env.agent_url = agent.url.clone();
    let small = [env.chart("1.0.0"), env.chart("1.1.0")];
    let releases = ["alpha", "beta", "gamma"];
    let mut acknowledged: Vec<(String, u64)> = Vec::new();
    let mut kinds = BTreeSet::new();

    for i in 0..iterations {
        let context = format!("iteration {i}, BERTH_CRASH_SEED={seed}");
        let name = releases[rng.below(releases.len() as u64) as usize];
        let exists = env.berth(&["status", name]).await.code == 0;
        let (kind, mut args): (&str, Vec<String>) = match (exists, rng.below(6)) {
            (_, 0) => ("upload", {
                let chart = big_chart(&env, &mut rng, i);
                vec!["upgrade".into(), name.into(), chart, "--install".into()]
            }),
            (true, 1) => ("rollback", vec!["rollback".into(), name.into()]),
            (true, 2) => (
                "uninstall",
                vec![
                    "uninstall".into(),
                    name.into(),
                    if rng.below(2) == 0 {
                        "--keep-history".into()
                    } else {
                        "--timeout=5m".into()
                    },
                ],
            ),
            (_, 3) => ("wait-stuck", {
                let chart = small[rng.below(2) as usize].clone();
                vec![
                    "upgrade".into(),
                    name.into(),
                    chart,
                    "--install".into(),
                    "--wait".into(),
                    "--set".into(),
                    NEVER_READY.into(),
                ]
            }),
            _ => ("apply", {
                let chart = small[rng.below(2) as usize].clone();
                let mut a = vec![
                    "upgrade".into(),
                    name.into(),
                    chart,
                    "--install".into(),
                    "--set".into(),
                    format!("iteration={i}"),
                ];
                if rng.below(2) == 0 {
                    a.push("--wait".into());
                }
                a
            }),
        };
        kinds.insert(kind);
        if kind == "uninstall" {
            // Its history may be purged on purpose from here on.
            acknowledged.retain(|(n, _)| n != name);
        }
        args.extend(env.conn_args());
        let op = tokio::spawn(async move { berth_raw(&args).await });

        // The kill lands anywhere from before the request arrives to after
        // the operation ended.
        let delay = rng.below(600);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        agent.child.start_kill().unwrap();
        agent.child.wait().await.unwrap();
        // The client must end (success or a clear failure), never hang.
        let out = tokio::time::timeout(Duration::from_secs(120), op)
            .await
            .unwrap_or_else(|_| panic!("the CLI hung after berthd died ({context})"))
            .unwrap();
        if out.code == 0 {
            // Whatever the CLI saw acknowledged must survive the crash.
            if let Some(rev) = out
                .stdout
                .lines()
                .find_map(|l| l.strip_prefix("REVISION: "))
                .and_then(|r| r.trim().parse().ok())
            {
                acknowledged.push((name.to_string(), rev));
            }
        } else {
            assert!(
                !out.stderr.trim().is_empty(),
                "a failed command says why ({context})"
            );
        }

        // Shown when the test fails: what happened up to the failure.
        eprintln!(
            "{i}: {kind} on {name}, killed after {delay} ms, CLI exit {}: {}",
            out.code,
            out.stderr.lines().next().unwrap_or("ok")
        );
        agent = Berthd::spawn(&env, &[]).await;
        env.agent_url = agent.url.clone();

        let listed = env
            .berth(&["list", "-A", "-a", "-o", "json"])
            .await
            .ok()
            .json();
        for r in listed.as_array().unwrap() {
            let (n, ns) = (
                r["name"].as_str().unwrap(),
                r["namespace"].as_str().unwrap(),
            );
            let h = env
                .berth(&["history", n, "-n", ns, "-o", "json", "--max", "0"])
                .await
                .ok();
            check_history(n, ns, &history(&h), &context);
        }
        for (n, rev) in &acknowledged {
            let h = env.berth(&["history", n, "-o", "json", "--max", "0"]).await;
            if h.code != 0 {
                // An uninstall without --keep-history since: gone on purpose.
                continue;
            }
            let revs: Vec<u64> = history(&h)
                .iter()
                .map(|r| r["revision"].as_u64().unwrap())
                .collect();
            assert!(
                revs.contains(rev) || revs.first().is_some_and(|f| f > rev),
                "{n} revision {rev} was acknowledged but is gone ({context})"
            );
        }
        // The release is operable: no stuck lock, the next operation works.
        env.berth(&[
            "upgrade",
            name,
            &small[0],
            "--install",
            "--set",
            &format!("after={i}"),
        ])
        .await
        .ok();
    }
    eprintln!(
        "crash harness: {iterations} kills (seed {seed}), operations {kinds:?}, {} acknowledged revisions kept",
        acknowledged.len()
    );
}
