//! TLS material shared by the agent and the CLI: reading PEM files with
//! errors that name the file ([`load_certs`], [`load_key`], [`load_crls`]),
//! a development PKI and revocation lists ([`pki`]), what a certificate
//! allows and whether it is usable now ([`inspect`]), the caller's identity
//! ([`identity_from_der`]), and rustls' failures turned into sentences
//! ([`explain`]).
//!
//! Nothing here opens a socket: the agent builds its rustls server config in
//! `berth_agent::tls`, the CLI its client config in `berth_cli::connect`.

use std::fs;
use std::path::{Path, PathBuf};

use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

pub mod explain;
pub mod inspect;
pub mod pki;

pub use explain::{Endpoint, Explained, explain_transport_error};
pub use inspect::{check_client_certificate, describe_certificate, describe_crl};
pub use pki::{CertAuthority, DevPki, Revocation, init_dev_pki};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {what}")]
    Invalid { path: PathBuf, what: String },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{0}")]
    Certificate(String),
}

impl TlsError {
    fn invalid(path: &Path, what: impl Into<String>) -> Self {
        TlsError::Invalid {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }
}

/// A PEM file that was read and checked: certificates, a key or CRLs.
#[derive(Clone)]
pub struct Pem {
    pub path: PathBuf,
    pub text: String,
}

impl Pem {
    /// The DER certificates of a file loaded with [`load_certs`].
    pub fn cert_ders(&self) -> Vec<rustls::pki_types::CertificateDer<'static>> {
        rustls_pemfile::certs(&mut self.text.as_bytes())
            .flatten()
            .collect()
    }

    /// The DER private key of a file loaded with [`load_key`].
    pub fn key_der(&self) -> Result<rustls::pki_types::PrivateKeyDer<'static>, TlsError> {
        match rustls_pemfile::private_key(&mut self.text.as_bytes()) {
            Ok(Some(k)) => Ok(k),
            _ => Err(TlsError::invalid(&self.path, "no PEM private key found")),
        }
    }

    /// The DER revocation lists of a file loaded with [`load_crls`].
    pub fn crl_ders(&self) -> Vec<rustls::pki_types::CertificateRevocationListDer<'static>> {
        rustls_pemfile::crls(&mut self.text.as_bytes())
            .flatten()
            .collect()
    }
}

fn read_pem(path: &Path) -> Result<String, TlsError> {
    fs::read_to_string(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Read a PEM file that must hold at least one certificate.
pub fn load_certs(path: &Path) -> Result<Pem, TlsError> {
    let text = read_pem(path)?;
    parse_certs(path, text)
}

/// Check PEM text (read from `path`) that must hold at least one certificate.
pub fn parse_certs(path: &Path, text: String) -> Result<Pem, TlsError> {
    let mut count = 0;
    for item in rustls_pemfile::certs(&mut text.as_bytes()) {
        let der = item.map_err(|e| TlsError::invalid(path, format!("malformed PEM: {e}")))?;
        x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| {
            TlsError::invalid(
                path,
                format!("certificate {} is not valid X.509: {e}", count + 1),
            )
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(TlsError::invalid(
            path,
            "no PEM certificate found (expected -----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(Pem {
        path: path.to_path_buf(),
        text,
    })
}

/// Read a PEM file that must hold exactly one private key.
pub fn load_key(path: &Path) -> Result<Pem, TlsError> {
    let text = read_pem(path)?;
    parse_key(path, text)
}

/// Check PEM text (read from `path`) that must hold a private key.
pub fn parse_key(path: &Path, text: String) -> Result<Pem, TlsError> {
    match rustls_pemfile::private_key(&mut text.as_bytes()) {
        Ok(Some(_)) => Ok(Pem {
            path: path.to_path_buf(),
            text,
        }),
        Ok(None) => Err(TlsError::invalid(
            path,
            "no PEM private key found (expected -----BEGIN PRIVATE KEY-----)",
        )),
        Err(e) => Err(TlsError::invalid(
            path,
            format!("malformed private key: {e}"),
        )),
    }
}

/// Read a PEM file of certificate revocation lists (`berth certs revoke`
/// writes one; `openssl ca -gencrl` too).
pub fn load_crls(path: &Path) -> Result<Pem, TlsError> {
    let text = read_pem(path)?;
    parse_crls(path, text)
}

/// Check PEM text (read from `path`) that must hold at least one CRL.
pub fn parse_crls(path: &Path, text: String) -> Result<Pem, TlsError> {
    let mut count = 0;
    for item in rustls_pemfile::crls(&mut text.as_bytes()) {
        let der = item.map_err(|e| TlsError::invalid(path, format!("malformed PEM: {e}")))?;
        CertificateRevocationList::from_der(der.as_ref()).map_err(|e| {
            TlsError::invalid(
                path,
                format!(
                    "revocation list {} is not a valid X.509 CRL: {e}",
                    count + 1
                ),
            )
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(TlsError::invalid(
            path,
            "no PEM revocation list found (expected -----BEGIN X509 CRL-----)",
        ));
    }
    Ok(Pem {
        path: path.to_path_buf(),
        text,
    })
}

/// The identity of a peer: its first URI SAN, else its subject CN.
pub fn identity_from_der(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::URI(uri) = name {
                return Some((*uri).to_string());
            }
        }
    }
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

/// Every name a certificate carries, as an authorization policy matches
/// them: the subject CN, then DNS SANs, then URI SANs.
pub fn names_from_der(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let mut names: Vec<String> = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .map(str::to_string)
        .collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        use x509_parser::extensions::GeneralName;
        for kind in 0..2 {
            for name in &san.value.general_names {
                match (kind, name) {
                    (0, GeneralName::DNSName(d)) | (1, GeneralName::URI(d)) => {
                        names.push((*d).to_string())
                    }
                    _ => {}
                }
            }
        }
    }
    names
}

/// Write a file atomically (a temporary file in the same directory, then a
/// rename), so that an agent watching it never reads half of it. Private
/// keys are 0600 from the moment they exist, whatever the file they replace.
pub fn write_file(path: &Path, contents: &str, private: bool) -> Result<(), TlsError> {
    use std::io::Write;
    let err = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".berth-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(if private {
            0o600
        } else {
            0o644
        }));
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = builder.tempfile_in(dir).map_err(err)?;
    file.write_all(contents.as_bytes()).map_err(err)?;
    file.as_file().sync_all().map_err(err)?;
    file.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// A time as `2026-01-02 10:00:00 UTC`, for messages.
pub fn format_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_replacing_a_readable_file_become_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.key");
        write_file(&p, "old", false).unwrap();
        write_file(&p, "new", true).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn files_without_the_expected_pem_block_name_the_file() {
        let p = Path::new("/x/ca.crl");
        let e = parse_crls(p, "junk".into()).err().unwrap().to_string();
        assert_eq!(
            e,
            "/x/ca.crl: no PEM revocation list found (expected -----BEGIN X509 CRL-----)"
        );
        let e = parse_certs(p, "junk".into()).err().unwrap().to_string();
        assert!(e.starts_with("/x/ca.crl: no PEM certificate found"), "{e}");
    }
}
