//! What a certificate allows and whether it can be used now: `berth certs
//! show`, the CLI's check of its own certificate before it connects, and the
//! key-usage rule the agent adds to webpki's client verification.

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use super::pki::colon_hex;
use super::{Pem, TlsError, format_time};

/// Why a certificate cannot authenticate a TLS client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientUsageProblem {
    /// It has an extended key usage, and clientAuth is not in it.
    NoClientAuth { has: Vec<String> },
    /// Its key usage does not include digitalSignature, which the TLS
    /// handshake's CertificateVerify needs.
    NoDigitalSignature,
}

/// The extended key usages a certificate lists, by name.
fn eku_names(cert: &X509Certificate<'_>) -> Option<Vec<String>> {
    let eku = cert.extended_key_usage().ok()??.value;
    let mut names = Vec::new();
    for (set, name) in [
        (eku.any, "any"),
        (eku.server_auth, "serverAuth"),
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
    ] {
        if set {
            names.push(name.to_string());
        }
    }
    names.extend(eku.other.iter().map(|o| o.to_id_string()));
    Some(names)
}

/// Whether `der` may authenticate a TLS client. An absent extension allows
/// everything (RFC 5280 §4.2.1.3, §4.2.1.12), as webpki and Go decide.
pub fn client_usage_problem(der: &[u8]) -> Option<ClientUsageProblem> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    client_usage(&cert)
}

fn client_usage(cert: &X509Certificate<'_>) -> Option<ClientUsageProblem> {
    if let Ok(Some(ku)) = cert.key_usage()
        && !ku.value.digital_signature()
    {
        return Some(ClientUsageProblem::NoDigitalSignature);
    }
    if let Ok(Some(eku)) = cert.extended_key_usage()
        && !eku.value.client_auth
    {
        return Some(ClientUsageProblem::NoClientAuth {
            has: eku_names(cert).unwrap_or_default(),
        });
    }
    None
}

/// Check the CLI's own certificate before connecting, so that an expired,
/// not yet valid or server-only certificate is named as such instead of
/// being refused by the agent with a bare TLS alert.
pub fn check_client_certificate(pem: &Pem) -> Result<(), TlsError> {
    let ders = pem.cert_ders();
    let Some(der) = ders.first() else {
        return Ok(());
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der.as_ref()) else {
        return Ok(());
    };
    let now = time::OffsetDateTime::now_utc();
    let validity = cert.validity();
    let renew = "issue a new one (berth certs client NAME --ca-dir DIR)";
    let not_after = validity.not_after.to_datetime();
    let not_before = validity.not_before.to_datetime();
    let problem = if now > not_after {
        format!(
            "the client certificate expired on {}; {renew}",
            format_time(not_after)
        )
    } else if now < not_before {
        format!(
            "the client certificate is not valid before {} (is this machine's clock right?)",
            format_time(not_before)
        )
    } else {
        match client_usage(&cert) {
            None => return Ok(()),
            Some(ClientUsageProblem::NoClientAuth { has }) => format!(
                "the certificate is not for client authentication (extended key usage: {}, clientAuth is needed); {renew}",
                has.join(", ")
            ),
            Some(ClientUsageProblem::NoDigitalSignature) => format!(
                "the certificate's key usage does not allow digitalSignature, which client authentication needs; {renew}"
            ),
        }
    };
    Err(TlsError::Invalid {
        path: pem.path.clone(),
        what: problem,
    })
}

/// A short description of each certificate in a file, for `berth certs show`.
pub fn describe_certificate(pem: &Pem) -> Result<String, TlsError> {
    let mut out = String::new();
    let now = time::OffsetDateTime::now_utc();
    for (i, der) in pem.cert_ders().iter().enumerate() {
        let (_, c) =
            x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| TlsError::Invalid {
                path: pem.path.clone(),
                what: e.to_string(),
            })?;
        if i > 0 {
            out.push('\n');
        }
        let (from, until) = (
            c.validity().not_before.to_datetime(),
            c.validity().not_after.to_datetime(),
        );
        let state = if now > until {
            " (EXPIRED)"
        } else if now < from {
            " (NOT YET VALID)"
        } else {
            ""
        };
        out.push_str(&format!(
            "subject: {}\nissuer: {}\nserial: {}\nnot before: {}\nnot after: {}{state}\n",
            c.subject(),
            c.issuer(),
            colon_hex(c.raw_serial()),
            format_time(from),
            format_time(until),
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
        if c.is_ca() {
            out.push_str("CA: yes\n");
        }
        if let Ok(Some(ku)) = c.key_usage() {
            out.push_str(&format!("key usage: {}\n", ku.value));
        }
        if let Some(names) = eku_names(&c) {
            out.push_str(&format!("extended key usage: {}\n", names.join(", ")));
        }
        if let Some(id) = super::identity_from_der(der.as_ref())
            && !c.is_ca()
        {
            out.push_str(&format!("identity: {id}\n"));
        }
    }
    Ok(out)
}

/// The revocation lists in a file, for `berth certs show`.
pub fn describe_crl(pem: &Pem) -> Result<String, TlsError> {
    let mut out = String::new();
    for (i, der) in pem.crl_ders().iter().enumerate() {
        let (_, crl) =
            CertificateRevocationList::from_der(der.as_ref()).map_err(|e| TlsError::Invalid {
                path: pem.path.clone(),
                what: e.to_string(),
            })?;
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "revocation list of: {}\nnumber: {}\nthis update: {}\n",
            crl.issuer(),
            crl.crl_number()
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            format_time(crl.last_update().to_datetime()),
        ));
        if let Some(next) = crl.next_update() {
            out.push_str(&format!(
                "next update: {}\n",
                format_time(next.to_datetime())
            ));
        }
        let revoked: Vec<_> = crl.iter_revoked_certificates().collect();
        out.push_str(&format!("revoked: {}\n", revoked.len()));
        for r in revoked {
            out.push_str(&format!(
                "  {}  since {}\n",
                colon_hex(r.raw_serial()),
                format_time(r.revocation_date.to_datetime())
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::CertAuthority;
    use rcgen::{ExtendedKeyUsagePurpose, KeyUsagePurpose};

    fn issue(adjust: impl FnOnce(&mut rcgen::CertificateParams)) -> Pem {
        let ca = CertAuthority::generate("t").unwrap();
        let mut p = CertAuthority::client_params("c", 30).unwrap();
        adjust(&mut p);
        Pem {
            path: "/p/c.crt".into(),
            text: ca.issue(&p).unwrap().0,
        }
    }

    #[test]
    fn a_good_client_certificate_passes() {
        check_client_certificate(&issue(|_| {})).unwrap();
        // No extended key usage at all allows every use.
        check_client_certificate(&issue(|p| p.extended_key_usages.clear())).unwrap();
    }

    #[test]
    fn expired_future_and_server_only_certificates_are_named() {
        let expired = issue(|p| {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        });
        assert_eq!(
            check_client_certificate(&expired)
                .err()
                .unwrap()
                .to_string(),
            "/p/c.crt: the client certificate expired on 2021-01-01 00:00:00 UTC; issue a new one (berth certs client NAME --ca-dir DIR)"
        );
        let future = issue(|p| {
            p.not_before = rcgen::date_time_ymd(2090, 1, 1);
            p.not_after = rcgen::date_time_ymd(2091, 1, 1);
        });
        assert!(
            check_client_certificate(&future)
                .err()
                .unwrap()
                .to_string()
                .contains("not valid before 2090-01-01 00:00:00 UTC")
        );
        let server = issue(|p| p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth]);
        assert!(
            check_client_certificate(&server)
                .err()
                .unwrap()
                .to_string()
                .contains("not for client authentication (extended key usage: serverAuth,")
        );
        let no_sig = issue(|p| p.key_usages = vec![KeyUsagePurpose::KeyEncipherment]);
        assert_eq!(
            client_usage_problem(no_sig.cert_ders()[0].as_ref()),
            Some(ClientUsageProblem::NoDigitalSignature)
        );
    }
}
