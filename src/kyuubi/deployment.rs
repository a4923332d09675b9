//! The server's Deployment: pod template labels and restart annotations, the Vault Agent
//! Injector annotations, and the one `kyuubi` container with its ports, probes, resources and
//! volumes.
//!
//! Part of [`super::manifests`]. What the container runs is [`super::conf::START_SCRIPT`];
//! judging a rollout is [`super::rollout`]'s job.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::conf::{START_SCRIPT, config_sha256};
use super::constants::{
    ANNOTATION_CONFIG_SHA256, ANNOTATION_PROFILE_SHA256, ANNOTATION_PROMETHEUS_PATH,
    ANNOTATION_PROMETHEUS_PORT, ANNOTATION_PROMETHEUS_SCRAPE, CONF_DIR, CONF_TEMPLATE_DIR,
    CONTAINER_NAME, ENV_KYUUBI_CONF_DIR, METRICS_PATH, PROFILE_DIR, PROFILE_FILE_NAME, VOLUME_CONF,
    VOLUME_CONF_TEMPLATE, VOLUME_PROFILE, WRITABLE_DIRS,
};
use super::object::{Object, config_map_name, profile_secret_name, selector_labels, server_ports};
use super::pod_security::{container_security_context, pod_security_context};
use super::settings::{Delivery, ProfileRef, ServerSettings, VaultAgent};

/// The injector template for `spark.env`: one `key=value` line per entry of the KV v2 data.
/// Go templates range over a map in sorted key order, so the file equals the profile's
/// `rendered` text byte for byte.
pub fn vault_agent_template(profile: &ProfileRef) -> String {
    format!(
        "{{{{ with secret \"{}\" }}}}{{{{ range $k, $v := .Data.data }}}}{{{{ $k }}}}={{{{ $v }}}}\n{{{{ end }}}}{{{{ end }}}}",
        profile.data_path()
    )
}

/// Pod annotations that make the injector (Vault's or OpenBao's, by prefix) write the profile to
/// `/etc/kyuubi/spark.env` before Kyuubi starts.
pub fn vault_agent_annotations(
    agent: &VaultAgent,
    profile: &ProfileRef,
) -> BTreeMap<String, String> {
    let p = &agent.annotation_prefix;
    let file = PROFILE_FILE_NAME;
    let mut annotations = BTreeMap::from([
        (format!("{p}/agent-inject"), "true".to_owned()),
        (format!("{p}/role"), agent.role.clone()),
        (
            format!("{p}/agent-inject-secret-{file}"),
            profile.data_path(),
        ),
        (
            format!("{p}/agent-inject-template-{file}"),
            vault_agent_template(profile),
        ),
        (
            format!("{p}/secret-volume-path-{file}"),
            PROFILE_DIR.to_owned(),
        ),
    ]);
    if let Some(path) = &agent.auth_path {
        annotations.insert(format!("{p}/auth-path"), path.clone());
    }
    // Kyuubi reads the file once, at start: an init container is enough, and no sidecar keeps
    // running. Without it the injector's default (init container plus sidecar) applies.
    if agent.pre_populate {
        annotations.insert(format!("{p}/agent-pre-populate-only"), "true".to_owned());
    }
    annotations
}

/// Pod-template annotations: the two restart hashes, Prometheus hints, injector annotations.
pub fn pod_annotations(settings: &ServerSettings) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::from([
        (
            ANNOTATION_PROFILE_SHA256.to_owned(),
            settings.profile.sha256.clone(),
        ),
        (ANNOTATION_CONFIG_SHA256.to_owned(), config_sha256(settings)),
    ]);
    if settings.metrics.enabled {
        annotations.insert(ANNOTATION_PROMETHEUS_SCRAPE.to_owned(), "true".to_owned());
        annotations.insert(
            ANNOTATION_PROMETHEUS_PORT.to_owned(),
            settings.metrics.port.to_string(),
        );
        annotations.insert(
            ANNOTATION_PROMETHEUS_PATH.to_owned(),
            METRICS_PATH.to_owned(),
        );
    }
    if let Delivery::VaultAgent(agent) = &settings.delivery {
        annotations.extend(vault_agent_annotations(agent, &settings.profile));
    }
    annotations
}

fn resources(settings: &ServerSettings) -> Option<Value> {
    let r = &settings.resources;
    let group = |cpu: &Option<String>, memory: &Option<String>| {
        let mut map = Map::new();
        if let Some(cpu) = cpu {
            map.insert("cpu".to_owned(), json!(cpu));
        }
        if let Some(memory) = memory {
            map.insert("memory".to_owned(), json!(memory));
        }
        (!map.is_empty()).then_some(Value::Object(map))
    };
    let mut out = Map::new();
    if let Some(requests) = group(&r.requests_cpu, &r.requests_memory) {
        out.insert("requests".to_owned(), requests);
    }
    if let Some(limits) = group(&r.limits_cpu, &r.limits_memory) {
        out.insert("limits".to_owned(), limits);
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

fn container(settings: &ServerSettings) -> Value {
    let ports: Vec<Value> = server_ports(settings)
        .into_iter()
        .map(|(name, port)| json!({ "name": name, "containerPort": port, "protocol": "TCP" }))
        .collect();
    let mut mounts = vec![
        json!({ "name": VOLUME_CONF_TEMPLATE, "mountPath": CONF_TEMPLATE_DIR, "readOnly": true }),
        json!({ "name": VOLUME_CONF, "mountPath": CONF_DIR }),
    ];
    if settings.delivery == Delivery::KubernetesSecret {
        mounts.push(json!({ "name": VOLUME_PROFILE, "mountPath": PROFILE_DIR, "readOnly": true }));
    }
    for (volume, path) in WRITABLE_DIRS {
        mounts.push(json!({ "name": volume, "mountPath": path }));
    }
    let tcp = json!({ "port": settings.thrift_binary_port });
    let mut container = json!({
        "name": CONTAINER_NAME,
        "image": settings.image,
        "command": ["/bin/bash", "-c", START_SCRIPT],
        "env": [{ "name": ENV_KYUUBI_CONF_DIR, "value": CONF_DIR }],
        "ports": ports,
        // Ready once the JDBC port accepts connections; the REST ping would need the REST
        // frontend's own startup and says no more about serving queries.
        "readinessProbe": {
            "tcpSocket": tcp,
            "initialDelaySeconds": 5,
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        // Generous: a JVM start plus the embedded ZooKeeper can take a minute.
        "livenessProbe": {
            "tcpSocket": tcp,
            "initialDelaySeconds": 60,
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 6,
        },
        "volumeMounts": mounts,
        "securityContext": container_security_context(),
    });
    if let (Some(resources), Value::Object(map)) = (resources(settings), &mut container) {
        map.insert("resources".to_owned(), resources);
    }
    container
}

fn volumes(settings: &ServerSettings) -> Vec<Value> {
    let mut volumes = vec![
        json!({ "name": VOLUME_CONF_TEMPLATE, "configMap": { "name": config_map_name(&settings.name) } }),
        json!({ "name": VOLUME_CONF, "emptyDir": {} }),
    ];
    if settings.delivery == Delivery::KubernetesSecret {
        volumes.push(json!({
            "name": VOLUME_PROFILE,
            "secret": { "secretName": profile_secret_name(&settings.name) },
        }));
    }
    for (volume, _) in WRITABLE_DIRS {
        volumes.push(json!({ "name": volume, "emptyDir": {} }));
    }
    volumes
}

/// The Deployment `<name>`.
pub(crate) fn render_deployment(
    settings: &ServerSettings,
    labels: &BTreeMap<String, String>,
) -> Object {
    let mut pod_spec = json!({
        "serviceAccountName": settings.name,
        // Service links would put KYUUBI_*-named variables (from a Service called "kyuubi")
        // into the environment Kyuubi's scripts read.
        "enableServiceLinks": false,
        "securityContext": pod_security_context(&settings.identity),
        "containers": [container(settings)],
        "volumes": volumes(settings),
    });
    // In the pod template, so a placement change rolls the pods onto the nodes it names.
    settings.placement.add_to_pod_spec(&mut pod_spec);
    Object::new(
        "apps/v1",
        "Deployment",
        &settings.name,
        &settings.namespace,
        labels,
        json!({
            "spec": {
                "replicas": settings.replicas,
                "progressDeadlineSeconds": settings.progress_deadline_seconds,
                "selector": { "matchLabels": selector_labels(settings) },
                "template": {
                    "metadata": { "labels": labels, "annotations": pod_annotations(settings) },
                    "spec": pod_spec,
                },
            }
        }),
    )
}
