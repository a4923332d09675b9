//! Where the Kubernetes connection comes from: provider settings, environment, defaults.
//!
//! Pure: nothing here reads files or the process environment (the caller passes a lookup), so
//! the order of precedence is unit-tested. Loading the chosen source is in `client.rs`.

use std::fmt;
use std::path::PathBuf;

use super::KubeError;

pub use crate::secret::Secret;

/// The provider's `kubernetes { … }` block, validated but not yet resolved.
///
/// Empty strings count as unset, because Terraform hands over `""` for attributes set from an
/// empty variable. `Debug` is safe to log: the token is a [`Secret`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeSettings {
    /// A kubeconfig file to use instead of the environment's.
    pub config_path: Option<PathBuf>,
    /// The kubeconfig context to use instead of its `current-context`.
    pub config_context: Option<String>,
    /// API server URL, e.g. `https://10.0.0.1:6443`; when set, kubeconfig files are ignored.
    pub host: Option<String>,
    /// Bearer token sent to `host`.
    pub token: Option<Secret>,
    /// PEM certificate(s) of the CA that signed `host`'s certificate.
    pub cluster_ca_certificate: Option<String>,
    /// Skip verifying `host`'s certificate (test clusters only).
    pub insecure: bool,
}

/// Which environment setting pointed at a kubeconfig file; said in errors so the user knows
/// which knob to turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubeconfigOrigin {
    /// The provider's `config_path`.
    ConfigPath,
    /// The `KUBE_CONFIG_PATH` environment variable (the Terraform kubernetes provider's).
    KubeConfigPathEnv,
    /// The `KUBECONFIG` environment variable (kubectl's).
    KubeconfigEnv,
    /// The default `~/.kube/config`.
    Home,
}

impl fmt::Display for KubeconfigOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KubeconfigOrigin::ConfigPath => "config_path",
            KubeconfigOrigin::KubeConfigPathEnv => "KUBE_CONFIG_PATH",
            KubeconfigOrigin::KubeconfigEnv => "KUBECONFIG",
            KubeconfigOrigin::Home => "the default ~/.kube/config",
        })
    }
}

/// Where the connection settings come from, once precedence has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// Explicit `host`, with token, CA and `insecure` from the settings.
    Explicit {
        /// API server URL.
        host: String,
        /// Bearer token.
        token: Option<Secret>,
        /// PEM CA certificate(s).
        cluster_ca_certificate: Option<String>,
        /// Skip server certificate verification.
        insecure: bool,
    },
    /// A kubeconfig file, with an optional context overriding its `current-context`.
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// The context to use, if not the file's current one.
        context: Option<String>,
        /// Which setting chose the file.
        origin: KubeconfigOrigin,
    },
    /// The pod's service account (`KUBERNETES_SERVICE_HOST`/`_PORT` and the mounted token).
    InCluster,
}

/// Picks the connection source. The first that applies wins:
///
/// 1. `host` set: connect there with `token`, `cluster_ca_certificate` and `insecure`;
/// 2. `config_path` set: that kubeconfig file;
/// 3. `KUBE_CONFIG_PATH` (what the Terraform kubernetes provider reads);
/// 4. `KUBECONFIG`: its **first** path only. kubectl merges every file of the colon-separated
///    list; we take the first non-empty entry so that one file decides everything (server,
///    credentials, context) and an error can name it. Users who rely on merging should point
///    `config_path` at a merged file (`kubectl config view --flatten`);
/// 5. `KUBERNETES_SERVICE_HOST` set: the in-cluster service account;
/// 6. `$HOME/.kube/config` (connecting reports [`KubeError::NoConfig`] if that file is missing);
/// 7. otherwise (no `HOME` either) [`KubeError::NoConfig`].
///
/// `config_context` applies to every kubeconfig source (2, 3, 4, 6). `token`,
/// `cluster_ca_certificate` and `insecure` apply only with `host`. Empty values count as unset.
/// `env` looks up an environment variable (`|k| std::env::var(k).ok()` in production).
pub fn resolve_source(
    settings: &KubeSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ConfigSource, KubeError> {
    let env = |key: &str| env(key).filter(|v| !v.is_empty());
    if let Some(host) = settings.host.as_ref().filter(|h| !h.is_empty()) {
        return Ok(ConfigSource::Explicit {
            host: host.clone(),
            token: settings.token.clone().filter(|t| !t.expose().is_empty()),
            cluster_ca_certificate: settings
                .cluster_ca_certificate
                .clone()
                .filter(|c| !c.trim().is_empty()),
            insecure: settings.insecure,
        });
    }
    let context = settings.config_context.clone().filter(|c| !c.is_empty());
    let kubeconfig = |path: PathBuf, origin| ConfigSource::Kubeconfig {
        path,
        context: context.clone(),
        origin,
    };
    if let Some(path) = settings
        .config_path
        .as_ref()
        .filter(|p| !p.as_os_str().is_empty())
    {
        return Ok(kubeconfig(path.clone(), KubeconfigOrigin::ConfigPath));
    }
    if let Some(path) = env("KUBE_CONFIG_PATH") {
        return Ok(kubeconfig(path.into(), KubeconfigOrigin::KubeConfigPathEnv));
    }
    if let Some(first) = env("KUBECONFIG")
        .as_deref()
        .and_then(|list| list.split(':').find(|p| !p.is_empty()))
    {
        return Ok(kubeconfig(first.into(), KubeconfigOrigin::KubeconfigEnv));
    }
    if env("KUBERNETES_SERVICE_HOST").is_some() {
        return Ok(ConfigSource::InCluster);
    }
    if let Some(home) = env("HOME") {
        let path = PathBuf::from(home).join(".kube").join("config");
        return Ok(kubeconfig(path, KubeconfigOrigin::Home));
    }
    Err(KubeError::NoConfig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    const FULL_ENV: &[(&str, &str)] = &[
        ("KUBE_CONFIG_PATH", "/env/kube-config-path"),
        ("KUBECONFIG", "/env/first:/env/second"),
        ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
        ("HOME", "/home/sre"),
    ];

    fn kubeconfig(path: &str, origin: KubeconfigOrigin) -> ConfigSource {
        ConfigSource::Kubeconfig {
            path: path.into(),
            context: None,
            origin,
        }
    }

    #[test]
    fn host_wins_over_everything_and_carries_its_credentials() {
        let settings = KubeSettings {
            host: Some("https://10.0.0.1:6443".into()),
            token: Some(Secret::new("t0k3n")),
            cluster_ca_certificate: Some("-----BEGIN CERTIFICATE-----".into()),
            insecure: true,
            config_path: Some("/explicit".into()),
            config_context: Some("ctx".into()),
        };
        let source = resolve_source(&settings, &env_of(FULL_ENV)).unwrap();
        assert_eq!(
            source,
            ConfigSource::Explicit {
                host: "https://10.0.0.1:6443".into(),
                token: Some(Secret::new("t0k3n")),
                cluster_ca_certificate: Some("-----BEGIN CERTIFICATE-----".into()),
                insecure: true,
            }
        );
    }

    #[test]
    fn precedence_steps_down_one_source_at_a_time() {
        let settings = KubeSettings {
            config_path: Some("/explicit".into()),
            ..KubeSettings::default()
        };
        let resolve =
            |s: &KubeSettings, env: &[(&str, &str)]| resolve_source(s, &env_of(env)).unwrap();
        assert_eq!(
            resolve(&settings, FULL_ENV),
            kubeconfig("/explicit", KubeconfigOrigin::ConfigPath)
        );
        let none = KubeSettings::default();
        assert_eq!(
            resolve(&none, FULL_ENV),
            kubeconfig("/env/kube-config-path", KubeconfigOrigin::KubeConfigPathEnv)
        );
        assert_eq!(
            resolve(&none, &FULL_ENV[1..]),
            kubeconfig("/env/first", KubeconfigOrigin::KubeconfigEnv)
        );
        assert_eq!(resolve(&none, &FULL_ENV[2..]), ConfigSource::InCluster);
        assert_eq!(
            resolve(&none, &FULL_ENV[3..]),
            kubeconfig("/home/sre/.kube/config", KubeconfigOrigin::Home)
        );
        assert!(matches!(
            resolve_source(&none, &env_of(&[])),
            Err(KubeError::NoConfig)
        ));
    }

    #[test]
    fn empty_values_count_as_unset() {
        let settings = KubeSettings {
            host: Some(String::new()),
            config_path: Some(PathBuf::new()),
            config_context: Some(String::new()),
            ..KubeSettings::default()
        };
        let env = env_of(&[
            ("KUBE_CONFIG_PATH", ""),
            ("KUBECONFIG", "::/env/third:"),
            ("HOME", "/h"),
        ]);
        assert_eq!(
            resolve_source(&settings, &env).unwrap(),
            kubeconfig("/env/third", KubeconfigOrigin::KubeconfigEnv)
        );
        // A lone token or an empty CA on an explicit host is dropped, not sent.
        let explicit = KubeSettings {
            host: Some("http://127.0.0.1:8080".into()),
            token: Some(Secret::new("")),
            cluster_ca_certificate: Some("  \n".into()),
            ..KubeSettings::default()
        };
        assert_eq!(
            resolve_source(&explicit, &env_of(&[])).unwrap(),
            ConfigSource::Explicit {
                host: "http://127.0.0.1:8080".into(),
                token: None,
                cluster_ca_certificate: None,
                insecure: false,
            }
        );
    }

    #[test]
    fn context_applies_to_every_kubeconfig_source() {
        let settings = KubeSettings {
            config_context: Some("staging".into()),
            ..KubeSettings::default()
        };
        for env in [FULL_ENV, &FULL_ENV[1..], &FULL_ENV[3..]] {
            match resolve_source(&settings, &env_of(env)).unwrap() {
                ConfigSource::Kubeconfig { context, .. } => {
                    assert_eq!(context.as_deref(), Some("staging"));
                }
                other => panic!("expected a kubeconfig source, got {other:?}"),
            }
        }
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let settings = KubeSettings {
            host: Some("https://k8s".into()),
            token: Some(Secret::new("super-secret-token")),
            ..KubeSettings::default()
        };
        let shown = format!("{settings:?} {:?}", resolve_source(&settings, &env_of(&[])));
        assert!(!shown.contains("super-secret-token"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
