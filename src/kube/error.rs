//! What can go wrong talking to Kubernetes, and what the API server said about it.
//!
//! Turning these into Terraform diagnostics (summary, detail, what to retry) is the resources'
//! job; this module only keeps every fact they need: the object, the server's `Status`, the
//! conflicting field managers, and whether the server could be reached at all.

use std::fmt;
use std::path::PathBuf;

use super::retry::GiveUp;
use super::settings::KubeconfigOrigin;

/// A failure of the Kubernetes client. Never contains a token.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No source of Kubernetes settings applies.
    #[error(
        "no Kubernetes configuration found: set `host` or `config_path` in the provider's \
         kubernetes block, set KUBE_CONFIG_PATH or KUBECONFIG, run inside a cluster, or create \
         ~/.kube/config"
    )]
    NoConfig,
    /// A kubeconfig file could not be read, parsed, or lacks the chosen context.
    #[error("cannot load the kubeconfig {path} (from {origin}){}", context_suffix(.context))]
    LoadConfig {
        /// The file.
        path: PathBuf,
        /// Which setting chose the file.
        origin: KubeconfigOrigin,
        /// The context asked for, if any.
        context: Option<String>,
        /// What kube-rs reported.
        #[source]
        source: ::kube::config::KubeconfigError,
    },
    /// The explicit `host` settings are unusable (bad URL, bad CA PEM).
    #[error("cannot use the Kubernetes API server settings for host {host}")]
    ExplicitConfig {
        /// The host as given.
        host: String,
        /// What kube-rs reported.
        #[source]
        source: ::kube::config::KubeconfigError,
    },
    /// The in-cluster service account settings could not be read.
    #[error("cannot load the in-cluster service account configuration")]
    InCluster {
        /// What kube-rs reported.
        #[source]
        source: ::kube::config::InClusterError,
    },
    /// The HTTP client could not be built (TLS setup, certificates).
    #[error("cannot set up the Kubernetes client for {host}")]
    Client {
        /// API server URL.
        host: String,
        /// What kube-rs reported.
        #[source]
        source: ::kube::Error,
    },
    /// The API server could not be reached (refused, timed out, name not resolved).
    #[error("cannot reach the Kubernetes API server at {host} to {action} {object}")]
    Unreachable {
        /// API server URL.
        host: String,
        /// What was being done.
        action: Action,
        /// The object or collection.
        object: String,
        /// The transport error.
        #[source]
        source: ::kube::Error,
    },
    /// A request was retried and its last attempt still failed (that failure is the source).
    #[error("gave up after {} ({reason})", attempts_text(*.attempts))]
    GaveUp {
        /// Attempts made, the first included.
        attempts: u32,
        /// Why no further attempt was made.
        reason: GiveUp,
        /// The last attempt's failure, naming the object.
        #[source]
        last: Box<KubeError>,
    },
    /// The operation's deadline passed while a request waited for its answer.
    #[error(
        "no answer from the Kubernetes API server at {host} to {action} {object} before the \
         operation's timeout ran out ({})", attempts_text(*.attempts)
    )]
    OutOfTime {
        /// API server URL.
        host: String,
        /// What was being done.
        action: Action,
        /// The object or collection.
        object: String,
        /// Attempts made, the one cut short included.
        attempts: u32,
    },
    /// The caller asked to stop (Terraform's `Stop`) before the request was done; whether a
    /// write in flight took effect is unknown.
    #[error("stopped before the request to {action} {object} completed")]
    Stopped {
        /// What was being done.
        action: Action,
        /// The object or collection.
        object: String,
    },
    /// Server-side apply failed.
    #[error("cannot apply {object}{}", status_suffix(.status))]
    Apply {
        /// `Kind namespace/name`.
        object: String,
        /// The server's answer, when it sent a `Status` (boxed: errors stay small).
        status: Option<Box<ApiStatus>>,
        /// The cause when the server sent no `Status` (decoding, TLS, …).
        #[source]
        source: Option<::kube::Error>,
    },
    /// Reading an object failed (other than 404, which is not an error).
    #[error("cannot get {object}{}", status_suffix(.status))]
    Get {
        /// `Kind namespace/name`.
        object: String,
        /// The server's answer, when it sent a `Status` (boxed: errors stay small).
        status: Option<Box<ApiStatus>>,
        /// The cause when the server sent no `Status`.
        #[source]
        source: Option<::kube::Error>,
    },
    /// Deleting an object failed (other than 404, which is not an error).
    #[error("cannot delete {object}{}", status_suffix(.status))]
    Delete {
        /// `Kind namespace/name`.
        object: String,
        /// The server's answer, when it sent a `Status` (boxed: errors stay small).
        status: Option<Box<ApiStatus>>,
        /// The cause when the server sent no `Status`.
        #[source]
        source: Option<::kube::Error>,
    },
    /// A collection delete was asked for without a label selector, which would delete every
    /// pod in the namespace; refused before any request.
    #[error("refusing to delete every pod in namespace {namespace}: the label selector is empty")]
    EmptySelector {
        /// The namespace.
        namespace: String,
    },
    /// Listing a collection failed.
    #[error("cannot list {object}{}", status_suffix(.status))]
    List {
        /// The collection and selector, e.g. `Pod kyuubi (app=x)`.
        object: String,
        /// The server's answer, when it sent a `Status` (boxed: errors stay small).
        status: Option<Box<ApiStatus>>,
        /// The cause when the server sent no `Status`.
        #[source]
        source: Option<::kube::Error>,
    },
}

fn attempts_text(attempts: u32) -> String {
    match attempts {
        1 => "1 attempt".to_owned(),
        n => format!("{n} attempts"),
    }
}

fn context_suffix(context: &Option<String>) -> String {
    context
        .as_ref()
        .map(|c| format!(" with context {c:?}"))
        .unwrap_or_default()
}

fn status_suffix(status: &Option<Box<ApiStatus>>) -> String {
    status
        .as_ref()
        .map(|s| format!(": {s}"))
        .unwrap_or_default()
}

impl KubeError {
    /// The API server's `Status`, when the failure was the server's answer.
    pub fn status(&self) -> Option<&ApiStatus> {
        match self {
            KubeError::Apply { status, .. }
            | KubeError::Get { status, .. }
            | KubeError::Delete { status, .. }
            | KubeError::List { status, .. } => status.as_deref(),
            KubeError::GaveUp { last, .. } => last.status(),
            _ => None,
        }
    }

    /// HTTP status code of the server's answer, if there was one.
    pub fn code(&self) -> Option<u16> {
        self.status().map(|s| s.code)
    }

    /// True when the API server could not be reached: worth retrying later, nothing changed.
    pub fn is_unreachable(&self) -> bool {
        match self {
            KubeError::Unreachable { .. } | KubeError::OutOfTime { .. } => true,
            KubeError::GaveUp { last, .. } => last.is_unreachable(),
            _ => false,
        }
    }

    /// True when the caller's stop token ended the request.
    pub fn is_stopped(&self) -> bool {
        matches!(self, KubeError::Stopped { .. })
    }

    /// True for a 409 answer (an apply conflict or a concurrent update).
    pub fn is_conflict(&self) -> bool {
        self.code() == Some(409)
    }

    /// For a server-side apply conflict, who owns which field, taken from the
    /// `FieldManagerConflict` causes. Empty for any other failure.
    pub fn conflict_owners(&self) -> Vec<FieldConflict> {
        let Some(status) = self.status() else {
            return Vec::new();
        };
        status
            .causes
            .iter()
            .filter(|c| c.reason == "FieldManagerConflict")
            .map(|c| FieldConflict {
                manager: quoted_after(&c.message, "conflict with ")
                    .unwrap_or_else(|| c.message.clone()),
                subresource: quoted_after(&c.message, "with subresource "),
                field: c.field.clone(),
            })
            .collect()
    }
}

/// One field an apply conflicted on, from a cause such as `conflict with "kubectl" with
/// subresource "scale" using apps/v1` on `.spec.replicas`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConflict {
    /// The manager that owns the field (the whole cause message if it names none).
    pub manager: String,
    /// The subresource the manager wrote it through, e.g. `scale`.
    pub subresource: Option<String>,
    /// The field as the server writes it, e.g. `.spec.replicas`.
    pub field: String,
}

impl fmt::Display for FieldConflict {
    /// `.spec.replicas (owned by "kubectl" (scale))`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (owned by {:?}", self.field, self.manager)?;
        if let Some(subresource) = &self.subresource {
            write!(f, " ({subresource})")?;
        }
        f.write_str(")")
    }
}

/// The quoted name right after `prefix` in `message`: `conflict with "konoha"` gives `konoha`.
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let (_, rest) = message.split_once(&format!("{prefix}\""))?;
    rest.split_once('"').map(|(name, _)| name.to_owned())
}

/// The `Status` object the API server sends with a failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiStatus {
    /// HTTP status code (409, 422, …).
    pub code: u16,
    /// Machine-readable reason (`Conflict`, `Invalid`, `NotFound`, …); for a body that was not
    /// a `Status` (e.g. a proxy's HTML page) kube-rs puts `Failed to parse error data` here.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// `details.causes[]`: per-field reasons.
    pub causes: Vec<StatusCause>,
}

/// One entry of a `Status`'s `details.causes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCause {
    /// E.g. `FieldManagerConflict`, `FieldValueInvalid`.
    pub reason: String,
    /// E.g. `conflict with "konoha"`.
    pub message: String,
    /// E.g. `.data.kyuubi-defaults.conf` or `metadata.name`.
    pub field: String,
}

impl From<&::kube::core::Status> for ApiStatus {
    fn from(status: &::kube::core::Status) -> ApiStatus {
        ApiStatus {
            code: status.code,
            reason: status.reason.clone(),
            message: status.message.clone(),
            causes: status
                .details
                .iter()
                .flat_map(|d| &d.causes)
                .map(|c| StatusCause {
                    reason: c.reason.clone(),
                    message: c.message.clone(),
                    field: c.field.clone(),
                })
                .collect(),
        }
    }
}

/// `Conflict (409): Apply failed with 1 conflict: …`
impl fmt::Display for ApiStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.reason, self.code, self.message)
    }
}

/// The request a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Server-side apply.
    Apply,
    /// Read one object.
    Get,
    /// Delete one object.
    Delete,
    /// List a collection.
    List,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Apply => "apply",
            Action::Get => "get",
            Action::Delete => "delete",
            Action::List => "list",
        })
    }
}

/// Sorts a kube-rs error from a request into "server answered", "server unreachable" or
/// "something else", building the action's variant.
pub(crate) fn request_failed(
    host: &str,
    action: Action,
    object: String,
    error: ::kube::Error,
) -> KubeError {
    let (status, source) = match error {
        ::kube::Error::Api(status) => (Some(Box::new(ApiStatus::from(status.as_ref()))), None),
        error if is_transport_failure(&error) => {
            return KubeError::Unreachable {
                host: host.to_owned(),
                action,
                object,
                source: error,
            };
        }
        error => (None, Some(error)),
    };
    match action {
        Action::Apply => KubeError::Apply {
            object,
            status,
            source,
        },
        Action::Get => KubeError::Get {
            object,
            status,
            source,
        },
        Action::Delete => KubeError::Delete {
            object,
            status,
            source,
        },
        Action::List => KubeError::List {
            object,
            status,
            source,
        },
    }
}

/// True when the error chain shows the request never got an HTTP answer: refused, reset,
/// timed out, or the name did not resolve.
pub(crate) fn is_transport_failure(error: &::kube::Error) -> bool {
    use std::io::ErrorKind;
    // Timeouts from kube's connect/read timeouts and every socket failure surface as an
    // io::Error somewhere down the chain; DNS failures are io::Errors of kind Other, but
    // hyper-util's connector wraps them in a "dns error" layer, which the text check catches.
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::NotConnected
                    | ErrorKind::TimedOut
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        let text = err.to_string();
        if text.starts_with("dns error") || text.starts_with("client error (Connect)") {
            return true;
        }
        current = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Parses a recorded response body the way kube-rs does and builds the apply error.
    fn apply_error(body: Value) -> KubeError {
        let status: ::kube::core::Status = serde_json::from_value(body).unwrap();
        request_failed(
            "https://k8s:6443",
            Action::Apply,
            "ConfigMap kyuubi/kyuubi-dbt".into(),
            ::kube::Error::Api(Box::new(status)),
        )
    }

    #[test]
    fn conflict_names_the_owner_and_field() {
        // Recording 03: another manager applies a field konoha owns.
        let err = apply_error(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Apply failed with 1 conflict: conflict with \"konoha\": .data.kyuubi-defaults.conf",
            "reason": "Conflict",
            "details": {"causes": [{
                "reason": "FieldManagerConflict",
                "message": "conflict with \"konoha\"",
                "field": ".data.kyuubi-defaults.conf"
            }]},
            "code": 409
        }));
        assert!(err.is_conflict());
        assert!(!err.is_unreachable());
        assert_eq!(
            err.conflict_owners(),
            vec![FieldConflict {
                manager: "konoha".to_owned(),
                subresource: None,
                field: ".data.kyuubi-defaults.conf".to_owned()
            }]
        );
        assert_eq!(
            err.to_string(),
            "cannot apply ConfigMap kyuubi/kyuubi-dbt: Conflict (409): Apply failed with 1 \
             conflict: conflict with \"konoha\": .data.kyuubi-defaults.conf"
        );
        assert!(
            std::error::Error::source(&err).is_none(),
            "the status is the whole story"
        );
    }

    #[test]
    fn invalid_name_keeps_field_causes() {
        // Recording 07 (message shortened).
        let err = apply_error(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters",
            "reason": "Invalid",
            "details": {"name": "Bad_Name", "kind": "ConfigMap", "causes": [{
                "reason": "FieldValueInvalid",
                "message": "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters",
                "field": "metadata.name"
            }]},
            "code": 422
        }));
        let status = err.status().unwrap();
        assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
        assert_eq!(
            status.causes,
            vec![StatusCause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must \
                          consist of lower case alphanumeric characters"
                    .into(),
                field: "metadata.name".into(),
            }]
        );
        assert!(err.conflict_owners().is_empty(), "not a manager conflict");
    }

    #[test]
    fn missing_field_manager_and_missing_kind() {
        // Recording 08.
        let err = apply_error(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            "reason": "Invalid",
            "details": {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{
                "reason": "FieldValueRequired",
                "message": "Required value: is required for apply patch",
                "field": "fieldManager"
            }]},
            "code": 422
        }));
        assert_eq!(err.code(), Some(422));
        assert_eq!(err.status().unwrap().causes[0].field, "fieldManager");
        // Recording 09: a Status without details.
        let err = apply_error(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Incorrect version specified in apply patch. Specified patch version: , expected: v1",
            "reason": "BadRequest",
            "code": 400
        }));
        assert_eq!(
            err.status(),
            Some(&ApiStatus {
                code: 400,
                reason: "BadRequest".into(),
                message: "Incorrect version specified in apply patch. Specified patch \
                          version: , expected: v1"
                    .into(),
                causes: vec![],
            })
        );
    }

    #[test]
    fn delete_of_missing_object_is_a_not_found_status() {
        // Recording 22 (the client turns it into Ok(false); the parse must see 404 NotFound).
        let status: ::kube::core::Status = serde_json::from_value(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "deployments.apps \"kyuubi-dbt\" not found",
            "reason": "NotFound",
            "details": {"name": "kyuubi-dbt", "group": "apps", "kind": "deployments"},
            "code": 404
        }))
        .unwrap();
        let err = request_failed(
            "h",
            Action::Delete,
            "Deployment kyuubi/kyuubi-dbt".into(),
            ::kube::Error::Api(Box::new(status)),
        );
        assert!(
            matches!(&err, KubeError::Delete { status: Some(s), .. } if s.code == 404 && s.reason == "NotFound")
        );
        assert_eq!(
            err.to_string(),
            "cannot delete Deployment kyuubi/kyuubi-dbt: NotFound (404): deployments.apps \
             \"kyuubi-dbt\" not found"
        );
    }

    #[test]
    fn several_conflicts_with_versioned_managers() {
        let err = apply_error(json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
            "message": "Apply failed with 2 conflicts: …",
            "details": {"causes": [
                {"reason": "FieldManagerConflict", "message": "conflict with \"kubectl-edit\" using apps/v1", "field": ".spec.replicas"},
                {"reason": "FieldManagerConflict", "message": "conflict with \"helm\"", "field": ".spec.template.spec.containers[name=\"kyuubi\"].image"}
            ]}
        }));
        let owners: Vec<String> = err
            .conflict_owners()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            owners,
            vec![
                r#".spec.replicas (owned by "kubectl-edit")"#,
                r#".spec.template.spec.containers[name="kyuubi"].image (owned by "helm")"#,
            ]
        );
    }

    #[test]
    fn a_conflict_with_a_subresource_names_it() {
        // Recording 26: konoha's apply after `kubectl scale`.
        let err = apply_error(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" using apps/v1: .spec.replicas",
            "reason": "Conflict",
            "details": {"causes": [{
                "reason": "FieldManagerConflict",
                "message": "conflict with \"kubectl\" with subresource \"scale\" using apps/v1",
                "field": ".spec.replicas"
            }]},
            "code": 409
        }));
        let owners = err.conflict_owners();
        assert_eq!(
            owners,
            vec![FieldConflict {
                manager: "kubectl".to_owned(),
                subresource: Some("scale".to_owned()),
                field: ".spec.replicas".to_owned()
            }]
        );
        assert_eq!(
            owners[0].to_string(),
            r#".spec.replicas (owned by "kubectl" (scale))"#
        );
    }

    #[test]
    fn io_failures_in_the_chain_mean_unreachable() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = request_failed(
            "http://127.0.0.1:1",
            Action::Get,
            "Pod kyuubi/x".into(),
            ::kube::Error::Service(Box::new(refused)),
        );
        assert!(err.is_unreachable());
        assert_eq!(
            err.to_string(),
            "cannot reach the Kubernetes API server at http://127.0.0.1:1 to get Pod kyuubi/x"
        );
        // The read timeout (hyper-timeout) surfaces as TimedOut inside a hyper error.
        let timed_out = std::io::Error::from(std::io::ErrorKind::TimedOut);
        let err = request_failed(
            "h",
            Action::Apply,
            "Deployment kyuubi/x".into(),
            ::kube::Error::Service(Box::new(timed_out)),
        );
        assert!(err.is_unreachable(), "{err:?}");
        // A decoding failure is the request's own variant, with the cause as source.
        let bad_json = serde_json::from_str::<Value>("{").unwrap_err();
        let err = request_failed(
            "h",
            Action::List,
            "Pod kyuubi".into(),
            ::kube::Error::SerdeError(bad_json),
        );
        assert!(matches!(
            err,
            KubeError::List {
                status: None,
                source: Some(_),
                ..
            }
        ));
        assert!(std::error::Error::source(&err).is_some());
    }
}
