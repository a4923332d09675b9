//! The Kubernetes client: connect from a [`ConfigSource`], then apply, get, delete and list
//! objects as dynamic JSON.
//!
//! Requests go through kube-rs's `Client` (auth, TLS) with paths built from kube's dynamic
//! `ApiResource`; bodies stay `serde_json::Value` end to end, so what the server answered
//! reaches the caller unchanged. A failed request is sent again as [`RetryPolicy`] decides
//! (idempotent requests only, bounded, never past the deadline set with [`KubeClient::until`]);
//! kube-rs's own retry layer is off, since it would also repeat requests that are not safe to
//! repeat and wait up to 15 times without a deadline. Rollout waiting and drift judgement live
//! with the resources; this file does one request per call (plus retries and list pagination).

use std::fmt;

use ::kube::client::Body;
use ::kube::core::params::{DeleteParams, ListParams, Patch, PatchParams, PropagationPolicy};
use ::kube::core::{ApiResource, Request};
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::{load_config, source_name, without_userinfo};
use super::error::{Action, KubeError, request_failed};
use super::events::{Event, sort_events};
use super::object::{Kind, ObjectRef, api_resource, collection_path};
use super::retry::{Decision, Failure, GiveUp, RetryPolicy, is_idempotent};
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
    policy: RetryPolicy,
    /// No attempt waits, and no retry starts, past this.
    deadline: Option<Instant>,
    /// Cancelled when the caller wants no more waiting (Terraform's `Stop`).
    stop: Option<CancellationToken>,
}

impl fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeClient")
            .field("host", &self.host)
            .field("policy", &self.policy)
            .field("deadline", &self.deadline)
            .field("stoppable", &self.stop.is_some())
            .finish_non_exhaustive()
    }
}

/// How a request ended when it did not succeed.
enum Unsent {
    /// The last attempt failed with this error.
    Failed {
        error: ::kube::Error,
        attempts: u32,
        gave_up: GiveUp,
    },
    /// The deadline passed while an attempt was waiting for its answer.
    OutOfTime { attempts: u32 },
    /// The stop token fired while an attempt or a pause was under way.
    Stopped,
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
        config.default_retry = false;
        let host = without_userinfo(&config.cluster_url.to_string());
        tracing::debug!(%host, source = source_name(source), "kubernetes client configured");
        let client = ::kube::Client::try_from(config).map_err(|source| KubeError::Client {
            host: host.clone(),
            source,
        })?;
        Ok(KubeClient {
            client,
            host,
            policy: RetryPolicy::default(),
            deadline: None,
            stop: None,
        })
    }

    /// This client, giving up on a request (its attempt or its pause before a retry) as soon as
    /// `stop` is cancelled.
    #[must_use]
    pub fn stopped_by(mut self, stop: CancellationToken) -> KubeClient {
        self.stop = Some(stop);
        self
    }

    /// This client, with every request (retries included) bounded by `deadline`: the
    /// operation's timeout, so retrying never makes an apply outlast what the user allowed.
    #[must_use]
    pub fn until(mut self, deadline: Instant) -> KubeClient {
        self.deadline = Some(deadline);
        self
    }

    /// This client, retrying as `policy` says.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> KubeClient {
        self.policy = policy;
        self
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
        let patch = Patch::Apply(body);
        self.send(|| Request::new(obj.collection_path()).patch(&obj.name, &params, &patch))
            .await
            .map_err(|e| self.failed(Action::Apply, obj.to_string(), e))
    }

    /// Reads `obj`; `None` when the server answers 404.
    pub async fn get_opt(&self, obj: &ObjectRef) -> Result<Option<Value>, KubeError> {
        tracing::debug!(object = %obj, "get");
        let result = self
            .send(|| Request::new(obj.collection_path()).get(&obj.name, &Default::default()))
            .await;
        match result {
            Ok(object) => Ok(Some(object)),
            Err(unsent) if unsent.is_not_found() => Ok(None),
            Err(unsent) => Err(self.failed(Action::Get, obj.to_string(), unsent)),
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
        let result = self
            .send(|| Request::new(obj.collection_path()).delete(&obj.name, &params))
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(unsent) if unsent.is_not_found() => Ok(false),
            Err(unsent) => Err(self.failed(Action::Delete, obj.to_string(), unsent)),
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
        let path = collection_path(&resource, namespace);
        let result = self
            .send(|| {
                Request::new(path.as_str()).delete_collection(&DeleteParams::default(), &params)
            })
            .await;
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
            let page = self
                .send(|| Request::new(path.as_str()).list(&params))
                .await
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

    /// Sends the request `build` makes, again and again as the policy decides, and returns the
    /// answer's JSON body. `build` runs once per attempt: a request body can be sent only once.
    async fn send(
        &self,
        build: impl Fn() -> Result<http::Request<Vec<u8>>, ::kube::core::request::Error>,
    ) -> Result<Value, Unsent> {
        let mut attempts = 0;
        loop {
            let request = build().map_err(|e| Unsent::Failed {
                error: ::kube::Error::BuildRequest(e),
                attempts,
                gave_up: GiveUp::NotRetryable,
            })?;
            let idempotent = is_idempotent(
                request.method().as_str(),
                request
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
            );
            attempts += 1;
            let attempt = self.attempt(request);
            let bounded = async {
                match self.deadline {
                    Some(deadline) => tokio::time::timeout_at(deadline, attempt)
                        .await
                        .map_err(|_elapsed| Unsent::OutOfTime { attempts }),
                    None => Ok(attempt.await),
                }
            };
            let outcome = self.unless_stopped(bounded).await??;
            let (error, retry_after) = match outcome {
                Ok(body) => return Ok(body),
                Err(failed) => failed,
            };
            let failure = match &error {
                ::kube::Error::Api(status) => Failure::Answered {
                    code: status.code,
                    retry_after: retry_after.as_deref(),
                },
                error if super::error::is_transport_failure(error) => Failure::NoAnswer,
                _ => Failure::Other,
            };
            let time_left = self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now()));
            match self
                .policy
                .decide(idempotent, failure, attempts, time_left, jitter())
            {
                Decision::RetryAfter(pause) => {
                    tracing::debug!(error = %error, attempts, ?pause, "kubernetes request failed; retrying");
                    self.unless_stopped(tokio::time::sleep(pause)).await?;
                }
                Decision::GiveUp(gave_up) => {
                    return Err(Unsent::Failed {
                        error,
                        attempts,
                        gave_up,
                    });
                }
            }
        }
    }

    /// `work`'s result, or [`Unsent::Stopped`] once the stop token fires first.
    async fn unless_stopped<T>(&self, work: impl Future<Output = T>) -> Result<T, Unsent> {
        match &self.stop {
            Some(stop) => tokio::select! {
                result = work => Ok(result),
                () = stop.cancelled() => Err(Unsent::Stopped),
            },
            None => Ok(work.await),
        }
    }

    /// One attempt: the answer's JSON body, or the error with the answer's `Retry-After`.
    async fn attempt(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<Value, (::kube::Error, Option<String>)> {
        let response = self
            .client
            .send(request.map(Body::from))
            .await
            .map_err(|e| (e, None))?;
        let code = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| (e, retry_after.clone()))?;
        if code >= 400 {
            return Err((status_error(code, &bytes), retry_after));
        }
        serde_json::from_slice(&bytes).map_err(|e| (::kube::Error::SerdeError(e), None))
    }

    fn failed(&self, action: Action, object: String, unsent: Unsent) -> KubeError {
        let error = match unsent {
            Unsent::Failed {
                error,
                attempts,
                gave_up,
            } => {
                let last = request_failed(&self.host, action, object, error);
                if gave_up != GiveUp::NotRetryable || attempts > 1 {
                    KubeError::GaveUp {
                        attempts,
                        reason: gave_up,
                        last: Box::new(last),
                    }
                } else {
                    last
                }
            }
            Unsent::OutOfTime { attempts } => KubeError::OutOfTime {
                host: self.host.clone(),
                action,
                object,
                attempts,
            },
            Unsent::Stopped => KubeError::Stopped { action, object },
        };
        tracing::debug!(error = %error, "kubernetes request failed");
        error
    }
}

impl Unsent {
    fn is_not_found(&self) -> bool {
        matches!(self, Unsent::Failed { error: ::kube::Error::Api(status), .. } if status.code == 404)
    }
}

/// The error for a 4xx/5xx answer, as kube-rs makes it: the `Status` the body holds, or, for a
/// body that is not one (a proxy's page), a `Status` carrying the text and the code.
fn status_error(code: u16, body: &[u8]) -> ::kube::Error {
    let status = serde_json::from_slice::<::kube::core::Status>(body).unwrap_or_else(|_| {
        let text = String::from_utf8_lossy(body);
        ::kube::core::Status::failure(text.trim(), "Failed to parse error data").with_code(code)
    });
    ::kube::Error::Api(status.boxed())
}

/// A number in `[0, 1)`, different on every call: spreads the retries of parallel requests.
/// Randomness quality does not matter here, so std's per-hasher random keys are enough.
fn jitter() -> f64 {
    use std::hash::BuildHasher;
    let bits = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
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
        let client = KubeClient::from_source(&source)
            .await
            .unwrap()
            .with_retry_policy(quick_retries());
        let err = client
            .get_opt(&ObjectRef::new(Kind::ConfigMap, "kyuubi", "x"))
            .await
            .unwrap_err();
        assert!(err.is_unreachable(), "{err:?}");
        let text = chain(&err);
        assert!(
            text.starts_with(&format!(
                "gave up after 3 attempts (the retries ran out): cannot reach the Kubernetes API \
                 server at http://127.0.0.1:{port}/ to get ConfigMap kyuubi/x: "
            )),
            "{text}"
        );
    }

    /// Three attempts a millisecond apart.
    fn quick_retries() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            first_pause: std::time::Duration::from_millis(1),
            ..RetryPolicy::default()
        }
    }

    /// The error's message, then each source's, as a diagnostic shows them.
    fn chain(err: &dyn std::error::Error) -> String {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
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
        let client = KubeClient::from_source(&source)
            .await
            .unwrap()
            .with_retry_policy(quick_retries());
        let err = client.list(Kind::Pod, "kyuubi", "app=x").await.unwrap_err();
        assert!(err.is_unreachable(), "{err:?}");
        assert!(
            chain(&err).contains("to list Pod in namespace kyuubi (app=x)"),
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

    fn unavailable() -> Value {
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
               "message": "the server is currently unable to handle the request",
               "reason": "ServiceUnavailable", "code": 503})
    }

    #[tokio::test]
    async fn a_503_is_retried_and_the_next_answer_used() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "kyuubi-dbt"}});
        let (url, server) = scripted(vec![
            (503, unavailable()),
            (503, unavailable()),
            (200, object.clone()),
        ])
        .await;
        let client = client_for(&url).await.with_retry_policy(quick_retries());
        let obj = ObjectRef::new(Kind::ConfigMap, "kyuubi", "kyuubi-dbt");
        assert_eq!(client.get_opt(&obj).await.unwrap(), Some(object));
        let seen = server.await.unwrap();
        let requests: Vec<(&str, &str)> =
            seen.iter().map(|s| (s.method.as_str(), s.path())).collect();
        let path = "/api/v1/namespaces/kyuubi/configmaps/kyuubi-dbt";
        assert_eq!(requests, [("GET", path), ("GET", path), ("GET", path)]);
    }

    #[tokio::test]
    async fn an_apply_that_keeps_failing_names_the_object_and_the_attempts() {
        let (url, server) = scripted(vec![(503, unavailable()); 3]).await;
        let client = client_for(&url).await.with_retry_policy(quick_retries());
        let obj = ObjectRef::new(Kind::Deployment, "kyuubi", "kyuubi-dbt");
        let err = client
            .apply(&obj, &json!({}), "konoha", false)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(503));
        assert_eq!(
            chain(&err),
            "gave up after 3 attempts (the retries ran out): cannot apply Deployment \
             kyuubi/kyuubi-dbt: ServiceUnavailable (503): the server is currently unable to \
             handle the request"
        );
        assert_eq!(server.await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_refusal_is_not_retried() {
        let conflict = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "Operation cannot be fulfilled", "reason": "Conflict", "code": 409});
        let (url, server) = scripted(vec![(409, conflict)]).await;
        let client = client_for(&url).await.with_retry_policy(quick_retries());
        let obj = ObjectRef::new(Kind::ConfigMap, "kyuubi", "kyuubi-dbt");
        let err = client
            .apply(&obj, &json!({}), "konoha", false)
            .await
            .unwrap_err();
        assert!(err.is_conflict(), "{err:?}");
        assert!(matches!(err, KubeError::Apply { .. }), "{err:?}");
        assert_eq!(server.await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn no_retry_starts_past_the_deadline() {
        let (url, server) = scripted(vec![(503, unavailable())]).await;
        let client = client_for(&url)
            .await
            .with_retry_policy(RetryPolicy {
                first_pause: std::time::Duration::from_secs(30),
                longest_pause: std::time::Duration::from_secs(60),
                ..RetryPolicy::default()
            })
            .until(Instant::now() + std::time::Duration::from_secs(5));
        let started = Instant::now();
        let obj = ObjectRef::new(Kind::Deployment, "kyuubi", "kyuubi-dbt");
        let err = client.get_opt(&obj).await.unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(
            matches!(
                err,
                KubeError::GaveUp {
                    attempts: 1,
                    reason: GiveUp::DeadlineTooClose,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(server.await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_stop_ends_the_pause_before_a_retry() {
        let (url, _server) = scripted(vec![(503, unavailable())]).await;
        let stop = CancellationToken::new();
        let client = client_for(&url)
            .await
            .with_retry_policy(RetryPolicy {
                first_pause: std::time::Duration::from_secs(60),
                longest_pause: std::time::Duration::from_secs(60),
                ..RetryPolicy::default()
            })
            .stopped_by(stop.clone());
        let obj = ObjectRef::new(Kind::Deployment, "kyuubi", "kyuubi-dbt");
        let started = Instant::now();
        let (result, ()) = tokio::join!(client.get_opt(&obj), async {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            stop.cancel();
        });
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let err = result.unwrap_err();
        assert_eq!(
            err.to_string(),
            "stopped before the request to get Deployment kyuubi/kyuubi-dbt completed"
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
