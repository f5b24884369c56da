//! `berth install` and `berth upgrade [--install]`: load and pack the chart,
//! merge values, stream header + chart to the agent (skipping the upload if
//! the agent already holds that digest), and follow the events.

use std::io::Write;
use std::path::PathBuf;

use berth::chart::{Bundle, Limits};
use berth::proto::{self, UpgradeMode, UpgradeRequest, upgrade_request::Msg};
use clap::Args;
use futures::StreamExt;

use crate::connect::{self, status_error};
use crate::progress::{self, Outcome};
use crate::{CliError, Global, Io};

/// The values flags, as Helm names them.
#[derive(Args, Debug, Clone, Default)]
pub struct ValuesFlags {
    /// Values file (repeatable; later files win).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Set values on the command line (a.b=c,d[0]=e).
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Set STRING values on the command line.
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// Set JSON values on the command line.
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// Set values from files (key=path).
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
    /// Set a literal STRING value (everything after the first `=`).
    #[arg(long = "set-literal", value_name = "KEY=VALUE")]
    pub set_literal: Vec<String>,
}

impl ValuesFlags {
    pub fn merge(&self) -> Result<serde_json::Map<String, serde_json::Value>, CliError> {
        Ok(berth::values::ValueOptions {
            value_files: self.values.clone(),
            set: self.set.clone(),
            set_string: self.set_string.clone(),
            set_json: self.set_json.clone(),
            set_file: self.set_file.clone(),
            set_literal: self.set_literal.clone(),
        }
        .merge()?)
    }
}

/// Flags shared by the operations that change a cluster.
#[derive(Args, Debug, Clone, Default)]
pub struct OpFlags {
    /// Wait until every workload is ready before marking the release
    /// deployed. Helm v4's strategies are taken: --wait=watcher or legacy
    /// (wait), hookOnly (only hooks).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "watcher", default_value = "hookOnly", value_parser = super::parse_wait, value_name = "STRATEGY")]
    pub wait: bool,
    /// How long to wait for the whole operation (e.g. 5m0s).
    #[arg(long, value_parser = super::parse_duration, default_value = "5m0s")]
    pub timeout: std::time::Duration,
    /// Simulate: render and plan against the cluster, change nothing.
    /// Helm v4's --dry-run=client|server are taken (both plan against the
    /// cluster), none for no dry run.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "server", default_value = "none", value_parser = super::parse_dry_run, value_name = "STRATEGY")]
    pub dry_run: bool,
    /// Print only the result, not the progress events.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Do not run the chart's hooks.
    #[arg(long)]
    pub no_hooks: bool,
    /// With --wait: also wait for Jobs to complete.
    #[arg(long)]
    pub wait_for_jobs: bool,
    /// With --wait: also wait for LoadBalancer Services to get an address.
    #[arg(long)]
    pub wait_for_load_balancers: bool,
    /// Helm v4's flag to take over fields other managers own: what berth
    /// always does (the release is the source of truth for its fields).
    #[arg(long)]
    pub force_conflicts: bool,
    /// Helm v4's apply method: true and auto are what berth always does
    /// (server-side apply); false is refused.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_server_side, value_name = "true|auto")]
    pub server_side: Option<bool>,
    /// Helm's replacement strategy (`--force` before v4): refused, as Helm
    /// v4 refuses it with server-side apply; `=false` is taken.
    #[arg(long, alias = "force", hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_force_replace, value_name = "true|false")]
    pub force_replace: Option<bool>,
}

/// `--force-replace` (and Helm's deprecated `--force`): Helm v4 replaces
/// objects only with client-side apply ("cannot use server-side apply and
/// force replace together"), which berth does not offer.
fn parse_force_replace(s: &str) -> Result<bool, String> {
    match super::go_parse_bool(s) {
        Some(false) => Ok(false),
        Some(true) => Err(
            "berth always applies server-side, and Helm v4 cannot use server-side apply and force replace together; \
             --force-conflicts takes over fields other managers own"
                .into(),
        ),
        None => Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
    }
}

/// `--server-side`: berth applies server-side, as Helm v4 does by default;
/// Helm's client-side three-way merge is not offered.
fn parse_server_side(s: &str) -> Result<bool, String> {
    match (s, super::go_parse_bool(s)) {
        ("auto", _) | (_, Some(true)) => Ok(true),
        (_, Some(false)) => Err(
            "berth always applies server-side; client-side apply (--server-side=false) is not offered"
                .into(),
        ),
        (other, None) => Err(format!(
            "invalid server-side value {other:?}: must be \"true\", \"false\" or \"auto\""
        )),
    }
}

/// Helm's post-renderer flags (install, upgrade, template, diff upgrade).
#[derive(Args, Debug, Clone, Default)]
pub struct PostRenderFlags {
    /// A postrenderer/v1 plugin (`berth plugin list --type
    /// postrenderer/v1`) the rendered documents go through, on this
    /// machine, before they are installed.
    #[arg(long, value_name = "PLUGIN")]
    pub post_renderer: Option<String>,
    /// An argument to the post-renderer (can specify multiple).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub post_renderer_args: Vec<String>,
}

impl PostRenderFlags {
    /// The plugin the flags name, found now, as Helm finds it while reading
    /// its flags.
    pub fn resolve(&self) -> Result<Option<crate::plugins::PostRender>, CliError> {
        match self.post_renderer.as_deref() {
            None | Some("") => Ok(None),
            Some(name) => {
                crate::plugins::PostRender::find(name, self.post_renderer_args.clone()).map(Some)
            }
        }
    }
}

/// Flags of install and upgrade about the chart's objects and output.
#[derive(Args, Debug, Clone, Default)]
pub struct ChartFlags {
    #[command(flatten)]
    pub post_render: PostRenderFlags,
    /// Adopt objects that already exist and belong to no release or to
    /// another one, instead of refusing them.
    #[arg(long)]
    pub take_ownership: bool,
    /// Do not check the values against the chart's values.schema.json.
    #[arg(long)]
    pub skip_schema_validation: bool,
    /// Do not print the chart's notes (they are still recorded).
    #[arg(long)]
    pub hide_notes: bool,
    /// Render the subcharts' NOTES.txt too, after a newline each.
    #[arg(long)]
    pub render_subchart_notes: bool,
    /// With --dry-run: print every v1 Secret of the rendered release as
    /// "# HIDDEN: The Secret output has been suppressed" (hooks as rendered).
    #[arg(long)]
    pub hide_secret: bool,
    /// Let the templates' getHostByName look names up (berthd resolves
    /// them, in the cluster); without it the function returns "".
    #[arg(long)]
    pub enable_dns: bool,
    /// Apply with fieldValidation=Ignore: fields the API server does not
    /// know are dropped instead of refusing the object (Helm v4's default,
    /// and berth's, is Strict).
    #[arg(long)]
    pub disable_openapi_validation: bool,
    /// Labels of the release (k=v, comma-separated or repeated); an upgrade
    /// merges them into the release's, `k=null` removing one. (Helm's `-l`
    /// short form is not taken: `fleet install|upgrade -l` selects clusters.)
    #[arg(long, value_delimiter = ',', value_parser = parse_label, value_name = "KEY=VALUE")]
    pub labels: Vec<(String, String)>,
}

impl ChartFlags {
    /// Refuse what Helm's install and upgrade refuse among these flags.
    pub fn check(&self, op: &OpFlags) -> Result<(), CliError> {
        if self.hide_secret && !op.dry_run {
            return Err(CliError::Usage(
                "hiding Kubernetes secrets requires a dry-run mode".into(),
            ));
        }
        Ok(())
    }
}

/// One `--labels` pair, as pflag's StringToString reads it.
fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) => Ok((k.to_string(), v.to_string())),
        None => Err(format!("{s} must be formatted as key=value")),
    }
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Release name, then the chart (a directory, a .tgz, `repo/chart`, a
    /// chart name with --repo, or a chart archive's URL); only the chart
    /// with --generate-name or --name-template.
    // More than two are refused in Helm's words (name_and_chart).
    #[arg(num_args = 1.., value_names = ["NAME", "CHART"], required = true)]
    pub args: Vec<String>,
    /// Name the release after the chart's file name and the time
    /// (CHART-<unix seconds>), as Helm does.
    #[arg(short = 'g', long)]
    pub generate_name: bool,
    /// Name the release by rendering this template (no data), e.g.
    /// 'web-{{ randAlpha 5 | lower }}'.
    #[arg(long, value_name = "TEMPLATE")]
    pub name_template: Option<String>,
    #[command(flatten)]
    pub values: ValuesFlags,
    #[command(flatten)]
    pub op: OpFlags,
    #[command(flatten)]
    pub chart_flags: ChartFlags,
    /// Create the release namespace if it does not exist.
    #[arg(long)]
    pub create_namespace: bool,
    /// Roll back (or uninstall) if the operation fails (Helm's deprecated
    /// --atomic is taken too).
    #[arg(long = "rollback-on-failure", alias = "atomic")]
    pub atomic: bool,
    /// Do not create the chart's crds/.
    #[arg(long)]
    pub skip_crds: bool,
    /// Take the name of a release that was uninstalled with its history
    /// kept, or whose last revision failed (Helm's --replace).
    #[arg(long)]
    pub replace: bool,
    /// A custom description of the revision.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Output of the final summary.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: crate::output::Format,
    #[command(flatten)]
    pub chart_path: crate::charts::ChartPathFlags,
}

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    /// Release name.
    pub name: String,
    /// The chart: a directory, a .tgz, `repo/chart` of Helm's
    /// repositories, a chart name with --repo, or a chart archive's URL.
    pub chart: PathBuf,
    /// Install the release if it does not exist.
    #[arg(short = 'i', long)]
    pub install: bool,
    #[command(flatten)]
    pub values: ValuesFlags,
    #[command(flatten)]
    pub op: OpFlags,
    #[command(flatten)]
    pub chart_flags: ChartFlags,
    /// Create the release namespace if it does not exist (with --install).
    #[arg(long)]
    pub create_namespace: bool,
    /// With --install: do not create the chart's crds/.
    #[arg(long)]
    pub skip_crds: bool,
    /// Roll back to the last deployed revision if the upgrade fails
    /// (Helm's deprecated --atomic is taken too).
    #[arg(long = "rollback-on-failure", alias = "atomic")]
    pub atomic: bool,
    /// Delete the objects this upgrade created if it fails.
    #[arg(long)]
    pub cleanup_on_fail: bool,
    /// Merge the last release's values with the ones given here.
    #[arg(long)]
    pub reuse_values: bool,
    /// Use only the chart's defaults and the values given here.
    #[arg(long)]
    pub reset_values: bool,
    /// Reset to the chart's defaults, then merge the last release's values.
    #[arg(long)]
    pub reset_then_reuse_values: bool,
    /// Keep at most this many revisions (0: no limit).
    #[arg(long, default_value = "0")]
    pub history_max: u32,
    /// A custom description of the revision.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Output of the final summary.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: crate::output::Format,
    #[command(flatten)]
    pub chart_path: crate::charts::ChartPathFlags,
}

/// The options `berth install` sends.
pub fn install_options(a: &InstallArgs) -> proto::OperationOptions {
    proto::OperationOptions {
        wait: a.op.wait,
        timeout_seconds: a.op.timeout.as_secs().max(1),
        dry_run: a.op.dry_run,
        no_hooks: a.op.no_hooks,
        wait_for_jobs: a.op.wait_for_jobs,
        wait_for_load_balancers: a.op.wait_for_load_balancers,
        atomic: a.atomic,
        create_namespace: a.create_namespace,
        skip_crds: a.skip_crds,
        description: a.description.clone(),
        take_ownership: a.chart_flags.take_ownership,
        skip_schema_validation: a.chart_flags.skip_schema_validation,
        labels: a.chart_flags.labels.iter().cloned().collect(),
        render_subchart_notes: a.chart_flags.render_subchart_notes,
        enable_dns: a.chart_flags.enable_dns,
        disable_openapi_validation: a.chart_flags.disable_openapi_validation,
        replace: a.replace,
        ..Default::default()
    }
}

/// The mode and options `berth upgrade` sends.
pub fn upgrade_options(a: &UpgradeArgs) -> (UpgradeMode, proto::OperationOptions) {
    let options = proto::OperationOptions {
        wait: a.op.wait,
        timeout_seconds: a.op.timeout.as_secs().max(1),
        dry_run: a.op.dry_run,
        no_hooks: a.op.no_hooks,
        wait_for_jobs: a.op.wait_for_jobs,
        wait_for_load_balancers: a.op.wait_for_load_balancers,
        atomic: a.atomic,
        create_namespace: a.create_namespace,
        skip_crds: a.skip_crds,
        cleanup_on_fail: a.cleanup_on_fail,
        reuse_values: a.reuse_values,
        reset_values: a.reset_values,
        reset_then_reuse_values: a.reset_then_reuse_values,
        history_max: a.history_max,
        description: a.description.clone(),
        take_ownership: a.chart_flags.take_ownership,
        skip_schema_validation: a.chart_flags.skip_schema_validation,
        labels: a.chart_flags.labels.iter().cloned().collect(),
        render_subchart_notes: a.chart_flags.render_subchart_notes,
        enable_dns: a.chart_flags.enable_dns,
        disable_openapi_validation: a.chart_flags.disable_openapi_validation,
        ..Default::default()
    };
    let mode = if a.install {
        UpgradeMode::UpgradeOrInstall
    } else {
        UpgradeMode::Upgrade
    };
    (mode, options)
}

impl InstallArgs {
    /// The release name and the chart, as Helm's `NameAndChart` picks them.
    pub fn name_and_chart(&self) -> Result<(String, PathBuf), CliError> {
        super::template::name_and_chart(
            &self.args,
            self.generate_name,
            self.name_template.as_deref(),
            None,
        )
    }
}

pub async fn install(g: &Global, a: InstallArgs, io: &mut Io) -> Result<(), CliError> {
    a.chart_flags.check(&a.op)?;
    let options = install_options(&a);
    let (name, chart) = a.name_and_chart()?;
    let post_render = a.chart_flags.post_render.resolve()?;
    let chart = crate::charts::locate(&chart, &a.chart_path, &mut *io.err).await?;
    send(
        g,
        &name,
        &chart.path,
        &a.values,
        UpgradeMode::Install,
        options,
        Show::of(&a.op, &a.chart_flags, a.output),
        post_render,
        io,
    )
    .await
}

pub async fn upgrade(g: &Global, a: UpgradeArgs, io: &mut Io) -> Result<(), CliError> {
    a.chart_flags.check(&a.op)?;
    let (mode, options) = upgrade_options(&a);
    let show = Show::of(&a.op, &a.chart_flags, a.output);
    let post_render = a.chart_flags.post_render.resolve()?;
    let chart = crate::charts::locate(&a.chart, &a.chart_path, &mut *io.err).await?;
    send(
        g,
        &a.name,
        &chart.path,
        &a.values,
        mode,
        options,
        show,
        post_render,
        io,
    )
    .await
}

/// What the CLI shows of an install or upgrade.
struct Show {
    quiet: bool,
    hide_notes: bool,
    hide_secret: bool,
    output: crate::output::Format,
}

impl Show {
    fn of(op: &OpFlags, chart: &ChartFlags, output: crate::output::Format) -> Show {
        Show {
            quiet: op.quiet,
            hide_notes: chart.hide_notes,
            hide_secret: chart.hide_secret,
            output,
        }
    }
}

/// A dry run's manifest with every v1 Secret written as Helm's
/// renderResources writes it under --hide-secret.
fn hide_secrets(manifest: &str) -> String {
    let mut out = String::with_capacity(manifest.len());
    for (source, content) in berth::manifest::sourced_documents(manifest) {
        if is_v1_secret(content) {
            out.push_str(&format!(
                "---\n# Source: {source}\n# HIDDEN: The Secret output has been suppressed\n"
            ));
        } else {
            out.push_str(&format!("---\n# Source: {source}\n{content}\n"));
        }
    }
    out
}

/// Whether a rendered document is a v1 Secret (what --hide-secret hides).
pub(crate) fn is_v1_secret(document: &str) -> bool {
    berth_template::yaml::parse_values(document)
        .is_ok_and(|head| head["apiVersion"] == "v1" && head["kind"] == "Secret")
}

#[allow(clippy::too_many_arguments)]
async fn send(
    g: &Global,
    name: &str,
    chart: &std::path::Path,
    values: &ValuesFlags,
    mode: UpgradeMode,
    options: proto::OperationOptions,
    show: Show,
    post_render: Option<crate::plugins::PostRender>,
    io: &mut Io,
) -> Result<(), CliError> {
    // The agent's refusal of the request itself ("has no deployed
    // releases") in Helm's words too, as its action's Run returns it.
    let refused = match mode {
        UpgradeMode::Install => Some("INSTALLATION FAILED"),
        UpgradeMode::Upgrade => Some("UPGRADE FAILED"),
        _ => None,
    };
    let events = send_events(g, name, chart, values, mode, options, post_render)
        .await
        .map_err(|e| match (e, refused) {
            (CliError::Agent(text), Some(failed)) => CliError::Agent(format!("{failed}: {text}")),
            (e, _) => e,
        })?;
    let mut outcome = progress::follow_io(events, io, g, show.quiet, show.output).await?;
    // Helm hides them from the table; its -o json/yaml shows the release.
    if let Outcome::Completed { notes, .. } = &mut outcome
        && show.hide_notes
        && show.output == crate::output::Format::Table
    {
        notes.clear();
    }
    // Helm's --debug prints the release as recorded; a dry run's came
    // with its outcome.
    if let Outcome::Completed {
        revision,
        manifest,
        hooks_manifest,
        values_json,
        computed_values_json,
        description,
        ..
    } = &mut outcome
        && g.debug
        && g.events.is_none()
        && !description.eq_ignore_ascii_case(proto::DRY_RUN_DESCRIPTION)
    {
        let r = connect::connect(&g.target())
            .await?
            .get_revision(proto::GetRevisionRequest {
                release: name.to_string(),
                namespace: g.namespace.clone(),
                revision: *revision,
                chart_metadata: false,
            })
            .await
            .map_err(status_error)?
            .into_inner();
        (*manifest, *hooks_manifest) = (r.manifest, r.hooks_manifest);
        (*values_json, *computed_values_json) = (r.values_json, r.computed_values_json);
    }
    if let Outcome::Completed { manifest, .. } = &mut outcome
        && show.hide_secret
    {
        *manifest = hide_secrets(manifest);
    }
    // Helm's words in front of a failed install or upgrade.
    let failed = match (&outcome, mode) {
        (Outcome::Completed { .. }, _) => None,
        (_, UpgradeMode::Install) => Some("INSTALLATION FAILED"),
        (Outcome::Failed { operation, .. }, _)
            if *operation == proto::Operation::Upgrade || mode == UpgradeMode::Upgrade =>
        {
            Some("UPGRADE FAILED")
        }
        // An upgrade --install that installed: Helm's runInstall adds none.
        _ => None,
    };
    // Helm's upgrade says what it did first (a dry run too).
    if let Outcome::Completed { operation, .. } = &outcome
        && mode != UpgradeMode::Install
        && show.output == crate::output::Format::Table
        && g.events.is_none()
    {
        match operation {
            proto::Operation::Install => writeln!(
                io.out,
                "Release {name:?} does not exist. Installing it now."
            )?,
            _ => writeln!(io.out, "Release {name:?} has been upgraded. Happy Helming!")?,
        }
    }
    summary(g, name, outcome, show.output, io).map_err(|e| match (e, failed) {
        (CliError::Failed(text), Some(failed)) => CliError::Failed(format!("{failed}: {text}")),
        (e, _) => e,
    })
}

/// The operation's events, from an Upgrade stream of events.
pub type Events =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<proto::Event, tonic::Status>> + Send>>;

/// What an install or upgrade sends, prepared once (values merged, chart
/// loaded and packed) and sendable to any number of agents.
pub struct Prepared {
    pub name: String,
    pub values_json: String,
    pub bundle: std::sync::Arc<Bundle>,
    pub mode: UpgradeMode,
    pub options: proto::OperationOptions,
    /// Helm's --post-renderer, run here when the agent sends the rendered
    /// documents.
    pub post_render: Option<std::sync::Arc<crate::plugins::PostRender>>,
    /// The documents the chart's schemas refer to by URL, read here as
    /// Helm reads them (none with --skip-schema-validation).
    pub remote_schemas: std::collections::HashMap<String, proto::RemoteSchema>,
}

impl Prepared {
    pub async fn new(
        name: &str,
        chart: &std::path::Path,
        values: &ValuesFlags,
        mode: UpgradeMode,
        options: proto::OperationOptions,
    ) -> Result<Prepared, CliError> {
        // In Helm's words: its install's name check, its upgrade's (and
        // upgrade --install's history lookup's).
        berth::types::ReleaseName::parse(name).map_err(|e| {
            CliError::Other(match mode {
                UpgradeMode::Install => {
                    format!("INSTALLATION FAILED: release name check failed: {e}")
                }
                UpgradeMode::Upgrade => format!("UPGRADE FAILED: release name is invalid: {name}"),
                _ => format!("release name is invalid: {name}"),
            })
        })?;
        let user_values = values.merge()?;
        let bundle = Bundle::from_path(chart, &Limits::default())?;
        let remote_schemas = if options.skip_schema_validation {
            Default::default()
        } else {
            let read = crate::schema_refs::read(&bundle.schemas, &mut |_| {}).await?;
            berth::schema_refs::to_proto(&read)
        };
        Ok(Prepared {
            name: name.to_string(),
            values_json: serde_json::to_string(&user_values)
                .map_err(|e| CliError::Other(e.to_string()))?,
            bundle: std::sync::Arc::new(bundle),
            mode,
            options,
            post_render: None,
            remote_schemas,
        })
    }
}

/// Open the Upgrade stream: header, then the chart only if the agent asks
/// for it, then the trailer; returns the events from the first one on.
pub async fn send_events(
    g: &Global,
    name: &str,
    chart: &std::path::Path,
    values: &ValuesFlags,
    mode: UpgradeMode,
    options: proto::OperationOptions,
    post_render: Option<crate::plugins::PostRender>,
) -> Result<Events, CliError> {
    let mut prepared = Prepared::new(name, chart, values, mode, options).await?;
    prepared.post_render = post_render.map(std::sync::Arc::new);
    send_prepared(&g.target(), &g.namespace, &prepared).await
}

/// Send a prepared operation to one agent.
pub async fn send_prepared(
    target: &connect::Target,
    namespace: &str,
    p: &Prepared,
) -> Result<Events, CliError> {
    let bundle = &p.bundle;
    let mut client = connect::connect(target).await?;

    let header = proto::UpgradeHeader {
        release: p.name.clone(),
        namespace: namespace.to_string(),
        mode: p.mode as i32,
        values_json: p.values_json.clone(),
        chart_digest: bundle.digest.clone(),
        chart_size: bundle.bytes.len() as u64,
        options: Some(proto::OperationOptions {
            post_render: p.post_render.is_some(),
            ..p.options.clone()
        }),
        client: Some(proto::ClientInfo {
            client_version: berth::VERSION.to_string(),
        }),
        chart_connection: true,
        remote_schemas: p.remote_schemas.clone(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<UpgradeRequest>(8);
    tx.send(UpgradeRequest {
        msg: Some(Msg::Header(header)),
    })
    .await
    .map_err(|_| CliError::Other("request stream closed".into()))?;
    let response = client
        .upgrade(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .map_err(status_error)?;
    // A token for a chart connection comes in the response's metadata.
    let token = response
        .metadata()
        .get(proto::CHART_TOKEN_METADATA)
        .and_then(|v| hex::decode(v.as_bytes()).ok())
        .filter(|t| t.len() == proto::CHART_TOKEN_LEN);
    let mut events = response.into_inner();

    // The first event says whether the agent needs the chart.
    let first = match events.next().await {
        Some(ev) => ev.map_err(status_error)?,
        None => {
            return Err(CliError::Connect(
                "the agent ended the call without an answer".into(),
            ));
        }
    };
    let needed = matches!(&first.kind, Some(proto::event::Kind::Accepted(a)) if a.chart_needed);
    // The call stays open for the post-renderer's answer.
    let answer = p.post_render.clone().map(|post| (post, tx.clone()));
    let bundle = std::sync::Arc::clone(bundle);
    // The agent wants the chart on a connection of its own; the call then
    // carries only the trailer, whose count tells the agent if writing
    // failed. If the connection cannot be opened (a network that lets only
    // the call through), the chart goes as chunks of the call after all.
    let conn = match token.filter(|_| needed) {
        Some(token) => connect::chart_connection(target)
            .await
            .ok()
            .map(|conn| (token, conn)),
        None => None,
    };
    match conn {
        Some((token, conn)) => tokio::spawn(send_on_connection(conn, token, bundle, tx)),
        None => tokio::spawn(send_chunks(needed.then_some(bundle), tx)),
    };
    let events: Events = Box::pin(futures::stream::iter(vec![Ok(first)]).chain(events));
    Ok(match answer {
        Some((post, tx)) => post_rendering(events, post, tx),
        None => events,
    })
}

/// The events, with each PostRender answered: the documents through the
/// post-renderer, its output (or failure) sent back on the call. The
/// event itself is not passed on.
fn post_rendering(
    events: Events,
    post: std::sync::Arc<crate::plugins::PostRender>,
    tx: tokio::sync::mpsc::Sender<UpgradeRequest>,
) -> Events {
    Box::pin(events.filter_map(move |item| {
        let post = std::sync::Arc::clone(&post);
        let tx = tx.clone();
        async move {
            let Ok(proto::Event {
                kind: Some(proto::event::Kind::PostRender(asked)),
                ..
            }) = item
            else {
                return Some(item);
            };
            let result = tokio::task::spawn_blocking(move || post.run(asked.manifests))
                .await
                .unwrap_or_else(|e| Err(format!("post-renderer: {e}")));
            let mut answers = Vec::new();
            match result {
                Ok(text) => {
                    for piece in text.as_bytes().chunks(proto::CHUNK_SIZE) {
                        answers.push(proto::PostRendered {
                            chunk: piece.to_vec(),
                            ..Default::default()
                        });
                    }
                    answers.push(proto::PostRendered {
                        done: true,
                        ..Default::default()
                    });
                }
                Err(error) => answers.push(proto::PostRendered {
                    done: true,
                    error,
                    ..Default::default()
                }),
            }
            for a in answers {
                // A closed call: the agent ended the operation already and
                // says why in its events.
                if tx
                    .send(UpgradeRequest {
                        msg: Some(Msg::PostRendered(a)),
                    })
                    .await
                    .is_err()
                {
                    break;
                }
            }
            None
        }
    }))
}

/// Write the token and the chart on its connection, then end the call's
/// upload with a trailer whose count says whether all of it went.
async fn send_on_connection(
    mut conn: connect::ChartConnection,
    token: Vec<u8>,
    bundle: std::sync::Arc<Bundle>,
    tx: tokio::sync::mpsc::Sender<UpgradeRequest>,
) {
    use tokio::io::AsyncWriteExt;
    let sent = async {
        conn.write_all(&token).await?;
        conn.write_all(&bundle.bytes).await?;
        conn.shutdown().await
    }
    .await;
    let sent_bytes = if sent.is_ok() {
        bundle.bytes.len() as u64
    } else {
        0
    };
    let _ = tx
        .send(UpgradeRequest {
            msg: Some(Msg::Trailer(proto::UpgradeTrailer { sent_bytes })),
        })
        .await;
}

/// Send the chart (if the agent needs it) as chunks of the call, then the
/// trailer.
async fn send_chunks(
    bundle: Option<std::sync::Arc<Bundle>>,
    tx: tokio::sync::mpsc::Sender<UpgradeRequest>,
) {
    let bytes = bundle.map(|b| b.bytes.clone()).unwrap_or_default();
    for chunk in bytes.chunks(proto::CHUNK_SIZE) {
        let chunk = bytes.slice_ref(chunk);
        if tx
            .send(UpgradeRequest {
                msg: Some(Msg::Chunk(chunk)),
            })
            .await
            .is_err()
        {
            return;
        }
    }
    let _ = tx
        .send(UpgradeRequest {
            msg: Some(Msg::Trailer(proto::UpgradeTrailer {
                sent_bytes: bytes.len() as u64,
            })),
        })
        .await;
}

/// After an operation: Helm's NAME/LAST DEPLOYED/... block, or the error.
pub fn summary(
    g: &Global,
    name: &str,
    outcome: Outcome,
    output: crate::output::Format,
    io: &mut Io,
) -> Result<(), CliError> {
    match outcome {
        Outcome::Completed {
            revision,
            status,
            description,
            notes,
            manifest,
            hooks_manifest,
            test_hooks,
            values_json,
            computed_values_json,
            ..
        } => {
            if g.events.is_some() {
                // The stream already ended with the `completed` event.
                return Ok(());
            }
            // As Helm's status printer decides it: a dry run shows the
            // release as rendered.
            let dry_run = description.eq_ignore_ascii_case(proto::DRY_RUN_DESCRIPTION);
            if output != crate::output::Format::Table {
                let mut v = serde_json::json!({
                    "name": name, "namespace": g.namespace, "revision": revision,
                    "status": status.helm_name(), "description": description, "notes": notes,
                });
                if dry_run {
                    v["manifest"] = manifest.into();
                }
                return crate::output::structured(&mut *io.out, output, &v);
            }
            let head = proto::RevisionInfo {
                revision,
                updated_unix_ms: chrono::Utc::now().timestamp_millis(),
                status: status as i32,
                ..Default::default()
            };
            super::status::write_head(&mut *io.out, name, &g.namespace, &head)?;
            writeln!(io.out, "DESCRIPTION: {description}")?;
            // No test hook has run in the revision an operation made: as
            // Helm's, the line says so only when it has none.
            if test_hooks == 0 {
                writeln!(io.out, "TEST SUITE: None")?;
            }
            // Helm's --debug: the values too (YAML, then a blank line), when
            // the outcome came with the release (install, upgrade: not
            // `watch`).
            let debug = g.debug && !values_json.is_empty();
            if debug {
                for (title, json) in [
                    ("USER-SUPPLIED VALUES", &values_json),
                    ("COMPUTED VALUES", &computed_values_json),
                ] {
                    let v =
                        berth::values::from_json(json).unwrap_or_else(|_| serde_json::json!({}));
                    write!(io.out, "{title}:\n{}\n", berth_template::yaml::marshal(&v))?;
                }
            }
            if dry_run || debug {
                write!(io.out, "HOOKS:\n{hooks_manifest}MANIFEST:\n{manifest}\n")?;
            }
            if !notes.trim().is_empty() {
                writeln!(io.out, "NOTES:\n{}", notes.trim_end())?;
            }
            Ok(())
        }
        Outcome::Failed {
            revision,
            reason,
            message,
            ..
        } => Err(failure(name, revision, &reason, &message)),
    }
}

/// How an operation that failed is reported: `web (revision 3): Reason: …`.
pub fn failure(name: &str, revision: u64, reason: &str, message: &str) -> CliError {
    let at = if revision > 0 {
        format!(" (revision {revision})")
    } else {
        String::new()
    };
    CliError::Failed(format!("{name}{at}: {reason}: {message}"))
}

#[cfg(test)]
mod tests {
    /// As Helm's renderResources writes a release's v1 Secrets under
    /// --hide-secret; other documents (a Secret of another apiVersion too)
    /// byte for byte.
    #[test]
    fn hide_secrets_writes_helms_hidden_line() {
        let manifest = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  p: hunter2\n\
                        ---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: \"---\"\n\
                        ---\n# Source: c/templates/b.yaml\napiVersion: example.com/v1\nkind: Secret\nmetadata:\n  name: x\n\
                        ---\n# Source: c/templates/c.yaml\nkind: Secret\napiVersion: v1\nmetadata:\n  name: last\ndata:\n  k: dg==\n\n";
        assert_eq!(
            super::hide_secrets(manifest),
            "---\n# Source: c/templates/a.yaml\n# HIDDEN: The Secret output has been suppressed\n\
             ---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: \"---\"\n\
             ---\n# Source: c/templates/b.yaml\napiVersion: example.com/v1\nkind: Secret\nmetadata:\n  name: x\n\
             ---\n# Source: c/templates/c.yaml\n# HIDDEN: The Secret output has been suppressed\n"
        );
        assert_eq!(super::hide_secrets(""), "");
    }
}
