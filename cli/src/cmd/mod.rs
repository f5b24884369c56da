//! One module per verb. Each takes its parsed arguments, the global flags
//! and the [`Io`](crate::Io) to write to.

use crate::{Cli, CliError, Command, Io};

pub mod certs;
pub mod cluster;
pub mod completion;
pub mod create;
pub mod demo;
pub mod dependency;
pub mod diff;
pub mod drift;
pub mod env;
pub mod fleet;
pub mod get;
pub mod history;
pub mod install;
pub mod lint;
pub mod list;
pub mod migrate;
pub mod package;
pub mod plugin;
pub mod registry;
pub mod repo;
pub mod rollback;
pub mod search;
pub mod show;
pub mod status;
pub mod template;
pub mod test;
pub mod uninstall;
pub mod unlock;
pub mod verify;
pub mod version;
pub mod watch;

pub async fn dispatch(cli: Cli, io: &mut Io) -> Result<(), CliError> {
    let mut g = cli.global;
    if let Command::External(args) = cli.command {
        return plugin::run_external(&g, args, io);
    }
    // Helm talks to the API server with a kubeconfig; berth to each
    // cluster's agent: say so rather than "unexpected argument".
    if let Some(flag) = [
        g.kube_context.as_ref().map(|_| "--kube-context"),
        g.kubeconfig.as_ref().map(|_| "--kubeconfig"),
    ]
    .into_iter()
    .flatten()
    .next()
    {
        return Err(CliError::Usage(format!(
            "{flag} is Helm's way to reach a cluster; berth reaches a cluster's agent: --cluster NAME (see `berth cluster list`) or --agent/--ca/--cert/--key"
        )));
    }
    if !matches!(
        cli.command,
        Command::Certs(_)
            | Command::Demo(_)
            | Command::Template(_)
            | Command::Cluster(_)
            | Command::Repo(_)
            | Command::Dependency(_)
            | Command::Show(_)
            | Command::Pull(_)
            | Command::Search(_)
            | Command::Registry(_)
            | Command::Package(_)
            | Command::Create(_)
            | Command::Lint(_)
            | Command::Verify(_)
            | Command::Push(_)
            | Command::Env(_)
            | Command::Completion(_)
            | Command::Plugin(_)
            | Command::Fleet(_)
    ) {
        g.resolve_cluster()?;
    }
    match cli.command {
        Command::Install(a) => install::install(&g, a, io).await,
        Command::Upgrade(a) => install::upgrade(&g, a, io).await,
        Command::Rollback(a) => rollback::run(&g, a, io).await,
        Command::Uninstall(a) => uninstall::run(&g, a, io).await,
        Command::Unlock(a) => unlock::run(&g, a, io).await,
        Command::History(a) => history::run(&g, a, io).await,
        Command::Status(a) => status::run(&g, a, io).await,
        Command::List(a) => list::run(&g, a, io).await,
        Command::Get(c) => get::run(&g, c, io).await,
        Command::Template(a) => template::run(&g, a, io).await,
        Command::Diff(c) => diff::run(&g, c, io).await,
        Command::Drift(a) => drift::run(&g, a, io).await,
        Command::Test(a) => test::run(&g, a, io).await,
        Command::Watch(a) => watch::run(&g, a, io).await,
        Command::Version(a) => version::run(&g, a, io).await,
        Command::Certs(c) => certs::run(c, io),
        Command::Cluster(c) => cluster::run(&g, c, io),
        Command::Repo(c) => repo::run(c, io).await,
        Command::Dependency(c) => dependency::run(c, io).await,
        Command::Show(c) => show::show(c, io).await,
        Command::Pull(a) => show::pull(a, io).await,
        Command::Search(c) => search::run(c, io).await,
        Command::Registry(c) => registry::run(c, io).await,
        Command::Package(a) => package::run(&g, a, io).await,
        Command::Create(a) => create::run(a, io),
        Command::Lint(a) => lint::run(&g, a, io).await,
        Command::Verify(a) => verify::run(a, io),
        Command::Push(a) => registry::push(a, io).await,
        Command::Env(a) => env::run(&g, a, io),
        Command::Completion(a) => completion::run(a, io),
        Command::Fleet(c) => fleet::run(&g, c, io).await,
        Command::Demo(a) => demo::run(a, io).await,
        Command::Plugin(c) => plugin::run(&g, c, io).await,
        Command::External(args) => plugin::run_external(&g, args, io),
        Command::Import(a) => migrate::import(&g, a, io).await,
        Command::ExportHelm(a) => migrate::export_helm(&g, a, io).await,
    }
}

pub use berth::types::parse_duration;

/// A release name checked first, as each Helm action checks it before
/// anything else, and refused in that action's words (`words`: "uninstall:
/// Release name is invalid"), with the name after them.
pub fn check_release_name(name: &str, words: &str) -> Result<(), CliError> {
    berth::types::ReleaseName::parse(name)
        .map(drop)
        .map_err(|_| CliError::Other(format!("{words}: {name}")))
}

/// Helm's words for a bad name where it reads a release (status, get).
pub const RELEASE_CONTENT_NAME: &str = "releaseContent: Release name is invalid";

/// Go's `strconv.ParseBool`, as pflag reads a boolean flag's value.
pub fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Helm v4's `--wait[=STRATEGY]` (pkg/cmd/flags.go waitValue): watcher and
/// legacy wait for the resources, hookOnly (Helm's default without the
/// flag) only for hooks; true and false as its deprecated booleans.
pub fn parse_wait(s: &str) -> Result<bool, String> {
    match s {
        "watcher" | "legacy" | "true" => Ok(true),
        "hookOnly" | "false" => Ok(false),
        other => Err(format!(
            "invalid wait strategy {other:?}: must be one of watcher, hookOnly, legacy"
        )),
    }
}

/// Helm v4's `--dry-run[=STRATEGY]`: client and server are a dry run (berth
/// plans against the cluster for both), none is not; true and false as
/// Helm's deprecated booleans.
pub fn parse_dry_run(s: &str) -> Result<bool, String> {
    match s {
        "client" | "server" | "true" => Ok(true),
        "none" | "false" => Ok(false),
        other => Err(format!(
            "invalid dry-run value ({other}). Must be \"none\", \"server\", or \"client\""
        )),
    }
}
