//! Pod Security Standards `restricted` for every pod a server brings: its own pods and the
//! Spark driver and executor pods it launches, which get their security through the pod
//! templates (`spark.kubernetes.{driver,executor}.podTemplateFile`) the ConfigMap carries.
//!
//! The rules, as the Kubernetes documentation lists them for `restricted`: `runAsNonRoot`, a
//! `runAsUser` other than 0, `seccompProfile` `RuntimeDefault`, and on each container
//! `allowPrivilegeEscalation: false` with every capability dropped. Volumes are configMap,
//! secret and emptyDir only, which `restricted` allows. The ids default to the users the
//! images were built with, so the processes can still write what the images let them.

use serde_json::{Value, json};

use super::constants::{DRIVER_CONTAINER_NAME, EXECUTOR_CONTAINER_NAME};
use crate::rules::Field;

/// The `apache/kyuubi` images' user: `kyuubi`, uid 10009 (the `kyuubi_uid` build argument of
/// Kyuubi's `docker/Dockerfile`), primary group `root`, which owns `$KYUUBI_HOME`.
pub const KYUUBI_UID: i64 = 10009;
/// The `apache/spark` images' user: `spark`, uid and gid 185 (`spark_uid`).
pub const SPARK_UID: i64 = 185;

/// The ids a pod runs with: `runAsUser`, `runAsGroup` (the image's when `None`), `fsGroup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodIdentity {
    /// `runAsUser`, never 0.
    pub run_as_user: i64,
    /// `runAsGroup`, when given.
    pub run_as_group: Option<i64>,
    /// `fsGroup`: owns the pod's volumes.
    pub fs_group: i64,
}

impl PodIdentity {
    /// `self` with what `user`, `group` and `fs_group` set; `None` while one is unknown.
    pub(super) fn overridden(
        self,
        user: &Field<i64>,
        group: &Field<i64>,
        fs_group: &Field<i64>,
    ) -> Option<PodIdentity> {
        Some(PodIdentity {
            run_as_user: user.or(self.run_as_user)?,
            run_as_group: match group.known()? {
                Some(group) => Some(*group),
                None => self.run_as_group,
            },
            fs_group: fs_group.or(self.fs_group)?,
        })
    }
}

/// The server pod's ids unless `pod_security_context` says otherwise. The group is left to the
/// image (root for `kyuubi`, which owns `$KYUUBI_HOME`); `fsGroup` makes the emptyDirs the
/// process writes to its own.
pub const SERVER_IDENTITY: PodIdentity = PodIdentity {
    run_as_user: KYUUBI_UID,
    run_as_group: None,
    fs_group: KYUUBI_UID,
};

/// The engines' ids unless `engine` says otherwise.
pub const ENGINE_IDENTITY: PodIdentity = PodIdentity {
    run_as_user: SPARK_UID,
    run_as_group: None,
    fs_group: SPARK_UID,
};

/// A pod's `spec.securityContext`: non-root with the given ids, the runtime's seccomp profile.
/// Pod-level, so it covers containers others inject (the Vault Agent's) as well.
pub fn pod_security_context(identity: &PodIdentity) -> Value {
    let mut context = json!({
        "runAsNonRoot": true,
        "runAsUser": identity.run_as_user,
        "fsGroup": identity.fs_group,
        "seccompProfile": { "type": "RuntimeDefault" },
    });
    if let (Some(group), Value::Object(map)) = (identity.run_as_group, &mut context) {
        map.insert("runAsGroup".to_owned(), json!(group));
    }
    context
}

/// A container's `securityContext`: no privilege escalation, no capabilities. `restricted`
/// checks these per container, so they cannot live on the pod.
pub fn container_security_context() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "capabilities": { "drop": ["ALL"] },
    })
}

/// A Spark pod template: Spark takes the pod from it and adds its own containers' settings to
/// the first container, whose name it keeps (`container` is Spark's default name, so logs and
/// `kubectl` read as usual).
fn spark_pod_template(identity: &PodIdentity, container: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {
            "securityContext": pod_security_context(identity),
            "containers": [{
                "name": container,
                "securityContext": container_security_context(),
            }],
        },
    })
}

/// The driver pods' template, for engines running as `identity`.
pub fn driver_pod_template(identity: &PodIdentity) -> Value {
    spark_pod_template(identity, DRIVER_CONTAINER_NAME)
}

/// The executor pods' template. Executor placement (a node selector, tolerations) belongs in
/// its `spec` too: Spark keeps whatever the template holds that it does not set itself.
pub fn executor_pod_template(identity: &PodIdentity) -> Value {
    spark_pod_template(identity, EXECUTOR_CONTAINER_NAME)
}

/// A template as the ConfigMap holds it. JSON is YAML, and Spark's loader (the fabric8
/// client's) reads either; pretty-printed so `kubectl get configmap -o yaml` stays readable.
pub fn template_file(template: &Value) -> String {
    let mut text = serde_json::to_string_pretty(template).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
pub(crate) mod tests;
