//! The Kubernetes client: connect from a [`ConfigSource`], then apply, get, delete and list
//! objects as dynamic JSON.
//!
//! Requests go through kube-rs's `Client` (auth, TLS, retries on 429/503/504) with paths built
//! from kube's dynamic `ApiResource`; bodies stay `serde_json::Value` end to end, so what the
//! server answered reaches the caller unchanged. Rollout waiting and drift judgement live with
//! the resources; this file does one request per call (plus list pagination).

use std::fmt;

use ::kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, KubeconfigError, NamedAuthInfo,
    NamedCluster, NamedContext,
};
use ::kube::core::params::{DeleteParams, ListParams, Patch, PatchParams, PropagationPolicy};
use ::kube::core::{ApiResource, Request};
use base64::Engine as _;
use serde_json::Value;

use super::error::{Action, KubeError, request_failed};
use super::events::{Event, sort_events};
use super::object::{Kind, ObjectRef, api_resource, collection_path};
use super::settings::{ConfigSource, KubeSettings, KubeconfigOrigin, Secret, resolve_source};

/// How many items one list page asks for; larger collections are fetched page by page.
const PAGE_SIZE: u32 = 500;

/// A connected Kubernetes client. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct KubeClient {
    client: ::kube::Client,
    /// API server URL without credentials, for error messages.
    host: String,
}

impl fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeClient")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl KubeClient {
    /// Resolves `settings` against the process environment (see [`resolve_source`]) and builds
    /// a client. No request is made yet: an unreachable server shows on the first call.
    pub async fn connect(settings: &KubeSettings) -> Result<KubeClient, KubeError> {
        let source = resolve_source(settings, &|key| std::env::var(key).ok())?;
        KubeClient::from_source(&source).await
    }

    /// Builds a client for an already resolved source.
    pub async fn from_source(source: &ConfigSource) -> Result<KubeClient, KubeError> {
        let config = load_config(source).await?;
        let host = without_userinfo(&config.cluster_url.to_string());
        tracing::debug!(%host, source = source_name(source), "kubernetes client configured");
        let client = ::kube::Client::try_from(config).map_err(|source| KubeError::Client {
            host: host.clone(),
            source,
        })?;
        Ok(KubeClient { client, host })
    }

    /// The API server URL this client talks to (never with credentials).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Server-side apply of `body` to `obj` as `field_manager`; with `force`, takes over fields
    /// other managers own instead of failing with a conflict. Returns the object the server
    /// answered with (including `managedFields`). An unchanged apply is a no-op on the server:
    /// `resourceVersion` and `generation` stay.
    pub async fn apply(
        &self,
        obj: &ObjectRef,
        body: &Value,
        field_manager: &str,
        force: bool,
    ) -> Result<Value, KubeError> {
        tracing::debug!(object = %obj, field_manager, force, "apply");
        let mut params = PatchParams::apply(field_manager);
        params.force = force;
        let request = Request::new(obj.collection_path())
            .patch(&obj.name, &params, &Patch::Apply(body))
            .map_err(::kube::Error::BuildRequest);
        match request {
            Ok(request) => self.client.request::<Value>(request).await,
            Err(error) => Err(error),
        }
        .map_err(|e| self.failed(Action::Apply, obj.to_string(), e))
    }

    /// Reads `obj`; `None` when the server answers 404.
    pub async fn get_opt(&self, obj: &ObjectRef) -> Result<Option<Value>, KubeError> {
        tracing::debug!(object = %obj, "get");
        let request = Request::new(obj.collection_path())
            .get(&obj.name, &Default::default())
            .map_err(::kube::Error::BuildRequest);
        let result = match request {
            Ok(request) => self.client.request::<Value>(request).await,
            Err(error) => Err(error),
        };
        match result {
            Ok(object) => Ok(Some(object)),
            Err(::kube::Error::Api(status)) if status.code == 404 => Ok(None),
            Err(error) => Err(self.failed(Action::Get, obj.to_string(), error)),
        }
    }

    /// Deletes `obj` with background propagation, so a Deployment's ReplicaSets and Pods are
    /// removed by the garbage collector after it. Returns whether the object existed (a 404 is
    /// `Ok(false)`). The object may still be terminating when this returns.
    pub async fn delete(&self, obj: &ObjectRef) -> Result<bool, KubeError> {
        tracing::debug!(object = %obj, "delete");
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        let request = Request::new(obj.collection_path())
            .delete(&obj.name, &params)
            .map_err(::kube::Error::BuildRequest);
        let result = match request {
            Ok(request) => self.client.request::<Value>(request).await,
            Err(error) => Err(error),
        };
        match result {
            Ok(_) => Ok(true),
            Err(::kube::Error::Api(status)) if status.code == 404 => Ok(false),
            Err(error) => Err(self.failed(Action::Delete, obj.to_string(), error)),
        }
    }

    /// Lists the objects of `kind` in `namespace` matching `label_selector` (`""`: all), each
    /// with `apiVersion` and `kind` filled in (list items come without them).
    pub async fn list(
        &self,
        kind: Kind,
        namespace: &str,
        label_selector: &str,
    ) -> Result<Vec<Value>, KubeError> {
        let params = ListParams {
            label_selector: non_empty(label_selector),
            ..ListParams::default()
        };
        self.list_with(kind, namespace, params).await
    }

    /// Deletes the Pods in `namespace` matching `label_selector` in one request (used to stop
    /// shared Spark engines that still run with old settings) and returns how many the server
    /// deleted. An empty selector is refused: it would delete every pod in the namespace.
    pub async fn delete_collection_pods(
        &self,
        namespace: &str,
        label_selector: &str,
    ) -> Result<usize, KubeError> {
        let what = describe_collection(Kind::Pod, namespace, label_selector);
        tracing::debug!(collection = %what, "delete collection");
        if label_selector.trim().is_empty() {
            return Err(KubeError::EmptySelector {
                namespace: namespace.to_owned(),
            });
        }
        let resource = kind_resource(Kind::Pod);
        let params = ListParams::default().labels(label_selector);
        let request = Request::new(collection_path(&resource, namespace))
            .delete_collection(&DeleteParams::default(), &params)
            .map_err(::kube::Error::BuildRequest);
        let result = match request {
            Ok(request) => self.client.request::<Value>(request).await,
            Err(error) => Err(error),
        };
        // The server answers with the list of deleted pods (or a Status when it chose to).
        let answer = result.map_err(|e| self.failed(Action::Delete, what, e))?;
        Ok(answer
            .get("items")
            .and_then(Value::as_array)
            .map_or(0, Vec::len))
    }

    /// Events about one object (e.g. `Deployment`, `kyuubi-dbt`), oldest first. The name is
    /// sent as a field selector; kind is checked here, which also keeps the answer right
    /// should a server ignore the selector.
    pub async fn events_for(
        &self,
        namespace: &str,
        involved_kind: &str,
        involved_name: &str,
    ) -> Result<Vec<Event>, KubeError> {
        let params = ListParams::default().fields(&format!("involvedObject.name={involved_name}"));
        let items = self.list_with(Kind::Event, namespace, params).await?;
        let mut events: Vec<Event> = items
            .iter()
            .filter(|e| {
                e.pointer("/involvedObject/kind").and_then(Value::as_str) == Some(involved_kind)
                    && e.pointer("/involvedObject/name").and_then(Value::as_str)
                        == Some(involved_name)
            })
            .map(Event::from_object)
            .collect();
        sort_events(&mut events);
        Ok(events)
    }

    /// Events in `namespace` about any object whose name starts with `name_prefix`, oldest
    /// first.
    ///
    /// Why a prefix and not a field selector: a rollout's trouble is usually told by the events
    /// of its ReplicaSets (`<deployment>-<hash>`) and Pods (`<deployment>-<hash>-<id>`), whose
    /// names change with every rollout and which may already be gone; field selectors only
    /// match whole names. One list of the namespace's events, filtered here, catches the
    /// Deployment, its ReplicaSets and its Pods at once. A sibling whose name extends this one
    /// (`kyuubi-dbt` and `kyuubi-dbt-2`) matches too; callers that mind pass `"<name>-"` and
    /// ask [`KubeClient::events_for`] for the Deployment itself.
    pub async fn events_matching(
        &self,
        namespace: &str,
        name_prefix: &str,
    ) -> Result<Vec<Event>, KubeError> {
        let items = self
            .list_with(Kind::Event, namespace, ListParams::default())
            .await?;
        let mut events: Vec<Event> = items
            .iter()
            .filter(|e| {
                e.pointer("/involvedObject/name")
                    .and_then(Value::as_str)
                    .is_some_and(|name| name.starts_with(name_prefix))
            })
            .map(Event::from_object)
            .collect();
        sort_events(&mut events);
        Ok(events)
    }

    /// Lists every page of a collection.
    async fn list_with(
        &self,
        kind: Kind,
        namespace: &str,
        mut params: ListParams,
    ) -> Result<Vec<Value>, KubeError> {
        let selector = [
            params.label_selector.as_deref(),
            params.field_selector.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(",");
        let what = describe_collection(kind, namespace, &selector);
        tracing::debug!(collection = %what, "list");
        let resource = kind_resource(kind);
        let path = collection_path(&resource, namespace);
        params.limit = Some(PAGE_SIZE);
        let mut items = Vec::new();
        loop {
            let request = Request::new(path.as_str())
                .list(&params)
                .map_err(::kube::Error::BuildRequest);
            let page = match request {
                Ok(request) => self.client.request::<Value>(request).await,
                Err(error) => Err(error),
            }
            .map_err(|e| self.failed(Action::List, what.clone(), e))?;
            let Value::Object(mut page) = page else {
                break;
            };
            if let Some(Value::Array(page_items)) = page.remove("items") {
                items.extend(page_items.into_iter().map(|item| with_type(item, kind)));
            }
            let next = page
                .get("metadata")
                .and_then(|m| m.get("continue"))
                .and_then(Value::as_str)
                .and_then(non_empty);
            match next {
                Some(token) => params.continue_token = Some(token),
                None => break,
            }
        }
        Ok(items)
    }

    fn failed(&self, action: Action, object: String, error: ::kube::Error) -> KubeError {
        let error = request_failed(&self.host, action, object, error);
        tracing::debug!(error = %error, "kubernetes request failed");
        error
    }
}

/// Loads the kube-rs `Config` for a source (reads files, no network).
async fn load_config(source: &ConfigSource) -> Result<::kube::Config, KubeError> {
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

fn source_name(source: &ConfigSource) -> &'static str {
    match source {
        ConfigSource::Explicit { .. } => "host",
        ConfigSource::Kubeconfig { .. } => "kubeconfig",
        ConfigSource::InCluster => "in-cluster",
    }
}

fn kind_resource(kind: Kind) -> ApiResource {
    api_resource(kind.api_version(), kind.kind(), kind.plural())
}

fn describe_collection(kind: Kind, namespace: &str, selector: &str) -> String {
    let mut what = format!("{} in namespace {namespace}", kind.kind());
    if !selector.is_empty() {
        what.push_str(&format!(" ({selector})"));
    }
    what
}

/// List items come without `apiVersion`/`kind`; put them back so items look like GET answers.
fn with_type(mut item: Value, kind: Kind) -> Value {
    if let Value::Object(fields) = &mut item {
        fields
            .entry("apiVersion")
            .or_insert_with(|| kind.api_version().into());
        fields.entry("kind").or_insert_with(|| kind.kind().into());
    }
    item
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Drops `user:password@` from a URL so it can be shown.
fn without_userinfo(url: &str) -> String {
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
    use serde_json::json;

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

    #[test]
    fn list_items_get_their_type_back() {
        let item = with_type(json!({"metadata": {"name": "p"}}), Kind::Pod);
        assert_eq!(
            item,
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}})
        );
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

    #[tokio::test]
    async fn a_refused_connection_is_unreachable() {
        // Bind then drop a listener: the port is free and nothing answers on it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let source = ConfigSource::Explicit {
            host: format!("http://127.0.0.1:{port}"),
            token: None,
            cluster_ca_certificate: None,
            insecure: false,
        };
        let client = KubeClient::from_source(&source).await.unwrap();
        let err = client
            .get_opt(&ObjectRef::new(Kind::ConfigMap, "kyuubi", "x"))
            .await
            .unwrap_err();
        assert!(err.is_unreachable(), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot reach the Kubernetes API server at http://127.0.0.1:{port}/ to get \
                 ConfigMap kyuubi/x"
            )
        );
    }

    #[tokio::test]
    async fn an_unresolvable_name_is_unreachable() {
        // `.invalid` never resolves (RFC 2606), so this fails in the resolver, not on a socket.
        let source = ConfigSource::Explicit {
            host: "http://konoha-test.invalid".into(),
            token: None,
            cluster_ca_certificate: None,
            insecure: false,
        };
        let client = KubeClient::from_source(&source).await.unwrap();
        let err = client.list(Kind::Pod, "kyuubi", "app=x").await.unwrap_err();
        assert!(err.is_unreachable(), "{err:?}");
        assert!(
            err.to_string()
                .ends_with("to list Pod in namespace kyuubi (app=x)"),
            "{err}"
        );
    }

    /// One request as the scripted server saw it.
    #[derive(Debug)]
    struct Seen {
        method: String,
        target: String,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Seen {
        fn path(&self) -> &str {
            self.target.split('?').next().unwrap_or_default()
        }

        /// Query pairs as sent (still percent-encoded), sorted; kube-rs leaves empty pairs
        /// (`?&a=b`), which servers ignore, so they are dropped here.
        fn query(&self) -> Vec<&str> {
            let mut pairs: Vec<&str> = self
                .target
                .split_once('?')
                .map(|(_, q)| q.split('&').filter(|p| !p.is_empty()).collect())
                .unwrap_or_default();
            pairs.sort_unstable();
            pairs
        }

        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// A plain-HTTP server answering each connection with the next scripted response, then
    /// returning what it was asked. Every answer closes the connection, so each request of the
    /// client arrives on its own connection, in order.
    async fn scripted(answers: Vec<(u16, Value)>) -> (String, tokio::task::JoinHandle<Vec<Seen>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            for (code, answer) in answers {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    let n = socket.read(&mut buf).await.unwrap();
                    assert!(n > 0, "client closed before sending a request");
                    raw.extend_from_slice(&buf[..n]);
                    if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8(raw[..head_end].to_vec()).unwrap();
                let mut lines = head.split("\r\n");
                let mut request_line = lines.next().unwrap().split(' ');
                let method = request_line.next().unwrap().to_owned();
                let target = request_line.next().unwrap().to_owned();
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(": "))
                    .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                while raw.len() < head_end + length {
                    let n = socket.read(&mut buf).await.unwrap();
                    raw.extend_from_slice(&buf[..n]);
                }
                let body = String::from_utf8(raw[head_end..head_end + length].to_vec()).unwrap();
                seen.push(Seen {
                    method,
                    target,
                    headers,
                    body,
                });
                let answer = answer.to_string();
                let response = format!(
                    "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                socket.write_all(response.as_bytes()).await.unwrap();
                socket.shutdown().await.unwrap();
            }
            seen
        });
        (url, server)
    }

    async fn client_for(url: &str) -> KubeClient {
        KubeClient::from_source(&ConfigSource::Explicit {
            host: url.to_owned(),
            token: Some(Secret::new("t0k3n")),
            cluster_ca_certificate: None,
            insecure: false,
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn apply_sends_a_server_side_apply_patch_with_the_token() {
        let answer = json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "kyuubi-dbt", "resourceVersion": "220"}});
        let (url, server) = scripted(vec![(201, answer.clone())]).await;
        let client = client_for(&url).await;
        let obj = ObjectRef::new(Kind::ConfigMap, "kyuubi", "kyuubi-dbt");
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "kyuubi-dbt", "namespace": "kyuubi"},
                          "data": {"k": "v"}});
        let returned = client.apply(&obj, &body, "konoha", true).await.unwrap();
        assert_eq!(returned, answer);
        let seen = server.await.unwrap();
        assert_eq!(seen[0].method, "PATCH");
        assert_eq!(
            seen[0].path(),
            "/api/v1/namespaces/kyuubi/configmaps/kyuubi-dbt"
        );
        assert_eq!(seen[0].query(), ["fieldManager=konoha", "force=true"]);
        assert_eq!(
            seen[0].header("content-type"),
            Some("application/apply-patch+yaml")
        );
        assert_eq!(seen[0].header("authorization"), Some("Bearer t0k3n"));
        assert_eq!(serde_json::from_str::<Value>(&seen[0].body).unwrap(), body);
    }

    #[tokio::test]
    async fn get_opt_and_delete_read_404_as_absence() {
        let not_found = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "deployments.apps \"kyuubi-dbt\" not found", "reason": "NotFound",
            "details": {"name": "kyuubi-dbt", "group": "apps", "kind": "deployments"},
            "code": 404});
        let deleted = json!({"kind": "Status", "apiVersion": "v1", "status": "Success"});
        let (url, server) = scripted(vec![
            (404, not_found.clone()),
            (200, deleted),
            (404, not_found),
        ])
        .await;
        let client = client_for(&url).await;
        let obj = ObjectRef::new(Kind::Deployment, "kyuubi", "kyuubi-dbt");
        assert_eq!(client.get_opt(&obj).await.unwrap(), None);
        assert!(client.delete(&obj).await.unwrap());
        assert!(!client.delete(&obj).await.unwrap());
        let seen = server.await.unwrap();
        let path = "/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt";
        assert_eq!((seen[0].method.as_str(), seen[0].path()), ("GET", path));
        assert_eq!((seen[1].method.as_str(), seen[1].path()), ("DELETE", path));
        assert_eq!(
            serde_json::from_str::<Value>(&seen[1].body).unwrap(),
            json!({"propagationPolicy": "Background"})
        );
    }

    #[tokio::test]
    async fn list_follows_continue_tokens_and_types_items() {
        let (url, server) = scripted(vec![
            (
                200,
                json!({"kind": "PodList", "apiVersion": "v1",
                         "metadata": {"continue": "page2"},
                         "items": [{"metadata": {"name": "a"}}]}),
            ),
            (
                200,
                json!({"kind": "PodList", "apiVersion": "v1", "metadata": {},
                         "items": [{"metadata": {"name": "b"}}]}),
            ),
        ])
        .await;
        let client = client_for(&url).await;
        let pods = client.list(Kind::Pod, "kyuubi", "app=x").await.unwrap();
        assert_eq!(
            pods,
            vec![
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}),
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}}),
            ]
        );
        let seen = server.await.unwrap();
        assert_eq!(seen[0].path(), "/api/v1/namespaces/kyuubi/pods");
        assert_eq!(seen[0].query(), ["labelSelector=app%3Dx", "limit=500"]);
        assert_eq!(
            seen[1].query(),
            ["continue=page2", "labelSelector=app%3Dx", "limit=500"]
        );
    }

    #[tokio::test]
    async fn events_for_selects_by_name_and_checks_kind() {
        let event = |kind: &str, reason: &str, at: &str| {
            json!({"involvedObject": {"kind": kind, "name": "kyuubi-dbt"}, "reason": reason,
                   "message": "m", "type": "Warning", "count": 2, "lastTimestamp": at})
        };
        let (url, server) = scripted(vec![(
            200,
            json!({"kind": "EventList", "metadata": {},
            "items": [event("Deployment", "Later", "2026-11-25T01:02:13Z"),
                      event("Service", "Other", "2026-11-25T01:02:11Z"),
                      event("Deployment", "Earlier", "2026-11-25T01:02:12Z")]}),
        )])
        .await;
        let client = client_for(&url).await;
        let events = client
            .events_for("kyuubi", "Deployment", "kyuubi-dbt")
            .await
            .unwrap();
        let reasons: Vec<&str> = events.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, ["Earlier", "Later"]);
        let seen = server.await.unwrap();
        assert_eq!(seen[0].path(), "/api/v1/namespaces/kyuubi/events");
        assert_eq!(
            seen[0].query(),
            [
                "fieldSelector=involvedObject.name%3Dkyuubi-dbt",
                "limit=500"
            ]
        );
    }

    #[tokio::test]
    async fn delete_collection_pods_counts_what_the_server_deleted() {
        let (url, server) = scripted(vec![(
            200,
            json!({"kind": "PodList", "apiVersion": "v1",
            "metadata": {}, "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]}),
        )])
        .await;
        let client = client_for(&url).await;
        assert_eq!(
            client
                .delete_collection_pods("kyuubi", "app=x")
                .await
                .unwrap(),
            2
        );
        let seen = server.await.unwrap();
        assert_eq!(seen[0].method, "DELETE");
        assert_eq!(seen[0].path(), "/api/v1/namespaces/kyuubi/pods");
        assert_eq!(seen[0].query(), ["labelSelector=app%3Dx"]);
        let err = client
            .delete_collection_pods("kyuubi", " ")
            .await
            .unwrap_err();
        assert!(matches!(err, KubeError::EmptySelector { .. }), "{err:?}");
    }
}
