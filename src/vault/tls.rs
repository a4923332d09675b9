//! The rustls client configuration for an `https://` Vault address: the system's trusted roots
//! plus the configured CA file, or, only when `skip_tls_verify` asks for it, a verifier that
//! accepts any certificate.
//!
//! The aws-lc-rs provider is named explicitly, as in `plugin::tls`, so nothing depends on a
//! process-wide default provider. Sending requests is [`super::http`]'s job.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Why the TLS settings could not be turned into a client configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// The CA file cannot be read.
    #[error("reading the CA certificate file {path:?}")]
    ReadCaFile {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        #[source]
        source: std::io::Error,
    },
    /// The CA file holds a PEM section that does not parse.
    #[error("the CA certificate file {path:?} is not valid PEM")]
    CaFilePem {
        /// The file.
        path: PathBuf,
        /// What the PEM reader reported.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// The CA file holds no certificate at all.
    #[error("the CA certificate file {path:?} holds no certificate")]
    NoCaCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A certificate in the CA file is not a usable trust anchor.
    #[error("a certificate in {path:?} is not a usable CA certificate")]
    BadCaCertificate {
        /// The file.
        path: PathBuf,
        /// What rustls reported.
        #[source]
        source: rustls::Error,
    },
    /// rustls refused the protocol versions (cannot happen with the default provider).
    #[error("setting up TLS")]
    Config(#[source] rustls::Error),
}

/// The client configuration for `https://` requests.
///
/// Verification trusts the system's roots and every certificate in `ca_file`, as the HTTP
/// client before ours did; system roots that fail to load are skipped, so a CA file alone
/// works on a machine without a trust store.
pub(super) fn client_config(
    ca_file: Option<&Path>,
    skip_verify: bool,
) -> Result<ClientConfig, TlsSetupError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Config)?;
    let config = if skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(roots(ca_file)?)
            .with_no_client_auth()
    };
    Ok(config)
}

/// A configuration that trusts no certificate, for a client that is never meant to use TLS.
pub(super) fn trusting_nothing() -> Result<ClientConfig, TlsSetupError> {
    Ok(
        ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(TlsSetupError::Config)?
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth(),
    )
}

/// The system's roots and the CA file's certificates.
fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let Some(path) = ca_file else {
        return Ok(roots);
    };
    let pem = std::fs::read(path).map_err(|source| TlsSetupError::ReadCaFile {
        path: path.to_owned(),
        source,
    })?;
    let mut found = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|source| TlsSetupError::CaFilePem {
            path: path.to_owned(),
            source,
        })?;
        roots
            .add(cert)
            .map_err(|source| TlsSetupError::BadCaCertificate {
                path: path.to_owned(),
                source,
            })?;
        found += 1;
    }
    if found == 0 {
        return Err(TlsSetupError::NoCaCertificate {
            path: path.to_owned(),
        });
    }
    Ok(roots)
}

/// Accepts any server certificate: `skip_tls_verify`, for local test servers only. The
/// handshake signature is still checked against the certificate presented, so the connection
/// is at least to whoever holds that certificate's key; who that is, nothing checks.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_exist_and_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let missing = dir.path().join("missing.pem");
        assert!(matches!(
            client_config(Some(&missing), false),
            Err(TlsSetupError::ReadCaFile { .. })
        ));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            client_config(Some(&empty), false),
            Err(TlsSetupError::NoCaCertificate { .. })
        ));
        // Skipping verification reads no CA file at all.
        assert!(client_config(Some(&missing), true).is_ok());
        assert!(client_config(None, false).is_ok());
    }
}
