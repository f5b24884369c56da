//! The journal as users rely on it: what a client saw acknowledged survives
//! a crash of berthd, a journal berthd cannot read stops it (naming the
//! path) instead of being reset, and `berthd journal check|export|import`
//! back a journal up and move it.

use crate::common::{Berthd, Env};

/// The lines of an `--events ndjson` run.
fn lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test]
async fn what_a_client_saw_acknowledged_survives_killing_berthd() {
    let mut env = Env::without_agent().await;
    let mut berthd = Berthd::spawn(&env, &[]).await;
    env.agent_url = berthd.url.clone();
    let seen = env
        .berth(&[
            "install",
            "hello",
            &env.chart("1.0.0"),
            "--wait",
            "--events",
            "ndjson",
        ])
        .await
        .ok();
    // No grace: the process dies the moment the client has its answer.
    berthd.child.start_kill().unwrap();
    berthd.child.wait().await.unwrap();

    let berthd = Berthd::spawn(&env, &[]).await;
    env.agent_url = berthd.url.clone();
    let h = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h[0]["status"], "deployed", "{h}");
    let replayed = env
        .berth(&["watch", "hello", "--events", "ndjson"])
        .await
        .ok();
    let (seen, replayed) = (lines(&seen.stdout), lines(&replayed.stdout));
    assert!(seen.len() > 5, "{seen:?}");
    assert_eq!(
        replayed, seen,
        "the journal replays every event the client saw, with the same numbers"
    );
}
