//! The journal at scale: one release with thousands of revisions of a
//! ~1 MB manifest, and a thousand releases, against Helm's storage.
//!
//! The journal is written the way berthd writes it — `Journal::begin`
//! (record, blobs and the first events in one transaction), the rest of
//! the operation's events with `append_events`, `Journal::finish` — with
//! the events an upgrade emits for that many objects (Accepted,
//! ChartReceived, Rendered, Planned, the apply phase, one ResourceApplied
//! per object, Completed). The release is a "fleet" chart: per service a
//! ConfigMap, a Service and a Deployment with varied, realistic content;
//! each upgrade changes one value (an env var of one Deployment and the
//! user value that sets it).
//!
//! Then an in-process berthd serves that journal over mTLS and the real
//! CLI runs `berth history NAME` (default `--max 256`) and `berth list`
//! against it; medians of N. Bytes on disk are the journal directory's
//! file sizes and `du`'s allocated blocks, against what Helm stores for the
//! same revisions: one Secret per revision whose data is the gzip+base64 of
//! the release JSON (`helm_release::encode`, Helm's own encoding).
//!
//!     cargo bench --locked -p berth --bench journal
//!     BERTH_BENCH_REVISIONS=500 BERTH_BENCH_RELEASES=100 cargo bench --bench journal
//!
//! Sizes: BERTH_BENCH_REVISIONS (10000), BERTH_BENCH_SERVICES (150, three
//! objects each), BERTH_BENCH_RELEASES (1000), BERTH_BENCH_ROUNDS (30),
//! BERTH_BENCH_HELM_SAMPLES (100: Helm's Secret is encoded exactly for that
//! many revisions spread over the history, and the mean times the count),
//! BERTH_BENCH_DATA (build or reuse the journal in this directory).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth::proto::{self, event::Kind};
use berth_agent::journal::{self, Begin, ChartRef, Finish, Journal, Lock, OpKind, RevisionRecord};
use serde_json::{Value, json};

mod common;
use common::{Capture, count, median};

const RELEASE: &str = "fleet";
const NAMESPACE: &str = "default";
const CHART_VERSION: &str = "3.2.1";
/// 2026-01-01T00:00:00Z; each revision a minute after the previous one.
const EPOCH_MS: i64 = 1_767_225_600_000;

/// A small deterministic generator (splitmix64): the same content every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn word(&mut self) -> &'static str {
        WORDS[self.below(WORDS.len() as u64) as usize]
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::new();
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
}

const WORDS: &[&str] = &[
    "alpha",
    "billing",
    "cache",
    "checkout",
    "cluster",
    "config",
    "consumer",
    "data",
    "delivery",
    "edge",
    "events",
    "feature",
    "gateway",
    "graph",
    "identity",
    "index",
    "inventory",
    "ledger",
    "metrics",
    "notify",
    "orders",
    "payments",
    "pipeline",
    "pricing",
    "profile",
    "queue",
    "quota",
    "ranking",
    "report",
    "search",
    "session",
    "shipping",
    "storage",
    "stream",
    "tenant",
    "token",
    "tracing",
    "upload",
    "user",
    "worker",
    "timeout",
    "retries",
    "pool",
    "batch",
    "window",
    "threshold",
    "endpoint",
    "region",
    "replica",
    "shard",
    "ttl",
    "limit",
    "buffer",
    "interval",
];

/// One service of the fleet chart: its default values and its objects.
struct Service {
    name: String,
    team: &'static str,
    version: String,
    replicas: u64,
    cpu: u64,
    memory: u64,
    port: u64,
    env: Vec<(String, String)>,
    properties: String,
    checksum: String,
}

impl Service {
    fn new(i: usize, rng: &mut Rng) -> Service {
        let name = format!("{}-{}-{i:03}", rng.word(), rng.word());
        let env = (0..8 + rng.below(6))
            .map(|_| {
                let key = format!("{}_{}", rng.word(), rng.word()).to_uppercase();
                let value = match rng.below(4) {
                    0 => format!("{}", rng.below(100_000)),
                    1 => format!(
                        "https://{}.{}.svc.cluster.local:{}",
                        rng.word(),
                        rng.word(),
                        8000 + rng.below(1000)
                    ),
                    2 => rng.hex(24),
                    _ => format!("{}-{}", rng.word(), rng.word()),
                };
                (key, value)
            })
            .collect();
        let mut properties = String::new();
        for _ in 0..40 + rng.below(50) {
            let value = match rng.below(5) {
                0 => format!("{}", rng.below(1_000_000)),
                1 => format!("{}ms", rng.below(60_000)),
                2 => rng.hex(16),
                3 => format!("{},{},{}", rng.word(), rng.word(), rng.word()),
                _ => (rng.below(2) == 0).to_string(),
            };
            properties.push_str(&format!(
                "    {}.{}.{}={value}\n",
                rng.word(),
                rng.word(),
                rng.word()
            ));
        }
        Service {
            team: rng.word(),
            version: format!("{}.{}.{}", 1 + rng.below(4), rng.below(30), rng.below(100)),
            replicas: 1 + rng.below(6),
            cpu: 50 * (1 + rng.below(20)),
            memory: 64 * (1 + rng.below(32)),
            port: 8000 + rng.below(1000),
            checksum: rng.hex(64),
            name,
            env,
            properties,
        }
    }

    fn configmap(&self) -> String {
        let n = &self.name;
        format!(
            "---\n# Source: fleet/templates/configmap.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}-config\n  labels:\n    app.kubernetes.io/name: {n}\n    app.kubernetes.io/instance: fleet\n    app.kubernetes.io/managed-by: Helm\n    helm.sh/chart: fleet-{CHART_VERSION}\ndata:\n  application.properties: |\n{}",
            self.properties
        )
    }

    fn service(&self) -> String {
        let n = &self.name;
        format!(
            "---\n# Source: fleet/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: {n}\n  labels:\n    app.kubernetes.io/name: {n}\n    app.kubernetes.io/instance: fleet\n    app.kubernetes.io/managed-by: Helm\n    helm.sh/chart: fleet-{CHART_VERSION}\n    team: {}\nspec:\n  type: ClusterIP\n  ports:\n    - port: 80\n      targetPort: http\n      protocol: TCP\n      name: http\n  selector:\n    app.kubernetes.io/name: {n}\n    app.kubernetes.io/instance: fleet\n",
            self.team
        )
    }

    /// The Deployment; `serial` is the value upgrades change.
    fn deployment(&self, serial: u64) -> String {
        let n = &self.name;
        let mut env = String::new();
        for (k, v) in &self.env {
            env.push_str(&format!(
                "            - name: {k}\n              value: \"{v}\"\n"
            ));
        }
        env.push_str(&format!(
            "            - name: ROLLOUT_SERIAL\n              value: \"{serial}\"\n"
        ));
        format!(
            "---\n# Source: fleet/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {n}\n  labels:\n    app.kubernetes.io/name: {n}\n    app.kubernetes.io/instance: fleet\n    app.kubernetes.io/version: \"{v}\"\n    app.kubernetes.io/managed-by: Helm\n    helm.sh/chart: fleet-{CHART_VERSION}\n    team: {t}\nspec:\n  replicas: {r}\n  revisionHistoryLimit: 5\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: {n}\n      app.kubernetes.io/instance: fleet\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: {n}\n        app.kubernetes.io/instance: fleet\n        team: {t}\n      annotations:\n        checksum/config: {c}\n        prometheus.io/scrape: \"true\"\n        prometheus.io/port: \"{p}\"\n    spec:\n      serviceAccountName: {n}\n      securityContext:\n        runAsNonRoot: true\n        runAsUser: 10001\n      containers:\n        - name: {n}\n          image: \"registry.example.com/{t}/{n}:{v}\"\n          imagePullPolicy: IfNotPresent\n          args:\n            - --config=/etc/{n}/application.properties\n            - --port={p}\n          env:\n{env}          ports:\n            - name: http\n              containerPort: {p}\n              protocol: TCP\n          livenessProbe:\n            httpGet:\n              path: /healthz\n              port: http\n            initialDelaySeconds: 10\n            periodSeconds: 10\n          readinessProbe:\n            httpGet:\n              path: /ready\n              port: http\n            periodSeconds: 5\n          resources:\n            requests:\n              cpu: {cpu}m\n              memory: {mem}Mi\n            limits:\n              cpu: {cpu2}m\n              memory: {mem2}Mi\n          volumeMounts:\n            - name: config\n              mountPath: /etc/{n}\n              readOnly: true\n      volumes:\n        - name: config\n          configMap:\n            name: {n}-config\n",
            v = self.version,
            t = self.team,
            r = self.replicas,
            c = self.checksum,
            p = self.port,
            cpu = self.cpu,
            mem = self.memory,
            cpu2 = self.cpu * 2,
            mem2 = self.memory * 2,
        )
    }

    fn defaults(&self) -> Value {
        json!({
            "replicas": self.replicas,
            "team": self.team,
            "image": {"repository": format!("registry.example.com/{}/{}", self.team, self.name), "tag": self.version},
            "port": self.port,
            "resources": {"requests": {"cpu": format!("{}m", self.cpu), "memory": format!("{}Mi", self.memory)}},
            "env": self.env.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "serial": 0,
        })
    }
}

/// The fleet chart's rendered state at one revision.
struct Fleet {
    services: Vec<Service>,
    /// Rendered documents, ConfigMaps, Services, Deployments (install order).
    docs: Vec<String>,
    serials: Vec<u64>,
    defaults: Value,
    chart: Vec<u8>,
    templates: Vec<(String, String)>,
}

impl Fleet {
    fn new(n: usize) -> Fleet {
        let mut rng = Rng(42);
        let services: Vec<Service> = (0..n).map(|i| Service::new(i, &mut rng)).collect();
        let mut docs: Vec<String> = services.iter().map(Service::configmap).collect();
        docs.extend(services.iter().map(Service::service));
        docs.extend(services.iter().map(|s| s.deployment(0)));
        let defaults = json!({
            "global": {"environment": "production", "registry": "registry.example.com"},
            "services": services.iter().map(|s| (s.name.clone(), s.defaults())).collect::<serde_json::Map<_, _>>(),
        });
        // Stand-ins for the chart's files: what Helm keeps in every Secret.
        let templates = vec![
            ("templates/configmap.yaml".to_string(), services[0].configmap().replace(&services[0].name, "{{ $name }}")),
            ("templates/service.yaml".to_string(), services[0].service().replace(&services[0].name, "{{ $name }}")),
            ("templates/deployment.yaml".to_string(), services[0].deployment(0).replace(&services[0].name, "{{ $name }}")),
            ("templates/_helpers.tpl".to_string(), "{{- define \"fleet.labels\" -}}\napp.kubernetes.io/instance: {{ .Release.Name }}\napp.kubernetes.io/managed-by: {{ .Release.Service }}\n{{- end }}\n".repeat(8)),
        ];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for (name, text) in &templates {
            std::io::Write::write_all(&mut gz, name.as_bytes()).unwrap();
            std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
        }
        std::io::Write::write_all(&mut gz, defaults.to_string().as_bytes()).unwrap();
        Fleet {
            serials: vec![0; n],
            chart: gz.finish().unwrap(),
            services,
            docs,
            defaults,
            templates,
        }
    }

    /// Revision `rev`'s change: one service's serial (revision 1 changes nothing).
    fn upgrade(&mut self, rev: u64) -> Value {
        if rev == 1 {
            return json!({});
        }
        let n = self.services.len();
        let s = (rev as usize * 7919) % n;
        self.serials[s] = rev;
        self.docs[2 * n + s] = self.services[s].deployment(rev);
        json!({"services": {self.services[s].name.clone(): {"serial": rev}}})
    }

    fn manifest(&self) -> String {
        self.docs.concat()
    }

    fn computed(&self, user: &Value) -> Value {
        let mut values = self.defaults.clone();
        for (i, s) in self.services.iter().enumerate() {
            values["services"][&s.name]["serial"] = json!(self.serials[i]);
        }
        let _ = user;
        values
    }

    /// Object references in install order, as the plan lists them (no
    /// namespace in the manifest) and as applied (the release's).
    fn objects(&self) -> Vec<proto::ObjectRef> {
        let mut refs = Vec::new();
        for (kind, api, suffix) in [
            ("ConfigMap", "v1", "-config"),
            ("Service", "v1", ""),
            ("Deployment", "apps/v1", ""),
        ] {
            for s in &self.services {
                refs.push(proto::ObjectRef {
                    api_version: api.into(),
                    kind: kind.into(),
                    namespace: String::new(),
                    name: format!("{}{suffix}", s.name),
                });
            }
        }
        refs
    }
}

const NOTES: &str =
    "fleet is deployed.\n\nServices:\n  kubectl get deploy -l app.kubernetes.io/instance=fleet\n";

fn event(rev: u64, seq: u64, time: i64, kind: Kind) -> proto::Event {
    proto::Event {
        release: RELEASE.into(),
        namespace: NAMESPACE.into(),
        revision: rev,
        seq,
        time_unix_ms: time,
        kind: Some(kind),
    }
}

/// The events of an upgrade of `objects`, as berthd's upgrade emits them:
/// the first three go into `begin`, the rest are appended, the last one
/// after `finish`.
fn upgrade_events(
    rev: u64,
    t0: i64,
    objects: &[proto::ObjectRef],
    changed: Option<usize>,
    chart: &ChartRef,
    chart_size: u64,
) -> Vec<proto::Event> {
    let mut kinds = vec![
        Kind::Accepted(proto::Accepted {
            operation: if rev == 1 {
                proto::Operation::Install
            } else {
                proto::Operation::Upgrade
            } as i32,
            identity: "ci-deployer".into(),
            chart_needed: rev == 1,
            previous_revision: rev - 1,
        }),
        Kind::ChartReceived(proto::ChartReceived {
            digest: chart.digest.clone(),
            size: chart_size,
            cached: rev > 1,
            chart_name: chart.name.clone(),
            chart_version: chart.version.clone(),
        }),
        Kind::Rendered(proto::Rendered {
            objects: objects.len() as u32,
            hooks: 0,
            warnings: vec![],
        }),
    ];
    let action = |i: usize| {
        if rev == 1 {
            (proto::PlanAction::Create, proto::ApplyAction::Created)
        } else if Some(i) == changed {
            (proto::PlanAction::Update, proto::ApplyAction::Configured)
        } else {
            (proto::PlanAction::Unchanged, proto::ApplyAction::Unchanged)
        }
    };
    kinds.push(Kind::Planned(proto::Planned {
        changes: objects
            .iter()
            .enumerate()
            .map(|(i, o)| proto::PlannedChange {
                object: Some(o.clone()),
                action: action(i).0 as i32,
            })
            .collect(),
    }));
    kinds.push(Kind::Phase(proto::PhaseStarted {
        name: "apply".into(),
        time_left_ms: 299_870,
    }));
    for (i, o) in objects.iter().enumerate() {
        let mut applied = o.clone();
        applied.namespace = NAMESPACE.into();
        kinds.push(Kind::ResourceApplied(proto::ResourceApplied {
            object: Some(applied),
            action: action(i).1 as i32,
        }));
    }
    kinds.push(Kind::Completed(proto::Completed {
        status: proto::ReleaseStatus::Deployed as i32,
        description: if rev == 1 {
            "Install complete"
        } else {
            "Upgrade complete"
        }
        .into(),
        notes: NOTES.into(),
        ..Default::default()
    }));
    let mut t = t0;
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            t += (i % 3 == 0) as i64 + if i < 5 { 40 } else { 0 };
            event(rev, i as u64 + 1, t, k)
        })
        .collect()
}

/// One operation through the journal, as berthd records it.
async fn record(
    j: &Journal,
    ns: &str,
    name: &str,
    rev: u64,
    blobs: Vec<Vec<u8>>,
    chart: &ChartRef,
    events: Vec<proto::Event>,
) {
    let t0 = events[0].time_unix_ms;
    let kind = if rev == 1 {
        OpKind::Install
    } else {
        OpKind::Upgrade
    };
    let record = RevisionRecord {
        revision: rev,
        status: kind.pending_status(),
        operation: kind,
        chart: chart.clone(),
        description: format!("{} in progress", kind.title()),
        by: "ci-deployer".into(),
        client_addr: "10.20.30.40:52144".into(),
        client_version: "berth 0.1.0".into(),
        created_ms: t0,
        updated_ms: t0,
        manifest_blob: journal::digest(&blobs[1]),
        hooks_blob: journal::digest(&blobs[2]),
        values_blob: journal::digest(&blobs[3]),
        computed_values_blob: journal::digest(&blobs[4]),
        notes_blob: journal::digest(&blobs[5]),
        rollback_of: None,
        labels: Default::default(),
        test_runs: Vec::new(),
    };
    let events: Vec<proto::Event> = events
        .into_iter()
        .map(|mut e| {
            e.namespace = ns.into();
            e.release = name.into();
            e
        })
        .collect();
    let (first, rest) = events.split_at(3);
    let (rest, last) = rest.split_at(rest.len() - 1);
    j.begin(
        ns,
        name,
        Begin {
            record,
            chart: None,
            blobs,
            lock: Lock {
                revision: rev,
                operation: kind,
                since_ms: t0,
                identity: "ci-deployer".into(),
                previous_status: None,
            },
            events: first.to_vec(),
        },
    )
    .await
    .expect("begin");
    j.append_events(rest).expect("events");
    j.finish(
        ns,
        name,
        rev,
        Finish {
            status: journal::Status::Deployed,
            description: format!("{} complete", kind.title()),
            deploys: true,
            undeploys: false,
            supersedes: None,
        },
    )
    .await
    .expect("finish");
    j.append_events(last).expect("events");
}

/// Helm's release JSON of one revision (pkg/release/v1), as `berth
/// export-helm` writes it.
fn helm_release(fleet: &Fleet, rev: u64, user: &Value, manifest: &str) -> Value {
    let files = |fs: &[(String, String)]| -> Value {
        fs.iter()
            .map(|(n, d)| json!({"name": n, "data": berth_agent::helm_release::bytes_json(d.as_bytes())}))
            .collect()
    };
    let t = |ms: i64| berth_agent::helm_release::time_json(ms);
    let mut release = json!({
        "name": RELEASE,
        "info": {
            "first_deployed": t(EPOCH_MS),
            "last_deployed": t(EPOCH_MS + rev as i64 * 60_000),
            "deleted": "",
            "description": if rev == 1 { "Install complete" } else { "Upgrade complete" },
            "status": "superseded",
            "notes": NOTES,
        },
        "chart": {
            "metadata": {"name": "fleet", "version": CHART_VERSION, "appVersion": CHART_VERSION, "apiVersion": "v2", "type": "application"},
            "lock": null,
            "templates": files(&fleet.templates),
            "values": fleet.defaults,
            "schema": null,
            "schemamodtime": "0001-01-01T00:00:00Z",
            "files": [],
        },
        "manifest": manifest,
        "hooks": [],
        "version": rev,
        "namespace": NAMESPACE,
    });
    if user.as_object().is_some_and(|m| !m.is_empty()) {
        release["config"] = user.clone();
    }
    release
}

struct Built {
    revisions: u64,
    releases: usize,
    manifest_bytes: usize,
    objects: usize,
    events_per_revision: usize,
    helm_bytes: f64,
    helm_sampled: usize,
    gzip_ratio: f64,
    write_median: Duration,
    build_time: Duration,
}

async fn build(
    data: &Path,
    revisions: u64,
    services: usize,
    releases: usize,
    samples: usize,
) -> Built {
    let started = Instant::now();
    let mut fleet = Fleet::new(services);
    let j = Journal::open(data).expect("journal opens");
    let chart = ChartRef {
        name: "fleet".into(),
        version: CHART_VERSION.into(),
        app_version: CHART_VERSION.into(),
        digest: journal::digest(&fleet.chart),
    };
    let objects = fleet.objects();
    let stride = (revisions / samples.max(1) as u64).max(1);
    let (mut helm_sum, mut helm_n, mut json_sum) = (0f64, 0usize, 0f64);
    let mut writes = Vec::new();
    let mut manifest_bytes = 0;
    let mut events_per_revision = 0;
    for rev in 1..=revisions {
        let user = fleet.upgrade(rev);
        let manifest = fleet.manifest();
        manifest_bytes = manifest.len();
        let computed = fleet.computed(&user);
        let changed = (rev > 1).then(|| 2 * services + (rev as usize * 7919) % services);
        if (rev - 1) % stride == 0 {
            let release = helm_release(&fleet, rev, &user, &manifest);
            let encoded = berth_agent::helm_release::encode(&release);
            helm_sum += encoded.len() as f64;
            json_sum += release.to_string().len() as f64;
            helm_n += 1;
        }
        let blobs = vec![
            fleet.chart.clone(),
            manifest.into_bytes(),
            b"[]".to_vec(),
            user.to_string().into_bytes(),
            computed.to_string().into_bytes(),
            NOTES.as_bytes().to_vec(),
        ];
        let t0 = EPOCH_MS + rev as i64 * 60_000;
        let events = upgrade_events(rev, t0, &objects, changed, &chart, fleet.chart.len() as u64);
        events_per_revision = events.len();
        let start = Instant::now();
        record(&j, NAMESPACE, RELEASE, rev, blobs, &chart, events).await;
        writes.push(start.elapsed());
        if rev % 1000 == 0 {
            eprintln!("  {rev} revisions written ({:.0?})", started.elapsed());
        }
    }
    // The list case: many small releases (the demo chart's three objects).
    let small = Fleet::new(1);
    let small_chart = ChartRef {
        digest: journal::digest(&small.chart),
        ..chart.clone()
    };
    let small_objects = small.objects();
    for i in 0..releases {
        let name = format!("app-{i:04}");
        let blobs = vec![
            small.chart.clone(),
            small.manifest().replace("fleet", &name).into_bytes(),
            b"[]".to_vec(),
            json!({"replicas": 1 + i % 3}).to_string().into_bytes(),
            small.computed(&json!({})).to_string().into_bytes(),
            NOTES.as_bytes().to_vec(),
        ];
        let events = upgrade_events(
            1,
            EPOCH_MS + i as i64 * 1000,
            &small_objects,
            None,
            &small_chart,
            small.chart.len() as u64,
        );
        record(&j, NAMESPACE, &name, 1, blobs, &small_chart, events).await;
    }
    j.flush().await.expect("flush");
    drop(j);
    Built {
        revisions,
        releases,
        manifest_bytes,
        objects: objects.len(),
        events_per_revision,
        helm_bytes: helm_sum / helm_n as f64 * revisions as f64,
        helm_sampled: helm_n,
        gzip_ratio: json_sum / helm_sum,
        write_median: median(writes),
        build_time: started.elapsed(),
    }
}

/// Sum of file sizes, and blocks allocated (`du`), under `dir`.
fn disk_usage(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let (mut len, mut blocks) = (0, 0);
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let meta = entry.metadata().expect("metadata");
        if meta.is_dir() {
            let (l, b) = disk_usage(&entry.path());
            len += l;
            blocks += b;
        } else {
            len += meta.len();
            blocks += meta.blocks() * 512;
        }
    }
    (len, blocks)
}

/// What sled holds, per tree: records and key + value bytes (the live
/// data, against the file's size).
fn tree_bytes(data: &Path) -> Vec<(String, usize, u64)> {
    // A journal handle just dropped (a background collection's) may still
    // hold sled's lock for a moment.
    let mut tries = 0;
    let db = loop {
        match sled::open(data.join("journal")) {
            Ok(db) => break db,
            Err(e) if tries < 40 => {
                tries += 1;
                eprintln!("sled opens: {e}; again");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("sled opens: {e}"),
        }
    };
    let mut out = Vec::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name).expect("tree");
        let (mut n, mut bytes) = (0, 0u64);
        for kv in tree.iter() {
            let (k, v) = kv.expect("record");
            n += 1;
            bytes += (k.len() + v.len()) as u64;
        }
        if n > 0 {
            out.push((String::from_utf8_lossy(&name).into_owned(), n, bytes));
        }
    }
    // The blobs' bytes are in the pack files (journal format 4): counted
    // as files, what a collection did not compact away included.
    let packs = data.join("packs");
    if packs.is_dir() {
        let files = std::fs::read_dir(&packs).expect("read packs").count();
        out.push(("pack files".into(), files, disk_usage(&packs).0));
    }
    out
}

/// Medians of `rounds` runs of the CLI with `args`, and its last output.
async fn cli(conn: &[String], args: &[&str], rounds: usize) -> (Duration, String) {
    let mut times = Vec::new();
    let mut out = String::new();
    for round in 0..=rounds {
        let mut argv: Vec<String> = vec!["berth".into()];
        argv.extend(args.iter().map(|s| s.to_string()));
        argv.extend(conn.iter().cloned());
        let (stdout, stderr) = (Capture::default(), Capture::default());
        let mut io = berth_cli::Io::new(Box::new(stdout.clone()), Box::new(stderr.clone()));
        let start = Instant::now();
        let code = berth_cli::run(argv.clone(), &mut io).await;
        let took = start.elapsed();
        assert_eq!(code, 0, "berth {argv:?} failed: {}", stderr.text());
        if round > 0 {
            times.push(took);
        }
        out = stdout.text();
    }
    (median(times), out)
}

fn timed<T>(rounds: usize, mut f: impl FnMut() -> T) -> Duration {
    f();
    median(
        (0..rounds)
            .map(|_| {
                let s = Instant::now();
                std::hint::black_box(f());
                s.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn mb(b: f64) -> String {
    format!("{:.1} MB", b / 1e6)
}

#[tokio::main]
async fn main() {
    let revisions = count("BERTH_BENCH_REVISIONS", 10_000) as u64;
    let services = count("BERTH_BENCH_SERVICES", 150);
    let releases = count("BERTH_BENCH_RELEASES", 1000);
    let rounds = count("BERTH_BENCH_ROUNDS", 30);
    let samples = count("BERTH_BENCH_HELM_SAMPLES", 100);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let data: PathBuf = std::env::var("BERTH_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| tmp.path().join("data"));
    eprintln!(
        "building the journal in {} ({revisions} revisions, {} objects each, {releases} releases)",
        data.display(),
        services * 3
    );
    let built = build(&data, revisions, services, releases, samples).await;
    let (len, allocated) = disk_usage(&data);
    let trees = tree_bytes(&data);

    // In-process: the journal's own reads, for the profile.
    let (history_in, list_in, blob_in) = {
        let j = Journal::open_existing(&data).expect("journal reopens");
        let h = timed(rounds, || j.history(NAMESPACE, RELEASE, 256).unwrap().len());
        let l = timed(rounds, || {
            j.heads()
                .unwrap()
                .iter()
                .map(|h| {
                    j.revision(&h.namespace, &h.name, h.latest)
                        .unwrap()
                        .is_some() as usize
                })
                .sum::<usize>()
        });
        let latest = j.revision(NAMESPACE, RELEASE, revisions).unwrap().unwrap();
        let b = timed(rounds, || j.text_blob(&latest.manifest_blob).unwrap().len());
        (h, l, b)
    };

    let stack =
        common::Stack::start_with(berth_sim::Clock::Real { scale: 1.0 }, Some(data.clone())).await;
    let (history, history_out) = cli(&stack.conn, &["history", RELEASE], rounds).await;
    let (list, list_out) = cli(&stack.conn, &["list"], rounds).await;
    let (list_all, _) = cli(&stack.conn, &["list", "--max", "0"], rounds).await;
    let (manifest, manifest_out) =
        cli(&stack.conn, &["get", "manifest", RELEASE], rounds.min(10)).await;
    stack.stop().await;
    assert_eq!(
        history_out.lines().count(),
        257.min(revisions as usize + 1),
        "history shows the last 256"
    );
    assert_eq!(
        manifest_out.len(),
        built.manifest_bytes,
        "get manifest returns the stored manifest"
    );
    let listed = list_out.lines().count() - 1;

    let helm = built.helm_bytes;
    println!(
        "{} revisions of one release ({} objects, {:.2} MB manifest, {} events each) + {} one-revision releases; \
         medians of {rounds}; Helm's bytes from {} revisions encoded exactly (release JSON gzips {:.1}:1), scaled to {}\n",
        built.revisions,
        built.objects,
        built.manifest_bytes as f64 / 1e6,
        built.events_per_revision,
        built.releases,
        built.helm_sampled,
        built.gzip_ratio,
        built.revisions
    );
    println!("| measure | berth | goal | Helm v4 | berth / Helm |");
    println!("|---|---|---|---|---|");
    println!(
        "| `berth history {RELEASE}` (last 256) | {} | < 20 ms | – | – |",
        ms(history)
    );
    println!(
        "| `berth list` ({} releases, {listed} shown) | {} | < 50 ms | – | – |",
        built.releases + 1,
        ms(list)
    );
    println!(
        "| `berth list --max 0` (all shown) | {} | – | – | – |",
        ms(list_all)
    );
    println!(
        "| `berth get manifest {RELEASE}` (newest) | {} | – | – | – |",
        ms(manifest)
    );
    println!(
        "| journal on disk, file sizes | {} | ≤ {} (5%) | {} | {:.3} |",
        mb(len as f64),
        mb(helm * 0.05),
        mb(helm),
        len as f64 / helm
    );
    println!(
        "| journal on disk, allocated (`du`) | {} | ≤ {} (5%) | {} | {:.3} |",
        mb(allocated as f64),
        mb(helm * 0.05),
        mb(helm),
        allocated as f64 / helm
    );
    println!(
        "| per revision on disk (file sizes) | {:.1} KB | – | {:.1} KB | – |",
        len as f64 / built.revisions as f64 / 1e3,
        helm / built.revisions as f64 / 1e3
    );
    println!();
    let live: u64 = trees.iter().map(|t| t.2).sum();
    let per_tree: Vec<String> = trees
        .iter()
        .map(|(name, n, bytes)| match name.as_str() {
            "pack files" => format!("{n} pack files {}", mb(*bytes as f64)),
            _ => format!("{name} {n} records {}", mb(*bytes as f64)),
        })
        .collect();
    println!(
        "Live data (keys + values) {} of the {} file: {}.\n",
        mb(live as f64),
        mb(len as f64),
        per_tree.join(", ")
    );
    println!(
        "In-process (no gRPC): newest 256 revision records of {RELEASE} {}, every head + its newest revision {}, newest manifest {}; \
              one upgrade's journal writes (begin + events + finish: the new blobs' pack synced, two sled flushes) {}; build {:.0?}.",
        ms(history_in),
        ms(list_in),
        ms(blob_in),
        ms(built.write_median),
        built.build_time
    );

    // Garbage collection: what a collection costs on this journal (writes
    // wait while it runs), then `--history-max 10` on the big release and
    // what collecting leaves. The prune starts a collection of its own in
    // the background (it dropped more than COLLECT_AFTER_DROPPED); the
    // timed one after it waits for that one, then finds nothing. Last: it
    // changes the journal.
    let count_of = |trees: &[(String, usize, u64)], name: &str| {
        trees.iter().find(|t| t.0 == name).map(|t| t.1).unwrap_or(0)
    };
    let collect = |j: &Journal| {
        let j = j.clone();
        tokio::task::spawn_blocking(move || {
            let start = Instant::now();
            j.collect_garbage().expect("collects");
            start.elapsed()
        })
    };
    let rss = || common::status_kib(std::process::id(), "VmRSS:") as f64 / 1024.0;
    let (nothing, pruned, after_prune, rss_around) = {
        let j = Journal::open(&data).expect("journal reopens");
        let before = rss();
        let nothing = collect(&j).await.unwrap();
        let around = (before, rss());
        j.prune_history(NAMESPACE, RELEASE, 10)
            .await
            .expect("prunes");
        let pruned = j.history(NAMESPACE, RELEASE, usize::MAX).unwrap().len();
        (nothing, pruned, collect(&j).await.unwrap(), around)
    };
    let after = tree_bytes(&data);
    let (len_after, _) = disk_usage(&data);
    let live_after: u64 = after.iter().map(|t| t.2).sum();
    let helm_kept = helm * pruned as f64 / built.revisions as f64;
    println!(
        "\nGarbage collection (2026-12-05): a collection that finds nothing on this journal takes {}; \
         after `--history-max 10` dropped {} of {RELEASE}'s revisions, the bench's own pass right after \
         the prune took {} (it waited for the collection the prune started, or was the one that removed): \
         blobs {} → {} records, nodes {} → {}; live data {} → {} (it includes the {} one-revision releases; \
         Helm's Secrets for the {pruned} revisions of {RELEASE} it would keep: {}); the file {} → {}. \
         The bench process's RSS around the first collection: {:.1} → {:.1} MiB.",
        ms(nothing),
        built.revisions as usize - pruned,
        ms(after_prune),
        count_of(&trees, "blobs"),
        count_of(&after, "blobs"),
        count_of(&trees, "nodes"),
        count_of(&after, "nodes"),
        mb(live as f64),
        mb(live_after as f64),
        built.releases,
        mb(helm_kept),
        mb(len as f64),
        mb(len_after as f64),
        rss_around.0,
        rss_around.1,
    );
}
