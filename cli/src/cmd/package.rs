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
use crate::charts::provenance;
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
    /// Sign the archive: NAME-VERSION.tgz.prov beside it, as Helm writes
    /// it. The key is named by --key (as with Helm) in --keyring.
    #[arg(long)]
    pub sign: bool,
    /// The keyring holding the secret signing key (a binary OpenPGP
    /// keyring, e.g. `gpg --export-secret-keys > secring.gpg`).
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
    /// A file whose first line unlocks the signing key ("-": stdin);
    /// berth never prompts for it.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// The first line of `--passphrase-file` (Helm's passphraseFileFetcher).
pub(crate) fn passphrase(file: &std::path::Path) -> Result<String, CliError> {
    let text = if file == std::path::Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        s
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| CliError::Other(format!("{}: {e}", file.display())))?
    };
    let line = text.lines().next().unwrap_or("");
    Ok(line.to_string())
}

pub async fn run(g: &crate::Global, a: PackageArgs, io: &mut Io) -> Result<(), CliError> {
    // Helm's --key (the signing key's name) is berth's global --key.
    let signer = match (a.sign, g.key_given.then_some(g.key.as_ref()).flatten()) {
        (false, _) => None,
        (true, None) => {
            return Err(CliError::Usage(
                "--key is required for signing a package".into(),
            ));
        }
        (true, Some(key)) => {
            let keyring = a
                .keyring
                .clone()
                .unwrap_or_else(provenance::default_keyring);
            let pass = a.passphrase_file.as_deref().map(passphrase).transpose()?;
            Some((key.to_string_lossy().into_owned(), keyring, pass))
        }
    };
    for path in &a.charts {
        std::fs::metadata(path).map_err(|e| CliError::Other(format!("{}: {e}", path.display())))?;
        if a.dependency_update {
            // Helm discards the manager's progress here.
            let mut quiet = std::io::sink();
            Manager {
                chart_path: path.clone(),
                skip_refresh: false,
                access: a.access.clone(),
                verify: None,
                out: &mut quiet,
            }
            .update()
            .await?;
        }
        let saved = package(path, &a)?;
        if let Some((key, keyring, pass)) = &signer {
            let prov = provenance::sign(&saved, key, keyring, pass.clone())?;
            let file = format!("{}.prov", saved.display());
            std::fs::write(&file, prov).map_err(|e| CliError::Other(format!("{file}: {e}")))?;
        }
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
