//! `berth certs init|client|revoke|show`: a development PKI without an
//! OpenSSL recipe. Keys are written with mode 0600; every file is replaced
//! atomically, so an agent watching it never reads half of one.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use crate::{CliError, Io};

#[derive(Subcommand, Debug)]
pub enum CertsCommand {
    /// Create a CA, an agent certificate and an admin client certificate.
    #[command(
        after_help = "Example:\n  berth certs init ./pki --agent-host localhost --agent-host 127.0.0.1"
    )]
    Init {
        /// Directory to write ca.crt, ca.key, agent.crt, agent.key, client.crt, client.key.
        dir: PathBuf,
        /// DNS name or IP the agent is reached at (repeatable).
        #[arg(long = "agent-host")]
        agent_hosts: Vec<String>,
        /// Identity (CN) of the client certificate.
        #[arg(long, default_value = "admin")]
        client_name: String,
    },
    /// Issue a client certificate from a CA.
    #[command(after_help = "Example:\n  berth certs client ci-deployer --ca-dir ./pki --ttl 90")]
    Client {
        /// Identity (CN) of the new client.
        name: String,
        /// Directory holding ca.crt and ca.key; NAME.crt and NAME.key are written there too.
        #[arg(long)]
        ca_dir: PathBuf,
        /// Validity in days.
        #[arg(long, default_value = "365", value_parser = clap::value_parser!(i64).range(1..=3650))]
        ttl: i64,
    },
    /// Revoke a client certificate: add it to the CA's revocation list
    /// (berthd --crl), creating the list or appending to it.
    #[command(
        after_help = "Example:\n  berth certs revoke ./pki/ci-deployer.crt --ca-dir ./pki\n  berthd ... --crl ./pki/ca.crl     # picked up without a restart"
    )]
    Revoke {
        /// The certificate to revoke (PEM).
        file: PathBuf,
        /// Directory holding ca.crt and ca.key of the CA that issued it.
        #[arg(long)]
        ca_dir: PathBuf,
        /// The revocation list to create or extend [default: CA_DIR/ca.crl].
        #[arg(long)]
        crl: Option<PathBuf>,
    },
    /// Describe a certificate or revocation list file.
    Show { file: PathBuf },
}

pub fn run(c: CertsCommand, io: &mut Io) -> Result<(), CliError> {
    let tls = |e: berth::tls::TlsError| CliError::Tls(e.to_string());
    match c {
        CertsCommand::Init {
            dir,
            agent_hosts,
            client_name,
        } => {
            check_name(&client_name)?;
            let pki = berth::tls::init_dev_pki(&dir, &agent_hosts, &client_name).map_err(tls)?;
            for p in [
                &pki.ca_cert,
                &pki.ca_key,
                &pki.agent_cert,
                &pki.agent_key,
                &pki.client_cert,
                &pki.client_key,
            ] {
                writeln!(io.out, "wrote {}", p.display())?;
            }
        }
        CertsCommand::Client { name, ca_dir, ttl } => {
            check_name(&name)?;
            let ca = berth::tls::CertAuthority::load_dir(&ca_dir).map_err(tls)?;
            let (c, k) = ca.issue_client(&name, ttl).map_err(tls)?;
            let (cp, kp) = (
                ca_dir.join(format!("{name}.crt")),
                ca_dir.join(format!("{name}.key")),
            );
            berth::tls::write_file(&kp, &k, true).map_err(tls)?;
            berth::tls::write_file(&cp, &c, false).map_err(tls)?;
            writeln!(io.out, "wrote {}\nwrote {}", cp.display(), kp.display())?;
        }
        CertsCommand::Revoke { file, ca_dir, crl } => {
            let ca = berth::tls::CertAuthority::load_dir(&ca_dir).map_err(tls)?;
            let cert = berth::tls::load_certs(&file).map_err(tls)?;
            let crl = crl.unwrap_or_else(|| ca_dir.join("ca.crl"));
            let existing = if crl.exists() {
                Some(berth::tls::load_crls(&crl).map_err(tls)?)
            } else {
                None
            };
            let r = ca.revoke(&cert, existing.as_ref()).map_err(tls)?;
            berth::tls::write_file(&crl, &r.crl_pem, false).map_err(tls)?;
            let what = if r.newly_revoked {
                "revoked"
            } else {
                "already revoked"
            };
            writeln!(
                io.out,
                "{what} {} (serial {})\nwrote {} ({} revoked)",
                file.display(),
                r.serial,
                crl.display(),
                r.revoked_count
            )?;
        }
        CertsCommand::Show { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::Tls(format!("{}: {e}", file.display())))?;
            let description = if text.contains("-----BEGIN X509 CRL-----") {
                let pem = berth::tls::parse_crls(&file, text).map_err(tls)?;
                berth::tls::describe_crl(&pem).map_err(tls)?
            } else {
                let pem = berth::tls::parse_certs(&file, text).map_err(tls)?;
                berth::tls::describe_certificate(&pem).map_err(tls)?
            };
            write!(io.out, "{description}")?;
        }
    }
    Ok(())
}

/// A client name becomes a file name (NAME.crt) and the identity.
fn check_name(name: &str) -> Result<(), CliError> {
    if name.is_empty()
        || name.starts_with('.')
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
    {
        return Err(CliError::Usage(format!(
            "client name {name:?}: must be non-empty, must not start with '.' and must not contain '/', '\\' or control characters (it names NAME.crt and NAME.key)"
        )));
    }
    Ok(())
}
