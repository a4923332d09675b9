//! [`VaultClient`]: connects to Vault from resolved [`VaultSettings`] (AppRole login or a
//! token) and turns raw `vaultrs` failures into [`VaultError`]s for the KV v2 calls.
//!
//! The KV v2 operations themselves live in [`super::kv2`]. Nothing here reads `VAULT_*`
//! environment variables: `vaultrs`' settings builder would, so the settings are built as a
//! plain struct instead.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use vaultrs::client::{Client as _, VaultClientSettings};
use vaultrs::error::ClientError;

use super::error::{Failure, classify};
use super::mounts::MountCache;
use super::{Secret, VaultError, VaultSettings};

/// A connected, authenticated Vault client. Cheap to clone: clones share one HTTP connection
/// pool and one token.
#[derive(Clone)]
pub struct VaultClient {
    inner: Arc<Inner>,
}

struct Inner {
    api: vaultrs::client::VaultClient,
    address: String,
    namespace: Option<String>,
    timeout: Duration,
    /// What each mount used so far is, asked once.
    mounts: MountCache,
}

impl fmt::Debug for VaultClient {
    // The vaultrs client's own Debug prints its token, so only safe fields are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultClient")
            .field("address", &self.inner.address)
            .field("namespace", &self.inner.namespace)
            .finish_non_exhaustive()
    }
}

impl VaultClient {
    /// Builds the HTTP client and authenticates.
    ///
    /// With an AppRole login configured this logs in once (one request) and uses the token it
    /// returns; with only a token it makes no request at all, so a bad token shows up on the
    /// first operation as [`VaultError::PermissionDenied`]. Fails with
    /// [`VaultError::MissingCredentials`] when neither is set.
    pub async fn connect(settings: &VaultSettings) -> Result<Self, VaultError> {
        let address = parse_address(&settings.address)?;
        let token = settings.token.as_ref().filter(|t| !t.is_empty());
        if settings.approle.is_none() && token.is_none() {
            return Err(VaultError::MissingCredentials);
        }
        // vaultrs puts both into HTTP headers and panics on characters a header cannot carry.
        if token.is_some_and(|t| !header_safe(t.expose())) {
            return Err(VaultError::InvalidHeaderValue { what: "token" });
        }
        if settings
            .namespace
            .as_deref()
            .is_some_and(|ns| !header_safe(ns))
        {
            return Err(VaultError::InvalidHeaderValue { what: "namespace" });
        }
        let ca_certs = match &settings.ca_cert_file {
            Some(path) => vec![
                path.to_str()
                    .ok_or_else(|| VaultError::InvalidCaCertPath { path: path.clone() })?
                    .to_owned(),
            ],
            None => Vec::new(),
        };
        let client_settings = VaultClientSettings {
            address,
            ca_certs,
            identity: None,
            timeout: Some(settings.request_timeout),
            token: token.map(Secret::expose).unwrap_or_default().to_owned(),
            verify: !settings.skip_tls_verify,
            version: 1,
            wrapping: false,
            namespace: settings.namespace.clone(),
            proxy: None,
        };
        let api = vaultrs::client::VaultClient::new(client_settings).map_err(|source| {
            VaultError::BuildClient {
                address: settings.address.clone(),
                source: Box::new(source),
            }
        })?;
        let mut client = Inner {
            api,
            address: settings.address.clone(),
            namespace: settings.namespace.clone(),
            timeout: settings.request_timeout,
            mounts: MountCache::default(),
        };
        if let Some(approle) = &settings.approle {
            let login_path = format!("auth/{}/login", approle.mount);
            tracing::debug!(address = %client.address, path = %login_path, "Vault AppRole login");
            let auth = vaultrs::auth::approle::login(
                &client.api,
                &approle.mount,
                &approle.role_id,
                approle.secret_id.expose(),
            )
            .await
            .map_err(|source| match classify(&source) {
                // A refused login is not "the token lacks permission": there is no token yet.
                Failure::Unreachable | Failure::TimedOut => {
                    client.fail("log in at", login_path, source, |_, source| {
                        VaultError::AppRoleLogin {
                            mount: approle.mount.clone(),
                            source,
                        }
                    })
                }
                _ => VaultError::AppRoleLogin {
                    mount: approle.mount.clone(),
                    source: Box::new(source),
                },
            })?;
            client.api.set_token(&auth.client_token);
        }
        Ok(Self {
            inner: Arc::new(client),
        })
    }

    /// The Vault address this client talks to.
    pub fn address(&self) -> &str {
        &self.inner.address
    }

    /// The `vaultrs` client, for the KV v2 calls.
    pub(super) fn api(&self) -> &vaultrs::client::VaultClient {
        &self.inner.api
    }

    /// The mount lookups made so far.
    pub(super) fn mounts(&self) -> &MountCache {
        &self.inner.mounts
    }

    /// Maps a failed call: transport failures and 403 become the shared variants, everything
    /// else the operation's own variant built by `other`.
    pub(super) fn fail(
        &self,
        action: &'static str,
        path: String,
        source: ClientError,
        other: impl FnOnce(String, Box<ClientError>) -> VaultError,
    ) -> VaultError {
        self.inner.fail(action, path, source, other)
    }
}

impl Inner {
    fn fail(
        &self,
        action: &'static str,
        path: String,
        source: ClientError,
        other: impl FnOnce(String, Box<ClientError>) -> VaultError,
    ) -> VaultError {
        let kind = classify(&source);
        let source = Box::new(source);
        match kind {
            Failure::Unreachable => VaultError::Unreachable {
                address: self.address.clone(),
                action,
                path,
                source,
            },
            Failure::TimedOut => VaultError::TimedOut {
                address: self.address.clone(),
                action,
                path,
                timeout: self.timeout,
                source,
            },
            Failure::Forbidden => VaultError::PermissionDenied {
                action,
                path,
                source,
            },
            Failure::NotFound | Failure::CasMismatch | Failure::Other => other(path, source),
        }
    }
}

/// Whether `value` can be sent as an HTTP header value: visible ASCII, spaces and tabs.
fn header_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

/// Parses the address up front: `vaultrs`' own parser panics on a bad URL.
fn parse_address(address: &str) -> Result<reqwest::Url, VaultError> {
    let invalid = |reason: String| VaultError::InvalidAddress {
        address: address.to_owned(),
        reason,
    };
    let url = reqwest::Url::parse(address).map_err(|e| invalid(e.to_string()))?;
    match url.scheme() {
        "http" | "https" if url.has_host() => Ok(url),
        "http" | "https" => Err(invalid("no host".to_owned())),
        other => Err(invalid(format!("scheme {other:?} is not http or https"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_addresses_without_panicking() {
        for (address, reason) in [
            ("vault:8200", "scheme \"vault\" is not http or https"),
            ("ftp://vault", "scheme \"ftp\" is not http or https"),
            ("not a url", "relative URL without a base"),
        ] {
            match parse_address(address) {
                Err(VaultError::InvalidAddress { reason: got, .. }) => {
                    assert_eq!(got, reason, "{address}")
                }
                other => panic!("{address}: {other:?}"),
            }
        }
        assert!(parse_address("https://vault.example:8200").is_ok());
    }

    #[tokio::test]
    async fn refuses_to_connect_without_credentials() {
        let mut settings = VaultSettings::new("http://127.0.0.1:1");
        let err = VaultClient::connect(&settings).await.err();
        assert!(
            matches!(err, Some(VaultError::MissingCredentials)),
            "{err:?}"
        );

        settings.token = Some(Secret::new(""));
        let err = VaultClient::connect(&settings).await.err();
        assert!(
            matches!(err, Some(VaultError::MissingCredentials)),
            "{err:?}"
        );
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn client_errors_and_futures_can_cross_threads() {
        fn assert_thread_safe<T: Send + Sync + 'static>() {}
        assert_thread_safe::<VaultClient>();
        assert_thread_safe::<VaultError>();

        let settings = VaultSettings::new("http://127.0.0.1:1");
        assert_send(&VaultClient::connect(&settings));
        let client: Option<VaultClient> = None;
        if let Some(client) = &client {
            let data = std::collections::BTreeMap::new();
            assert_send(&client.read_opt("m", "n"));
            assert_send(&client.read_metadata_opt("m", "n"));
            assert_send(&client.write_cas("m", "n", &data, 0));
            assert_send(&client.write_metadata("m", "n", None, &data));
            assert_send(&client.delete_latest("m", "n"));
            assert_send(&client.delete_all("m", "n"));
        }
    }

    #[tokio::test]
    async fn refuses_values_that_cannot_be_headers() {
        let mut settings = VaultSettings::new("http://127.0.0.1:1");
        settings.token = Some(Secret::new("s.token\n"));
        let err = VaultClient::connect(&settings).await.err();
        assert!(
            matches!(err, Some(VaultError::InvalidHeaderValue { what: "token" })),
            "{err:?}"
        );

        settings.token = Some(Secret::new("s.token"));
        settings.namespace = Some("équipe".to_owned());
        let err = VaultClient::connect(&settings).await.err();
        assert!(
            matches!(
                err,
                Some(VaultError::InvalidHeaderValue { what: "namespace" })
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn token_connect_makes_no_request_and_hides_the_token() {
        let mut settings = VaultSettings::new("http://127.0.0.1:1");
        settings.token = Some(Secret::new("s.super-secret"));
        settings.namespace = Some("team".to_owned());
        let client = VaultClient::connect(&settings).await;
        let debug = format!("{client:?}");
        assert!(client.is_ok(), "{debug}");
        assert!(!debug.contains("super-secret"), "{debug}");
        assert!(debug.contains("team"), "{debug}");
    }
}
