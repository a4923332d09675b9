//! The `konoha_kyuubi_server` schema: every argument and computed attribute with the
//! description that feeds Terraform and `docs/`. The resource's behaviour is in
//! [`super::kyuubi_server`].

use std::sync::LazyLock;

use super::placement_model::tolerations_block;
use crate::framework::timeouts;
use crate::framework::{Attribute, Block, NestedBlock};
use crate::kyuubi;
use crate::tf::Type;

/// The resource's block.
pub(crate) fn server_block() -> Block {
    Block::new(
        "One Apache Kyuubi server on Kubernetes: a Deployment with its Service, ConfigMap, \
         ServiceAccounts and RBAC, applied with server-side apply under the field manager \
         `konoha`. Every Spark engine it starts gets the referenced Spark profile's settings; \
         a change of the profile or of the server's settings rolls the Deployment, and \
         nothing else does.",
    )
    .attribute(Attribute::string("name").required().force_new().description(
        "The server's name: names the Deployment, Service and the other objects. A DNS-1035 \
         label of at most 49 characters. Changing it replaces the server.",
    ))
    .attribute(Attribute::string("namespace").default(kyuubi::constants::DEFAULT_NAMESPACE).force_new().description(
        "The namespace the server runs in; it must exist. Changing it replaces the server.",
    ))
    .attribute(Attribute::string("image").required().description(
        "The Kyuubi container image, e.g. `apache/kyuubi:1.10.2-spark`. A change rolls the pods.",
    ))
    .attribute(Attribute::int("replicas").range(0, i32::MAX.into()).default(1i64).description(
        "Server pods. More than 1 needs the `ha` block: without shared discovery each pod \
         would be a separate server with its own engines. With more than 1 the provider also \
         keeps a PodDisruptionBudget named like the server (`maxUnavailable: 1`), so node \
         drains evict one server pod at a time; it is removed when replicas drops to 1.",
    ))
    .attribute(Attribute::string("share_level").default("USER").description(
        "`kyuubi.engine.share.level`: `USER` (one engine per authenticated user), \
         `CONNECTION` (one per connection), `GROUP` (one per primary group), `SERVER_LOCAL` \
         (one per server pod) or `SERVER` (one for every server sharing the `ha` namespace).",
    ))
    .attribute(Attribute::int("thrift_binary_port").range(1, 65535).default(10009i64).description(
        "The Thrift binary (HiveServer2-compatible, JDBC) port, on the container and the Service.",
    ))
    .attribute(Attribute::int("rest_port").range(1, 65535).default(10099i64).description(
        "The REST API port, on the container and the Service.",
    ))
    .attribute(Attribute::int("thrift_http_port").range(1, 65535).optional().description(
        "The Thrift HTTP port; the frontend is off when unset.",
    ))
    .attribute(Attribute::string("service_type").default("ClusterIP").description(
        "The Service's type: `ClusterIP`, `NodePort` or `LoadBalancer`.",
    ))
    .attribute(Attribute::string("spark_profile").required().description(
        "The Spark profile the server's engines run with: a `konoha_spark_profile`'s `ref` \
         (`<mount>/<name>@sha256:<hex>`). Its hash is on the pod template, so a profile \
         change rolls the server.",
    ))
    .attribute(Attribute::string("delivery").default("vault-agent").description(
        "How the profile reaches `/etc/kyuubi/spark.env`: `vault-agent` (the Vault Agent \
         injector renders it from Vault; configure `vault_agent`) or `kubernetes-secret` \
         (the provider copies it from Vault into a Secret at apply time, after checking it \
         against the `ref`'s hash).",
    ))
    .block(NestedBlock::single(
        "vault_agent",
        Block::new("The Vault Agent injector's settings, for `delivery = \"vault-agent\"`.")
            .attribute(Attribute::string("role").required().description(
                "The Vault Kubernetes-auth role the injector logs in with.",
            ))
            .attribute(Attribute::string("auth_path").optional().description(
                "The Kubernetes auth method's path, when not `auth/kubernetes`.",
            ))
            .attribute(Attribute::string("annotation_prefix").default(kyuubi::constants::VAULT_ANNOTATION_PREFIX).description(
                "The injector's annotation prefix: `vault.hashicorp.com`, or \
                 `openbao.openbao.org` for OpenBao's injector.",
            ))
            .attribute(Attribute::bool("pre_populate").default(true).description(
                "Render the file once before Kyuubi starts, with no sidecar: the file changes \
                 only with a new pod, which a profile change brings.",
            )),
    ))
    .block(NestedBlock::single(
        "engine",
        Block::new("Where and how the Spark engines (drivers and executors) run. Required, for \
                    its `image`.")
            .attribute(Attribute::string("namespace").optional().description(
                "The engines' namespace. Defaults to the server's.",
            ))
            .attribute(Attribute::string("service_account").optional().description(
                "The Spark drivers' ServiceAccount. Defaults to `<name>-spark`, which the \
                 provider creates with the RBAC a driver needs.",
            ))
            .attribute(Attribute::string("image").required().description(
                "The Spark image for drivers and executors (`spark.kubernetes.container.image`), \
                 e.g. `apache/spark:3.5.3`. Required: Spark on Kubernetes creates no driver \
                 without it, and the provider does not guess one, since the right image \
                 depends on the Spark version and the libraries the workloads need.",
            ))
            .attribute(Attribute::string("file_upload_path").optional().description(
                "`spark.kubernetes.file.upload.path`, e.g. an S3 URL, for files sessions add.",
            ))
            .attribute(Attribute::string("idle_timeout").optional().description(
                "How long an idle engine lives (`kyuubi.session.engine.idle.timeout`), an \
                 ISO-8601 duration such as `PT30M`.",
            ))
            .attribute(Attribute::string("initialize_timeout").optional().description(
                "How long an engine may take to start \
                 (`kyuubi.session.engine.initialize.timeout`), e.g. `PT3M`.",
            ))
            .attribute(Attribute::int("run_as_user").range(0, i32::MAX.into()).optional().description(
                "The user drivers and executors run as (`runAsUser` in their pod templates). \
                 Defaults to 185, the `spark` user of the `apache/spark` images; never 0.",
            ))
            .attribute(Attribute::int("run_as_group").range(0, i32::MAX.into()).optional().description(
                "The drivers' and executors' `runAsGroup`; the image's group when unset.",
            ))
            .attribute(Attribute::int("fs_group").range(0, i32::MAX.into()).optional().description(
                "The drivers' and executors' `fsGroup`, which owns their volumes. Defaults to 185.",
            )),
    ))
    .block(NestedBlock::single(
        "metrics",
        Block::new("Kyuubi's Prometheus metrics reporter.")
            .attribute(Attribute::bool("enabled").default(true).description(
                "Serve metrics and annotate the pods for Prometheus scraping.",
            ))
            .attribute(Attribute::int("port").range(1, 65535).default(10019i64).description(
                "The metrics port, on the container and the Service.",
            )),
    ))
    .attribute(Attribute::string_map("kyuubi_conf").optional().description(
        "Further `kyuubi.*` settings for `kyuubi-defaults.conf`. Keys the provider sets \
         (share level, ports, protocols, namespace, HA, metrics) are refused: use their \
         arguments.",
    ))
    .block(NestedBlock::single(
        "ha",
        Block::new("Shared discovery (ZooKeeper) for more than one server pod.")
            .attribute(Attribute::string("addresses").required().description(
                "`kyuubi.ha.addresses`, e.g. `zk-0.zk:2181,zk-1.zk:2181`.",
            ))
            .attribute(Attribute::string("namespace").optional().description(
                "`kyuubi.ha.namespace`. Defaults to `kyuubi-<namespace>-<name>`, so that two \
                 servers never share engines by accident.",
            )),
    ))
    .block(NestedBlock::single(
        "resources",
        Block::new("CPU and memory for the server container (not the engines).")
            .attribute(Attribute::string("requests_cpu").optional().description("CPU request, a Kubernetes quantity."))
            .attribute(Attribute::string("requests_memory").optional().description("Memory request, e.g. `2Gi`."))
            .attribute(Attribute::string("limits_cpu").optional().description("CPU limit."))
            .attribute(Attribute::string("limits_memory").optional().description("Memory limit.")),
    ))
    .block(NestedBlock::single(
        "pod_security_context",
        Block::new(
            "The ids the server pod runs with, for images built with another user. The rest of \
             the pod's security (non-root, no privilege escalation, no capabilities, the \
             runtime's seccomp profile) is fixed, so the pod always meets Pod Security \
             `restricted`.",
        )
        .attribute(Attribute::int("run_as_user").range(0, i32::MAX.into()).optional().description(
            "`runAsUser`. Defaults to 10009, the `kyuubi` user of the `apache/kyuubi` images; \
             never 0.",
        ))
        .attribute(Attribute::int("run_as_group").range(0, i32::MAX.into()).optional().description(
            "`runAsGroup`; the image's group (`root` for `kyuubi`) when unset.",
        ))
        .attribute(Attribute::int("fs_group").range(0, i32::MAX.into()).optional().description(
            "`fsGroup`, which owns the pod's writable volumes. Defaults to 10009.",
        )),
    ))
    .attribute(Attribute::string_map("labels").optional().description(
        "Extra labels on every object; the `app.kubernetes.io/*` labels are the provider's.",
    ))
    .attribute(Attribute::string_map("node_selector").optional().description(
        "Node labels the server pods need (the pod spec's `nodeSelector`), e.g. \
         `{ \"node-pool\" = \"kyuubi\" }`. Keys are label keys, values label values. A change \
         rolls the pods.",
    ))
    .block(tolerations_block("tolerations", "the server pods", " A change rolls the pods."))
    .attribute(Attribute::string("affinity").optional().description(
        "The server pods' `affinity`, as JSON: write `jsonencode({ nodeAffinity = {…} })` with \
         any of `nodeAffinity`, `podAffinity` and `podAntiAffinity`, spelled as the \
         Kubernetes API spells them; other keys are refused at validation. Compared by \
         meaning, not by spelling: whitespace and key order change nothing in the cluster. \
         A change rolls the pods.",
    ))
    .attribute(Attribute::bool("restart_engines").default(false).description(
        "After a rollout that changed the profile or the settings, delete this server's Spark \
         driver pods, so that no engine keeps the old settings. Otherwise shared engines \
         (share levels other than `CONNECTION`) keep them until they idle out, and apply \
         says so in a warning.",
    ))
    .attribute(Attribute::bool("wait_for_rollout").default(true).client_side().description(
        "Wait until the rollout is complete (the rules of `kubectl rollout status`); a rollout \
         that fails or times out fails the apply and is not recorded as done.",
    ))
    .attribute(Attribute::bool("force_conflicts").default(false).client_side().description(
        "Take over fields another field manager owns. Without it, such a conflict fails the \
         apply and names the other manager; the plan before warns of it, naming each taken \
         field, its owner and subresource (see Drift).",
    ))
    .attribute(Attribute::int("progress_deadline_seconds").range(1, i32::MAX.into()).default(600i64).description(
        "The Deployment's `progressDeadlineSeconds`: after this long without progress the \
         rollout counts as failed and apply stops waiting.",
    ))
    .block(timeouts::block("10m"))
    .attribute(Attribute::string("id").computed().description("`<namespace>/<name>`; also the import ID."))
    .attribute(Attribute::string("jdbc_url").computed().description(
        "`jdbc:kyuubi://<name>.<namespace>.svc.cluster.local:<thrift_binary_port>/`, for JDBC \
         clients and dbt inside the cluster. Known at plan time.",
    ))
    .attribute(Attribute::string("rest_url").computed().description(
        "The REST API's base URL inside the cluster. Known at plan time.",
    ))
    .attribute(Attribute::string("config_sha256").computed().description(
        "The hash of the server's configuration, carried by the pod template as \
         `konoha.io/config-sha256`. Known at plan time.",
    ))
    .attribute(Attribute::int("observed_generation").computed().description(
        "The Deployment generation the cluster last rolled out.",
    ))
    .attribute(Attribute::int("ready_replicas").computed().description(
        "Ready server pods at the last read.",
    ))
}

/// The resource's value type, built once: apply and read need it for the arguments annotation.
pub(crate) fn value_type() -> &'static Type {
    static TYPE: LazyLock<Type> = LazyLock::new(|| server_block().value_type());
    &TYPE
}

/// The names of the arguments (what the configuration may set), as recorded in the arguments
/// annotation. Client-side ones (`timeouts`, `wait_for_rollout`, `force_conflicts`) are left
/// out: they say how to apply, not what to run, and changing them must not change the
/// Deployment. Built once.
pub(crate) fn argument_names() -> &'static [String] {
    static NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
        let block = server_block();
        block
            .attributes
            .iter()
            .filter(|a| (a.required || a.optional) && !a.client_side)
            .map(|a| a.name.clone())
            .chain(
                block
                    .blocks
                    .iter()
                    .filter(|b| !b.client_side)
                    .map(|b| b.name.clone()),
            )
            .collect()
    });
    &NAMES
}
