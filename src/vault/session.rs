//! [`VaultSession`]: the provider's one Vault client over a provider process's life, kept
//! logged in.
//!
//! Each call to [`VaultSession::client`] hands out the current client, first renewing its
//! token once two thirds of the TTL are used (when Vault says it is renewable), or logging in
//! again when renewal is refused, impossible or nearly exhausted. Operations start with a
//! fresh-enough token, so a token that would expire during a long apply never fails it. A token
//! given as is has no known TTL and is used as long as it works.

use std::time::Instant;

use tokio::sync::Mutex;

use super::{VaultClient, VaultError, VaultSettings};

/// A Vault client that renews its token or logs in again as needed.
#[derive(Debug)]
pub struct VaultSession {
    settings: VaultSettings,
    current: Mutex<Option<VaultClient>>,
}

impl VaultSession {
    /// A session for `settings`; it connects on the first [`VaultSession::client`].
    pub fn new(settings: VaultSettings) -> Self {
        Self {
            settings,
            current: Mutex::new(None),
        }
    }

    /// The client, connected (and logged in) on the first call, with its token renewed or
    /// replaced when it nears expiry.
    pub async fn client(&self) -> Result<VaultClient, VaultError> {
        let mut current = self.current.lock().await;
        if let Some(client) = current.as_ref() {
            if !client.needs_refresh(Instant::now()) {
                return Ok(client.clone());
            }
            if client.renewable() {
                match client.renew().await {
                    Ok(true) => return Ok(client.clone()),
                    Ok(false) => tracing::debug!("the Vault token nears its maximum TTL"),
                    Err(error) => tracing::debug!(%error, "the Vault token was not renewed"),
                }
            }
            if !self.has_login() {
                // Nothing to log in with: keep the token Terraform was given.
                return Ok(client.clone());
            }
            tracing::debug!("logging in to Vault again for a new token");
        }
        let fresh = VaultClient::connect(&self.settings).await?;
        *current = Some(fresh.clone());
        Ok(fresh)
    }

    fn has_login(&self) -> bool {
        let s = &self.settings;
        s.approle.is_some() || s.jwt.is_some() || s.kubernetes.is_some()
    }
}
