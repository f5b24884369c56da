//! Chart upload: a ~50 MiB chart from the CLI to berthd over mutual TLS on
//! loopback, against raw TLS between the same kind of endpoints, in one run.
//!
//! The chart is valid and renders one ConfigMap; its bulk is random base64
//! under `files/` (4 MiB files, under berthd's 5 MiB per-file limit), which
//! gzip shrinks only to ~76%, so the packed chart is ~50 MiB (berthd's
//! default `--max-chart-size` is 50 MiB).
//!
//! - **raw TLS**: a tokio-rustls server and client with the stack's own
//!   certificates (client certificate required, ring, TLS 1.2 + 1.3, the
//!   same cipher suite as berth's connection) send the same bytes in the
//!   same 64 KiB writes; timed from the first write until the server has
//!   read them all and its 1-byte answer is back. Then again with the
//!   server keeping what it reads in berthd's own `ChartBuffer` (which
//!   hashes an upload and, as big as this, spools it to an unnamed file
//!   in the temporary directory): the least any receiver of a chart has
//!   to do, so the gap between that and berth is what berth's protocol
//!   costs.
//! - **berth upload**: the CLI's own `send_prepared` against an in-process
//!   berthd (fresh journal each round, so the chart is always needed); the
//!   chart is over berthd's threshold, so its bytes go on a chart connection
//!   (second TLS connection, ALPN berth-chart/1) and the call carries the
//!   header, trailer and events; timed from the agent's Accepted answer
//!   (the CLI opens the chart connection and starts sending then)
//!   until berthd holds the whole chart and its digest
//!   (`chart_uploads_received`, polled every 100 µs). The install goes on to
//!   verify, unpack, render, journal and apply; that total is shown too.
//!   Both are also given as the CPU time the process (both ends) used.
//! - **the same chart again**: a second install of the same chart on that
//!   agent; the bytes berthd received for it must be 0.
//! - **memory**: the real release `berthd` binary as a child process (built
//!   by `cargo build --release -p berth-agent --bin berthd`, or
//!   `$BERTH_BENCH_BERTHD`); its resident set from /proc while one install of
//!   the chart runs: before, the peak until the last chunk arrived (sampled
//!   every 2 ms, with /metrics telling when), VmHWM over the whole
//!   install (reset through /proc/PID/clear_refs before it), and the
//!   resident set once berthd has been idle long enough to give freed
//!   memory back.
//!
//! ```sh
//! cargo build --release --locked -p berth-agent --bin berthd
//! cargo bench --locked -p berth --bench upload   # BERTH_BENCH_ROUNDS, BERTH_BENCH_CHART_MIB
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use berth::chart::{Bundle, Limits};
use berth::proto::{self, event::Kind};
use berth_agent::ops::receive::ChartBuffer;
use berth_cli::cmd::install::{Events, Prepared, send_prepared};
use berth_cli::connect::Target;
use futures::StreamExt;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;
use common::{Stack, count, cpu_time, median, status_kib};

const MIB: f64 = 1024.0 * 1024.0;
/// What gzip leaves of random base64 in 76-column lines.
const BASE64_GZIP_RATIO: f64 = 0.7607;
/// The largest file written: berthd refuses files over 5 MiB by default.
const FILE_BYTES: usize = 4 << 20;

#[tokio::main]
async fn main() {
    let rounds = count("BERTH_BENCH_ROUNDS", 5);
    let packed_mib: f64 = std::env::var("BERTH_BENCH_CHART_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(49.5);
    let work = tempfile::tempdir().expect("temporary directory");
    let chart = work.path().join("bulk");
    let (files, unpacked) = write_chart(&chart, packed_mib);
    let start = Instant::now();
    let bundle = Arc::new(Bundle::from_path(&chart, &Limits::default()).expect("the chart loads"));
    let pack_time = start.elapsed();
    let size = bundle.bytes.len();

    let mut raw = Vec::new();
    let mut kept = Vec::new();
    let mut kept_cpu = Vec::new();
    let mut suite = String::new();
    let mut berth = Vec::new();
    let mut raw_cpu = Vec::new();
    let mut berth_cpu = Vec::new();
    let mut checked = Vec::new();
    let mut installs = Vec::new();
    let mut agains = Vec::new();
    let mut again_bytes = 0;
    let mut memory = None;
    // One warm-up round, then the measured ones.
    for round in 0..=rounds {
        let stack = Stack::start(berth_sim::Clock::Real { scale: 1.0 }).await;
        let (tls_time, tls_cpu, s) = raw_tls(&stack.pki, &bundle.bytes, Receiver::Discard).await;
        let (kept_time, kept_time_cpu, _) =
            raw_tls(&stack.pki, &bundle.bytes, Receiver::ChartBuffer).await;
        let r = berth_round(&stack, &bundle).await;
        if round == rounds {
            memory = child_memory(&stack, &bundle);
        }
        stack.stop().await;
        if round == 0 {
            continue;
        }
        suite = s;
        raw.push(tls_time);
        raw_cpu.push(tls_cpu);
        kept.push(kept_time);
        kept_cpu.push(kept_time_cpu);
        berth.push(r.upload);
        berth_cpu.push(r.upload_cpu);
        checked.push(r.chart_received);
        installs.push(r.install);
        agains.push(r.again);
        again_bytes = again_bytes.max(r.again_bytes);
    }

    let raw = median(raw);
    let kept = median(kept);
    let upload = median(berth);
    let rate = |d: Duration| size as f64 / MIB / d.as_secs_f64();
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1e3);
    println!(
        "{rounds} rounds (medians); chart {:.1} MiB packed ({files} files, {:.1} MiB unpacked); {suite}\n",
        size as f64 / MIB,
        unpacked as f64 / MIB
    );
    println!("| measurement | result |");
    println!("|---|---|");
    println!(
        "| raw TLS on loopback (tokio-rustls, mTLS) | {:.0} MiB/s ({}) |",
        rate(raw),
        ms(raw)
    );
    println!(
        "| berth upload: CLI → berthd (gRPC call, chart on a chart connection) | {:.0} MiB/s ({}) |",
        rate(upload),
        ms(upload)
    );
    println!(
        "| **upload / raw TLS** (goal ≥ 0.50) | **{:.2}** |",
        raw.as_secs_f64() / upload.as_secs_f64()
    );
    println!(
        "| raw TLS into berthd's chart buffer (the receiver keeps the bytes and hashes them) | {:.0} MiB/s ({}) |",
        rate(kept),
        ms(kept)
    );
    println!(
        "| upload / raw TLS into the chart buffer (what berth's protocol costs) | {:.2} |",
        kept.as_secs_f64() / upload.as_secs_f64()
    );
    println!(
        "| CPU time of both ends during the transfer (one process, 2 cores): raw TLS → raw TLS into the chart buffer → berth | {} → {} → {} |",
        ms(median(raw_cpu)),
        ms(median(kept_cpu)),
        ms(median(berth_cpu))
    );
    println!(
        "| CLI: load the chart directory and pack it | {} |",
        ms(pack_time)
    );
    println!(
        "| install: start → ChartReceived (upload, verify, unpack, render) | {} |",
        ms(median(checked))
    );
    println!("| install, whole (no --wait) | {} |", ms(median(installs)));
    println!(
        "| install of the same chart again | {} |",
        ms(median(agains))
    );
    println!("| chart bytes berthd received for the same chart again | {again_bytes} |");
    match memory {
        Some(m) => {
            let mib = |kib: u64| format!("{:.0} MiB", kib as f64 / 1024.0);
            println!(
                "| berthd RSS (release binary): before → peak while receiving → peak over the install (VmHWM) → 3 s after it | {} → {} → {} → {} |",
                mib(m.before),
                mib(m.receiving),
                mib(m.install),
                mib(m.after)
            );
            println!(
                "| berthd peak RSS growth over the install / chart size | {:.1} |",
                (m.install.saturating_sub(m.before)) as f64 * 1024.0 / size as f64
            );
            println!(
                "| chart bytes received (berthd /metrics), same chart again | {} |",
                m.again_bytes
            );
        }
        None => println!(
            "| berthd RSS | not measured: build it with `cargo build --release --locked -p berth-agent --bin berthd` or set BERTH_BENCH_BERTHD |"
        ),
    }
}

/// A chart with one small template and `packed_mib` of random base64 (as
/// packed) under files/. Returns the number of files under files/ and their
/// size.
fn write_chart(dir: &Path, packed_mib: f64) -> (usize, u64) {
    std::fs::create_dir_all(dir.join("templates")).expect("chart directory");
    std::fs::create_dir_all(dir.join("files")).expect("chart directory");
    let write = |name: &str, text: &[u8]| std::fs::write(dir.join(name), text).expect("writing");
    write(
        "Chart.yaml",
        b"apiVersion: v2\nname: bulk\nversion: 1.0.0\nappVersion: \"1.0\"\n",
    );
    write("values.yaml", b"greeting: hello\n");
    write(
        "templates/configmap.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-bulk\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
    );
    let mut left = (packed_mib * MIB / BASE64_GZIP_RATIO) as usize;
    let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15);
    let (mut files, mut total) = (0, 0);
    while left > 0 {
        let n = left.min(FILE_BYTES);
        write(&format!("files/part-{files:03}.b64"), &rng.base64(n));
        files += 1;
        total += n as u64;
        left -= n;
    }
    (files, total)
}

struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `n` bytes of random base64 in lines of 76 characters.
    fn base64(&mut self, n: usize) -> Vec<u8> {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::with_capacity(n);
        let (mut bits, mut left) = (0u64, 0);
        while out.len() < n {
            if out.len() % 77 == 76 {
                out.push(b'\n');
                continue;
            }
            if left == 0 {
                (bits, left) = (self.next(), 10);
            }
            out.push(ALPHABET[(bits & 63) as usize]);
            bits >>= 6;
            left -= 1;
        }
        out
    }
}

/// rustls configurations like berth's: the agent's certificate, a client
/// certificate required and checked against the client CA, ring, TLS 1.3
/// and 1.2, ALPN h2.
fn tls_configs(pki: &berth::tls::DevPki) -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = |p: &Path| berth::tls::load_certs(p).expect("certificate").cert_ders();
    let key = |p: &Path| {
        berth::tls::load_key(p)
            .and_then(|k| k.key_der())
            .expect("key")
    };
    let mut roots = RootCertStore::empty();
    for der in certs(&pki.ca_cert) {
        roots.add(der).expect("CA certificate");
    }
    let roots = Arc::new(roots);
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        roots.clone(),
        provider.clone(),
    )
    .build()
    .expect("client verifier");
    let mut server = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("TLS versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&pki.agent_cert), key(&pki.agent_key))
        .expect("server config");
    server.alpn_protocols = vec![b"h2".to_vec()];
    let mut client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(certs(&pki.client_cert), key(&pki.client_key))
        .expect("client config");
    client.alpn_protocols = vec![b"h2".to_vec()];
    (Arc::new(server), Arc::new(client))
}

/// What the raw TLS server does with the bytes it reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Receiver {
    /// Count them and drop them: the transport alone.
    Discard,
    /// What berthd does with an upload's chunks: keep them in its
    /// `ChartBuffer`, which hashes them and writes them to a spool file,
    /// and wait for the digest.
    ChartBuffer,
}

/// Send `bytes` over one fresh mutual-TLS connection on loopback; the time
/// from the first write to the server's answer that it read them all, and
/// the protocol and cipher suite negotiated.
async fn raw_tls(
    pki: &berth::tls::DevPki,
    bytes: &[u8],
    receiver: Receiver,
) -> (Duration, Duration, String) {
    let (server, client) = tls_configs(pki);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    let len = bytes.len();
    let served = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        tcp.set_nodelay(true).unwrap();
        let mut tls = tokio_rustls::TlsAcceptor::from(server)
            .accept(tcp)
            .await
            .expect("server handshake");
        let mut buf = vec![0u8; proto::CHUNK_SIZE];
        let mut got = 0;
        // As berthd spools a chart this big: to a file with no name.
        let mut chart = ChartBuffer::spooled(len as u64, &std::env::temp_dir());
        while got < len {
            let n = tls.read(&mut buf).await.expect("server read");
            assert!(n > 0, "raw TLS: the client closed after {got} bytes");
            if receiver == Receiver::ChartBuffer {
                chart.push(&buf[..n]).await.expect("within the size");
            }
            got += n;
        }
        if receiver == Receiver::ChartBuffer {
            let received = chart.finish().await.expect("hashed");
            assert_eq!(received.bytes.len(), len as u64);
        }
        tls.write_all(b"k").await.expect("server answer");
        tls.flush().await.expect("server answer");
        // Until the client has read the answer and closes.
        let _ = tls.read(&mut buf).await;
    });
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(client)
        .connect(name, tcp)
        .await
        .expect("client handshake");
    let conn = tls.get_ref().1;
    let suite = format!(
        "{:?}, {:?}",
        conn.protocol_version().expect("negotiated"),
        conn.negotiated_cipher_suite().expect("negotiated").suite()
    );
    let cpu0 = cpu_time();
    let start = Instant::now();
    for chunk in bytes.chunks(proto::CHUNK_SIZE) {
        tls.write_all(chunk).await.expect("client write");
    }
    tls.flush().await.expect("client flush");
    let mut answer = [0u8; 1];
    tls.read_exact(&mut answer).await.expect("server answer");
    let took = start.elapsed();
    let cpu = cpu_time() - cpu0;
    drop(tls);
    served.await.expect("raw TLS server");
    (took, cpu, suite)
}

struct Round {
    upload: Duration,
    /// CPU time the process (CLI and agent) used during the upload.
    upload_cpu: Duration,
    chart_received: Duration,
    install: Duration,
    again: Duration,
    again_bytes: u64,
}

fn target(agent: &str, pki: &berth::tls::DevPki) -> Target {
    Target {
        agent: Some(agent.to_string()),
        ca: Some(pki.ca_cert.clone()),
        cert: Some(pki.client_cert.clone()),
        key: Some(pki.client_key.clone()),
        cluster: None,
    }
}

fn prepared(bundle: &Arc<Bundle>, name: &str) -> Prepared {
    Prepared {
        name: name.to_string(),
        values_json: "{}".into(),
        bundle: Arc::clone(bundle),
        mode: proto::UpgradeMode::Install,
        options: proto::OperationOptions {
            timeout_seconds: 300,
            ..Default::default()
        },
        post_render: None,
        remote_schemas: Default::default(),
    }
}

/// Follow an install's events to its end; when ChartReceived arrived.
async fn follow(mut events: Events) -> Instant {
    let mut received = None;
    while let Some(ev) = events.next().await {
        match ev.expect("event stream").kind {
            Some(Kind::ChartReceived(_)) => received = Some(Instant::now()),
            Some(Kind::Completed(_)) => return received.expect("a ChartReceived event"),
            Some(Kind::Failed(f)) => panic!("the install failed: {f:?}"),
            _ => {}
        }
    }
    panic!("the event stream ended before the install completed");
}

/// One install of the chart on the stack's fresh agent, then one of the
/// same chart under another name.
async fn berth_round(stack: &Stack, bundle: &Arc<Bundle>) -> Round {
    let agent = Arc::clone(&stack.agent.agent);
    let target = target(&format!("https://{}", stack.agent.addr), &stack.pki);
    let size = bundle.bytes.len() as u64;
    let received = || agent.counters.chart_bytes_received.load(Ordering::Relaxed);
    assert_eq!(received(), 0, "a fresh agent has received nothing");
    let whole = || {
        agent
            .counters
            .chart_uploads_received
            .load(Ordering::Relaxed)
    };
    let start = Instant::now();
    let events = send_prepared(&target, "default", &prepared(bundle, "bulk"))
        .await
        .expect("upgrade stream");
    let accepted = Instant::now();
    let cpu0 = cpu_time();
    let polled = Arc::clone(&agent);
    let arrived = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        // Received whole: every chunk counted and the digest computed.
        while polled
            .counters
            .chart_uploads_received
            .load(Ordering::Relaxed)
            < 1
        {
            assert!(Instant::now() < deadline, "the chart never arrived");
            std::thread::sleep(Duration::from_micros(100));
        }
        (Instant::now(), cpu_time())
    });
    let chart_received = follow(events).await;
    let done = Instant::now();
    let (arrived, cpu1) = arrived.await.expect("poller");
    assert_eq!(received(), size);
    assert_eq!(whole(), 1);

    let again = Instant::now();
    let events = send_prepared(&target, "default", &prepared(bundle, "bulk-again"))
        .await
        .expect("upgrade stream");
    follow(events).await;
    Round {
        upload: arrived - accepted,
        upload_cpu: cpu1 - cpu0,
        chart_received: chart_received - start,
        install: done - start,
        again: again.elapsed(),
        again_bytes: received() - size,
    }
}

struct Memory {
    /// KiB, from /proc/PID/status.
    before: u64,
    receiving: u64,
    install: u64,
    after: u64,
    again_bytes: u64,
}

/// The release berthd next to this bench (target/release/berthd), or
/// `$BERTH_BENCH_BERTHD`.
fn berthd() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("BERTH_BENCH_BERTHD") {
        return Some(p.into());
    }
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("berthd");
    bin.exists().then_some(bin)
}

/// berth_chart_bytes_received_total from berthd's /metrics.
fn metric_bytes(http: &str) -> u64 {
    let Ok(mut s) = std::net::TcpStream::connect(http) else {
        return 0;
    };
    let _ = write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\n\r\n"
    );
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.lines()
        .find(|l| l.starts_with("berth_chart_bytes_received_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The address after `"addr":"` in a JSON log line.
fn logged_addr(line: &str) -> Option<String> {
    let rest = &line[line.find("\"addr\":\"")? + 8..];
    Some(rest[..rest.find('"')?].to_string())
}

/// Run the release berthd on the stack's simulator and PKI, install the
/// chart twice through the CLI's path and watch its memory.
fn child_memory(stack: &Stack, bundle: &Arc<Bundle>) -> Option<Memory> {
    let bin = berthd()?;
    let pki = &stack.pki;
    let data = stack.dir.path().join("child-data");
    let mut cmd = Command::new(&bin);
    cmd.arg("--listen=127.0.0.1:0")
        .arg("--http-listen=127.0.0.1:0")
        .arg("--log-format=json");
    let mut child = common::berthd_flags(&mut cmd, pki, &data, &stack.kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut grpc, mut http) = (None, None);
    while grpc.is_none() || http.is_none() {
        let line = lines
            .next()
            .expect("berthd exited before listening")
            .unwrap();
        if line.contains("berthd listening") {
            grpc = logged_addr(&line);
        } else if line.contains("HTTP (health, metrics) listening") {
            http = logged_addr(&line);
        }
    }
    // Keep reading its log, or it blocks once the pipe is full.
    std::thread::spawn(move || lines.for_each(drop));
    let (grpc, http) = (grpc.unwrap(), http.unwrap());
    let target = target(&format!("https://{grpc}"), &stack.pki);
    let size = bundle.bytes.len() as u64;

    let before = status_kib(pid, "VmRSS:");
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("resetting VmHWM");
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (stop, http) = (Arc::clone(&stop), http.clone());
        std::thread::spawn(move || {
            let (mut peak, mut receiving) = (0, None);
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(status_kib(pid, "VmRSS:"));
                if receiving.is_none() && metric_bytes(&http) >= size {
                    receiving = Some(peak);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            receiving.unwrap_or(peak)
        })
    };
    let runtime = tokio::runtime::Handle::current();
    let install = |name: &str| {
        let events = tokio::task::block_in_place(|| {
            runtime.block_on(send_prepared(&target, "default", &prepared(bundle, name)))
        })
        .expect("upgrade stream");
        tokio::task::block_in_place(|| runtime.block_on(follow(events)));
    };
    install("bulk-child");
    stop.store(true, Ordering::Relaxed);
    let receiving = sampler.join().expect("sampler");
    let install_peak = status_kib(pid, "VmHWM:");
    // Idle for longer than berthd waits before it gives freed memory back
    // (agent/src/memory.rs).
    std::thread::sleep(berth_agent::memory::IDLE_AFTER * 3);
    let after = status_kib(pid, "VmRSS:");
    let received = metric_bytes(&http);
    install("bulk-child-again");
    let again_bytes = metric_bytes(&http) - received;
    let _ = child.kill();
    let _ = child.wait();
    Some(Memory {
        before,
        receiving,
        install: install_peak,
        after,
        again_bytes,
    })
}
