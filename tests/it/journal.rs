//! The journal as users rely on it: what a client saw acknowledged survives
//! a crash of berthd, a journal berthd cannot read stops it (naming the
//! path) instead of being reset, and `berthd journal check|export|import`
//! back a journal up and move it.

use crate::common::{
    Berthd, Env, NEVER_READY, berth_in_background_shown, berthd_bin, path, wait_for,
};

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

/// What a crash left in `--data/charts` (a chart file no revision names)
/// goes when berthd next starts; a chart a revision names stays. A
/// journal with no release keeps the files it finds: it may be a new
/// journal beside the charts of one moved aside.
#[tokio::test]
async fn a_restart_removes_the_chart_files_no_revision_names() {
    let mut env = Env::without_agent().await;
    let charts = env.data_dir().join("charts");
    std::fs::create_dir_all(&charts).unwrap();
    let orphan = charts.join("ab".repeat(32));
    std::fs::write(&orphan, b"a chart whose revision never came").unwrap();
    async fn restart(env: &Env, berthd: Option<Berthd>) -> Berthd {
        if let Some(mut b) = berthd {
            b.child.start_kill().unwrap();
            b.child.wait().await.unwrap();
        }
        Berthd::spawn(env, &[]).await
    }
    let berthd = restart(&env, None).await;
    let berthd = restart(&env, Some(berthd)).await;
    assert!(
        orphan.exists(),
        "a journal with no release keeps its chart files"
    );

    env.agent_url = berthd.url.clone();
    let (dir, bundle) = crate::uploads::big_chart(&env, "big", 5, 1);
    env.berth(&["install", "big", &dir]).await.ok();
    let _berthd = restart(&env, Some(berthd)).await;
    assert!(!orphan.exists(), "the chart file no revision names is gone");
    assert!(charts.join(&bundle.digest).exists());
}

/// The whole records of an events file (`len | crc32 | Event`; the
/// checksum is berthd's to check), and how many of its bytes they take.
fn records(file: &std::path::Path) -> (Vec<berth::proto::Event>, usize) {
    use prost::Message;
    let bytes = std::fs::read(file).unwrap_or_default();
    let (mut events, mut pos) = (Vec::new(), 0);
    while let Some(head) = bytes.get(pos..pos + 8) {
        let len = u32::from_le_bytes(head[..4].try_into().unwrap()) as usize;
        let Some(body) = bytes.get(pos + 8..pos + 8 + len) else {
            break;
        };
        let Ok(event) = berth::proto::Event::decode(body) else {
            break;
        };
        events.push(event);
        pos += 8 + len;
    }
    (events, pos)
}

/// The revisions' events files in `--data/events`.
pub(crate) fn events_files(env: &Env) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(env.data_dir().join("events"))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "events"))
                .collect()
        })
        .unwrap_or_default()
}

/// An operation's events are in its revision's file in `--data/events`
/// until the operation ends and packs them. What a crash can leave there —
/// a record cut short, a file with nothing whole in it — is mended or set
/// aside when berthd starts, with every event the file held and the client
/// was shown still there, and `berthd journal check` names the file set
/// aside.
#[tokio::test]
async fn a_damaged_events_file_is_set_aside_at_start_and_named() {
    let mut env = Env::without_agent().await;
    let mut first = Berthd::spawn(&env, &[]).await;
    env.agent_url = first.url.clone();
    env.berth(&["install", "web", &env.chart("1.0.0")])
        .await
        .ok();
    wait_for("the install to pack its events", || async {
        events_files(&env).is_empty()
    })
    .await;

    // Killed while an upgrade waits for pods that never get ready, once the
    // client was shown its progress (the file holds an event before the
    // client is shown it).
    let (upgrade, shown) = berth_in_background_shown(
        &env,
        &[
            "upgrade",
            "web",
            &env.chart("1.1.0"),
            "--wait",
            "--set",
            NEVER_READY,
            "--events",
            "ndjson",
        ],
    );
    wait_for("the client to be shown the upgrade's progress", || async {
        shown.text().contains("\"type\":\"resourceProgress\"")
    })
    .await;
    first.child.start_kill().unwrap();
    first.child.wait().await.unwrap();
    let seen = lines(&upgrade.await.unwrap().stdout);
    assert!(
        seen.len() > 3,
        "the client was shown the upgrade's start: {seen:?}"
    );

    let files = events_files(&env);
    assert_eq!(files.len(), 1, "the upgrade's events file: {files:?}");
    let mut torn = std::fs::read(&files[0]).unwrap();
    let (held, whole) = records(&files[0]);
    assert_eq!(whole, torn.len());
    torn.extend_from_slice(&[200, 0, 0, 0, 1, 2]);
    std::fs::write(&files[0], &torn).unwrap();
    let events = env.data_dir().join("events");
    std::fs::write(events.join("0123.events"), b"not an event").unwrap();

    let serving = Berthd::spawn(&env, &[]).await;
    env.agent_url = serving.url.clone();
    let replayed = lines(
        &env.berth(&["watch", "web", "--events", "ndjson"])
            .await
            .stdout,
    );
    assert!(
        replayed.starts_with(&seen),
        "what the client was shown is replayed as it was: {seen:#?} {replayed:#?}"
    );
    let seqs: Vec<u64> = replayed.iter().filter_map(|l| l["seq"].as_u64()).collect();
    for ev in &held {
        assert!(
            seqs.contains(&ev.seq),
            "event {} of the file: {seqs:?}",
            ev.seq
        );
    }
    // The cut-short record is gone; what berthd appended since (the
    // interrupted upgrade's outcome) follows the last whole one.
    let (after, after_whole) = records(&files[0]);
    assert_eq!(&std::fs::read(&files[0]).unwrap()[..whole], &torn[..whole]);
    assert_eq!(
        after_whole,
        std::fs::read(&files[0]).unwrap().len(),
        "cut off"
    );
    assert!(after.len() > held.len(), "{after:?}");
    assert_eq!(
        std::fs::read(events.join("0123.damaged")).unwrap(),
        b"not an event",
        "set aside as it was"
    );
    // The next revision packs them, and its own when it ends: no file is left.
    env.berth(&["upgrade", "web", &env.chart("1.1.0")])
        .await
        .ok();
    wait_for("the events to be packed", || async {
        events_files(&env).is_empty()
    })
    .await;
    let mut b = serving;
    b.child.start_kill().unwrap();
    b.child.wait().await.unwrap();

    let check = berthd(&["journal", "check", "--data", &path(&env.data_dir())]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    assert!(
        check.stdout.contains(
            "0123.damaged: set aside as damaged (no whole record in it): inspect it, then remove it"
        ),
        "{}",
        check.stdout
    );
}

/// Run the real berthd binary with these arguments to its end.
fn berthd(args: &[&str]) -> crate::common::Out {
    let out = std::process::Command::new(berthd_bin())
        .args(args)
        .output()
        .expect("berthd runs");
    crate::common::Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run the real berthd binary serving `env`'s journal and cluster, with
/// `extra` arguments, to its end (it stops only if it is refused).
fn serving(env: &Env, extra: &[&str]) -> crate::common::Out {
    let files = [
        ("--cert", &env.pki.agent_cert),
        ("--key", &env.pki.agent_key),
        ("--client-ca", &env.pki.ca_cert),
        ("--data", &env.data_dir()),
        ("--kubeconfig", &env.kubeconfig),
    ]
    .map(|(flag, file)| [flag.to_string(), path(file)]);
    let mut args = vec!["--listen", "127.0.0.1:0"];
    args.extend(files.iter().flatten().map(String::as_str));
    args.extend(extra);
    berthd(&args)
}

/// What a user sees of the releases: every history and every manifest,
/// values and notes of every revision.
async fn everything(env: &Env, releases: &[(&str, &str)]) -> Vec<String> {
    let mut seen = Vec::new();
    for (ns, name) in releases {
        let h = env
            .berth(&["history", name, "-n", ns, "-o", "json"])
            .await
            .ok();
        for r in h.json().as_array().unwrap() {
            let rev = r["revision"].to_string();
            for what in ["manifest", "values", "notes", "hooks"] {
                let got = env
                    .berth(&["get", what, name, "-n", ns, "--revision", &rev])
                    .await
                    .ok();
                seen.push(format!("{ns}/{name} {rev} {what}:\n{}", got.stdout));
            }
        }
        seen.push(h.stdout);
        let watched = env
            .berth(&["watch", name, "-n", ns, "--events", "ndjson"])
            .await;
        seen.push(watched.stdout);
    }
    seen
}

#[tokio::test]
async fn an_exported_journal_imported_elsewhere_serves_the_same_history() {
    let mut env = Env::start().await;
    let (v1, v2) = (env.chart("1.0.0"), env.chart("1.1.0"));
    // hello: install, upgrade, rollback.
    env.berth(&["install", "hello", &v1, "--wait"]).await.ok();
    env.berth(&["upgrade", "hello", &v2, "--set", "message=two", "--wait"])
        .await
        .ok();
    env.berth(&["rollback", "hello", "1", "--wait"]).await.ok();
    // team/kept: uninstalled, history kept.
    env.berth(&["install", "kept", &v1, "-n", "team", "--create-namespace"])
        .await
        .ok();
    env.berth(&["uninstall", "kept", "-n", "team", "--keep-history"])
        .await
        .ok();
    // pruned: only the newest two revisions kept.
    for i in 0..4 {
        let set = format!("message=m{i}");
        env.berth(&[
            "upgrade",
            "pruned",
            &v1,
            "--install",
            "--set",
            &set,
            "--history-max",
            "2",
        ])
        .await
        .ok();
    }
    let releases = [
        ("default", "hello"),
        ("team", "kept"),
        ("default", "pruned"),
    ];
    let before = everything(&env, &releases).await;
    env.agent.take().unwrap().shutdown().await.unwrap();

    let data = env.data_dir();
    let checked = berthd(&["journal", "check", "--data", &path(&data)]).ok();
    assert!(
        checked
            .stdout
            .starts_with("ok: format version 5; 3 release(s) (0 locked), 6 revision(s), "),
        "{}",
        checked.stdout
    );

    let backup = env.dir.path().join("backup.json");
    berthd(&[
        "journal",
        "export",
        "--data",
        &path(&data),
        "-o",
        &path(&backup),
    ])
    .ok();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&backup).unwrap()).unwrap();
    assert_eq!(doc["format"], "berth.journal.export/v1");
    let blobs = doc["blobs"].as_array().unwrap();
    assert!(
        blobs.iter().any(|b| b["text"]
            .as_str()
            .is_some_and(|t| t.contains("kind: Deployment"))),
        "manifests are readable text"
    );
    assert!(
        blobs.iter().any(|b| b["base64"].is_string()),
        "charts (gzip) are base64"
    );

    let moved = env.dir.path().join("moved");
    let imported = berthd(&["journal", "import", "--data", &path(&moved), &path(&backup)]).ok();
    assert!(
        imported
            .stdout
            .contains(": ok: format version 5; 3 release(s)"),
        "{}",
        imported.stdout
    );
    let again = berthd(&["journal", "import", "--data", &path(&moved), &path(&backup)]).failed();
    assert!(
        again.stderr.contains(&format!(
            "{} is not empty: berthd journal import writes only into an empty data directory",
            moved.display()
        )),
        "{}",
        again.stderr
    );

    // A berthd on the imported journal shows exactly the same.
    std::fs::rename(&data, env.dir.path().join("original")).unwrap();
    std::fs::rename(&moved, &data).unwrap();
    env.start_agent().await;
    let after = everything(&env, &releases).await;
    assert_eq!(after, before);
    env.berth(&["upgrade", "hello", &v2, "--wait"]).await.ok();
}

#[tokio::test]
async fn an_import_that_does_not_verify_writes_nothing() {
    let mut env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0")])
        .await
        .ok();
    env.agent.take().unwrap().shutdown().await.unwrap();
    let backup = env.dir.path().join("backup.json");
    berthd(&[
        "journal",
        "export",
        "--data",
        &path(&env.data_dir()),
        "-o",
        &path(&backup),
    ])
    .ok();
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&backup).unwrap()).unwrap();
    let blobs = doc["blobs"].as_array_mut().unwrap();
    let i = blobs
        .iter()
        .position(|b| {
            b["text"]
                .as_str()
                .is_some_and(|t| t.contains("kind: Deployment"))
        })
        .unwrap();
    let sha = blobs[i]["sha256"].as_str().unwrap().to_string();
    blobs[i]["text"] = "kind: Tampered\n".into();
    std::fs::write(&backup, serde_json::to_vec(&doc).unwrap()).unwrap();

    let target = env.dir.path().join("restored");
    let out = berthd(&[
        "journal",
        "import",
        "--data",
        &path(&target),
        &path(&backup),
    ])
    .failed();
    assert!(
        out.stderr
            .contains(&format!("blobs[{i}] ({sha}): the content hashes to ")),
        "{}",
        out.stderr
    );
    assert!(!target.exists(), "nothing written");

    std::fs::write(&backup, b"{\"format\": \"something-else\"").unwrap();
    let out = berthd(&[
        "journal",
        "import",
        "--data",
        &path(&target),
        &path(&backup),
    ])
    .failed();
    assert!(
        out.stderr
            .contains(&format!("{}: EOF while parsing", backup.display())),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn berthd_refuses_a_journal_it_cannot_read_and_leaves_it_as_it_is() {
    let mut env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0")])
        .await
        .ok();
    env.agent.take().unwrap().shutdown().await.unwrap();
    let db = env.data_dir().join("journal/db");
    let garbage = vec![0x5a; std::fs::metadata(&db).unwrap().len() as usize];
    std::fs::write(&db, &garbage).unwrap();

    let data = path(&env.data_dir());
    let serve = serving(&env, &[]).failed();
    let why = format!(
        "{} is not empty but holds no readable journal (corrupt, or not a berth journal)",
        db.display()
    );
    assert!(serve.stderr.contains(&why), "{}", serve.stderr);
    assert_eq!(serve.stderr.trim().lines().count(), 1, "{}", serve.stderr);
    let check = berthd(&["journal", "check", "--data", &data]).failed();
    assert!(check.stderr.contains(&why), "{}", check.stderr);
    assert!(
        std::fs::read(&db).unwrap() == garbage,
        "the file is left as it was"
    );
}

/// A journal's blobs are in `packs/` beside it: a berthd that finds the
/// packs but no journal (the journal moved aside without them) does not
/// start a new journal that would collect them away.
#[tokio::test]
async fn berthd_refuses_a_new_journal_beside_another_journals_packs() {
    let mut env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0")])
        .await
        .ok();
    env.agent.take().unwrap().shutdown().await.unwrap();
    let (journal, aside) = (env.data_dir().join("journal"), env.dir.path().join("aside"));
    std::fs::rename(&journal, &aside).unwrap();

    let serve = serving(&env, &[]).failed();
    let why = format!(
        "{} holds 1 pack file(s) this journal never wrote (another journal's blobs): \
         move them aside with the journal they belong to, or remove them",
        env.data_dir().join("packs").display(),
    );
    assert!(serve.stderr.contains(&why), "{}", serve.stderr);
    assert_eq!(serve.stderr.trim().lines().count(), 1, "{}", serve.stderr);
    assert!(!journal.exists(), "no journal was made");

    // Put back, the journal and its packs are whole.
    std::fs::rename(&aside, &journal).unwrap();
    let check = berthd(&["journal", "check", "--data", &path(&env.data_dir())]).ok();
    assert!(
        check
            .stdout
            .starts_with("ok: format version 5; 1 release(s)"),
        "{}",
        check.stdout
    );
}

/// A chart whose manifest is well over the size the journal cuts into
/// pieces (32 KB): `count` ConfigMaps, one of them carrying `.Values.mark`.
fn write_big_chart(dir: &std::path::Path) -> String {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: big\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(dir.join("values.yaml"), "count: 150\nmark: first\n").unwrap();
    std::fs::write(
        dir.join("templates/configmaps.yaml"),
        r#"{{- range $i := until (int .Values.count) }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $.Release.Name }}-cm-{{ $i }}
data:
  index: "{{ $i }}"
  mark: {{ if eq $i 7 }}{{ $.Values.mark | quote }}{{ else }}"same"{{ end }}
  text: {{ printf "%s-%d" (repeat 40 "lorem ipsum ") $i | quote }}
{{- end }}
"#,
    )
    .unwrap();
    path(dir)
}

/// A long-lived release reads back as it was written: an old revision's
/// manifest (stored in pieces) and its events (packed once the next
/// revision began) are what the client saw then, and history --max shows
/// the newest revisions.
#[tokio::test]
async fn old_revisions_read_back_as_they_were_written() {
    let env = Env::start().await;
    let chart = write_big_chart(&env.dir.path().join("big"));
    let seen = env
        .berth(&["install", "big", &chart, "--events", "ndjson"])
        .await
        .ok();
    let manifest1 = env
        .berth(&["get", "manifest", "big", "--revision", "1"])
        .await
        .ok()
        .stdout;
    assert!(manifest1.len() > 64 * 1024, "{} bytes", manifest1.len());
    assert_eq!(manifest1.matches("kind: ConfigMap").count(), 150);

    for mark in ["second", "third"] {
        env.berth(&["upgrade", "big", &chart, "--set", &format!("mark={mark}")])
            .await
            .ok();
    }
    let again = env
        .berth(&["get", "manifest", "big", "--revision", "1"])
        .await
        .ok()
        .stdout;
    assert_eq!(again, manifest1, "revision 1's manifest is unchanged");
    let manifest2 = env
        .berth(&["get", "manifest", "big", "--revision", "2"])
        .await
        .ok()
        .stdout;
    assert_eq!(
        manifest2,
        manifest1.replace("mark: \"first\"", "mark: \"second\""),
        "revision 2 differs by the one value"
    );
    let replayed = env
        .berth(&["watch", "big", "--revision", "1", "--events", "ndjson"])
        .await
        .ok();
    assert_eq!(
        lines(&replayed.stdout),
        lines(&seen.stdout),
        "revision 1's events replay as the client saw them"
    );
    let h = env
        .berth(&["history", "big", "--max", "2", "-o", "json"])
        .await
        .ok()
        .json();
    let revs: Vec<_> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revs, [2, 3], "{h}");
}

/// `berthd --journal-cache`: a berthd whose cache is a fraction of its
/// journal serves every revision as a berthd with the default cache did,
/// and a cache too small is refused in one line before anything is made.
#[tokio::test]
async fn a_journal_many_times_its_cache_serves_the_same_history() {
    let mut env = Env::without_agent().await;
    let journal = env.data_dir().join("journal");
    let refused = serving(&env, &["--journal-cache", "0"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let errors: Vec<&str> = refused
        .stderr
        .lines()
        .filter(|l| l.starts_with("error"))
        .collect();
    assert_eq!(
        errors,
        [
            "error: invalid value '0' for '--journal-cache <BYTES>': \"0\" is too small: the journal cache takes at least 1Mi"
        ]
    );
    assert!(
        !journal.exists(),
        "a refused berthd made {}",
        journal.display()
    );

    // Eight revisions, each with 300 KB of its own in its values and
    // manifest: a journal of more than 2 MiB against a 1 MiB cache.
    let mut berthd_default = Berthd::spawn(&env, &[]).await;
    env.agent_url = berthd_default.url.clone();
    for rev in 1..=8u32 {
        let values = env.dir.path().join(format!("values-{rev}.yaml"));
        // xorshift: letters deflate cannot shrink much.
        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(rev);
        let message: String = (0..300_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + (x % 26) as u8)
            })
            .collect();
        std::fs::write(&values, format!("message: {message}\n")).unwrap();
        let verb = if rev == 1 { "install" } else { "upgrade" };
        env.berth(&[verb, "hello", &env.chart("1.0.0"), "-f", &path(&values)])
            .await
            .ok();
    }
    let before = everything(&env, &[("default", "hello")]).await;
    assert!(
        before
            .iter()
            .any(|s| s.contains(" 8 manifest:") && s.len() > 300_000)
    );
    // sled's files and the packs its blobs are in.
    let on_disk: u64 = [journal.clone(), env.data_dir().join("packs")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(on_disk > 2 << 20, "the journal is {on_disk} bytes");
    berthd_default.child.start_kill().unwrap();
    berthd_default.child.wait().await.unwrap();

    let small = Berthd::spawn(&env, &["--journal-cache", "1Mi"]).await;
    env.agent_url = small.url.clone();
    assert_eq!(everything(&env, &[("default", "hello")]).await, before);
}
