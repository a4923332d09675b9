//! Which Kubernetes object a request is about: the kinds konoha manages and their API paths.
//!
//! Only the small fixed table of kinds konoha renders lives here (no discovery round trip is
//! ever made); objects themselves stay dynamic JSON, built by the domain modules.

use std::fmt;

use ::kube::core::{ApiResource, DynamicObject, GroupVersionKind, Resource};
use serde_json::Value;

/// A kind of object konoha reads or writes, with the facts needed to address it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `v1` Service.
    Service,
    /// `v1` ConfigMap.
    ConfigMap,
    /// `v1` ServiceAccount.
    ServiceAccount,
    /// `v1` Secret.
    Secret,
    /// `v1` Pod.
    Pod,
    /// `v1` Event (the core one, which `kubectl describe` shows).
    Event,
    /// `rbac.authorization.k8s.io/v1` Role.
    Role,
    /// `rbac.authorization.k8s.io/v1` RoleBinding.
    RoleBinding,
    /// `policy/v1` PodDisruptionBudget.
    PodDisruptionBudget,
}

impl Kind {
    /// Every kind in the table.
    pub const ALL: [Kind; 10] = [
        Kind::Deployment,
        Kind::Service,
        Kind::ConfigMap,
        Kind::ServiceAccount,
        Kind::Secret,
        Kind::Pod,
        Kind::Event,
        Kind::Role,
        Kind::RoleBinding,
        Kind::PodDisruptionBudget,
    ];

    /// `apiVersion` as written in manifests (`v1`, `apps/v1`, …).
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Deployment => "apps/v1",
            Kind::Service
            | Kind::ConfigMap
            | Kind::ServiceAccount
            | Kind::Secret
            | Kind::Pod
            | Kind::Event => "v1",
            Kind::Role | Kind::RoleBinding => "rbac.authorization.k8s.io/v1",
            Kind::PodDisruptionBudget => "policy/v1",
        }
    }

    /// `kind` as written in manifests (`Deployment`, …).
    pub fn kind(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::Service => "Service",
            Kind::ConfigMap => "ConfigMap",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Secret => "Secret",
            Kind::Pod => "Pod",
            Kind::Event => "Event",
            Kind::Role => "Role",
            Kind::RoleBinding => "RoleBinding",
            Kind::PodDisruptionBudget => "PodDisruptionBudget",
        }
    }

    /// The resource name used in URL paths (`deployments`, …).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Deployment => "deployments",
            Kind::Service => "services",
            Kind::ConfigMap => "configmaps",
            Kind::ServiceAccount => "serviceaccounts",
            Kind::Secret => "secrets",
            Kind::Pod => "pods",
            Kind::Event => "events",
            Kind::Role => "roles",
            Kind::RoleBinding => "rolebindings",
            Kind::PodDisruptionBudget => "poddisruptionbudgets",
        }
    }

    /// Looks a kind up by `apiVersion` and `kind`; `None` for kinds outside the table.
    pub fn find(api_version: &str, kind: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.api_version() == api_version && k.kind() == kind)
    }
}

/// One namespaced object: what every single-object call is addressed by.
///
/// The fields are plain strings so that a kind outside [`Kind`] can still be addressed, but the
/// usual way to build one is [`ObjectRef::new`] or [`ObjectRef::from_manifest`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// `apiVersion`, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind`, e.g. `Deployment`.
    pub kind: String,
    /// Resource name in URL paths, e.g. `deployments`.
    pub plural: String,
    /// Namespace; empty for a cluster-scoped object.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// The object `name` of `kind` in `namespace`.
    pub fn new(kind: Kind, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: kind.api_version().to_owned(),
            kind: kind.kind().to_owned(),
            plural: kind.plural().to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// Reads `apiVersion`, `kind`, `metadata.namespace` and `metadata.name` from a rendered
    /// manifest. `None` when one of them (other than the namespace) is missing or the kind is
    /// not in the [`Kind`] table.
    pub fn from_manifest(manifest: &Value) -> Option<ObjectRef> {
        let api_version = manifest.get("apiVersion")?.as_str()?;
        let kind = Kind::find(api_version, manifest.get("kind")?.as_str()?)?;
        let metadata = manifest.get("metadata")?;
        let name = metadata.get("name")?.as_str()?;
        let namespace = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Some(ObjectRef::new(kind, namespace, name))
    }

    /// The kube-rs dynamic type for this object's kind.
    pub fn api_resource(&self) -> ApiResource {
        api_resource(&self.api_version, &self.kind, &self.plural)
    }

    /// Path of the collection the object lives in, e.g. `/apis/apps/v1/namespaces/kyuubi/deployments`.
    pub fn collection_path(&self) -> String {
        collection_path(&self.api_resource(), &self.namespace)
    }

    /// Path of the object itself, e.g. `/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt`.
    pub fn api_path(&self) -> String {
        format!("{}/{}", self.collection_path(), self.name)
    }
}

/// `Kind namespace/name`, the way errors and logs name an object.
impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Builds kube's dynamic type from strings; `apiVersion` without a slash is the core group.
pub(crate) fn api_resource(api_version: &str, kind: &str, plural: &str) -> ApiResource {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// Collection path for a kind in a namespace (empty namespace: cluster scope).
pub(crate) fn collection_path(resource: &ApiResource, namespace: &str) -> String {
    let namespace = (!namespace.is_empty()).then_some(namespace);
    DynamicObject::url_path(resource, namespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_follow_the_api_layout_for_core_and_named_groups() {
        let cases = [
            (
                Kind::Deployment,
                "/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt",
            ),
            (
                Kind::ConfigMap,
                "/api/v1/namespaces/kyuubi/configmaps/kyuubi-dbt",
            ),
            (
                Kind::Service,
                "/api/v1/namespaces/kyuubi/services/kyuubi-dbt",
            ),
            (
                Kind::ServiceAccount,
                "/api/v1/namespaces/kyuubi/serviceaccounts/kyuubi-dbt",
            ),
            (Kind::Secret, "/api/v1/namespaces/kyuubi/secrets/kyuubi-dbt"),
            (Kind::Pod, "/api/v1/namespaces/kyuubi/pods/kyuubi-dbt"),
            (Kind::Event, "/api/v1/namespaces/kyuubi/events/kyuubi-dbt"),
            (
                Kind::Role,
                "/apis/rbac.authorization.k8s.io/v1/namespaces/kyuubi/roles/kyuubi-dbt",
            ),
            (
                Kind::RoleBinding,
                "/apis/rbac.authorization.k8s.io/v1/namespaces/kyuubi/rolebindings/kyuubi-dbt",
            ),
            (
                Kind::PodDisruptionBudget,
                "/apis/policy/v1/namespaces/kyuubi/poddisruptionbudgets/kyuubi-dbt",
            ),
        ];
        for (kind, path) in cases {
            assert_eq!(
                ObjectRef::new(kind, "kyuubi", "kyuubi-dbt").api_path(),
                path
            );
        }
    }

    #[test]
    fn collection_path_and_cluster_scope() {
        let dep = ObjectRef::new(Kind::Deployment, "kyuubi", "x");
        assert_eq!(
            dep.collection_path(),
            "/apis/apps/v1/namespaces/kyuubi/deployments"
        );
        let cluster = ObjectRef::new(Kind::Role, "", "x");
        assert_eq!(
            cluster.api_path(),
            "/apis/rbac.authorization.k8s.io/v1/roles/x"
        );
    }

    #[test]
    fn every_kind_round_trips_through_the_table() {
        for kind in Kind::ALL {
            assert_eq!(Kind::find(kind.api_version(), kind.kind()), Some(kind));
        }
        assert_eq!(Kind::find("apps/v1", "StatefulSet"), None);
        assert_eq!(Kind::find("v1", "Deployment"), None);
    }

    #[test]
    fn from_manifest_reads_identity_fields() {
        let manifest = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "kyuubi-dbt", "namespace": "kyuubi"},
        });
        assert_eq!(
            ObjectRef::from_manifest(&manifest),
            Some(ObjectRef::new(Kind::RoleBinding, "kyuubi", "kyuubi-dbt"))
        );
        // The recording-09 body: no apiVersion/kind, so it cannot be addressed.
        let missing = json!({"metadata": {"name": "kyuubi-dbt"}, "data": {"a": "b"}});
        assert_eq!(ObjectRef::from_manifest(&missing), None);
    }

    #[test]
    fn display_names_kind_namespace_and_name() {
        let obj = ObjectRef::new(Kind::Deployment, "kyuubi", "kyuubi-dbt");
        assert_eq!(obj.to_string(), "Deployment kyuubi/kyuubi-dbt");
    }
}
