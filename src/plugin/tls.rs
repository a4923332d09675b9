//! Mutual TLS the way go-plugin's AutoMTLS expects it: a fresh server certificate per process and
//! a verifier that accepts exactly the client certificate Terraform put in `PLUGIN_CLIENT_CERT`.
//!
//! Why not rustls' `WebPkiClientVerifier` (and so not tonic's built-in TLS): Terraform's client
//! certificate is a self-signed CA, which WebPKI refuses as an end entity (`CaUsedAsEndEntity`).
//! Pinning the exact DER is both simpler and stricter. The aws-lc-rs provider is required because
//! the certificate is ECDSA P-521, which *ring* cannot verify. Accepting connections with this
//! config is [`super::serve`]'s job.

use std::fmt;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::DistinguishedName;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, aws_lc_rs};
use rustls::server::ServerConfig;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};

/// The name go-plugin's client checks the server certificate against.
const SERVER_NAME: &str = "localhost";

/// ALPN protocol for gRPC; grpc-go 1.67+ refuses servers that do not negotiate it.
const ALPN_H2: &[u8] = b"h2";

/// Building the TLS material failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Generating the server key or certificate failed.
    #[error("cannot generate the server certificate")]
    GenerateCertificate(#[source] rcgen::Error),
    /// `PLUGIN_CLIENT_CERT` holds no readable PEM certificate.
    #[error("PLUGIN_CLIENT_CERT holds no readable PEM certificate")]
    ClientCertificatePem(#[source] rustls_pki_types::pem::Error),
    /// rustls rejected the server configuration.
    #[error("cannot build the TLS server configuration")]
    ServerConfig(#[source] rustls::Error),
}

/// This process's self-signed server certificate and its private key.
///
/// Valid for `DNS:localhost`, a CA (go-plugin's client trusts it as its own root), with both
/// server and client auth usages, like the certificate go-plugin's Go servers make.
pub struct ServerIdentity {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl ServerIdentity {
    /// Generates a fresh ECDSA P-256 key and certificate.
    pub fn generate() -> Result<Self, TlsError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(TlsError::GenerateCertificate)?;
        let mut params = CertificateParams::new(vec![SERVER_NAME.to_owned()])
            .map_err(TlsError::GenerateCertificate)?;
        params
            .distinguished_name
            .push(DnType::CommonName, SERVER_NAME);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "konoha");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params
            .self_signed(&key)
            .map_err(TlsError::GenerateCertificate)?;
        Ok(Self {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }

    /// The certificate's DER, as announced in the handshake line.
    pub fn cert_der(&self) -> &[u8] {
        self.cert.as_ref()
    }
}

impl fmt::Debug for ServerIdentity {
    // The key never reaches logs; the certificate's size is enough to tell one from none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("cert_len", &self.cert.as_ref().len())
            .finish_non_exhaustive()
    }
}

/// Reads the first certificate from `PLUGIN_CLIENT_CERT`'s PEM.
pub fn client_cert_from_pem(pem: &str) -> Result<CertificateDer<'static>, TlsError> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(TlsError::ClientCertificatePem)
}

/// The rustls server config: our identity, client authentication required and pinned to
/// `client_cert`, ALPN `h2`, TLS 1.2 and 1.3 with the aws-lc-rs provider.
pub fn server_config(
    identity: &ServerIdentity,
    client_cert: CertificateDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier = PinnedClientCert::new(client_cert, &provider);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::ServerConfig)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            vec![identity.cert.clone()],
            PrivateKeyDer::Pkcs8(identity.key.clone_key()),
        )
        .map_err(TlsError::ServerConfig)?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(Arc::new(config))
}

/// Accepts exactly one client certificate, byte for byte.
///
/// Handshake signatures are still checked against that certificate's key, with the provider's
/// algorithms (which include ECDSA P-521 on aws-lc-rs), so presenting the public certificate
/// without its key gets a client nowhere.
struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCert {
    fn new(expected: CertificateDer<'static>, provider: &CryptoProvider) -> Self {
        Self {
            expected,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl fmt::Debug for PinnedClientCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedClientCert")
            .field("expected_len", &self.expected.as_ref().len())
            .finish_non_exhaustive()
    }
}

impl ClientCertVerifier for PinnedClientCert {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No hints: Go's client has exactly one certificate and sends it regardless.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn server_identity_is_a_localhost_ca_for_server_and_client_auth() {
        let identity = ServerIdentity::generate().unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(identity.cert_der()).unwrap();
        assert!(cert.is_ca());
        let san = cert.subject_alternative_name().unwrap().unwrap();
        assert_eq!(
            format!("{:?}", san.value.general_names),
            r#"[DNSName("localhost")]"#
        );
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        // A fresh key per process: two identities never share a certificate.
        assert_ne!(
            identity.cert_der(),
            ServerIdentity::generate().unwrap().cert_der()
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        let identity = ServerIdentity::generate().unwrap();
        let shown = format!("{identity:?}");
        assert!(shown.starts_with("ServerIdentity { cert_len: "), "{shown}");
        assert!(!shown.contains("key"), "{shown}");
    }

    #[test]
    fn pinned_verifier_accepts_only_the_expected_cert() {
        let provider = aws_lc_rs::default_provider();
        let expected = ServerIdentity::generate().unwrap().cert;
        let other = ServerIdentity::generate().unwrap().cert;
        let verifier = PinnedClientCert::new(expected.clone(), &provider);
        let now = UnixTime::now();
        assert!(verifier.verify_client_cert(&expected, &[], now).is_ok());
        assert!(verifier.verify_client_cert(&other, &[], now).is_err());
        assert!(verifier.client_auth_mandatory());
        assert!(
            verifier
                .supported_verify_schemes()
                .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
        );
    }

    #[test]
    fn client_cert_pem_round_trips() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert_eq!(client_cert_from_pem(&cert.pem()).unwrap(), *cert.der());
        assert!(matches!(
            client_cert_from_pem("not a pem"),
            Err(TlsError::ClientCertificatePem(_))
        ));
    }

    #[test]
    fn server_config_negotiates_h2_only() {
        let identity = ServerIdentity::generate().unwrap();
        let config = server_config(&identity, identity.cert.clone()).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
    }
}
