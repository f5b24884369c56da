//! Install and upgrade (one pipeline, as `helm upgrade --install` is one
//! verb): decide which it is, receive the chart, render, record the pending
//! revision, deploy, record the outcome.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use berth::chart;
use berth::proto::{self, UpgradeHeader, UpgradeMode, event::Kind};
use berth::types::{Namespace, ReleaseName};
use berth_template::helm;
use serde_json::Value;
use tokio::time::Instant;

pub use super::receive::{ChartBuffer, ChartBytes, Received};
use super::{Agent, Caller, Deploy, Failure, OpError, conclude, deploy, finish, refuse};
use crate::cluster::LiveLookup;
use crate::events::OpEvents;
use crate::journal::{self, Begin, ChartPin, ChartRef, Lock, OpKind, RevisionRecord, Status};

/// An accepted install/upgrade, waiting for its chart.
pub struct Prepared {
    pub op: Arc<OpEvents>,
    pub chart_needed: bool,
    pub chart_digest: String,
    pub chart_size: u64,
    /// The client can send the chart on a chart connection.
    pub chart_connection: bool,
    kind: OpKind,
    namespace: Namespace,
    name: ReleaseName,
    options: proto::OperationOptions,
    /// The operation's timeout, checked (see [`super::timeout`]).
    timeout: std::time::Duration,
    caller: Caller,
    user_values: Value,
    /// The documents the chart's schemas refer to by URL, read by the client.
    remote_schemas: std::sync::Arc<berth_template::helm::RemoteSchemas>,
    /// The revision being upgraded (Helm's "current release").
    current: Option<RevisionRecord>,
    /// The labels the new revision records (Helm's --labels).
    labels: BTreeMap<String, String>,
    /// The uninstalled revision an install replaces (marked superseded).
    replaces: Option<u64>,
    /// The chart is not swept while the operation runs: from before it is
    /// told whether to send it until its revision names it.
    _chart: ChartPin,
}

/// Validate the header, decide install or upgrade, and take the release's
/// lock. Nothing is recorded yet.
pub fn prepare(agent: &Agent, header: UpgradeHeader, caller: Caller) -> Result<Prepared, OpError> {
    let options = header.options.as_ref();
    let timeout = super::timeout(agent, options.map_or(0, |o| o.timeout_seconds))?;
    let name = ReleaseName::parse(&header.release)?;
    let namespace = Namespace::parse(&header.namespace)?;
    let max_values = agent.settings.max_values;
    if header.values_json.len() > max_values {
        return Err(OpError::Invalid(format!(
            "values: {} bytes (as JSON) exceed the limit of {max_values} bytes",
            header.values_json.len()
        )));
    }
    let user_values: Value = if header.values_json.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        berth::values::from_json(&header.values_json)
            .map_err(|e| OpError::Invalid(format!("values: {e}")))?
    };
    if !user_values.is_object() {
        return Err(OpError::Invalid("values: must be a map".into()));
    }
    let remote_bytes: usize = header
        .remote_schemas
        .iter()
        .map(|(url, d)| url.len() + d.content.len() + d.error.len())
        .sum();
    if header.remote_schemas.len() > berth::schema_refs::MAX_DOCUMENTS
        || remote_bytes as u64 > berth::schema_refs::MAX_BYTES
    {
        return Err(OpError::Invalid(format!(
            "values.schema.json: {} documents read for its references ({remote_bytes} bytes) exceed the limit of {} documents, {} bytes",
            header.remote_schemas.len(),
            berth::schema_refs::MAX_DOCUMENTS,
            berth::schema_refs::MAX_BYTES
        )));
    }
    let remote_schemas = std::sync::Arc::new(berth::schema_refs::from_proto(header.remote_schemas));
    if !journal::is_digest(&header.chart_digest) {
        return Err(OpError::Invalid(format!(
            "chart digest {:?} is not a lower-case sha256 hex string",
            header.chart_digest
        )));
    }
    let limits = &agent.settings.limits;
    if header.chart_size == 0 {
        return Err(OpError::Invalid(
            "chart: the header declares an empty chart".into(),
        ));
    }
    if header.chart_size > limits.max_packed {
        return Err(OpError::Invalid(format!(
            "chart: the packed chart ({} bytes) exceeds the limit of {} bytes",
            header.chart_size, limits.max_packed
        )));
    }
    let mode = UpgradeMode::try_from(header.mode).unwrap_or(UpgradeMode::Unspecified);
    let (ns, rel) = (namespace.as_str(), name.as_str());
    let head = agent.journal.head(ns, rel)?;
    if let Some(lock) = head.as_ref().and_then(|h| h.lock.as_ref()) {
        return Err(OpError::Busy(crate::events::Busy {
            release: rel.to_string(),
            revision: lock.revision,
            operation: lock.operation.title().to_lowercase(),
        }));
    }
    let last = match &head {
        Some(h) => agent.journal.revision(ns, rel, h.latest)?,
        None => None,
    };
    let replace = header.options.as_ref().is_some_and(|o| o.replace);
    let dry_run = header.options.as_ref().is_some_and(|o| o.dry_run);
    if header.options.as_ref().is_some_and(|o| o.render_as_upgrade)
        && !(dry_run && mode == UpgradeMode::Install)
    {
        return Err(OpError::Invalid(
            "render_as_upgrade is for a dry-run install only".into(),
        ));
    }
    let (kind, current) = match (mode, &last) {
        // Helm's --replace: the name of an uninstalled or failed release.
        (UpgradeMode::Install, Some(l))
            if replace && matches!(l.status, Status::Uninstalled | Status::Failed) =>
        {
            (OpKind::Install, None)
        }
        // Helm's install checks the name only when it is no dry run
        // (availableName): a dry run renders and checks as a new release.
        (UpgradeMode::Install, Some(_)) if dry_run => (OpKind::Install, None),
        // Helm's install wraps availableName's refusal (pkg/action/install.go).
        (UpgradeMode::Install, Some(_)) => {
            return Err(OpError::AlreadyExists(
                "release name check failed: cannot reuse a name that is still in use".into(),
            ));
        }
        (UpgradeMode::Install, None) | (UpgradeMode::UpgradeOrInstall, None) => {
            (OpKind::Install, None)
        }
        (UpgradeMode::UpgradeOrInstall, Some(l)) if l.status == Status::Uninstalled => {
            (OpKind::Install, None)
        }
        (UpgradeMode::Upgrade, None) => {
            return Err(OpError::NotFound(format!(
                "{rel:?} has no deployed releases"
            )));
        }
        (UpgradeMode::Unspecified, _) => {
            return Err(OpError::Invalid("upgrade mode is required".into()));
        }
        (_, Some(l)) => {
            // Helm's prepareUpgrade: the deployed revision, else a failed or
            // superseded last one.
            let deployed = match head.as_ref().and_then(|h| h.deployed) {
                Some(d) => agent.journal.revision(ns, rel, d)?,
                None => None,
            };
            match deployed {
                Some(d) => (OpKind::Upgrade, Some(d)),
                None if matches!(l.status, Status::Failed | Status::Superseded) => {
                    (OpKind::Upgrade, Some(l.clone()))
                }
                None => {
                    return Err(OpError::NotFound(format!(
                        "{rel:?} has no deployed releases"
                    )));
                }
            }
        }
    };
    let options = header.options.unwrap_or_default();
    let labels = release_labels(&options, kind, last.as_ref())?;
    // An install over an uninstalled release supersedes it (Helm's Replace,
    // which upgrade --install sets too); a failed one keeps its status.
    let replaces = last
        .as_ref()
        .filter(|l| kind == OpKind::Install && l.status == Status::Uninstalled)
        .map(|l| l.revision);
    // A dry-run install records nothing and is Helm's revision 1, whatever
    // the name held before (Helm numbers a replacing install only when it
    // records it).
    let revision = if dry_run && kind == OpKind::Install {
        1
    } else {
        head.as_ref().map(|h| h.latest).unwrap_or(0) + 1
    };
    let op = agent
        .registry
        .start(&agent.journal, ns, rel, revision, kind, 0)?;
    let chart = agent.journal.pin_chart(&header.chart_digest);
    let chart_needed = match agent.journal.has_blob(&header.chart_digest) {
        Ok(has) => !has,
        Err(e) => {
            agent.registry.end(&op);
            return Err(e.into());
        }
    };
    op.emit(Kind::Accepted(proto::Accepted {
        operation: kind.to_proto() as i32,
        identity: caller.identity.clone(),
        chart_needed,
        previous_revision: current.as_ref().map(|c| c.revision).unwrap_or(0),
    }));
    Ok(Prepared {
        op,
        chart_needed,
        chart_digest: header.chart_digest,
        chart_size: header.chart_size,
        chart_connection: header.chart_connection,
        kind,
        namespace,
        name,
        options,
        timeout,
        caller,
        user_values,
        remote_schemas,
        current,
        labels,
        replaces,
        _chart: chart,
    })
}

/// The labels an install records, or those an upgrade records: the last
/// revision's merged with the new ones, a value "null" removing one (Helm's
/// mergeCustomLabels). Helm's own Secret labels are refused, in its words,
/// and labels Kubernetes would refuse on that Secret.
fn release_labels(
    options: &proto::OperationOptions,
    kind: OpKind,
    last: Option<&RevisionRecord>,
) -> Result<BTreeMap<String, String>, OpError> {
    use crate::helm_release::SYSTEM_LABELS;
    if options
        .labels
        .keys()
        .any(|k| SYSTEM_LABELS.contains(&k.as_str()))
    {
        return Err(OpError::Invalid(format!(
            "user supplied labels contains system reserved label name. System labels: [{}]",
            SYSTEM_LABELS.join(" ")
        )));
    }
    for (k, v) in &options.labels {
        berth::types::check_label(k, v).map_err(OpError::Invalid)?;
    }
    let given = options.labels.iter().map(|(k, v)| (k.clone(), v.clone()));
    if kind == OpKind::Install {
        return Ok(given.collect());
    }
    let mut labels = last.map(|l| l.labels.clone()).unwrap_or_default();
    labels.extend(given);
    labels.retain(|_, v| v != "null");
    Ok(labels)
}

/// Helm's upgrade value rules (action/upgrade.go reuseValues).
fn effective_values(p: &Prepared, agent: &Agent) -> Result<Value, Failure> {
    let Some(current) = &p.current else {
        return Ok(p.user_values.clone());
    };
    let o = &p.options;
    if o.reset_values {
        return Ok(p.user_values.clone());
    }
    let old: Value = berth::values::from_json(&agent.journal.text_blob(&current.values_blob)?)
        .map_err(|e| Failure::new("JournalError", format!("stored values: {e}")))?;
    let empty = p.user_values.as_object().is_none_or(|m| m.is_empty());
    if o.reuse_values || o.reset_then_reuse_values {
        let (Value::Object(old), Value::Object(new)) = (old, p.user_values.clone()) else {
            return Ok(p.user_values.clone());
        };
        return Ok(Value::Object(berth::values::merge_maps(old, new)));
    }
    if empty && old.as_object().is_some_and(|m| !m.is_empty()) {
        return Ok(old);
    }
    Ok(p.user_values.clone())
}

/// Run an accepted install/upgrade to its end with the chart bytes `chart`
/// receives (or the reason the upload failed). Always ends with a Completed
/// or Failed event and releases the lock.
pub async fn run(
    agent: Arc<Agent>,
    p: Prepared,
    chart: impl std::future::Future<Output = (Result<Option<Received>, Failure>, Inbound)>,
) {
    let op = Arc::clone(&p.op);
    let digest = p.chart_digest.clone();
    super::supervise(&agent, &op, async {
        let (received, inbound) = chart.await;
        execute(&agent, p, received, inbound).await
    })
    .await;
    // Its pin is gone with the operation: a chart file kept for a revision
    // that never came, or that an --atomic install forgot, goes now rather
    // than at the next start.
    let named_here = agent
        .journal
        .head(&op.namespace, &op.release)
        .ok()
        .flatten()
        .and_then(|h| {
            agent
                .journal
                .revision(&op.namespace, &op.release, h.latest)
                .ok()
                .flatten()
        })
        .is_some_and(|r| r.chart.digest == digest);
    if named_here {
        return;
    }
    let agent2 = Arc::clone(&agent);
    let swept = tokio::task::spawn_blocking(move || {
        agent2
            .journal
            .sweep_dropped(std::collections::HashSet::from([digest]))
    })
    .await;
    if let Err(e) = swept {
        tracing::warn!(error = %e, "chart sweep task");
    }
}

/// The rest of an Upgrade call after the chart's trailer.
pub type Inbound = tonic::Streaming<proto::UpgradeRequest>;

async fn execute(
    agent: &Arc<Agent>,
    p: Prepared,
    chart_bytes: Result<Option<Received>, Failure>,
    inbound: Inbound,
) {
    let op = Arc::clone(&p.op);
    let timeout = p.timeout;
    let deadline = Instant::now() + timeout;
    let mut staged = match stage(agent, &p, chart_bytes, deadline, inbound).await {
        Ok(s) => s,
        Err(f) => return refuse(&op, f),
    };
    let (pre, post) = match p.kind {
        OpKind::Install => ("pre-install", "post-install"),
        _ => ("pre-upgrade", "post-upgrade"),
    };
    // The objects of the revision being replaced: what to plan, diff and
    // prune against. Parsed on a thread of its own while the kinds are
    // checked and the objects read (≈ 11 ms for 200 objects, which came
    // before the first read).
    let previous = p
        .current
        .as_ref()
        .map(|c| super::start_parsing(&agent.journal, c));
    // Every kind must resolve before anything is recorded or applied (a
    // dry run is refused the same way).
    let check = super::kinds::Check {
        manifest: match p.kind {
            OpKind::Install => "release manifest",
            _ => "new release manifest",
        },
        objects: &staged.objects,
        crds: &staged.crds,
        hooks: if p.options.no_hooks {
            &[]
        } else {
            &staged.hooks
        },
        events: (pre, post),
    };
    if let Err(f) = super::kinds::check(agent, check).await {
        return refuse(&op, f);
    }
    // The objects as they are now, read once for the ownership check and
    // the applies (a dry run applies nothing: its check reads what it needs).
    let before = if p.options.dry_run {
        None
    } else {
        Some(
            super::read_all(
                agent,
                &staged.objects,
                p.name.as_str(),
                p.namespace.as_str(),
                deadline,
            )
            .await,
        )
    };
    let previous = match previous {
        Some(parsing) => parsing.await.unwrap_or_default(),
        None => Vec::new(),
    };
    // Nor may it take over what exists and is not the release's (a dry run
    // rendered as an upgrade does not check, as Helm's template
    // --is-upgrade).
    if !p.options.take_ownership && !p.options.render_as_upgrade {
        let check = super::ownership::Check {
            release: p.name.as_str(),
            namespace: p.namespace.as_str(),
            operation: match p.kind {
                OpKind::Install => "install",
                _ => "update",
            },
            objects: &staged.objects,
            previous: &previous,
            before: before.as_deref(),
        };
        if let Err(f) = super::ownership::check(agent, check).await {
            return refuse(&op, f);
        }
    }
    if p.options.dry_run {
        let (ns, rel) = (p.namespace.as_str(), p.name.as_str());
        let how = super::diff::How {
            show_secrets: p.options.show_secrets,
            validation: super::install_validation(&p.options),
        };
        // Shown as diffs (`berth diff`), or only sent: as Helm's
        // --dry-run=server, every object goes to the API server as a dry
        // run, so what the server would refuse is refused now.
        let checked = if p.options.diff {
            super::diff::diff(agent, &op, rel, ns, &staged.objects, &previous, &how).await
        } else {
            super::diff::dry_run(agent, rel, ns, &staged.objects, &how).await
        };
        if let Err(f) = checked {
            return refuse(&op, f);
        }
        // What Helm prints after a dry run: the release as rendered.
        op.emit(Kind::Completed(proto::Completed {
            status: p.kind.pending_status().to_proto() as i32,
            description: proto::DRY_RUN_DESCRIPTION.into(),
            notes: staged.notes.clone(),
            manifest: staged.manifest.clone(),
            hooks_manifest: super::hooks::manifest_text(&staged.hooks),
            test_hooks: super::hooks::test_hooks(&staged.hooks),
            values_json: staged.values_json.clone(),
            computed_values_json: staged.computed_json.clone(),
        }));
        return;
    }
    let (ns, rel) = (p.namespace.as_str(), p.name.as_str());
    let now = journal::now_ms();
    let blobs = staged.take_blobs();
    let record = RevisionRecord {
        revision: op.revision,
        status: p.kind.pending_status(),
        operation: p.kind,
        chart: staged.chart.clone(),
        description: format!("{} in progress", p.kind.title()),
        by: p.caller.identity.clone(),
        client_addr: p.caller.addr.clone(),
        client_version: p.caller.client_version.clone(),
        created_ms: now,
        updated_ms: now,
        manifest_blob: journal::digest(staged.manifest.as_bytes()),
        hooks_blob: journal::digest(staged.hooks_json.as_bytes()),
        values_blob: journal::digest(staged.values_json.as_bytes()),
        computed_values_blob: journal::digest(staged.computed_json.as_bytes()),
        notes_blob: journal::digest(staged.notes.as_bytes()),
        rollback_of: None,
        labels: p.labels.clone(),
        test_runs: Vec::new(),
    };
    let begin = Begin {
        record,
        // Moved, not copied; its digest was checked in `stage`.
        chart: staged.chart_bytes.take(),
        blobs,
        lock: Lock {
            revision: op.revision,
            operation: p.kind,
            since_ms: now,
            identity: p.caller.identity.clone(),
            previous_status: None,
        },
        events: op.for_journal(),
    };
    let recorded = begin.events.len();
    if let Err(e) = agent.journal.begin(ns, rel, begin).await {
        return refuse(&op, Failure::new("JournalError", e.to_string()));
    }
    op.persisted(recorded);
    super::prune_history(agent, ns, rel, p.options.history_max).await;

    let outcome = async {
        if p.options.create_namespace {
            agent
                .cluster
                .ensure_namespace(ns)
                .await
                .map_err(|e| Failure::new("NamespaceFailed", e.to_string()))?;
        }
        super::crds::install(agent, &op, &staged.crds, deadline).await?;
        let hooks = super::hooks::Hooks {
            op: &op,
            namespace: ns,
            hooks: if p.options.no_hooks {
                &[]
            } else {
                staged.hooks.as_slice()
            },
            deadline,
        };
        hooks.run(agent, pre).await?;
        // What a hook ran for could have changed what was read.
        let before = before.filter(|_| !hooks.hooks.iter().any(|h| h.runs_on(pre)));
        deploy(
            agent,
            Deploy {
                op: &op,
                release: rel,
                namespace: ns,
                objects: &staged.objects,
                previous: &previous,
                // Helm: rollback-on-failure implies waiting.
                wait: p.options.wait || p.options.atomic,
                wait_for_jobs: p.options.wait_for_jobs,
                wait_for_load_balancers: p.options.wait_for_load_balancers,
                validation: super::install_validation(&p.options),
                deadline,
                before,
            },
        )
        .await?;
        hooks.run(agent, post).await
    }
    .await;
    let replaces = p.replaces;
    let superseding = |mut f: super::Finish| {
        f.supersedes = replaces;
        f
    };
    let outcome = match outcome {
        // Helm's --description replaces "Install complete" (or "Upgrade
        // complete"); a failure's description is still the failure.
        Ok(()) => Ok(superseding(finish(
            Status::Deployed,
            match p.options.description.as_str() {
                "" => format!("{} complete", p.kind.title()),
                custom => custom.to_string(),
            },
            true,
        ))),
        Err(f) => {
            let description = match p.kind {
                OpKind::Install => format!("Release {rel:?} failed: {}", f.message),
                _ => format!("Upgrade {rel:?} failed: {}", f.message),
            };
            Err((superseding(finish(Status::Failed, description, false)), f))
        }
    };
    if outcome.is_err() && p.options.cleanup_on_fail && p.kind == OpKind::Upgrade {
        super::clean_up_created(agent, &op, rel, ns, &staged.objects, &previous, deadline).await;
    }
    let outcome = match outcome {
        Err((failed, failure)) if p.options.atomic => {
            let recover = super::atomic::Recover {
                kind: p.kind,
                namespace: ns,
                release: rel,
                caller: &p.caller,
                failed,
                failure,
                applied: &staged.objects,
                timeout,
            };
            return super::atomic::recover(agent, &op, recover).await;
        }
        other => other,
    };
    conclude(agent, &op, outcome, staged.notes.clone()).await;
}

/// Everything a revision records, computed before anything is written.
struct Staged {
    chart: ChartRef,
    chart_bytes: Option<ChartBytes>,
    manifest: String,
    hooks_json: String,
    values_json: String,
    computed_json: String,
    notes: String,
    objects: Vec<berth::manifest::Object>,
    /// crds/ to create before the objects (install only, unless --skip-crds).
    crds: Vec<berth::manifest::Object>,
    hooks: Vec<berth::manifest::Hook>,
}

impl Staged {
    /// What the journal stores besides the chart.
    fn take_blobs(&mut self) -> Vec<Vec<u8>> {
        vec![
            self.manifest.as_bytes().to_vec(),
            self.hooks_json.as_bytes().to_vec(),
            self.values_json.as_bytes().to_vec(),
            self.computed_json.as_bytes().to_vec(),
            self.notes.as_bytes().to_vec(),
        ]
    }
}

/// Stops a render that runs on a blocking thread, which dropping the
/// operation's future cannot: at the operation's deadline, and when it is
/// dropped (the render ended, or an abort or shutdown dropped the
/// operation).
struct StopRender {
    flag: Arc<AtomicBool>,
    timer: tokio::task::JoinHandle<()>,
}

impl StopRender {
    fn at(deadline: Instant) -> StopRender {
        let flag = Arc::new(AtomicBool::new(false));
        let at_deadline = Arc::clone(&flag);
        let timer = tokio::spawn(async move {
            tokio::time::sleep_until(deadline).await;
            at_deadline.store(true, Ordering::Relaxed);
        });
        StopRender { flag, timer }
    }
}

impl Drop for StopRender {
    fn drop(&mut self) {
        self.flag.store(true, Ordering::Relaxed);
        self.timer.abort();
    }
}

/// Verify and unpack the chart, render it, and parse the result.
async fn stage(
    agent: &Arc<Agent>,
    p: &Prepared,
    chart_bytes: Result<Option<Received>, Failure>,
    deadline: Instant,
    inbound: Inbound,
) -> Result<Staged, Failure> {
    let op = &p.op;
    let (mut bytes, digest, cached) = match chart_bytes? {
        Some(r) => (r.bytes, r.digest, false),
        None => {
            // Reading and hashing a large chart takes tens of ms: not on
            // the async workers.
            let agent = Arc::clone(agent);
            let want = p.chart_digest.clone();
            let (chart, digest) = tokio::task::spawn_blocking(move || {
                let mut chart = agent.journal.chart(&want)?.ok_or_else(|| {
                    Failure::new(
                        "ChartMissing",
                        "the agent no longer holds the chart; send it again",
                    )
                })?;
                let digest = sha256_of(&mut chart).map_err(|e| {
                    Failure::new("InternalError", format!("reading chart {want}: {e}"))
                })?;
                Ok::<_, Failure>((chart, digest))
            })
            .await
            .map_err(|e| Failure::new("InternalError", format!("chart read task: {e}")))??;
            (chart, digest, true)
        }
    };
    if bytes.len() != p.chart_size {
        return Err(Failure::new(
            "ChartInvalid",
            format!(
                "chart upload: received {} bytes, header said {}",
                bytes.len(),
                p.chart_size
            ),
        ));
    }
    if digest != p.chart_digest {
        return Err(Failure::new(
            "ChartInvalid",
            format!(
                "chart upload: digest is {digest}, header said {}",
                p.chart_digest
            ),
        ));
    }
    let limits = agent.settings.limits.clone();
    let agent2 = Arc::clone(agent);
    let values = effective_values(p, agent)?;
    let caps = agent
        .cluster
        .capabilities()
        .await
        .map_err(|e| Failure::new("ClusterUnavailable", e.to_string()))?;
    let release = helm::ReleaseOptions {
        name: p.name.to_string(),
        namespace: p.namespace.to_string(),
        // Helm renders every install as revision 1, one that replaces an
        // uninstalled or failed release too (its replaceRelease numbers the
        // record afterwards).
        revision: match p.kind {
            OpKind::Install => 1,
            _ => op.revision,
        },
        is_install: p.kind == OpKind::Install && !p.options.render_as_upgrade,
        is_upgrade: p.kind == OpKind::Upgrade || p.options.render_as_upgrade,
    };
    let runtime = tokio::runtime::Handle::current();
    let values2 = values.clone();
    let release_name = p.name.to_string();
    let install_crds = p.kind == OpKind::Install && !p.options.skip_crds;
    let skip_schema_validation = p.options.skip_schema_validation;
    let remote_schemas = std::sync::Arc::clone(&p.remote_schemas);
    let sub_notes = p.options.render_subchart_notes;
    let enable_dns = p.options.enable_dns;
    let stop = StopRender::at(deadline);
    let cancel = Arc::clone(&stop.flag);
    let post_render = p.options.post_render.then(|| PostRenderCall {
        op: Arc::clone(op),
        inbound: std::sync::Mutex::new(inbound),
        runtime: tokio::runtime::Handle::current(),
        deadline,
        max: agent.settings.limits.max_unpacked,
    });
    let rendered = tokio::task::spawn_blocking(move || {
        // The packed bytes come back with the result (the journal keeps
        // them); the unpacked files move into the chart, so the chart is
        // held unpacked once (its large files in mapped files, resident
        // only where a template reads them), and packed once unless it was
        // spooled.
        let reader = bytes.reader().map_err(|e| {
            Failure::new("InternalError", format!("reading the received chart: {e}"))
        })?;
        let keep = &mut |data| crate::spool::kept(agent2.journal.path(), data);
        let files = chart::unpack_keeping(reader, &limits, keep)
            .map_err(|e| Failure::new("ChartInvalid", e.to_string()))?;
        let mut loaded = chart::build_keeping(files, &limits, keep)
            .map_err(|e| Failure::new("ChartInvalid", e.to_string()))?;
        berth::schema_refs::attach(&mut loaded.chart, &remote_schemas);
        let lookup = LiveLookup {
            cluster: Arc::clone(&agent2.cluster),
            runtime,
        };
        let mut opts = helm::RenderOptions::new(release);
        opts.capabilities = caps;
        opts.lookup = Some(&lookup);
        opts.cancel = Some(cancel);
        opts.skip_schema_validation = skip_schema_validation;
        opts.sub_notes = sub_notes;
        opts.enable_dns = enable_dns;
        // What Helm logs while loading the chart and merging its values:
        // logged here, and (the render that counts) sent in the Rendered event.
        for w in &loaded.warnings {
            tracing::warn!(release = %release_name, "chart: {w}");
        }
        let render = |opts: &helm::RenderOptions<'_>, log: &mut Vec<helm::Warning>| {
            log.clear();
            let post = post_render.as_ref().map(|c| move |m: String| c.run(m));
            let rendered = berth::render::render_post(
                &loaded,
                &values2,
                opts,
                log,
                post.as_ref().map(|f| f as berth::render::PostRenderer<'_>),
            );
            for w in log.iter() {
                tracing::warn!(release = %release_name, "chart values: {w}");
            }
            rendered.map_err(|e| Failure::new("RenderFailed", e.to_string()))
        };
        let mut log = Vec::new();
        let mut rendered = render(&opts, &mut log)?;
        let mut crds = Vec::new();
        if install_crds && !rendered.crds.is_empty() {
            crds = super::crds::objects(&rendered.crds)?;
            // Render again as Helm would after installing them, if the
            // cluster does not serve their kinds yet.
            let missing: Vec<String> = super::crds::api_versions(&crds)
                .into_iter()
                .filter(|v| !opts.capabilities.api_versions.contains(v))
                .collect();
            if !missing.is_empty() {
                opts.capabilities.api_versions.extend(missing);
                rendered = render(&opts, &mut log)?;
            }
        }
        let warnings: Vec<String> = loaded
            .warnings
            .iter()
            .chain(&log)
            .map(|w| w.to_string())
            .collect();
        Ok::<_, Failure>((bytes, loaded.metadata, rendered, crds, warnings))
    })
    .await
    .map_err(|e| Failure::new("InternalError", format!("render task: {e}")))?;
    drop(stop);
    // A render the deadline stopped is the operation's timeout (a render
    // that failed on its own just before it keeps its own error).
    let rendered = rendered.map_err(|f| {
        if Instant::now() >= deadline && f.message.contains(berth_template::exec::CANCELLED) {
            Failure::new(
                "Timeout",
                "timed out rendering the chart (the operation's --timeout passed)".to_string(),
            )
        } else {
            f
        }
    })?;
    let (bytes, metadata, rendered, crds, warnings) = rendered;
    let count = rendered.manifests.len() + rendered.hooks.len() + crds.len();
    let max_objects = agent.settings.max_objects;
    if count > max_objects {
        return Err(Failure::new(
            "TooManyObjects",
            format!(
                "chart {}: renders {count} objects ({} resources, {} hooks, {} CRDs), more than the limit of {max_objects}",
                metadata.chart_ref(),
                rendered.manifests.len(),
                rendered.hooks.len(),
                crds.len()
            ),
        ));
    }
    op.emit(Kind::ChartReceived(proto::ChartReceived {
        digest: digest.clone(),
        size: bytes.len(),
        cached,
        chart_name: metadata.name.clone(),
        chart_version: metadata.version.clone(),
    }));
    let objects = berth::manifest::parse_objects(&rendered.manifest)
        .map_err(|e| Failure::new("RenderFailed", e.to_string()))?;
    op.emit(Kind::Rendered(proto::Rendered {
        objects: objects.len() as u32,
        hooks: rendered.hooks.len() as u32,
        warnings,
    }));
    Ok(Staged {
        chart: ChartRef {
            name: metadata.name.clone(),
            version: metadata.version.clone(),
            app_version: metadata.app_version.clone(),
            digest,
        },
        chart_bytes: Some(bytes),
        manifest: rendered.manifest,
        hooks_json: super::hooks::to_json(&rendered.hooks),
        values_json: serde_json::to_string(&values).unwrap_or_else(|_| "{}".into()),
        computed_json: serde_json::to_string(&rendered.values).unwrap_or_else(|_| "{}".into()),
        notes: rendered.notes,
        objects,
        crds,
        hooks: rendered.hooks,
    })
}

/// Post-rendering by the client (Helm's --post-renderer runs where the
/// user is): the rendered documents go out in a PostRender event, the
/// post-renderer's output comes back on the call.
struct PostRenderCall {
    op: Arc<OpEvents>,
    inbound: std::sync::Mutex<Inbound>,
    runtime: tokio::runtime::Handle,
    deadline: Instant,
    max: u64,
}

impl PostRenderCall {
    /// Called on the render's blocking thread.
    fn run(&self, manifests: String) -> Result<String, String> {
        self.op
            .emit(Kind::PostRender(proto::PostRender { manifests }));
        let mut inbound = self.inbound.lock().unwrap_or_else(|e| e.into_inner());
        let answer = self.runtime.block_on(self.answer(&mut inbound));
        // The client has them; the revision's events need not keep them.
        self.op.forget_post_render();
        answer
    }

    async fn answer(&self, inbound: &mut Inbound) -> Result<String, String> {
        use proto::upgrade_request::Msg;
        let mut out: Vec<u8> = Vec::new();
        loop {
            // As long as the operation may take: a post-renderer has no
            // way to say it is still working.
            let msg = match tokio::time::timeout_at(self.deadline, inbound.message()).await {
                Err(_) => {
                    return Err(
                        "timed out waiting for the post-renderer's output (the operation's --timeout passed)".into(),
                    );
                }
                Ok(Err(e)) => return Err(format!("the call failed: {}", e.message())),
                Ok(Ok(None)) => {
                    return Err(
                        "the client ended the call before the post-renderer's output".into(),
                    );
                }
                Ok(Ok(Some(m))) => m.msg,
            };
            let Some(Msg::PostRendered(piece)) = msg else {
                return Err(
                    "the client sent something else than the post-renderer's output".into(),
                );
            };
            if !piece.error.is_empty() {
                return Err(piece.error);
            }
            out.extend_from_slice(&piece.chunk);
            if out.len() as u64 > self.max {
                return Err(format!(
                    "the post-renderer's output is larger than {} bytes",
                    self.max
                ));
            }
            if piece.done {
                return String::from_utf8(out)
                    .map_err(|_| "the post-renderer's output is not UTF-8".to_string());
            }
        }
    }
}

/// The sha256 of a chart, read in pieces (a file can be 50 MiB).
fn sha256_of(chart: &mut ChartBytes) -> std::io::Result<String> {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    let mut reader = chart.reader()?;
    let mut piece = vec![0; 1 << 16];
    loop {
        match reader.read(&mut piece)? {
            0 => return Ok(hex::encode(hasher.finalize())),
            n => hasher.update(&piece[..n]),
        }
    }
}
