//! The `konoha_kyuubi_server` model: what a user may write ([`ServerInput`], where any value may
//! still be unknown at plan time), the defaults, and the concrete [`ServerSettings`] that
//! rendering works from ([`resolve`]).
//!
//! Rules live in [`mod@super::validate`]; syntax checks (DNS names, durations, quantities) in
//! [`super::syntax`]. Decoding Terraform values into a [`ServerInput`] is the resource's job.

use std::collections::BTreeMap;

use super::constants::{
    DEFAULT_METRICS_PORT, DEFAULT_NAMESPACE, DEFAULT_PROGRESS_DEADLINE_SECONDS, DEFAULT_REPLICAS,
    DEFAULT_REST_PORT, DEFAULT_THRIFT_BINARY_PORT, DRIVER_SERVICE_ACCOUNT_SUFFIX,
    OPENBAO_ANNOTATION_PREFIX, VAULT_ANNOTATION_PREFIX,
};

use super::pod_security::{ENGINE_IDENTITY, PodIdentity, SERVER_IDENTITY};

pub use crate::placement::TolerationInput;
use crate::placement::{PodPlacement, parse_affinity, resolve_node_selector, resolve_tolerations};
pub use crate::rules::Field;

/// Everything `konoha_kyuubi_server` takes, as configured. Blocks are single nested objects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerInput {
    /// Server name: names the Deployment, Service and the other objects.
    pub name: Field<String>,
    /// Namespace of the server's objects; default `kyuubi`.
    pub namespace: Field<String>,
    /// Server container image (required).
    pub image: Field<String>,
    /// Server pods; default 1.
    pub replicas: Field<i64>,
    /// `USER` (default), `CONNECTION`, `GROUP`, `SERVER_LOCAL` or `SERVER`.
    pub share_level: Field<String>,
    /// Thrift binary (JDBC) port; default 10009.
    pub thrift_binary_port: Field<i64>,
    /// REST port; default 10099. REST is always on.
    pub rest_port: Field<i64>,
    /// Thrift HTTP port; the frontend is off unless set.
    pub thrift_http_port: Field<i64>,
    /// `ClusterIP` (default), `NodePort` or `LoadBalancer`.
    pub service_type: Field<String>,
    /// The profile's `ref`: `<mount>/<name>@sha256:<64 hex>` (required).
    pub spark_profile: Field<String>,
    /// `vault-agent` (default) or `kubernetes-secret`.
    pub delivery: Field<String>,
    /// Injector settings for `vault-agent` delivery.
    pub vault_agent: Field<VaultAgentInput>,
    /// Where and how engines run.
    pub engine: Field<EngineInput>,
    /// Prometheus metrics.
    pub metrics: Field<MetricsInput>,
    /// Further `kyuubi.` settings.
    pub kyuubi_conf: Field<BTreeMap<String, Field<String>>>,
    /// External discovery ensemble (required for more than one replica).
    pub ha: Field<HaInput>,
    /// Server container resources.
    pub resources: Field<ResourcesInput>,
    /// The server pod's user and groups; the Kyuubi image's by default.
    pub pod_security_context: Field<PodSecurityInput>,
    /// Extra labels on every object.
    pub labels: Field<BTreeMap<String, Field<String>>>,
    /// Node labels the server pods need.
    pub node_selector: Field<BTreeMap<String, Field<String>>>,
    /// Taints the server pods tolerate.
    pub tolerations: Field<Vec<TolerationInput>>,
    /// The server pods' `affinity`, as JSON.
    pub affinity: Field<String>,
    /// Kill this server's engines after a rollout; default false. Not used in rendering.
    pub restart_engines: Field<bool>,
    /// Wait until the rollout completes; default true. Not used in rendering.
    pub wait_for_rollout: Field<bool>,
    /// Take fields over from other field managers; default false. Not used in rendering.
    pub force_conflicts: Field<bool>,
    /// `progressDeadlineSeconds` of the Deployment; default 600. Not an argument: the resource
    /// may derive it from its timeouts.
    pub progress_deadline_seconds: Field<i64>,
}

/// The `vault_agent` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VaultAgentInput {
    /// Kubernetes-auth role the injector logs in with (required with `vault-agent`).
    pub role: Field<String>,
    /// Auth mount path (the injector's default `auth/kubernetes` when unset).
    pub auth_path: Field<String>,
    /// `vault.hashicorp.com` (default) or `openbao.openbao.org`.
    pub annotation_prefix: Field<String>,
    /// Render once in an init container, with no sidecar; default true.
    pub pre_populate: Field<bool>,
}

/// The `engine` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EngineInput {
    /// Namespace of driver and executor pods; default the server's namespace.
    pub namespace: Field<String>,
    /// Driver ServiceAccount; default `<name>-spark`.
    pub service_account: Field<String>,
    /// `spark.kubernetes.container.image` (required: Spark starts no engine without it).
    pub image: Field<String>,
    /// `spark.kubernetes.file.upload.path`.
    pub file_upload_path: Field<String>,
    /// `kyuubi.session.engine.idle.timeout`, ISO-8601 (`PT30M`).
    pub idle_timeout: Field<String>,
    /// `kyuubi.session.engine.initialize.timeout`, ISO-8601 (`PT3M`).
    pub initialize_timeout: Field<String>,
    /// Driver and executor `runAsUser`; default the Spark image's 185.
    pub run_as_user: Field<i64>,
    /// Driver and executor `runAsGroup`; the image's when unset.
    pub run_as_group: Field<i64>,
    /// Driver and executor `fsGroup`; default 185.
    pub fs_group: Field<i64>,
}

/// The `pod_security_context` block: ids for the server pod.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodSecurityInput {
    /// `runAsUser`; default 10009, the Kyuubi image's user. Never 0.
    pub run_as_user: Field<i64>,
    /// `runAsGroup`; the image's when unset.
    pub run_as_group: Field<i64>,
    /// `fsGroup`; default 10009.
    pub fs_group: Field<i64>,
}

/// The `metrics` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsInput {
    /// Expose Prometheus metrics; default true.
    pub enabled: Field<bool>,
    /// Metrics port; default 10019.
    pub port: Field<i64>,
}

/// The `ha` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HaInput {
    /// `kyuubi.ha.addresses`: comma-separated ZooKeeper (or etcd) endpoints.
    pub addresses: Field<String>,
    /// `kyuubi.ha.namespace`; default `kyuubi-<namespace>-<name>`, see [`Ha::namespace`].
    pub namespace: Field<String>,
}

/// The `resources` block: Kubernetes quantities for the server container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourcesInput {
    /// CPU request.
    pub requests_cpu: Field<String>,
    /// Memory request.
    pub requests_memory: Field<String>,
    /// CPU limit.
    pub limits_cpu: Field<String>,
    /// Memory limit.
    pub limits_memory: Field<String>,
}

/// Kyuubi's `kyuubi.engine.share.level`: who shares one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareLevel {
    /// One engine per connection.
    Connection,
    /// One engine per authenticated Kyuubi user.
    User,
    /// One engine per primary group.
    Group,
    /// One engine per server instance (Kyuubi 1.11+).
    ServerLocal,
    /// One engine for the whole Kyuubi cluster.
    Server,
}

impl ShareLevel {
    /// Every level with its spelling.
    pub const ALL: [(ShareLevel, &'static str); 5] = [
        (ShareLevel::Connection, "CONNECTION"),
        (ShareLevel::User, "USER"),
        (ShareLevel::Group, "GROUP"),
        (ShareLevel::ServerLocal, "SERVER_LOCAL"),
        (ShareLevel::Server, "SERVER"),
    ];

    /// Kyuubi's spelling.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(level, _)| *level == self)
            .map_or("USER", |(_, text)| text)
    }

    /// The level spelled `text` exactly.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, spelling)| *spelling == text)
            .map(|(level, _)| *level)
    }
}

/// The Service's `spec.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceType {
    /// In-cluster only.
    ClusterIp,
    /// Also on a port of every node.
    NodePort,
    /// Also through the cloud's load balancer.
    LoadBalancer,
}

impl ServiceType {
    /// Every type with its spelling.
    pub const ALL: [(ServiceType, &'static str); 3] = [
        (ServiceType::ClusterIp, "ClusterIP"),
        (ServiceType::NodePort, "NodePort"),
        (ServiceType::LoadBalancer, "LoadBalancer"),
    ];

    /// Kubernetes' spelling.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(kind, _)| *kind == self)
            .map_or("ClusterIP", |(_, text)| text)
    }

    /// The type spelled `text` exactly.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, spelling)| *spelling == text)
            .map(|(kind, _)| *kind)
    }
}

/// `delivery = "vault-agent"`.
pub const DELIVERY_VAULT_AGENT: &str = "vault-agent";
/// `delivery = "kubernetes-secret"`.
pub const DELIVERY_KUBERNETES_SECRET: &str = "kubernetes-secret";
/// The annotation prefixes `vault_agent.annotation_prefix` accepts.
pub const ANNOTATION_PREFIXES: [&str; 2] = [VAULT_ANNOTATION_PREFIX, OPENBAO_ANNOTATION_PREFIX];

/// How the profile's `spark.env` reaches the server pod's `/etc/kyuubi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The Vault (or OpenBao) Agent Injector renders it from the KV v2 secret.
    VaultAgent(VaultAgent),
    /// The provider copies it from Vault into a Secret that the pod mounts.
    KubernetesSecret,
}

/// Resolved `vault_agent` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultAgent {
    /// Kubernetes-auth role.
    pub role: String,
    /// Auth mount path, when given.
    pub auth_path: Option<String>,
    /// Annotation domain, e.g. `vault.hashicorp.com`.
    pub annotation_prefix: String,
    /// Init container only (no sidecar).
    pub pre_populate: bool,
}

/// A parsed `spark_profile` ref: the Spark domain's, since the profile resource makes them.
pub use crate::spark::ProfileRef;

/// Resolved `engine` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    /// Namespace of drivers and executors.
    pub namespace: String,
    /// Driver ServiceAccount.
    pub service_account: String,
    /// Engine image (`spark.kubernetes.container.image`).
    pub image: String,
    /// Upload path, when given.
    pub file_upload_path: Option<String>,
    /// Idle timeout, when given.
    pub idle_timeout: Option<String>,
    /// Start timeout, when given.
    pub initialize_timeout: Option<String>,
    /// The ids drivers and executors run with.
    pub identity: PodIdentity,
}

/// Resolved `metrics` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metrics {
    /// Whether metrics are exposed.
    pub enabled: bool,
    /// Their port.
    pub port: u16,
}

/// Resolved `ha` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ha {
    /// `kyuubi.ha.addresses`.
    pub addresses: String,
    /// `kyuubi.ha.namespace`. Defaults to `kyuubi-<namespace>-<name>` rather than Kyuubi's
    /// `kyuubi`: servers sharing one ensemble and one namespace form one Kyuubi cluster and
    /// share engines, so two konoha servers would silently use each other's Spark profile.
    pub namespace: String,
}

/// Resolved `resources` block (each quantity as written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// CPU request.
    pub requests_cpu: Option<String>,
    /// Memory request.
    pub requests_memory: Option<String>,
    /// CPU limit.
    pub limits_cpu: Option<String>,
    /// Memory limit.
    pub limits_memory: Option<String>,
}

/// A server's settings, fully known, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Server name.
    pub name: String,
    /// Server namespace.
    pub namespace: String,
    /// Server image.
    pub image: String,
    /// Pods.
    pub replicas: i32,
    /// Engine share level.
    pub share_level: ShareLevel,
    /// Thrift binary port.
    pub thrift_binary_port: u16,
    /// REST port.
    pub rest_port: u16,
    /// Thrift HTTP port, when on.
    pub thrift_http_port: Option<u16>,
    /// Service type.
    pub service_type: ServiceType,
    /// The referenced profile.
    pub profile: ProfileRef,
    /// How the profile reaches the pod.
    pub delivery: Delivery,
    /// Engines.
    pub engine: Engine,
    /// Metrics.
    pub metrics: Metrics,
    /// User `kyuubi.` settings.
    pub kyuubi_conf: BTreeMap<String, String>,
    /// External discovery, when configured.
    pub ha: Option<Ha>,
    /// Server container resources.
    pub resources: Resources,
    /// The ids the server pod runs with.
    pub identity: PodIdentity,
    /// Extra labels.
    pub labels: BTreeMap<String, String>,
    /// Where the server pods may run.
    pub placement: PodPlacement,
    /// Kill engines after a rollout.
    pub restart_engines: bool,
    /// Wait for the rollout.
    pub wait_for_rollout: bool,
    /// Force server-side-apply conflicts.
    pub force_conflicts: bool,
    /// Deployment `progressDeadlineSeconds`.
    pub progress_deadline_seconds: i32,
}

/// Separates a profile's location from its content hash in a ref.
/// Parses a profile ref (see [`crate::spark::parse_profile_ref`]), refusing also `"` and `\\`
/// in the location, which would break out of the quoted path in the injector's template.
pub fn parse_profile_ref(text: &str) -> Option<ProfileRef> {
    crate::spark::parse_profile_ref(text)
        .filter(|r| !r.mount.contains(['"', '\\']) && !r.name.contains(['"', '\\']))
}

/// The concrete settings for `input`, or `None` when a value rendering needs is unknown, a
/// required value is unset, or a value does not parse (which [`super::validate()`] reports).
/// Call it on validated input: it applies defaults and checks only what it must convert.
pub fn resolve(input: &ServerInput) -> Option<ServerSettings> {
    let name = input.name.value()?.clone();
    let namespace = input.namespace.or(DEFAULT_NAMESPACE.to_owned())?;
    let port = |field: &Field<i64>, default: u16| -> Option<u16> {
        u16::try_from(field.or(i64::from(default))?).ok()
    };
    let engine_input = input.engine.known()?.cloned().unwrap_or_default();
    let metrics_input = input.metrics.known()?.cloned().unwrap_or_default();
    let security_input = input
        .pod_security_context
        .known()?
        .cloned()
        .unwrap_or_default();
    let ha = match input.ha.known()? {
        None => None,
        Some(block) => Some(Ha {
            addresses: block.addresses.value()?.clone(),
            namespace: block.namespace.or(format!("kyuubi-{namespace}-{name}"))?,
        }),
    };
    let delivery = match input.delivery.or(DELIVERY_VAULT_AGENT.to_owned())?.as_str() {
        DELIVERY_VAULT_AGENT => {
            let block = input.vault_agent.known()??;
            Delivery::VaultAgent(VaultAgent {
                role: block.role.value()?.clone(),
                auth_path: block.auth_path.known()?.cloned(),
                annotation_prefix: block
                    .annotation_prefix
                    .or(VAULT_ANNOTATION_PREFIX.to_owned())?,
                pre_populate: block.pre_populate.or(true)?,
            })
        }
        DELIVERY_KUBERNETES_SECRET => Delivery::KubernetesSecret,
        _ => return None,
    };
    let resources = match input.resources.known()? {
        None => Resources::default(),
        Some(block) => Resources {
            requests_cpu: block.requests_cpu.known()?.cloned(),
            requests_memory: block.requests_memory.known()?.cloned(),
            limits_cpu: block.limits_cpu.known()?.cloned(),
            limits_memory: block.limits_memory.known()?.cloned(),
        },
    };
    Some(ServerSettings {
        image: input.image.value()?.clone(),
        replicas: i32::try_from(input.replicas.or(i64::from(DEFAULT_REPLICAS))?).ok()?,
        share_level: ShareLevel::parse(&input.share_level.or("USER".to_owned())?)?,
        thrift_binary_port: port(&input.thrift_binary_port, DEFAULT_THRIFT_BINARY_PORT)?,
        rest_port: port(&input.rest_port, DEFAULT_REST_PORT)?,
        thrift_http_port: match input.thrift_http_port.known()? {
            None => None,
            Some(value) => Some(u16::try_from(*value).ok()?),
        },
        service_type: ServiceType::parse(&input.service_type.or("ClusterIP".to_owned())?)?,
        profile: parse_profile_ref(input.spark_profile.value()?)?,
        delivery,
        engine: Engine {
            namespace: engine_input.namespace.or(namespace.clone())?,
            service_account: engine_input
                .service_account
                .or(format!("{name}{DRIVER_SERVICE_ACCOUNT_SUFFIX}"))?,
            image: engine_input.image.value()?.clone(),
            file_upload_path: engine_input.file_upload_path.known()?.cloned(),
            idle_timeout: engine_input.idle_timeout.known()?.cloned(),
            initialize_timeout: engine_input.initialize_timeout.known()?.cloned(),
            identity: ENGINE_IDENTITY.overridden(
                &engine_input.run_as_user,
                &engine_input.run_as_group,
                &engine_input.fs_group,
            )?,
        },
        metrics: Metrics {
            enabled: metrics_input.enabled.or(true)?,
            port: port(&metrics_input.port, DEFAULT_METRICS_PORT)?,
        },
        kyuubi_conf: known_map(&input.kyuubi_conf)?,
        ha,
        resources,
        identity: SERVER_IDENTITY.overridden(
            &security_input.run_as_user,
            &security_input.run_as_group,
            &security_input.fs_group,
        )?,
        labels: known_map(&input.labels)?,
        placement: PodPlacement {
            node_selector: resolve_node_selector(&input.node_selector)?,
            tolerations: resolve_tolerations(&input.tolerations)?,
            affinity: match input.affinity.known()? {
                None => None,
                Some(text) => Some(parse_affinity(text)?),
            },
        },
        restart_engines: input.restart_engines.or(false)?,
        wait_for_rollout: input.wait_for_rollout.or(true)?,
        force_conflicts: input.force_conflicts.or(false)?,
        // Kubernetes wants at least 1; the resource derives it from its timeouts, so clamp
        // rather than report an argument the user never wrote.
        progress_deadline_seconds: i32::try_from(
            input
                .progress_deadline_seconds
                .or(i64::from(DEFAULT_PROGRESS_DEADLINE_SECONDS))?
                .clamp(1, i64::from(i32::MAX)),
        )
        .ok()?,
        name,
        namespace,
    })
}

/// A map with every value known (unset map = empty), or `None`.
fn known_map(field: &Field<BTreeMap<String, Field<String>>>) -> Option<BTreeMap<String, String>> {
    match field.known()? {
        None => Some(BTreeMap::new()),
        Some(entries) => entries
            .iter()
            .map(|(key, value)| Some((key.clone(), value.value()?.clone())))
            .collect(),
    }
}

/// `jdbc:kyuubi://<name>.<namespace>.svc.cluster.local:<port>/`: the in-cluster JDBC URL of
/// the server's Service. Takes the parts so it is known at plan time even when other settings
/// are not.
pub fn jdbc_url(name: &str, namespace: &str, thrift_binary_port: u16) -> String {
    format!("jdbc:kyuubi://{name}.{namespace}.svc.cluster.local:{thrift_binary_port}/")
}

/// `http://<name>.<namespace>.svc.cluster.local:<port>/api/v1`: the REST API's base URL. REST is
/// always on (its port has a default), so this is never null.
pub fn rest_url(name: &str, namespace: &str, rest_port: u16) -> String {
    format!("http://{name}.{namespace}.svc.cluster.local:{rest_port}/api/v1")
}

#[cfg(test)]
pub(crate) mod tests;
