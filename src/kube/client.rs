//! The Kubernetes client: connect from a [`ConfigSource`], then apply, get, delete and list
//! objects as dynamic JSON.
//!
//! Requests go through kube-rs's `Client` (auth, TLS, retries on 429/503/504) with paths built
//! from kube's dynamic `ApiResource`; bodies stay `serde_json::Value` end to end, so what the
//! server answered reaches the caller unchanged. Rollout waiting and drift judgement live with
//! the resources; this file does one request per call (plus list pagination).

use std::fmt;

use ::kube::core::params::{DeleteParams, ListParams, Patch, PatchParams, PropagationPolicy};
use ::kube::core::{ApiResource, Request};
use serde_json::Value;

use super::config::{load_config, source_name, without_userinfo};
use super::error::{Action, KubeError, request_failed};
use super::events::{Event, sort_events};
use super::object::{Kind, ObjectRef, api_resource, collection_path};
use super::settings::{ConfigSource, KubeSettings, resolve_source};

/// How long a response may take once the request is sent; the slowest call we make, a
/// deletecollection of a few dozen pods, answers in well under a second.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

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
        let mut config = load_config(source).await?;
        // kube-rs sets no response deadline by default (watches and exec need none); this client
        // never streams, so a server that stops answering must fail the call, not hang the run.
        config.read_timeout = Some(READ_TIMEOUT);
        config.reset_reader_on_write = true;
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

    /// Deletes `obj` with foreground propagation: the object stays (terminating) until the
    /// garbage collector has removed what it owns, so a Deployment disappears only after its
    /// ReplicaSets and Pods, and waiting for the object to be gone means waiting for all of it.
    /// Returns whether the object existed (a 404 is `Ok(false)`).
    pub async fn delete(&self, obj: &ObjectRef) -> Result<bool, KubeError> {
        tracing::debug!(object = %obj, "delete");
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Foreground),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::Secret;
    use crate::kube::test_server::scripted;
    use serde_json::json;

    #[test]
    fn list_items_get_their_type_back() {
        let item = with_type(json!({"metadata": {"name": "p"}}), Kind::Pod);
        assert_eq!(
            item,
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}})
        );
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
            json!({"propagationPolicy": "Foreground"})
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
