//! The Kubernetes objects of one Kyuubi server, rendered as server-side-apply bodies holding
//! exactly the fields konoha owns, in the order they must be applied.
//!
//! ServiceAccounts, Roles and RoleBindings are built in [`super::rbac`], the Deployment in
//! [`super::deployment`]; this module has the [`Object`] wrapper, the shared labels, the Secret,
//! ConfigMap and Service, and the order. Sending them is the Kubernetes client's job. JSON maps
//! are sorted (serde_json's map is a BTreeMap), so the output is byte-for-byte stable.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::conf::render_kyuubi_defaults;
use super::constants::{
    CONFIG_MAP_SUFFIX, DRIVER_LABEL_SERVER, KYUUBI_DEFAULTS_FILE, LABEL_INSTANCE, LABEL_MANAGED_BY,
    LABEL_MANAGED_BY_VALUE, LABEL_NAME, LABEL_NAME_VALUE, PORT_NAME_PROMETHEUS, PORT_NAME_REST,
    PORT_NAME_THRIFT_BINARY, PORT_NAME_THRIFT_HTTP, PROFILE_FILE_NAME, PROFILE_SECRET_SUFFIX,
};
use super::deployment::render_deployment;
use super::rbac::render_rbac;
use super::settings::{Delivery, ServerSettings};

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

/// Every object of the server, in apply order: the server's ServiceAccount, Role and RoleBinding;
/// the drivers' ServiceAccount, Role and RoleBinding; the profile Secret; the ConfigMap; the
/// Service; the Deployment last, so everything it refers to exists when its pods start.
///
/// `profile_env` is the profile's `spark.env` text, read from Vault by the resource, and is used
/// only with `kubernetes-secret` delivery. With that delivery and `None` the Secret is left out,
/// which suits plan-time rendering; an apply must pass the content.
pub fn render_objects(settings: &ServerSettings, profile_env: Option<&str>) -> Vec<Object> {
    let labels = object_labels(settings);
    let mut objects = render_rbac(settings, &labels);
    if let (Delivery::KubernetesSecret, Some(content)) = (&settings.delivery, profile_env) {
        objects.push(render_secret(settings, &labels, content));
    }
    objects.push(render_config_map(settings, &labels));
    objects.push(render_service(settings, &labels));
    objects.push(render_deployment(settings, &labels));
    objects
}

fn render_secret(
    settings: &ServerSettings,
    labels: &BTreeMap<String, String>,
    content: &str,
) -> Object {
    // `data` rather than `stringData`: the API server stores only `data`, so applying
    // `stringData` would never match what reads back.
    Object::new(
        "v1",
        "Secret",
        &profile_secret_name(&settings.name),
        &settings.namespace,
        labels,
        json!({
            "type": "Opaque",
            "data": { PROFILE_FILE_NAME: STANDARD.encode(content) },
        }),
    )
}

fn render_config_map(settings: &ServerSettings, labels: &BTreeMap<String, String>) -> Object {
    Object::new(
        "v1",
        "ConfigMap",
        &config_map_name(&settings.name),
        &settings.namespace,
        labels,
        json!({ "data": { KYUUBI_DEFAULTS_FILE: render_kyuubi_defaults(settings) } }),
    )
}

fn render_service(settings: &ServerSettings, labels: &BTreeMap<String, String>) -> Object {
    let ports: Vec<Value> = server_ports(settings)
        .into_iter()
        .map(|(name, port)| {
            json!({ "name": name, "port": port, "targetPort": port, "protocol": "TCP" })
        })
        .collect();
    Object::new(
        "v1",
        "Service",
        &settings.name,
        &settings.namespace,
        labels,
        json!({
            "spec": {
                "type": settings.service_type.as_str(),
                "selector": selector_labels(settings),
                "ports": ports,
            }
        }),
    )
}

#[cfg(test)]
mod tests;
