//! `berth dependency list|update|build`: a chart's dependencies, managed
//! with Helm's files and Helm's rules (see `charts::deps`), so a
//! Chart.lock either tool writes, the other builds.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::charts::AccessFlags;
use crate::charts::deps::{self, Manager};
use crate::{CliError, Io};

#[derive(Subcommand, Debug)]
pub enum DependencyCommand {
    /// List the dependencies Chart.yaml names and what charts/ holds of each.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  berth dependency list ./mychart\n\nSTATUS: ok, missing, unpacked, wrong version, invalid version, misnamed, corrupt, too many matches."
    )]
    List {
        /// The chart directory (default: the current one).
        #[arg(default_value = ".")]
        chart: PathBuf,
        /// The widest a column gets.
        #[arg(long, default_value_t = 80)]
        max_col_width: usize,
    },
    /// Resolve Chart.yaml's dependencies to the newest versions their
    /// constraints take, download them into charts/ and write Chart.lock.
    #[command(
        visible_alias = "up",
        after_help = "Examples:\n  berth dependency update ./mychart\n  berth dependency update ./mychart --skip-refresh"
    )]
    Update(DependencyArgs),
    /// Download the versions Chart.lock names into charts/ (an update when
    /// there is no Chart.lock); refused when Chart.yaml changed since.
    #[command(after_help = "Examples:\n  berth dependency build ./mychart")]
    Build(DependencyArgs),
}

#[derive(Args, Debug)]
pub struct DependencyArgs {
    /// The chart directory (default: the current one).
    #[arg(default_value = ".")]
    pub chart: PathBuf,
    /// Do not refresh the cached repository indexes first.
    #[arg(long)]
    pub skip_refresh: bool,
    /// Credentials and TLS for oci:// registries (chart repositories use
    /// those of repositories.yaml).
    #[command(flatten)]
    pub access: AccessFlags,
    /// Check each chart downloaded from a repository against its
    /// provenance (CHART.prov) before keeping it.
    #[arg(long)]
    pub verify: bool,
    /// The public keyring --verify checks with (default
    /// ~/.gnupg/pubring.gpg).
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
}

impl DependencyArgs {
    fn manager<'a>(self, io: &'a mut Io) -> Manager<'a> {
        Manager {
            chart_path: self.chart,
            skip_refresh: self.skip_refresh,
            access: self.access,
            verify: self.verify.then(|| {
                self.keyring
                    .unwrap_or_else(crate::charts::provenance::default_keyring)
            }),
            out: &mut *io.out,
        }
    }
}

pub async fn run(c: DependencyCommand, io: &mut Io) -> Result<(), CliError> {
    match c {
        DependencyCommand::List {
            chart,
            max_col_width,
        } => deps::list(&chart, max_col_width, &mut *io.out),
        DependencyCommand::Update(a) => a.manager(io).update().await,
        DependencyCommand::Build(a) => a.manager(io).build().await,
    }
}
