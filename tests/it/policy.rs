//! Authorization: a policy file maps certificate identities to roles per
//! namespace; everything else is refused with PERMISSION_DENIED naming the
//! identity, verb and namespace, and nothing changes. Every revision records
//! who made it, from where, with which CLI.

use std::path::PathBuf;

use berth_agent::policy::PolicySource;

use crate::common::{Berthd, Env, Out, berth_raw, path};

const POLICY: &str = r#"
rules:
  - identities: ["admin"]
    namespaces: ["*"]
    role: admin
  - identities: ["ci-*"]
    namespaces: ["team-*"]
    role: deploy
  - identities: ["auditor.example.org"]
    namespaces: ["*"]
    role: read
  - identities: ["spiffe://example.org/ops/*"]
    namespaces: ["*"]
    role: admin
"#;

/// A client certificate issued by the environment's CA.
struct Client {
    cert: PathBuf,
    key: PathBuf,
}

fn issue(env: &Env, cn: &str, sans: &[&str]) -> Client {
    let dir = env.pki.ca_cert.parent().unwrap();
    let ca = berth::tls::CertAuthority::load(
        &std::fs::read_to_string(&env.pki.ca_cert).unwrap(),
        &std::fs::read_to_string(dir.join("ca.key")).unwrap(),
    )
    .unwrap();
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    let (cert, key) = ca.issue_client_with_names(cn, &sans, 1).unwrap();
    let client = Client {
        cert: dir.join(format!("{cn}.crt")),
        key: dir.join(format!("{cn}.key")),
    };
    std::fs::write(&client.cert, cert).unwrap();
    std::fs::write(&client.key, key).unwrap();
    client
}

async fn run_as(env: &Env, who: &Client, args: &[String]) -> Out {
    let mut full = args.to_vec();
    full.extend([
        "--agent".into(),
        env.agent_url.clone(),
        "--ca".into(),
        path(&env.pki.ca_cert),
        "--cert".into(),
        path(&who.cert),
        "--key".into(),
        path(&who.key),
    ]);
    berth_raw(&full).await
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

async fn env_with_policy(text: &str) -> (Env, PathBuf) {
    let mut env = Env::without_agent().await;
    let file = env.dir.path().join("policy.yaml");
    std::fs::write(&file, text).unwrap();
    env.policy = PolicySource::File(file.clone());
    env.start_agent().await;
    (env, file)
}

/// Everything the admin can see of a namespace: its releases and the
/// history of `app`, to show a refusal changed nothing.
async fn snapshot(env: &Env, ns: &str) -> String {
    let list = env
        .berth(&["list", "-n", ns, "-a", "-o", "json"])
        .await
        .ok()
        .stdout;
    let history = env
        .berth(&["history", "app", "-n", ns, "-o", "json"])
        .await
        .ok()
        .stdout;
    format!("{list}\n{history}")
}

#[tokio::test]
async fn the_policy_matrix_of_identity_verb_and_namespace() {
    let (env, _) = env_with_policy(POLICY).await;
    let chart = env.chart("1.0.0");
    let namespaces = ["team-a", "prod"];
    for ns in namespaces {
        env.berth(&["install", "app", &chart, "-n", ns, "--create-namespace"])
            .await
            .ok();
    }
    // (certificate CN, SANs, identity recorded and named, role in team-a, in prod)
    let people = [
        ("ci-bot", vec![], "ci-bot", Some("deploy"), None),
        (
            "auditor",
            vec!["dns:auditor.example.org"],
            "auditor",
            Some("read"),
            Some("read"),
        ),
        (
            "ops-1",
            vec!["uri:spiffe://example.org/ops/eu"],
            "spiffe://example.org/ops/eu",
            Some("admin"),
            Some("admin"),
        ),
        ("stranger", vec![], "stranger", None, None),
    ];
    let rank = |r: Option<&str>| match r {
        None => 0,
        Some("read") => 1,
        Some("deploy") => 2,
        _ => 3,
    };
    for (cn, sans, identity, team_role, prod_role) in &people {
        let client = issue(&env, cn, sans);
        for ns in namespaces {
            let has = if ns == "team-a" {
                *team_role
            } else {
                *prod_role
            };
            // An uninstall victim per caller, so allowed uninstalls leave
            // `app` for the verbs after them.
            let victim = format!("victim-{cn}");
            env.berth(&["install", &victim, &chart, "-n", ns])
                .await
                .ok();
            let verbs: Vec<(&str, &str, Vec<String>)> = vec![
                ("list", "read", args(&["list", "-n", ns])),
                ("status", "read", args(&["status", "app", "-n", ns])),
                ("history", "read", args(&["history", "app", "-n", ns])),
                ("get", "read", args(&["get", "values", "app", "-n", ns])),
                ("watch", "read", args(&["watch", "app", "-n", ns])),
                (
                    "diff",
                    "read",
                    args(&["diff", "upgrade", "app", &chart, "-n", ns]),
                ),
                (
                    "install",
                    "deploy",
                    args(&["install", &format!("new-{cn}"), &chart, "-n", ns]),
                ),
                (
                    "upgrade",
                    "deploy",
                    args(&["upgrade", "app", &chart, "-n", ns, "--set", "x=1"]),
                ),
                (
                    "rollback",
                    "deploy",
                    args(&["rollback", "app", "1", "-n", ns]),
                ),
                ("test", "deploy", args(&["test", "app", "-n", ns])),
                (
                    "uninstall",
                    "admin",
                    args(&["uninstall", &victim, "-n", ns]),
                ),
            ];
            for (verb, needs, argv) in verbs {
                let allowed = rank(has) >= rank(Some(needs));
                let before = snapshot(&env, ns).await;
                let out = run_as(&env, &client, &argv).await;
                if allowed {
                    assert_eq!(
                        out.code, 0,
                        "{identity} may {verb} in {ns}:\n{}",
                        out.stderr
                    );
                    continue;
                }
                let want = format!(
                    "{identity} may not {verb} in namespace {ns}: it needs the {needs} role there and has {}",
                    has.unwrap_or("none")
                );
                assert_ne!(out.code, 0, "{identity} {verb} in {ns} was allowed");
                assert!(
                    out.stderr.contains(&want),
                    "{identity} {verb} in {ns}: want {want:?}, got {}",
                    out.stderr
                );
                assert_eq!(
                    snapshot(&env, ns).await,
                    before,
                    "a refused {verb} changed {ns}"
                );
                if verb == "install" {
                    assert!(
                        env.get("apps/v1", "Deployment", ns, &format!("new-{cn}-hello"))
                            .await
                            .is_none(),
                        "a refused install left objects behind"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn list_across_namespaces_shows_only_readable_ones() {
    let (env, _) = env_with_policy(POLICY).await;
    let chart = env.chart("1.0.0");
    for ns in ["team-a", "team-b", "prod"] {
        env.berth(&["install", "app", &chart, "-n", ns, "--create-namespace"])
            .await
            .ok();
    }
    let bot = issue(&env, "ci-bot", &[]);
    let listed = run_as(&env, &bot, &args(&["list", "-A", "-o", "json"]))
        .await
        .ok()
        .json();
    let mut seen: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["namespace"].as_str().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, ["team-a", "team-b"]);

    let stranger = issue(&env, "stranger", &[]);
    let out = run_as(&env, &stranger, &args(&["list", "-A"]))
        .await
        .failed();
    assert!(
        out.stderr.contains(
            "stranger may not list in all namespaces: it needs the read role there and has none"
        ),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn without_a_policy_only_the_admin_identity_may_act() {
    let env = Env::start().await;
    let other = issue(&env, "ci-deployer", &[]);
    let out = run_as(&env, &other, &args(&["list"])).await.failed();
    assert!(
        out.stderr
            .contains("ci-deployer may not list in namespace default: it needs the read role"),
        "{}",
        out.stderr
    );
    env.berth(&["list"]).await.ok();
}

#[tokio::test]
async fn a_changed_policy_file_applies_to_the_next_call_and_a_broken_one_is_ignored() {
    let (env, file) = env_with_policy(POLICY).await;
    let stranger = issue(&env, "stranger", &[]);
    run_as(&env, &stranger, &args(&["list"])).await.failed();

    let granted =
        format!("{POLICY}  - identities: [stranger]\n    namespaces: [default]\n    role: read\n");
    std::fs::write(&file, granted).unwrap();
    run_as(&env, &stranger, &args(&["list"])).await.ok();

    // A file that no longer parses leaves the last good policy in force.
    std::fs::write(&file, "rules: [ {identities: [stranger]").unwrap();
    run_as(&env, &stranger, &args(&["list"])).await.ok();
    let out = run_as(&env, &stranger, &args(&["list", "-n", "prod"]))
        .await
        .failed();
    assert!(out.stderr.contains("may not list"), "{}", out.stderr);
}

#[tokio::test]
async fn a_malformed_policy_stops_the_agent_from_starting() {
    let mut env = Env::without_agent().await;
    let file = env.dir.path().join("policy.yaml");
    std::fs::write(
        &file,
        "rules:\n  - identities: [a]\n    namespaces: ['*']\n    role: superuser\n",
    )
    .unwrap();
    env.policy = PolicySource::File(file.clone());
    let err = berth_agent::start(env.agent_config())
        .await
        .err()
        .expect("the agent refuses a policy it cannot read");
    let msg = format!("{err:#}");
    assert!(msg.contains(&path(&file)), "{msg}");
    assert!(msg.contains("superuser"), "{msg}");
    assert_eq!(msg.lines().count(), 1, "{msg}");
}

#[tokio::test]
async fn every_revision_records_who_from_where_and_with_which_client() {
    let (env, _) = env_with_policy(POLICY).await;
    let ca_dir = env.pki.ca_cert.parent().unwrap().to_path_buf();
    berth_raw(&args(&[
        "certs",
        "client",
        "ci-deployer",
        "--ca-dir",
        &path(&ca_dir),
    ]))
    .await
    .ok();
    let deployer = Client {
        cert: ca_dir.join("ci-deployer.crt"),
        key: ca_dir.join("ci-deployer.key"),
    };
    let out = run_as(
        &env,
        &deployer,
        &args(&[
            "install",
            "hello",
            &env.chart("1.0.0"),
            "-n",
            "team-a",
            "--create-namespace",
        ]),
    )
    .await
    .ok();
    assert!(out.stdout.contains("(by ci-deployer)"), "{}", out.stdout);
    let ops = issue(&env, "ops-1", &["uri:spiffe://example.org/ops/eu"]);
    run_as(
        &env,
        &ops,
        &args(&["rollback", "hello", "1", "-n", "team-a"]),
    )
    .await
    .ok();

    let out = env.berth(&["history", "hello", "-n", "team-a"]).await.ok();
    let header = out.stdout.lines().next().unwrap();
    assert!(header.split('\t').any(|c| c.trim() == "BY"), "{header}");
    let h = env
        .berth(&["history", "hello", "-n", "team-a", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h[0]["by"], "ci-deployer");
    assert_eq!(h[1]["by"], "spiffe://example.org/ops/eu");
    for r in h.as_array().unwrap() {
        assert!(
            r["client_address"]
                .as_str()
                .unwrap()
                .starts_with("127.0.0.1:"),
            "{r}"
        );
        assert_eq!(r["client_version"], berth::VERSION, "{r}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ca_dir.join("ci-deployer.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "private keys are 0600");
    }
}

#[tokio::test]
async fn berthd_logs_every_mutating_call_and_every_refusal_as_json() {
    let mut env = Env::without_agent().await;
    let file = env.dir.path().join("policy.yaml");
    std::fs::write(&file, POLICY).unwrap();
    let agent = Berthd::spawn(&env, &["--policy", &path(&file)]).await;
    env.agent_url = agent.url.clone();
    env.berth(&["install", "hello", &env.chart("1.0.0")])
        .await
        .ok();
    let stranger = issue(&env, "stranger", &[]);
    run_as(&env, &stranger, &args(&["uninstall", "hello"]))
        .await
        .failed();

    // berthd's output is read as it comes: the refusal's line, written
    // before the answer, may be read after the client has it.
    crate::common::wait_for("the refusal's audit line", || {
        let logged = agent.logged("berthd::audit");
        async move { logged.iter().any(|v| v["fields"]["message"] == "refused") }
    })
    .await;
    let audit = agent.logged("berthd::audit");
    let install = audit
        .iter()
        .find(|v| v["fields"]["verb"] == "install")
        .unwrap_or_else(|| panic!("no audit line for the install: {audit:?}"));
    assert_eq!(install["fields"]["identity"], "admin");
    assert_eq!(install["fields"]["release"], "hello");
    assert_eq!(install["fields"]["namespace"], "default");
    assert_eq!(install["fields"]["client_version"], berth::VERSION);
    assert!(
        install["fields"]["addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    let refused = audit
        .iter()
        .find(|v| v["fields"]["message"] == "refused")
        .unwrap_or_else(|| panic!("no audit line for the refusal: {audit:?}"));
    assert_eq!(refused["level"], "WARN");
    assert_eq!(refused["fields"]["verb"], "uninstall");
    assert_eq!(refused["fields"]["identity"], "stranger");
    assert_eq!(refused["fields"]["needs"], "admin");
}
