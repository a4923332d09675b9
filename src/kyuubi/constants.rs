//! Every fixed name of the Kyuubi domain: labels, annotation keys, object-name suffixes, ports,
//! paths, Kyuubi and Spark property keys, and the server-side-apply field manager.
//!
//! Values only; what is built from them lives in [`super::conf`] and [`super::manifests`].

/// The field manager every server-side apply uses, so ownership (and drift) is konoha's alone.
pub const FIELD_MANAGER: &str = "konoha";

// --- Labels on every object -------------------------------------------------------------------

/// Recommended label: the application.
pub const LABEL_NAME: &str = "app.kubernetes.io/name";
/// Value of [`LABEL_NAME`].
pub const LABEL_NAME_VALUE: &str = "kyuubi";
/// Recommended label: which server (the resource's `name`).
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
/// Recommended label: who manages the object.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Value of [`LABEL_MANAGED_BY`].
pub const LABEL_MANAGED_BY_VALUE: &str = "konoha";
/// The labels the provider sets itself; user `labels` may not override them.
pub const PROVIDER_LABELS: [&str; 3] = [LABEL_NAME, LABEL_INSTANCE, LABEL_MANAGED_BY];

/// Label Spark puts on this server's driver pods (through
/// `spark.kubernetes.driver.label.<key>`), so `restart_engines` can find exactly them.
pub const DRIVER_LABEL_SERVER: &str = "konoha.io/kyuubi-server";

/// The prefix of every label and annotation key the provider sets itself (such as
/// [`DRIVER_LABEL_SERVER`], which `restart_engines` deletes pods by); user `labels` may not
/// use it.
pub const PROVIDER_KEY_PREFIX: &str = "konoha.io/";

// --- Pod-template annotations that drive restarts -----------------------------------------------

/// The content hash from the `spark_profile` ref: changes exactly when the profile does.
pub const ANNOTATION_PROFILE_SHA256: &str = "konoha.io/spark-profile-sha256";
/// [`super::conf::config_sha256`]: changes exactly when the server's own files do.
pub const ANNOTATION_CONFIG_SHA256: &str = "konoha.io/config-sha256";
/// Prometheus scrape hints (the common `prometheus.io/*` convention).
pub const ANNOTATION_PROMETHEUS_SCRAPE: &str = "prometheus.io/scrape";
/// See [`ANNOTATION_PROMETHEUS_SCRAPE`].
pub const ANNOTATION_PROMETHEUS_PORT: &str = "prometheus.io/port";
/// See [`ANNOTATION_PROMETHEUS_SCRAPE`].
pub const ANNOTATION_PROMETHEUS_PATH: &str = "prometheus.io/path";

// --- Vault Agent Injector -----------------------------------------------------------------------

/// HashiCorp Vault's injector annotation prefix (the default).
pub const VAULT_ANNOTATION_PREFIX: &str = "vault.hashicorp.com";
/// OpenBao's injector annotation prefix (same annotations, other domain).
pub const OPENBAO_ANNOTATION_PREFIX: &str = "openbao.openbao.org";
/// The injector secret's name, which is also the file name it writes.
pub const PROFILE_FILE_NAME: &str = "spark.env";

// --- Object names (suffixes after the server's `name`) ------------------------------------------

/// ServiceAccount, Role and RoleBinding for Spark drivers: `<name>-spark-driver`.
pub const DRIVER_RBAC_SUFFIX: &str = "-spark-driver";
/// Default driver ServiceAccount: `<name>-spark`.
pub const DRIVER_SERVICE_ACCOUNT_SUFFIX: &str = "-spark";
/// Secret with the profile for `kubernetes-secret` delivery: `<name>-spark-profile`.
pub const PROFILE_SECRET_SUFFIX: &str = "-spark-profile";
/// ConfigMap with `kyuubi-defaults.conf`: `<name>-conf`.
pub const CONFIG_MAP_SUFFIX: &str = "-conf";
/// The longest suffix above; `name` must leave room for it within [`MAX_OBJECT_NAME`].
pub const LONGEST_NAME_SUFFIX: &str = PROFILE_SECRET_SUFFIX;
/// Longest name every derived object may have: a DNS label (Services need one, and `name` is
/// also a label value).
pub const MAX_OBJECT_NAME: usize = 63;
/// Longest server `name`: [`MAX_OBJECT_NAME`] minus [`LONGEST_NAME_SUFFIX`] (49).
pub const MAX_SERVER_NAME: usize = MAX_OBJECT_NAME - LONGEST_NAME_SUFFIX.len();

// --- Ports ---------------------------------------------------------------------------------------

/// Thrift binary (JDBC / HiveServer2-compatible) port.
pub const DEFAULT_THRIFT_BINARY_PORT: u16 = 10009;
/// REST API port (base path `/api/v1`).
pub const DEFAULT_REST_PORT: u16 = 10099;
/// Prometheus metrics port.
pub const DEFAULT_METRICS_PORT: u16 = 10019;
/// Port of the embedded ZooKeeper Kyuubi starts when `kyuubi.ha.addresses` is empty.
pub const EMBEDDED_ZOOKEEPER_PORT: u16 = 2181;
/// Port name of the thrift binary frontend (container and Service).
pub const PORT_NAME_THRIFT_BINARY: &str = "thrift-binary";
/// Port name of the REST frontend.
pub const PORT_NAME_REST: &str = "rest";
/// Port name of the thrift HTTP frontend.
pub const PORT_NAME_THRIFT_HTTP: &str = "thrift-http";
/// Port name of the metrics endpoint.
pub const PORT_NAME_PROMETHEUS: &str = "prometheus";
/// Path Prometheus scrapes.
pub const METRICS_PATH: &str = "/metrics";

// --- Defaults ----------------------------------------------------------------------------------

/// Namespace of the server when none is given.
pub const DEFAULT_NAMESPACE: &str = "kyuubi";
/// Server replicas.
pub const DEFAULT_REPLICAS: i32 = 1;
/// Kubernetes' own default for `progressDeadlineSeconds`.
pub const DEFAULT_PROGRESS_DEADLINE_SECONDS: i32 = 600;

// --- Container layout ----------------------------------------------------------------------------

/// The only container of the server pod.
pub const CONTAINER_NAME: &str = "kyuubi";
/// Where the ConfigMap (`kyuubi-defaults.conf` as konoha rendered it) is mounted.
pub const CONF_TEMPLATE_DIR: &str = "/opt/kyuubi/conf-template";
/// `KYUUBI_CONF_DIR`: an emptyDir the start script writes the final conf into.
pub const CONF_DIR: &str = "/opt/kyuubi/conf-rendered";
/// Directory holding `spark.env` (the injector's volume or the Secret).
pub const PROFILE_DIR: &str = "/etc/kyuubi";
/// Name of Kyuubi's configuration file, in the ConfigMap and in [`CONF_DIR`].
pub const KYUUBI_DEFAULTS_FILE: &str = "kyuubi-defaults.conf";
/// Environment variable telling Kyuubi where its configuration is.
pub const ENV_KYUUBI_CONF_DIR: &str = "KYUUBI_CONF_DIR";
/// Pod volume holding the ConfigMap.
pub const VOLUME_CONF_TEMPLATE: &str = "conf-template";
/// Pod volume holding the final configuration.
pub const VOLUME_CONF: &str = "conf";
/// Pod volume holding the profile Secret (`kubernetes-secret` delivery only).
pub const VOLUME_PROFILE: &str = "spark-profile";
/// Writable emptyDirs over the directories Kyuubi writes (`KYUUBI_LOG_DIR`, `KYUUBI_PID_DIR`,
/// `KYUUBI_WORK_DIR_ROOT` of the image, and `/tmp` for `spark-submit`), as `(volume, path)`:
/// with a non-root user the image's own directories may not be writable.
pub const WRITABLE_DIRS: [(&str, &str); 4] = [
    ("logs", "/opt/kyuubi/logs"),
    ("pid", "/opt/kyuubi/pid"),
    ("work", "/opt/kyuubi/work"),
    ("tmp", "/tmp"),
];
/// The ConfigMap's (and [`CONF_TEMPLATE_DIR`]'s) file holding the Spark driver pod template.
pub const DRIVER_POD_TEMPLATE_FILE: &str = "driver-pod-template.yaml";
/// The ConfigMap's file holding the Spark executor pod template.
pub const EXECUTOR_POD_TEMPLATE_FILE: &str = "executor-pod-template.yaml";
/// Spark's name for the driver container, kept in the driver pod template.
pub const DRIVER_CONTAINER_NAME: &str = "spark-kubernetes-driver";
/// Spark's name for the executor container, kept in the executor pod template.
pub const EXECUTOR_CONTAINER_NAME: &str = "spark-kubernetes-executor";

// --- Engines ---------------------------------------------------------------------------------------

/// The in-cluster API server, as Spark drivers launched from the server pod reach it.
pub const SPARK_MASTER: &str = "k8s://https://kubernetes.default.svc";

// --- Kyuubi and Spark keys konoha renders (refused in `kyuubi_conf`) --------------------------------

/// `kyuubi.engine.share.level`.
pub const KEY_SHARE_LEVEL: &str = "kyuubi.engine.share.level";
/// `kyuubi.frontend.protocols`.
pub const KEY_FRONTEND_PROTOCOLS: &str = "kyuubi.frontend.protocols";
/// `kyuubi.frontend.thrift.binary.bind.port`.
pub const KEY_THRIFT_BINARY_PORT: &str = "kyuubi.frontend.thrift.binary.bind.port";
/// `kyuubi.frontend.rest.bind.port`.
pub const KEY_REST_PORT: &str = "kyuubi.frontend.rest.bind.port";
/// `kyuubi.frontend.thrift.http.bind.port`.
pub const KEY_THRIFT_HTTP_PORT: &str = "kyuubi.frontend.thrift.http.bind.port";
/// `kyuubi.frontend.bind.host`.
pub const KEY_BIND_HOST: &str = "kyuubi.frontend.bind.host";
/// `kyuubi.frontend.connection.url.use.hostname`.
pub const KEY_URL_USE_HOSTNAME: &str = "kyuubi.frontend.connection.url.use.hostname";
/// `kyuubi.kubernetes.namespace`.
pub const KEY_KUBERNETES_NAMESPACE: &str = "kyuubi.kubernetes.namespace";
/// `kyuubi.session.engine.idle.timeout`.
pub const KEY_ENGINE_IDLE_TIMEOUT: &str = "kyuubi.session.engine.idle.timeout";
/// `kyuubi.session.engine.initialize.timeout`.
pub const KEY_ENGINE_INITIALIZE_TIMEOUT: &str = "kyuubi.session.engine.initialize.timeout";
/// `kyuubi.ha.addresses`.
pub const KEY_HA_ADDRESSES: &str = "kyuubi.ha.addresses";
/// `kyuubi.ha.namespace`.
pub const KEY_HA_NAMESPACE: &str = "kyuubi.ha.namespace";
/// `kyuubi.metrics.enabled`.
pub const KEY_METRICS_ENABLED: &str = "kyuubi.metrics.enabled";
/// `kyuubi.metrics.reporters`.
pub const KEY_METRICS_REPORTERS: &str = "kyuubi.metrics.reporters";
/// `kyuubi.metrics.prometheus.port`.
pub const KEY_METRICS_PORT: &str = "kyuubi.metrics.prometheus.port";
/// `kyuubi.metrics.prometheus.path`.
pub const KEY_METRICS_PATH: &str = "kyuubi.metrics.prometheus.path";

/// The `kyuubi.` keys konoha renders, each with the argument that sets it (empty when konoha
/// fixes the value). `kyuubi_conf` may not set any of them.
pub const PROVIDER_KYUUBI_KEYS: [(&str, &str); 16] = [
    (KEY_SHARE_LEVEL, "share_level"),
    (
        KEY_FRONTEND_PROTOCOLS,
        "thrift_binary_port, rest_port, thrift_http_port",
    ),
    (KEY_THRIFT_BINARY_PORT, "thrift_binary_port"),
    (KEY_REST_PORT, "rest_port"),
    (KEY_THRIFT_HTTP_PORT, "thrift_http_port"),
    (KEY_BIND_HOST, ""),
    (KEY_URL_USE_HOSTNAME, ""),
    (KEY_KUBERNETES_NAMESPACE, "engine.namespace"),
    (KEY_ENGINE_IDLE_TIMEOUT, "engine.idle_timeout"),
    (KEY_ENGINE_INITIALIZE_TIMEOUT, "engine.initialize_timeout"),
    (KEY_HA_ADDRESSES, "ha.addresses"),
    (KEY_HA_NAMESPACE, "ha.namespace"),
    (KEY_METRICS_ENABLED, "metrics.enabled"),
    (KEY_METRICS_REPORTERS, ""),
    (KEY_METRICS_PORT, "metrics.port"),
    (KEY_METRICS_PATH, ""),
];

/// `spark.submit.deployMode`.
pub const KEY_SPARK_DEPLOY_MODE: &str = "spark.submit.deployMode";
/// `spark.master`.
pub const KEY_SPARK_MASTER: &str = "spark.master";
/// `spark.kubernetes.namespace`.
pub const KEY_SPARK_NAMESPACE: &str = "spark.kubernetes.namespace";
/// `spark.kubernetes.authenticate.driver.serviceAccountName`.
pub const KEY_SPARK_DRIVER_SERVICE_ACCOUNT: &str =
    "spark.kubernetes.authenticate.driver.serviceAccountName";
/// `spark.kubernetes.container.image`.
pub const KEY_SPARK_IMAGE: &str = "spark.kubernetes.container.image";
/// `spark.kubernetes.file.upload.path`.
pub const KEY_SPARK_UPLOAD_PATH: &str = "spark.kubernetes.file.upload.path";
/// Prefix of Spark's per-driver-pod label settings.
pub const KEY_SPARK_DRIVER_LABEL_PREFIX: &str = "spark.kubernetes.driver.label.";
/// The driver pod template Spark reads when it creates a driver.
pub const KEY_SPARK_DRIVER_POD_TEMPLATE: &str = "spark.kubernetes.driver.podTemplateFile";
/// The executor pod template (Spark hands it on to the driver).
pub const KEY_SPARK_EXECUTOR_POD_TEMPLATE: &str = "spark.kubernetes.executor.podTemplateFile";
