//! The agent's side of mutual TLS: which files make its configuration, how
//! they become a rustls `ServerConfig` (TLS 1.2 and 1.3 only, a client
//! certificate required and verified against the client CA and the CRL,
//! HTTP/2 by ALPN), and — in [`serve`] — accepting connections with the
//! current configuration while the files are watched for rotation.
//!
//! It does not read identities: the gRPC edge ([`crate::server`]) takes the
//! caller's identity from the certificate this module verified.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth::tls::{Pem, TlsError};
use rustls::RootCertStore;
use rustls::server::{NoServerSessionStorage, ServerConfig, WebPkiClientVerifier};
use x509_parser::prelude::FromDer;

mod serve;
mod verifier;

pub use serve::ServerTls;

/// The files of the agent's TLS configuration, as given on the command line.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
    pub crl: Option<PathBuf>,
}

/// One reading of the files: their text, or why they could not be read.
/// Two equal readings build the same configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    cert: Result<String, String>,
    key: Result<String, String>,
    client_ca: Result<String, String>,
    crl: Option<Result<String, String>>,
}

/// A file's text, read on the calling thread: a few small local files
/// every [`serve::RELOAD_EVERY`] take microseconds. Through tokio's
/// blocking pool (`tokio::fs`), the reloader woke a pool thread four times
/// a tick, which kept every thread of that pool alive for good (it rotates
/// among idle ones), with what each thread's allocator and sled's epoch
/// bags held.
fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

impl TlsFiles {
    fn read(&self) -> Snapshot {
        Snapshot {
            cert: read(&self.cert),
            key: read(&self.key),
            client_ca: read(&self.client_ca),
            crl: self.crl.as_deref().map(read),
        }
    }

    /// The files whose text differs between two readings, for the log.
    fn changed(&self, a: &Snapshot, b: &Snapshot) -> String {
        let mut out = Vec::new();
        if a.cert != b.cert {
            out.push(self.cert.display().to_string());
        }
        if a.key != b.key {
            out.push(self.key.display().to_string());
        }
        if a.client_ca != b.client_ca {
            out.push(self.client_ca.display().to_string());
        }
        if let Some(crl) = &self.crl
            && a.crl != b.crl
        {
            out.push(crl.display().to_string());
        }
        out.join(", ")
    }

    /// Build the server configuration from one reading of the files.
    fn build(&self, s: &Snapshot) -> Result<ServerConfig, TlsError> {
        let text = |r: &Result<String, String>| r.clone().map_err(TlsError::Certificate);
        let cert = berth::tls::parse_certs(&self.cert, text(&s.cert)?)?;
        let key = berth::tls::parse_key(&self.key, text(&s.key)?)?;
        let ca = berth::tls::parse_certs(&self.client_ca, text(&s.client_ca)?)?;
        let crl = match (&self.crl, &s.crl) {
            (Some(path), Some(r)) => Some(berth::tls::parse_crls(path, text(r)?)?),
            _ => None,
        };

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for (i, der) in ca.cert_ders().into_iter().enumerate() {
            roots.add(der).map_err(|e| TlsError::Invalid {
                path: self.client_ca.clone(),
                what: format!("certificate {} cannot be a trust anchor: {e}", i + 1),
            })?;
        }
        let mut builder =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
        if let Some(crl) = &crl {
            check_crl_issuers(crl, &ca)?;
            // Only client certificates are looked up (the client CA is a
            // trust anchor), and a client of a second client CA that the
            // CRL does not cover is not refused for that.
            builder = builder
                .with_crls(crl.crl_ders())
                .only_check_end_entity_revocation()
                .allow_unknown_revocation_status();
        }
        let webpki = builder.build().map_err(|e| TlsError::Invalid {
            path: crl.as_ref().map_or(&self.client_ca, |c| &c.path).clone(),
            what: e.to_string(),
        })?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Certificate(format!("TLS versions: {e}")))?
            .with_client_cert_verifier(Arc::new(verifier::ClientUsage::new(webpki)))
            .with_single_cert(cert.cert_ders(), key.key_der()?)
            .map_err(|e| TlsError::Invalid {
                path: self.key.clone(),
                what: format!("cannot serve {}: {e}", self.cert.display()),
            })?;
        // gRPC, and chart connections beside it (see crate::uploads).
        config.alpn_protocols = vec![b"h2".to_vec(), berth::proto::CHART_ALPN.to_vec()];
        // No resumption: every connection presents its certificate and is
        // checked against the client CA and CRL in force at that moment.
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        warn_if_not_current(&cert);
        Ok(config)
    }
}

/// A CRL that no client CA issued would revoke nothing: refuse it rather
/// than run with a revocation list that silently does not apply.
fn check_crl_issuers(crl: &Pem, ca: &Pem) -> Result<(), TlsError> {
    let ca_ders = ca.cert_ders();
    let subjects: Vec<Vec<u8>> = ca_ders
        .iter()
        .filter_map(|d| x509_parser::parse_x509_certificate(d.as_ref()).ok())
        .map(|(_, c)| c.subject().as_raw().to_vec())
        .collect();
    for der in crl.crl_ders() {
        let Ok((_, list)) =
            x509_parser::revocation_list::CertificateRevocationList::from_der(der.as_ref())
        else {
            continue;
        };
        if !subjects.iter().any(|s| s == list.issuer().as_raw()) {
            return Err(TlsError::Invalid {
                path: crl.path.clone(),
                what: format!(
                    "revocation list of \"{}\", which is not a client CA in {}",
                    list.issuer(),
                    ca.path.display()
                ),
            });
        }
    }
    Ok(())
}

/// An agent certificate outside its validity window still loads (the
/// operator may be mid-rotation), but every client will refuse it.
fn warn_if_not_current(cert: &Pem) {
    let ders = cert.cert_ders();
    let Some(Ok((_, c))) = ders
        .first()
        .map(|d| x509_parser::parse_x509_certificate(d.as_ref()))
    else {
        return;
    };
    if !c.validity().is_valid() {
        tracing::warn!(
            file = %cert.path.display(),
            not_before = %c.validity().not_before,
            not_after = %c.validity().not_after,
            "the agent's certificate is not valid now; clients will refuse it"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth::tls::{CertAuthority, init_dev_pki, write_file};

    fn files(dir: &Path) -> TlsFiles {
        TlsFiles {
            cert: dir.join("agent.crt"),
            key: dir.join("agent.key"),
            client_ca: dir.join("ca.crt"),
            crl: None,
        }
    }

    async fn build(f: &TlsFiles) -> Result<ServerConfig, TlsError> {
        f.build(&f.read())
    }

    #[tokio::test]
    async fn a_key_that_does_not_fit_the_certificate_names_both_files() {
        crate::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let pki = init_dev_pki(dir.path(), &[], "admin").unwrap();
        let f = files(dir.path());
        assert!(build(&f).await.is_ok());
        std::fs::copy(&pki.client_key, &pki.agent_key).unwrap();
        let e = build(&f).await.err().unwrap().to_string();
        assert!(
            e.starts_with(&format!(
                "{}: cannot serve {}:",
                pki.agent_key.display(),
                pki.agent_cert.display()
            )),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_crl_of_another_ca_is_refused_and_a_missing_one_named() {
        let dir = tempfile::tempdir().unwrap();
        let pki = init_dev_pki(dir.path(), &[], "admin").unwrap();
        let other = CertAuthority::generate("other").unwrap();
        let (stranger, _) = other.issue_client("x", 1).unwrap();
        let stranger = berth::tls::Pem {
            path: "x.crt".into(),
            text: stranger,
        };
        let crl = dir.path().join("ca.crl");
        let mut f = files(dir.path());
        f.crl = Some(crl.clone());
        let e = build(&f).await.err().unwrap().to_string();
        assert!(e.starts_with(&crl.display().to_string()), "{e}");
        write_file(&crl, &other.revoke(&stranger, None).unwrap().crl_pem, false).unwrap();
        let e = build(&f).await.err().unwrap().to_string();
        assert!(
            e.contains("which is not a client CA in")
                && e.contains(&pki.ca_cert.display().to_string()),
            "{e}"
        );
    }

    #[tokio::test]
    async fn only_changed_content_counts_as_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let pki = init_dev_pki(dir.path(), &[], "admin").unwrap();
        let f = files(dir.path());
        let first = f.read();
        let text = std::fs::read_to_string(&pki.agent_cert).unwrap();
        write_file(&pki.agent_cert, &text, false).unwrap();
        assert_eq!(f.read(), first, "rewriting the same bytes changes nothing");
        write_file(&pki.client_key, "x", true).unwrap();
        assert_eq!(f.read(), first, "files berthd does not use do not count");
        write_file(&pki.agent_key, "x", true).unwrap();
        let now = f.read();
        assert_eq!(f.changed(&first, &now), pki.agent_key.display().to_string());
    }
}
