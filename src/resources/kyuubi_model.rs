//! Conversions for `konoha_kyuubi_server`: Terraform values to the Kyuubi domain's
//! [`ServerInput`], the arguments annotation that makes import exact, and the comparison of
//! desired and live objects that drift detection rests on.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::omitted::left_out_when_empty;
use super::placement_model::tolerations_input;
use super::profile_model::{
    Ints, field_block as block, field_bool, field_string, field_string_map,
};
use crate::kyuubi::{self, ServerInput};
use crate::tf::{self, Diagnostics, Type, Value};

/// The Deployment annotation holding the resource's arguments as JSON. Import reads it back,
/// so that an imported server holds exactly the arguments it was created with; Kubernetes
/// objects alone cannot tell defaults from choices.
pub const ARGUMENTS_ANNOTATION: &str = "konoha.io/arguments";

/// The domain's view of a server's configuration or plan; an error when a whole-number
/// argument holds something else.
pub fn server_input(v: &Value) -> Result<ServerInput, Diagnostics> {
    let mut ints = Ints::default();
    let input = ServerInput {
        name: field_string(v.attr("name")),
        namespace: field_string(v.attr("namespace")),
        image: field_string(v.attr("image")),
        replicas: ints.read(v.attr("replicas"), "replicas"),
        share_level: field_string(v.attr("share_level")),
        thrift_binary_port: ints.read(v.attr("thrift_binary_port"), "thrift_binary_port"),
        rest_port: ints.read(v.attr("rest_port"), "rest_port"),
        thrift_http_port: ints.read(v.attr("thrift_http_port"), "thrift_http_port"),
        service_type: field_string(v.attr("service_type")),
        spark_profile: field_string(v.attr("spark_profile")),
        delivery: field_string(v.attr("delivery")),
        vault_agent: block(v.attr("vault_agent"), |b| kyuubi::VaultAgentInput {
            role: field_string(b.attr("role")),
            auth_path: field_string(b.attr("auth_path")),
            annotation_prefix: field_string(b.attr("annotation_prefix")),
            pre_populate: field_bool(b.attr("pre_populate")),
        }),
        engine: block(v.attr("engine"), |b| kyuubi::EngineInput {
            namespace: field_string(b.attr("namespace")),
            service_account: field_string(b.attr("service_account")),
            image: field_string(b.attr("image")),
            file_upload_path: field_string(b.attr("file_upload_path")),
            idle_timeout: field_string(b.attr("idle_timeout")),
            initialize_timeout: field_string(b.attr("initialize_timeout")),
            run_as_user: ints.read(b.attr("run_as_user"), "engine.run_as_user"),
            run_as_group: ints.read(b.attr("run_as_group"), "engine.run_as_group"),
            fs_group: ints.read(b.attr("fs_group"), "engine.fs_group"),
        }),
        metrics: block(v.attr("metrics"), |b| kyuubi::MetricsInput {
            enabled: field_bool(b.attr("enabled")),
            port: ints.read(b.attr("port"), "metrics.port"),
        }),
        kyuubi_conf: field_string_map(v.attr("kyuubi_conf")),
        ha: block(v.attr("ha"), |b| kyuubi::HaInput {
            addresses: field_string(b.attr("addresses")),
            namespace: field_string(b.attr("namespace")),
        }),
        resources: block(v.attr("resources"), |b| kyuubi::ResourcesInput {
            requests_cpu: field_string(b.attr("requests_cpu")),
            requests_memory: field_string(b.attr("requests_memory")),
            limits_cpu: field_string(b.attr("limits_cpu")),
            limits_memory: field_string(b.attr("limits_memory")),
        }),
        pod_security_context: block(v.attr("pod_security_context"), |b| {
            kyuubi::PodSecurityInput {
                run_as_user: ints.read(b.attr("run_as_user"), "pod_security_context.run_as_user"),
                run_as_group: ints
                    .read(b.attr("run_as_group"), "pod_security_context.run_as_group"),
                fs_group: ints.read(b.attr("fs_group"), "pod_security_context.fs_group"),
            }
        }),
        labels: field_string_map(v.attr("labels")),
        node_selector: field_string_map(v.attr("node_selector")),
        tolerations: tolerations_input(v.attr("tolerations"), "tolerations", &mut ints),
        affinity: field_string(v.attr("affinity")),
        restart_engines: field_bool(v.attr("restart_engines")),
        wait_for_rollout: field_bool(v.attr("wait_for_rollout")),
        force_conflicts: field_bool(v.attr("force_conflicts")),
        progress_deadline_seconds: ints.read(
            v.attr("progress_deadline_seconds"),
            "progress_deadline_seconds",
        ),
    };
    ints.finish(input)
}

/// The resource's arguments (every non-computed attribute and block) as compact JSON. Computed
/// attributes are left out: during apply some are still unknown, and they have no JSON form.
pub fn arguments_json(state: &Value, ty: &Type, argument_names: &[String]) -> String {
    let mut arguments = state.clone();
    if let Some(entries) = arguments.as_map_mut() {
        for (name, value) in entries.iter_mut() {
            if !argument_names.contains(name) {
                *value = Value::Null;
            }
        }
    }
    let encoded = match tf::json::encode(&arguments, ty) {
        Ok(Json::Object(all)) => all
            .into_iter()
            .filter(|(name, _)| argument_names.contains(name))
            .collect(),
        _ => serde_json::Map::new(),
    };
    Json::Object(encoded).to_string()
}

/// The state recorded in a Deployment's arguments annotation, or `None` when the Deployment
/// was not made by this provider (or the annotation does not parse).
pub fn state_from_arguments(deployment: &Json, ty: &Type) -> Option<Value> {
    let text = deployment
        .pointer("/metadata/annotations")?
        .get(ARGUMENTS_ANNOTATION)?
        .as_str()?;
    tf::json::decode_lenient(text.as_bytes(), ty).ok()
}

/// The first place where `live` does not hold what `desired` says, as a readable path; `None`
/// when every field of `desired` is in `live` with the same value. An empty string or list
/// missing from `live` is the same value: the API server leaves it out. Fields only in `live` —
/// server defaults, `kubectl rollout restart`'s annotation, an injector's — are not compared:
/// they are not this provider's.
pub fn first_difference(desired: &Json, live: &Json) -> Option<String> {
    difference(desired, live, String::new())
}

fn difference(desired: &Json, live: &Json, at: String) -> Option<String> {
    match (desired, live) {
        (Json::Object(d), Json::Object(l)) => d.iter().find_map(|(key, dv)| match l.get(key) {
            Some(lv) => difference(dv, lv, format!("{at}.{key}")),
            None if dv.is_null() || left_out_when_empty(dv) => None,
            None => Some(format!("{at}.{key} (removed)")),
        }),
        (Json::Array(d), Json::Array(l)) => {
            if d.len() != l.len() {
                return Some(format!("{at} (now {} items, not {})", l.len(), d.len()));
            }
            d.iter().enumerate().find_map(|(i, dv)| {
                let lv = matching_item(dv, l).unwrap_or(&l[i]);
                difference(dv, lv, format!("{at}[{}]", item_label(dv, i)))
            })
        }
        (d, l) if scalars_equal(d, l) => None,
        _ => Some(at),
    }
}

/// Kubernetes merges most object lists by a key field; match items the same way, so that a
/// reordering by the server is not a difference.
fn matching_item<'a>(desired: &Json, live: &'a [Json]) -> Option<&'a Json> {
    ["name", "mountPath", "containerPort", "port"]
        .iter()
        .find_map(|key| desired.get(*key).map(|v| (*key, v)))
        .and_then(|(key, value)| live.iter().find(|item| item.get(key) == Some(value)))
}

fn item_label(item: &Json, index: usize) -> String {
    item.get("name")
        .and_then(Json::as_str)
        .map_or_else(|| index.to_string(), |name| format!("name={name}"))
}

/// Equal, allowing for the API server's normal forms: numbers written as strings, and
/// quantities (`"1.8"` reads back as `"1800m"`).
fn scalars_equal(desired: &Json, live: &Json) -> bool {
    if desired == live {
        return true;
    }
    let text = |v: &Json| match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match (text(desired), text(live)) {
        (Some(d), Some(l)) if d == l => true,
        (Some(d), Some(l)) => matches!(
            (kyuubi::syntax::parse_quantity_nanos(&d), kyuubi::syntax::parse_quantity_nanos(&l)),
            (Ok(a), Ok(b)) if a == b
        ),
        _ => false,
    }
}

/// Labels as a map for the pod selector of this server's Spark drivers, for messages.
pub fn describe_selector(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn extra_live_fields_are_not_differences() {
        let desired = json!({"spec": {"template": {"metadata": {"annotations": {"konoha.io/config-sha256": "a"}}}}});
        let live = json!({"spec": {"template": {"metadata": {"annotations": {
            "konoha.io/config-sha256": "a",
            "kubectl.kubernetes.io/restartedAt": "2026-11-25T01:02:03Z"
        }}}, "revisionHistoryLimit": 10}});
        assert_eq!(first_difference(&desired, &live), None);
    }

    #[test]
    fn changed_and_removed_fields_are_named() {
        let desired = json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [
            {"name": "kyuubi", "image": "a:1", "resources": {"requests": {"cpu": "1.8"}}}
        ]}}}});
        let scaled = json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"name": "kyuubi", "image": "a:1", "resources": {"requests": {"cpu": "1800m"}}}
        ]}}}});
        assert_eq!(
            first_difference(&desired, &scaled),
            Some(".spec.replicas".to_owned())
        );
        let retagged = json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [
            {"name": "kyuubi", "image": "a:2", "resources": {"requests": {"cpu": "1800m"}}}
        ]}}}});
        assert_eq!(
            first_difference(&desired, &retagged),
            Some(".spec.template.spec.containers[name=kyuubi].image".to_owned())
        );
        assert_eq!(
            first_difference(&json!({"data": {"a": "1"}}), &json!({"data": {}})),
            Some(".data.a (removed)".to_owned())
        );
    }

    #[test]
    fn empty_strings_and_lists_the_api_server_leaves_out_are_no_difference() {
        let desired = json!({"spec": {"template": {"spec": {
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": ""}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "pool", "operator": "Exists", "values": []}
                ]}]
            }}},
            "volumes": [{"name": "conf", "emptyDir": {}}],
        }}}});
        let live = json!({"spec": {"template": {"spec": {
            "tolerations": [{"key": "dedicated", "operator": "Equal"}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "Exists"}]}]
            }}},
            "volumes": [{"name": "conf", "emptyDir": {}}],
        }}}});
        assert_eq!(first_difference(&desired, &live), None);
        // An emptyDir that is gone is a change: the API server keeps `{}`.
        let other_volume = json!({"spec": {"template": {"spec": {
            "tolerations": [{"key": "dedicated", "operator": "Equal"}],
            "volumes": [{"name": "conf", "hostPath": {"path": "/tmp"}}],
        }}}});
        let desired_volume = json!({"spec": {"template": {"spec": {
            "volumes": [{"name": "conf", "emptyDir": {}}],
        }}}});
        assert_eq!(
            first_difference(&desired_volume, &other_volume),
            Some(".spec.template.spec.volumes[name=conf].emptyDir (removed)".to_owned())
        );
    }
}
