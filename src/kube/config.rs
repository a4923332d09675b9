//! Turning a resolved [`ConfigSource`] into a kube-rs `Config`: kubeconfig file with context,
//! explicit host/token/CA, or the in-cluster service account.
//!
//! Reads files only; no request reaches the API server here (the client connects lazily).
//! Which source applies is decided in `settings.rs`.

use ::kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, KubeconfigError, NamedAuthInfo,
    NamedCluster, NamedContext,
};
use base64::Engine as _;

use super::error::KubeError;
use super::settings::{ConfigSource, KubeconfigOrigin, Secret};

/// Loads the kube-rs `Config` for a source (reads files, no network).
pub(crate) async fn load_config(source: &ConfigSource) -> Result<::kube::Config, KubeError> {
    match source {
        ConfigSource::Explicit {
            host,
            token,
            cluster_ca_certificate,
            insecure,
        } => {
            let kubeconfig = explicit_kubeconfig(
                host,
                token.as_ref(),
                cluster_ca_certificate.as_deref(),
                *insecure,
            );
            ::kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|source| KubeError::ExplicitConfig {
                    host: without_userinfo(host),
                    source,
                })
        }
        ConfigSource::Kubeconfig {
            path,
            context,
            origin,
        } => {
            let load_error = |source| KubeError::LoadConfig {
                path: path.clone(),
                origin: *origin,
                context: context.clone(),
                source,
            };
            let kubeconfig = match Kubeconfig::read_from(path) {
                Ok(kubeconfig) => kubeconfig,
                // The default file is only a guess: its absence means "nothing configured".
                Err(KubeconfigError::ReadConfig(io, _))
                    if *origin == KubeconfigOrigin::Home
                        && io.kind() == std::io::ErrorKind::NotFound =>
                {
                    return Err(KubeError::NoConfig);
                }
                Err(source) => return Err(load_error(source)),
            };
            let options = KubeConfigOptions {
                context: context.clone(),
                ..KubeConfigOptions::default()
            };
            ::kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(load_error)
        }
        ConfigSource::InCluster => {
            ::kube::Config::incluster().map_err(|source| KubeError::InCluster { source })
        }
    }
}

/// An in-memory kubeconfig for explicit settings, so that URL, CA and token go through the very
/// same kube-rs code (and checks) as a kubeconfig file.
fn explicit_kubeconfig(
    host: &str,
    token: Option<&Secret>,
    ca_pem: Option<&str>,
    insecure: bool,
) -> Kubeconfig {
    const NAME: &str = "konoha";
    let cluster = Cluster {
        server: Some(host.to_owned()),
        insecure_skip_tls_verify: Some(insecure),
        certificate_authority_data: ca_pem
            .map(|pem| base64::engine::general_purpose::STANDARD.encode(pem)),
        ..Cluster::default()
    };
    let user = AuthInfo {
        token: token.map(|t| secrecy::SecretString::from(t.expose())),
        ..AuthInfo::default()
    };
    Kubeconfig {
        clusters: vec![NamedCluster {
            name: NAME.to_owned(),
            cluster: Some(cluster),
            ..NamedCluster::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: NAME.to_owned(),
            auth_info: Some(user),
            ..NamedAuthInfo::default()
        }],
        contexts: vec![NamedContext {
            name: NAME.to_owned(),
            context: Some(Context {
                cluster: NAME.to_owned(),
                user: Some(NAME.to_owned()),
                ..Context::default()
            }),
            ..NamedContext::default()
        }],
        current_context: Some(NAME.to_owned()),
        ..Kubeconfig::default()
    }
}

pub(crate) fn source_name(source: &ConfigSource) -> &'static str {
    match source {
        ConfigSource::Explicit { .. } => "host",
        ConfigSource::Kubeconfig { .. } => "kubeconfig",
        ConfigSource::InCluster => "in-cluster",
    }
}

/// Drops `user:password@` from a URL so it can be shown.
pub(crate) fn without_userinfo(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    if scheme.is_empty() {
        rest.to_owned()
    } else {
        format!("{scheme}://{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::KubeClient;

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            without_userinfo("https://u:p@k8s:6443/x@y"),
            "https://k8s:6443/x@y"
        );
        assert_eq!(
            without_userinfo("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(without_userinfo("k8s:6443"), "k8s:6443");
    }

    #[tokio::test]
    async fn explicit_plain_http_host_builds_a_client() {
        let source = ConfigSource::Explicit {
            host: "http://127.0.0.1:8080".into(),
            token: Some(Secret::new("t")),
            cluster_ca_certificate: None,
            insecure: false,
        };
        let client = KubeClient::from_source(&source).await.unwrap();
        assert_eq!(client.host(), "http://127.0.0.1:8080/");
    }

    #[tokio::test]
    async fn explicit_settings_errors_name_the_host_not_the_token() {
        let source = ConfigSource::Explicit {
            host: "http://exa mple".into(),
            token: Some(Secret::new("never-shown")),
            cluster_ca_certificate: None,
            insecure: false,
        };
        let err = KubeClient::from_source(&source).await.unwrap_err();
        assert!(matches!(err, KubeError::ExplicitConfig { .. }), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("never-shown"));
        let bad_ca = ConfigSource::Explicit {
            host: "https://127.0.0.1:6443".into(),
            token: None,
            cluster_ca_certificate: Some(
                "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".into(),
            ),
            insecure: false,
        };
        let err = KubeClient::from_source(&bad_ca).await.unwrap_err();
        assert!(matches!(err, KubeError::ExplicitConfig { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn missing_default_kubeconfig_means_no_config_but_a_named_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        let home = ConfigSource::Kubeconfig {
            path: path.clone(),
            context: None,
            origin: KubeconfigOrigin::Home,
        };
        assert!(matches!(
            KubeClient::from_source(&home).await,
            Err(KubeError::NoConfig)
        ));
        let named = ConfigSource::Kubeconfig {
            path: path.clone(),
            context: None,
            origin: KubeconfigOrigin::KubeconfigEnv,
        };
        let err = KubeClient::from_source(&named).await.unwrap_err();
        assert!(matches!(err, KubeError::LoadConfig { .. }), "{err:?}");
        assert!(err.to_string().contains("(from KUBECONFIG)"), "{err}");
    }

    #[tokio::test]
    async fn kubeconfig_context_is_honoured() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: a\n\
             clusters:\n- name: a\n  cluster: {server: 'http://127.0.0.1:1111'}\n\
             - name: b\n  cluster: {server: 'http://127.0.0.1:2222'}\n\
             contexts:\n- name: a\n  context: {cluster: a}\n- name: b\n  context: {cluster: b}\n",
        )
        .unwrap();
        let source = |context: Option<&str>| ConfigSource::Kubeconfig {
            path: path.clone(),
            context: context.map(str::to_owned),
            origin: KubeconfigOrigin::ConfigPath,
        };
        let current = KubeClient::from_source(&source(None)).await.unwrap();
        assert_eq!(current.host(), "http://127.0.0.1:1111/");
        let chosen = KubeClient::from_source(&source(Some("b"))).await.unwrap();
        assert_eq!(chosen.host(), "http://127.0.0.1:2222/");
        let err = KubeClient::from_source(&source(Some("nope")))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("with context \"nope\""), "{err}");
    }
}
