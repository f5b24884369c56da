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
        /// A subject alternative name, `dns:NAME` or `uri:URI` (repeatable);
        /// policies match them, and a URI SAN is the recorded identity.
        #[arg(long = "san", value_name = "dns:NAME|uri:URI")]
        sans: Vec<String>,
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
    #[command(after_help = "Example:\n  berth certs show ./pki/client.crt")]
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
            let policy = dir.join("policy.yaml");
            berth::tls::write_file(&policy, &starter_policy(&client_name), false).map_err(tls)?;
            writeln!(io.out, "wrote {}", policy.display())?;
        }
        CertsCommand::Client {
            name,
            ca_dir,
            ttl,
            sans,
        } => {
            check_name(&name)?;
            let ca = berth::tls::CertAuthority::load_dir(&ca_dir).map_err(tls)?;
            let (c, k) = ca.issue_client_with_names(&name, &sans, ttl).map_err(tls)?;
            let (cp, kp) = (
                ca_dir.join(format!("{name}.crt")),
                ca_dir.join(format!("{name}.key")),
            );
            berth::tls::write_file(&kp, &k, true).map_err(tls)?;
            berth::tls::write_file(&cp, &c, false).map_err(tls)?;
            writeln!(io.out, "wrote {}\nwrote {}", cp.display(), kp.display())?;
            writeln!(
                io.err,
                "{name} may do nothing until the agent's policy grants it a role (berthd --policy FILE)"
            )?;
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

/// The policy `certs init` writes beside the certificates: the same rule
/// berthd applies without `--policy`, with commented examples to grow from.
fn starter_policy(admin: &str) -> String {
    let admin = serde_json::to_string(admin).expect("a string serializes");
    format!(
        "# berthd --policy policy.yaml: who may do what. Roles: read (list, status,
# history, get, watch, diff, dry runs) < deploy (install, upgrade, rollback,
# test) < admin (uninstall, unlock, everything). identities are globs over a
# client certificate's CN, DNS and URI SANs; namespaces are globs. A caller
# holds the highest role any matching rule grants; nothing else is allowed.
rules:
  - identities: [{admin}]
    namespaces: [\"*\"]
    role: admin
  # - identities: [\"ci-*\", \"spiffe://example.org/ci/*\"]
  #   namespaces: [\"staging\", \"team-*\"]
  #   role: deploy
  # - identities: [\"*\"]
  #   namespaces: [\"*\"]
  #   role: read
"
    )
}

#[cfg(test)]
mod tests {
    use berth_agent::policy::{Policy, Verb};

    #[test]
    fn the_starter_policy_is_the_default_one() {
        let p = Policy::parse(&super::starter_policy("alice"), "policy.yaml").unwrap();
        let alice = vec!["alice".to_string()];
        assert!(
            p.check("alice", &alice, Verb::Uninstall, "any", false)
                .is_ok()
        );
        let bob = vec!["bob".to_string()];
        assert!(p.check("bob", &bob, Verb::List, "any", false).is_err());
    }
}
