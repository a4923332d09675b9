//! The remote clients the resources share: the settings of the last `configure` and the Vault
//! and Kubernetes clients built from them on first use.
//!
//! Below both the provider, which fills it from its configuration block, and the resources, which
//! take their clients from it. Turning the provider block into settings is
//! [`crate::provider`]'s job; the clients themselves live in [`crate::vault`] and [`crate::kube`].

use std::sync::{Arc, RwLock};

use tokio::sync::OnceCell;

use crate::kube::{KubeClient, KubeSettings};
use crate::tf::{Diagnostic, Diagnostics};
use crate::vault::{VaultClient, VaultSettings};

/// The Vault settings, or why there are none yet.
#[derive(Debug, Clone)]
pub enum VaultConfig {
    /// Fully known.
    Ready(VaultSettings),
    /// Some value is unknown until apply; calls must wait for the apply walk.
    Unknown,
    /// Nothing says where Vault is.
    Missing(String),
}

/// The remote clients the resources share, built on first use from the provider settings.
///
/// A provider process is normally configured once, but one served for `TF_REATTACH_PROVIDERS`
/// (`--debug`, the acceptance tests) is configured again by every Terraform command, possibly
/// with other settings: each `configure` therefore starts a fresh [`Connections`].
#[derive(Debug, Default)]
pub struct Clients {
    current: RwLock<Arc<Connections>>,
}

/// The settings of one `configure`, and the clients built from them on first use.
#[derive(Debug, Default)]
struct Connections {
    vault_config: Option<VaultConfig>,
    vault: OnceCell<VaultClient>,
    /// `None` while the `kubernetes` block holds unknown values.
    kube_settings: Option<KubeSettings>,
    kube: OnceCell<KubeClient>,
}

impl Clients {
    /// Starts fresh connections for the settings of one `configure`.
    pub(crate) fn configure(&self, vault_config: VaultConfig, kube_settings: Option<KubeSettings>) {
        let fresh = Arc::new(Connections {
            vault_config: Some(vault_config),
            kube_settings,
            ..Connections::default()
        });
        if let Ok(mut current) = self.current.write() {
            *current = fresh;
        }
    }

    fn connections(&self) -> Arc<Connections> {
        self.current
            .read()
            .map(|c| Arc::clone(&c))
            .unwrap_or_default()
    }

    /// The Kubernetes client, connecting on the first call.
    pub async fn kube(&self) -> Result<KubeClient, Diagnostics> {
        let connections = self.connections();
        let client = connections
            .kube
            .get_or_try_init(|| async {
                let Some(settings) = &connections.kube_settings else {
                    return Err(Diagnostic::error(
                        "Kubernetes settings not known yet",
                        "The provider's kubernetes block depends on values known only after \
                         apply. Apply the resources it depends on first, e.g. with -target.",
                    )
                    .into());
                };
                KubeClient::connect(settings).await.map_err(|e| {
                    Diagnostics::from(Diagnostic::error(
                        "Unable to connect to Kubernetes",
                        crate::tf::error_chain(&e),
                    ))
                })
            })
            .await?;
        Ok(client.clone())
    }

    /// The Vault client, connecting (and logging in) on the first call.
    pub async fn vault(&self) -> Result<VaultClient, Diagnostics> {
        let connections = self.connections();
        let client = connections
            .vault
            .get_or_try_init(|| async {
                let config = connections
                    .vault_config
                    .clone()
                    .unwrap_or(VaultConfig::Missing(
                        "The provider was not configured before use.".to_owned(),
                    ));
                let settings = match config {
                    VaultConfig::Ready(settings) => settings,
                    VaultConfig::Unknown => {
                        return Err(Diagnostic::error(
                            "Vault settings not known yet",
                            "The provider's vault block depends on values known only after \
                             apply. Apply the resources it depends on first, e.g. with \
                             -target.",
                        )
                        .into());
                    }
                    VaultConfig::Missing(why) => {
                        return Err(Diagnostic::error("Vault is not configured", why).into());
                    }
                };
                VaultClient::connect(&settings).await.map_err(|e| {
                    Diagnostics::from(Diagnostic::error(
                        "Unable to connect to Vault",
                        crate::tf::error_chain(&e),
                    ))
                })
            })
            .await?;
        Ok(client.clone())
    }
}
