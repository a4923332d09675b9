//! A small Vault / OpenBao KV v2 client: connection settings, login, and the handful of KV v2
//! calls the provider needs (read, check-and-set write, metadata, delete), on the HTTP stack
//! `kube` already brings (hyper-util's pooled client over hyper-rustls).
//!
//! It knows HTTP and Vault, nothing about Terraform or Spark: turning provider attributes and
//! `VAULT_*` environment variables into [`VaultSettings`] is the provider's job, and turning a
//! [`VaultError`] into a diagnostic is the resources' job. Logins: a token as is, AppRole, JWT
//! (a CI system's OIDC token) and Kubernetes (a pod's service-account token). Left out on
//! purpose: KV v1 and other auth methods. A KV v1 mount, or any other engine, is refused by
//! [`mounts`] before use.
//!
//! - `address`: the address, parsed and checked at connect;
//! - [`http`]: the transport, one request to `/v1/` answered with JSON or a classified
//!   failure, response bodies capped at [`http::MAX_RESPONSE_BYTES`];
//! - `proxy`: connections through the proxy `HTTPS_PROXY` and friends name, as `CONNECT`
//!   tunnels;
//! - [`tls`]: the rustls client configuration (system roots and the CA file, or none);
//! - [`client`]: [`VaultClient::connect`], logins and token renewal;
//! - [`session`]: [`VaultSession`], which renews the token or logs in again as it nears expiry;
//! - [`kv2`]: the KV v2 operations, as methods on [`VaultClient`];
//! - [`mounts`]: the check that a mount is KV v2 ([`MountKind`] says what it is), cached per
//!   client;
//! - [`error`]: [`VaultError`] and the classification of HTTP failures.

mod address;
pub mod client;
pub mod error;
pub mod http;
pub mod kv2;
pub mod mounts;
mod proxy;
pub mod session;
pub mod tls;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use client::VaultClient;
pub use error::VaultError;
pub use kv2::{SecretMetadata, SecretVersion};
pub use session::VaultSession;

/// How long one HTTP request to Vault may take before it fails as timed out.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The auth mount AppRole is enabled at unless configured otherwise.
pub const DEFAULT_APPROLE_MOUNT: &str = "approle";

/// The auth mount the JWT/OIDC method is enabled at unless configured otherwise.
pub const DEFAULT_JWT_MOUNT: &str = "jwt";

/// The auth mount the Kubernetes method is enabled at unless configured otherwise.
pub const DEFAULT_KUBERNETES_MOUNT: &str = "kubernetes";

/// Where Kubernetes mounts a pod's service-account token.
pub const DEFAULT_SERVICE_ACCOUNT_TOKEN_FILE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";

pub use crate::secret::Secret;

/// A JWT/OIDC auth method login with a token the caller already holds (e.g. a CI system's).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct JwtLogin {
    /// The role to log in as.
    pub role: String,
    /// The signed JWT.
    pub jwt: Secret,
    /// The auth mount, without `auth/`.
    pub mount: String,
}

/// A Kubernetes auth method login with the service-account token in `jwt_file`, read at each
/// login (the kubelet rotates projected tokens).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KubernetesLogin {
    /// The role to log in as.
    pub role: String,
    /// The token file.
    pub jwt_file: PathBuf,
    /// The auth mount, without `auth/`.
    pub mount: String,
}

/// What Vault has mounted at a path, as far as this token can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// The KV secrets engine, version 2: what profiles need.
    Kv2,
    /// The KV secrets engine, version 1: no versions, no metadata, no check-and-set.
    Kv1,
    /// Another secrets engine, by its type (e.g. `transit`).
    Other(String),
    /// Nothing this token can reach: no mount, or no policy grants access under it.
    Unreachable,
}

impl fmt::Display for MountKind {
    /// Completes "the mount … is …".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MountKind::Kv2 => f.write_str("a KV version 2 secrets engine"),
            MountKind::Kv1 => f.write_str("a KV version 1 secrets engine"),
            MountKind::Other(engine) => write!(f, "a {engine:?} secrets engine, not KV"),
            MountKind::Unreachable => f.write_str(
                "not a mount this token can reach (there is no such mount, or no policy grants \
                 access under it)",
            ),
        }
    }
}

/// AppRole credentials, exchanged for a token when the client connects.
#[derive(Clone, PartialEq, Eq)]
pub struct AppRoleLogin {
    /// The role's `role_id` (an identifier, not a secret, but still not logged).
    pub role_id: String,
    /// The role's `secret_id`.
    pub secret_id: Secret,
    /// The auth mount, without `auth/`; [`DEFAULT_APPROLE_MOUNT`] by default.
    pub mount: String,
}

impl AppRoleLogin {
    /// Credentials for the AppRole mounted at the default `approle` path.
    pub fn new(role_id: impl Into<String>, secret_id: impl Into<Secret>) -> Self {
        Self {
            role_id: role_id.into(),
            secret_id: secret_id.into(),
            mount: DEFAULT_APPROLE_MOUNT.to_owned(),
        }
    }
}

impl fmt::Debug for AppRoleLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppRoleLogin")
            .field("role_id", &"<redacted>")
            .field("secret_id", &self.secret_id)
            .field("mount", &self.mount)
            .finish()
    }
}

/// Everything needed to reach and authenticate to Vault, already resolved (attribute, then
/// environment, then default) by the provider.
///
/// When both a token and an AppRole login are set, the AppRole login wins, as in the
/// HashiCorp Vault provider: the token is then typically an ambient `VAULT_TOKEN`.
#[derive(Clone, PartialEq, Eq)]
pub struct VaultSettings {
    /// Base URL, `http://` or `https://`, e.g. `https://vault.example:8200`.
    pub address: String,
    /// A Vault token to use as is.
    pub token: Option<Secret>,
    /// Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace` on every request.
    pub namespace: Option<String>,
    /// PEM file with the CA certificate(s) to trust for an `https://` address.
    pub ca_cert_file: Option<PathBuf>,
    /// Accept any server certificate. For local test servers only.
    pub skip_tls_verify: bool,
    /// Log in with AppRole instead of using [`VaultSettings::token`].
    pub approle: Option<AppRoleLogin>,
    /// Log in with a JWT instead of [`VaultSettings::token`].
    pub jwt: Option<JwtLogin>,
    /// Log in with a Kubernetes service-account token instead of [`VaultSettings::token`].
    pub kubernetes: Option<KubernetesLogin>,
    /// Limit for each HTTP request, connection included.
    pub request_timeout: Duration,
}

impl VaultSettings {
    /// Settings for `address` with no credentials yet, TLS verification on and the default
    /// timeout.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            token: None,
            namespace: None,
            ca_cert_file: None,
            skip_tls_verify: false,
            approle: None,
            jwt: None,
            kubernetes: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl fmt::Debug for VaultSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultSettings")
            .field("address", &self.address)
            .field("token", &self.token)
            .field("namespace", &self.namespace)
            .field("ca_cert_file", &self.ca_cert_file)
            .field("skip_tls_verify", &self.skip_tls_verify)
            .field("approle", &self.approle)
            .field("jwt", &self.jwt)
            .field("kubernetes", &self.kubernetes)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_debug_or_display() {
        let mut settings = VaultSettings::new("http://127.0.0.1:8200");
        settings.token = Some(Secret::new("hvs.token-value"));
        settings.approle = Some(AppRoleLogin::new("role-id-value", "secret-id-value"));
        settings.jwt = Some(JwtLogin {
            role: "ci".to_owned(),
            jwt: Secret::new("eyJ.jwt-value"),
            mount: DEFAULT_JWT_MOUNT.to_owned(),
        });

        let debug = format!("{settings:?} {settings:#?}");
        for secret in [
            "hvs.token-value",
            "role-id-value",
            "secret-id-value",
            "eyJ.jwt-value",
        ] {
            assert!(!debug.contains(secret), "{secret} leaked into {debug}");
        }
        assert!(debug.contains("http://127.0.0.1:8200"), "{debug}");
        assert_eq!(Secret::new("x").to_string(), "<redacted>");
        assert_eq!(format!("{:?}", Secret::new("x")), "Secret(<redacted>)");
        assert_eq!(Secret::new("x").expose(), "x");
    }

    #[test]
    fn approle_mount_defaults_to_approle() {
        assert_eq!(AppRoleLogin::new("r", "s").mount, "approle");
    }
}
