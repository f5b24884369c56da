//! `berth repo add|list|update|remove`: Helm's chart repositories, in Helm's
//! own files (repositories.yaml and the cached indexes, where `helm repo`
//! keeps them), so `repo/chart` works the same in berth and in helm.

use std::io::Write;
use std::path::Path;

use clap::{Args, Subcommand};

use crate::charts::{self, RepoEntry, RepoFile};
use crate::output::{self, Format};
use crate::{CliError, Io};

#[derive(Subcommand, Debug)]
pub enum RepoCommand {
    /// Add a chart repository (and cache its index).
    #[command(
        after_help = "Examples:\n  berth repo add bitnami https://charts.bitnami.com/bitnami\n  berth repo add internal https://charts.corp/stable --username ci --password \"$TOKEN\" --ca-file corp-ca.crt"
    )]
    Add(AddArgs),
    /// List the chart repositories.
    #[command(after_help = "Examples:\n  berth repo list\n  berth repo list -o json")]
    List {
        #[arg(short = 'o', long, value_enum, default_value_t)]
        output: Format,
    },
    /// Download the repositories' latest indexes.
    #[command(after_help = "Examples:\n  berth repo update\n  berth repo update bitnami")]
    Update {
        /// Only these repositories.
        names: Vec<String>,
    },
    /// Remove chart repositories.
    #[command(
        visible_alias = "rm",
        after_help = "Example:\n  berth repo remove bitnami"
    )]
    Remove {
        #[arg(required = true)]
        names: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct AddArgs {
    pub name: String,
    pub url: String,
    #[arg(long, default_value = "")]
    pub username: String,
    #[arg(long, default_value = "")]
    pub password: String,
    /// CA bundle for the repository's HTTPS certificate.
    #[arg(long, default_value = "")]
    pub ca_file: String,
    /// Client certificate for the repository.
    #[arg(long, default_value = "")]
    pub cert_file: String,
    /// The client certificate's key.
    #[arg(long, default_value = "")]
    pub key_file: String,
    /// Send the credentials to every host, not only the repository's.
    #[arg(long)]
    pub pass_credentials: bool,
    /// Do not verify the repository's certificate.
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Replace a repository of that name with other settings.
    #[arg(long)]
    pub force_update: bool,
}

pub async fn run(c: RepoCommand, io: &mut Io) -> Result<(), CliError> {
    let config = charts::helm_repository_config();
    match c {
        RepoCommand::Add(a) => add(&config, a, io).await,
        RepoCommand::List { output: f } => {
            let file = charts::read_repo_file(&config)?;
            if file.repositories.is_empty() {
                return Err(CliError::Other("no repositories to show".into()));
            }
            match f {
                Format::Table => {
                    let rows: Vec<Vec<String>> = file
                        .repositories
                        .iter()
                        .map(|r| vec![r.name.clone(), r.url.clone()])
                        .collect();
                    output::table(&mut *io.out, &["NAME", "URL"], &rows)
                }
                f => {
                    let v: Vec<_> = file
                        .repositories
                        .iter()
                        .map(|r| serde_json::json!({"name": r.name, "url": r.url}))
                        .collect();
                    output::structured(&mut *io.out, f, &serde_json::Value::Array(v))
                }
            }
        }
        RepoCommand::Update { names } => update(&config, &names, io).await,
        RepoCommand::Remove { names } => {
            let mut file = charts::read_repo_file(&config)?;
            for name in &names {
                let before = file.repositories.len();
                file.repositories.retain(|r| &r.name != name);
                if file.repositories.len() == before {
                    return Err(CliError::Other(format!("no repo named {name:?} found")));
                }
                write_file(&config, &file)?;
                let _ = std::fs::remove_file(charts::index_path(name));
                writeln!(io.out, "{name:?} has been removed from your repositories")?;
            }
            Ok(())
        }
    }
}

async fn add(config: &Path, a: AddArgs, io: &mut Io) -> Result<(), CliError> {
    if a.name.contains('/') {
        return Err(CliError::Usage(format!(
            "repository name ({}) contains '/', please specify a different name without '/'",
            a.name
        )));
    }
    let entry = RepoEntry {
        name: a.name.clone(),
        url: a.url.clone(),
        username: a.username,
        password: a.password,
        cert_file: a.cert_file,
        key_file: a.key_file,
        ca_file: a.ca_file,
        insecure_skip_tls_verify: a.insecure_skip_tls_verify,
        pass_credentials_all: a.pass_credentials,
    };
    let mut file = charts::read_repo_file(config)?;
    if let Some(existing) = file.repositories.iter().find(|r| r.name == a.name) {
        if *existing == entry {
            writeln!(
                io.out,
                "{:?} already exists with the same configuration, skipping",
                a.name
            )?;
            return Ok(());
        }
        if !a.force_update {
            return Err(CliError::Other(format!(
                "repository name ({}) already exists, please specify a different name",
                a.name
            )));
        }
    }
    let index = entry.download_index().await.map_err(|e| {
        CliError::Other(format!(
            "looks like {:?} is not a valid chart repository or cannot be reached: {e}",
            a.url
        ))
    })?;
    charts::write_index(&a.name, &index)?;
    file.repositories.retain(|r| r.name != a.name);
    file.repositories.push(entry);
    write_file(config, &file)?;
    writeln!(io.out, "{:?} has been added to your repositories", a.name)?;
    Ok(())
}

async fn update(config: &Path, names: &[String], io: &mut Io) -> Result<(), CliError> {
    let file = charts::read_repo_file(config)?;
    if file.repositories.is_empty() {
        return Err(CliError::Other(
            "no repositories found. You must add one before updating".into(),
        ));
    }
    for name in names {
        if !file.repositories.iter().any(|r| &r.name == name) {
            return Err(CliError::Other(format!(
                "no repositories found matching '{name}'.  Nothing will be updated"
            )));
        }
    }
    writeln!(
        io.out,
        "Hang tight while we grab the latest from your chart repositories..."
    )?;
    // All at once, as Helm's repo update does; reported in the file's order.
    let chosen: Vec<RepoEntry> = file
        .repositories
        .iter()
        .filter(|r| names.is_empty() || names.contains(&r.name))
        .cloned()
        .collect();
    let results = charts::refresh(&chosen).await;
    let mut failed = Vec::new();
    for (r, result) in chosen.iter().zip(results) {
        match result {
            Ok(()) => writeln!(
                io.out,
                "...Successfully got an update from the {:?} chart repository",
                r.name
            )?,
            Err(e) => {
                writeln!(
                    io.out,
                    "...Unable to get an update from the {:?} chart repository ({}):\n\t{e}",
                    r.name, r.url
                )?;
                failed.push(r.url.clone());
            }
        }
    }
    if !failed.is_empty() {
        return Err(CliError::Other(format!(
            "failed to update the following repositories: {failed:?}"
        )));
    }
    writeln!(io.out, "Update Complete. ⎈Happy Helming!⎈")?;
    Ok(())
}

/// repositories.yaml as Helm writes it, private to its owner as Helm's is
/// (it may hold passwords).
fn write_file(config: &Path, file: &RepoFile) -> Result<(), CliError> {
    let file = RepoFile {
        api_version: String::new(),
        generated: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        repositories: file.repositories.clone(),
    };
    let text = serde_saphyr::to_string(&file).map_err(|e| CliError::Other(e.to_string()))?;
    charts::write_replacing(config, &text, true)
}
