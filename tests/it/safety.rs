//! Locks, crashes and bad input: one operation per release at a time, a
//! killed agent leaves nothing pending, and bad input changes nothing.

use std::process::Stdio;

use crate::common::{Env, NEVER_READY, berth_in_background, berthd_bin, path, wait_for};

#[tokio::test]
async fn a_second_concurrent_upgrade_of_the_same_release_is_refused() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    let chart = env.chart("1.1.0");
    let first = berth_in_background(
        &env,
        &[
            "upgrade",
            "hello",
            &chart,
            "--set",
            NEVER_READY,
            "--wait",
            "--timeout",
            "4s",
        ],
    );
    wait_for("the first upgrade to hold the lock", || async {
        env.berth(&["status", "hello"])
            .await
            .stdout
            .contains("IN PROGRESS: upgrade of revision 2")
    })
    .await;
    let second = env.berth(&["upgrade", "hello", &chart]).await.failed();
    assert!(
        // Helm's words first: scripts that retry on them go on working.
        second.stderr.starts_with(
            "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress on hello (revision 2"
        ),
        "{}",
        second.stderr
    );
    let first = first.await.unwrap().failed();
    assert!(
        first
            .stderr
            .contains("timed out waiting for Deployment/hello"),
        "{}",
        first.stderr
    );
    let h = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(
        h.as_array().unwrap().len(),
        2,
        "the refused upgrade recorded nothing"
    );
    assert_eq!(
        h[0]["status"], "deployed",
        "a failed upgrade leaves the last good revision deployed"
    );
    assert_eq!(h[1]["status"], "failed");
    // Another release is not blocked, and the lock is free again.
    env.berth(&["upgrade", "hello", &chart, "--reset-values"])
        .await
        .ok();
}

#[tokio::test]
async fn killing_berthd_mid_upgrade_leaves_the_release_failed_and_the_next_upgrade_works() {
    let mut env = Env::without_agent().await;
    let spawn = |env: &Env| {
        tokio::process::Command::new(berthd_bin())
            .args(["--listen", "127.0.0.1:0"])
            .args([
                "--cert",
                &path(&env.pki.agent_cert),
                "--key",
                &path(&env.pki.agent_key),
            ])
            .args([
                "--client-ca",
                &path(&env.pki.ca_cert),
                "--data",
                &path(&env.data_dir()),
            ])
            .args([
                "--kubeconfig",
                &path(&env.kubeconfig),
                "--log-format",
                "json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("berthd starts")
    };
    async fn listening(child: &mut tokio::process::Child) -> String {
        use tokio::io::AsyncBufReadExt;
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await.unwrap() {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if v["fields"]["message"] == "berthd listening" {
                let addr = v["fields"]["addr"].as_str().unwrap().to_string();
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return format!("https://{addr}");
            }
        }
        panic!("berthd exited before listening");
    }

    let mut agent = spawn(&env);
    env.agent_url = listening(&mut agent).await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();

    let upgrade = berth_in_background(
        &env,
        &[
            "upgrade",
            "hello",
            &env.chart("1.1.0"),
            "--set",
            NEVER_READY,
            "--wait",
        ],
    );
    wait_for("the upgrade to reach its wait phase", || async {
        let s = env.berth(&["status", "hello", "-o", "json"]).await;
        s.code == 0 && s.json()["info"]["status"] == "pending-upgrade"
    })
    .await;
    agent.start_kill().unwrap();
    agent.wait().await.unwrap();
    let cut = upgrade.await.unwrap().failed();
    assert!(!cut.stderr.is_empty());

    let mut agent = spawn(&env);
    env.agent_url = listening(&mut agent).await;
    let h = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h[0]["status"], "deployed");
    assert_eq!(h[1]["status"], "failed", "not pending: {h}");
    assert!(
        h[1]["description"]
            .as_str()
            .unwrap()
            .starts_with("Upgrade interrupted"),
        "{}",
        h[1]["description"]
    );
    let status = env.berth(&["status", "hello"]).await.ok().stdout;
    assert!(!status.contains("IN PROGRESS"), "no lock left: {status}");
    // The journal replays the interrupted operation to a watcher, ending in its failure.
    let watched = env.berth(&["watch", "hello"]).await.failed();
    assert!(
        watched.stdout.contains("revision 2 failed"),
        "{}",
        watched.stdout
    );

    env.berth(&[
        "upgrade",
        "hello",
        &env.chart("1.1.0"),
        "--reset-values",
        "--wait",
    ])
    .await
    .ok();
    let h = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h[2]["status"], "deployed");
    assert_eq!(h[0]["status"], "superseded");
    agent.start_kill().unwrap();
}

/// A kubeconfig berthd cannot use stops it with one line that names the
/// file, before anything is written: no journal appears in `--data`.
#[tokio::test]
async fn a_kubeconfig_berthd_cannot_use_stops_it_before_the_journal_is_created() {
    let env = Env::without_agent().await;
    let kubeconfig = env.dir.path().join("broken-kubeconfig");
    std::fs::write(&kubeconfig, "clusters: [ {name: sim").unwrap();
    let err = berth_agent::start(berth_agent::AgentConfig {
        kubeconfig: Some(kubeconfig.clone()),
        ..env.agent_config()
    })
    .await
    .err()
    .expect("berthd refuses a kubeconfig it cannot read");
    let msg = format!("{err:#}");
    assert!(msg.contains(&path(&kubeconfig)), "{msg}");
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert!(!env.data_dir().exists(), "{msg}");
}

/// The same for the kubeconfig berthd finds itself ($KUBECONFIG): one line,
/// and none of the file's lines (kube's parser quotes them, token and all).
#[tokio::test]
async fn a_kubeconfig_from_the_environment_that_does_not_parse_is_refused_without_its_lines() {
    let env = Env::without_agent().await;
    let kubeconfig = env.dir.path().join("broken-kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nusers:\n- name: u\n  user:\n    token: SECRET-IN-KUBECONFIG\nclusters: [ {name: sim\n",
    )
    .unwrap();
    let out = tokio::process::Command::new(berthd_bin())
        .args(["--listen", "127.0.0.1:0"])
        .args(["--cert", &path(&env.pki.agent_cert)])
        .args(["--key", &path(&env.pki.agent_key)])
        .args(["--client-ca", &path(&env.pki.ca_cert)])
        .args(["--data", &path(&env.data_dir())])
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .await
        .expect("berthd runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("line 6 column 13"), "{stderr}");
    assert!(!stderr.contains("SECRET"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!env.data_dir().exists());
}

#[tokio::test]
async fn a_malformed_chart_is_refused_with_one_line_and_changes_nothing() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0")])
        .await
        .ok();
    let bad = env.dir.path().join("bad");
    berth_cli::demo::write_chart(&bad, "1.0.0").unwrap();
    std::fs::write(
        bad.join("templates/broken.yaml"),
        "{{ .Values.x | nosuchfunc }}\n",
    )
    .unwrap();
    let out = env.berth(&["upgrade", "hello", &path(&bad)]).await.failed();
    assert!(out.stderr.contains("nosuchfunc"), "{}", out.stderr);
    assert!(
        out.stderr.contains("broken.yaml"),
        "says where: {}",
        out.stderr
    );

    std::fs::write(bad.join("templates/broken.yaml"), "a: [unclosed\n").unwrap();
    let out = env.berth(&["upgrade", "hello", &path(&bad)]).await.failed();
    assert!(
        out.stderr
            .contains("YAML parse error on hello/templates/broken.yaml"),
        "{}",
        out.stderr
    );

    std::fs::write(bad.join("Chart.yaml"), "apiVersion: v2\nname: hello\n").unwrap();
    let out = env.berth(&["upgrade", "hello", &path(&bad)]).await.failed();
    assert!(
        out.stderr.contains("chart.metadata.version is required"),
        "{}",
        out.stderr
    );

    let values = env.dir.path().join("bad-values.yaml");
    std::fs::write(&values, "replicaCount: [1,\n").unwrap();
    let out = env
        .berth(&[
            "upgrade",
            "hello",
            &env.chart("1.0.0"),
            "-f",
            &path(&values),
        ])
        .await
        .failed();
    assert!(out.stderr.contains("bad-values.yaml"), "{}", out.stderr);
    let out = env
        .berth(&["upgrade", "hello", &env.chart("1.0.0"), "--set", "a[x]=1"])
        .await
        .failed();
    assert!(
        out.stderr.contains("failed parsing --set data"),
        "{}",
        out.stderr
    );
    // A bad name in Helm's words: its install's name check, its upgrade's.
    let bad_upgrade = env
        .berth(&["upgrade", "Bad_Name", &env.chart("1.0.0")])
        .await
        .failed();
    assert_eq!(
        bad_upgrade.stderr,
        "Error: UPGRADE FAILED: release name is invalid: Bad_Name\n"
    );
    let out = env
        .berth(&["install", "Bad_Name", &env.chart("1.0.0")])
        .await
        .failed();
    assert!(
        out.stderr.starts_with(
            "Error: INSTALLATION FAILED: release name check failed: release name \"Bad_Name\": invalid release name, must match regex"
        ),
        "{}",
        out.stderr
    );

    assert_eq!(
        out.stderr.trim().lines().count(),
        1,
        "one line: {}",
        out.stderr
    );
    // The other actions in the words of each (Helm's releaseContent,
    // History, prepareRollback, Uninstall, ReleaseTesting); uninstall's
    // names one after another, so `hello` goes only if the bad one is not
    // before it.
    for (args, words) in [
        (&["status"][..], "releaseContent: Release name is invalid"),
        (
            &["get", "values"],
            "releaseContent: Release name is invalid",
        ),
        (
            &["get", "manifest"],
            "releaseContent: Release name is invalid",
        ),
        (&["history"], "release name is invalid"),
        (&["rollback"], "prepareRollback: Release name is invalid"),
        (&["test"], "releaseTest: Release name is invalid"),
        (&["uninstall"], "uninstall: Release name is invalid"),
        (
            &["uninstall", "--dry-run"],
            "releaseContent: Release name is invalid",
        ),
    ] {
        let mut full = args.to_vec();
        full.push("Bad_Name");
        let out = env.berth(&full).await.failed();
        assert_eq!(
            out.stderr,
            format!("Error: {words}: Bad_Name\n"),
            "{args:?}"
        );
    }
    env.berth(&["uninstall", "Bad_Name", "hello"])
        .await
        .failed();
    let h = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h.as_array().unwrap().len(), 1, "nothing was recorded");
    let cm = env
        .get("v1", "ConfigMap", "default", "hello")
        .await
        .unwrap();
    assert_eq!(
        cm["data"]["message"], "Hello from berth",
        "the cluster is unchanged"
    );
}

#[tokio::test]
async fn a_render_error_in_the_agent_records_nothing() {
    // A template that only fails with the agent's values path: `required`.
    let env = Env::start().await;
    let chart = env.dir.path().join("req");
    berth_cli::demo::write_chart(&chart, "1.0.0").unwrap();
    std::fs::write(
        chart.join("templates/req.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: req\ndata:\n  v: {{ required \"owner is required\" .Values.owner }}\n",
    )
    .unwrap();
    let out = env
        .berth(&["install", "hello", &path(&chart)])
        .await
        .failed();
    assert!(out.stderr.contains("owner is required"), "{}", out.stderr);
    let h = env.berth(&["history", "hello"]).await.failed();
    assert!(
        h.stderr.contains("not found"),
        "no revision recorded: {}",
        h.stderr
    );
    env.berth(&["install", "hello", &path(&chart), "--set", "owner=ops"])
        .await
        .ok();

    // A name YAML 1.1 reads as a boolean is said to be one, not missing.
    let off = crate::common::write_chart(
        &env,
        "flag",
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: off\n",
        )],
    );
    let out = env.berth(&["install", "off", &off]).await.failed();
    assert_eq!(
        out.stderr.trim().lines().last().unwrap(),
        "Error: INSTALLATION FAILED: off: RenderFailed: flag/templates/cm.yaml: metadata.name is false, \
         not a string (YAML reads n, no, off, 1… as other types: quote it)",
        "{}",
        out.stderr
    );
    assert!(
        env.berth(&["history", "off"])
            .await
            .failed()
            .stderr
            .contains("not found")
    );

    // An object nested deeper than berth reads a rendered one: one line
    // that says so, and nothing recorded.
    let mut deep =
        String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nextra:\n");
    for i in 1..=64 {
        deep.push_str(&format!("{}a:\n", " ".repeat(i)));
    }
    let deep = crate::common::write_chart(&env, "deep", &[("cm.yaml", &deep)]);
    let out = env.berth(&["install", "deep", &deep]).await.failed();
    assert_eq!(
        out.stderr.trim().lines().last().unwrap(),
        "Error: INSTALLATION FAILED: deep: RenderFailed: YAML parse error on deep/templates/cm.yaml: \
         line 69: the object nests more than 64 levels deep, berth's limit for a rendered object",
        "{}",
        out.stderr
    );
    assert!(
        env.berth(&["history", "deep"])
            .await
            .failed()
            .stderr
            .contains("not found")
    );
}

#[tokio::test]
async fn watch_attaches_to_a_running_operation_from_its_start() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    let upgrade = berth_in_background(
        &env,
        &[
            "upgrade",
            "hello",
            &env.chart("1.1.0"),
            "--set",
            NEVER_READY,
            "--wait",
            "--timeout",
            "3s",
        ],
    );
    wait_for("the upgrade to start", || async {
        env.berth(&["status", "hello"])
            .await
            .stdout
            .contains("IN PROGRESS")
    })
    .await;
    let watched = env.berth(&["watch", "hello"]).await.failed();
    let first = watched.stdout.lines().next().unwrap_or_default();
    assert!(
        first.contains("upgrade of hello accepted as revision 2"),
        "from the start: {}",
        watched.stdout
    );
    assert!(
        watched
            .stdout
            .contains("Deployment/hello (default) configured"),
        "{}",
        watched.stdout
    );
    assert!(
        watched
            .stdout
            .contains("timed out waiting for Deployment/hello"),
        "{}",
        watched.stdout
    );
    upgrade.await.unwrap().failed();
}

#[tokio::test]
async fn an_upgrade_goes_on_when_its_client_disconnects_and_a_second_client_reattaches() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    let upgrade = berth_in_background(
        &env,
        &[
            "upgrade",
            "hello",
            &env.chart("1.1.0"),
            "--set",
            "podAnnotations.kubesim\\.invalid/ready-delay=2s",
            "--wait",
        ],
    );
    wait_for("the upgrade to start", || async {
        env.berth(&["status", "hello"])
            .await
            .stdout
            .contains("IN PROGRESS")
    })
    .await;
    // The first client goes away mid-operation (its stream is dropped).
    upgrade.abort();
    let watched = env.berth(&["watch", "hello"]).await.ok();
    assert!(
        watched
            .stdout
            .contains("upgrade of hello accepted as revision 2"),
        "replayed from the start: {}",
        watched.stdout
    );
    assert!(
        watched.stdout.contains("hello revision 2: deployed"),
        "{}",
        watched.stdout
    );
    let history = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(history[1]["status"], "deployed");
    assert_eq!(history[0]["status"], "superseded");
}

#[tokio::test]
async fn an_operation_keeps_at_most_max_events_and_always_its_outcome() {
    let max = berth_agent::events::MIN_EVENTS;
    let env = Env::start_with(|s| s.max_events = max).await;
    let out = env
        .berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    assert!(
        out.stdout.contains(&format!(
            "the agent keeps at most {max} events per operation"
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("STATUS: deployed"), "{}", out.stdout);
    let journal = &env.agent.as_ref().unwrap().agent.journal;
    let events = journal.events("default", "hello", 1, 0).unwrap();
    assert_eq!(events.len(), max, "{events:?}");
    assert!(events.last().unwrap().is_terminal());
    // A client attaching later sees the same, ending with the outcome.
    let watched = env.berth(&["watch", "hello"]).await.ok();
    assert!(
        watched.stdout.contains("hello revision 1: deployed"),
        "{}",
        watched.stdout
    );
}

#[tokio::test]
async fn a_timeout_past_gos_longest_duration_is_refused_and_changes_nothing() {
    use berth::proto::{OperationOptions, RollbackRequest, UninstallRequest};
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0")])
        .await
        .ok();
    let history = env.berth(&["history", "hello", "-o", "json"]).await.ok();

    // The CLI refuses it in one line, as Helm does.
    for verb in [vec!["uninstall", "hello"], vec!["rollback", "hello", "1"]] {
        let mut args = verb.clone();
        args.extend(["--timeout", "3000000000000000h"]);
        let out = env.berth(&args).await.failed();
        assert!(
            out.stderr
                .contains("invalid duration \"3000000000000000h\": out of range"),
            "{}",
            out.stderr
        );
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    }

    // berthd refuses a client that sends it anyway, before it records or
    // touches anything (an uninstall used to mark the release failed).
    let mut client = berth_cli::connect::connect(&env.target()).await.unwrap();
    let options = Some(OperationOptions {
        timeout_seconds: u64::MAX,
        ..Default::default()
    });
    let refused = client
        .uninstall(UninstallRequest {
            release: "hello".into(),
            namespace: "default".into(),
            options: options.clone(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused
            .message()
            .contains("out of range: the longest is 9223372036s"),
        "{}",
        refused.message()
    );
    let refused = client
        .rollback(RollbackRequest {
            release: "hello".into(),
            namespace: "default".into(),
            revision: 1,
            options,
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);

    assert_eq!(
        env.berth(&["history", "hello", "-o", "json"])
            .await
            .ok()
            .stdout,
        history.stdout
    );
    assert!(
        env.get("apps/v1", "Deployment", "default", "hello")
            .await
            .is_some(),
        "the release's objects stay"
    );
}

#[tokio::test]
async fn values_past_the_agents_message_limit_are_refused_in_words() {
    let env = Env::start().await;
    let blob = env.dir.path().join("blob.txt");
    std::fs::write(&blob, "v".repeat(6 << 20)).unwrap();
    let set_file = format!("blob={}", path(&blob));
    let out = env
        .berth(&[
            "install",
            "hello",
            &env.chart("1.0.0"),
            "--set-file",
            &set_file,
        ])
        .await
        .failed();
    assert!(
        out.stderr.contains("values: the request is ")
            && out
                .stderr
                .contains("bytes, more than the agent takes (5242880 bytes"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    let list = env.berth(&["list", "-o", "json"]).await.ok().json();
    assert_eq!(list, serde_json::json!([]));
}

#[tokio::test]
async fn a_render_that_runs_past_the_timeout_is_stopped_and_records_nothing() {
    let env = Env::start().await;
    let chart = env.dir.path().join("spin");
    berth_cli::demo::write_chart(&chart, "1.0.0").unwrap();
    // Ten billion iterations: only the timeout ends it.
    std::fs::write(
        chart.join("templates/spin.yaml"),
        "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n",
    )
    .unwrap();
    let spin = path(&chart);
    let args = ["install", "spin", &spin, "--timeout", "1s"];
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), env.berth(&args))
        .await
        .expect("berthd stops the render at the operation's timeout")
        .failed();
    assert!(
        out.stderr.contains("timed out rendering the chart"),
        "{}",
        out.stderr
    );
    let list = env.berth(&["list", "-A", "-o", "json"]).await.ok().json();
    assert_eq!(list, serde_json::json!([]), "nothing was recorded");
    // berthd's blocking thread is free again: the next install goes through.
    env.berth(&["install", "hello", &env.chart("1.0.0")])
        .await
        .ok();
}
