//! `berth package CHART_DIR...`: a chart directory packed into
//! `NAME-VERSION.tgz` as Helm's `package` packs it (pkg/action/package.go,
//! chartutil.Save): Chart.yaml and Chart.lock re-encoded from Helm's
//! structs, every other file as written, subcharts (directories or
//! archives) unpacked below `charts/`. The archive's entries carry no
//! timestamps, so packing the same chart twice gives the same bytes.

use std::io::Write;
use std::path::PathBuf;

use berth::chart::{self, Limits};
use berth_template::funcs::semver::Version;
use clap::Args;

use crate::charts::AccessFlags;
use crate::charts::deps::Manager;
use crate::charts::save;
use crate::{CliError, Io};

#[derive(Args, Debug)]
pub struct PackageArgs {
    /// Chart directories.
    #[arg(required = true)]
    pub charts: Vec<PathBuf>,
    /// Where to write the archives.
    #[arg(short = 'd', long, default_value = ".")]
    pub destination: PathBuf,
    /// Set the chart's version (semver) in the archive.
    #[arg(long)]
    pub version: Option<String>,
    /// Set the chart's appVersion in the archive.
    #[arg(long)]
    pub app_version: Option<String>,
    /// Run `dependency update` on each chart first.
    #[arg(short = 'u', long)]
    pub dependency_update: bool,
    /// Credentials and TLS for oci:// dependencies (with -u).
    #[command(flatten)]
    pub access: AccessFlags,
}

pub async fn run(a: PackageArgs, io: &mut Io) -> Result<(), CliError> {
    for path in &a.charts {
        std::fs::metadata(path).map_err(|e| CliError::Other(format!("{}: {e}", path.display())))?;
        if a.dependency_update {
            // Helm discards the manager's progress here.
            let mut quiet = std::io::sink();
            Manager {
                chart_path: path.clone(),
                skip_refresh: false,
                access: a.access.clone(),
                out: &mut quiet,
            }
            .update()
            .await?;
        }
        let saved = package(path, &a)?;
        writeln!(
            io.out,
            "Successfully packaged chart and saved it to: {}",
            saved.display()
        )?;
    }
    Ok(())
}

fn package(path: &std::path::Path, a: &PackageArgs) -> Result<PathBuf, CliError> {
    if !path.is_dir() {
        return Err(CliError::Other(format!(
            "{}: not a chart directory",
            path.display()
        )));
    }
    let limits = Limits::default();
    let loaded = chart::build(&chart::load_dir(path, &limits)?, &limits)?;
    if let Some(v) = &a.version {
        Version::parse(v).map_err(CliError::Other)?;
    }
    let missing = berth::render::missing_dependencies(&loaded.chart);
    if !missing.is_empty() {
        return Err(CliError::Other(format!(
            "found in Chart.yaml, but missing in charts/ directory: {}",
            missing.join(", ")
        )));
    }
    let saved = save::save(path, a.version.as_deref(), a.app_version.as_deref())?;
    // Helm saves to the working directory's full path when given ".".
    let dest = &if a.destination == std::path::Path::new(".") {
        std::env::current_dir()?
    } else {
        a.destination.clone()
    };
    match std::fs::metadata(dest) {
        Ok(m) if !m.is_dir() => {
            return Err(CliError::Other(format!(
                "failed to save: is not a directory: {}",
                dest.display()
            )));
        }
        Ok(_) => {}
        Err(_) => std::fs::create_dir_all(dest)?,
    }
    let file = dest.join(format!("{}-{}.tgz", saved.name, saved.version));
    std::fs::write(&file, saved.bytes)
        .map_err(|e| CliError::Other(format!("failed to save: {}: {e}", file.display())))?;
    Ok(file)
}
