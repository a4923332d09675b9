//! [`VaultClient`]: connects to Vault from resolved [`VaultSettings`] (a login or a token),
//! logs in, renews the token, and turns transport failures into [`VaultError`]s for the calls.
//!
//! The KV v2 operations themselves live in [`super::kv2`], the requests in [`super::http`].
//! Nothing here reads `VAULT_*` environment variables: that is the provider's job.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::http::Method;
use hyper_util::client::proxy::matcher::Matcher;
use serde::Deserialize;
use serde_json::{Value, json};

use super::address::Address;
use super::error::{Failure, classify};
use super::http::{HttpError, TlsSettings, Transport, sensitive_header};
use super::mounts::MountCache;
use super::{Secret, VaultError, VaultSettings};

/// The `auth` part of a login's or renewal's answer.
#[derive(Deserialize)]
struct AuthAnswer {
    auth: Auth,
}

/// A token as Vault granted it. No `Debug`: it holds the token.
#[derive(Deserialize)]
struct Auth {
    client_token: String,
    #[serde(default)]
    accessor: String,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
}

/// How long the current token is good for, as Vault granted it.
#[derive(Debug, Clone, Copy)]
struct Lease {
    obtained: Instant,
    /// Zero for a token given as is: its lifetime is not known, and it is used as long as it
    /// works.
    ttl: Duration,
    /// The TTL the login granted; a renewal that gets much less is nearing the token's maximum.
    granted: Duration,
    renewable: bool,
}

impl Lease {
    fn unknown() -> Self {
        Self {
            obtained: Instant::now(),
            ttl: Duration::ZERO,
            granted: Duration::ZERO,
            renewable: false,
        }
    }

    fn from_auth(auth: &Auth) -> Self {
        let ttl = Duration::from_secs(auth.lease_duration);
        Self {
            obtained: Instant::now(),
            ttl,
            granted: ttl,
            renewable: auth.renewable,
        }
    }
}

/// A connected, authenticated Vault client. Cheap to clone: clones share one HTTP connection
/// pool and one token.
#[derive(Clone)]
pub struct VaultClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// Sends the token, once there is one.
    http: Transport,
    lease: Mutex<Lease>,
    /// The login's token accessor: not a credential, but it names the token in Vault's API.
    accessor: Option<String>,
    address: String,
    namespace: Option<String>,
    /// What each mount used so far is, asked once.
    mounts: MountCache,
}

impl fmt::Debug for VaultClient {
    // Only fields that cannot hold the token.
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
    /// With a login configured (AppRole, JWT or Kubernetes) this logs in once (one request) and
    /// uses the token it returns; with only a token it makes no request at all, so a bad token shows up on the
    /// first operation as [`VaultError::PermissionDenied`]. Fails with
    /// [`VaultError::MissingCredentials`] when neither is set.
    pub async fn connect(settings: &VaultSettings) -> Result<Self, VaultError> {
        let address =
            Address::parse(&settings.address).map_err(|reason| VaultError::InvalidAddress {
                address: settings.address.clone(),
                reason,
            })?;
        let token = settings.token.as_ref().filter(|t| !t.is_empty());
        let has_login =
            settings.approle.is_some() || settings.jwt.is_some() || settings.kubernetes.is_some();
        if !has_login && token.is_none() {
            return Err(VaultError::MissingCredentials);
        }
        // Refused here, by name, rather than on the first request.
        let token = match token {
            Some(token) => Some(header_value(token.expose(), "token")?),
            None => None,
        };
        let namespace = match settings.namespace.as_deref() {
            Some(namespace) => Some(header_value(namespace, "namespace")?),
            None => None,
        };
        let tls = TlsSettings {
            ca_file: settings.ca_cert_file.as_deref(),
            skip_verify: settings.skip_tls_verify,
        };
        // HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY, as curl reads them.
        let proxies = Matcher::from_env();
        let anonymous = Transport::new(address, namespace, &tls, proxies, settings.request_timeout)
            .map_err(|source| VaultError::BuildClient {
                address: settings.address.clone(),
                source,
            })?;
        let mut client = Inner {
            http: match token {
                Some(token) => anonymous.with_token(token),
                None => anonymous.clone(),
            },
            lease: Mutex::new(Lease::unknown()),
            accessor: None,
            address: settings.address.clone(),
            namespace: settings.namespace.clone(),
            mounts: MountCache::default(),
        };
        // A login sends no token: an ambient one must not decide whose login it is.
        if let Some(auth) = client.log_in(&anonymous, settings).await? {
            let token = header_value(&auth.client_token, "token")?;
            client.http = anonymous.with_token(token);
            client.lease = Mutex::new(Lease::from_auth(&auth));
            client.accessor = Some(auth.accessor);
        }
        Ok(Self {
            inner: Arc::new(client),
        })
    }

    /// True when the token has used two thirds of its TTL: time to renew it or log in again.
    /// Never for a token given as is, whose TTL is not known.
    pub fn needs_refresh(&self, now: Instant) -> bool {
        let lease = self.lease();
        !lease.ttl.is_zero() && now.duration_since(lease.obtained) >= lease.ttl * 2 / 3
    }

    /// True when Vault said the token can be renewed.
    pub fn renewable(&self) -> bool {
        self.lease().renewable
    }

    /// The accessor of the token a login returned (none for a token given as is).
    pub fn accessor(&self) -> Option<&str> {
        self.inner.accessor.as_deref()
    }

    /// Renews the token (`auth/token/renew-self`). Returns false when Vault granted less than
    /// a third of the login's TTL: the token nears its maximum TTL, so a new login is due.
    pub async fn renew(&self) -> Result<bool, VaultError> {
        let path = "auth/token/renew-self";
        let fail = |source| {
            self.fail(
                "renew the token at",
                path.to_owned(),
                source,
                |_, source| VaultError::RenewToken { source },
            )
        };
        let answer = self
            .inner
            .http
            .send(Method::POST, path, Some(&json!({})))
            .await
            .map_err(fail)?;
        let auth = decode_auth(answer).map_err(fail)?;
        let granted = self.lease().granted;
        let mut renewed = Lease::from_auth(&auth);
        renewed.granted = granted;
        if let Ok(mut lease) = self.inner.lease.lock() {
            *lease = renewed;
        }
        tracing::debug!(ttl_seconds = auth.lease_duration, "renewed the Vault token");
        Ok(renewed.ttl >= granted / 3)
    }

    fn lease(&self) -> Lease {
        self.inner
            .lease
            .lock()
            .map(|l| *l)
            .unwrap_or_else(|_| Lease::unknown())
    }

    /// The Vault address this client talks to.
    pub fn address(&self) -> &str {
        &self.inner.address
    }

    /// The transport, carrying the token, for the calls.
    pub(super) fn http(&self) -> &Transport {
        &self.inner.http
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
        source: HttpError,
        other: impl FnOnce(String, Box<HttpError>) -> VaultError,
    ) -> VaultError {
        self.inner.fail(action, path, source, other)
    }
}

impl Inner {
    /// Logs in with the configured method, if any: AppRole, then JWT, then Kubernetes (the
    /// provider allows only one). `None` means the token is used as given.
    async fn log_in(
        &self,
        anonymous: &Transport,
        settings: &VaultSettings,
    ) -> Result<Option<Auth>, VaultError> {
        // The request body holds the credential: it is built here and never logged.
        let (method, mount, body) = if let Some(approle) = &settings.approle {
            let body = json!({
                "role_id": approle.role_id,
                "secret_id": approle.secret_id.expose(),
            });
            ("AppRole", &approle.mount, body)
        } else if let Some(jwt) = &settings.jwt {
            let body = json!({"role": jwt.role, "jwt": jwt.jwt.expose()});
            ("JWT", &jwt.mount, body)
        } else if let Some(kubernetes) = &settings.kubernetes {
            // Read at every login: the kubelet rotates projected service-account tokens.
            let jwt = std::fs::read_to_string(&kubernetes.jwt_file).map_err(|source| {
                VaultError::ReadJwtFile {
                    path: kubernetes.jwt_file.clone(),
                    source,
                }
            })?;
            let jwt = Secret::new(jwt.trim());
            let body = json!({"role": kubernetes.role, "jwt": jwt.expose()});
            ("Kubernetes", &kubernetes.mount, body)
        } else {
            return Ok(None);
        };
        let login_path = format!("auth/{mount}/login");
        tracing::debug!(address = %self.address, path = %login_path, method, "Vault login");
        let result = anonymous
            .send(Method::POST, &login_path, Some(&body))
            .await
            .and_then(decode_auth);
        result.map(Some).map_err(|source| match classify(&source) {
            // A refused login is not "the token lacks permission": there is no token yet.
            Failure::Unreachable | Failure::TimedOut => {
                self.fail("log in at", login_path, source, |_, source| {
                    VaultError::Login {
                        method,
                        mount: mount.clone(),
                        source,
                    }
                })
            }
            _ if method == "AppRole" => VaultError::AppRoleLogin {
                mount: mount.clone(),
                source: Box::new(source),
            },
            _ => VaultError::Login {
                method,
                mount: mount.clone(),
                source: Box::new(source),
            },
        })
    }

    fn fail(
        &self,
        action: &'static str,
        path: String,
        source: HttpError,
        other: impl FnOnce(String, Box<HttpError>) -> VaultError,
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
                timeout: self.http.timeout(),
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

/// `value` as a sensitive header value, refused by name when a header cannot carry it.
fn header_value(value: &str, what: &'static str) -> Result<::http::HeaderValue, VaultError> {
    Some(value)
        .filter(|v| header_safe(v))
        .and_then(sensitive_header)
        .ok_or(VaultError::InvalidHeaderValue { what })
}

/// Whether `value` can be sent as an HTTP header value: visible ASCII, spaces and tabs.
fn header_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

/// The `auth` of a login's or renewal's answer.
fn decode_auth(answer: Value) -> Result<Auth, HttpError> {
    serde_json::from_value::<AuthAnswer>(answer)
        .map(|answer| answer.auth)
        .map_err(HttpError::Decode)
}

#[cfg(test)]
mod tests {
    use super::*;

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
