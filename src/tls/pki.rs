//! A development PKI: a CA ([`CertAuthority`]) that issues the agent's and
//! clients' certificates and signs revocation lists, and `berth certs init`
//! ([`init_dev_pki`]). Production PKIs may come from anywhere; berth only
//! needs PEM files.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use sha2::Digest;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use super::{Pem, TlsError, write_file};

/// How long a revocation list says it is current. berthd does not enforce
/// it (an old list still revokes what it lists); other verifiers may.
const CRL_DAYS: i64 = 365;

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

/// A development CA able to sign agent and client certificates and
/// revocation lists.
pub struct CertAuthority {
    issuer: Issuer<'static, KeyPair>,
    pub cert_pem: String,
    pub key_pem: String,
}

/// The outcome of [`CertAuthority::revoke`].
pub struct Revocation {
    /// The new revocation list, PEM.
    pub crl_pem: String,
    /// The revoked certificate's serial number, `1a:2b:…`.
    pub serial: String,
    /// False when the list already revoked that serial number.
    pub newly_revoked: bool,
    /// How many certificates the new list revokes.
    pub revoked_count: usize,
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

    /// Load the CA of `berth certs init` from `dir`/ca.crt and `dir`/ca.key.
    pub fn load_dir(dir: &Path) -> Result<Self, TlsError> {
        let cert = super::load_certs(&dir.join("ca.crt"))?;
        let key = super::load_key(&dir.join("ca.key"))?;
        Self::load(&cert.text, &key.text).map_err(|e| TlsError::Invalid {
            path: dir.join("ca.key"),
            what: format!("cannot act as the CA of ca.crt: {e}"),
        })
    }

    /// Sign a certificate with exactly these parameters and a new key;
    /// returns (certificate PEM, key PEM). The issue_* helpers below fill the
    /// parameters in; tests use this to make certificates with odd properties.
    pub fn issue(&self, params: &CertificateParams) -> Result<(String, String), TlsError> {
        let key = KeyPair::generate()?;
        Ok((
            params.signed_by(&key, &self.issuer)?.pem(),
            key.serialize_pem(),
        ))
    }

    /// A server certificate for the agent, valid for `hosts` (DNS names or IPs).
    pub fn issue_agent(&self, hosts: &[String], days: i64) -> Result<(String, String), TlsError> {
        for host in hosts {
            if host.parse::<std::net::IpAddr>().is_err() && !is_dns_name(host) {
                return Err(TlsError::Certificate(format!(
                    "agent host {host:?}: not a DNS name or an IP address (a client could never match it)"
                )));
            }
        }
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
        self.issue(&p)
    }

    /// The parameters of a client certificate whose subject CN is the
    /// caller's identity, valid for `days` days.
    pub fn client_params(name: &str, days: i64) -> Result<CertificateParams, TlsError> {
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.distinguished_name.push(DnType::CommonName, name);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        validity(&mut p, days);
        Ok(p)
    }

    /// A client certificate whose subject CN is the caller's identity.
    pub fn issue_client(&self, name: &str, days: i64) -> Result<(String, String), TlsError> {
        self.issue(&Self::client_params(name, days)?)
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
        let mut p = Self::client_params(name, days)?;
        for san in sans {
            let bad = || {
                TlsError::Certificate(format!(
                    "subject alternative name {san:?}: expected dns:NAME or uri:URI"
                ))
            };
            let (kind, value) = san.split_once(':').ok_or_else(bad)?;
            let valid = match kind {
                "dns" => is_dns_name(value),
                "uri" => is_uri(value),
                _ => return Err(bad()),
            };
            if !valid {
                return Err(TlsError::Certificate(format!(
                    "subject alternative name {san:?}: not a valid {}",
                    if kind == "dns" {
                        "DNS name"
                    } else {
                        "URI (scheme:rest, no spaces)"
                    }
                )));
            }
            let value: rcgen::string::Ia5String = value.try_into().map_err(|e| {
                TlsError::Certificate(format!("subject alternative name {san:?}: {e}"))
            })?;
            p.subject_alt_names.push(match kind {
                "dns" => rcgen::SanType::DnsName(value),
                "uri" => rcgen::SanType::URI(value),
                _ => return Err(bad()),
            });
        }
        self.issue(&p)
    }

    /// A revocation list that revokes `cert` and everything `existing` (a
    /// list this CA signed before) revoked, numbered one past it.
    pub fn revoke(&self, cert: &Pem, existing: Option<&Pem>) -> Result<Revocation, TlsError> {
        let ca_der = self.cert_der()?;
        let (_, ca) = x509_parser::parse_x509_certificate(&ca_der)
            .map_err(|e| TlsError::Certificate(format!("the CA certificate: {e}")))?;
        let ders = cert.cert_ders();
        let der = ders.first().ok_or_else(|| TlsError::Invalid {
            path: cert.path.clone(),
            what: "no certificate".into(),
        })?;
        let (_, leaf) =
            x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| TlsError::Invalid {
                path: cert.path.clone(),
                what: e.to_string(),
            })?;
        if leaf.issuer().as_raw() != ca.subject().as_raw() {
            return Err(TlsError::Invalid {
                path: cert.path.clone(),
                what: format!(
                    "issued by \"{}\", not by this CA (\"{}\")",
                    leaf.issuer(),
                    ca.subject()
                ),
            });
        }
        let serial = trim_serial(leaf.raw_serial());
        let now = time::OffsetDateTime::now_utc();
        let mut revoked = Vec::new();
        let mut number = 1u64;
        if let Some(list) = existing {
            for crl_der in list.crl_ders() {
                let (_, crl) =
                    CertificateRevocationList::from_der(crl_der.as_ref()).map_err(|e| {
                        TlsError::Invalid {
                            path: list.path.clone(),
                            what: e.to_string(),
                        }
                    })?;
                if crl.issuer().as_raw() != ca.subject().as_raw() {
                    return Err(TlsError::Invalid {
                        path: list.path.clone(),
                        what: format!(
                            "holds a revocation list of another CA (\"{}\"); write this CA's list to another file",
                            crl.issuer()
                        ),
                    });
                }
                let last = crl
                    .crl_number()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0);
                number = number.max(last.saturating_add(1));
                for r in crl.iter_revoked_certificates() {
                    revoked.push(RevokedCertParams {
                        serial_number: SerialNumber::from_slice(trim_serial(r.raw_serial())),
                        revocation_time: r.revocation_date.to_datetime(),
                        reason_code: r.reason_code().and_then(|(_, c)| reason(c.0)),
                        invalidity_date: r.invalidity_date().map(|(_, t)| t.to_datetime()),
                    });
                }
            }
        }
        let already = revoked
            .iter()
            .any(|r| trim_serial(r.serial_number.as_ref()) == serial);
        if !already {
            revoked.push(RevokedCertParams {
                serial_number: SerialNumber::from_slice(serial),
                revocation_time: now,
                reason_code: None,
                invalidity_date: None,
            });
        }
        let params = CertificateRevocationListParams {
            this_update: now,
            next_update: now + time::Duration::days(CRL_DAYS),
            crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs: revoked,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer)?;
        Ok(Revocation {
            crl_pem: crl.pem()?,
            serial: colon_hex(serial),
            newly_revoked: !already,
            revoked_count: params.revoked_certs.len(),
        })
    }

    fn cert_der(&self) -> Result<Vec<u8>, TlsError> {
        rustls_pemfile::certs(&mut self.cert_pem.as_bytes())
            .flatten()
            .next()
            .map(|d| d.as_ref().to_vec())
            .ok_or_else(|| TlsError::Certificate("the CA certificate is not PEM".into()))
    }
}

/// A serial number's significant bytes (DER adds a 0 byte before a high bit).
fn trim_serial(raw: &[u8]) -> &[u8] {
    let first = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    &raw[first..]
}

/// `1a:2b:…`, as openssl and `berth certs show` print serial numbers.
pub fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn reason(code: u8) -> Option<RevocationReason> {
    use RevocationReason::*;
    Some(match code {
        0 => Unspecified,
        1 => KeyCompromise,
        2 => CaCompromise,
        3 => AffiliationChanged,
        4 => Superseded,
        5 => CessationOfOperation,
        6 => CertificateHold,
        8 => RemoveFromCrl,
        9 => PrivilegeWithdrawn,
        10 => AaCompromise,
        _ => return None,
    })
}

/// A name a TLS client can match against a certificate's DNS SAN.
fn is_dns_name(name: &str) -> bool {
    rustls::pki_types::DnsName::try_from(name).is_ok()
}

/// An absolute URI as a URI SAN must be: a scheme, a colon, then printable
/// ASCII without spaces (RFC 3986).
fn is_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_graphic())
}

/// `berth certs init DIR --agent-host HOST...`: a CA, an agent certificate
/// for the given hosts, and a client certificate with CN `client_name`.
/// An existing CA in `dir` is never replaced: every certificate it issued
/// would stop working.
pub fn init_dev_pki(
    dir: &Path,
    agent_hosts: &[String],
    client_name: &str,
) -> Result<DevPki, TlsError> {
    fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let pki = DevPki {
        ca_cert: dir.join("ca.crt"),
        ca_key: dir.join("ca.key"),
        agent_cert: dir.join("agent.crt"),
        agent_key: dir.join("agent.key"),
        client_cert: dir.join("client.crt"),
        client_key: dir.join("client.key"),
    };
    for existing in [&pki.ca_cert, &pki.ca_key] {
        if existing.exists() {
            return Err(TlsError::Invalid {
                path: existing.clone(),
                what: "already exists; refusing to replace a CA (certificates it issued would stop working): choose another directory".into(),
            });
        }
    }
    let ca = CertAuthority::generate("berth development CA")?;
    let hosts: Vec<String> = if agent_hosts.is_empty() {
        vec!["localhost".into(), "127.0.0.1".into()]
    } else {
        agent_hosts.to_vec()
    };
    let (agent_cert, agent_key) = ca.issue_agent(&hosts, 825)?;
    let (client_cert, client_key) = ca.issue_client(client_name, 365)?;
    write_file(&pki.ca_key, &ca.key_pem, true)?;
    write_file(&pki.ca_cert, &ca.cert_pem, false)?;
    write_file(&pki.agent_cert, &agent_cert, false)?;
    write_file(&pki.agent_key, &agent_key, true)?;
    write_file(&pki.client_cert, &client_cert, false)?;
    write_file(&pki.client_key, &client_key, true)?;
    Ok(pki)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(path: &str, text: String) -> Pem {
        Pem {
            path: path.into(),
            text,
        }
    }

    #[test]
    fn names_no_client_could_match_are_refused() {
        let ca = CertAuthority::generate("test CA").unwrap();
        for (san, why) in [
            ("uri:not a uri", "not a valid URI"),
            ("uri:nocolon", "not a valid URI"),
            ("dns:bad host!", "not a valid DNS name"),
        ] {
            let e = ca
                .issue_client_with_names("z", &[san.to_string()], 1)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("subject alternative name {san:?}: {why}")),
                "{e}"
            );
        }
        ca.issue_client_with_names(
            "z",
            &[
                "uri:spiffe://cluster/ns/ci".into(),
                "dns:ci.example.com".into(),
            ],
            1,
        )
        .unwrap();
        let e = ca
            .issue_agent(&["bad host!".into()], 1)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("agent host \"bad host!\": not a DNS name or an IP address"),
            "{e}"
        );
        ca.issue_agent(&["localhost".into(), "::1".into(), "10.0.0.5".into()], 1)
            .unwrap();
    }

    #[test]
    fn revoking_appends_to_the_previous_list_and_counts_up() {
        let ca = CertAuthority::generate("t").unwrap();
        let a = pem("a.crt", ca.issue_client("a", 1).unwrap().0);
        let b = pem("b.crt", ca.issue_client("b", 1).unwrap().0);
        let first = ca.revoke(&a, None).unwrap();
        assert!(first.newly_revoked);
        let list = pem("ca.crl", first.crl_pem);
        let second = ca.revoke(&b, Some(&list)).unwrap();
        assert_eq!(second.revoked_count, 2);
        let list = pem("ca.crl", second.crl_pem);
        let again = ca.revoke(&a, Some(&list)).unwrap();
        assert!(!again.newly_revoked);
        assert_eq!(again.revoked_count, 2);
        let der = pem("ca.crl", again.crl_pem).crl_ders().remove(0);
        let (_, crl) = CertificateRevocationList::from_der(der.as_ref()).unwrap();
        assert_eq!(crl.crl_number().map(|n| n.to_string()), Some("3".into()));
    }

    #[test]
    fn a_certificate_or_list_of_another_ca_is_refused() {
        let ca = CertAuthority::generate("t").unwrap();
        let other = CertAuthority::generate("t").unwrap();
        let stranger = pem("s.crt", other.issue_client("s", 1).unwrap().0);
        let e = ca.revoke(&stranger, None).err().unwrap().to_string();
        assert!(e.starts_with("s.crt: issued by"), "{e}");
        let mine = pem("m.crt", ca.issue_client("m", 1).unwrap().0);
        let foreign = pem("o.crl", other.revoke(&stranger, None).unwrap().crl_pem);
        let e = ca.revoke(&mine, Some(&foreign)).err().unwrap().to_string();
        assert!(
            e.starts_with("o.crl: holds a revocation list of another CA"),
            "{e}"
        );
    }

    #[test]
    fn init_never_replaces_a_ca() {
        let dir = tempfile::tempdir().unwrap();
        init_dev_pki(dir.path(), &[], "admin").unwrap();
        let before = fs::read(dir.path().join("ca.key")).unwrap();
        let e = init_dev_pki(dir.path(), &[], "admin").err().unwrap();
        assert!(e.to_string().contains("refusing to replace a CA"), "{e}");
        assert_eq!(fs::read(dir.path().join("ca.key")).unwrap(), before);
    }
}
