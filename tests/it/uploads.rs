//! Chart connections: a big chart's bytes come on a TLS connection of their
//! own (ALPN berth-chart/1) instead of as chunks of the upgrade call (which
//! remain the fallback); one that breaks the protocol is refused with a
//! clear reason and leaves no revision behind.

use std::sync::atomic::Ordering;
use std::time::Duration;

use berth::chart::{Bundle, Limits};
use berth::proto::{
    self, Event, UpgradeHeader, UpgradeMode, UpgradeRequest, event::Kind, upgrade_request::Msg,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::common::{BAD_IMAGE, Env, path, refusal_of, wait_for};

/// The demo chart with `mib` MiB of incompressible bytes under files/, so
/// that its packed size passes the agent's threshold for a chart connection.
pub fn big_chart(env: &Env, name: &str, seed: u64, mib: usize) -> (String, Bundle) {
    let dir = env.dir.path().join(name);
    berth_cli::demo::write_chart(&dir, "1.0.0").unwrap();
    std::fs::create_dir_all(dir.join("files")).unwrap();
    let mut x = seed | 1;
    let noise: Vec<u8> = (0..mib << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(dir.join("files/noise.bin"), noise).unwrap();
    let bundle = Bundle::from_path(&dir, &Limits::default()).expect("the chart loads");
    assert!(bundle.bytes.len() as u64 >= berth_agent::uploads::MIN_SIZE);
    (path(&dir), bundle)
}

/// Large files read by templates, in the chart and in a subchart packed
/// as a `.tgz`: berthd keeps them in mapped files while it renders, what
/// the templates read is the files, byte for byte, and nothing stays
/// mapped once the install is over.
#[tokio::test]
async fn templates_read_large_chart_files_exactly_and_nothing_stays_mapped() {
    let env = Env::start().await;
    let text: String = (0..30_000)
        .map(|n| format!("line {n} of the big file\n"))
        .collect();
    assert!(text.len() >= berth_agent::spool::MAP_FROM);
    let template = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}-files
data:
  big: {{ .Files.Get "files/big.txt" | quote }}
  sum: {{ .Files.Get "files/big.txt" | sha256sum | quote }}
  lines: {{ len (.Files.Lines "files/big.txt") | quote }}
  bytes: {{ len (.Files.GetBytes "files/big.txt") | quote }}
  globbed: {{ len ((.Files.Glob "files/*.txt").AsConfig) | quote }}
"#;
    let write = |dir: &std::path::Path, name: &str| {
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::create_dir_all(dir.join("files")).unwrap();
        std::fs::write(
            dir.join("Chart.yaml"),
            format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n"),
        )
        .unwrap();
        std::fs::write(dir.join("files/big.txt"), &text).unwrap();
        std::fs::write(dir.join("templates/files.yaml"), template).unwrap();
    };
    let dir = env.dir.path().join("files");
    let sub = env.dir.path().join("sub");
    write(&dir, "parent");
    write(&sub, "sub");
    let sub_files = berth::chart::load_dir(&sub, &Limits::default()).unwrap();
    let packed = berth::chart::pack(&sub_files, "sub").unwrap();
    std::fs::create_dir_all(dir.join("charts")).unwrap();
    std::fs::write(dir.join("charts/sub-1.0.0.tgz"), packed).unwrap();

    env.berth(&["install", "withfiles", &path(&dir)]).await.ok();
    for chart in ["parent", "sub"] {
        let cm = env
            .get(
                "v1",
                "ConfigMap",
                "default",
                &format!("withfiles-{chart}-files"),
            )
            .await
            .expect("the ConfigMap exists");
        let data = &cm["data"];
        assert!(
            data["big"] == text.as_str(),
            "{chart}: the file's text differs"
        );
        assert_eq!(data["sum"], berth::chart::sha256_hex(text.as_bytes()));
        assert_eq!(data["lines"], "30000");
        assert_eq!(data["bytes"], text.len().to_string());
        // AsConfig: "big.txt: |-" and the text indented, one line per line.
        let as_config: usize = data["globbed"].as_str().unwrap().parse().unwrap();
        assert!(as_config > text.len(), "{chart}: {as_config}");
    }
    let data = env.agent.as_ref().unwrap().agent.journal.path().to_owned();
    assert_eq!(
        names(&data),
        ["events", "journal", "packs"],
        "nothing left beside the journal (its events files, its packs)"
    );
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mapped: Vec<&str> = maps
        .lines()
        .filter(|l| l.contains(data.to_str().unwrap()) && l.ends_with("(deleted)"))
        .collect();
    assert!(mapped.is_empty(), "still mapped: {mapped:?}");
}

fn counter(
    env: &Env,
    pick: fn(&berth_agent::ops::Counters) -> &std::sync::atomic::AtomicU64,
) -> u64 {
    pick(&env.agent.as_ref().unwrap().agent.counters).load(Ordering::SeqCst)
}

#[tokio::test]
async fn a_big_chart_comes_on_its_own_connection_and_an_unchanged_one_not_at_all() {
    let env = Env::start().await;
    let (dir, bundle) = big_chart(&env, "big", 7, 2);
    let size = bundle.bytes.len() as u64;

    env.berth(&["install", "big", &dir]).await.ok();
    assert_eq!(counter(&env, |c| &c.chart_connections), 1);
    assert_eq!(counter(&env, |c| &c.chart_bytes_received), size);
    assert_eq!(counter(&env, |c| &c.chart_uploads_received), 1);
    let status = env.berth(&["status", "big", "-o", "json"]).await.ok();
    assert_eq!(
        status.json()["info"]["status"],
        "deployed",
        "{}",
        status.stdout
    );

    // The same chart again: the agent holds it, nothing is sent.
    env.berth(&["install", "again", &dir]).await.ok();
    assert_eq!(counter(&env, |c| &c.chart_connections), 1);
    assert_eq!(counter(&env, |c| &c.chart_bytes_received), size);

    // The chart arrived in a file with no name, and the journal keeps it
    // as a file named by its digest, out of sled (the second install read
    // it back).
    let agent = &env.agent.as_ref().unwrap().agent;
    let report = berth_agent::journal::check::check(&agent.journal).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    let data = agent.journal.path();
    assert_eq!(
        names(data),
        ["charts", "events", "journal", "packs"],
        "nothing else beside the journal"
    );
    assert_eq!(names(&data.join("charts")), [bundle.digest.as_str()]);
    assert_eq!(
        std::fs::read(data.join("charts").join(&bundle.digest)).unwrap(),
        bundle.bytes
    );

    // A small chart still comes as chunks of the call.
    env.berth(&["install", "small", &env.chart("1.0.0")])
        .await
        .ok();
    assert_eq!(counter(&env, |c| &c.chart_connections), 1);
    assert!(counter(&env, |c| &c.chart_bytes_received) > size);

    // What an operator sees on /metrics.
    let http = env
        .agent
        .as_ref()
        .unwrap()
        .serve_http("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (code, body) = crate::ops::http_get(http, "/metrics").await;
    assert_eq!(code, 200, "{body}");
    let m = crate::ops::Metrics::parse(&body);
    assert_eq!(m.value("berth_chart_connections_total"), 1.0);
    assert_eq!(m.value("berth_chart_uploads_received_total"), 2.0);
}

/// Where the in-process agent keeps its chart files.
fn charts_dir(env: &Env) -> std::path::PathBuf {
    let agent = &env.agent.as_ref().unwrap().agent;
    agent.journal.path().join("charts")
}

/// The names in a directory, sorted.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Helm's --history-max bounds what it stores, each revision holding its
/// chart; berth keeps each big chart once, and only while a revision
/// names it.
#[tokio::test]
async fn history_max_and_uninstall_remove_the_big_charts_no_revision_names() {
    let env = Env::start().await;
    let charts: Vec<(String, Bundle)> = (1..=3)
        .map(|i| big_chart(&env, &format!("big{i}"), 2 * i + 1, 1))
        .collect();
    let charts_dir = charts_dir(&env);
    let held = || names(&charts_dir);
    let digest = |i: usize| charts[i].1.digest.clone();
    assert!(digest(0) != digest(1) && digest(1) != digest(2));
    env.berth(&["install", "big", &charts[0].0]).await.ok();
    env.berth(&["install", "other", &charts[1].0]).await.ok();
    for chart in &charts[1..] {
        env.berth(&["upgrade", "big", &chart.0, "--history-max", "2"])
            .await
            .ok();
    }
    // Revisions 2 and 3 of big are kept; chart 1 was only revision 1's.
    let mut kept = vec![digest(1), digest(2)];
    kept.sort();
    assert_eq!(held(), kept);
    let history = env.berth(&["history", "big", "-o", "json"]).await.ok();
    assert_eq!(
        history.json().as_array().unwrap().len(),
        2,
        "{}",
        history.stdout
    );
    // Chart 2 is still other's.
    env.berth(&["uninstall", "big"]).await.ok();
    assert_eq!(held(), [digest(1)]);
    env.berth(&["uninstall", "other"]).await.ok();
    assert_eq!(held(), Vec::<String>::new());
    let agent = &env.agent.as_ref().unwrap().agent;
    let report = berth_agent::journal::check::check(&agent.journal).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

/// A failed --atomic install forgets its release, and with it the big
/// chart it kept: once the operation is over, not at the next start.
#[tokio::test]
async fn a_failed_atomic_install_leaves_no_chart_behind() {
    let env = Env::start().await;
    let (dir, _bundle) = big_chart(&env, "big", 21, 1);
    let charts_dir = charts_dir(&env);
    // The unpullable image fails the rollout within the pull's grace; a
    // short --timeout could run out first on a loaded machine, while the
    // 1 MiB chart is still being staged, and then nothing was ever kept.
    let out = env
        .berth(&[
            "install",
            "big",
            &dir,
            "--set",
            BAD_IMAGE,
            "--atomic",
            "--timeout",
            "60s",
        ])
        .await
        .failed();
    assert!(
        out.stderr
            .contains("release big failed, and has been uninstalled due to rollback-on-failure"),
        "{}",
        out.stderr
    );
    wait_for("the chart file to go", || async {
        names(&charts_dir).is_empty()
    })
    .await;
}

/// An install of `bundle` as `release` that asks for a chart connection:
/// the call's sender, its events after Accepted, and the token.
async fn start_install(
    env: &Env,
    release: &str,
    bundle: &Bundle,
) -> (
    mpsc::Sender<UpgradeRequest>,
    tonic::Streaming<Event>,
    Vec<u8>,
) {
    let header = UpgradeHeader {
        release: release.into(),
        namespace: "default".into(),
        mode: UpgradeMode::Install as i32,
        values_json: "{}".into(),
        chart_digest: bundle.digest.clone(),
        chart_size: bundle.bytes.len() as u64,
        options: Some(Default::default()),
        client: None,
        chart_connection: true,
        remote_schemas: Default::default(),
    };
    let (tx, rx) = mpsc::channel(8);
    tx.send(UpgradeRequest {
        msg: Some(Msg::Header(header)),
    })
    .await
    .unwrap();
    let mut client = berth_cli::connect::connect(&env.target()).await.unwrap();
    let response = client
        .upgrade(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("the call is accepted");
    let token = response
        .metadata()
        .get(proto::CHART_TOKEN_METADATA)
        .expect("a chart token in the response metadata")
        .to_str()
        .unwrap()
        .to_string();
    let token = hex::decode(token).unwrap();
    assert_eq!(token.len(), proto::CHART_TOKEN_LEN);
    let mut events = response.into_inner();
    let first = events.message().await.unwrap().expect("an Accepted event");
    let Some(Kind::Accepted(a)) = first.kind else {
        panic!("not Accepted: {first:?}");
    };
    assert!(a.chart_needed);
    (tx, events, token)
}

/// Open a chart connection as `target` and write `parts` on it, then close
/// it; write errors (the agent may close first) are the test's to judge.
async fn send_on_connection(target: &berth_cli::connect::Target, parts: &[&[u8]]) {
    let mut conn = berth_cli::connect::chart_connection(target)
        .await
        .expect("the chart connection opens");
    for part in parts {
        if conn.write_all(part).await.is_err() {
            return;
        }
    }
    let _ = conn.shutdown().await;
}

async fn trailer(tx: &mpsc::Sender<UpgradeRequest>, sent: u64) {
    let _ = tx
        .send(UpgradeRequest {
            msg: Some(Msg::Trailer(proto::UpgradeTrailer { sent_bytes: sent })),
        })
        .await;
}

#[tokio::test]
async fn a_chart_connection_that_breaks_the_protocol_is_refused_and_records_nothing() {
    let mut env = Env::without_agent().await;
    env.upload_idle_timeout = Duration::from_secs(2);
    env.start_agent().await;
    let (_, bundle) = big_chart(&env, "big", 11, 2);
    let size = bundle.bytes.len() as u64;
    let bytes = bundle.bytes.clone();
    let mut mallory_target = env.target();
    {
        let dir = env.pki.ca_cert.parent().unwrap();
        let ca = berth::tls::CertAuthority::load(
            &std::fs::read_to_string(&env.pki.ca_cert).unwrap(),
            &std::fs::read_to_string(dir.join("ca.key")).unwrap(),
        )
        .unwrap();
        let (cert, key) = ca.issue_client("mallory", 1).unwrap();
        std::fs::write(dir.join("mallory.crt"), cert).unwrap();
        std::fs::write(dir.join("mallory.key"), key).unwrap();
        mallory_target.cert = Some(dir.join("mallory.crt"));
        mallory_target.key = Some(dir.join("mallory.key"));
    }

    // Fewer bytes than declared, then the connection closes.
    let (tx, events, token) = start_install(&env, "short", &bundle).await;
    send_on_connection(&env.target(), &[&token, &bytes[..1000]]).await;
    trailer(&tx, size).await;
    let got = refusal_of(events).await;
    assert_eq!(
        got,
        format!("chart connection closed after 1000 of the declared {size} bytes")
    );

    // More bytes than declared.
    let (tx, events, token) = start_install(&env, "long", &bundle).await;
    send_on_connection(&env.target(), &[&token, &bytes, b"and more"]).await;
    trailer(&tx, size).await;
    assert_eq!(
        refusal_of(events).await,
        format!("chart upload is larger than the declared {size} bytes")
    );

    // A client that cannot open the chart connection sends chunks after
    // all, and that works (another chart, so that this one stays needed
    // by the cases below).
    let (_, other) = big_chart(&env, "other", 13, 2);
    let (tx, mut events, _) = start_install(&env, "chunks", &other).await;
    for chunk in other.bytes.chunks(proto::CHUNK_SIZE) {
        tx.send(UpgradeRequest {
            msg: Some(Msg::Chunk(other.bytes.slice_ref(chunk))),
        })
        .await
        .unwrap();
    }
    trailer(&tx, other.bytes.len() as u64).await;
    completed(&mut events).await;

    // A token the agent never gave: that connection is closed, and the call
    // waits for its own in vain.
    let (tx, events, _) = start_install(&env, "forged", &bundle).await;
    send_on_connection(&env.target(), &[&[7u8; proto::CHART_TOKEN_LEN], &bytes]).await;
    trailer(&tx, size).await;
    assert_eq!(
        refusal_of(events).await,
        "no chart connection arrived within 2s"
    );

    // A client that gives up says so in its trailer; the agent does not
    // wait for a connection that will not come.
    let (tx, events, _) = start_install(&env, "gave-up", &bundle).await;
    trailer(&tx, 0).await;
    assert_eq!(
        refusal_of(events).await,
        format!(
            "chart upload: the client sent 0 of the declared {size} bytes on its chart connection"
        )
    );

    // The right token on another client's connection: refused, and the
    // token is not spent by it.
    let (_tx, events, token) = start_install(&env, "stolen", &bundle).await;
    send_on_connection(&mallory_target, &[&token, &bytes]).await;
    assert_eq!(
        refusal_of(events).await,
        "no chart connection arrived within 2s"
    );
    let (tx, mut events, token) = start_install(&env, "owner", &bundle).await;
    send_on_connection(&mallory_target, &[&token, &bytes]).await;
    send_on_connection(&env.target(), &[&token, &bytes]).await;
    trailer(&tx, size).await;
    completed(&mut events).await;

    // The digest is still checked on what the connection brought.
    let mut wrong = bundle.clone();
    wrong.digest = berth::chart::sha256_hex(b"something else");
    let (tx, events, token) = start_install(&env, "digest", &wrong).await;
    send_on_connection(&env.target(), &[&token, &bytes]).await;
    trailer(&tx, size).await;
    let got = refusal_of(events).await;
    assert!(got.contains("header said"), "{got}");

    let agent = &env.agent.as_ref().unwrap().agent;
    for release in ["short", "long", "forged", "stolen", "gave-up", "digest"] {
        assert!(
            agent.journal.head("default", release).unwrap().is_none(),
            "{release}: nothing recorded"
        );
    }
    // Whole: the owner's, and the one with the wrong digest.
    assert_eq!(agent.counters.chart_connections.load(Ordering::SeqCst), 2);
    assert!(agent.journal.head("default", "owner").unwrap().is_some());

    // A token is good for one connection: used again, the agent closes the
    // connection unread.
    let mut again = berth_cli::connect::chart_connection(&env.target())
        .await
        .unwrap();
    again.write_all(&token).await.unwrap();
    let _ = again.write_all(&bytes[..1000]).await;
    let mut buf = [0u8; 16];
    let read = again.read(&mut buf).await;
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "the agent closed the connection: {read:?}"
    );
    assert_eq!(agent.counters.chart_connections.load(Ordering::SeqCst), 2);
}

/// Wait for the call's Completed event.
async fn completed(events: &mut tonic::Streaming<Event>) {
    loop {
        let ev = events.message().await.unwrap().expect("an outcome");
        match ev.kind {
            Some(Kind::Completed(_)) => return,
            Some(Kind::Failed(f)) => panic!("failed: {f:?}"),
            _ => {}
        }
    }
}
