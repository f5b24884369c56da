//! A failed TLS connection in one sentence that says which certificate is
//! wrong and what to do. The agent's refusals of the client certificate
//! arrive as TLS alerts (with TLS 1.3 only at the first request, after the
//! CLI's side of the handshake has finished); the CLI's own refusals of the
//! agent's certificate are rustls certificate errors. Both are found by type
//! in the error's source chain — except an alert that arrives after the
//! handshake: h2 keeps only the text of an I/O error, so that one is
//! recognised by rustls' own wording ("received fatal alert: UnknownCA").

use std::error::Error as StdError;
use std::path::Path;

use rustls::{AlertDescription, CertificateError};

use super::format_time;

/// Where the CLI connected, and with which files, to name them in messages.
pub struct Endpoint<'a> {
    pub url: &'a str,
    pub ca: &'a Path,
    pub cert: &'a Path,
}

/// A transport failure, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Explained {
    /// A certificate was refused, by the agent or by the CLI.
    Refused(String),
    /// The agent could not be reached at all.
    Unreachable(String),
}

/// The rustls error or I/O error kind at the bottom of a transport failure.
/// `io::Error::source()` skips the error it wraps, so wrapped errors are
/// opened with `get_ref()`.
fn find_cause<'e>(err: &'e (dyn StdError + 'static)) -> Option<Cause<'e>> {
    let mut cur: Option<&'e (dyn StdError + 'static)> = Some(err);
    let mut io_kind = None;
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(match r {
                rustls::Error::AlertReceived(alert) => Cause::Alert(*alert),
                other => Cause::Tls(other),
            });
        }
        if let Some(alert) = alert_in_text(&e.to_string()) {
            return Some(Cause::Alert(alert));
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
            if let Some(inner) = io.get_ref() {
                cur = Some(inner);
                continue;
            }
        }
        cur = e.source();
    }
    io_kind.map(Cause::Io)
}

enum Cause<'a> {
    Tls(&'a rustls::Error),
    Alert(AlertDescription),
    Io(std::io::ErrorKind),
}

/// The alert named in rustls' text for `Error::AlertReceived`.
fn alert_in_text(text: &str) -> Option<AlertDescription> {
    let name = text.split("received fatal alert: ").nth(1)?;
    let name = name.split(|c: char| !c.is_ascii_alphanumeric()).next()?;
    (0..=u8::MAX)
        .map(AlertDescription::from)
        .find(|a| format!("{a:?}") == name)
}

const NEW_CLIENT_CERT: &str = "berth certs client NAME --ca-dir DIR";

/// Explain a failure to connect to (or call) the agent at `at`, or None when
/// it is neither a TLS refusal nor a plain network failure.
pub fn explain_transport_error(
    err: &(dyn StdError + 'static),
    at: &Endpoint<'_>,
) -> Option<Explained> {
    let (url, ca, cert) = (at.url, at.ca.display(), at.cert.display());
    let refused = |why: String| {
        Explained::Refused(format!(
            "the agent at {url} refused the client certificate {cert}: {why}"
        ))
    };
    let theirs =
        |why: String| Explained::Refused(format!("the agent's certificate at {url} {why}"));
    match find_cause(err)? {
        Cause::Alert(alert) => Some(match alert {
            AlertDescription::CertificateRequired => Explained::Refused(format!(
                "the agent at {url} requires a client certificate: pass --cert and --key"
            )),
            AlertDescription::UnknownCA | AlertDescription::DecryptError => refused(format!(
                "it is not signed by the agent's client CA (berthd --client-ca); use a certificate from that CA ({NEW_CLIENT_CERT})"
            )),
            AlertDescription::CertificateExpired => refused(format!(
                "it has expired or is not yet valid by the agent's clock; issue a new one ({NEW_CLIENT_CERT}) or check the clocks"
            )),
            AlertDescription::CertificateRevoked => refused(format!(
                "it has been revoked; issue a new one ({NEW_CLIENT_CERT})"
            )),
            AlertDescription::UnsupportedCertificate => refused(format!(
                "it is not for client authentication (it needs extended key usage clientAuth and key usage digitalSignature); issue a client certificate ({NEW_CLIENT_CERT})"
            )),
            AlertDescription::BadCertificate => refused("it is malformed".into()),
            AlertDescription::ProtocolVersion => Explained::Refused(format!(
                "the agent at {url} and berth share no TLS version (berth speaks TLS 1.2 and 1.3)"
            )),
            AlertDescription::NoApplicationProtocol => Explained::Refused(format!(
                "{url} does not speak HTTP/2 over TLS: is it berthd?"
            )),
            other => Explained::Refused(format!(
                "the agent at {url} ended the TLS handshake ({other:?})"
            )),
        }),
        Cause::Tls(rustls::Error::InvalidCertificate(e)) => Some(match e {
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => theirs(format!(
                "is not valid for {:?} (it names {}); reach the agent by one of those names, or reissue its certificate for this one (berth certs init --agent-host {})",
                expected.to_str(),
                presented
                    .iter()
                    .map(|n| plain_name(n))
                    .collect::<Vec<_>>()
                    .join(", "),
                expected.to_str()
            )),
            CertificateError::NotValidForName => {
                theirs("is not valid for the name in the agent's address".into())
            }
            CertificateError::UnknownIssuer
            | CertificateError::BadSignature
            | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                theirs(format!(
                    "is not signed by the CA in {ca} (--ca); pass the CA that issued the agent's certificate"
                ))
            }
            CertificateError::ExpiredContext { not_after, .. } => theirs(format!(
                "expired on {}; the agent needs a new certificate",
                unix(*not_after)
            )),
            CertificateError::Expired => {
                theirs("has expired; the agent needs a new certificate".into())
            }
            CertificateError::NotValidYetContext { not_before, .. } => theirs(format!(
                "is not valid before {} (are the clocks right?)",
                unix(*not_before)
            )),
            CertificateError::NotValidYet => {
                theirs("is not valid yet (are the clocks right?)".into())
            }
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                theirs("is not for server authentication (extended key usage serverAuth)".into())
            }
            other => theirs(format!("was refused: {other}")),
        }),
        Cause::Tls(other) => Some(Explained::Refused(format!(
            "TLS with the agent at {url} failed: {other}"
        ))),
        Cause::Io(std::io::ErrorKind::ConnectionRefused) => Some(Explained::Unreachable(format!(
            "{url}: connection refused: is berthd listening at that address?"
        ))),
        Cause::Io(std::io::ErrorKind::TimedOut) => Some(Explained::Unreachable(format!(
            "{url}: timed out connecting"
        ))),
        Cause::Io(_) => None,
    }
}

/// webpki describes a presented name as `DnsName("a.example")` or
/// `IpAddress(10.0.0.1)`; users want the name.
fn plain_name(n: &str) -> &str {
    match (n.find('('), n.strip_suffix(')')) {
        (Some(open), Some(inner)) => inner[open + 1..].trim_matches('"'),
        _ => n,
    }
}

fn unix(t: rustls::pki_types::UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.as_secs() as i64)
        .map(format_time)
        .unwrap_or_else(|_| format!("{} s after 1970", t.as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Endpoint<'static> {
        Endpoint {
            url: "https://a:1",
            ca: Path::new("ca.crt"),
            cert: Path::new("me.crt"),
        }
    }

    /// rustls' error, wrapped as tokio-rustls and hyper wrap it.
    fn wrapped(e: rustls::Error) -> std::io::Error {
        std::io::Error::other(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    #[test]
    fn alerts_from_the_agent_name_the_client_certificate() {
        let e = wrapped(rustls::Error::AlertReceived(
            AlertDescription::CertificateRevoked,
        ));
        assert_eq!(
            explain_transport_error(&e, &at()),
            Some(Explained::Refused(
                "the agent at https://a:1 refused the client certificate me.crt: it has been revoked; issue a new one (berth certs client NAME --ca-dir DIR)".into()
            ))
        );
    }

    #[test]
    fn the_agents_certificate_names_the_ca_file() {
        let e = wrapped(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        let Some(Explained::Refused(s)) = explain_transport_error(&e, &at()) else {
            panic!()
        };
        assert!(
            s.contains("is not signed by the CA in ca.crt (--ca)"),
            "{s}"
        );
    }

    #[test]
    fn an_alert_known_only_by_its_text_is_recognised() {
        // What h2 makes of the alert: an I/O error of the same text.
        let e = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "received fatal alert: UnsupportedCertificate",
        );
        let Some(Explained::Refused(s)) = explain_transport_error(&e, &at()) else {
            panic!()
        };
        assert!(s.contains("it is not for client authentication"), "{s}");
    }

    #[test]
    fn other_failures_are_left_alone() {
        let e = std::io::Error::other("something");
        assert_eq!(explain_transport_error(&e, &at()), None);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            explain_transport_error(&refused, &at()),
            Some(Explained::Unreachable(_))
        ));
    }
}
