//! What every Kubernetes object of a Kyuubi server shares: the [`Object`] wrapper (an apply body
//! and where it goes), the labels, the derived object names and the server's ports.
//!
//! The object builders ([`super::manifests`], [`super::rbac`], [`super::deployment`]) all stand
//! on this module, which depends on none of them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::constants::{
    CONFIG_MAP_SUFFIX, DRIVER_LABEL_SERVER, LABEL_INSTANCE, LABEL_MANAGED_BY,
    LABEL_MANAGED_BY_VALUE, LABEL_NAME, LABEL_NAME_VALUE, PORT_NAME_PROMETHEUS, PORT_NAME_REST,
    PORT_NAME_THRIFT_BINARY, PORT_NAME_THRIFT_HTTP, PROFILE_SECRET_SUFFIX,
};
use super::settings::ServerSettings;

/// One object to apply: where it lives and the body to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// `v1`, `apps/v1`, `rbac.authorization.k8s.io/v1`.
    pub api_version: &'static str,
    /// `Deployment`, `Service`, ….
    pub kind: &'static str,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// The whole apply body, `apiVersion` and `kind` included.
    pub body: Value,
}

impl Object {
    /// Starts an object: `apiVersion`, `kind` and `metadata` (name, namespace, labels) are
    /// filled in, `fields` (e.g. `spec`, `data`, `rules`) added at the top level.
    pub(crate) fn new(
        api_version: &'static str,
        kind: &'static str,
        name: &str,
        namespace: &str,
        labels: &BTreeMap<String, String>,
        fields: Value,
    ) -> Self {
        let mut body = json!({
            "apiVersion": api_version,
            "kind": kind,
            "metadata": { "name": name, "namespace": namespace, "labels": labels },
        });
        if let (Value::Object(body), Value::Object(fields)) = (&mut body, fields) {
            body.extend(fields);
        }
        Object {
            api_version,
            kind,
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            body,
        }
    }

    /// The object's URL path, e.g. `/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt`;
    /// core objects live under `/api/v1`.
    pub fn api_path(&self) -> String {
        let root = if self.api_version.contains('/') {
            "/apis"
        } else {
            "/api"
        };
        format!(
            "{root}/{}/namespaces/{}/{}/{}",
            self.api_version,
            self.namespace,
            plural(self.kind),
            self.name
        )
    }
}

/// The resource name of a kind in URLs (every kind rendered here).
fn plural(kind: &str) -> String {
    match kind {
        "ServiceAccount" => "serviceaccounts".to_owned(),
        "RoleBinding" => "rolebindings".to_owned(),
        "ConfigMap" => "configmaps".to_owned(),
        other => format!("{}s", other.to_ascii_lowercase()),
    }
}

/// Labels that pick this server's pods: `app.kubernetes.io/name` and `/instance`. Also the
/// Deployment's selector, which Kubernetes never lets change.
pub fn selector_labels(settings: &ServerSettings) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_NAME.to_owned(), LABEL_NAME_VALUE.to_owned()),
        (LABEL_INSTANCE.to_owned(), settings.name.clone()),
    ])
}

/// Labels on every object (and pod): the user's `labels` plus the provider's three.
pub fn object_labels(settings: &ServerSettings) -> BTreeMap<String, String> {
    let mut labels = settings.labels.clone();
    labels.extend(selector_labels(settings));
    labels.insert(
        LABEL_MANAGED_BY.to_owned(),
        LABEL_MANAGED_BY_VALUE.to_owned(),
    );
    labels
}

/// Label selector for this server's Spark driver pods in the engine namespace
/// (`konoha.io/kyuubi-server=<name>`), for `restart_engines`.
pub fn driver_pod_selector(settings: &ServerSettings) -> String {
    format!("{DRIVER_LABEL_SERVER}={}", settings.name)
}

/// Name of the ConfigMap holding `kyuubi-defaults.conf`.
pub fn config_map_name(name: &str) -> String {
    format!("{name}{CONFIG_MAP_SUFFIX}")
}

/// Name of the Secret holding the profile (`kubernetes-secret` delivery).
pub fn profile_secret_name(name: &str) -> String {
    format!("{name}{PROFILE_SECRET_SUFFIX}")
}

/// The ports the server listens on, as `(name, port)`, in a fixed order: thrift binary, REST,
/// thrift HTTP when on, metrics when on.
pub fn server_ports(settings: &ServerSettings) -> Vec<(&'static str, u16)> {
    let mut ports = vec![
        (PORT_NAME_THRIFT_BINARY, settings.thrift_binary_port),
        (PORT_NAME_REST, settings.rest_port),
    ];
    if let Some(port) = settings.thrift_http_port {
        ports.push((PORT_NAME_THRIFT_HTTP, port));
    }
    if settings.metrics.enabled {
        ports.push((PORT_NAME_PROMETHEUS, settings.metrics.port));
    }
    ports
}
