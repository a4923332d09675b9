//! The parts of an object a field manager owns, read from `metadata.managedFields`.
//!
//! This lets a resource compare only what konoha applied, so `kubectl rollout restart`, sidecar
//! injectors and controllers' defaults never show as drift, while a change by someone else to a
//! field konoha owns (which moves ownership away from konoha) does. Deciding what counts as drift
//! is the resource's job; this module only projects.
//!
//! `fieldsV1` is a trie of path elements, one JSON key per element:
//! - `f:<name>`: the field `<name>` of a map/struct;
//! - `k:<json object>`: the item of an associative list whose key fields have these values
//!   (e.g. `k:{"name":"kyuubi"}` in `containers`);
//! - `v:<json value>`: the item of a set-like list equal to that value (e.g. finalizers);
//! - `i:<index>`: the item at that index of an atomic-by-position list;
//! - `.`: the node itself exists because of this manager; its children are owned only where
//!   listed next to it (so `{".": {}}` alone keeps an empty map or list).
//!
//! A leaf (`{}`) owns the whole value below it: atomic maps such as `selector` appear so.

use serde_json::{Map, Value};

/// The `fieldsV1` of `manager`'s `Apply` entry in `metadata.managedFields`, or `None` when that
/// manager never applied this object, only applied to a subresource such as `status`, or owns
/// nothing any more (the server drops an entry once other managers forced all its fields away;
/// for drift detection `None` means every applied field is gone from konoha's hands).
pub fn owned_fields<'a>(object: &'a Value, manager: &str) -> Option<&'a Value> {
    object
        .pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|entry| {
            entry.get("manager").and_then(Value::as_str) == Some(manager)
                && entry.get("operation").and_then(Value::as_str) == Some("Apply")
                && entry
                    .get("subresource")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
        })?
        .get("fieldsV1")
}

/// Keeps only the parts of `object` named by `fields_v1` (see the module doc for the format).
///
/// Maps keep only owned fields; lists keep only owned items, in the object's order, each
/// projected by its own subtree; a leaf keeps its whole value. Fields or items the trie names
/// but the object lacks are simply absent from the result, so comparing the projection with
/// what was applied shows them as missing.
pub fn project_owned(object: &Value, fields_v1: &Value) -> Value {
    match fields_v1.as_object() {
        Some(set) => project(object, set),
        None => Value::Null,
    }
}

fn project(value: &Value, set: &Map<String, Value>) -> Value {
    // A leaf: the value is owned as a whole (atomic maps and lists, scalars).
    if set.is_empty() {
        return value.clone();
    }
    match value {
        Value::Object(fields) => {
            let mut kept = Map::new();
            for (element, subtree) in set {
                let Some(name) = element.strip_prefix("f:") else {
                    continue;
                };
                if let Some(child) = fields.get(name) {
                    kept.insert(name.to_owned(), project_child(child, subtree));
                }
            }
            Value::Object(kept)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(index, item)| {
                    set.iter()
                        .find(|(element, _)| item_matches(element, index, item))
                        .map(|(_, subtree)| project_child(item, subtree))
                })
                .collect(),
        ),
        // A scalar where the trie expects children: the owned value is the scalar itself.
        scalar => scalar.clone(),
    }
}

fn project_child(value: &Value, subtree: &Value) -> Value {
    match subtree.as_object() {
        Some(set) => project(value, set),
        None => value.clone(),
    }
}

/// Whether list item `item` at `index` is the one a `k:`, `v:` or `i:` path element names.
pub(super) fn item_matches(element: &str, index: usize, item: &Value) -> bool {
    if let Some(keys) = element.strip_prefix("k:") {
        let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(keys) else {
            return false;
        };
        keys.iter().all(|(k, v)| item.get(k) == Some(v))
    } else if let Some(wanted) = element.strip_prefix("v:") {
        serde_json::from_str::<Value>(wanted).is_ok_and(|wanted| &wanted == item)
    } else if let Some(position) = element.strip_prefix("i:") {
        position.parse::<usize>() == Ok(index)
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// konoha's `fieldsV1` for the Deployment in recordings 10, 12, 15 and 16.
    fn konoha_deployment_fields() -> Value {
        json!({
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {
                        "f:annotations": {"f:konoha.io/spark-profile-sha256": {}},
                        "f:labels": {"f:app.kubernetes.io/instance": {}}
                    },
                    "f:spec": {
                        "f:containers": {
                            "k:{\"name\":\"kyuubi\"}": {
                                ".": {},
                                "f:image": {},
                                "f:name": {},
                                "f:ports": {
                                    "k:{\"containerPort\":10009,\"protocol\":\"TCP\"}": {
                                        ".": {},
                                        "f:containerPort": {},
                                        "f:name": {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
        })
    }

    /// The Deployment as the server answered in recording 16 (after `kubectl rollout restart`
    /// and konoha's re-apply with sha `bbb`), with the managedFields of all three managers.
    fn deployment_after_restart() -> Value {
        json!({
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": "kyuubi-dbt",
                "namespace": "kyuubi",
                "uid": "f2a48922-3291-405c-8cf4-985b657b18c5",
                "resourceVersion": "275",
                "generation": 3,
                "creationTimestamp": "2026-11-25T01:02:02Z",
                "annotations": {"deployment.kubernetes.io/revision": "3"},
                "managedFields": [
                    {"manager": "konoha", "operation": "Apply", "apiVersion": "apps/v1",
                     "time": "2026-11-25T01:02:06Z", "fieldsType": "FieldsV1",
                     "fieldsV1": konoha_deployment_fields()},
                    {"manager": "kubectl-rollout", "operation": "Update", "apiVersion": "apps/v1",
                     "time": "2026-11-25T01:02:12Z", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:spec": {"f:template": {"f:metadata": {"f:annotations": {
                         "f:kubectl.kubernetes.io/restartedAt": {}}}}}}},
                    {"manager": "kube-controller-manager", "operation": "Update",
                     "apiVersion": "apps/v1", "time": "2026-11-25T01:02:13Z",
                     "fieldsType": "FieldsV1", "subresource": "status",
                     "fieldsV1": {"f:metadata": {"f:annotations": {".": {},
                         "f:deployment.kubernetes.io/revision": {}}},
                         "f:status": {"f:observedGeneration": {}, "f:replicas": {}}}}
                ]
            },
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/instance": "kyuubi-dbt"}},
                "template": {
                    "metadata": {
                        "creationTimestamp": null,
                        "labels": {"app.kubernetes.io/instance": "kyuubi-dbt"},
                        "annotations": {
                            "konoha.io/spark-profile-sha256": "bbb",
                            "kubectl.kubernetes.io/restartedAt": "2026-11-25T01:02:12Z"
                        }
                    },
                    "spec": {
                        "containers": [{
                            "name": "kyuubi",
                            "image": "apache/kyuubi:1.10.2-spark",
                            "ports": [{"name": "thrift-binary", "containerPort": 10009, "protocol": "TCP"}],
                            "resources": {},
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File",
                            "imagePullPolicy": "IfNotPresent"
                        }],
                        "restartPolicy": "Always",
                        "terminationGracePeriodSeconds": 30,
                        "dnsPolicy": "ClusterFirst",
                        "securityContext": {},
                        "schedulerName": "default-scheduler"
                    }
                },
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600
            },
            "status": {"observedGeneration": 3, "replicas": 1, "updatedReplicas": 1,
                       "readyReplicas": 1, "availableReplicas": 1}
        })
    }

    /// The `spec` konoha applied in recording 16 (sha `bbb`).
    fn applied_spec(sha: &str) -> Value {
        json!({
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/instance": "kyuubi-dbt"}},
            "template": {
                "metadata": {
                    "labels": {"app.kubernetes.io/instance": "kyuubi-dbt"},
                    "annotations": {"konoha.io/spark-profile-sha256": sha}
                },
                "spec": {"containers": [{
                    "name": "kyuubi",
                    "image": "apache/kyuubi:1.10.2-spark",
                    "ports": [{"containerPort": 10009, "name": "thrift-binary"}]
                }]}
            }
        })
    }

    #[test]
    fn owned_fields_picks_the_managers_apply_entry() {
        let object = deployment_after_restart();
        assert_eq!(
            owned_fields(&object, "konoha"),
            Some(&konoha_deployment_fields())
        );
        // kubectl-rollout only ever updated: it has no Apply entry.
        assert_eq!(owned_fields(&object, "kubectl-rollout"), None);
        assert_eq!(owned_fields(&object, "nobody"), None);
        assert_eq!(owned_fields(&json!({"metadata": {}}), "konoha"), None);
    }

    #[test]
    fn owned_fields_skips_subresource_applies() {
        let object = json!({"metadata": {"managedFields": [
            {"manager": "konoha", "operation": "Apply", "subresource": "status",
             "fieldsV1": {"f:status": {}}},
            {"manager": "konoha", "operation": "Apply", "fieldsV1": {"f:data": {}}}
        ]}});
        assert_eq!(
            owned_fields(&object, "konoha"),
            Some(&json!({"f:data": {}}))
        );
    }

    #[test]
    fn projection_of_the_restarted_deployment_is_exactly_what_konoha_applied() {
        // Recording 16: defaults (protocol, imagePullPolicy, strategy, …), the restartedAt
        // annotation and the controller's revision annotation are all dropped; what is left is
        // the spec konoha sent, so a re-read shows no drift.
        let object = deployment_after_restart();
        let fields = owned_fields(&object, "konoha").unwrap();
        assert_eq!(
            project_owned(&object, fields),
            json!({"spec": applied_spec("bbb")})
        );
    }

    #[test]
    fn a_change_to_an_owned_field_shows() {
        // Someone edits the image with an Update (kubectl edit): the value differs and the
        // projection says so. (Ownership moving away from konoha is the same test: the field
        // disappears from the trie and hence from the projection.)
        let mut object = deployment_after_restart();
        object["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil:latest");
        let fields = konoha_deployment_fields();
        let projected = project_owned(&object, &fields);
        assert_eq!(
            projected.pointer("/spec/template/spec/containers/0/image"),
            Some(&json!("evil:latest"))
        );
        assert_ne!(projected, json!({"spec": applied_spec("bbb")}));
    }

    #[test]
    fn leaf_owns_the_whole_value_and_absent_fields_stay_absent() {
        // `f:selector: {}` is atomic: a label added under it is still konoha's.
        let object = json!({"spec": {"selector": {"matchLabels": {"a": "1", "b": "2"}},
                                     "replicas": 3}});
        let fields = json!({"f:spec": {"f:selector": {}, "f:paused": {}}});
        assert_eq!(
            project_owned(&object, &fields),
            json!({"spec": {"selector": {"matchLabels": {"a": "1", "b": "2"}}}})
        );
    }

    #[test]
    fn associative_list_items_match_all_their_keys() {
        let object = json!({"ports": [
            {"containerPort": 10009, "protocol": "TCP", "name": "thrift"},
            {"containerPort": 10009, "protocol": "UDP", "name": "other"},
            {"containerPort": 10099, "protocol": "TCP", "name": "rest"}
        ]});
        let fields = json!({"f:ports": {
            "k:{\"containerPort\":10099,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}},
            "k:{\"containerPort\":10009,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}}
        }});
        // Object order is kept, the UDP item is someone else's.
        assert_eq!(
            project_owned(&object, &fields),
            json!({"ports": [{"name": "thrift"}, {"containerPort": 10099}]})
        );
    }

    #[test]
    fn set_items_and_indexed_items() {
        let object = json!({"metadata": {"finalizers": ["a.io/x", "konoha.io/y", "b.io/z"]},
                            "args": ["--one", "--two"]});
        let fields = json!({"f:metadata": {"f:finalizers": {"v:\"konoha.io/y\"": {}}},
                            "f:args": {"i:1": {}}});
        assert_eq!(
            project_owned(&object, &fields),
            json!({"metadata": {"finalizers": ["konoha.io/y"]}, "args": ["--two"]})
        );
    }

    #[test]
    fn dot_keeps_the_node_but_only_listed_children() {
        // Recording 12's controller entry: `.` plus one annotation.
        let object = json!({"metadata": {"annotations": {
            "deployment.kubernetes.io/revision": "1", "other": "x"}}});
        let fields = json!({"f:metadata": {"f:annotations": {
            ".": {}, "f:deployment.kubernetes.io/revision": {}}}});
        assert_eq!(
            project_owned(&object, &fields),
            json!({"metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}}})
        );
        // `.` alone: the map is konoha's, none of its entries are.
        let only_dot = json!({"f:data": {".": {}}, "f:list": {".": {}}});
        assert_eq!(
            project_owned(&json!({"data": {"k": "v"}, "list": [1]}), &only_dot),
            json!({"data": {}, "list": []})
        );
    }

    #[test]
    fn configmap_projection_from_recording_01() {
        let object = json!({
            "kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "kyuubi-dbt", "namespace": "kyuubi", "resourceVersion": "220",
                "labels": {"app.kubernetes.io/managed-by": "konoha", "added-by": "someone"},
                "managedFields": [{"manager": "konoha", "operation": "Apply", "apiVersion": "v1",
                    "fieldsType": "FieldsV1", "fieldsV1": {
                        "f:data": {"f:kyuubi-defaults.conf": {}},
                        "f:metadata": {"f:labels": {"f:app.kubernetes.io/managed-by": {}}}}}]},
            "data": {"kyuubi-defaults.conf": "kyuubi.engine.share.level=USER\n", "extra": "x"}
        });
        let fields = owned_fields(&object, "konoha").unwrap();
        assert_eq!(
            project_owned(&object, fields),
            json!({
                "data": {"kyuubi-defaults.conf": "kyuubi.engine.share.level=USER\n"},
                "metadata": {"labels": {"app.kubernetes.io/managed-by": "konoha"}}
            })
        );
    }

    #[test]
    fn malformed_tries_project_to_nothing_rather_than_panic() {
        let object = json!({"a": [1, 2]});
        assert_eq!(project_owned(&object, &json!("not a trie")), Value::Null);
        assert_eq!(
            project_owned(&object, &json!({"f:a": {"k:not json": {}}})),
            json!({"a": []})
        );
    }
}
