//! ServiceAccounts, Roles and RoleBindings: one set for the Kyuubi server, which runs
//! `spark-submit` and watches engines, and one for the Spark drivers, which create executors.
//!
//! Both Roles live in the engine namespace, where drivers and executors run; the server's
//! ServiceAccount lives with the server. Part of [`super::manifests`], which orders the objects.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::constants::DRIVER_RBAC_SUFFIX;
use super::object::Object;
use super::settings::ServerSettings;

const RBAC_API: &str = "rbac.authorization.k8s.io/v1";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The server's rights in the engine namespace. `spark-submit` in cluster mode creates the
/// driver pod and its Service and ConfigMap (recent Spark by server-side apply, hence `patch`;
/// older Spark replaces, hence `update`) and PVCs when drivers ask for them; Kyuubi's informer
/// lists and watches pods, and it deletes drivers it kills.
fn server_rules() -> Value {
    json!([
        {
            "apiGroups": [""],
            "resources": ["pods"],
            "verbs": ["create", "delete", "get", "list", "patch", "watch"],
        },
        {
            "apiGroups": [""],
            "resources": ["configmaps", "persistentvolumeclaims", "services"],
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
        },
    ])
}

/// The drivers' rights in their namespace: create, watch and clean up executors and what they
/// use (the rule set Spark's documentation and the spark-operator chart give drivers).
fn driver_rules() -> Value {
    json!([
        {
            "apiGroups": [""],
            "resources": ["configmaps", "persistentvolumeclaims", "pods", "services"],
            "verbs": [
                "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"
            ],
        },
    ])
}

/// Name of the drivers' Role and RoleBinding.
pub fn driver_rbac_name(name: &str) -> String {
    format!("{name}{DRIVER_RBAC_SUFFIX}")
}

/// The six RBAC objects, in apply order: server ServiceAccount, Role, RoleBinding, then the
/// drivers' ServiceAccount, Role, RoleBinding.
pub(crate) fn render_rbac(
    settings: &ServerSettings,
    labels: &BTreeMap<String, String>,
) -> Vec<Object> {
    let engine = &settings.engine;
    let server_account = &settings.name;
    let driver_role = driver_rbac_name(&settings.name);
    vec![
        service_account(server_account, &settings.namespace, labels),
        role(&settings.name, &engine.namespace, labels, server_rules()),
        role_binding(
            &settings.name,
            &engine.namespace,
            labels,
            server_account,
            &settings.namespace,
        ),
        service_account(&engine.service_account, &engine.namespace, labels),
        role(&driver_role, &engine.namespace, labels, driver_rules()),
        role_binding(
            &driver_role,
            &engine.namespace,
            labels,
            &engine.service_account,
            &engine.namespace,
        ),
    ]
}

fn service_account(name: &str, namespace: &str, labels: &BTreeMap<String, String>) -> Object {
    Object::new("v1", "ServiceAccount", name, namespace, labels, json!({}))
}

fn role(name: &str, namespace: &str, labels: &BTreeMap<String, String>, rules: Value) -> Object {
    Object::new(
        RBAC_API,
        "Role",
        name,
        namespace,
        labels,
        json!({ "rules": rules }),
    )
}

/// Binds the Role of the same name to a ServiceAccount, which may live in another namespace.
fn role_binding(
    name: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    account: &str,
    account_namespace: &str,
) -> Object {
    Object::new(
        RBAC_API,
        "RoleBinding",
        name,
        namespace,
        labels,
        json!({
            "roleRef": { "apiGroup": RBAC_GROUP, "kind": "Role", "name": name },
            "subjects": [
                { "kind": "ServiceAccount", "name": account, "namespace": account_namespace }
            ],
        }),
    )
}
