//! `berth registry login|logout HOST`: credentials for OCI registries, kept
//! where `helm registry login` keeps them (Docker's config.json format at
//! `$HELM_REGISTRY_CONFIG`), so either tool's login serves both.

use std::io::{Read, Write};

use clap::{Args, Subcommand};

use crate::charts::AccessFlags;
use crate::charts::oci;
use crate::{CliError, Io};

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// Check credentials against a registry and store them.
    #[command(
        after_help = "Examples:\n  echo \"$GITHUB_TOKEN\" | berth registry login ghcr.io -u \"$GITHUB_USER\" --password-stdin\n  berth install web oci://ghcr.io/acme/charts/web --version 1.x"
    )]
    Login(LoginArgs),
    /// Forget a registry's credentials.
    #[command(after_help = "Examples:\n  berth registry logout ghcr.io")]
    Logout {
        /// The registry's host (and port).
        host: String,
    },
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// The registry's host (and port).
    pub host: String,
    /// The registry username.
    #[arg(short = 'u', long = "username", default_value = "")]
    pub user: String,
    /// The registry password (visible to other processes; prefer --password-stdin).
    #[arg(short = 'p', long = "password", default_value = "")]
    pub pass: String,
    /// Read the password from stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// Do not verify the registry's TLS certificate (Helm's --insecure).
    #[arg(long)]
    pub insecure: bool,
    /// Verify the registry's certificate with this CA bundle.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<std::path::PathBuf>,
    /// A client certificate for the registry.
    #[arg(long, value_name = "FILE")]
    pub cert_file: Option<std::path::PathBuf>,
    /// The client certificate's key.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<std::path::PathBuf>,
    /// Talk to the registry over plain HTTP.
    #[arg(long)]
    pub plain_http: bool,
}

/// `oci://host/`, `https://host` or `host`: the host.
fn host_of(s: &str) -> String {
    let s = ["oci://", "https://", "http://"]
        .iter()
        .find_map(|p| s.strip_prefix(p))
        .unwrap_or(s);
    s.trim_end_matches('/').to_string()
}

pub async fn run(c: RegistryCommand, io: &mut Io) -> Result<(), CliError> {
    match c {
        RegistryCommand::Login(a) => {
            let host = host_of(&a.host);
            let mut pass = a.pass.clone();
            if a.password_stdin {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text)?;
                pass = text
                    .strip_suffix('\n')
                    .map(|t| t.strip_suffix('\r').unwrap_or(t))
                    .unwrap_or(&text)
                    .to_string();
            } else if !pass.is_empty() {
                writeln!(
                    io.err,
                    "WARNING: using --password via the CLI is insecure. Use --password-stdin"
                )?;
            }
            // Helm prompts for what is missing; berth takes it from flags
            // and stdin only, so a CI job never hangs on a prompt.
            if a.user.is_empty() {
                return Err(CliError::Usage(
                    "username required (--username); identity tokens are not supported".into(),
                ));
            }
            if pass.is_empty() {
                return Err(CliError::Usage(
                    "password required (--password-stdin or --password)".into(),
                ));
            }
            let access = AccessFlags {
                ca_file: a.ca_file,
                cert_file: a.cert_file,
                key_file: a.key_file,
                insecure_skip_tls_verify: a.insecure,
                plain_http: a.plain_http,
                ..AccessFlags::default()
            };
            oci::login(&host, &a.user, &pass, &access).await?;
            writeln!(io.out, "Login Succeeded")?;
            Ok(())
        }
        RegistryCommand::Logout { host } => {
            let host = host_of(&host);
            if !oci::logout(&host)? {
                return Err(CliError::Other(format!("not logged in to {host}")));
            }
            writeln!(io.out, "Removing login credentials for {host}")?;
            Ok(())
        }
    }
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// The chart archive (.tgz, as `berth package` writes it).
    pub chart: std::path::PathBuf,
    /// The registry and path: oci://host[/path]; the chart goes to
    /// path/NAME:VERSION.
    pub remote: String,
    #[command(flatten)]
    pub access: AccessFlags,
}

/// `helm push`: a chart archive into an OCI registry.
pub async fn push(a: PushArgs, io: &mut Io) -> Result<(), CliError> {
    let (reference, digest) = oci::push(&a.chart, &a.remote, &a.access).await?;
    oci::RegistryReport::pushed(reference, digest).write(&mut *io.out)?;
    Ok(())
}
