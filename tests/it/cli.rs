//! The CLI as people and scripts meet it: live progress on a terminal,
//! colour only there and never with NO_COLOR, plain lines in pipes,
//! `--events ndjson`, machine-readable `-o json`, completions, and errors
//! that say what to do next.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Stdio;

use crate::common::{Env, bin_dir};

fn berth_bin() -> PathBuf {
    let p = bin_dir().join("berth");
    assert!(
        p.exists(),
        "{} is missing: build the binaries first with `cargo build --workspace --bins`",
        p.display()
    );
    p
}

/// Run the real `berth` binary against `env`'s agent with a
/// pseudo-terminal as its stdout and stderr.
fn run_on_a_terminal(env: &Env, args: &[&str], extra_env: &[(&str, &str)]) -> (String, i32) {
    let mut full: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    full.extend(env.conn_args());
    terminal(&full, extra_env)
}

/// Run the real `berth` binary with a pseudo-terminal as its stdout and
/// stderr; returns everything it wrote there and its exit status.
pub fn terminal(args: &[String], extra_env: &[(&str, &str)]) -> (String, i32) {
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two new descriptors into the out-parameters;
    // both are owned below and closed when dropped.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: freshly opened descriptors, owned exactly once.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = std::process::Command::new(berth_bin());
    cmd.args(args)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("berth starts");
    drop(cmd);
    let mut file = std::fs::File::from(master);
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        // Reading the master end fails with EIO once the child's side is
        // closed: that is the end of its output.
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
    }
    let status = child.wait().unwrap();
    (
        String::from_utf8_lossy(&bytes).into_owned(),
        status.code().unwrap_or(-1),
    )
}

// Multi-threaded: the in-process agent keeps serving while this test
// blocks on the terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_progress_lines_update_in_place() {
    let env = Env::start().await;
    let chart = env.chart("1.0.0");
    let (screen, code) = tokio::task::block_in_place(|| {
        run_on_a_terminal(
            &env,
            &[
                "install",
                "web",
                &chart,
                "--wait",
                "--set",
                "replicaCount=3",
            ],
            &[],
        )
    });
    assert_eq!(code, 0, "{screen}");
    // indicatif redraws a line by moving the cursor up and clearing it.
    assert!(
        screen.contains("\u{1b}[2K") || screen.contains("\u{1b}[1A"),
        "no line was redrawn:\n{screen:?}"
    );
    assert!(
        screen.contains("Deployment/web-hello"),
        "a line per resource:\n{screen}"
    );
    assert!(
        screen.contains("ready ("),
        "the resource line ends ready:\n{screen}"
    );
    assert!(
        screen.contains("/3 ready"),
        "a bar counts the Deployment's ready replicas:\n{screen}"
    );
    assert!(
        screen.contains("\u{1b}[32m") || screen.contains("\u{1b}[36m"),
        "colour on a terminal:\n{screen:?}"
    );
    assert!(screen.contains("STATUS: deployed"), "{screen}");

    // No colour with $NO_COLOR, nor with Helm's --color never (which wins
    // over $HELM_COLOR).
    let plain: [(&str, &[&str], (&str, &str)); 2] = [
        ("NO_COLOR", &[], ("NO_COLOR", "1")),
        (
            "--color never",
            &["--color", "never"],
            ("HELM_COLOR", "always"),
        ),
    ];
    for (i, (why, flags, var)) in plain.into_iter().enumerate() {
        let replicas = format!("replicaCount={}", 2 + i);
        let mut args = vec!["upgrade", "web", &chart, "--wait", "--set", &replicas];
        args.extend(flags);
        let (screen, code) = tokio::task::block_in_place(|| run_on_a_terminal(&env, &args, &[var]));
        assert_eq!(code, 0, "{screen}");
        for sgr in ["\u{1b}[32m", "\u{1b}[36m", "\u{1b}[31m", "\u{1b}[1m"] {
            assert!(!screen.contains(sgr), "colour despite {why}:\n{screen:?}");
        }
        assert!(screen.contains("ready ("), "{screen}");
    }
}

#[tokio::test]
async fn in_a_pipe_progress_is_plain_timestamped_lines() {
    let env = Env::start().await;
    let out = env
        .berth(&["install", "web", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    assert!(!out.stdout.contains('\u{1b}'), "{:?}", out.stdout);
    let first = out.stdout.lines().next().unwrap();
    let stamp = first.split(' ').next().unwrap();
    assert!(
        stamp.len() == 8 && stamp.as_bytes()[2] == b':' && stamp.as_bytes()[5] == b':',
        "HH:MM:SS first: {first}"
    );
}

#[tokio::test]
async fn events_ndjson_streams_every_event_as_one_json_line() {
    let env = Env::start().await;
    let out = env
        .berth(&[
            "install",
            "web",
            &env.chart("1.0.0"),
            "--wait",
            "--events",
            "ndjson",
        ])
        .await
        .ok();
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() > 5, "{}", out.stdout);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["schema"], "berth.events/v1");
        assert_eq!(l["release"], "web");
        assert_eq!(l["seq"], i as u64 + 1, "every event, in order: {l}");
    }
    assert_eq!(lines[0]["type"], "accepted");
    assert_eq!(lines[0]["operation"], "install");
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "resourceReady" && l["object"]["kind"] == "Deployment")
    );
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "completed");
    assert_eq!(last["status"], "deployed");
    assert_eq!(last["manifest"], "", "an operation that ran: {last}");

    // A dry run's release as rendered: what the same upgrade would record.
    let out = env
        .berth(&[
            "upgrade",
            "web",
            &env.chart("1.0.0"),
            "--dry-run",
            "--events",
            "ndjson",
        ])
        .await
        .ok();
    let last: serde_json::Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "completed");
    assert_eq!(last["status"], "pending-upgrade");
    let stored = env.berth(&["get", "manifest", "web"]).await.ok().stdout;
    assert_eq!(last["manifest"].as_str(), Some(stored.as_str()));
    let hooks = env.berth(&["get", "hooks", "web"]).await.ok().stdout;
    assert_eq!(last["hooksManifest"].as_str(), Some(hooks.as_str()));
}

/// What each apply of an `--events ndjson` run did, by kind.
async fn applied(env: &Env, args: &[&str]) -> Vec<(String, String)> {
    let mut a = args.to_vec();
    a.extend(["--events", "ndjson"]);
    let out = env.berth(&a).await.ok();
    out.stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["type"] == "resourceApplied")
        .map(|l| {
            let s = |v: &serde_json::Value| v.as_str().unwrap().to_string();
            (s(&l["object"]["kind"]), s(&l["action"]))
        })
        .collect()
}

/// (kind, action) pairs as [`applied`] gives them.
fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, a)| (k.to_string(), a.to_string()))
        .collect()
}

#[tokio::test]
async fn each_apply_says_whether_it_created_configured_or_left_the_object_unchanged() {
    let env = Env::start().await;
    let chart = env.chart("1.0.0");
    assert_eq!(
        applied(&env, &["install", "web", &chart]).await,
        pairs(&[
            ("ConfigMap", "created"),
            ("Service", "created"),
            ("Deployment", "created")
        ])
    );
    // The message is in the ConfigMap and, as its checksum, in the
    // Deployment's pod template; the Service stays as it was.
    assert_eq!(
        applied(&env, &["upgrade", "web", &chart, "--set", "message=bye"]).await,
        pairs(&[
            ("ConfigMap", "configured"),
            ("Service", "unchanged"),
            ("Deployment", "configured")
        ])
    );
    // Deleted behind berth's back: the next apply creates it again.
    let client = env.kube().await;
    let services: kube::Api<k8s_openapi::api::core::v1::Service> =
        kube::Api::namespaced(client, "default");
    services
        .delete("web-hello", &Default::default())
        .await
        .unwrap();
    assert_eq!(
        applied(&env, &["upgrade", "web", &chart, "--set", "message=bye"]).await,
        pairs(&[
            ("ConfigMap", "unchanged"),
            ("Service", "created"),
            ("Deployment", "unchanged")
        ])
    );
}

#[tokio::test]
async fn an_apply_that_would_change_nothing_is_not_sent_and_a_change_behind_berths_back_is_put_back()
 {
    let env = Env::start().await;
    let chart = env.chart("1.0.0");
    env.berth(&["install", "web", &chart]).await.ok();
    // berth's applies: server-side applies by its field manager.
    let applies = || -> Vec<String> {
        env.sim
            .requests()
            .into_iter()
            .filter(|r| r.method == "PATCH" && r.field_manager == "berth")
            .map(|r| r.path.rsplit('/').nth(1).unwrap().to_string())
            .collect()
    };
    env.sim.clear_requests();
    assert_eq!(
        applied(&env, &["upgrade", "web", &chart, "--set", "message=bye"]).await,
        pairs(&[
            ("ConfigMap", "configured"),
            ("Service", "unchanged"),
            ("Deployment", "configured")
        ])
    );
    // The Service is as berth's last apply left it: its apply is not sent.
    assert_eq!(applies(), ["configmaps", "deployments"]);

    // A value berth sets, changed behind its back by another manager: the
    // next upgrade applies the Service again and puts the value back, the
    // objects as berth left them still not sent.
    let client = env.kube().await;
    let services: kube::Api<k8s_openapi::api::core::v1::Service> =
        kube::Api::namespaced(client, "default");
    let edit = serde_json::json!({"metadata": {"labels": {"helm.sh/chart": "edited"}}});
    let by_hand = kube::api::PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    services
        .patch("web-hello", &by_hand, &kube::api::Patch::Merge(&edit))
        .await
        .unwrap();
    env.sim.clear_requests();
    assert_eq!(
        applied(&env, &["upgrade", "web", &chart, "--set", "message=bye"]).await,
        pairs(&[
            ("ConfigMap", "unchanged"),
            ("Service", "configured"),
            ("Deployment", "unchanged")
        ])
    );
    assert_eq!(applies(), ["services"]);
    let service = env
        .get("v1", "Service", "default", "web-hello")
        .await
        .unwrap();
    assert_eq!(
        service["metadata"]["labels"]["helm.sh/chart"],
        "hello-1.0.0"
    );

    // A rollback re-applies a revision's manifest: as left, nothing sent.
    env.sim.clear_requests();
    env.berth(&["rollback", "web", "3"]).await.ok();
    assert_eq!(applies(), Vec::<String>::new());
}

#[tokio::test]
async fn output_json_keeps_stdout_for_the_result() {
    let env = Env::start().await;
    let chart = env.chart("1.0.0");
    let out = env
        .berth(&["install", "web", &chart, "-o", "json"])
        .await
        .ok();
    let v = out.json();
    assert_eq!(v["revision"], 1);
    assert_eq!(v["status"], "deployed");
    assert!(
        out.stderr.contains("accepted as revision 1"),
        "progress went to stderr: {}",
        out.stderr
    );
    let v = env
        .berth(&["rollback", "web", "1", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(v["revision"], 2);
    let v = env.berth(&["test", "web", "-o", "json"]).await.ok().json();
    assert_eq!(v["result"], "succeeded");
    let v = env.berth(&["watch", "web", "-o", "json"]).await.ok().json();
    assert_eq!(v["name"], "web");
    let v = env.berth(&["version", "-o", "json"]).await.ok().json();
    assert_eq!(v["agent"]["identity"], "admin");
    assert_eq!(v["client"]["version"], berth::VERSION);
    let v = env
        .berth(&["uninstall", "web", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(v["status"], "uninstalled");
}

#[tokio::test]
async fn errors_say_what_to_do_next() {
    let env = Env::start().await;
    let out = env.berth(&["status", "nope"]).await.failed();
    assert!(
        out.stderr.contains("release: not found: nope") && out.stderr.contains("berth list"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    // Helm's way to pick a cluster gets berth's.
    for flag in ["--kube-context", "--kubeconfig"] {
        let out = env.berth(&["list", flag, "prod"]).await.failed();
        assert!(out.stderr.contains("--cluster NAME"), "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
}

#[tokio::test]
async fn completions_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "_berth()"),
        ("zsh", "#compdef berth"),
        ("fish", "complete -c berth"),
    ] {
        let out = crate::common::berth_raw(&["completion".into(), shell.into()])
            .await
            .ok();
        assert!(
            out.stdout.contains(marker),
            "{shell}: {}",
            &out.stdout[..200.min(out.stdout.len())]
        );
        assert!(
            out.stdout.contains("fleet"),
            "{shell} completes subcommands"
        );
    }
    // Helm's --no-descriptions: the same completions, no descriptions.
    for shell in ["zsh", "fish", "powershell"] {
        let args = ["completion".to_string(), shell.to_string()];
        let with = crate::common::berth_raw(&args).await.ok().stdout;
        let args = [args[0].clone(), args[1].clone(), "--no-descriptions".into()];
        let without = crate::common::berth_raw(&args).await.ok().stdout;
        assert!(with.contains("Examine charts for problems"), "{shell}");
        assert!(!without.contains("Examine charts for problems"), "{shell}");
        assert!(!without.contains("Fail on warnings too"), "{shell}");
        assert!(
            without.contains("lint") && without.contains("strict"),
            "{shell}"
        );
    }
}

#[tokio::test]
async fn list_takes_helm_v4s_state_filter_sort_and_paging_flags() {
    let env = Env::start().await;
    let chart = env.chart("1.0.0");
    for name in ["web", "api", "db", "cache"] {
        env.berth(&["install", name, &chart]).await.ok();
    }
    env.berth(&["uninstall", "cache", "--keep-history"])
        .await
        .ok();
    let names = |out: crate::common::Out| -> Vec<String> {
        out.stdout.lines().map(str::to_string).collect()
    };
    // As Helm v4: every state by default; state flags narrow it.
    assert_eq!(
        names(env.berth(&["list", "-q"]).await.ok()),
        ["api", "cache", "db", "web"]
    );
    assert_eq!(
        names(env.berth(&["list", "-q", "--uninstalled"]).await.ok()),
        ["cache"]
    );
    assert_eq!(
        names(env.berth(&["list", "-q", "--deployed"]).await.ok()),
        ["api", "db", "web"]
    );
    assert_eq!(
        names(env.berth(&["list", "-q", "-f", "^(web|db)$"]).await.ok()),
        ["db", "web"]
    );
    assert_eq!(
        names(env.berth(&["list", "-q", "-r", "-m", "2"]).await.ok()),
        ["web", "db"]
    );
    assert_eq!(
        names(env.berth(&["list", "-q", "--offset", "3"]).await.ok()),
        ["web"]
    );
    // By date: installed web, api, db, cache (uninstalled last).
    assert_eq!(
        names(env.berth(&["list", "-q", "-d", "--deployed"]).await.ok()),
        ["web", "api", "db"]
    );
    let table = env.berth(&["list", "--no-headers"]).await.ok().stdout;
    assert!(table.starts_with("api"), "{table}");
    let bad = env.berth(&["list", "-f", "("]).await.failed();
    assert!(bad.stderr.contains("--filter"), "{}", bad.stderr);
}

#[tokio::test]
async fn version_takes_helms_short_and_template_flags() {
    let v = format!("v{}", berth::VERSION);
    let out = crate::common::berth_raw(&["version".into(), "--short".into()])
        .await
        .ok();
    assert_eq!(out.stdout, format!("{v}\n"));
    let out = crate::common::berth_raw(&[
        "version".into(),
        "--template".into(),
        "client={{ .Version }} agent={{ .AgentVersion }}".into(),
    ])
    .await
    .ok();
    // Without an agent only the client's fields are there.
    assert_eq!(out.stdout, format!("client={v} agent=<no value>"));
    let bad =
        crate::common::berth_raw(&["version".into(), "--template".into(), "{{ .Version ".into()])
            .await
            .failed();
    assert_eq!(bad.stderr, "Error: template: _:1: unclosed action\n");
}

/// A reader that goes away (`berth template … | head`) ends berth quietly,
/// with the status a shell gives a program SIGPIPE ended, as Helm's (Go's)
/// end there: no "Error: Broken pipe" on stderr.
#[test]
fn a_reader_that_goes_away_ends_berth_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // Far more than a pipe holds, so berth is still writing when it closes.
    let chart = crate::common::small_chart(
        dir.path(),
        "big",
        &[(
            "cm.yaml",
            "{{- range until 5000 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{{ . }}\ndata:\n  k: \"{{ . }}\"\n{{- end }}\n",
        )],
    );
    let mut child = std::process::Command::new(berth_bin())
        .args(["template", "x", &chart])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is closed here.
    let out = child.wait_with_output().unwrap();
    assert_eq!(&first[..4], b"---\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(141));
}
