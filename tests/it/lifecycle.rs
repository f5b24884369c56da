//! The release loop as a user meets it: install, upgrade, rollback,
//! history, status, list, get, uninstall — through the CLI, over mTLS,
//! checked both in the CLI's answers and in the simulator's objects.

use crate::common::Env;

async fn install_v1(env: &Env) {
    let out = env
        .berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    assert!(out.stdout.contains("STATUS: deployed"), "{}", out.stdout);
}

async fn upgrade_v2(env: &Env) {
    env.berth(&[
        "upgrade",
        "hello",
        &env.chart("1.1.0"),
        "--set",
        "replicaCount=3",
        "--set",
        "message=Hello again",
        "--wait",
    ])
    .await
    .ok();
}

/// The message the chart's ConfigMap holds now.
async fn message(env: &Env) -> serde_json::Value {
    let cm = env.get("v1", "ConfigMap", "default", "hello").await;
    cm.expect("the ConfigMap exists")["data"]["message"].clone()
}

async fn history(env: &Env) -> Vec<serde_json::Value> {
    env.berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json()
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn install_deploys_revision_1_and_creates_the_objects() {
    let env = Env::start().await;
    install_v1(&env).await;

    let h = history(&env).await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["revision"], 1);
    assert_eq!(h[0]["status"], "deployed");
    assert_eq!(h[0]["chart"], "hello-1.0.0");
    assert_eq!(h[0]["description"], "Install complete");
    assert_eq!(h[0]["by"], "admin");

    let d = env
        .get("apps/v1", "Deployment", "default", "hello")
        .await
        .expect("deployment exists");
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(
        d["status"]["readyReplicas"], 2,
        "--wait returned only once ready"
    );
    assert_eq!(d["metadata"]["labels"]["berth.dev/release"], "hello");
    assert_eq!(
        d["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "hello"
    );
    let managers: Vec<_> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap().to_string())
        .collect();
    assert!(
        managers.contains(&"berth".to_string()),
        "applied server-side as berth: {managers:?}"
    );
    assert!(env.get("v1", "Service", "default", "hello").await.is_some());
    assert_eq!(message(&env).await, "Hello from berth");
}

#[tokio::test]
async fn upgrade_makes_revision_2_and_supersedes_revision_1() {
    let env = Env::start().await;
    install_v1(&env).await;
    upgrade_v2(&env).await;

    let h = history(&env).await;
    assert_eq!(h.len(), 2);
    assert_eq!(
        (h[0]["revision"].as_u64(), h[0]["status"].as_str()),
        (Some(1), Some("superseded"))
    );
    assert_eq!(
        (h[1]["revision"].as_u64(), h[1]["status"].as_str()),
        (Some(2), Some("deployed"))
    );
    assert_eq!(h[1]["chart"], "hello-1.1.0");
    assert_eq!(h[1]["app_version"], "1.1.0");
    assert_eq!(h[1]["description"], "Upgrade complete");

    let d = env
        .get("apps/v1", "Deployment", "default", "hello")
        .await
        .unwrap();
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["status"]["availableReplicas"], 3);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/hello:1.1.0"
    );
    assert_eq!(message(&env).await, "Hello again");
    assert!(
        env.get("v1", "Service", "default", "hello-metrics")
            .await
            .is_some(),
        "new object created"
    );

    let values = env
        .berth(&["get", "values", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(
        values,
        serde_json::json!({"replicaCount": 3, "message": "Hello again"})
    );
}

#[tokio::test]
async fn rollback_restores_exact_manifest_as_new_revision() {
    let env = Env::start().await;
    install_v1(&env).await;
    upgrade_v2(&env).await;
    env.berth(&["rollback", "hello", "1", "--wait"]).await.ok();

    let h = history(&env).await;
    assert_eq!(h.len(), 3, "history is append-only");
    assert_eq!(h[1]["status"], "superseded");
    assert_eq!(h[2]["status"], "deployed");
    assert_eq!(h[2]["description"], "Rollback to 1");
    assert_eq!(h[2]["chart"], "hello-1.0.0");

    let m1 = env
        .berth(&["get", "manifest", "hello", "--revision", "1"])
        .await
        .ok()
        .stdout;
    let m3 = env
        .berth(&["get", "manifest", "hello", "--revision", "3"])
        .await
        .ok()
        .stdout;
    assert!(!m1.is_empty());
    assert_eq!(
        m1, m3,
        "revision 3 re-applies revision 1's manifest byte for byte"
    );

    let d = env
        .get("apps/v1", "Deployment", "default", "hello")
        .await
        .unwrap();
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/hello:1.0.0"
    );
    assert_eq!(message(&env).await, "Hello from berth");
    assert!(
        env.get("v1", "Service", "default", "hello-metrics")
            .await
            .is_none(),
        "the object added in revision 2 is deleted"
    );
}

/// Helm's `rollback --history-max`: the oldest revisions go when the
/// rollback's revision is recorded, even the one it rolls back to, whose
/// manifest the new revision carries.
#[tokio::test]
async fn rollback_keeps_at_most_history_max_revisions() {
    let env = Env::start().await;
    install_v1(&env).await;
    upgrade_v2(&env).await;
    env.berth(&["rollback", "hello", "1", "--history-max", "2"])
        .await
        .ok();
    let h = history(&env).await;
    let kept: Vec<_> = h
        .iter()
        .map(|r| (r["revision"].clone(), r["status"].clone()))
        .collect();
    assert_eq!(
        kept,
        [
            (serde_json::json!(2), serde_json::json!("superseded")),
            (serde_json::json!(3), serde_json::json!("deployed")),
        ],
        "{h:?}"
    );
    assert_eq!(h[1]["description"], "Rollback to 1");
    assert_eq!(message(&env).await, "Hello from berth");
}

/// What a revision `--history-max` dropped held alone (its values, here)
/// leaves the journal too, so its size follows what is kept, as Helm's
/// storage does; berthd collects once enough revisions were dropped.
#[tokio::test]
async fn what_history_max_drops_leaves_the_journal() {
    let env = Env::start().await;
    let chart = env.chart("1.0.0");
    env.berth(&["install", "hello", &chart, "--set", "n=0"])
        .await
        .ok();
    let journal = &env.agent.as_ref().unwrap().agent.journal;
    let first = journal.revision("default", "hello", 1).unwrap().unwrap();
    assert!(journal.has_blob(&first.values_blob).unwrap());
    let upgrades = berth_agent::journal::COLLECT_AFTER_DROPPED + 3;
    for n in 1..=upgrades {
        let set = format!("n={n}");
        env.berth(&[
            "upgrade",
            "hello",
            &chart,
            "--set",
            &set,
            "--history-max",
            "3",
        ])
        .await
        .ok();
    }
    crate::common::wait_for("revision 1's values to leave the journal", || async {
        !journal.has_blob(&first.values_blob).unwrap()
    })
    .await;
    assert_eq!(history(&env).await.len(), 3);
    let values = env
        .berth(&["get", "values", "hello", "-o", "json"])
        .await
        .ok();
    assert_eq!(values.json()["n"], upgrades, "{}", values.stdout);
    // A dropped revision is not found, in one line, not a corrupt journal.
    let dropped = env
        .berth(&["get", "manifest", "hello", "--revision", "1"])
        .await
        .failed();
    assert_eq!(
        dropped.stderr.trim().lines().count(),
        1,
        "{}",
        dropped.stderr
    );
    assert!(
        dropped
            .stderr
            .contains("release: not found: hello revision 1"),
        "{}",
        dropped.stderr
    );
    let report = berth_agent::journal::check::check(journal).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[tokio::test]
async fn history_table_shows_helms_columns_and_who_deployed() {
    let env = Env::start().await;
    install_v1(&env).await;
    let out = env.berth(&["history", "hello"]).await.ok().stdout;
    let header = out.lines().next().unwrap();
    let columns: Vec<&str> = header.split('\t').map(str::trim).collect();
    assert_eq!(
        columns,
        [
            "REVISION",
            "UPDATED",
            "STATUS",
            "CHART",
            "APP VERSION",
            "BY",
            "DESCRIPTION"
        ]
    );
    let row = out.lines().nth(1).unwrap();
    for cell in [
        "1",
        "deployed",
        "hello-1.0.0",
        "1.0.0",
        "admin",
        "Install complete",
    ] {
        assert!(row.contains(cell), "{row}");
    }
    let yaml = env
        .berth(&["history", "hello", "-o", "yaml"])
        .await
        .ok()
        .stdout;
    assert!(yaml.contains("app_version: 1.0.0"), "{yaml}");
}

#[tokio::test]
async fn status_list_and_get_show_the_release() {
    let env = Env::start().await;
    install_v1(&env).await;
    let status = env.berth(&["status", "hello"]).await.ok().stdout;
    assert!(status.contains("STATUS: deployed"));
    assert!(
        status.contains("NOTES:\nhello runs 2 replica(s)"),
        "{status}"
    );
    let list = env.berth(&["list", "-o", "json"]).await.ok().json();
    assert_eq!(list[0]["name"], "hello");
    assert_eq!(list[0]["revision"], "1");
    assert_eq!(list[0]["status"], "deployed");
    // get all --template: a Go template over Helm's release object.
    let out = env
        .berth(&[
            "get",
            "all",
            "hello",
            "--template",
            "{{ .Release.Name }} r{{ .Release.Version }} {{ .Release.Info.Status }} {{ .Release.Chart.Metadata.Name }}-{{ .Release.Chart.Metadata.Version }} {{ .Release.Chart.Metadata.Home }}|{{ len .Release.Config }}",
        ])
        .await
        .ok()
        .stdout;
    assert_eq!(out, "hello r1 deployed hello-1.0.0 |0");
    // --time-format: a Go layout, in the table and the JSON alike.
    let list = env
        .berth(&[
            "list",
            "-o",
            "json",
            "--time-format",
            "2006-01-02T15:04Z07:00 Mon",
        ])
        .await
        .ok()
        .json();
    let updated = list[0]["updated"].as_str().unwrap();
    let shape: String = updated
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(&shape[..18], "9999-99-99T99:99Z ", "{updated}");
    assert!(
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&&updated[18..]),
        "{updated}"
    );
    // Without it, Go's time.String() as Helm's list writes it (in the
    // local zone: UTC in this process, main.rs);
    // history and status write Go's time.ANSIC, as Helm's.
    let list = env.berth(&["list", "-o", "json"]).await.ok().json();
    let updated = list[0]["updated"].as_str().unwrap();
    let shape: String = updated
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert!(shape.starts_with("9999-99-99 99:99:99"), "{updated}");
    assert!(updated.ends_with(" +0000 UTC"), "{updated}");
    let status = env.berth(&["status", "hello"]).await.ok().stdout;
    let deployed = status
        .lines()
        .find_map(|l| l.strip_prefix("LAST DEPLOYED: "))
        .unwrap();
    assert!(crate::common::is_ansic(deployed), "{status}");
    let history = env.berth(&["history", "hello"]).await.ok().stdout;
    let row = history.lines().nth(1).unwrap();
    assert!(crate::common::is_ansic(&row[9..33]), "{history}");
    let none = env
        .berth(&["list", "-n", "other", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(none, serde_json::json!([]));
    let all = env
        .berth(&["get", "values", "hello", "--all", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(
        all["replicaCount"], 2,
        "computed values include chart defaults"
    );
    let notes = env.berth(&["get", "notes", "hello"]).await.ok().stdout;
    assert!(notes.starts_with("NOTES:\nhello runs"));
    // YAML as Helm's encoder writes it: a document ends with its newline,
    // and `get all` leaves a blank line after each block of values.
    let table = env
        .berth(&["get", "values", "hello", "--all"])
        .await
        .ok()
        .stdout;
    assert!(table.starts_with("COMPUTED VALUES:\n"), "{table}");
    assert!(table.ends_with("\n"), "{table:?}");
    let yaml = env
        .berth(&["get", "values", "hello", "--all", "-o", "yaml"])
        .await
        .ok()
        .stdout;
    assert!(yaml.ends_with('\n'), "{yaml:?}");
    assert_eq!(format!("COMPUTED VALUES:\n{yaml}"), table);
    let everything = env.berth(&["get", "all", "hello"]).await.ok().stdout;
    assert!(
        everything.contains(&format!("COMPUTED VALUES:\n{yaml}\nHOOKS:\n")),
        "{everything}"
    );
    // Helm's status printer with metadata (and berth's BY); no blank line
    // of its own after the hooks; TEST SUITE as Helm decides it.
    assert!(
        everything.contains(
            "REVISION: 1\nCHART: hello\nVERSION: 1.0.0\nAPP_VERSION: 1.0.0\nBY: admin\n\
             DESCRIPTION: Install complete\nTEST SUITE: None\nUSER-SUPPLIED VALUES:\n"
        ),
        "{everything}"
    );
    assert!(
        everything.contains("\nHOOKS:\nMANIFEST:\n---"),
        "{everything}"
    );
}

/// Times are shown in the CLI's local zone (Go's `time.Local`: `$TZ`),
/// as Helm shows its user's: the same instants as in UTC, with the zone's
/// offset and abbreviation.
#[tokio::test]
async fn times_are_shown_in_the_clis_local_zone() {
    use chrono::NaiveDateTime;
    let env = Env::start().await;
    install_v1(&env).await;
    let run = async |tz: &str, args: &[&str]| {
        let (ok, out, err) = env
            .berth_process(args, &[("TZ", std::path::Path::new(tz))])
            .await;
        assert!(ok, "{err}");
        out
    };
    let ansic = |history: &str| {
        let row = history.lines().nth(1).unwrap().to_string();
        NaiveDateTime::parse_from_str(row[9..33].trim(), "%a %b %e %H:%M:%S %Y")
            .unwrap_or_else(|e| panic!("{e}: {row}"))
    };
    let utc = ansic(&run("UTC", &["history", "hello"]).await);
    let kolkata = ansic(&run("Asia/Kolkata", &["history", "hello"]).await);
    assert_eq!(kolkata - utc, chrono::Duration::minutes(330));

    let list = run("Asia/Kolkata", &["list", "-o", "json"]).await;
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let updated = list[0]["updated"].as_str().unwrap();
    assert!(updated.ends_with(" +0530 IST"), "{updated}");
    let status = run("Asia/Kolkata", &["status", "hello", "-o", "json"]).await;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let deployed = status["info"]["last_deployed"].as_str().unwrap();
    assert!(deployed.ends_with("+05:30"), "{deployed}");
}

#[tokio::test]
async fn uninstall_deletes_objects_and_can_keep_history() {
    let env = Env::start().await;
    install_v1(&env).await;
    env.berth(&["uninstall", "hello", "--keep-history"])
        .await
        .ok();
    assert!(
        env.get("apps/v1", "Deployment", "default", "hello")
            .await
            .is_none()
    );
    assert!(
        env.get("v1", "ConfigMap", "default", "hello")
            .await
            .is_none()
    );
    let h = history(&env).await;
    assert_eq!(h[0]["status"], "uninstalled");
    assert_eq!(h[0]["description"], "Uninstallation complete");

    // The name stays taken, unless --replace (Helm's): the new revision
    // follows the history, and supersedes the uninstalled one.
    let taken = env
        .berth(&["install", "hello", &env.chart("1.0.0")])
        .await
        .failed();
    assert!(
        taken
            .stderr
            .contains("cannot reuse a name that is still in use"),
        "{}",
        taken.stderr
    );
    env.berth(&[
        "install",
        "hello",
        &env.chart("1.0.0"),
        "--replace",
        "--wait",
    ])
    .await
    .ok();
    let h = history(&env).await;
    let seen: Vec<(u64, &str, &str)> = h
        .iter()
        .map(|r| {
            (
                r["revision"].as_u64().unwrap(),
                r["status"].as_str().unwrap(),
                r["description"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, "superseded", "superseded by new release"),
            (2, "deployed", "Install complete")
        ]
    );
    assert!(
        env.get("v1", "ConfigMap", "default", "hello")
            .await
            .is_some()
    );
    env.berth(&["uninstall", "hello", "--keep-history"])
        .await
        .ok();

    env.berth(&["uninstall", "hello"]).await.ok();
    let gone = env.berth(&["history", "hello"]).await.failed();
    assert!(gone.stderr.contains("not found"), "{}", gone.stderr);
    // The name can be used again from revision 1.
    install_v1(&env).await;
    assert_eq!(history(&env).await[0]["revision"], 1);
}

#[tokio::test]
async fn upgrade_without_values_reuses_the_previous_ones() {
    let env = Env::start().await;
    env.berth(&[
        "install",
        "hello",
        &env.chart("1.0.0"),
        "--set",
        "replicaCount=1",
    ])
    .await
    .ok();
    env.berth(&["upgrade", "hello", &env.chart("1.1.0")])
        .await
        .ok();
    let values = env
        .berth(&["get", "values", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(values, serde_json::json!({"replicaCount": 1}));
    env.berth(&["upgrade", "hello", &env.chart("1.1.0"), "--reset-values"])
        .await
        .ok();
    let values = env
        .berth(&["get", "values", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(values, serde_json::json!({}));
}

#[tokio::test]
async fn upgrade_install_and_namespaces() {
    let env = Env::start().await;
    let out = env
        .berth(&[
            "upgrade",
            "web",
            &env.chart("1.0.0"),
            "--install",
            "-n",
            "team-a",
            "--create-namespace",
        ])
        .await
        .ok();
    assert!(out.stdout.contains("NAMESPACE: team-a"));
    assert!(
        env.get("apps/v1", "Deployment", "team-a", "web-hello")
            .await
            .is_some()
    );
    let list = env.berth(&["list", "-A", "-o", "json"]).await.ok().json();
    assert_eq!(list[0]["namespace"], "team-a");
    // Installing twice is refused as Helm refuses it.
    let again = env
        .berth(&["install", "web", &env.chart("1.0.0"), "-n", "team-a"])
        .await
        .failed();
    assert!(
        again
            .stderr
            .contains("cannot reuse a name that is still in use"),
        "{}",
        again.stderr
    );
    // Upgrading a release that does not exist is refused.
    let missing = env
        .berth(&["upgrade", "nope", &env.chart("1.0.0")])
        .await
        .failed();
    assert!(
        missing.stderr.contains("has no deployed releases"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn chart_upload_is_skipped_when_the_agent_holds_it() {
    let env = Env::start().await;
    let first = env.berth(&["install", "a", &env.chart("1.0.0")]).await.ok();
    assert!(first.stdout.contains("uploaded"), "{}", first.stdout);
    let second = env.berth(&["install", "b", &env.chart("1.0.0")]).await.ok();
    assert!(
        second.stdout.contains("upload skipped"),
        "{}",
        second.stdout
    );
}

#[tokio::test]
async fn install_shows_the_warnings_helm_logs_while_merging_values() {
    let env = Env::start().await;
    let chart = env.dir.path().join("warned");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: warned\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "a:\n  b:\n    c: 1\n").unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: warned\ndata:\n  b: {{ .Values.a.b | quote }}\n",
    )
    .unwrap();
    let out = env
        .berth(&[
            "install",
            "warned",
            &crate::common::path(&chart),
            "--set",
            "a.b=1",
        ])
        .await
        .ok();
    assert!(
        out.stdout.contains(
            r#"level=INFO msg="warning: cannot overwrite table with non table for warned.a.b (map[c:1])""#
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("STATUS: deployed"), "{}", out.stdout);
}

#[tokio::test]
async fn description_replaces_the_completed_description_as_in_helm() {
    let env = Env::start().await;
    let chart = env.chart("1.0.0");
    env.berth(&[
        "install",
        "hello",
        &chart,
        "--description",
        "first of its name",
    ])
    .await
    .ok();
    env.berth(&["upgrade", "hello", &chart]).await.ok();
    env.berth(&["upgrade", "hello", &chart, "--description", "ticket 42"])
        .await
        .ok();
    let descriptions: Vec<String> = history(&env)
        .await
        .iter()
        .map(|r| r["description"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        descriptions,
        ["first of its name", "Upgrade complete", "ticket 42"]
    );

    // A rollback takes one too (Helm's limit: 256 characters), and Helm
    // v4's --server-side=true|auto, which is what berth does anyway.
    let long = "x".repeat(257);
    let refused = env
        .berth(&["rollback", "hello", "1", "--description", &long])
        .await
        .failed();
    assert!(
        refused
            .stderr
            .contains("description must be 256 characters or less, got 257"),
        "{}",
        refused.stderr
    );
    env.berth(&["rollback", "hello", "1", "--server-side=auto"])
        .await
        .ok();
    env.berth(&[
        "rollback",
        "hello",
        "2",
        "--description",
        "back to the upgrade",
    ])
    .await
    .ok();
    let descriptions: Vec<String> = history(&env)
        .await
        .iter()
        .map(|r| r["description"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(descriptions[3..], ["Rollback to 1", "back to the upgrade"]);
    // Which revision each rollback re-applied: Helm's rollback_revision
    // (left out where there is none) and --show-rollback-revision's column.
    let rolled: Vec<Option<u64>> = history(&env)
        .await
        .iter()
        .map(|r| r.get("rollback_revision").and_then(|v| v.as_u64()))
        .collect();
    assert_eq!(rolled, [None, None, None, Some(1), Some(2)]);
    let table = env
        .berth(&["history", "hello", "--show-rollback-revision"])
        .await
        .ok()
        .stdout;
    let lines: Vec<&str> = table.lines().collect();
    let header: Vec<&str> = lines[0]
        .split(['\t', ' '])
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "REVISION",
            "UPDATED",
            "STATUS",
            "CHART",
            "APP",
            "VERSION",
            "ROLLBACK",
            "BY",
            "DESCRIPTION"
        ]
    );
    let rollback_column = |line: &str| -> String {
        let header = lines[0];
        let start = header.find("ROLLBACK").unwrap();
        line.get(start..)
            .unwrap_or("")
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string()
    };
    let start = lines[0].find("ROLLBACK").unwrap();
    assert_eq!(
        lines[1][start..start + "ROLLBACK".len()].trim(),
        "",
        "{table}"
    );
    assert_eq!(rollback_column(lines[4]), "1", "{table}");
    assert_eq!(rollback_column(lines[5]), "2", "{table}");
    let refused = env
        .berth(&["upgrade", "hello", &chart, "--server-side=false"])
        .await
        .failed();
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("always applies server-side"),
        "{}",
        refused.stderr
    );
    assert_eq!(history(&env).await.len(), 5);
}

#[tokio::test]
async fn a_list_in_a_template_installs_and_uninstalls_its_items_as_helm_does() {
    let env = Env::start().await;
    let chart = env.dir.path().join("listed");
    berth_cli::demo::write_chart(&chart, "1.0.0").unwrap();
    std::fs::write(
        chart.join("templates/list.yaml"),
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    \
         name: listed-a\n  data:\n    x: \"1\"\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    \
         name: listed-b\n  stringData:\n    y: \"2\"\n",
    )
    .unwrap();
    let chart = crate::common::path(&chart);
    env.berth(&["install", "hello", &chart]).await.ok();
    assert!(
        env.get("v1", "ConfigMap", "default", "listed-a")
            .await
            .is_some()
    );
    assert!(
        env.get("v1", "Secret", "default", "listed-b")
            .await
            .is_some()
    );
    env.berth(&["uninstall", "hello"]).await.ok();
    assert!(
        env.get("v1", "ConfigMap", "default", "listed-a")
            .await
            .is_none()
    );
    assert!(
        env.get("v1", "Secret", "default", "listed-b")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn install_and_upgrade_skip_the_schema_and_hide_the_notes_when_asked() {
    let env = Env::start().await;
    let chart = crate::common::write_chart(
        &env,
        "strict",
        &[
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\ndata:\n  r: {{ .Values.replicas | quote }}\n",
            ),
            ("NOTES.txt", "strict runs {{ .Values.replicas }}\n"),
        ],
    );
    std::fs::write(
        std::path::Path::new(&chart).join("values.schema.json"),
        r#"{"properties": {"replicas": {"type": "integer"}}}"#,
    )
    .unwrap();
    let refused = env
        .berth(&["install", "strict", &chart, "--set", "replicas=many"])
        .await
        .failed();
    assert!(
        refused
            .stderr
            .contains("values don't meet the specifications"),
        "{}",
        refused.stderr
    );
    env.berth(&["history", "strict"]).await.failed();

    let installed = env
        .berth(&[
            "install",
            "strict",
            &chart,
            "--set",
            "replicas=many",
            "--skip-schema-validation",
            "--hide-notes",
        ])
        .await
        .ok();
    assert!(!installed.stdout.contains("NOTES"), "{}", installed.stdout);
    let cm = env
        .get("v1", "ConfigMap", "default", "strict")
        .await
        .unwrap();
    assert_eq!(cm["data"]["r"], "many");
    // Hidden, not dropped: the revision keeps its notes.
    let notes = env.berth(&["get", "notes", "strict"]).await.ok().stdout;
    assert!(notes.contains("strict runs many"), "{notes}");

    let upgrade = ["upgrade", "strict", &chart, "--set", "replicas=lots"];
    env.berth(&upgrade).await.failed();
    let upgraded = env
        .berth(&[&upgrade[..], &["--skip-schema-validation"]].concat())
        .await
        .ok();
    assert!(
        upgraded.stdout.contains("NOTES:\nstrict runs lots"),
        "{}",
        upgraded.stdout
    );
}

#[tokio::test]
async fn uninstall_takes_helms_flags() {
    let env = Env::start().await;
    install_v1(&env).await;

    // --dry-run says what would go and changes nothing.
    let dry = env.berth(&["uninstall", "hello", "--dry-run"]).await.ok();
    assert!(dry.stdout.contains("to delete"), "{}", dry.stdout);
    assert!(
        dry.stdout.ends_with("release \"hello\" uninstalled\n"),
        "{}",
        dry.stdout
    );
    assert!(
        env.get("apps/v1", "Deployment", "default", "hello")
            .await
            .is_some()
    );
    assert_eq!(history(&env).await.len(), 1);
    assert_eq!(history(&env).await[0]["status"], "deployed");

    // A release that is not there: an error, unless --ignore-not-found.
    env.berth(&["uninstall", "nope"]).await.failed();
    let ignored = env
        .berth(&["uninstall", "nope", "--ignore-not-found"])
        .await
        .ok();
    assert_eq!(ignored.stdout, "release \"nope\" uninstalled\n");
    let bad = env
        .berth(&["uninstall", "hello", "--cascade", "sideways"])
        .await
        .failed();
    assert!(
        bad.stderr.contains(
            "invalid cascade value (sideways). Must be \"background\", \"foreground\", or \"orphan\""
        ),
        "{}",
        bad.stderr
    );

    // Two releases in one command; --cascade orphan leaves the
    // Deployment's ReplicaSet behind, --wait returns once the objects are
    // gone, --description names the kept revision.
    env.berth(&[
        "install",
        "other",
        &env.chart("1.0.0"),
        "-n",
        "second",
        "--create-namespace",
    ])
    .await
    .ok();
    let rs_of = |ns: &'static str| {
        let env = &env;
        async move {
            let api: kube::Api<k8s_openapi::api::apps::v1::ReplicaSet> =
                kube::Api::namespaced(env.kube().await, ns);
            api.list(&Default::default()).await.unwrap().items
        }
    };
    assert_eq!(rs_of("default").await.len(), 1);
    let out = env
        .berth(&[
            "uninstall",
            "hello",
            "--cascade",
            "orphan",
            "--wait",
            "--keep-history",
            "--description",
            "retired",
        ])
        .await
        .ok();
    assert!(
        out.stdout.contains("release \"hello\" uninstalled"),
        "{}",
        out.stdout
    );
    assert!(
        env.get("apps/v1", "Deployment", "default", "hello")
            .await
            .is_none()
    );
    let left = rs_of("default").await;
    assert_eq!(left.len(), 1, "orphaned, not deleted");
    assert!(
        left[0]
            .metadata
            .owner_references
            .as_deref()
            .unwrap_or_default()
            .is_empty()
    );
    let h = history(&env).await;
    assert_eq!(h[0]["status"], "uninstalled");
    assert_eq!(h[0]["description"], "retired");

    let out = env
        .berth(&["uninstall", "other", "nope", "-n", "second"])
        .await
        .failed();
    assert!(
        out.stdout.contains("release \"other\" uninstalled"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("nope"), "{}", out.stderr);
    assert!(
        env.get("apps/v1", "Deployment", "second", "other")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn install_names_the_release_from_a_template_or_the_chart_and_time() {
    let env = Env::start().await;
    let chart = env.chart("1.0.0");
    let generated = env
        .berth(&["install", &chart, "--generate-name", "-o", "json"])
        .await
        .ok()
        .json();
    // The chart's directory is hello-1.0.0: its name up to the first dot.
    let name = generated["name"].as_str().unwrap().to_string();
    let seconds = name
        .strip_prefix("hello-1-")
        .unwrap_or_else(|| panic!("{name}"));
    assert!(seconds.parse::<u64>().is_ok(), "{name}");
    env.berth(&["status", &name]).await.ok();

    let templated = env
        .berth(&[
            "install",
            &chart,
            "--name-template",
            "web-{{ print \"x\" }}",
            "-o",
            "json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(templated["name"], "web-x");

    let unnamed = env.berth(&["install", &chart]).await.failed();
    assert!(
        unnamed
            .stderr
            .contains("must either provide a name or specify --generate-name"),
        "{}",
        unnamed.stderr
    );
    let both = env.berth(&["install", "a", &chart, "-g"]).await.failed();
    assert!(
        both.stderr
            .contains("cannot set --generate-name and also specify a name"),
        "{}",
        both.stderr
    );
}

#[tokio::test]
async fn labels_select_releases_and_metadata_shows_them() {
    let env = Env::start().await;
    let chart = crate::common::write_chart(
        &env,
        "meta",
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
        )],
    );
    let dir = std::path::Path::new(&chart);
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: meta\nversion: 1.2.3\nappVersion: \"4.5\"\n\
         annotations:\n  category: demo\n  owner: ops\n\
         dependencies:\n  - name: sub\n    version: 0.1.0\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("charts/sub")).unwrap();
    std::fs::write(
        dir.join("charts/sub/Chart.yaml"),
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    )
    .unwrap();

    env.berth(&["install", "web", &chart, "--labels", "team=web,tier=front"])
        .await
        .ok();
    env.berth(&["install", "db", &chart, "--labels", "team=db"])
        .await
        .ok();
    let reserved = env
        .berth(&["install", "x", &chart, "--labels", "owner=me"])
        .await
        .failed();
    assert!(
        reserved.stderr.contains(
            "user supplied labels contains system reserved label name. System labels: \
             [name owner status version createdAt modifiedAt]"
        ),
        "{}",
        reserved.stderr
    );
    env.berth(&["status", "x"]).await.failed();
    let bad = env
        .berth(&["install", "x", &chart, "--labels", "team=web app"])
        .await
        .failed();
    assert!(
        bad.stderr
            .contains("label \"team\" value \"web app\": must be empty or at most 63 characters"),
        "{}",
        bad.stderr
    );

    let names = |sel: &'static str| {
        let env = &env;
        async move { env.berth(&["list", "-q", "-l", sel]).await.ok().stdout }
    };
    assert_eq!(names("team=web").await, "web\n");
    assert_eq!(names("team!=web").await, "db\n");
    assert_eq!(names("tier").await, "web\n");

    let table = env.berth(&["get", "metadata", "web"]).await.ok().stdout;
    for line in [
        "NAME: web\n",
        "CHART: meta\n",
        "VERSION: 1.2.3\n",
        "APP_VERSION: 4.5\n",
        "ANNOTATIONS: category=demo,owner=ops\n",
        "LABELS: team=web,tier=front\n",
        "DEPENDENCIES: sub\n",
        "NAMESPACE: default\n",
        "REVISION: 1\n",
        "STATUS: deployed\n",
        "APPLY_METHOD: server-side apply\n",
    ] {
        assert!(table.contains(line), "{line:?} in\n{table}");
    }

    // An upgrade merges its labels into the release's; "null" removes one.
    env.berth(&["upgrade", "web", &chart, "--labels", "tier=null,env=prod"])
        .await
        .ok();
    let json = env
        .berth(&["get", "metadata", "web", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(
        json["labels"],
        serde_json::json!({"team": "web", "env": "prod"})
    );
    assert_eq!(json["revision"], 2);
    assert_eq!(json["dependencies"][0]["name"], "sub");
    assert_eq!(json["annotations"]["category"], "demo");
    assert!(
        json["deployedAt"].as_str().unwrap().ends_with('Z'),
        "{json}"
    );
    // A rollback brings back its target's labels.
    env.berth(&["rollback", "web", "1"]).await.ok();
    let json = env
        .berth(&["get", "metadata", "web", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(
        json["labels"],
        serde_json::json!({"team": "web", "tier": "front"})
    );
}

#[tokio::test]
async fn helm_v4_wait_and_dry_run_strategies_are_taken() {
    let env = Env::start().await;
    let dry = env
        .berth(&["install", "hello", &env.chart("1.0.0"), "--dry-run=server"])
        .await
        .ok();
    assert!(dry.stdout.contains("Dry run complete"), "{}", dry.stdout);
    env.berth(&["status", "hello"]).await.failed();
    let waited = env
        .berth(&["install", "hello", &env.chart("1.0.0"), "--wait=watcher"])
        .await
        .ok();
    assert!(
        waited.stdout.contains("replicas ready"),
        "{}",
        waited.stdout
    );
    let hooks_only = env
        .berth(&[
            "upgrade",
            "hello",
            &env.chart("1.1.0"),
            "--wait=hookOnly",
            "--force-conflicts",
        ])
        .await
        .ok();
    assert!(
        !hooks_only.stdout.contains("replicas ready"),
        "{}",
        hooks_only.stdout
    );
    let bad = env
        .berth(&["upgrade", "hello", &env.chart("1.1.0"), "--dry-run=maybe"])
        .await
        .failed();
    assert!(
        bad.stderr
            .contains("invalid dry-run value (maybe). Must be \"none\", \"server\", or \"client\""),
        "{}",
        bad.stderr
    );
}

/// After a dry run, as after Helm's: the release as rendered (HOOKS:,
/// MANIFEST:, as Helm's status printer writes them), under the status the
/// operation would have had; `-o json` carries the manifest. Exactly what
/// the real operation then records. With `--debug`, the values too, and
/// after a real operation the release as recorded.
#[tokio::test]
async fn a_dry_run_shows_the_release_as_rendered() {
    let env = Env::start().await;
    let chart = crate::common::path(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/charts/scaffold"),
    );
    let section = |out: &str, from: &str, to: &str| -> String {
        let start = out.find(from).unwrap_or_else(|| panic!("{from} in {out}")) + from.len();
        let end = start
            + out[start..]
                .find(to)
                .unwrap_or_else(|| panic!("{to} in {out}"));
        out[start..end].to_string()
    };
    let dry = env
        .berth(&["install", "web", &chart, "--dry-run"])
        .await
        .ok()
        .stdout;
    for line in [
        "STATUS: pending-install\n",
        // A test hook that has not run: no TEST SUITE line, as Helm's.
        "DESCRIPTION: Dry run complete\nHOOKS:\n",
    ] {
        assert!(dry.contains(line), "{line} in {dry}");
    }
    let hooks = section(&dry, "\nHOOKS:\n", "MANIFEST:\n");
    let manifest = section(&dry, "\nMANIFEST:\n", "\nNOTES:\n");
    assert!(
        hooks.starts_with("---\n# Source: scaffold/templates/tests/test-connection.yaml\n"),
        "{hooks}"
    );
    let json = env
        .berth(&["install", "web", &chart, "--dry-run", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(json["manifest"].as_str(), Some(manifest.as_str()));
    env.berth(&["status", "web"]).await.failed();

    let installed = env.berth(&["install", "web", &chart]).await.ok().stdout;
    assert!(!installed.contains("TEST SUITE"), "{installed}");
    assert!(!installed.contains("MANIFEST:"), "{installed}");
    // A chart without test hooks says so.
    let other = env
        .berth(&["install", "hello", &env.chart("1.0.0")])
        .await
        .ok()
        .stdout;
    assert!(
        other.contains("DESCRIPTION: Install complete\nTEST SUITE: None\n"),
        "{other}"
    );
    let stored = env.berth(&["get", "manifest", "web"]).await.ok().stdout;
    assert_eq!(manifest, stored);
    let stored = env.berth(&["get", "hooks", "web"]).await.ok().stdout;
    assert_eq!(hooks, stored);

    let dry = env
        .berth(&[
            "upgrade",
            "web",
            &chart,
            "--dry-run",
            "--set",
            "replicaCount=3",
        ])
        .await
        .ok()
        .stdout;
    assert!(
        dry.contains("STATUS: pending-upgrade\nREVISION: 2\n"),
        "{dry}"
    );
    assert!(
        section(&dry, "\nMANIFEST:\n", "\nNOTES:\n").contains("replicas: 3\n"),
        "{dry}"
    );
    let h = env
        .berth(&["history", "web", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h.as_array().unwrap().len(), 1, "nothing recorded: {h}");
    // Helm's --debug: the values too, a dry run's or those recorded.
    let debug = env
        .berth(&[
            "upgrade",
            "web",
            &chart,
            "--dry-run",
            "--debug",
            "--set",
            "replicaCount=3",
        ])
        .await
        .ok()
        .stdout;
    let values = section(&debug, "\nUSER-SUPPLIED VALUES:\n", "\nHOOKS:\n");
    assert!(
        values.starts_with("replicaCount: 3\n\nCOMPUTED VALUES:\naffinity: {}\n"),
        "{debug}"
    );
    let upgraded = env
        .berth(&[
            "upgrade",
            "web",
            &chart,
            "--debug",
            "--set",
            "replicaCount=2",
        ])
        .await
        .ok()
        .stdout;
    assert!(
        upgraded
            .contains("DESCRIPTION: Upgrade complete\nUSER-SUPPLIED VALUES:\nreplicaCount: 2\n\n"),
        "{upgraded}"
    );
    let stored = env.berth(&["get", "manifest", "web"]).await.ok().stdout;
    assert_eq!(section(&upgraded, "\nMANIFEST:\n", "\nNOTES:\n"), stored);
    // What Helm's upgrade says first.
    assert!(
        upgraded.contains("Release \"web\" has been upgraded. Happy Helming!\nNAME: web\n"),
        "{upgraded}"
    );
    let new = env
        .berth(&["upgrade", "--install", "fresh", &chart, "-q"])
        .await
        .ok()
        .stdout;
    assert!(
        new.starts_with("Release \"fresh\" does not exist. Installing it now.\nNAME: fresh\n"),
        "{new}"
    );
    // A failed upgrade says so in Helm's words; an upgrade --install that
    // installed does not (Helm's runInstall adds nothing).
    let bad = ["--set", "podAnnotations=x", "-q"];
    let failed = env
        .berth(&[&["upgrade", "fresh", &chart][..], &bad].concat())
        .await
        .failed();
    assert!(
        failed
            .stderr
            .starts_with("Error: UPGRADE FAILED: fresh (revision 2): ApplyFailed: "),
        "{}",
        failed.stderr
    );
    let failed = env
        .berth(&[&["upgrade", "--install", "broken", &chart][..], &bad].concat())
        .await
        .failed();
    assert!(
        failed
            .stderr
            .starts_with("Error: broken (revision 1): ApplyFailed: "),
        "{}",
        failed.stderr
    );
    // So does the agent's refusal of the request itself.
    let refused = env.berth(&["upgrade", "nosuch", &chart]).await.failed();
    assert_eq!(
        refused.stderr,
        "Error: UPGRADE FAILED: \"nosuch\" has no deployed releases\n"
    );
    let refused = env.berth(&["install", "fresh", &chart]).await.failed();
    assert!(
        refused
            .stderr
            .starts_with("Error: INSTALLATION FAILED: release name check failed: cannot reuse a name that is still in use"),
        "{}",
        refused.stderr
    );
}

/// As Helm's install: every install renders as revision 1 (one that
/// replaces an uninstalled release is recorded as the next revision), and
/// a dry-run install does not check the name (Helm's availableName), so it
/// renders and checks a release that exists as a new one, recording nothing.
#[tokio::test]
async fn an_install_renders_as_revision_1_and_its_dry_run_takes_a_name_in_use() {
    let env = Env::start().await;
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rev\ndata:\n  revision: {{ .Release.Revision | quote }}\n  install: {{ .Release.IsInstall | quote }}\n";
    let chart = crate::common::write_chart(&env, "rev", &[("cm.yaml", cm)]);
    env.berth(&["install", "web", &chart]).await.ok();
    env.berth(&["upgrade", "web", &chart]).await.ok();
    let rendered = |cm: Option<serde_json::Value>| {
        let data = &cm.expect("the ConfigMap")["data"];
        (data["revision"].clone(), data["install"].clone())
    };
    assert_eq!(
        rendered(env.get("v1", "ConfigMap", "default", "rev").await),
        ("2".into(), "false".into())
    );
    let dry = env
        .berth(&["install", "web", &chart, "--dry-run"])
        .await
        .ok()
        .stdout;
    assert!(
        dry.contains("STATUS: pending-install\nREVISION: 1\n"),
        "{dry}"
    );
    assert!(
        dry.contains("  revision: \"1\"\n  install: \"true\"\n"),
        "{dry}"
    );
    let revisions = |h: serde_json::Value| {
        h.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["revision"].as_u64().unwrap(),
                    r["status"].as_str().unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let h = env
        .berth(&["history", "web", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(
        revisions(h),
        [(1, "superseded".to_string()), (2, "deployed".to_string())]
    );
    // Not a dry run: the name is taken, in Helm v4's words (its install
    // wraps availableName's refusal).
    let taken = env.berth(&["install", "web", &chart]).await.failed();
    assert_eq!(
        taken.stderr,
        "Error: INSTALLATION FAILED: release name check failed: cannot reuse a name that is still in use\n"
    );
    env.berth(&["uninstall", "web", "--keep-history"])
        .await
        .ok();
    env.berth(&["install", "web", &chart, "--replace"])
        .await
        .ok();
    let h = env
        .berth(&["history", "web", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(revisions(h).last(), Some(&(3, "deployed".to_string())));
    assert_eq!(
        rendered(env.get("v1", "ConfigMap", "default", "rev").await),
        ("1".into(), "true".into())
    );
}

/// A subchart's values that are not a table fail as Helm's do. When the
/// chart lists the subchart as a dependency, processing the dependencies
/// fails first, and Helm's install (and `helm template`, which is its
/// install) names that step; its upgrade does not. Nothing is recorded.
#[tokio::test]
async fn a_subcharts_values_that_are_not_a_table_fail_in_helms_words() {
    let env = Env::start().await;
    let chart = crate::common::write_chart(
        &env,
        "parent",
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        )],
    );
    let parent = std::path::Path::new(&chart);
    crate::common::small_chart(&parent.join("charts"), "sub", &[]);
    let bad = ["--set", "sub=1"];
    let words = "type mismatch on sub: %!t(int64=1)";
    // Not listed: coalescing the values fails, in the same words for all.
    let failed = env
        .berth(&[&["template", "web", &chart][..], &bad].concat())
        .await
        .failed();
    assert_eq!(failed.stderr, format!("Error: {words}\n"));
    crate::common::write_file(
        &parent.join("Chart.yaml"),
        "apiVersion: v2\nname: parent\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 1.0.0\n",
    );
    let failed = env
        .berth(&[&["template", "web", &chart][..], &bad].concat())
        .await
        .failed();
    assert_eq!(
        failed.stderr,
        format!("Error: chart dependencies processing failed: {words}\n")
    );
    let failed = env
        .berth(&[&["install", "web", &chart][..], &bad].concat())
        .await
        .failed();
    assert_eq!(
        failed.stderr,
        format!(
            "Error: INSTALLATION FAILED: web: RenderFailed: chart dependencies processing failed: {words}\n"
        )
    );
    env.berth(&["install", "web", &chart]).await.ok();
    let failed = env
        .berth(&[&["upgrade", "web", &chart][..], &bad].concat())
        .await
        .failed();
    assert_eq!(
        failed.stderr,
        format!("Error: UPGRADE FAILED: web: RenderFailed: {words}\n")
    );
    let h = env
        .berth(&["history", "web", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h.as_array().unwrap().len(), 1, "recorded: {h}");
}

/// Flags as scripts written for Helm pass them: on/off flags with a value
/// (`--install=true`, `--atomic=false`), a flag given twice (the last one
/// wins), Helm v4's `--force-replace` refused in one line with nothing
/// recorded.
#[tokio::test]
async fn helm_style_flag_values_are_taken() {
    let env = Env::start().await;
    let out = env
        .berth(&[
            "upgrade",
            "--install=true",
            "--create-namespace=true",
            "--rollback-on-failure=false",
            "--wait=false",
            "hello",
            &env.chart("1.0.0"),
            "-n",
            "elsewhere",
            "-n",
            "shop",
            "--description",
            "first",
            "--description",
            "scripted",
        ])
        .await
        .ok();
    assert!(out.stdout.contains("NAMESPACE: shop"), "{}", out.stdout);
    let h = env
        .berth(&["history", "hello", "-n", "shop", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h[0]["description"], "scripted", "{h}");
    assert!(
        env.get("apps/v1", "Deployment", "shop", "hello")
            .await
            .is_some()
    );

    let refused = env
        .berth(&[
            "upgrade",
            "hello",
            &env.chart("1.1.0"),
            "-n",
            "shop",
            "--force",
        ])
        .await
        .failed();
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("Helm v4 cannot use server-side apply and force replace together"),
        "{}",
        refused.stderr
    );
    let bad = env
        .berth(&[
            "upgrade",
            "hello",
            &env.chart("1.1.0"),
            "-n",
            "shop",
            "--atomic=maybe",
        ])
        .await
        .failed();
    assert!(
        bad.stderr
            .contains(r#"strconv.ParseBool: parsing "maybe": invalid syntax"#),
        "{}",
        bad.stderr
    );
    // Helm's alias `hist`.
    let h = env
        .berth(&["hist", "hello", "-n", "shop", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h.as_array().unwrap().len(), 1, "nothing recorded: {h}");
}

#[tokio::test]
async fn render_subchart_notes_records_every_charts_notes_as_helm_does() {
    let env = Env::start().await;
    let chart = crate::common::write_chart(
        &env,
        "umbrella",
        &[
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
            ),
            ("NOTES.txt", "umbrella {{ .Release.Name }}"),
        ],
    );
    let sub = std::path::Path::new(&chart).join("charts/db");
    crate::common::write_file(
        &sub.join("Chart.yaml"),
        "apiVersion: v2\nname: db\nversion: 1.0.0\n",
    );
    crate::common::write_file(
        &sub.join("templates/NOTES.txt"),
        "db of {{ .Release.Name }}",
    );
    std::fs::write(
        std::path::Path::new(&chart).join("Chart.yaml"),
        "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n- name: db\n  version: 1.0.0\n",
    )
    .unwrap();

    let notes = |name: &'static str| {
        let env = &env;
        async move { env.berth(&["get", "notes", name]).await.ok().stdout }
    };
    env.berth(&["install", "top", &chart]).await.ok();
    assert_eq!(notes("top").await, "NOTES:\numbrella top\n");
    env.berth(&["install", "all", &chart, "--render-subchart-notes"])
        .await
        .ok();
    assert_eq!(notes("all").await, "NOTES:\ndb of all\numbrella all\n");
}

#[tokio::test]
async fn a_number_beyond_f64_in_a_manifest_is_applied_as_the_text_helm_keeps() {
    let env = Env::start().await;
    let chart = crate::common::write_chart(
        &env,
        "huge",
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n  x: 1e400\n",
        )],
    );
    env.berth(&["install", "huge", &chart]).await.ok();
    let cm = env.get("v1", "ConfigMap", "default", "huge").await.unwrap();
    assert_eq!(cm["data"]["x"], "1e400");
}

/// A ConfigMap document annotated `helm.sh/resource-policy: POLICY` (none
/// when empty), with the `---` after it.
fn policy_configmap(name: &str, policy: &str) -> String {
    let annotations = if policy.is_empty() {
        String::new()
    } else {
        format!("  annotations:\n    helm.sh/resource-policy: \"{policy}\"\n")
    };
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{annotations}---\n")
}

/// `helm.sh/resource-policy: keep` (in any case, spaces around it, as
/// Helm's uninstall reads it) leaves an object in the cluster, and
/// uninstall says which, as Helm's: "These resources were kept due to the
/// resource policy:", `[Kind] name` each in uninstall order, a blank line,
/// then the release's line. Any other value of the annotation (even
/// `delete`) leaves the object unlisted, as Helm's filterManifestsToKeep puts
/// it in neither of its lists.
#[tokio::test]
async fn uninstall_lists_what_the_resource_policy_kept_as_helm_does() {
    let env = Env::start().await;
    let cm = policy_configmap;
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n    helm.sh/resource-policy: keep\n";
    let objects = [
        cm("kept-a", "keep"),
        cm("kept-b", " Keep "),
        cm("gone", ""),
        cm("left", "delete"),
    ]
    .concat();
    let chart =
        crate::common::write_chart(&env, "keep", &[("cm.yaml", &objects), ("s.yaml", secret)]);
    env.berth(&["install", "web", &chart]).await.ok();
    let out = env.berth(&["uninstall", "web"]).await.ok().stdout;
    assert!(
        out.ends_with(
            "These resources were kept due to the resource policy:\n\
             [ConfigMap] kept-a\n[ConfigMap] kept-b\n[Secret] s\n\n\
             release \"web\" uninstalled\n"
        ),
        "{out}"
    );
    assert!(out.contains("  ConfigMap/kept-b kept"), "{out}");
    for name in ["kept-a", "kept-b"] {
        assert!(
            env.get("v1", "ConfigMap", "default", name).await.is_some(),
            "{name}"
        );
    }
    assert!(env.get("v1", "Secret", "default", "s").await.is_some());
    assert!(
        env.get("v1", "ConfigMap", "default", "left")
            .await
            .is_some()
    );
    assert!(!out.contains("ConfigMap/left"), "{out}");
    assert!(
        env.get("v1", "ConfigMap", "default", "gone")
            .await
            .is_none()
    );
    // Installed again (the kept objects adopted): -o json lists them too.
    env.berth(&["install", "other", &chart, "--take-ownership"])
        .await
        .ok();
    let listed = env
        .berth(&["uninstall", "other", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(
        listed["kept"],
        serde_json::json!(["[ConfigMap] kept-a", "[ConfigMap] kept-b", "[Secret] s"])
    );
}

#[tokio::test]
async fn uninstall_deletes_a_kinds_objects_together_and_waits_for_them_all_at_once() {
    use berth_sim::faults::{Action, Match, Rule};
    let env = Env::start().await;
    let names = ["a", "b", "c", "d"];
    let templates: Vec<(String, String)> = names
        .iter()
        .flat_map(|n| {
            [
                (
                    format!("cm-{n}.yaml"),
                    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{n}\n"),
                ),
                (
                    format!("svc-{n}.yaml"),
                    format!(
                        "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{n}\nspec:\n  ports:\n  - port: 80\n"
                    ),
                ),
            ]
        })
        .collect();
    let templates: Vec<(&str, &str)> = templates
        .iter()
        .map(|(f, t)| (f.as_str(), t.as_str()))
        .collect();
    let chart = crate::common::write_chart(&env, "many", &templates);
    env.berth(&["install", "many", &chart]).await.ok();

    // Each deletion answered 300 ms late, so that requests in flight together
    // overlap in the simulator's log.
    env.sim.faults().add(Rule::new(
        Match {
            verb: Some("delete".into()),
            ..Match::default()
        },
        Action::delay(300),
    ));
    env.sim.clear_requests();
    let out = env.berth(&["uninstall", "many", "--wait"]).await.ok();
    assert!(
        out.stdout.contains("release \"many\" uninstalled"),
        "{}",
        out.stdout
    );
    for n in names {
        assert!(
            env.get("v1", "ConfigMap", "default", &format!("cm-{n}"))
                .await
                .is_none()
        );
        assert!(
            env.get("v1", "Service", "default", &format!("svc-{n}"))
                .await
                .is_none()
        );
    }
    let deletes = |resource: &str| -> Vec<_> {
        env.sim
            .requests()
            .into_iter()
            .filter(|r| r.verb == "delete" && r.path.contains(&format!("/{resource}/")))
            .map(|r| (r.started, r.started + r.took))
            .collect()
    };
    let (services, configmaps) = (deletes("services"), deletes("configmaps"));
    assert_eq!((services.len(), configmaps.len()), (4, 4));
    // Helm's uninstall order, kind by kind: every Service before any ConfigMap
    // (a kind starts once the one before it has been answered) ...
    let services_done = services.iter().map(|s| s.1).max().unwrap();
    assert!(configmaps.iter().all(|c| c.0 >= services_done));
    // ... and a kind's objects together, not one after another.
    for kind in [&services, &configmaps] {
        let first_done = kind.iter().map(|s| s.1).min().unwrap();
        assert!(
            kind.iter().all(|s| s.0 < first_done),
            "deleted one at a time"
        );
    }
}

/// An upgrade's prune leaves an object whose copy in the cluster says
/// `helm.sh/resource-policy: keep` (exactly), as Helm's Update reads it
/// there: whether the chart or someone with kubectl put it there. A value
/// that is only `keep` trimmed or in another case does not keep it, as
/// for Helm's Update; `berth diff` shows the same.
#[tokio::test]
async fn an_upgrade_prune_keeps_what_the_clusters_copy_says_to_keep() {
    use kube::api::{Api, Patch, PatchParams};
    let env = Env::start().await;
    let cm = policy_configmap;
    let stays = cm("stays", "");
    let v1 = [
        cm("chart-keep", "keep"),
        cm("hand-keep", ""),
        cm("spaced", " Keep "),
        cm("plain", ""),
        stays.clone(),
    ]
    .concat();
    let v1 = crate::common::write_chart(&env, "prune-keep", &[("cm.yaml", &v1)]);
    env.berth(&["install", "p", &v1]).await.ok();
    // Someone keeps hand-keep with kubectl annotate.
    let configmaps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(env.kube().await, "default");
    configmaps
        .patch(
            "hand-keep",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({
                "metadata": {"annotations": {"helm.sh/resource-policy": "keep"}}
            })),
        )
        .await
        .unwrap();

    let v2 = crate::common::write_chart(&env, "prune-keep", &[("cm.yaml", &stays)]);
    let diff = env.berth(&["diff", "upgrade", "p", &v2]).await.stdout;
    for name in ["spaced", "plain"] {
        assert!(
            diff.contains(&format!("ConfigMap/{name}")),
            "{name}: {diff}"
        );
    }
    for name in ["chart-keep", "hand-keep"] {
        assert!(
            !diff.contains(&format!("ConfigMap/{name}")),
            "{name}: {diff}"
        );
    }
    let out = env.berth(&["upgrade", "p", &v2]).await.ok().stdout;
    // The plan counts only what the prune deletes.
    assert!(out.contains("1 unchanged, 2 to delete"), "{out}");
    for name in ["chart-keep", "hand-keep"] {
        assert!(out.contains(&format!("ConfigMap/{name} kept")), "{out}");
        assert!(
            env.get("v1", "ConfigMap", "default", name).await.is_some(),
            "{name}"
        );
    }
    for name in ["spaced", "plain"] {
        assert!(
            env.get("v1", "ConfigMap", "default", name).await.is_none(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn an_upgrade_prunes_every_object_it_can_before_reporting_a_deletion_that_failed() {
    use berth_sim::faults::{Action, Match, Rule};
    let env = Env::start().await;
    let cm = |n: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n");
    let (a, b, keep) = (cm("cm-a"), cm("cm-b"), cm("cm-keep"));
    let v1 = crate::common::write_chart(
        &env,
        "prune",
        &[("a.yaml", &a), ("b.yaml", &b), ("keep.yaml", &keep)],
    );
    env.berth(&["install", "p", &v1]).await.ok();
    let v2 = crate::common::write_chart(&env, "prune", &[("keep.yaml", &keep)]);

    // The first of the two deletions is refused.
    env.sim.faults().add(Rule::new(
        Match {
            verb: Some("delete".into()),
            name: Some("cm-a".into()),
            ..Match::default()
        },
        Action::status(403),
    ));
    let out = env.berth(&["upgrade", "p", &v2]).await.failed();
    assert!(out.stderr.contains("UPGRADE FAILED"), "{}", out.stderr);
    assert!(out.stderr.contains("cm-a"), "{}", out.stderr);
    assert!(
        env.get("v1", "ConfigMap", "default", "cm-a")
            .await
            .is_some()
    );
    // The other one went all the same, as Helm's Delete goes on past an error.
    assert!(
        env.get("v1", "ConfigMap", "default", "cm-b")
            .await
            .is_none()
    );
    assert!(
        env.get("v1", "ConfigMap", "default", "cm-keep")
            .await
            .is_some()
    );
}

/// A values.schema.json that refers to documents by URL (charts do so for
/// Kubernetes' types, `https://…/_definitions.json`): Helm's loaders read
/// them while it validates the values, on the user's machine. berth's CLI
/// reads them there, ahead, and sends them with the operation; berthd
/// validates with them. Each answer is Helm's, word for word.
#[tokio::test]
async fn a_schemas_references_by_url_are_read_by_the_client_as_helm_reads_them() {
    use std::collections::HashMap;
    let env = Env::start().await;
    let defs = br#"{"definitions": {"replicas": {"type": "integer", "minimum": 1}}}"#;
    let repo =
        crate::repos::Repo::start(HashMap::from([("/defs.json".into(), defs.to_vec())]), None)
            .await;
    let chart = crate::common::write_chart(
        &env,
        "remote",
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote\ndata:\n  r: {{ .Values.replicas | quote }}\n",
        )],
    );
    let schema = |reference: &str| {
        std::fs::write(
            std::path::Path::new(&chart).join("values.schema.json"),
            format!(
                r#"{{"properties": {{"replicas": {{"$ref": "{}/{reference}"}}}}}}"#,
                repo.url
            ),
        )
        .unwrap()
    };
    // Helm's render of the chart with these values: its error, or "".
    let helm = |values: &'static str| {
        let chart = chart.clone();
        async move {
            let script = "import sys, json\nfrom helm_python import Chart\ntry:\n    Chart.load(sys.argv[1]).render(values=json.loads(sys.argv[2]), name='remote')\nexcept Exception as e:\n    print(e, end='')\n";
            String::from_utf8(crate::common::real_helm(script, &[&chart, values]).await).unwrap()
        }
    };
    let error = |out: &crate::common::Out| {
        out.stderr
            .trim_end()
            .strip_prefix("Error: ")
            .unwrap_or(&out.stderr)
            .to_string()
    };

    schema("defs.json#/definitions/replicas");
    let want = helm(r#"{"replicas": 0}"#).await;
    assert!(
        want.contains("- at '/replicas': minimum: got 0, want 1"),
        "{want}"
    );
    let template = env
        .berth(&["template", "remote", &chart, "--set", "replicas=0"])
        .await
        .failed();
    assert_eq!(error(&template), want.trim_end());
    let install = env
        .berth(&["install", "remote", &chart, "--set", "replicas=0"])
        .await
        .failed();
    assert!(
        install.stderr.contains(want.trim_end()),
        "{}",
        install.stderr
    );
    env.berth(&["history", "remote"]).await.failed();

    assert_eq!(helm(r#"{"replicas": 2}"#).await, "");
    env.berth(&["install", "remote", &chart, "--set", "replicas=2"])
        .await
        .ok();
    let cm = env
        .get("v1", "ConfigMap", "default", "remote")
        .await
        .unwrap();
    assert_eq!(cm["data"]["r"], "2");

    // A document the server does not have: Helm's loader's words.
    schema("missing.json");
    let want = helm(r#"{"replicas": 3}"#).await;
    assert!(want.contains("returned status 404 (Not Found)"), "{want}");
    let upgrade = env
        .berth(&["upgrade", "remote", &chart, "--set", "replicas=3"])
        .await
        .failed();
    assert!(
        upgrade.stderr.contains(want.trim_end()),
        "{}",
        upgrade.stderr
    );
    let history = env.berth(&["history", "remote", "-o", "json"]).await.ok();
    assert_eq!(history.json().as_array().map(Vec::len), Some(1));

    // --skip-schema-validation reads nothing, as Helm compiles nothing.
    let asked = repo.requests().len();
    env.berth(&[
        "upgrade",
        "remote",
        &chart,
        "--set",
        "replicas=3",
        "--skip-schema-validation",
    ])
    .await
    .ok();
    assert_eq!(repo.requests().len(), asked);
}

/// The kinds charts create besides workloads — admission webhooks and
/// policies, an aggregated API's APIService, PriorityClass, StorageClass,
/// quotas, IngressClass, … — are served by berth-sim (stored, nothing acts
/// on them), so such charts install, upgrade and uninstall there as on a
/// cluster: kube-prometheus-stack, consul, gatekeeper, keda, longhorn and
/// vault each create some of them.
#[tokio::test]
async fn charts_with_webhooks_apiservices_and_cluster_classes_install_and_uninstall() {
    let env = Env::start().await;
    let kinds: &[(&str, &str, &str, &str)] = &[
        (
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            "",
            "webhooks: [{name: m.example.com, admissionReviewVersions: [v1], sideEffects: None, clientConfig: {service: {name: svc, namespace: default}}}]",
        ),
        (
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            "",
            "webhooks: [{name: v.example.com, admissionReviewVersions: [v1], sideEffects: None, clientConfig: {service: {name: svc, namespace: default}}}]",
        ),
        (
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicy",
            "",
            "spec: {validations: [{expression: 'true'}]}",
        ),
        (
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicyBinding",
            "",
            "spec: {policyName: x, validationActions: [Deny]}",
        ),
        (
            "apiregistration.k8s.io/v1",
            "APIService",
            "",
            "spec: {group: metrics.example.com, version: v1beta1, groupPriorityMinimum: 100, versionPriority: 100, service: {name: svc, namespace: default}}",
        ),
        ("scheduling.k8s.io/v1", "PriorityClass", "", "value: 1000"),
        (
            "storage.k8s.io/v1",
            "StorageClass",
            "",
            "provisioner: example.com/disk",
        ),
        (
            "storage.k8s.io/v1",
            "CSIDriver",
            "",
            "spec: {attachRequired: false}",
        ),
        ("node.k8s.io/v1", "RuntimeClass", "", "handler: runc"),
        (
            "networking.k8s.io/v1",
            "IngressClass",
            "",
            "spec: {controller: example.com/ingress}",
        ),
        (
            "v1",
            "PersistentVolume",
            "",
            "spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /tmp}}",
        ),
        (
            "v1",
            "ResourceQuota",
            "default",
            "spec: {hard: {pods: '10'}}",
        ),
        (
            "v1",
            "LimitRange",
            "default",
            "spec: {limits: [{type: Container, default: {cpu: 100m}}]}",
        ),
        ("v1", "Endpoints", "default", "subsets: []"),
        (
            "discovery.k8s.io/v1",
            "EndpointSlice",
            "default",
            "addressType: IPv4\nendpoints: []",
        ),
    ];
    let templates: Vec<(String, String)> = kinds
        .iter()
        .map(|(api, kind, _, body)| {
            let name = kind.to_lowercase();
            let file = format!("{name}.yaml");
            let text = format!(
                "apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: k-{name}\n  labels: {{v: {{{{ .Values.v | quote }}}}}}\n{body}\n"
            );
            (file, text)
        })
        .collect();
    let files: Vec<(&str, &str)> = templates
        .iter()
        .map(|(f, t)| (f.as_str(), t.as_str()))
        .collect();
    let chart = crate::common::write_chart(&env, "classes", &files);
    env.berth(&["install", "classes", &chart, "--set", "v=1", "--wait"])
        .await
        .ok();
    for (api, kind, ns, _) in kinds {
        let name = format!("k-{}", kind.to_lowercase());
        let o = env.get(api, kind, ns, &name).await;
        assert_eq!(
            o.map(|o| o["metadata"]["labels"]["v"].clone()),
            Some("1".into()),
            "{kind}"
        );
    }
    env.berth(&["upgrade", "classes", &chart, "--set", "v=2", "--wait"])
        .await
        .ok();
    let pc = env
        .get(
            "scheduling.k8s.io/v1",
            "PriorityClass",
            "",
            "k-priorityclass",
        )
        .await
        .unwrap();
    assert_eq!(pc["metadata"]["labels"]["v"], "2");
    env.berth(&["uninstall", "classes", "--wait"]).await.ok();
    for (api, kind, ns, _) in kinds {
        let name = format!("k-{}", kind.to_lowercase());
        assert!(
            env.get(api, kind, ns, &name).await.is_none(),
            "{kind} is gone"
        );
    }
    // What every cluster has, that charts name.
    for (api, kind, name) in [
        ("storage.k8s.io/v1", "StorageClass", "standard"),
        (
            "scheduling.k8s.io/v1",
            "PriorityClass",
            "system-cluster-critical",
        ),
        (
            "scheduling.k8s.io/v1",
            "PriorityClass",
            "system-node-critical",
        ),
    ] {
        assert!(env.get(api, kind, "", name).await.is_some(), "{name}");
    }
}

/// What real charts render and a cluster takes, berth-sim takes too, and a
/// release installs with --wait: a ClusterRole named `system:…`, a label
/// left empty (null), a PriorityClass value Helm writes as `1e+06`, a
/// Deployment whose name leaves no room for its pods' suffix, and long
/// comment blocks between a key and its value in values.yaml and in a
/// rendered object.
#[tokio::test]
async fn what_real_charts_render_installs_as_on_a_cluster() {
    let env = Env::start().await;
    let comments: String = (0..120).map(|i| format!("  # {i}\n")).collect();
    let deploy = "yace-prometheus-yet-another-cloudwatch-exporter";
    let templates = [
        (
            "role.yaml".to_string(),
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: system:real-{{ .Release.Name }}\nrules: []\n".to_string(),
        ),
        (
            "cm.yaml".to_string(),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: real\n  labels:\n    version: {{{{ .Chart.AppVersion }}}}\ndata:\n{comments}  k: {{{{ .Values.settings.k }}}}\n"),
        ),
        (
            "pc.yaml".to_string(),
            "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: real-{{ .Release.Name }}\nvalue: {{ .Values.priority }}\n".to_string(),
        ),
        (
            "deploy.yaml".to_string(),
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {deploy}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: yace}}}}\n  template:\n    metadata: {{labels: {{app: yace}}}}\n    spec: {{containers: [{{name: c, image: app:1}}]}}\n"),
        ),
    ];
    let files: Vec<(&str, &str)> = templates
        .iter()
        .map(|(f, t)| (f.as_str(), t.as_str()))
        .collect();
    let chart = crate::common::write_chart(&env, "real", &files);
    std::fs::write(
        std::path::Path::new(&chart).join("values.yaml"),
        format!("priority: 1000000\nsettings:\n{comments}  k: v\n"),
    )
    .unwrap();
    let out = env.berth(&["install", "real", &chart, "--wait"]).await.ok();
    assert!(out.stdout.contains("STATUS: deployed"), "{}", out.stdout);
    let cm = env.get("v1", "ConfigMap", "default", "real").await.unwrap();
    assert_eq!(cm["metadata"]["labels"]["version"], "");
    assert_eq!(cm["data"]["k"], "v");
    let pc = env
        .get("scheduling.k8s.io/v1", "PriorityClass", "", "real-real")
        .await
        .unwrap();
    assert_eq!(pc["value"], 1_000_000);
    assert!(
        env.get(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "",
            "system:real-real"
        )
        .await
        .is_some()
    );
    let d = env
        .get("apps/v1", "Deployment", "default", deploy)
        .await
        .unwrap();
    assert_eq!(d["status"]["availableReplicas"], 1);
    // Nothing differs from what berth applied.
    let drift = env.berth(&["drift", "real"]).await.ok();
    assert!(drift.stdout.contains("no drift"), "{}", drift.stdout);
}
