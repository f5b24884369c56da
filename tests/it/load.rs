//! Concurrency and load: many upgrades of different releases and hundreds
//! of readers against one agent finish without an error, and clients racing
//! to change one release never get two operations past its lock.

use std::time::Duration;

use berth::proto;

use crate::common::{Env, Out, berth_raw};

fn args(env: &Env, a: &[&str]) -> Vec<String> {
    a.iter()
        .map(|s| s.to_string())
        .chain(env.conn_args())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_upgrades_and_two_hundred_readers_at_once_all_succeed() {
    let env = Env::start().await;
    let chart = env.chart("1.0.0");
    let next = env.chart("1.1.0");
    let names: Vec<String> = (0..20).map(|i| format!("r{i:02}")).collect();

    let installs: Vec<_> = names
        .iter()
        .map(|n| {
            let a = args(&env, &["install", n, &chart]);
            tokio::spawn(async move { berth_raw(&a).await })
        })
        .collect();
    for (n, h) in names.iter().zip(installs) {
        let out = h.await.unwrap();
        assert_eq!(out.code, 0, "install {n}: {}", out.stderr);
    }

    let mut tasks: Vec<(String, tokio::task::JoinHandle<Out>)> = Vec::new();
    for n in &names {
        let a = args(
            &env,
            &["upgrade", n, &next, "--wait", "--set", "replicaCount=3"],
        );
        tasks.push((
            format!("upgrade {n}"),
            tokio::spawn(async move { berth_raw(&a).await }),
        ));
    }
    for i in 0..200 {
        let n = &names[i % names.len()];
        let verb: &[&str] = match i % 4 {
            0 => &["history", n, "-o", "json"],
            1 => &["status", n, "-o", "json"],
            2 => &["watch", n, "-o", "json"],
            _ => &["list", "-o", "json"],
        };
        let label = format!("{} #{i}", verb.join(" "));
        let a = args(&env, verb);
        tasks.push((label, tokio::spawn(async move { berth_raw(&a).await })));
    }
    let total = tasks.len();
    let mut failures = Vec::new();
    for (label, h) in tasks {
        let out = h.await.unwrap();
        if out.code != 0 {
            failures.push(format!("{label}: {}", out.stderr.trim()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} calls failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for n in &names {
        let h = env.berth(&["history", n, "-o", "json"]).await.ok().json();
        assert_eq!(h[1]["status"], "deployed", "{n}: {h}");
        assert_eq!(h[1]["chart"], "hello-1.1.0");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_racing_on_one_release_never_get_two_operations_past_its_lock() {
    let env = Env::start().await;
    let chart = env.chart("1.0.0");
    env.berth(&["install", "contended", &chart]).await.ok();

    for round in 0..3 {
        let racers: Vec<_> = (0..12)
            .map(|i| {
                let a = args(
                    &env,
                    &[
                        "upgrade",
                        "contended",
                        &chart,
                        "--wait",
                        "--set",
                        &format!("racer={round}-{i}"),
                    ],
                );
                tokio::spawn(async move { berth_raw(&a).await })
            })
            .collect();
        let mut won = 0;
        for h in racers {
            let out = h.await.unwrap();
            if out.code == 0 {
                won += 1;
            } else {
                assert!(
                    out.stderr.contains("in progress"),
                    "a racer lost for another reason than the lock: {}",
                    out.stderr
                );
            }
        }
        assert!(won >= 1, "round {round}: nobody got the lock");
        // A short pause lets the next round start from an idle release.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The stored revisions: contiguous, and no two operations overlapped.
    let target = berth_cli::connect::Target {
        agent: Some(env.agent_url.clone()),
        ca: Some(env.pki.ca_cert.clone()),
        cert: Some(env.pki.client_cert.clone()),
        key: Some(env.pki.client_key.clone()),
        cluster: None,
    };
    let mut client = berth_cli::connect::connect(&target).await.unwrap();
    let revs = client
        .history(proto::HistoryRequest {
            release: "contended".into(),
            namespace: "default".into(),
            max: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .revisions;
    for (i, r) in revs.iter().enumerate() {
        assert_eq!(r.revision, i as u64 + 1, "contiguous");
    }
    for pair in revs.windows(2) {
        assert!(
            pair[1].created_unix_ms >= pair[0].updated_unix_ms,
            "revision {} started before revision {} ended",
            pair[1].revision,
            pair[0].revision
        );
    }
    let deployed = revs
        .iter()
        .filter(|r| r.status == proto::ReleaseStatus::Deployed as i32)
        .count();
    assert_eq!(deployed, 1);
}
