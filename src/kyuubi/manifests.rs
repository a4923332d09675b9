//! The Kubernetes objects of one Kyuubi server, rendered as server-side-apply bodies holding
//! exactly the fields konoha owns, in the order they must be applied.
//!
//! ServiceAccounts, Roles and RoleBindings are built in [`super::rbac`], the Deployment in
//! [`super::deployment`]; the [`Object`] wrapper, labels, names and ports they all share live in
//! [`super::object`]. This module has the Secret, ConfigMap and Service, and the order. Sending
//! them is the Kubernetes client's job. JSON maps are sorted (serde_json's map is a BTreeMap), so
//! the output is byte-for-byte stable.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::conf::render_kyuubi_defaults;
use super::constants::{
    DRIVER_POD_TEMPLATE_FILE, EXECUTOR_POD_TEMPLATE_FILE, KYUUBI_DEFAULTS_FILE, PROFILE_FILE_NAME,
};
use super::deployment::render_deployment;
use super::object::{
    Object, config_map_name, object_labels, profile_secret_name, selector_labels, server_ports,
};
use super::pod_security::{driver_pod_template, executor_pod_template, template_file};
use super::rbac::render_rbac;
use super::settings::{Delivery, ServerSettings};

/// Every object of the server, in apply order: the server's ServiceAccount, Role and RoleBinding;
/// the drivers' ServiceAccount, Role and RoleBinding; the profile Secret; the ConfigMap; the
/// Service; the PodDisruptionBudget when there is more than one replica; the Deployment last,
/// so everything it refers to exists when its pods start.
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
    if has_disruption_budget(settings) {
        objects.push(render_disruption_budget(settings, &labels));
    }
    objects.push(render_deployment(settings, &labels));
    objects
}

/// An object the server has only at other settings, and why these ones have none (for the
/// drift reason a refresh gives when it is still there).
#[derive(Debug, Clone, PartialEq)]
pub struct Retired {
    /// The object as the other settings would apply it; only its kind, name and namespace are
    /// used, so a Secret's content is left empty.
    pub object: Object,
    /// The setting that rules it out, e.g. `replicas = 1`.
    pub because: String,
}

/// The objects a server has only at some settings and lacks at these ones: the
/// PodDisruptionBudget at one replica or none, and the profile Secret with any delivery but
/// `kubernetes-secret` (left behind, it would keep a copy of the profile, secret settings
/// included, after the server stopped using it). An apply removes them (when they are the
/// server's own), a destroy removes them with the rest.
pub fn retired_objects(settings: &ServerSettings) -> Vec<Retired> {
    let labels = object_labels(settings);
    let mut retired = Vec::new();
    let other_delivery = match settings.delivery {
        Delivery::KubernetesSecret => None,
        Delivery::VaultAgent(_) => Some("vault-agent"),
    };
    if let Some(delivery) = other_delivery {
        retired.push(Retired {
            object: render_secret(settings, &labels, ""),
            because: format!("delivery = {delivery:?}"),
        });
    }
    if !has_disruption_budget(settings) {
        retired.push(Retired {
            object: render_disruption_budget(settings, &labels),
            because: format!("replicas = {}", settings.replicas),
        });
    }
    retired
}

/// A budget only makes sense with a second pod to serve while one is evicted: with one replica,
/// `maxUnavailable: 1` allows every eviction anyway, and `0` would block node drains for good.
fn has_disruption_budget(settings: &ServerSettings) -> bool {
    settings.replicas > 1
}

/// The PodDisruptionBudget `<name>`: voluntary evictions (node drains) take at most one server
/// pod at a time. Not in the pod template, so it never rolls the pods.
fn render_disruption_budget(
    settings: &ServerSettings,
    labels: &BTreeMap<String, String>,
) -> Object {
    Object::new(
        "policy/v1",
        "PodDisruptionBudget",
        &settings.name,
        &settings.namespace,
        labels,
        json!({
            "spec": {
                "maxUnavailable": 1,
                "selector": { "matchLabels": selector_labels(settings) },
            }
        }),
    )
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
        json!({ "data": {
            KYUUBI_DEFAULTS_FILE: render_kyuubi_defaults(settings),
            DRIVER_POD_TEMPLATE_FILE: template_file(&driver_pod_template(&settings.engine.identity)),
            EXECUTOR_POD_TEMPLATE_FILE:
                template_file(&executor_pod_template(&settings.engine.identity)),
        } }),
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
