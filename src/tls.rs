//! TLS material: loading PEM files with errors that name the file, creating a
//! development PKI (`berth certs init`), reading a caller's identity from its
//! certificate, and turning rustls' alerts into sentences.
//!
//! The agent and CLI build their tonic TLS configs from [`PemFiles`]; nothing
//! here opens a socket.

use sha2::Digest;
use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

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

/// A certificate (chain) and its key, or a CA bundle, read and checked.
#[derive(Clone)]
pub struct Pem {
    pub path: PathBuf,
    pub text: String,
}

fn read_pem(path: &Path) -> Result<String, TlsError> {
    let text = fs::read_to_string(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text)
}

/// Read a PEM file that must hold at least one certificate.
pub fn load_certs(path: &Path) -> Result<Pem, TlsError> {
    let text = read_pem(path)?;
    let mut reader = text.as_bytes();
    let mut count = 0;
    for item in rustls_pemfile::certs(&mut reader) {
        let der = item.map_err(|e| TlsError::Invalid {
            path: path.to_path_buf(),
            what: format!("malformed PEM: {e}"),
        })?;
        x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| TlsError::Invalid {
            path: path.to_path_buf(),
            what: format!("certificate {} is not valid X.509: {e}", count + 1),
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(TlsError::Invalid {
            path: path.to_path_buf(),
            what: "no PEM certificate found (expected -----BEGIN CERTIFICATE-----)".into(),
        });
    }
    Ok(Pem {
        path: path.to_path_buf(),
        text,
    })
}

/// Read a PEM file that must hold exactly one private key.
pub fn load_key(path: &Path) -> Result<Pem, TlsError> {
    let text = read_pem(path)?;
    let mut reader = text.as_bytes();
    match rustls_pemfile::private_key(&mut reader) {
        Ok(Some(_)) => Ok(Pem {
            path: path.to_path_buf(),
            text,
        }),
        Ok(None) => Err(TlsError::Invalid {
            path: path.to_path_buf(),
            what: "no PEM private key found (expected -----BEGIN PRIVATE KEY-----)".into(),
        }),
        Err(e) => Err(TlsError::Invalid {
            path: path.to_path_buf(),
            what: format!("malformed private key: {e}"),
        }),
    }
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

/// A short description of a certificate file for `berth certs show`.
pub fn describe_certificate(pem: &Pem) -> Result<String, TlsError> {
    let mut out = String::new();
    let mut reader = pem.text.as_bytes();
    for der in rustls_pemfile::certs(&mut reader).flatten() {
        let (_, c) =
            x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| TlsError::Invalid {
                path: pem.path.clone(),
                what: e.to_string(),
            })?;
        out.push_str(&format!(
            "subject: {}\nissuer: {}\nnot before: {}\nnot after: {}\n",
            c.subject(),
            c.issuer(),
            c.validity().not_before,
            c.validity().not_after
        ));
        if let Ok(Some(san)) = c.subject_alternative_name() {
            let names: Vec<String> = san
                .value
                .general_names
                .iter()
                .map(|n| n.to_string())
                .collect();
            out.push_str(&format!("names: {}\n", names.join(", ")));
        }
    }
    Ok(out)
}

/// Files written by [`init_dev_pki`].
pub struct DevPki {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub agent_cert: PathBuf,
    pub agent_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// Valid from an hour ago (tolerating clock skew) for `days` days.
fn validity(params: &mut CertificateParams, days: i64) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
}

/// A development CA able to sign agent and client certificates.
pub struct CertAuthority {
    issuer: Issuer<'static, KeyPair>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl CertAuthority {
    pub fn generate(common_name: &str) -> Result<Self, TlsError> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.distinguished_name.push(DnType::CommonName, common_name);
        p.distinguished_name.push(DnType::OrganizationName, "berth");
        // Two CAs must never share a name: a verifier picks the issuer by
        // name, and a same-named stranger shows up as a bad signature
        // instead of an unknown CA. The key's digest keeps names apart.
        let id = hex::encode(&sha2::Sha256::digest(key.public_key_raw())[..6]);
        p.distinguished_name
            .push(DnType::OrganizationalUnitName, format!("ca-{id}"));
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity(&mut p, 3650);
        let cert_pem = p.self_signed(&key)?.pem();
        let key_pem = key.serialize_pem();
        Ok(CertAuthority {
            issuer: Issuer::new(p, key),
            cert_pem,
            key_pem,
        })
    }

    /// Load a CA from its certificate and key PEM (for `certs client`).
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Self, TlsError> {
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)?;
        Ok(CertAuthority {
            issuer,
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
        })
    }

    /// A server certificate for the agent, valid for `hosts` (DNS names or IPs).
    pub fn issue_agent(&self, hosts: &[String], days: i64) -> Result<(String, String), TlsError> {
        let mut p = CertificateParams::new(hosts.to_vec())?;
        p.distinguished_name.push(
            DnType::CommonName,
            hosts.first().map(String::as_str).unwrap_or("berthd"),
        );
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        validity(&mut p, days);
        let key = KeyPair::generate()?;
        Ok((p.signed_by(&key, &self.issuer)?.pem(), key.serialize_pem()))
    }

    /// A client certificate whose subject CN is the caller's identity.
    pub fn issue_client(&self, name: &str, days: i64) -> Result<(String, String), TlsError> {
        self.issue_client_with_names(name, &[], days)
    }

    /// A client certificate with subject alternative names besides the CN,
    /// each written `dns:NAME` or `uri:URI` (an authorization policy can
    /// match any of them; a URI SAN becomes the recorded identity).
    pub fn issue_client_with_names(
        &self,
        name: &str,
        sans: &[String],
        days: i64,
    ) -> Result<(String, String), TlsError> {
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.distinguished_name.push(DnType::CommonName, name);
        for san in sans {
            let bad = || {
                TlsError::Certificate(format!(
                    "subject alternative name {san:?}: expected dns:NAME or uri:URI"
                ))
            };
            let (kind, value) = san.split_once(':').ok_or_else(bad)?;
            let value: rcgen::string::Ia5String = value.try_into().map_err(|e| {
                TlsError::Certificate(format!("subject alternative name {san:?}: {e}"))
            })?;
            p.subject_alt_names.push(match kind {
                "dns" => rcgen::SanType::DnsName(value),
                "uri" => rcgen::SanType::URI(value),
                _ => return Err(bad()),
            });
        }
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        validity(&mut p, days);
        let key = KeyPair::generate()?;
        Ok((p.signed_by(&key, &self.issuer)?.pem(), key.serialize_pem()))
    }
}

/// Write a file; private keys get mode 0600 from the moment they exist.
pub fn write_file(path: &Path, contents: &str, private: bool) -> Result<(), TlsError> {
    let err = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let _ = private;
    use std::io::Write;
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(contents.as_bytes()).map_err(err)?;
    Ok(())
}

/// `berth certs init DIR --agent-host HOST...`: a CA, an agent certificate
/// for the given hosts, and a client certificate with CN `client_name`.
pub fn init_dev_pki(
    dir: &Path,
    agent_hosts: &[String],
    client_name: &str,
) -> Result<DevPki, TlsError> {
    fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let ca = CertAuthority::generate("berth development CA")?;
    let hosts: Vec<String> = if agent_hosts.is_empty() {
        vec!["localhost".into(), "127.0.0.1".into()]
    } else {
        agent_hosts.to_vec()
    };
    let (agent_cert, agent_key) = ca.issue_agent(&hosts, 825)?;
    let (client_cert, client_key) = ca.issue_client(client_name, 365)?;
    let pki = DevPki {
        ca_cert: dir.join("ca.crt"),
        ca_key: dir.join("ca.key"),
        agent_cert: dir.join("agent.crt"),
        agent_key: dir.join("agent.key"),
        client_cert: dir.join("client.crt"),
        client_key: dir.join("client.key"),
    };
    write_file(&pki.ca_cert, &ca.cert_pem, false)?;
    write_file(&pki.ca_key, &ca.key_pem, true)?;
    write_file(&pki.agent_cert, &agent_cert, false)?;
    write_file(&pki.agent_key, &agent_key, true)?;
    write_file(&pki.client_cert, &client_cert, false)?;
    write_file(&pki.client_key, &client_key, true)?;
    Ok(pki)
}

/// Turn a transport failure into one sentence a user can act on. TLS 1.3
/// reports a refused client certificate only at the first request, as an
/// alert buried in the error's source chain.
pub fn explain_transport_error(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut chain = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        chain.push(e.to_string());
        cur = e.source();
    }
    let all = chain.join(": ");
    let rules: &[(&str, &str)] = &[
        (
            "CertificateRequired",
            "the agent requires a client certificate (pass --cert and --key)",
        ),
        (
            "UnknownCA",
            "the agent does not trust the client certificate's CA",
        ),
        ("BadCertificate", "the agent refused the client certificate"),
        ("CertificateExpired", "the certificate has expired"),
        (
            "CertificateRevoked",
            "the client certificate has been revoked",
        ),
        (
            "UnsupportedCertificate",
            "the agent refused the client certificate (it must allow clientAuth)",
        ),
        (
            "NotValidForName",
            "the agent's certificate is not valid for the address used (name mismatch)",
        ),
        (
            "UnknownIssuer",
            "the agent's certificate is not signed by the CA given with --ca",
        ),
        (
            "BadSignature",
            "the agent's certificate is not signed by the CA given with --ca",
        ),
        (
            "DecryptError",
            "the agent does not trust the client certificate's CA",
        ),
        ("Expired", "the agent's certificate has expired"),
        (
            "Connection refused",
            "connection refused: is berthd listening at that address?",
        ),
        ("deadline has elapsed", "timed out connecting to the agent"),
    ];
    for (needle, sentence) in rules {
        if all.contains(needle) {
            return Some(format!(
                "{sentence} ({})",
                chain.last().map(String::as_str).unwrap_or("")
            ));
        }
    }
    None
}
