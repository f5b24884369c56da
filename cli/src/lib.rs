//! berth, the remote CLI: Helm's verbs and flags, driving berthd agents over
//! mutual TLS.
//!
//! [`run`] parses arguments and dispatches to one module per verb under
//! [`cmd`]; [`connect`] reaches an agent; [`progress`] shows an operation's
//! events; [`output`] formats tables, JSON and YAML. Commands write to the
//! [`Io`] they are given, so tests and `berth demo` run them in-process.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

pub mod charts;
pub mod cmd;
pub mod config;
pub mod connect;
pub mod demo;
pub mod diff;
pub mod ndjson;
pub mod output;
pub mod plugins;
pub mod progress;
pub mod schema_refs;

/// Everything that can go wrong in a command, in the user's words.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Tls(String),
    #[error("cannot reach the agent: {0}")]
    Connect(String),
    #[error("{0}")]
    Agent(String),
    #[error("{0}")]
    Chart(#[from] berth::chart::ChartError),
    #[error("{0}")]
    Values(#[from] berth::values::ValuesError),
    #[error("{0}")]
    Render(#[from] berth::render::RenderError),
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
    /// A run that ends with its own exit code (fleet: some clusters failed).
    #[error("{message}")]
    Exit { code: i32, message: String },
}

/// Where a command writes.
pub struct Io {
    pub out: Box<dyn Write + Send>,
    pub err: Box<dyn Write + Send>,
    /// Colour diffs: stdout is a terminal and NO_COLOR is not set.
    pub color: bool,
    /// stdout is a terminal that can redraw lines (live progress).
    pub tty: bool,
    /// `out` and `err` are this process's stdout and stderr, which a
    /// plugin's command then writes to itself (else its output is copied).
    pub stdio: bool,
}

impl Io {
    pub fn stdio() -> Io {
        use std::io::IsTerminal;
        let terminal = std::io::stdout().is_terminal();
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Io {
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
            color: terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            tty: terminal && !dumb,
            stdio: true,
        }
    }

    /// Plain output into the given writers (tests, embedding).
    pub fn new(out: Box<dyn Write + Send>, err: Box<dyn Write + Send>) -> Io {
        Io {
            out,
            err,
            color: false,
            tty: false,
            stdio: false,
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    version,
    // A flag given twice: the last one wins, as with Helm's (pflag's);
    // list flags (`--set`, `-f`) still add up.
    args_override_self = true,
    about = "The release manager Kubernetes teams wish Helm were",
    long_about = "berth installs, upgrades and rolls back Helm charts through berthd agents running in your \
clusters, over mutual TLS, with live per-resource progress.",
    after_help = "Examples:\n  berth demo\n  berth install web ./chart --agent 10.0.0.5:7443 --ca ca.crt --cert client.crt --key client.key\n  berth history web -o json"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Agent address, e.g. https://10.0.0.5:7443.
    #[arg(long, global = true, env = "BERTH_AGENT")]
    pub agent: Option<String>,
    /// CA certificate that signed the agent's certificate.
    #[arg(long, global = true, env = "BERTH_CA")]
    pub ca: Option<PathBuf>,
    /// Client certificate presented to the agent.
    #[arg(long, global = true, env = "BERTH_CERT")]
    pub cert: Option<PathBuf>,
    /// Private key of the client certificate.
    #[arg(long, global = true, env = "BERTH_KEY")]
    pub key: Option<PathBuf>,
    /// `--key` was on the command line (not from BERTH_KEY): `package
    /// --sign --key NAME` names the signing key with it, as Helm does.
    #[arg(skip)]
    pub key_given: bool,
    /// A cluster from the config file (`berth cluster list`); default: the
    /// current cluster. --agent, --ca, --cert, --key and BERTH_* override it.
    #[arg(long, global = true, env = "BERTH_CLUSTER")]
    pub cluster: Option<String>,
    /// The config file of named clusters (default:
    /// ~/.config/berth/config.yaml).
    #[arg(long, global = true, env = "BERTH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Stream every event of an operation as one JSON object per line on
    /// stdout (schema berth.events/v1, see the README).
    #[arg(long, global = true, value_name = "FORMAT", value_parser = ["ndjson"])]
    pub events: Option<String>,
    /// Helm's repositories.yaml (as $HELM_REPOSITORY_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub repository_config: Option<PathBuf>,
    /// Helm's cache of repository indexes (as $HELM_REPOSITORY_CACHE).
    #[arg(long, global = true, value_name = "DIR")]
    pub repository_cache: Option<PathBuf>,
    /// Helm's registry credentials (as $HELM_REGISTRY_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    /// Helm v4's content cache of downloaded charts (as $HELM_CONTENT_CACHE).
    #[arg(long, global = true, value_name = "DIR")]
    pub content_cache: Option<PathBuf>,
    /// Helm's kubeconfig context: refused with the berth way to say it.
    #[arg(long, global = true, hide = true)]
    pub kube_context: Option<String>,
    /// Helm's kubeconfig: refused with the berth way to say it.
    #[arg(long, global = true, hide = true)]
    pub kubeconfig: Option<String>,
    /// Colour diffs and progress: never, auto (stdout a terminal and
    /// $NO_COLOR unset) or always; $HELM_COLOR when not given, as Helm's.
    #[arg(long, alias = "colour", global = true, value_name = "WHEN", value_parser = ["never", "auto", "always"])]
    pub color: Option<String>,
    /// Helm's --debug: `template` prints what the chart rendered when it is
    /// not valid YAML (Helm's "Use --debug flag to render out invalid
    /// YAML"); install and upgrade print the release's values, hooks and
    /// manifest.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Namespace of the release.
    #[arg(
        short = 'n',
        long,
        global = true,
        env = "BERTH_NAMESPACE",
        default_value = "default"
    )]
    pub namespace: String,
}

impl Global {
    /// Fill what flags and environment left open from the named (or
    /// current) cluster of the config file.
    pub fn resolve_cluster(&mut self) -> Result<(), CliError> {
        let explicit = self.cluster.is_some();
        if !explicit
            && self.agent.is_some()
            && self.ca.is_some()
            && self.cert.is_some()
            && self.key.is_some()
        {
            return Ok(());
        }
        let config = config::Config::load_from(&config::path(self.config.as_deref())?)?;
        let name = match self.cluster.clone().or(config.current_cluster.clone()) {
            Some(n) => n,
            None => return Ok(()),
        };
        let c = config.get(&name)?;
        self.agent.get_or_insert_with(|| c.agent.clone());
        self.ca.get_or_insert_with(|| c.ca.clone());
        self.cert.get_or_insert_with(|| c.cert.clone());
        self.key.get_or_insert_with(|| c.key.clone());
        self.cluster = Some(name);
        Ok(())
    }

    pub fn target(&self) -> connect::Target {
        connect::Target {
            agent: self.agent.clone(),
            ca: self.ca.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            cluster: self.cluster.clone(),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Install a chart as a new release.
    #[command(
        after_help = "Examples:\n  berth install web ./chart\n  berth install web ./chart -f prod.yaml --set image.tag=2.0 --wait"
    )]
    Install(cmd::install::InstallArgs),
    /// Upgrade a release to a new chart or new values.
    #[command(
        after_help = "Examples:\n  berth upgrade web ./chart --set replicas=3\n  berth upgrade web ./chart --install --wait --timeout 10m"
    )]
    Upgrade(cmd::install::UpgradeArgs),
    /// Roll a release back to an earlier revision (recorded as a new revision).
    #[command(
        after_help = "Examples:\n  berth rollback web        # to the previous revision\n  berth rollback web 3"
    )]
    Rollback(cmd::rollback::RollbackArgs),
    /// Delete a release's objects.
    #[command(
        visible_alias = "un",
        aliases = ["del", "delete"],
        after_help = "Examples:\n  berth uninstall web\n  berth uninstall web --keep-history\n  berth uninstall web api --wait --cascade foreground\n  berth uninstall web --dry-run"
    )]
    Uninstall(cmd::uninstall::UninstallArgs),
    /// Abort the operation holding a release's lock (admin); its revision
    /// is recorded as failed, unlocked by you.
    #[command(after_help = "Examples:\n  berth unlock web\n  berth unlock web -n prod -o json")]
    Unlock(cmd::unlock::UnlockArgs),
    /// Show a release's revisions.
    #[command(
        alias = "hist",
        after_help = "Examples:\n  berth history web\n  berth history web -o json"
    )]
    History(cmd::history::HistoryArgs),
    /// Show a release's status.
    #[command(
        after_help = "Examples:\n  berth status web\n  berth status web --revision 2 -o yaml"
    )]
    Status(cmd::status::StatusArgs),
    /// List releases.
    #[command(
        alias = "ls",
        after_help = "Examples:\n  berth list\n  berth list -A -o json"
    )]
    List(cmd::list::ListArgs),
    /// Show a stored revision's manifest, values or notes.
    #[command(
        subcommand,
        after_help = "Examples:\n  berth get manifest web\n  berth get values web --revision 2 -a -o json\n  berth get all web"
    )]
    Get(cmd::get::GetCommand),
    /// Render a chart locally, exactly as Helm would.
    #[command(
        after_help = "Examples:\n  berth template web ./chart --set replicas=2\n  berth template ./chart"
    )]
    Template(cmd::template::TemplateArgs),
    /// Show what an upgrade would change, or how two revisions differ.
    #[command(
        subcommand,
        after_help = "Examples:\n  berth diff upgrade web ./chart --set replicas=3\n  berth diff revision web 2 3"
    )]
    Diff(cmd::diff::DiffCommand),
    /// Show what changed in the cluster since the deployed revision (exit 2 if anything did).
    #[command(
        after_help = "Examples:\n  berth drift web\n  berth drift web -n shop -o json\n\nExit status: 0 no drift, 2 drift, 1 error."
    )]
    Drift(cmd::drift::DriftArgs),
    /// Run a release's tests (its `helm.sh/hook: test` hooks).
    #[command(after_help = "Examples:\n  berth test web\n  berth test web --timeout 2m")]
    Test(cmd::test::TestArgs),
    /// Attach to a release's running (or last) operation and show its events.
    #[command(after_help = "Examples:\n  berth watch web")]
    Watch(cmd::watch::WatchArgs),
    /// Run an operation, or ask a question, on many clusters at once.
    #[command(
        subcommand,
        after_help = "Examples:\n  berth fleet upgrade web ./chart -l env=prod --canary 1 --stop-on-failure\n  berth fleet status web --clusters eu-1,us-1 -o json"
    )]
    Fleet(cmd::fleet::FleetCommand),
    /// Manage the named clusters of the config file.
    #[command(
        subcommand,
        after_help = "Examples:\n  berth cluster add eu-1 --agent https://eu-1:7443 --ca ca.crt --cert c.crt --key c.key --label env=prod\n  berth cluster list\n  berth cluster use eu-1"
    )]
    Cluster(cmd::cluster::ClusterCommand),
    /// Manage chart repositories (Helm's repositories.yaml and index cache).
    #[command(
        subcommand,
        after_help = "Examples:\n  berth repo add bitnami https://charts.bitnami.com/bitnami\n  berth repo update\n  berth install web bitnami/nginx --version 15.x"
    )]
    Repo(cmd::repo::RepoCommand),
    /// Show a chart's Chart.yaml, values, README or CRDs.
    #[command(
        subcommand,
        visible_alias = "inspect",
        after_help = "Examples:\n  berth show values bitnami/nginx --version 15.x\n  berth show chart ./mychart"
    )]
    Show(cmd::show::ShowCommand),
    /// Download a chart from a repository, a URL or an OCI registry.
    #[command(
        visible_alias = "fetch",
        after_help = "Examples:\n  berth pull bitnami/nginx --version 15.x\n  berth pull oci://registry.example/charts/web --untar -d ./vendor"
    )]
    Pull(cmd::show::PullArgs),
    /// Search the cached indexes of the chart repositories, or Artifact Hub.
    #[command(
        subcommand,
        after_help = "Examples:\n  berth search repo nginx\n  berth search repo bitnami/ --versions\n  berth search hub nginx"
    )]
    Search(cmd::search::SearchCommand),
    /// Log in to or out of an OCI registry (Helm's registry credentials).
    #[command(
        subcommand,
        after_help = "Examples:\n  echo \"$TOKEN\" | berth registry login ghcr.io -u ci --password-stdin\n  berth registry logout ghcr.io"
    )]
    Registry(cmd::registry::RegistryCommand),
    /// Create a new chart: Helm's scaffold, or a copy of a starter chart.
    #[command(
        after_help = "Examples:\n  berth create web\n  berth create charts/web --starter my-starter\n  berth create web -p /srv/starters/base"
    )]
    Create(cmd::create::CreateArgs),
    /// Examine charts for problems, with Helm's lint rules.
    #[command(
        after_help = "Examples:\n  berth lint ./mychart\n  berth lint ./mychart --strict -f values-prod.yaml\n  berth lint dist/mychart-1.4.0.tgz --kube-version 1.30"
    )]
    Lint(cmd::lint::LintArgs),
    /// Check a chart archive against its provenance file (PATH.prov).
    #[command(
        after_help = "Examples:\n  berth verify dist/web-1.4.0.tgz\n  berth verify web-1.4.0.tgz --keyring ci-pubring.gpg"
    )]
    Verify(cmd::verify::VerifyArgs),
    /// Pack chart directories into NAME-VERSION.tgz archives.
    #[command(
        after_help = "Examples:\n  berth package ./mychart -d dist\n  berth package ./mychart --version 1.4.0 --app-version 2.0 -u"
    )]
    Package(cmd::package::PackageArgs),
    /// Push a chart archive to an OCI registry.
    #[command(
        after_help = "Examples:\n  berth package ./mychart -d dist\n  berth push dist/mychart-1.4.0.tgz oci://ghcr.io/acme/charts"
    )]
    Push(cmd::registry::PushArgs),
    /// Show the settings berth runs with (its paths, Helm's, the agent).
    #[command(after_help = "Examples:\n  berth env\n  berth env HELM_REPOSITORY_CONFIG")]
    Env(cmd::env::EnvArgs),
    /// Manage a chart's dependencies (charts/ and Chart.lock, as Helm does).
    #[command(
        subcommand,
        visible_aliases = ["dep", "dependencies"],
        after_help = "Examples:\n  berth dependency update ./mychart\n  berth dependency build ./mychart\n  berth dependency list ./mychart"
    )]
    Dependency(cmd::dependency::DependencyCommand),
    /// Show the client and agent versions.
    #[command(after_help = "Examples:\n  berth version\n  berth version --cluster eu-1 -o json")]
    Version(cmd::version::VersionArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  source <(berth completion bash)\n  berth completion zsh > \"${fpath[1]}/_berth\"\n  berth completion fish > ~/.config/fish/completions/berth.fish"
    )]
    Completion(cmd::completion::CompletionArgs),
    /// Create development certificates.
    #[command(
        subcommand,
        after_help = "Examples:\n  berth certs init ./pki --agent-host localhost\n  berth certs client ci-bot --ca-dir ./pki --ttl 90\n  berth certs show ./pki/client.crt"
    )]
    Certs(cmd::certs::CertsCommand),
    /// Run the whole system on this machine: simulator, agent, and
    /// install → upgrade → rollback → history over real mTLS.
    #[command(after_help = "Examples:\n  berth demo\n  berth demo --fast --keep")]
    Demo(cmd::demo::DemoArgs),
    /// Bring a Helm release, with its whole history, under berth.
    #[command(after_help = "Examples:\n  berth import web -n prod\n  berth import web -o json")]
    Import(cmd::migrate::ImportArgs),
    /// Write the deployed revision as a Helm release Secret, so `helm` can
    /// read the release.
    #[command(
        name = "export-helm",
        after_help = "Examples:\n  berth export-helm web -n prod"
    )]
    ExportHelm(cmd::migrate::ExportHelmArgs),
    /// Install, list, update or uninstall Helm plugins (`berth NAME` runs
    /// the CLI plugin NAME, as `helm NAME` does).
    #[command(
        subcommand,
        after_help = "Examples:\n  berth plugin install ./my-plugin\n  berth plugin list\n  berth my-plugin --some-flag"
    )]
    Plugin(cmd::plugin::PluginCommand),
    /// A name that is no berth command: a Helm CLI plugin's.
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

/// Helm's path flags and the environment variables they stand for: the
/// berth binary sets the variables from them before anything else runs,
/// so every command reads Helm's files where the flags say, as Helm does.
pub const HELM_PATH_FLAGS: [(&str, &str); 4] = [
    ("--repository-config", "HELM_REPOSITORY_CONFIG"),
    ("--repository-cache", "HELM_REPOSITORY_CACHE"),
    ("--registry-config", "HELM_REGISTRY_CONFIG"),
    ("--content-cache", "HELM_CONTENT_CACHE"),
];

/// The variables [`HELM_PATH_FLAGS`] given in `args` set (the last one
/// given wins, as with any flag).
pub fn helm_path_env(args: &[OsString]) -> Vec<(&'static str, OsString)> {
    let mut out: Vec<(&'static str, OsString)> = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(arg) = it.next() {
        if arg == "--" {
            break;
        }
        let text = arg.to_string_lossy();
        for (flag, var) in HELM_PATH_FLAGS {
            let value = if text == flag {
                it.next().cloned()
            } else {
                text.strip_prefix(flag)
                    .and_then(|rest| rest.strip_prefix('='))
                    .map(OsString::from)
            };
            if let Some(v) = value {
                out.retain(|(k, _)| *k != var);
                out.push((var, v));
            }
        }
    }
    out
}

/// Helm's deprecated flags berth takes, by the command taking them, with
/// what Helm says when one is used (cobra's MarkDeprecated).
const DEPRECATED_FLAGS: &[(&str, &str, &str)] = {
    const ATOMIC: &str = "use --rollback-on-failure instead";
    const FORCE: &str = "use --force-replace instead";
    const NO_EFFECT: &str =
        "this flag has no effect for 'berth template' and will be removed in Helm 5";
    &[
        ("install", "atomic", ATOMIC),
        ("upgrade", "atomic", ATOMIC),
        ("fleet install", "atomic", ATOMIC),
        ("fleet upgrade", "atomic", ATOMIC),
        ("template", "atomic", ATOMIC),
        // Refused with `=true` by the commands that apply (see
        // `parse_force_replace`); `--force=false` is taken.
        ("install", "force", FORCE),
        ("upgrade", "force", FORCE),
        ("rollback", "force", FORCE),
        ("template", "force", FORCE),
        ("template", "hide-notes", NO_EFFECT),
        ("template", "validate", "use '--dry-run=server' instead"),
        ("template", "render-subchart-notes", NO_EFFECT),
    ]
};

/// pflag's notice for every deprecated flag `args` give the command
/// `path` ("Flag --atomic has been deprecated, use --rollback-on-failure
/// instead"), once per use, as Helm prints them on stderr.
fn deprecation_notices(path: &str, args: &[OsString]) -> Vec<String> {
    let flags: Vec<_> = DEPRECATED_FLAGS
        .iter()
        .filter(|(command, ..)| *command == path)
        .collect();
    let mut out = Vec::new();
    for arg in args.iter().skip(1).take_while(|a| *a != "--") {
        let text = arg.to_string_lossy();
        let Some(given) = text.strip_prefix("--") else {
            continue;
        };
        let name = given.split_once('=').map_or(given, |(name, _)| name);
        if let Some((_, flag, why)) = flags.iter().find(|(_, flag, _)| *flag == name) {
            out.push(format!("Flag --{flag} has been deprecated, {why}"));
        }
    }
    out
}

/// The names of the (sub)commands `m` matched, joined by spaces.
fn command_path(m: &clap::ArgMatches) -> String {
    let mut path = Vec::new();
    let mut at = m;
    while let Some((name, sub)) = at.subcommand() {
        path.push(name);
        at = sub;
    }
    path.join(" ")
}

/// berth's command line as it parses: [`Cli`], with every on/off flag
/// also taking a value, as Helm's (pflag's) do: `--atomic=false`,
/// `--create-namespace=true`, as scripts written for Helm pass them
/// (`--wait-for-jobs=$JOBS`). The value is spelled as Go's
/// strconv.ParseBool reads it (1, t, T, TRUE, true, True and their
/// false counterparts); the bare flag is true. Help is rendered from
/// [`Cli`] as declared, where they read as plain flags.
pub fn parser() -> clap::Command {
    fn go_bools(cmd: clap::Command) -> clap::Command {
        cmd.mut_args(|a| {
            // (A flag that already takes a value, `plugin install
            // --verify[=false]`, is left as declared.)
            if !matches!(a.get_action(), clap::ArgAction::SetTrue)
                || a.get_long().is_none()
                || a.get_num_args().is_some()
            {
                return a;
            }
            a.action(clap::ArgAction::Set)
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true")
                .default_value("false")
                .value_name("true|false")
                .value_parser(|s: &str| {
                    cmd::go_parse_bool(s)
                        .ok_or_else(|| format!("strconv.ParseBool: parsing {s:?}: invalid syntax"))
                })
        })
        .mut_subcommands(go_bools)
    }
    go_bools(Cli::command())
}

/// Whether `--color` (else $HELM_COLOR, unless $NO_COLOR is set, as Helm
/// reads them) says to colour or not; None for auto, which leaves it to
/// [`Io`] (a terminal, and $NO_COLOR unset).
fn color_mode(flag: Option<&str>) -> Option<bool> {
    let env = || {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Some("never".to_string());
        }
        std::env::var("HELM_COLOR").ok().map(|v| v.to_lowercase())
    };
    match flag.map(str::to_string).or_else(env).as_deref() {
        Some("never") => Some(false),
        Some("always") => Some(true),
        _ => None,
    }
}

/// Parse arguments and run one command; returns the process exit code.
pub async fn run<I, T>(args: I, io: &mut Io) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    berth_agent::install_crypto_provider();
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let parsed = parser().try_get_matches_from(&args).and_then(|m| {
        use clap::FromArgMatches;
        let mut cli = Cli::from_arg_matches(&m)?;
        let given = |m: &clap::ArgMatches| {
            m.value_source("key") == Some(clap::parser::ValueSource::CommandLine)
        };
        cli.global.key_given = given(&m) || m.subcommand().is_some_and(|(_, sub)| given(sub));
        Ok((cli, command_path(&m)))
    });
    let cli = match parsed {
        Ok((cli, path)) => {
            for notice in deprecation_notices(&path, &args) {
                let _ = writeln!(io.err, "{notice}");
            }
            cli
        }
        Err(mut e) => {
            use clap::error::ErrorKind;
            let help = |k: ErrorKind| {
                matches!(
                    k,
                    ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                )
            };
            if help(e.kind()) {
                // The help of the command as declared (its on/off flags
                // plain), and berth's lists the CLI plugins among its
                // commands, as Helm's does (only the top level's help text
                // changes).
                let mut root = Cli::command();
                if let Some(plugins) = cmd::plugin::help_section() {
                    let after = root
                        .get_after_help()
                        .map(|h| h.to_string())
                        .unwrap_or_default();
                    root = root.after_help(format!("{plugins}\n{after}"));
                }
                match root.try_get_matches_from(&args) {
                    Err(again) if help(again.kind()) => e = again,
                    _ => {}
                }
            }
            let code = e.exit_code();
            let text = e.render().to_string();
            if code == 0 {
                let _ = write!(io.out, "{text}");
            } else if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                let _ = write!(io.err, "{text}");
            } else {
                // One line, as Helm words a bad flag ("Error: invalid argument
                // ..."): clap's first paragraph (what is wrong, with the
                // missing arguments or possible values it lists below),
                // without its tips and usage.
                let first: Vec<&str> = text
                    .lines()
                    .take_while(|l| !l.trim().is_empty())
                    .map(str::trim)
                    .collect();
                let first = first.join(" ");
                let first = first.strip_prefix("error: ").unwrap_or(&first);
                let _ = writeln!(io.err, "Error: {}", output::escape_controls(first));
            }
            return code;
        }
    };
    if let Some(color) = color_mode(cli.global.color.as_deref()) {
        io.color = color;
    }
    match cmd::dispatch(cli, io).await {
        Ok(()) => 0,
        // The reader went away (`berth get all web | head`): nothing to
        // say to it, and the exit status a shell gives a program SIGPIPE
        // ends, as Helm (Go) ends there.
        Err(CliError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => 141,
        Err(e) => {
            let text = e.to_string();
            let _ = writeln!(io.err, "Error: {}", output::escape_controls(&text));
            match e {
                CliError::Exit { code, .. } => code,
                _ => 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own checks of every command (one flag name or short per
    /// argument, flattened groups included), which otherwise only fail when
    /// the command runs.
    #[test]
    fn helms_path_flags_become_their_variables() {
        let args: Vec<std::ffi::OsString> = [
            "berth",
            "repo",
            "list",
            "--repository-config",
            "/a.yaml",
            "--registry-config=/r.json",
            "--repository-config=/b.yaml",
            "--",
            "--repository-cache",
            "/ignored",
        ]
        .into_iter()
        .map(Into::into)
        .collect();
        assert_eq!(
            super::helm_path_env(&args),
            [
                ("HELM_REGISTRY_CONFIG", "/r.json".into()),
                ("HELM_REPOSITORY_CONFIG", "/b.yaml".into()),
            ]
        );
    }

    #[test]
    fn every_command_is_well_formed() {
        super::Cli::command().debug_assert();
        super::parser().debug_assert();
    }

    /// As with Helm's flags: an on/off flag takes `=VALUE` in Go's
    /// spelling, and a flag given again wins over the one before; list
    /// flags add up.
    #[test]
    fn on_off_flags_take_values_and_the_last_flag_wins() {
        use clap::FromArgMatches;
        let parse = |args: &[&str]| {
            let args = std::iter::once("berth").chain(args.iter().copied());
            super::parser()
                .try_get_matches_from(args)
                .and_then(|m| super::Cli::from_arg_matches(&m))
        };
        let upgrade = |args: &[&str]| match parse(args).map(|c| c.command) {
            Ok(super::Command::Upgrade(u)) => u,
            other => panic!("{args:?}: {other:?}"),
        };
        let u = upgrade(&["upgrade", "web", "./chart"]);
        assert!(!u.atomic && !u.install && !u.create_namespace);
        let u = upgrade(&[
            "upgrade",
            "--atomic",
            "-i",
            "web",
            "./chart",
            "--create-namespace",
        ]);
        assert!(u.atomic && u.install && u.create_namespace);
        let u = upgrade(&[
            "upgrade",
            "--install=true",
            "--atomic=false",
            "--create-namespace=T",
            "--reuse-values=0",
            "web",
            "./chart",
        ]);
        assert!(u.install && !u.atomic && u.create_namespace && !u.reuse_values);
        // Helm v4's name for --atomic; a value after a space is the next
        // argument, as with pflag.
        let u = upgrade(&[
            "upgrade",
            "--rollback-on-failure=1",
            "--install",
            "web",
            "./chart",
        ]);
        assert!(u.atomic && u.install);
        assert_eq!(
            (u.name.as_str(), u.chart.to_str()),
            ("web", Some("./chart"))
        );
        let u = upgrade(&["upgrade", "--atomic", "--atomic=false", "web", "./chart"]);
        assert!(!u.atomic, "the last one wins");
        let u = upgrade(&[
            "upgrade", "-qi", "web", "./chart", "--set", "a=1", "--set", "b=2",
        ]);
        assert!(u.install && u.op.quiet);
        assert_eq!(u.values.set, ["a=1", "b=2"]);
        let c = parse(&["--debug=false", "status", "web", "-n", "a", "-n", "b"]).unwrap();
        assert!(!c.global.debug);
        assert_eq!(c.global.namespace, "b");

        let err = parse(&["upgrade", "--atomic=maybe", "web", "./chart"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                r#"'--rollback-on-failure[=<true|false>]': strconv.ParseBool: parsing "maybe": invalid syntax"#
            ),
            "{err}"
        );
    }

    /// Helm's deprecated flags are taken with the notice Helm prints, once
    /// per use, and only by the commands that deprecate them.
    #[test]
    fn deprecated_flags_are_taken_with_helms_notice() {
        let notices = |args: &[&str]| {
            let args: Vec<std::ffi::OsString> = std::iter::once("berth")
                .chain(args.iter().copied())
                .map(Into::into)
                .collect();
            let m = super::parser().try_get_matches_from(&args).unwrap();
            super::deprecation_notices(&super::command_path(&m), &args)
        };
        let atomic = "Flag --atomic has been deprecated, use --rollback-on-failure instead";
        assert_eq!(notices(&["upgrade", "--atomic", "web", "./c"]), [atomic]);
        assert_eq!(
            notices(&[
                "fleet",
                "upgrade",
                "web",
                "./c",
                "--atomic=true",
                "-l",
                "a=b"
            ]),
            [atomic]
        );
        assert_eq!(
            notices(&["install", "web", "./c", "--atomic=false", "--force=false"]),
            [
                atomic,
                "Flag --force has been deprecated, use --force-replace instead"
            ]
        );
        assert!(notices(&["upgrade", "--rollback-on-failure", "web", "./c"]).is_empty());
        assert!(notices(&["install", "web", "./c", "--hide-notes"]).is_empty());
        assert_eq!(
            notices(&[
                "template",
                "web",
                "./c",
                "--hide-notes",
                "--atomic",
                "--atomic"
            ]),
            [
                "Flag --hide-notes has been deprecated, this flag has no effect for 'berth template' and will be removed in Helm 5",
                atomic,
                atomic
            ]
        );
        // After `--`, arguments are no flags.
        let after: Vec<std::ffi::OsString> = ["berth", "template", "web", "--", "--atomic"]
            .into_iter()
            .map(Into::into)
            .collect();
        assert!(super::deprecation_notices("template", &after).is_empty());
    }

    /// Every command and subcommand shows examples in its --help.
    #[test]
    fn every_command_has_examples() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                let help = sub.clone().render_long_help().to_string();
                if !help.contains("Example") {
                    missing.push(path.clone());
                }
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "berth", &mut missing);
        assert!(missing.is_empty(), "no examples in --help of: {missing:?}");
    }
}
