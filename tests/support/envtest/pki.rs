//! The throwaway key material a test control plane needs: a CA, the API server's serving
//! certificate signed by it (SANs `127.0.0.1` and `localhost`), and the service-account token
//! signing key pair. All ECDSA P-256, valid far into the future, generated per control plane.
//!
//! Leaves out client certificates (clients authenticate with a bearer token) and etcd TLS (etcd
//! listens on loopback only, over plain HTTP, as in envtest).

use std::fmt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

/// The names the serving certificate is valid for: what a kubeconfig may say to reach it.
pub const SERVING_SANS: [&str; 2] = ["127.0.0.1", "localhost"];

/// Generated PEM texts.
pub struct Pki {
    /// The CA certificate clients trust.
    pub ca_pem: String,
    /// The API server's serving certificate.
    pub serving_cert_pem: String,
    /// Its private key (PKCS#8).
    pub serving_key_pem: String,
    /// Service-account token signing key (PKCS#8).
    pub sa_key_pem: String,
    /// Its public key, for verifying tokens.
    pub sa_pub_pem: String,
}

impl fmt::Debug for Pki {
    // Private keys stay out of test output, throwaway or not.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pki").finish_non_exhaustive()
    }
}

/// Where [`Pki::write`] put each file.
#[derive(Debug, Clone)]
pub struct PkiFiles {
    /// `ca.crt`.
    pub ca: PathBuf,
    /// `apiserver.crt`.
    pub serving_cert: PathBuf,
    /// `apiserver.key`.
    pub serving_key: PathBuf,
    /// `sa.key`.
    pub sa_key: PathBuf,
    /// `sa.pub`.
    pub sa_pub: PathBuf,
}

impl PkiFiles {
    /// The file names [`Pki::write`] uses inside `dir`.
    pub fn in_dir(dir: &Path) -> PkiFiles {
        PkiFiles {
            ca: dir.join("ca.crt"),
            serving_cert: dir.join("apiserver.crt"),
            serving_key: dir.join("apiserver.key"),
            sa_key: dir.join("sa.key"),
            sa_pub: dir.join("sa.pub"),
        }
    }
}

fn key() -> KeyPair {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .unwrap_or_else(|e| panic!("envtest pki: cannot generate a key: {e}"))
}

impl Pki {
    /// Generates a fresh CA, serving certificate and service-account key pair.
    pub fn generate() -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())
            .unwrap_or_else(|e| panic!("envtest pki: CA parameters: {e}"));
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "konoha-envtest-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, key())
            .unwrap_or_else(|e| panic!("envtest pki: CA certificate: {e}"));

        let serving_key = key();
        let sans: Vec<String> = SERVING_SANS.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(sans)
            .unwrap_or_else(|e| panic!("envtest pki: serving parameters: {e}"));
        params
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let serving = params
            .signed_by(&serving_key, &ca)
            .unwrap_or_else(|e| panic!("envtest pki: serving certificate: {e}"));

        let sa = key();
        Pki {
            ca_pem: ca.pem(),
            serving_cert_pem: serving.pem(),
            serving_key_pem: serving_key.serialize_pem(),
            sa_key_pem: sa.serialize_pem(),
            sa_pub_pem: sa.public_key_pem(),
        }
    }

    /// Writes every file into `dir` (see [`PkiFiles::in_dir`]).
    pub fn write(&self, dir: &Path) -> PkiFiles {
        let files = PkiFiles::in_dir(dir);
        for (path, text) in [
            (&files.ca, &self.ca_pem),
            (&files.serving_cert, &self.serving_cert_pem),
            (&files.serving_key, &self.serving_key_pem),
            (&files.sa_key, &self.sa_key_pem),
            (&files.sa_pub, &self.sa_pub_pem),
        ] {
            std::fs::write(path, text)
                .unwrap_or_else(|e| panic!("envtest pki: writing {}: {e}", path.display()));
        }
        files
    }
}
