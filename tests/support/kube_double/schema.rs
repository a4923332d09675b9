//! The resources the double serves, and the few schema facts server-side apply needs about them.
//!
//! Leaves out the OpenAPI schemas themselves: a list not named in [`list_type`] is atomic and an
//! object not named in [`is_map`] or [`is_atomic`] is a struct, which is what the real schemas say
//! for every field konoha writes.

use serde_json::{Value, json};

/// A resource type the double knows, with its REST coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    ConfigMap,
    Secret,
    Service,
    ServiceAccount,
    Pod,
    Event,
    Deployment,
    Role,
    RoleBinding,
    PodDisruptionBudget,
}

impl Kind {
    /// Every served kind, for look-ups by route.
    pub(crate) const ALL: [Kind; 10] = [
        Kind::ConfigMap,
        Kind::Secret,
        Kind::Service,
        Kind::ServiceAccount,
        Kind::Pod,
        Kind::Event,
        Kind::Deployment,
        Kind::Role,
        Kind::RoleBinding,
        Kind::PodDisruptionBudget,
    ];

    /// The resource name in URLs (`configmaps`).
    pub(crate) fn plural(self) -> &'static str {
        match self {
            Kind::ConfigMap => "configmaps",
            Kind::Secret => "secrets",
            Kind::Service => "services",
            Kind::ServiceAccount => "serviceaccounts",
            Kind::Pod => "pods",
            Kind::Event => "events",
            Kind::Deployment => "deployments",
            Kind::Role => "roles",
            Kind::RoleBinding => "rolebindings",
            Kind::PodDisruptionBudget => "poddisruptionbudgets",
        }
    }

    /// The API group, empty for the core group.
    pub(crate) fn group(self) -> &'static str {
        match self {
            Kind::Deployment => "apps",
            Kind::Role | Kind::RoleBinding => "rbac.authorization.k8s.io",
            Kind::PodDisruptionBudget => "policy",
            _ => "",
        }
    }

    /// `apiVersion` as objects carry it.
    pub(crate) fn api_version(self) -> &'static str {
        match self.group() {
            "" => "v1",
            "apps" => "apps/v1",
            "policy" => "policy/v1",
            _ => "rbac.authorization.k8s.io/v1",
        }
    }

    /// The `kind` field value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
            Kind::Service => "Service",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Pod => "Pod",
            Kind::Event => "Event",
            Kind::Deployment => "Deployment",
            Kind::Role => "Role",
            Kind::RoleBinding => "RoleBinding",
            Kind::PodDisruptionBudget => "PodDisruptionBudget",
        }
    }

    /// `deployments.apps`, `configmaps`: how NotFound messages name the resource.
    pub(crate) fn qualified_plural(self) -> String {
        match self.group() {
            "" => self.plural().to_owned(),
            group => format!("{}.{group}", self.plural()),
        }
    }

    /// `Deployment.apps`, `ConfigMap`: how Invalid messages name the kind.
    pub(crate) fn qualified_name(self) -> String {
        match self.group() {
            "" => self.name().to_owned(),
            group => format!("{}.{group}", self.name()),
        }
    }

    /// The kind served at `/api/v1` (group "") or `/apis/{group}/{version}` under `plural`.
    pub(crate) fn from_route(api_version: &str, plural: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.api_version() == api_version && k.plural() == plural)
    }

    /// Only Deployments and PodDisruptionBudgets among these kinds keep `metadata.generation`
    /// (their registry strategies set it on create and bump it on a spec change).
    pub(crate) fn has_generation(self) -> bool {
        matches!(self, Kind::Deployment | Kind::PodDisruptionBudget)
    }

    /// What `status` a fresh object of this kind has; `None` for kinds without status.
    pub(crate) fn initial_status(self) -> Option<Value> {
        match self {
            Kind::Deployment => Some(json!({})),
            Kind::Service => Some(json!({"loadBalancer": {}})),
            Kind::Pod => Some(json!({"phase": "Pending", "qosClass": "BestEffort"})),
            // The strategy resets status on create; its counters have no `omitempty`. No
            // disruption controller runs here to fill them in.
            Kind::PodDisruptionBudget => Some(json!({
                "currentHealthy": 0,
                "desiredHealthy": 0,
                "disruptionsAllowed": 0,
                "expectedPods": 0,
            })),
            _ => None,
        }
    }
}

/// How a list merges under server-side apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListType {
    /// Replaced as a whole; owned as one field.
    Atomic,
    /// Items are scalars identified by value (`v:`).
    Set,
    /// Items identified by these key fields (`k:{...}`).
    Map(&'static [&'static str]),
}

fn last(names: &[String]) -> &str {
    names.last().map_or("", String::as_str)
}

/// The list type of the field at `names` (field names from the root, list keys left out).
pub(crate) fn list_type(kind: Kind, names: &[String]) -> ListType {
    match last(names) {
        "containers" | "initContainers" | "ephemeralContainers" => ListType::Map(&["name"]),
        "ports" if kind == Kind::Service => ListType::Map(&["port", "protocol"]),
        "ports" => ListType::Map(&["containerPort", "protocol"]),
        "env" | "volumes" => ListType::Map(&["name"]),
        "imagePullSecrets" if kind != Kind::ServiceAccount => ListType::Map(&["name"]),
        "secrets" if kind == Kind::ServiceAccount => ListType::Map(&["name"]),
        "volumeMounts" => ListType::Map(&["mountPath"]),
        "volumeDevices" => ListType::Map(&["devicePath"]),
        "hostAliases" => ListType::Map(&["ip"]),
        "topologySpreadConstraints" => ListType::Map(&["topologyKey", "whenUnsatisfiable"]),
        "conditions" => ListType::Map(&["type"]),
        "ownerReferences" => ListType::Map(&["uid"]),
        "finalizers" => ListType::Set,
        _ => ListType::Atomic,
    }
}

/// The schema default of a list-map key field, used when an item omits it (ports' `protocol`).
pub(crate) fn key_default(field: &str) -> Option<Value> {
    (field == "protocol").then(|| json!("TCP"))
}

/// Structs and maps owned as a whole (`+structType=atomic`, `+mapType=atomic`).
pub(crate) fn is_atomic(kind: Kind, names: &[String]) -> bool {
    let path: Vec<&str> = names.iter().map(String::as_str).collect();
    match (kind, path.as_slice()) {
        (Kind::Deployment | Kind::Service | Kind::PodDisruptionBudget, ["spec", "selector"]) => {
            true
        }
        (Kind::RoleBinding, ["roleRef"]) | (Kind::Event, ["involvedObject"]) => true,
        _ => matches!(
            last(names),
            "configMapKeyRef" | "secretKeyRef" | "fieldRef" | "resourceFieldRef"
        ),
    }
}

/// Objects that are string maps (each key is a field of its own) rather than structs.
pub(crate) fn is_map(names: &[String]) -> bool {
    match last(names) {
        "labels" | "annotations" | "nodeSelector" | "limits" | "requests" | "matchLabels" => true,
        "data" | "binaryData" | "stringData" => names.len() == 1,
        _ => false,
    }
}
