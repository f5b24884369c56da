//! Many clusters from one CLI: named clusters in a config file, fleet
//! operations by name or label selector, canaries, stopping on failure,
//! unreachable clusters told apart from failed ones, a JSON summary and
//! exit codes. Every cluster is its own simulator, agent and PKI.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use crate::common::{BAD_IMAGE, Env, Out, berth_raw, path};

struct Fleet {
    envs: Vec<(String, Env)>,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Fleet {
    /// Clusters named with labels; plus `gone`, whose agent is not there.
    async fn start(clusters: &[(&str, &[&str])]) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        let mut fleet = Fleet {
            envs: Vec::new(),
            config,
            _dir: dir,
        };
        for (name, labels) in clusters {
            let env = Env::start().await;
            let mut args = vec![
                "cluster".to_string(),
                "add".into(),
                name.to_string(),
                "--agent".into(),
                env.agent_url.clone(),
                "--ca".into(),
                path(&env.pki.ca_cert),
                "--cert".into(),
                path(&env.pki.client_cert),
                "--key".into(),
                path(&env.pki.client_key),
            ];
            for l in *labels {
                args.extend(["--label".to_string(), l.to_string()]);
            }
            fleet.berth(&args).await.ok();
            fleet.envs.push((name.to_string(), env));
        }
        // A cluster whose agent is down: its port refuses connections.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let first = &fleet.envs[0].1;
        let args: Vec<String> = [
            "cluster",
            "add",
            "gone",
            "--agent",
            &format!("https://127.0.0.1:{port}"),
            "--ca",
            &path(&first.pki.ca_cert),
            "--cert",
            &path(&first.pki.client_cert),
            "--key",
            &path(&first.pki.client_key),
            "--label",
            "env=gone",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        fleet.berth(&args).await.ok();
        fleet
    }

    async fn berth(&self, args: &[String]) -> Out {
        let mut full = vec!["--config".to_string(), path(&self.config)];
        full.extend(args.iter().cloned());
        berth_raw(&full).await
    }

    async fn run(&self, args: &[&str]) -> Out {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        self.berth(&args).await
    }

    fn env(&self, name: &str) -> &Env {
        &self.envs.iter().find(|(n, _)| n == name).unwrap().1
    }

    fn chart(&self) -> String {
        self.envs[0].1.chart("1.0.0")
    }

    fn received(&self, name: &str) -> u64 {
        let agent = self.env(name).agent.as_ref().unwrap();
        agent
            .agent
            .counters
            .chart_bytes_received
            .load(Ordering::SeqCst)
    }
}

/// The summary rows of a `-o json` fleet run, as (cluster, result, revision).
fn rows(out: &Out) -> Vec<(String, String, u64)> {
    out.json()["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {}", out.stdout))
        .iter()
        .map(|r| {
            (
                r["cluster"].as_str().unwrap().to_string(),
                r["result"].as_str().unwrap().to_string(),
                r["revision"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn row(cluster: &str, result: &str, revision: u64) -> (String, String, u64) {
    (cluster.to_string(), result.to_string(), revision)
}

#[tokio::test]
async fn clusters_are_named_listed_and_chosen_by_selector_and_the_chart_is_sent_once() {
    let fleet = Fleet::start(&[
        ("eu-1", &["env=prod", "region=eu"]),
        ("us-1", &["env=prod", "region=us"]),
        ("dev-1", &["env=dev"]),
    ])
    .await;
    let listed = fleet
        .run(&["cluster", "list", "-l", "env=prod", "-o", "json"])
        .await
        .ok()
        .json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["eu-1", "us-1"]);
    assert_eq!(
        listed[0]["current"], true,
        "the first cluster added is current"
    );

    let chart = fleet.chart();
    let out = fleet
        .run(&[
            "fleet",
            "install",
            "web",
            &chart,
            "--selector",
            "env=prod,region in (eu,us)",
            "-o",
            "json",
        ])
        .await
        .ok();
    assert_eq!(
        rows(&out),
        [row("eu-1", "succeeded", 1), row("us-1", "succeeded", 1)]
    );
    assert!(
        out.stderr.contains("[eu-1] ") && out.stderr.contains("[us-1] "),
        "progress lines name their cluster: {}",
        out.stderr
    );
    // dev-1 was not targeted.
    fleet.env("dev-1").berth(&["status", "web"]).await.failed();
    let sent = fleet.received("eu-1");
    assert!(sent > 0);
    assert_eq!(fleet.received("us-1"), sent);

    // The same chart again: every agent holds it, nothing is uploaded.
    let out = fleet
        .run(&[
            "fleet", "upgrade", "web", &chart, "-l", "env=prod", "--set", "x=1", "-o", "json",
        ])
        .await
        .ok();
    assert_eq!(
        rows(&out),
        [row("eu-1", "succeeded", 2), row("us-1", "succeeded", 2)]
    );
    assert_eq!(fleet.received("eu-1"), sent, "no second upload to eu-1");
    assert_eq!(fleet.received("us-1"), sent, "no second upload to us-1");

    // The current cluster serves commands without --cluster; --cluster picks another.
    fleet.run(&["history", "web"]).await.ok();
    fleet.run(&["cluster", "use", "dev-1"]).await.ok();
    fleet.run(&["history", "web"]).await.failed();
    let h = fleet
        .run(&["history", "web", "--cluster", "us-1", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h.as_array().unwrap().len(), 2);

    // fleet status and history: one table, a CLUSTER column.
    let out = fleet
        .run(&["fleet", "history", "web", "--clusters", "eu-1,us-1"])
        .await
        .ok();
    assert!(out.stdout.starts_with("CLUSTER"), "{}", out.stdout);
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("eu-1")).count(),
        2
    );
    let st = fleet
        .run(&["fleet", "status", "web", "-l", "env=prod", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(st["results"][1]["status"]["revision"], 2);
    assert_eq!(st["results"][1]["status"]["status"], "deployed");

    fleet.run(&["cluster", "remove", "dev-1"]).await.ok();
    let out = fleet.run(&["history", "web"]).await.failed();
    assert!(
        out.stderr.contains("--agent"),
        "no current cluster left: {}",
        out.stderr
    );
}

#[tokio::test]
async fn a_failing_canary_stops_the_rollout_and_rollback_failed_restores_it() {
    let fleet = Fleet::start(&[("eu-1", &["env=prod"]), ("us-1", &["env=prod"])]).await;
    let chart = fleet.chart();
    fleet
        .run(&["fleet", "install", "web", &chart, "-l", "env=prod"])
        .await
        .ok();

    let out = fleet
        .run(&[
            "fleet",
            "upgrade",
            "web",
            &chart,
            "--clusters",
            "us-1,eu-1",
            "--canary",
            "1",
            "--set",
            BAD_IMAGE,
            "--wait",
            "--timeout",
            "2m",
            "--rollback-failed",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(out.code, 3, "a failed cluster: exit 3\n{}", out.stderr);
    assert_eq!(
        rows(&out),
        [row("us-1", "failed", 2), row("eu-1", "skipped", 0)]
    );
    let reason = out.json()["results"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("ImagePull"), "{reason}");
    assert!(reason.contains("rolled back (revision 3)"), "{reason}");
    let skipped = out.json()["results"][1]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(skipped.contains("canary us-1"), "{skipped}");

    let eu = fleet
        .env("eu-1")
        .berth(&["history", "web", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(eu.as_array().unwrap().len(), 1, "the rest never started");
    let us = fleet
        .env("us-1")
        .berth(&["status", "web", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(us["version"], 3);
    assert_eq!(us["info"]["status"], "deployed");
}

#[tokio::test]
async fn stop_on_failure_starts_no_new_cluster_and_unreachable_is_its_own_result() {
    let fleet = Fleet::start(&[
        ("a", &["env=prod"]),
        ("b", &["env=prod"]),
        ("c", &["env=prod"]),
    ])
    .await;
    let chart = fleet.chart();
    // Only b and c have the release: the upgrade fails on a.
    for name in ["b", "c"] {
        fleet
            .env(name)
            .berth(&["install", "web", &chart])
            .await
            .ok();
    }
    let out = fleet
        .run(&[
            "fleet",
            "upgrade",
            "web",
            &chart,
            "--clusters",
            "a,b,c",
            "--max-parallel",
            "1",
            "--stop-on-failure",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(
        rows(&out),
        [
            row("a", "failed", 0),
            row("b", "skipped", 0),
            row("c", "skipped", 0)
        ]
    );
    assert!(out.stderr.contains("1 failed"), "{}", out.stderr);

    // Without stopping: a fails, b and c succeed.
    let out = fleet
        .run(&[
            "fleet",
            "upgrade",
            "web",
            &chart,
            "--clusters",
            "a,b,c",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(out.code, 3);
    assert_eq!(
        rows(&out),
        [
            row("a", "failed", 0),
            row("b", "succeeded", 2),
            row("c", "succeeded", 2)
        ]
    );

    // An unreachable cluster is reported as such, with its own exit code.
    let out = fleet
        .run(&[
            "fleet",
            "upgrade",
            "web",
            &chart,
            "--clusters",
            "b,gone",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(out.code, 4, "only unreachable: exit 4\n{}", out.stderr);
    assert_eq!(
        rows(&out),
        [row("b", "succeeded", 3), row("gone", "unreachable", 0)]
    );
    let reason = out.json()["results"][1]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("127.0.0.1:"), "names the address: {reason}");
    assert!(
        reason.contains("cluster gone"),
        "names the cluster: {reason}"
    );

    // The table summary, for people.
    let out = fleet
        .run(&["fleet", "status", "web", "--clusters", "b,gone"])
        .await;
    assert_eq!(out.code, 4);
    assert!(out.stdout.starts_with("CLUSTER"), "{}", out.stdout);
    assert!(out.stderr.contains("gone: unreachable"), "{}", out.stderr);

    // Unknown names and empty selections are usage errors, before any work.
    let out = fleet
        .run(&["fleet", "status", "web", "--clusters", "nope"])
        .await
        .failed();
    assert!(
        out.stderr.contains("no cluster named \"nope\""),
        "{}",
        out.stderr
    );
    let out = fleet
        .run(&["fleet", "status", "web", "-l", "env=mars"])
        .await
        .failed();
    assert!(out.stderr.contains("matches no cluster"), "{}", out.stderr);
}

// Multi-threaded: the in-process agents keep serving while the test blocks
// on the terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_each_cluster_has_its_own_live_block() {
    let fleet = Fleet::start(&[("north", &["env=prod"]), ("south", &["env=prod"])]).await;
    let chart = fleet.chart();
    let args: Vec<String> = [
        "--config",
        &path(&fleet.config),
        "fleet",
        "install",
        "web",
        &chart,
        "-l",
        "env=prod",
        "--wait",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (screen, code) =
        tokio::task::block_in_place(|| crate::cli::terminal(&args, &[("NO_COLOR", "1")]));
    assert_eq!(code, 0, "{screen}");
    for cluster in ["north", "south"] {
        assert!(
            screen.contains(&format!("✓ [{cluster}] revision 1: deployed")),
            "{cluster}'s header ends with its outcome:\n{screen}"
        );
    }
    assert!(
        screen.contains("\u{1b}[1A"),
        "lines are redrawn:\n{screen:?}"
    );
    assert!(screen.contains("CLUSTER"), "the summary follows:\n{screen}");
}
