//! The gRPC edge: authenticate the caller from its client certificate,
//! decode, call the operation, stream its events. Every error becomes a
//! gRPC status here and nowhere else.

use std::sync::Arc;
use std::time::Duration;

use berth::proto::{
    self, ExportHelmRequest, GetRevisionRequest, HistoryRequest, ImportRequest, ListRequest,
    RollbackRequest, StatusRequest, TestRequest, UninstallRequest, UnlockRequest, UpgradeRequest,
    VersionRequest, WatchRequest, release_agent_server::ReleaseAgent, upgrade_request::Msg,
};
use berth::types::{Namespace, ReleaseName};
use tonic::{Code, Request, Response, Status, Streaming};
use tracing::Instrument;

use crate::events::EventStream;
use crate::ops::upgrade::{ChartBuffer, Received};
use crate::ops::{self, Agent, Caller, Failure, OpError};
use crate::policy::{Authorizer, Denied, Role, Verb};
use crate::uploads::{self, Arrival, Uploads};

pub struct Service {
    agent: Arc<Agent>,
    auth: Arc<Authorizer>,
    uploads: Arc<Uploads>,
}

impl Service {
    /// `uploads` is shared with the TLS acceptor, which hands it the chart
    /// connections.
    pub fn new(agent: Arc<Agent>, auth: Arc<Authorizer>, uploads: Arc<Uploads>) -> Self {
        Service {
            agent,
            auth,
            uploads,
        }
    }

    /// Allow the call by the policy, or refuse it with PERMISSION_DENIED
    /// naming the identity, verb and namespace.
    fn authorize(
        &self,
        caller: &Caller,
        verb: Verb,
        namespace: &str,
        dry_run: bool,
    ) -> Result<(), Status> {
        let namespace = effective_namespace(namespace);
        self.auth
            .policy()
            .check(&caller.identity, &caller.names, verb, namespace, dry_run)
            .map_err(|denied| refuse(caller, denied))
    }
}

impl Service {
    /// Refuse a new operation while berthd shuts down, before any other
    /// check (the registry refuses it too, race-free, when it would start).
    fn accepting(&self) -> Result<(), Status> {
        if self.agent.registry.is_closed() {
            return Err(status(crate::events::NotStarted::ShuttingDown.into()));
        }
        Ok(())
    }
}

/// Log a refusal and turn it into PERMISSION_DENIED.
fn refuse(caller: &Caller, denied: Denied) -> Status {
    tracing::warn!(
        target: "berthd::audit",
        verb = denied.verb.as_str(),
        identity = %caller.identity,
        names = ?caller.names,
        addr = %caller.addr,
        namespace = %denied.namespace,
        needs = %denied.needs,
        "refused"
    );
    Status::permission_denied(bounded(denied.to_string()))
}

/// An empty namespace in a request means "default", as in Helm.
fn effective_namespace(ns: &str) -> &str {
    if ns.is_empty() { "default" } else { ns }
}

/// The verb an upgrade header asks for, as the policy names it.
fn upgrade_verb(h: &proto::UpgradeHeader) -> (Verb, bool) {
    let options = h.options.as_ref();
    let dry_run = options.is_some_and(|o| o.dry_run);
    if options.is_some_and(|o| o.diff) {
        return (Verb::Diff, dry_run);
    }
    let verb = if h.mode == proto::UpgradeMode::Install as i32 {
        Verb::Install
    } else {
        Verb::Upgrade
    };
    (verb, dry_run)
}

/// The caller's identity from its verified client certificate. tonic only
/// hands us certificates that passed verification against the client CA.
fn caller<T>(req: &Request<T>) -> Result<Caller, Status> {
    let certs = req
        .peer_certs()
        .ok_or_else(|| Status::unauthenticated("no client certificate"))?;
    let leaf = certs
        .first()
        .ok_or_else(|| Status::unauthenticated("no client certificate"))?;
    let identity = berth::tls::identity_from_der(leaf.as_ref()).ok_or_else(|| {
        Status::unauthenticated("client certificate has neither a URI SAN nor a subject CN")
    })?;
    Ok(Caller {
        identity,
        names: berth::tls::names_from_der(leaf.as_ref()),
        addr: req.remote_addr().map(|a| a.to_string()).unwrap_or_default(),
        client_version: String::new(),
    })
}

fn status(e: OpError) -> Status {
    let code = match &e {
        OpError::Invalid(_) => Code::InvalidArgument,
        OpError::NotFound(_) => Code::NotFound,
        OpError::AlreadyExists(_) => Code::AlreadyExists,
        OpError::FailedPrecondition(_) => Code::FailedPrecondition,
        OpError::Busy(_) => Code::Aborted,
        OpError::ShuttingDown => Code::Unavailable,
        OpError::Journal(_) => Code::Internal,
        OpError::Cluster(_) => Code::Unavailable,
    };
    Status::new(code, bounded(e.to_string()))
}

/// Longest status message sent: it travels in an HTTP/2 trailer, and one
/// past the client's header limit fails the call with a bare protocol error
/// instead of the message (a 100 KB release name from an imported Secret).
const MAX_STATUS_MESSAGE: usize = 4096;

/// `message`, cut to [`MAX_STATUS_MESSAGE`] bytes with a note of its length.
fn bounded(message: String) -> String {
    if message.len() <= MAX_STATUS_MESSAGE {
        return message;
    }
    let mut end = MAX_STATUS_MESSAGE;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &message[..end], message.len())
}

/// One structured log line per mutating call: who, from where, what.
/// The version the client reported, if it did.
fn client_version(client: Option<&proto::ClientInfo>) -> String {
    client.map(|c| c.client_version.clone()).unwrap_or_default()
}

fn audit(verb: &str, caller: &Caller, namespace: &str, release: &str) {
    tracing::info!(
        target: "berthd::audit",
        verb,
        identity = %caller.identity,
        addr = %caller.addr,
        client_version = %caller.client_version,
        namespace,
        release,
        "mutating call"
    );
}

/// Read the chart the client sends after the header, as chunks of the call
/// or, when the call was given a token, on its chart connection: checked
/// against the declared size, counted and hashed as it arrives. Either way
/// the call's trailer ends the upload.
async fn receive_chart(
    inbound: &mut Streaming<UpgradeRequest>,
    needed: bool,
    size: u64,
    idle: Duration,
    counters: &ops::Counters,
    arrival: Option<Arrival>,
    spool: &std::path::Path,
) -> Result<Option<Received>, Failure> {
    use std::sync::atomic::Ordering;
    if !needed {
        counters
            .chart_uploads_skipped
            .fetch_add(1, Ordering::Relaxed);
    }
    // What comes on a chart connection is big: into a file, not memory.
    let mut chart = if size >= uploads::MIN_SIZE {
        ChartBuffer::spooled(size, spool)
    } else {
        ChartBuffer::new(size)
    };
    let mut by_connection = false;
    // A message of the call that came before the chart connection did.
    let mut early = None;
    if let Some(arrival) = arrival {
        match read_connection(inbound, arrival, &mut chart, idle, counters).await? {
            Delivery::Connection(trailer) => {
                by_connection = true;
                early = trailer.map(Msg::Trailer);
                counters.chart_connections.fetch_add(1, Ordering::Relaxed);
            }
            Delivery::Chunks(first) => {
                tracing::info!("the client sends the chart as chunks, not on a chart connection");
                early = Some(Msg::Chunk(first));
            }
        }
    }
    loop {
        let msg = match early.take() {
            Some(msg) => Some(msg),
            None => next_message(inbound, idle).await?.and_then(|m| m.msg),
        };
        match msg {
            None => {
                return Err(Failure::new(
                    "UploadFailed",
                    "chart upload ended before its trailer",
                ));
            }
            Some(Msg::Header(_)) => {
                return Err(Failure::new(
                    "UploadFailed",
                    "a second header in one upload",
                ));
            }
            Some(Msg::PostRendered(_)) => {
                return Err(Failure::new(
                    "UploadFailed",
                    "a post-renderer's output before the chart's trailer",
                ));
            }
            Some(Msg::Chunk(_)) if by_connection => {
                return Err(Failure::new(
                    "UploadFailed",
                    "chart chunks sent although the chart came on its own connection",
                ));
            }
            Some(Msg::Chunk(c)) => {
                if !needed {
                    return Err(Failure::new(
                        "UploadFailed",
                        "chart chunks sent although the agent holds the chart",
                    ));
                }
                chart.push(&c).await?;
                counters
                    .chart_bytes_received
                    .fetch_add(c.len() as u64, Ordering::Relaxed);
            }
            Some(Msg::Trailer(t)) if t.sent_bytes != chart.len() => {
                return Err(Failure::new(
                    "UploadFailed",
                    format!(
                        "chart upload: the client sent {} bytes, {} arrived",
                        t.sent_bytes,
                        chart.len()
                    ),
                ));
            }
            Some(Msg::Trailer(_)) if needed => {
                let received = chart.finish().await?;
                counters
                    .chart_uploads_received
                    .fetch_add(1, Ordering::Relaxed);
                return Ok(Some(received));
            }
            Some(Msg::Trailer(_)) => return Ok(None),
        }
    }
}

/// The call's next message, or a failure if none comes within `idle`.
async fn next_message(
    inbound: &mut Streaming<UpgradeRequest>,
    idle: Duration,
) -> Result<Option<UpgradeRequest>, Failure> {
    tokio::time::timeout(idle, inbound.message())
        .await
        .map_err(|_| stalled(idle))?
        .map_err(call_failed)
}

fn stalled(idle: Duration) -> Failure {
    Failure::new(
        "UploadStalled",
        format!("chart upload stalled for {}s", idle.as_secs()),
    )
}

fn call_failed(e: Status) -> Failure {
    Failure::new("UploadFailed", format!("chart upload: {}", e.message()))
}

fn connection_failed(e: std::io::Error) -> Failure {
    Failure::new("UploadFailed", format!("chart connection: {e}"))
}

/// How the chart of a call that was given a token comes.
enum Delivery {
    /// On the chart connection, read whole; with the call's trailer if that
    /// came first.
    Connection(Option<proto::UpgradeTrailer>),
    /// As chunks of the call after all (the client could not open the
    /// connection): the first of them.
    Chunks(bytes::Bytes),
}

/// Wait for the call's chart connection and read the whole chart from it:
/// exactly the declared size, then the end of the connection. The client
/// sends the call's trailer once it has written the chart, which may be
/// before the connection got here; a client that cannot open the
/// connection sends chunks instead.
async fn read_connection(
    inbound: &mut Streaming<UpgradeRequest>,
    mut arrival: Arrival,
    chart: &mut ChartBuffer,
    idle: Duration,
    counters: &ops::Counters,
) -> Result<Delivery, Failure> {
    use std::sync::atomic::Ordering;
    use tokio::io::AsyncReadExt;
    let deadline = tokio::time::Instant::now() + idle;
    let mut early = None;
    let mut conn = loop {
        tokio::select! {
            conn = tokio::time::timeout_at(deadline, arrival.connection()) => break conn
                .map_err(|_| Failure::new(
                    "UploadStalled",
                    format!("no chart connection arrived within {}s", idle.as_secs()),
                ))?
                .ok_or_else(|| Failure::new("UploadFailed", "the chart connection was lost"))?,
            msg = inbound.message(), if early.is_none() => {
                let what = match msg.map_err(call_failed)?.and_then(|m| m.msg) {
                    // The client wrote it all and the connection is on its
                    // way; or it gave up, which it says by the count.
                    Some(Msg::Trailer(t)) if t.sent_bytes == chart.size() => {
                        early = Some(t);
                        continue;
                    }
                    Some(Msg::Trailer(t)) => {
                        return Err(Failure::new(
                            "UploadFailed",
                            format!(
                                "chart upload: the client sent {} of the declared {} bytes on its chart connection",
                                t.sent_bytes,
                                chart.size()
                            ),
                        ));
                    }
                    Some(Msg::Chunk(c)) => return Ok(Delivery::Chunks(c)),
                    None => "the call ended",
                    Some(Msg::Header(_)) => "a second header came",
                    Some(Msg::PostRendered(_)) => "a post-renderer's output came",
                };
                return Err(Failure::new(
                    "UploadFailed",
                    format!("the agent asked for the chart on its own connection, but {what} instead"),
                ));
            }
        }
    };
    loop {
        let n = tokio::time::timeout(idle, chart.read_from(&mut conn))
            .await
            .map_err(|_| stalled(idle))?
            .map_err(connection_failed)?;
        counters
            .chart_bytes_received
            .fetch_add(n as u64, Ordering::Relaxed);
        if chart.len() == chart.size() {
            break;
        }
        if n == 0 {
            return Err(Failure::new(
                "UploadFailed",
                format!(
                    "chart connection closed after {} of the declared {} bytes",
                    chart.len(),
                    chart.size()
                ),
            ));
        }
    }
    // The client closes after the last byte; anything more is refused.
    let mut more = [0u8; 1];
    match tokio::time::timeout(idle, conn.read(&mut more)).await {
        Err(_) => Err(stalled(idle)),
        Ok(Ok(0)) => Ok(Delivery::Connection(early)),
        Ok(Ok(_)) => Err(chart.too_large()),
        Ok(Err(e)) => Err(connection_failed(e)),
    }
}

#[tonic::async_trait]
impl ReleaseAgent for Service {
    type UpgradeStream = EventStream;
    type RollbackStream = EventStream;
    type UninstallStream = EventStream;
    type TestStream = EventStream;
    type WatchStream = EventStream;

    async fn upgrade(
        &self,
        req: Request<Streaming<UpgradeRequest>>,
    ) -> Result<Response<EventStream>, Status> {
        let mut caller = caller(&req)?;
        let mut inbound = req.into_inner();
        let idle = self.agent.settings.upload_idle_timeout;
        let first = tokio::time::timeout(idle, inbound.message())
            .await
            .map_err(|_| Status::deadline_exceeded("no upgrade header received"))??;
        let header = match first.and_then(|m| m.msg) {
            Some(Msg::Header(h)) => h,
            _ => {
                return Err(Status::invalid_argument(
                    "the first message of an upgrade must be its header",
                ));
            }
        };
        caller.client_version = client_version(header.client.as_ref());
        let (verb, dry_run) = upgrade_verb(&header);
        self.authorize(&caller, verb, &header.namespace, dry_run)?;
        self.accepting()?;
        audit(verb.as_str(), &caller, &header.namespace, &header.release);
        let identity = caller.identity.clone();
        self.agent
            .registry
            .finishing(&header.namespace, &header.release)
            .await;
        let prepared = ops::upgrade::prepare(&self.agent, header, caller).map_err(status)?;
        let mut arrival = None;
        let mut token = None;
        if prepared.chart_needed
            && prepared.chart_connection
            && prepared.chart_size >= uploads::MIN_SIZE
            && let Some((t, a)) = self.uploads.expect(&identity)
            && let Ok(v) = tonic::metadata::AsciiMetadataValue::try_from(t)
        {
            token = Some(v);
            arrival = Some(a);
        }
        let stream = prepared.op.stream(0);
        let agent = Arc::clone(&self.agent);
        let span = prepared.op.span();
        tokio::spawn(
            async move {
                let (needed, size) = (prepared.chart_needed, prepared.chart_size);
                let agent2 = Arc::clone(&agent);
                // The chart, then the rest of the call: a post-renderer's
                // output comes on it.
                let chart = async move {
                    let mut inbound = inbound;
                    let received = receive_chart(
                        &mut inbound,
                        needed,
                        size,
                        idle,
                        &agent2.counters,
                        arrival,
                        agent2.journal.path(),
                    )
                    .await;
                    (received, inbound)
                };
                ops::upgrade::run(Arc::clone(&agent), prepared, chart).await;
            }
            .instrument(span),
        );
        let mut response = Response::new(stream);
        if let Some(token) = token {
            // To the caller only: events are journaled and shown to watchers.
            response
                .metadata_mut()
                .insert(proto::CHART_TOKEN_METADATA, token);
        }
        Ok(response)
    }

    async fn rollback(
        &self,
        req: Request<RollbackRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let mut caller = caller(&req)?;
        let req = req.into_inner();
        caller.client_version = client_version(req.client.as_ref());
        self.authorize(
            &caller,
            Verb::Rollback,
            &req.namespace,
            req.options.as_ref().is_some_and(|o| o.dry_run),
        )?;
        self.accepting()?;
        audit("rollback", &caller, &req.namespace, &req.release);
        self.agent
            .registry
            .finishing(&req.namespace, &req.release)
            .await;
        let prepared = ops::rollback::prepare(&self.agent, req, caller).map_err(status)?;
        let stream = prepared.op.stream(0);
        let span = prepared.op.span();
        tokio::spawn(ops::rollback::run(Arc::clone(&self.agent), prepared).instrument(span));
        Ok(Response::new(stream))
    }

    async fn test(&self, req: Request<TestRequest>) -> Result<Response<EventStream>, Status> {
        let mut caller = caller(&req)?;
        let req = req.into_inner();
        caller.client_version = client_version(req.client.as_ref());
        self.authorize(&caller, Verb::Test, &req.namespace, false)?;
        self.accepting()?;
        audit("test", &caller, &req.namespace, &req.release);
        self.agent
            .registry
            .finishing(&req.namespace, &req.release)
            .await;
        let prepared = ops::test::prepare(&self.agent, req, caller).map_err(status)?;
        let stream = prepared.op.stream(0);
        let span = prepared.op.span();
        tokio::spawn(ops::test::run(Arc::clone(&self.agent), prepared).instrument(span));
        Ok(Response::new(stream))
    }

    async fn uninstall(
        &self,
        req: Request<UninstallRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let mut caller = caller(&req)?;
        let req = req.into_inner();
        caller.client_version = client_version(req.client.as_ref());
        self.authorize(&caller, Verb::Uninstall, &req.namespace, false)?;
        self.accepting()?;
        audit("uninstall", &caller, &req.namespace, &req.release);
        self.agent
            .registry
            .finishing(&req.namespace, &req.release)
            .await;
        let prepared = ops::uninstall::prepare(&self.agent, req, caller).map_err(status)?;
        let stream = prepared.op.stream(0);
        let span = prepared.op.span();
        tokio::spawn(ops::uninstall::run(Arc::clone(&self.agent), prepared).instrument(span));
        Ok(Response::new(stream))
    }

    async fn watch(&self, req: Request<WatchRequest>) -> Result<Response<EventStream>, Status> {
        let caller = caller(&req)?;
        let req = req.into_inner();
        self.authorize(&caller, Verb::Watch, &req.namespace, false)?;
        let name = ReleaseName::parse(&req.release)
            .map_err(|e| Status::invalid_argument(bounded(e.to_string())))?;
        let ns = Namespace::parse(&req.namespace)
            .map_err(|e| Status::invalid_argument(bounded(e.to_string())))?;
        if let Some(op) = self.agent.registry.running(ns.as_str(), name.as_str())
            && (req.revision == 0 || req.revision == op.revision)
        {
            return Ok(Response::new(op.stream(req.after_seq)));
        }
        let journal = &self.agent.journal;
        let head = journal
            .head(ns.as_str(), name.as_str())
            .map_err(|e| status(e.into()))?
            .ok_or_else(|| Status::not_found(format!("release: not found: {name}")))?;
        let rev = if req.revision == 0 {
            head.latest
        } else {
            req.revision
        };
        let mut events = journal
            .events(ns.as_str(), name.as_str(), rev, req.after_seq)
            .map_err(|e| status(e.into()))?;
        if req.after_seq == 0 {
            // From the start of the revision's last operation (an uninstall
            // adds its events after those of the upgrade that made it).
            let last_start = events
                .iter()
                .rposition(|e| matches!(e.kind, Some(proto::event::Kind::Accepted(_))));
            events.drain(..last_start.unwrap_or(0));
        }
        let stream = futures::stream::iter(events.into_iter().map(Ok));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn history(
        &self,
        req: Request<HistoryRequest>,
    ) -> Result<Response<proto::HistoryResponse>, Status> {
        let caller = caller(&req)?;
        self.authorize(&caller, Verb::History, &req.get_ref().namespace, false)?;
        ops::query::history(&self.agent, req.get_ref())
            .map(Response::new)
            .map_err(status)
    }

    async fn status(
        &self,
        req: Request<StatusRequest>,
    ) -> Result<Response<proto::ReleaseInfo>, Status> {
        let caller = caller(&req)?;
        self.authorize(&caller, Verb::Status, &req.get_ref().namespace, false)?;
        ops::query::status(&self.agent, req.get_ref())
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn list(
        &self,
        req: Request<ListRequest>,
    ) -> Result<Response<proto::ListResponse>, Status> {
        let caller = caller(&req)?;
        let all = req.get_ref().all_namespaces;
        if all {
            // Every namespace: the releases of the namespaces the caller may
            // read, refused only if it may read none.
            if !self.auth.policy().holds_anywhere(&caller.names, Role::Read) {
                return Err(refuse(
                    &caller,
                    Denied {
                        identity: caller.identity.clone(),
                        verb: Verb::List,
                        namespace: String::new(),
                        needs: Role::Read,
                        has: None,
                    },
                ));
            }
        } else {
            self.authorize(&caller, Verb::List, &req.get_ref().namespace, false)?;
        }
        let mut listed = ops::query::list(&self.agent, req.get_ref()).map_err(status)?;
        if all {
            let policy = self.auth.policy();
            listed
                .releases
                .retain(|r| policy.role(&caller.names, &r.namespace).is_some());
        }
        Ok(Response::new(listed))
    }

    async fn get_revision(
        &self,
        req: Request<GetRevisionRequest>,
    ) -> Result<Response<proto::Revision>, Status> {
        let caller = caller(&req)?;
        self.authorize(&caller, Verb::Get, &req.get_ref().namespace, false)?;
        // Reading a revision's blobs, and its chart for metadata, is disk
        // work: not on the async workers.
        let agent = Arc::clone(&self.agent);
        let req = req.into_inner();
        tokio::task::spawn_blocking(move || ops::query::get_revision(&agent, &req))
            .await
            .map_err(|e| Status::internal(format!("get task: {e}")))?
            .map(Response::new)
            .map_err(status)
    }

    async fn unlock(
        &self,
        req: Request<UnlockRequest>,
    ) -> Result<Response<proto::UnlockResponse>, Status> {
        let mut caller = caller(&req)?;
        let req = req.into_inner();
        caller.client_version = client_version(req.client.as_ref());
        self.authorize(&caller, Verb::Unlock, &req.namespace, false)?;
        audit("unlock", &caller, &req.namespace, &req.release);
        let (ns, release) = (req.namespace.clone(), req.release.clone());
        let unlocked = ops::unlock::unlock(&self.agent, req, &caller)
            .await
            .map_err(status)?;
        let revision = unlocked.revision.as_ref().map(|r| r.revision).unwrap_or(0);
        tracing::warn!(
            target: "berthd::audit",
            verb = "unlock",
            identity = %caller.identity,
            addr = %caller.addr,
            namespace = %ns,
            release = %release,
            revision,
            operation = unlocked.operation.title(),
            held_by = %unlocked.held_by,
            "unlocked"
        );
        Ok(Response::new(proto::UnlockResponse {
            revision: unlocked.revision.as_ref().map(|r| r.info()),
            operation: unlocked.operation.to_proto() as i32,
            held_by: unlocked.held_by,
        }))
    }

    async fn import(
        &self,
        req: Request<ImportRequest>,
    ) -> Result<Response<proto::ImportResponse>, Status> {
        let mut caller = caller(&req)?;
        let req = req.into_inner();
        caller.client_version = client_version(req.client.as_ref());
        self.authorize(&caller, Verb::Import, &req.namespace, false)?;
        audit("import", &caller, &req.namespace, &req.release);
        ops::migrate::import(&self.agent, &req, &caller)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn export_helm(
        &self,
        req: Request<ExportHelmRequest>,
    ) -> Result<Response<proto::ExportHelmResponse>, Status> {
        let mut caller = caller(&req)?;
        let req = req.into_inner();
        caller.client_version = client_version(req.client.as_ref());
        self.authorize(&caller, Verb::ExportHelm, &req.namespace, false)?;
        audit("export-helm", &caller, &req.namespace, &req.release);
        ops::migrate::export_helm(&self.agent, &req, &caller)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn drift(
        &self,
        req: Request<proto::DriftRequest>,
    ) -> Result<Response<proto::DriftReport>, Status> {
        let caller = caller(&req)?;
        self.authorize(&caller, Verb::Drift, &req.get_ref().namespace, false)?;
        ops::drift::check(&self.agent, req.get_ref())
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn version(
        &self,
        req: Request<VersionRequest>,
    ) -> Result<Response<proto::VersionResponse>, Status> {
        let caller = caller(&req)?;
        let kubernetes_version = self
            .agent
            .cluster
            .server_version()
            .await
            .unwrap_or_default();
        Ok(Response::new(proto::VersionResponse {
            agent_version: berth::VERSION.to_string(),
            kubernetes_version,
            identity: caller.identity,
        }))
    }
}
