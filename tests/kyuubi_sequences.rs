//! Random valid Kyuubi servers applied one after another to one server: after each step the
//! cluster holds what the state says, and the plan after each apply is empty.
//!
//! The hand-written acceptance tests check one setting at a time; this walks combinations and
//! the transitions between them (the PodDisruptionBudget coming and going with `replicas`, the
//! delivery switching between the Vault Agent and a Secret, a block removed, a map emptied).
//! What it asserts is read from the cluster, not from the renderer: the Deployment carries the
//! state's `config_sha256` and the profile's `content_sha256`, its replicas, labels, node
//! selector and tolerations are the configured ones, the budget exists exactly while
//! `replicas > 1`, the ConfigMap holds the `kyuubi_conf` entries, and the Service the ports. A
//! step that changes only client-side settings (`timeouts`, `wait_for_rollout`,
//! `force_conflicts`) must write nothing to the cluster (checked on the API double, which logs
//! requests). Now and then a step imports the server into a fresh state, which must read back
//! attribute for attribute as the apply stored it.
//!
//! The walk is deterministic: `KONOHA_SEQUENCE_SEED=<n>` picks another (a failure prints its
//! seed), `KONOHA_SEQUENCE_STEPS=<n>` another length.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value as Json;
use support::terraform::{State, Step};
use support::walk::{Rng, seed_and_steps};
use support::world::World;

const SERVER: &str = "konoha_kyuubi_server.dbt";
const PROFILE: &str = "konoha_spark_profile.p";
const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt";
const BUDGET: &str = "/apis/policy/v1/namespaces/kyuubi/poddisruptionbudgets/kyuubi-dbt";
const SERVICE: &str = "/api/v1/namespaces/kyuubi/services/kyuubi-dbt";
const CONFIG_MAP: &str = "/api/v1/namespaces/kyuubi/configmaps/kyuubi-dbt-conf";
const DEFAULT_SEED: u64 = 8;
const DEFAULT_STEPS: usize = 12;

/// A toleration block's body, and the `(key, operator, value, effect)` Kubernetes must hold
/// for it (`None`: the field left out of the live object).
type Toleration = (
    &'static str,
    (
        Option<&'static str>,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    ),
);

const TOLERATIONS: [Toleration; 4] = [
    (
        "key    = \"dedicated\"\n    value  = \"kyuubi\"\n    effect = \"NoSchedule\"",
        (
            Some("dedicated"),
            "Equal",
            Some("kyuubi"),
            Some("NoSchedule"),
        ),
    ),
    (
        "key                = \"node.kubernetes.io/unreachable\"\n    operator           = \"Exists\"\n    effect             = \"NoExecute\"\n    toleration_seconds = 60",
        (
            Some("node.kubernetes.io/unreachable"),
            "Exists",
            None,
            Some("NoExecute"),
        ),
    ),
    ("operator = \"Exists\"", (None, "Exists", None, None)),
    // Empty strings a toleration keeps (the resource's docs, "An empty string").
    (
        "key    = \"spot\"\n    value  = \"\"\n    effect = \"\"",
        (Some("spot"), "Equal", None, None),
    ),
];

const LABELS: [(&str, &str); 3] = [
    ("team", "data"),
    ("example.com/tier", "gold"),
    ("example.com/empty", ""),
];
const NODE_SELECTOR: [(&str, &str); 2] = [("node-pool", "kyuubi"), ("kubernetes.io/arch", "amd64")];
const KYUUBI_CONF: [(&str, &str); 3] = [
    ("kyuubi.operation.idle.timeout", "PT1H"),
    ("kyuubi.session.idle.timeout", "PT6H"),
    (
        "kyuubi.backend.server.event.json.log.path",
        "file:///tmp/kyuubi/events",
    ),
];
const AFFINITY: [&str; 2] = [
    r#"jsonencode({
    podAntiAffinity = {
      preferredDuringSchedulingIgnoredDuringExecution = [{
        weight = 100
        podAffinityTerm = {
          topologyKey   = "kubernetes.io/hostname"
          labelSelector = { matchLabels = { "app.kubernetes.io/instance" = "kyuubi-dbt" } }
        }
      }]
    }
  })"#,
    r#"jsonencode({
    nodeAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution = {
        nodeSelectorTerms = [{
          matchExpressions = [{ key = "kubernetes.io/os", operator = "In", values = ["linux"] }]
        }]
      }
    }
  })"#,
];
const SHARE_LEVELS: [&str; 5] = ["USER", "CONNECTION", "GROUP", "SERVER_LOCAL", "SERVER"];
const SERVICE_TYPES: [&str; 3] = ["ClusterIP", "NodePort", "LoadBalancer"];
const IMAGES: [&str; 2] = ["apache/kyuubi:1.10.2-spark", "apache/kyuubi:1.10.1-spark"];

/// The server's `resources` block; requests never exceed limits whichever are picked.
#[derive(Clone, Default, PartialEq)]
struct Resources {
    requests_cpu: Option<&'static str>,
    requests_memory: Option<&'static str>,
    limits_cpu: Option<&'static str>,
    limits_memory: Option<&'static str>,
}

#[derive(Clone, PartialEq)]
struct Metrics {
    enabled: Option<bool>,
    port: Option<u64>,
}

/// What only the provider reads: changing these alone must change nothing in the cluster.
#[derive(Clone, Default, PartialEq)]
struct ClientSide {
    wait_for_rollout: Option<bool>,
    force_conflicts: Option<bool>,
    timeouts: Vec<(&'static str, &'static str)>,
}

/// One valid server configuration (and its profile's executor count). `None` leaves an
/// argument out.
#[derive(Clone, PartialEq)]
struct Server {
    executor_instances: u64,
    image: &'static str,
    replicas: Option<u64>,
    ha_namespace: Option<Option<&'static str>>,
    share_level: Option<&'static str>,
    thrift_binary_port: Option<u64>,
    rest_port: Option<u64>,
    thrift_http_port: Option<u64>,
    service_type: Option<&'static str>,
    secret_delivery: bool,
    labels: Vec<(&'static str, &'static str)>,
    node_selector: Vec<(&'static str, &'static str)>,
    tolerations: Vec<Toleration>,
    affinity: Option<&'static str>,
    kyuubi_conf: Vec<(&'static str, &'static str)>,
    metrics: Option<Metrics>,
    resources: Option<Resources>,
    engine_idle_timeout: Option<&'static str>,
    run_as_user: Option<u64>,
    annotation_prefix: Option<&'static str>,
    progress_deadline_seconds: Option<u64>,
    restart_engines: Option<bool>,
    client: ClientSide,
}

impl ClientSide {
    fn random(rng: &mut Rng) -> ClientSide {
        ClientSide {
            wait_for_rollout: rng.one_in(3).then(|| rng.one_in(2)),
            force_conflicts: rng.one_in(3).then(|| rng.one_in(2)),
            timeouts: rng.some_of(&[("create", "7m"), ("update", "5m"), ("delete", "3m")]),
        }
    }
}

impl Server {
    fn random(rng: &mut Rng) -> Server {
        let replicas = (!rng.one_in(4)).then(|| rng.between(1, 3));
        // More than one replica needs `ha`; one may have it too.
        let ha = replicas.is_some_and(|r| r > 1) || rng.one_in(3);
        let resources = rng.one_in(2).then(|| Resources {
            requests_cpu: rng.one_in(2).then(|| rng.pick(&["500m", "1"])),
            requests_memory: rng.one_in(2).then(|| rng.pick(&["1Gi", "1536Mi"])),
            limits_cpu: rng.one_in(2).then(|| rng.pick(&["1", "2"])),
            limits_memory: rng.one_in(2).then(|| rng.pick(&["2Gi", "4Gi"])),
        });
        Server {
            executor_instances: rng.between(1, 4),
            image: rng.pick(&IMAGES),
            replicas,
            ha_namespace: ha.then(|| rng.one_in(2).then_some("kyuubi-walk")),
            share_level: rng.one_in(2).then(|| rng.pick(&SHARE_LEVELS)),
            thrift_binary_port: rng.one_in(3).then(|| rng.pick(&[10009, 10011])),
            rest_port: rng.one_in(3).then(|| rng.pick(&[10099, 10199])),
            thrift_http_port: rng.one_in(3).then(|| rng.pick(&[10010, 10012])),
            service_type: rng.one_in(3).then(|| rng.pick(&SERVICE_TYPES)),
            secret_delivery: rng.one_in(3),
            labels: rng.some_of(&LABELS),
            node_selector: rng.some_of(&NODE_SELECTOR),
            tolerations: rng.some_of(&TOLERATIONS),
            affinity: rng.one_in(2).then(|| rng.pick(&AFFINITY)),
            kyuubi_conf: rng.some_of(&KYUUBI_CONF),
            metrics: rng.one_in(3).then(|| Metrics {
                enabled: rng.one_in(2).then(|| rng.one_in(2)),
                port: rng.one_in(2).then(|| rng.pick(&[10019, 10029])),
            }),
            resources,
            engine_idle_timeout: rng.one_in(3).then(|| rng.pick(&["PT30M", "PT2H"])),
            run_as_user: rng.one_in(4).then(|| rng.pick(&[10009, 1000])),
            annotation_prefix: rng
                .one_in(3)
                .then(|| rng.pick(&["vault.hashicorp.com", "openbao.openbao.org"])),
            progress_deadline_seconds: rng.one_in(4).then(|| rng.pick(&[120, 600])),
            restart_engines: rng.one_in(4).then(|| rng.one_in(2)),
            client: ClientSide::random(rng),
        }
    }

    /// The next step's server: now and then the previous one with only its client-side
    /// settings changed, so the walk reaches "an update that writes nothing".
    fn next(rng: &mut Rng, previous: Option<&Server>) -> Server {
        match previous {
            Some(previous) if rng.one_in(4) => {
                let mut next = previous.clone();
                while next.client == previous.client {
                    next.client = ClientSide::random(rng);
                }
                next
            }
            _ => Server::random(rng),
        }
    }

    /// What an import cannot read back as this configuration's apply stored it (the
    /// resource's docs, "Import"): client-side settings that are not their defaults, and the
    /// status an apply that did not wait recorded before the rollout went on.
    fn not_imported(&self) -> Vec<&'static str> {
        let mut ignored = Vec::new();
        if self.client.wait_for_rollout == Some(false) {
            ignored.extend(["wait_for_rollout", "observed_generation", "ready_replicas"]);
        }
        if self.client.force_conflicts == Some(true) {
            ignored.push("force_conflicts");
        }
        if !self.client.timeouts.is_empty() {
            ignored.push("timeouts");
        }
        ignored
    }

    fn replicas(&self) -> u64 {
        self.replicas.unwrap_or(1)
    }

    /// Whether `self` differs from `other` only in what the provider alone reads.
    fn same_remotely(&self, other: &Server) -> bool {
        let mut a = self.clone();
        a.client = other.client.clone();
        a == *other
    }

    /// The provider-less configuration: the profile and the server.
    fn hcl(&self) -> String {
        let mut out = format!(
            "resource \"konoha_spark_profile\" \"p\" {{\n  mount              = \"secret\"\n  \
             name               = \"spark/dbt\"\n  executor_instances = {}\n}}\n\n\
             resource \"konoha_kyuubi_server\" \"dbt\" {{\n  name          = \"kyuubi-dbt\"\n  \
             image         = \"{}\"\n  spark_profile = konoha_spark_profile.p.ref\n",
            self.executor_instances, self.image
        );
        let mut line = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                writeln!(out, "  {name} = {value}").unwrap();
            }
        };
        let quoted = |s: &str| format!("\"{s}\"");
        let number = |n: u64| n.to_string();
        let map = |entries: &[(&str, &str)]| {
            (!entries.is_empty()).then(|| {
                let body: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("    \"{k}\" = \"{v}\""))
                    .collect();
                format!("{{\n{}\n  }}", body.join("\n"))
            })
        };
        line("replicas", self.replicas.map(number));
        line("share_level", self.share_level.map(quoted));
        line("thrift_binary_port", self.thrift_binary_port.map(number));
        line("rest_port", self.rest_port.map(number));
        line("thrift_http_port", self.thrift_http_port.map(number));
        line("service_type", self.service_type.map(quoted));
        line(
            "delivery",
            self.secret_delivery.then(|| quoted("kubernetes-secret")),
        );
        line("labels", map(&self.labels));
        line("node_selector", map(&self.node_selector));
        line("affinity", self.affinity.map(str::to_owned));
        line("kyuubi_conf", map(&self.kyuubi_conf));
        line(
            "progress_deadline_seconds",
            self.progress_deadline_seconds.map(number),
        );
        line(
            "restart_engines",
            self.restart_engines.map(|b| b.to_string()),
        );
        line(
            "wait_for_rollout",
            self.client.wait_for_rollout.map(|b| b.to_string()),
        );
        line(
            "force_conflicts",
            self.client.force_conflicts.map(|b| b.to_string()),
        );
        if !self.secret_delivery {
            out.push_str("  vault_agent {\n    role = \"kyuubi\"\n");
            if let Some(prefix) = self.annotation_prefix {
                writeln!(out, "    annotation_prefix = \"{prefix}\"").unwrap();
            }
            out.push_str("  }\n");
        }
        if let Some(user) = self.run_as_user {
            writeln!(
                out,
                "  pod_security_context {{\n    run_as_user = {user}\n  }}"
            )
            .unwrap();
        }
        out.push_str("  engine {\n    image = \"apache/spark:3.5.3\"\n");
        if let Some(timeout) = self.engine_idle_timeout {
            writeln!(out, "    idle_timeout = \"{timeout}\"").unwrap();
        }
        out.push_str("  }\n");
        if let Some(namespace) = self.ha_namespace {
            out.push_str("  ha {\n    addresses = \"zk-0.zk:2181,zk-1.zk:2181\"\n");
            if let Some(namespace) = namespace {
                writeln!(out, "    namespace = \"{namespace}\"").unwrap();
            }
            out.push_str("  }\n");
        }
        if let Some(metrics) = &self.metrics {
            out.push_str("  metrics {\n");
            if let Some(enabled) = metrics.enabled {
                writeln!(out, "    enabled = {enabled}").unwrap();
            }
            if let Some(port) = metrics.port {
                writeln!(out, "    port = {port}").unwrap();
            }
            out.push_str("  }\n");
        }
        if let Some(r) = &self.resources {
            out.push_str("  resources {\n");
            for (name, value) in [
                ("requests_cpu", r.requests_cpu),
                ("requests_memory", r.requests_memory),
                ("limits_cpu", r.limits_cpu),
                ("limits_memory", r.limits_memory),
            ] {
                if let Some(value) = value {
                    writeln!(out, "    {name} = \"{value}\"").unwrap();
                }
            }
            out.push_str("  }\n");
        }
        for (body, _) in &self.tolerations {
            writeln!(out, "  tolerations {{\n    {body}\n  }}").unwrap();
        }
        if !self.client.timeouts.is_empty() {
            out.push_str("  timeouts {\n");
            for (op, value) in &self.client.timeouts {
                writeln!(out, "    {op} = \"{value}\"").unwrap();
            }
            out.push_str("  }\n");
        }
        out.push_str("}\n");
        out
    }
}

fn text<'v>(value: &'v Json, pointer: &str) -> Option<&'v str> {
    value.pointer(pointer).and_then(Json::as_str)
}

/// The string map at `pointer`, empty when the field is left out.
fn string_map(value: &Json, pointer: &str) -> BTreeMap<String, String> {
    value
        .pointer(pointer)
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("<not a string>").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `value` holds more than (nested) empty objects and nulls.
fn holds_something(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::Object(fields) => fields.values().any(holds_something),
        _ => true,
    }
}

/// The `kyuubi` container: the configured image, and each configured resource quantity. A
/// quantity left out is not checked, since the API server defaults a missing request to its
/// limit.
fn check_container(deployment: &Json, server: &Server) -> Result<(), String> {
    let container = deployment
        .pointer("/spec/template/spec/containers")
        .and_then(Json::as_array)
        .and_then(|c| c.iter().find(|c| text(c, "/name") == Some("kyuubi")))
        .ok_or("no kyuubi container")?;
    if text(container, "/image") != Some(server.image) {
        return Err(format!(
            "container image {:?}, configured {}",
            text(container, "/image"),
            server.image
        ));
    }
    let r = server.resources.clone().unwrap_or_default();
    for (pointer, want) in [
        ("/resources/requests/cpu", r.requests_cpu),
        ("/resources/requests/memory", r.requests_memory),
        ("/resources/limits/cpu", r.limits_cpu),
        ("/resources/limits/memory", r.limits_memory),
    ] {
        if let Some(want) = want
            && text(container, pointer) != Some(want)
        {
            return Err(format!(
                "container {pointer} {:?}, configured {want}",
                text(container, pointer)
            ));
        }
    }
    if r.limits_cpu.is_none() && container.pointer("/resources/limits/cpu").is_some() {
        return Err("the container keeps a removed CPU limit".to_owned());
    }
    Ok(())
}

/// What the cluster holds, held against the configuration and the state.
fn check_cluster(w: &World, server: &Server, state: &State) -> Result<(), String> {
    let deployment = w.cluster.get(DEPLOYMENT).ok_or("no Deployment")?;
    let annotations = "/spec/template/metadata/annotations";
    let config_sha = state
        .attr(SERVER, "config_sha256")
        .and_then(Json::as_str)
        .ok_or("no config_sha256 in state")?;
    let live_config_sha = text(
        &deployment,
        &format!("{annotations}/konoha.io~1config-sha256"),
    );
    if live_config_sha != Some(config_sha) {
        return Err(format!(
            "state config_sha256 {config_sha}, pod template {live_config_sha:?}"
        ));
    }
    let profile_sha = state
        .attr(PROFILE, "content_sha256")
        .and_then(Json::as_str)
        .ok_or("no content_sha256 in the profile's state")?;
    let live_profile_sha = text(
        &deployment,
        &format!("{annotations}/konoha.io~1spark-profile-sha256"),
    );
    if live_profile_sha != Some(profile_sha) {
        return Err(format!(
            "profile content_sha256 {profile_sha}, pod template {live_profile_sha:?}"
        ));
    }
    let replicas = deployment.pointer("/spec/replicas").and_then(Json::as_u64);
    if replicas != Some(server.replicas()) {
        return Err(format!(
            "spec.replicas {replicas:?}, configured {}",
            server.replicas()
        ));
    }
    let budget = w.cluster.get(BUDGET).is_some();
    if budget != (server.replicas() > 1) {
        return Err(format!(
            "PodDisruptionBudget present: {budget}, replicas {}",
            server.replicas()
        ));
    }
    let pod_labels = string_map(&deployment, "/spec/template/metadata/labels");
    for (key, value) in &server.labels {
        if pod_labels.get(*key).map(String::as_str) != Some(*value) {
            return Err(format!(
                "pod template label {key} is {:?}, configured {value:?}",
                pod_labels.get(*key)
            ));
        }
    }
    for (key, _) in &LABELS {
        if !server.labels.iter().any(|(k, _)| k == key) && pod_labels.contains_key(*key) {
            return Err(format!("pod template keeps the removed label {key}"));
        }
    }
    let node_selector = string_map(&deployment, "/spec/template/spec/nodeSelector");
    let want: BTreeMap<String, String> = server
        .node_selector
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    if node_selector != want {
        return Err(format!(
            "nodeSelector {node_selector:?}, configured {want:?}"
        ));
    }
    let live_tolerations: Vec<_> = deployment
        .pointer("/spec/template/spec/tolerations")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| {
            let field = |name: &str| t.get(name).and_then(Json::as_str).map(str::to_owned);
            (
                field("key"),
                field("operator").unwrap_or_else(|| "Equal".to_owned()),
                field("value"),
                field("effect"),
            )
        })
        .collect();
    let want_tolerations: Vec<_> = server
        .tolerations
        .iter()
        .map(|(_, (key, operator, value, effect))| {
            (
                key.map(str::to_owned),
                (*operator).to_owned(),
                value.map(str::to_owned),
                effect.map(str::to_owned),
            )
        })
        .collect();
    if live_tolerations != want_tolerations {
        return Err(format!(
            "tolerations {live_tolerations:?}, configured {want_tolerations:?}"
        ));
    }
    let affinity = deployment.pointer("/spec/template/spec/affinity");
    let want_affinity = server.affinity.map(|a| {
        if a.contains("podAntiAffinity") {
            "podAntiAffinity"
        } else {
            "nodeAffinity"
        }
    });
    // Server-side apply prunes the leaves a removed `affinity` held but may leave the
    // emptied structs behind (`affinity: {}` on a real API server), which schedule nothing.
    let live_affinity = affinity.and_then(Json::as_object).map(|a| {
        a.iter()
            .filter(|(_, v)| holds_something(v))
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
    });
    if live_affinity.clone().unwrap_or_default() != want_affinity.into_iter().collect::<Vec<_>>() {
        return Err(format!(
            "affinity {live_affinity:?}, configured {want_affinity:?}"
        ));
    }
    check_container(&deployment, server)?;
    let pod_annotations = string_map(&deployment, annotations);
    let prefix = server.annotation_prefix.unwrap_or("vault.hashicorp.com");
    let injects = |prefix: &str| {
        pod_annotations
            .get(&format!("{prefix}/agent-inject"))
            .map(String::as_str)
            == Some("true")
    };
    let other = if prefix == "vault.hashicorp.com" {
        "openbao.openbao.org"
    } else {
        "vault.hashicorp.com"
    };
    if injects(prefix) == server.secret_delivery || injects(other) {
        return Err(format!(
            "pod annotations {pod_annotations:?}: injection under {prefix} expected only with \
             the Vault Agent delivery (kubernetes-secret: {})",
            server.secret_delivery
        ));
    }
    let run_as_user = deployment
        .pointer("/spec/template/spec/securityContext/runAsUser")
        .and_then(Json::as_u64);
    if run_as_user != Some(server.run_as_user.unwrap_or(10009)) {
        return Err(format!(
            "pod runAsUser {run_as_user:?}, configured {:?}",
            server.run_as_user
        ));
    }
    let config_map = w.cluster.get(CONFIG_MAP).ok_or("no ConfigMap")?;
    let defaults =
        text(&config_map, "/data/kyuubi-defaults.conf").ok_or("no kyuubi-defaults.conf")?;
    for (key, value) in &server.kyuubi_conf {
        if !defaults.lines().any(|l| l == format!("{key}={value}")) {
            return Err(format!(
                "kyuubi-defaults.conf lacks {key}={value}:\n{defaults}"
            ));
        }
    }
    for (key, _) in &KYUUBI_CONF {
        if !server.kyuubi_conf.iter().any(|(k, _)| k == key)
            && defaults.lines().any(|l| l.starts_with(&format!("{key}=")))
        {
            return Err(format!("kyuubi-defaults.conf keeps the removed {key}"));
        }
    }
    let service = w.cluster.get(SERVICE).ok_or("no Service")?;
    let ports: Vec<u64> = service
        .pointer("/spec/ports")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.get("port").and_then(Json::as_u64))
        .collect();
    let mut want_ports = vec![
        server.thrift_binary_port.unwrap_or(10009),
        server.rest_port.unwrap_or(10099),
    ];
    want_ports.extend(server.thrift_http_port);
    for port in want_ports {
        if !ports.contains(&port) {
            return Err(format!("the Service lacks port {port}: {ports:?}"));
        }
    }
    let service_type = text(&service, "/spec/type").unwrap_or("ClusterIP");
    if service_type != server.service_type.unwrap_or("ClusterIP") {
        return Err(format!(
            "Service type {service_type}, configured {:?}",
            server.service_type
        ));
    }
    let secret = w
        .server_objects()
        .iter()
        .any(|(kind, _, _)| kind == "Secret");
    if secret != server.secret_delivery {
        return Err(format!(
            "a profile Secret exists: {secret}, delivery kubernetes-secret: {}",
            server.secret_delivery
        ));
    }
    Ok(())
}

fn walk(seed: u64, steps: usize) -> Vec<Server> {
    let mut rng = Rng::new(seed);
    let mut servers: Vec<Server> = Vec::new();
    for _ in 0..steps {
        let next = Server::next(&mut rng, servers.last());
        servers.push(next);
    }
    servers
}

/// Steps (after the first) that import the server: every third.
fn imports_after(step: usize) -> bool {
    step % 3 == 2
}

#[test]
fn every_step_in_a_random_walk_of_servers_lands_in_the_cluster() {
    let (seed, steps) = seed_and_steps(DEFAULT_SEED, DEFAULT_STEPS);
    eprintln!("seed {seed} (KONOHA_SEQUENCE_SEED), {steps} steps");
    let w = World::start();
    let header = w.provider_header();
    let servers = walk(seed, steps);
    let mut case = w.case();
    let mut previous: Option<&Server> = None;
    for (step, server) in servers.iter().enumerate() {
        let config = format!("{header}\n{}", server.hcl());
        let shown = server.hcl();
        let quiet = previous.is_some_and(|p| p.same_remotely(server));
        let w = &w;
        case = case.step(
            Step::config(config)
                .pre_config(move |_| {
                    w.cluster.clear_requests();
                    Ok(())
                })
                .check(move |state| {
                    let context = |e: String| {
                        format!("seed {seed}, step {step}: {e}\nconfiguration:\n{shown}")
                    };
                    if quiet
                        && let Some(writes) = w.cluster.writes()
                        && !writes.is_empty()
                    {
                        return Err(context(format!(
                            "a change of client-side settings only wrote: {writes:?}"
                        )));
                    }
                    check_cluster(w, server, state).map_err(context)
                }),
        );
        if imports_after(step) {
            case = case.step(
                Step::import(SERVER)
                    .import_state_verify()
                    .verify_ignore(server.not_imported()),
            );
        }
        previous = Some(server);
    }
    case.run_or_panic();
}

#[test]
fn the_walk_generates_valid_variety() {
    // The generator reaches the combinations the walk is for, at the seed the walk uses.
    let servers = walk(seed_and_steps(DEFAULT_SEED, DEFAULT_STEPS).0, DEFAULT_STEPS);
    let count = |f: &dyn Fn(&Server) -> bool| servers.iter().filter(|s| f(s)).count();
    let pairs = |f: &dyn Fn(&Server, &Server) -> bool| {
        servers.windows(2).filter(|p| f(&p[0], &p[1])).count()
    };
    assert!(count(&|s| s.replicas() > 1) >= 1);
    assert!(count(&|s| s.replicas() == 1) >= 1);
    // The budget comes and goes.
    assert!(pairs(&|a, b| a.replicas() > 1 && b.replicas() == 1) >= 1);
    assert!(pairs(&|a, b| a.replicas() == 1 && b.replicas() > 1) >= 1);
    // The Secret delivery comes and goes (leaving it once left the Secret behind).
    assert!(pairs(&|a, b| a.secret_delivery && !b.secret_delivery) >= 1);
    assert!(pairs(&|a, b| !a.secret_delivery && b.secret_delivery) >= 1);
    assert!(pairs(&|a, b| a.executor_instances != b.executor_instances) >= 1);
    assert!(pairs(&|a, b| a != b && b.same_remotely(a)) >= 1);
    assert!(count(&|s| !s.tolerations.is_empty()) >= 1);
    assert!(count(&|s| s.tolerations.is_empty()) >= 1);
    assert!(count(&|s| s.labels.len() > 1) >= 1);
    assert!(count(&|s| s.labels.is_empty()) >= 1);
    assert!(count(&|s| !s.node_selector.is_empty()) >= 1);
    assert!(count(&|s| s.affinity.is_some()) >= 1);
    assert!(count(&|s| s.affinity.is_none()) >= 1);
    assert!(count(&|s| !s.kyuubi_conf.is_empty()) >= 1);
    assert!(count(&|s| s.metrics.is_some()) >= 1);
    assert!(count(&|s| s.resources.is_some()) >= 1);
    assert!(count(&|s| s.thrift_http_port.is_some()) >= 1);
    assert!(count(&|s| !s.client.timeouts.is_empty()) >= 1);
    assert!(count(&|s| s.client.wait_for_rollout == Some(false)) >= 1);
    assert!(count(&|s| s.run_as_user.is_some()) >= 1);
    assert!(
        count(&|s| !s.secret_delivery && s.annotation_prefix == Some("openbao.openbao.org")) >= 1
    );
    // An import follows a step whose client-side settings are not their defaults.
    assert!(
        servers
            .iter()
            .enumerate()
            .any(|(step, s)| imports_after(step) && !s.not_imported().is_empty())
    );
    for (step, server) in servers.iter().enumerate() {
        let hcl = server.hcl();
        assert!(
            server.replicas() <= 1 || server.ha_namespace.is_some(),
            "{hcl}"
        );
        if step > 0 && imports_after(step) {
            assert!(hcl.contains("resource \"konoha_kyuubi_server\""));
        }
    }
}
