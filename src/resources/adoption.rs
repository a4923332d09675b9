//! Whether a create may take over an object that already exists in the cluster: a pure
//! judgement on the live object, used by `konoha_kyuubi_server` before its first apply.
//!
//! A create finds objects of its own when an earlier create was interrupted after writing them
//! (the provider killed, Terraform's record lost): those carry this server's instance label,
//! konoha's `managed-by` label and konoha as a server-side-apply field manager, and are adopted
//! by applying over them. Anything else with the same name belongs to someone else, and a
//! create must not silently take it over. Fetching the objects is the resource's job.

use serde_json::Value as Json;

use crate::kyuubi::constants::{
    FIELD_MANAGER, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_MANAGED_BY_VALUE,
};

/// Why `live` is not this server's own, or `None` when a create may adopt it. `instance` is
/// the server's name (the value of its instance label).
pub(crate) fn not_ours(live: &Json, instance: &str) -> Option<String> {
    let label = |key: &str| {
        live.pointer("/metadata/labels")
            .and_then(|labels| labels.get(key))
            .and_then(Json::as_str)
    };
    if label(LABEL_INSTANCE) != Some(instance) {
        return Some(format!(
            "its {LABEL_INSTANCE} label is {}, not {instance:?}",
            shown(label(LABEL_INSTANCE))
        ));
    }
    if label(LABEL_MANAGED_BY) != Some(LABEL_MANAGED_BY_VALUE) {
        return Some(format!(
            "its {LABEL_MANAGED_BY} label is {}, not {LABEL_MANAGED_BY_VALUE:?}",
            shown(label(LABEL_MANAGED_BY))
        ));
    }
    let applied_by_us = live
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array)
        .is_some_and(|entries| {
            entries.iter().any(|entry| {
                entry.get("manager").and_then(Json::as_str) == Some(FIELD_MANAGER)
                    && entry.get("operation").and_then(Json::as_str) == Some("Apply")
            })
        });
    if !applied_by_us {
        return Some(format!(
            "{FIELD_MANAGER:?} never applied it (it is not among its field managers)"
        ));
    }
    None
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "missing".to_owned(), |v| format!("{v:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(labels: Json, managers: &[(&str, &str)]) -> Json {
        let fields: Vec<Json> = managers
            .iter()
            .map(|(manager, operation)| json!({"manager": manager, "operation": operation}))
            .collect();
        json!({"metadata": {"name": "kyuubi-dbt", "labels": labels, "managedFields": fields}})
    }

    fn ours() -> Json {
        json!({"app.kubernetes.io/instance": "kyuubi-dbt", "app.kubernetes.io/managed-by": "konoha"})
    }

    #[test]
    fn an_object_konoha_applied_for_this_server_is_adopted() {
        let live = object(
            ours(),
            &[("konoha", "Apply"), ("kube-controller-manager", "Update")],
        );
        assert_eq!(not_ours(&live, "kyuubi-dbt"), None);
    }

    #[test]
    fn anything_else_is_someone_elses() {
        let cases = [
            (
                object(ours(), &[("konoha", "Apply")]),
                "kyuubi-other",
                "its app.kubernetes.io/instance label is \"kyuubi-dbt\", not \"kyuubi-other\"",
            ),
            (
                object(
                    json!({"app.kubernetes.io/instance": "kyuubi-dbt"}),
                    &[("konoha", "Apply")],
                ),
                "kyuubi-dbt",
                "its app.kubernetes.io/managed-by label is missing, not \"konoha\"",
            ),
            (
                object(
                    json!({"app.kubernetes.io/instance": "kyuubi-dbt", "app.kubernetes.io/managed-by": "helm"}),
                    &[("konoha", "Apply")],
                ),
                "kyuubi-dbt",
                "its app.kubernetes.io/managed-by label is \"helm\", not \"konoha\"",
            ),
            (
                object(ours(), &[("kubectl-client-side-apply", "Update")]),
                "kyuubi-dbt",
                "\"konoha\" never applied it (it is not among its field managers)",
            ),
            (
                object(ours(), &[("konoha", "Update")]),
                "kyuubi-dbt",
                "\"konoha\" never applied it (it is not among its field managers)",
            ),
            (
                json!({"metadata": {"name": "kyuubi-dbt"}}),
                "kyuubi-dbt",
                "its app.kubernetes.io/instance label is missing, not \"kyuubi-dbt\"",
            ),
        ];
        for (live, instance, expected) in cases {
            assert_eq!(
                not_ours(&live, instance).as_deref(),
                Some(expected),
                "{live}"
            );
        }
    }
}
