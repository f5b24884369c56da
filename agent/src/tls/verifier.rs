//! webpki's client verification plus the one rule it leaves out. webpki
//! checks the chain to the client CA, the validity window, the CRL and the
//! extended key usage (clientAuth, when the certificate lists any); it does
//! not look at the key usage bits, so a certificate whose key usage does not
//! allow digitalSignature — e.g. a key-encipherment-only certificate — would
//! pass. Such a certificate is refused here with the same alert as a wrong
//! extended key usage (unsupported_certificate).

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme,
    client::danger::HandshakeSignatureValid,
};

#[derive(Debug)]
pub(super) struct ClientUsage {
    webpki: Arc<dyn ClientCertVerifier>,
}

impl ClientUsage {
    pub(super) fn new(webpki: Arc<dyn ClientCertVerifier>) -> Self {
        ClientUsage { webpki }
    }
}

impl ClientCertVerifier for ClientUsage {
    fn offer_client_auth(&self) -> bool {
        self.webpki.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.webpki.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.webpki.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .webpki
            .verify_client_cert(end_entity, intermediates, now)?;
        if berth::tls::inspect::client_usage_problem(end_entity.as_ref()).is_some() {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::InvalidPurpose,
            ));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
