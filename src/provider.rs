//! The `konoha` provider: its configuration block, the resources it offers, and the clients
//! they share.
//!
//! Configuration is handled in two stages. [`resolve_vault`] turns the raw block (which may hold
//! unknown values during plan) into settings, with no I/O; the Vault client is built from those
//! settings on first use, so that `terraform plan` of a configuration whose provider block
//! depends on other resources still works, and a plan that needs no remote call makes none.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::clients::{Clients, VaultConfig};
use crate::framework::{
    Attribute, Block, ConfigureRequest, DataSource, NestedBlock, Provider, Resource, Schema,
};
use crate::kube::KubeSettings;
use crate::resources;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};
use crate::vault::{AppRoleLogin, Secret, VaultSettings};

/// How long one Vault request may take before it fails.
const VAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The Konoha provider.
#[derive(Debug, Default)]
pub struct Konoha {
    clients: Arc<Clients>,
}

impl Konoha {
    /// A provider not yet configured.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Provider for Konoha {
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("Konoha: Spark executor profiles in Vault, Kyuubi servers on Kubernetes.")
                .block(vault_block())
                .block(kubernetes_block()),
        )
    }

    fn validate_config(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let approle = config.attr("vault").attr("auth_login_approle");
        if !approle.is_null() {
            for field in ["role_id", "secret_id"] {
                if approle.attr(field).as_str() == Some("") {
                    diags.push(
                        Diagnostic::error(
                            "Invalid AppRole login",
                            format!("{field} must not be empty."),
                        )
                        .at(AttributePath::parse_dotted(&format!(
                            "vault.auth_login_approle.{field}"
                        ))),
                    );
                }
            }
        }
        if let Some(address) = config.attr("vault").attr("address").as_str()
            && !(address.starts_with("http://") || address.starts_with("https://"))
        {
            diags.push(
                Diagnostic::error(
                    "Invalid Vault address",
                    format!("vault.address must be an http:// or https:// URL, got {address:?}."),
                )
                .at(AttributePath::parse_dotted("vault.address")),
            );
        }
        diags
    }

    async fn configure(&self, req: ConfigureRequest) -> Result<(), Diagnostics> {
        let vault = resolve_vault(req.config.attr("vault"), &|name| std::env::var(name).ok());
        tracing::debug!(terraform_version = %req.terraform_version, "provider configured");
        self.clients
            .configure(vault, resolve_kube(req.config.attr("kubernetes")));
        Ok(())
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![
            Arc::new(resources::spark_profile::SparkProfile::new(
                self.clients.clone(),
            )),
            Arc::new(resources::kyuubi_server::KyuubiServer::new(
                self.clients.clone(),
            )),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![
            Arc::new(resources::spark_profile_data::SparkProfileData::new(
                self.clients.clone(),
            )),
            Arc::new(resources::kyuubi_server_data::KyuubiServerData::new(
                self.clients.clone(),
            )),
        ]
    }
}

fn vault_block() -> NestedBlock {
    NestedBlock::single(
        "vault",
        Block::new(
            "Where the Spark profiles are stored: a Vault or OpenBao server with a KV v2 mount.",
        )
        .attribute(Attribute::string("address").optional().description(
            "The Vault server's URL, e.g. `https://vault.example.com:8200`. Defaults to the \
                 `VAULT_ADDR` environment variable.",
        ))
        .attribute(
            Attribute::string("token")
                .optional()
                .sensitive()
                .description(
                    "The token to authenticate with. Defaults to the `VAULT_TOKEN` environment \
                 variable. Not needed with `auth_login_approle`.",
                ),
        )
        .attribute(Attribute::string("namespace").optional().description(
            "The Vault Enterprise or OpenBao namespace to work in. Defaults to the \
                 `VAULT_NAMESPACE` environment variable.",
        ))
        .attribute(Attribute::string("ca_cert_file").optional().description(
            "A PEM file with the CA certificate(s) that sign the Vault server's certificate. \
                 Defaults to the `VAULT_CACERT` environment variable.",
        ))
        .attribute(Attribute::bool("skip_tls_verify").optional().description(
            "Do not verify the Vault server's TLS certificate. For development only. \
                 Defaults to `false`, or the `VAULT_SKIP_VERIFY` environment variable.",
        ))
        .block(NestedBlock::single(
            "auth_login_approle",
            Block::new("Log in with AppRole instead of a token.")
                .attribute(
                    Attribute::string("role_id")
                        .required()
                        .description("The AppRole role ID."),
                )
                .attribute(
                    Attribute::string("secret_id")
                        .required()
                        .sensitive()
                        .description("The AppRole secret ID."),
                )
                .attribute(Attribute::string("mount").optional().description(
                    "The path the AppRole auth method is mounted at. Defaults to `approle`.",
                )),
        )),
    )
}

fn kubernetes_block() -> NestedBlock {
    NestedBlock::single(
        "kubernetes",
        Block::new("The Kubernetes cluster that runs the Kyuubi servers.")
            .attribute(Attribute::string("config_path").optional().description(
                "A kubeconfig file. Defaults to the `KUBE_CONFIG_PATH` or `KUBECONFIG` \
                 environment variable.",
            ))
            .attribute(Attribute::string("config_context").optional().description(
                "The kubeconfig context to use. Defaults to the file's current context.",
            ))
            .attribute(Attribute::string("host").optional().description(
                "The API server's URL, when not using a kubeconfig file.",
            ))
            .attribute(Attribute::string("token").optional().sensitive().description(
                "A bearer token for the API server, when not using a kubeconfig file.",
            ))
            .attribute(Attribute::string("cluster_ca_certificate").optional().description(
                "The PEM CA certificate of the API server, when not using a kubeconfig file.",
            ))
            .attribute(Attribute::bool("insecure").optional().description(
                "Do not verify the API server's TLS certificate. For development only.",
            )),
    )
}

/// Resolves the `vault` block. Each setting comes from the attribute when set, else from its
/// environment variable (`VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_NAMESPACE`, `VAULT_CACERT`,
/// `VAULT_SKIP_VERIFY`), else from its default.
pub fn resolve_vault(block: &Value, env: &dyn Fn(&str) -> Option<String>) -> VaultConfig {
    if !block.is_wholly_known() {
        return VaultConfig::Unknown;
    }
    let pick = |attr: &str, var: &str| {
        block
            .attr(attr)
            .as_str()
            .map(str::to_owned)
            .or_else(|| env(var).filter(|v| !v.is_empty()))
    };
    let Some(address) = pick("address", "VAULT_ADDR") else {
        return VaultConfig::Missing(
            "No Vault address: set vault.address in the provider block or VAULT_ADDR.".to_owned(),
        );
    };
    let approle = block.attr("auth_login_approle");
    let approle = (!approle.is_null()).then(|| AppRoleLogin {
        role_id: approle
            .attr("role_id")
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        secret_id: Secret::new(approle.attr("secret_id").as_str().unwrap_or_default()),
        mount: approle
            .attr("mount")
            .as_str()
            .unwrap_or("approle")
            .to_owned(),
    });
    let skip_tls_verify = block.attr("skip_tls_verify").as_bool().unwrap_or_else(|| {
        env("VAULT_SKIP_VERIFY")
            .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "TRUE" | "True"))
    });
    VaultConfig::Ready(VaultSettings {
        address,
        token: pick("token", "VAULT_TOKEN").map(Secret::new),
        namespace: pick("namespace", "VAULT_NAMESPACE"),
        ca_cert_file: pick("ca_cert_file", "VAULT_CACERT").map(PathBuf::from),
        skip_tls_verify,
        approle,
        request_timeout: VAULT_REQUEST_TIMEOUT,
    })
}

/// The `kubernetes` block as client settings, or `None` while a value is unknown. Where the
/// block is silent, `crate::kube::resolve_source` falls back to `KUBE_CONFIG_PATH`,
/// `KUBECONFIG`, the in-cluster service account and `~/.kube/config`, in that order.
pub fn resolve_kube(block: &Value) -> Option<KubeSettings> {
    if !block.is_wholly_known() {
        return None;
    }
    let text = |name: &str| block.attr(name).as_str().map(str::to_owned);
    Some(KubeSettings {
        config_path: text("config_path").map(PathBuf::from),
        config_context: text("config_context"),
        host: text("host"),
        token: text("token").map(crate::kube::Secret::new),
        cluster_ca_certificate: text("cluster_ca_certificate"),
        insecure: block.attr("insecure").as_bool().unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn block(pairs: &[(&str, Value)]) -> Value {
        let mut map: BTreeMap<String, Value> = [
            "address",
            "token",
            "namespace",
            "ca_cert_file",
            "skip_tls_verify",
            "auth_login_approle",
        ]
        .into_iter()
        .map(|k| (k.to_owned(), Value::Null))
        .collect();
        for (k, v) in pairs {
            map.insert((*k).to_owned(), v.clone());
        }
        Value::Map(map)
    }

    #[test]
    fn attributes_win_over_environment() {
        let config = resolve_vault(
            &block(&[("address", Value::string("http://a:8200"))]),
            &env(&[("VAULT_ADDR", "http://env:8200"), ("VAULT_TOKEN", "t0k")]),
        );
        let VaultConfig::Ready(s) = config else {
            panic!("not ready: {config:?}")
        };
        assert_eq!(s.address, "http://a:8200");
        assert_eq!(
            s.token.as_ref().map(|t| t.expose().to_owned()),
            Some("t0k".to_owned())
        );
    }

    #[test]
    fn unknown_and_missing_are_told_apart() {
        let unknown = resolve_vault(&block(&[("address", Value::Unknown)]), &env(&[]));
        assert!(matches!(unknown, VaultConfig::Unknown));
        let missing = resolve_vault(&Value::Null, &env(&[]));
        assert!(matches!(missing, VaultConfig::Missing(_)));
        let from_env = resolve_vault(&Value::Null, &env(&[("VAULT_ADDR", "http://e:1")]));
        assert!(matches!(from_env, VaultConfig::Ready(s) if s.address == "http://e:1"));
    }

    #[test]
    fn token_never_shows_in_debug() {
        let config = resolve_vault(
            &Value::Null,
            &env(&[("VAULT_ADDR", "http://e:1"), ("VAULT_TOKEN", "hunter2")]),
        );
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn each_configure_starts_fresh_clients() {
        let clients = Clients::default();
        let ready = |address: &'static str| resolve_vault(&Value::Null, &env_for(address));
        clients.configure(ready("http://127.0.0.1:1"), None);
        assert_eq!(
            clients.vault().await.unwrap().address(),
            "http://127.0.0.1:1"
        );
        clients.configure(ready("http://127.0.0.1:2"), None);
        assert_eq!(
            clients.vault().await.unwrap().address(),
            "http://127.0.0.1:2",
            "a reattached provider configured again must not keep the old client"
        );
        let unknown = clients.kube().await.unwrap_err();
        assert!(
            unknown
                .iter()
                .any(|d| d.summary == "Kubernetes settings not known yet")
        );
    }

    fn env_for(address: &'static str) -> impl Fn(&str) -> Option<String> {
        move |name| match name {
            "VAULT_ADDR" => Some(address.to_owned()),
            "VAULT_TOKEN" => Some("t".to_owned()),
            _ => None,
        }
    }
}
