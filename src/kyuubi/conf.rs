//! The server's own files: `kyuubi-defaults.conf` (the ConfigMap's content with the Spark pod
//! templates), the container's start script, and `config_sha256`, the hash that restarts the
//! pods when any of them changes.
//!
//! Pure text; the objects that carry it are built in [`super::manifests`]. The Spark profile is
//! not in here: it reaches the pod separately (see the module docs in [`super`]).

use std::collections::BTreeMap;

use crate::digest::Sha256;

use super::constants::{
    CONF_DIR, CONF_TEMPLATE_DIR, DRIVER_LABEL_SERVER, DRIVER_POD_TEMPLATE_FILE,
    EXECUTOR_POD_TEMPLATE_FILE, KEY_BIND_HOST, KEY_ENGINE_IDLE_TIMEOUT,
    KEY_ENGINE_INITIALIZE_TIMEOUT, KEY_FRONTEND_PROTOCOLS, KEY_HA_ADDRESSES, KEY_HA_NAMESPACE,
    KEY_KUBERNETES_NAMESPACE, KEY_METRICS_ENABLED, KEY_METRICS_PATH, KEY_METRICS_PORT,
    KEY_METRICS_REPORTERS, KEY_REST_PORT, KEY_SHARE_LEVEL, KEY_SPARK_DEPLOY_MODE,
    KEY_SPARK_DRIVER_LABEL_PREFIX, KEY_SPARK_DRIVER_POD_TEMPLATE, KEY_SPARK_DRIVER_SERVICE_ACCOUNT,
    KEY_SPARK_EXECUTOR_POD_TEMPLATE, KEY_SPARK_IMAGE, KEY_SPARK_MASTER, KEY_SPARK_NAMESPACE,
    KEY_SPARK_UPLOAD_PATH, KEY_THRIFT_BINARY_PORT, KEY_THRIFT_HTTP_PORT, KEY_URL_USE_HOSTNAME,
    KYUUBI_DEFAULTS_FILE, METRICS_PATH, SPARK_MASTER,
};
use super::pod_security::{driver_pod_template, executor_pod_template, template_file};
use super::settings::ServerSettings;

/// The container's program, run as `/bin/bash -c START_SCRIPT`.
///
/// It waits up to 60 s for `/etc/kyuubi/spark.env` (already there with Secret delivery or a
/// pre-populating injector; written shortly after start by an injector sidecar otherwise), writes
/// `$KYUUBI_CONF_DIR/kyuubi-defaults.conf` as the ConfigMap's file followed by the profile, and
/// `exec`s Kyuubi in the foreground. Kyuubi hands every `spark.*` entry of that file to each
/// engine's `spark-submit` as `--conf`, so the profile reaches every new engine. Giving up after
/// 60 s makes a missing profile a failing pod (and a failed rollout), not a server that quietly
/// runs engines without it.
///
/// The profile's `konoha.*` lines are konoha's, not settings: they stay out of the file. The
/// executors' tolerations (`konoha.executor.tolerations`, a JSON array; see
/// [`crate::spark::keys::EXECUTOR_TOLERATIONS`]) go into `$KYUUBI_CONF_DIR/executor-pod-template.yaml`
/// instead: the ConfigMap's executor template with a `tolerations` field added as the first
/// field of its `spec` (the template is konoha's own pretty-printed JSON, whose `spec` line is
/// fixed, so plain bash can do it; the Kyuubi image has no JSON tool). Without tolerations the
/// file is the ConfigMap's template as it is. `spark.kubernetes.executor.podTemplateFile` points
/// at that file; `spark-submit` ships it to the driver, which builds the executors from it.
pub const START_SCRIPT: &str = r#"set -eu
profile=/etc/kyuubi/spark.env
waited=0
while [ ! -s "$profile" ]; do
  if [ "$waited" -ge 60 ]; then
    echo "konoha: $profile did not appear within 60 s; is the Spark profile delivered?" >&2
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
tolerations=
{
  cat /opt/kyuubi/conf-template/kyuubi-defaults.conf
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      konoha.executor.tolerations=*) tolerations=${line#*=} ;;
      konoha.*) ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < "$profile"
} > "$KYUUBI_CONF_DIR/kyuubi-defaults.conf"
template=/opt/kyuubi/conf-template/executor-pod-template.yaml
if [ -z "$tolerations" ]; then
  cat "$template" > "$KYUUBI_CONF_DIR/executor-pod-template.yaml"
else
  added=0
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\n' "$line"
    if [ "$line" = '  "spec": {' ]; then
      printf '    "tolerations": %s,\n' "$tolerations"
      added=$((added + 1))
    fi
  done < "$template" > "$KYUUBI_CONF_DIR/executor-pod-template.yaml"
  if [ "$added" -ne 1 ]; then
    echo "konoha: $template has no single spec line for the executors' tolerations" >&2
    exit 1
  fi
fi
exec "${KYUUBI_HOME:-/opt/kyuubi}/bin/kyuubi" run
"#;

/// The Kyuubi settings konoha renders (plus the user's `kyuubi_conf`), keyed and so sorted.
pub fn kyuubi_properties(settings: &ServerSettings) -> BTreeMap<String, String> {
    let mut properties = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        properties.insert(key.to_owned(), value);
    };
    put(KEY_SHARE_LEVEL, settings.share_level.as_str().to_owned());
    let mut protocols = vec!["THRIFT_BINARY", "REST"];
    if settings.thrift_http_port.is_some() {
        protocols.push("THRIFT_HTTP");
    }
    put(KEY_FRONTEND_PROTOCOLS, protocols.join(","));
    put(
        KEY_THRIFT_BINARY_PORT,
        settings.thrift_binary_port.to_string(),
    );
    put(KEY_REST_PORT, settings.rest_port.to_string());
    if let Some(port) = settings.thrift_http_port {
        put(KEY_THRIFT_HTTP_PORT, port.to_string());
    }
    // Listen on every interface of the pod, and advertise the pod IP, not its hostname: other
    // pods cannot resolve a Deployment pod's hostname.
    put(KEY_BIND_HOST, "0.0.0.0".to_owned());
    put(KEY_URL_USE_HOSTNAME, "false".to_owned());
    let engine = &settings.engine;
    put(KEY_KUBERNETES_NAMESPACE, engine.namespace.clone());
    if let Some(timeout) = &engine.idle_timeout {
        put(KEY_ENGINE_IDLE_TIMEOUT, timeout.clone());
    }
    if let Some(timeout) = &engine.initialize_timeout {
        put(KEY_ENGINE_INITIALIZE_TIMEOUT, timeout.clone());
    }
    if let Some(ha) = &settings.ha {
        put(KEY_HA_ADDRESSES, ha.addresses.clone());
        put(KEY_HA_NAMESPACE, ha.namespace.clone());
    }
    put(KEY_METRICS_ENABLED, settings.metrics.enabled.to_string());
    if settings.metrics.enabled {
        put(KEY_METRICS_REPORTERS, "PROMETHEUS".to_owned());
        put(KEY_METRICS_PORT, settings.metrics.port.to_string());
        put(KEY_METRICS_PATH, METRICS_PATH.to_owned());
    }
    // Engines: Spark in cluster mode on this cluster, drivers in the engine namespace under
    // their own ServiceAccount, and labelled with this server so they can be found again.
    put(KEY_SPARK_DEPLOY_MODE, "cluster".to_owned());
    put(KEY_SPARK_MASTER, SPARK_MASTER.to_owned());
    put(KEY_SPARK_NAMESPACE, engine.namespace.clone());
    put(
        KEY_SPARK_DRIVER_SERVICE_ACCOUNT,
        engine.service_account.clone(),
    );
    put(KEY_SPARK_IMAGE, engine.image.clone());
    // The pod templates make drivers and executors meet `restricted` (see `pod_security`).
    put(
        KEY_SPARK_DRIVER_POD_TEMPLATE,
        format!("{CONF_TEMPLATE_DIR}/{DRIVER_POD_TEMPLATE_FILE}"),
    );
    // The executors' template is the one the start script writes, with the profile's
    // tolerations in it (see `START_SCRIPT`).
    put(
        KEY_SPARK_EXECUTOR_POD_TEMPLATE,
        format!("{CONF_DIR}/{EXECUTOR_POD_TEMPLATE_FILE}"),
    );
    if let Some(path) = &engine.file_upload_path {
        put(KEY_SPARK_UPLOAD_PATH, path.clone());
    }
    put(
        &format!("{KEY_SPARK_DRIVER_LABEL_PREFIX}{DRIVER_LABEL_SERVER}"),
        settings.name.clone(),
    );
    // Validation keeps these off every key above.
    for (key, value) in &settings.kyuubi_conf {
        put(key, value.clone());
    }
    properties
}

/// `kyuubi-defaults.conf` as the ConfigMap holds it: one `key=value` line per property, sorted by
/// key, each ending in `\n`.
pub fn render_kyuubi_defaults(settings: &ServerSettings) -> String {
    kyuubi_properties(settings)
        .iter()
        .map(|(key, value)| format!("{key}={value}\n"))
        .collect()
}

/// SHA-256 of `text`, as 64 lowercase hex digits (also how a profile's content hash is made).
pub fn sha256_hex(text: &str) -> String {
    crate::digest::sha256_hex(text.as_bytes())
}

/// The hash the pod template carries as `konoha.io/config-sha256`.
///
/// It covers what the container reads that is *not* already in the pod template: the
/// ConfigMap's `kyuubi-defaults.conf` (so share level, ports, engine and HA settings, metrics and
/// `kyuubi_conf`), its Spark pod templates (the engines' ids) and [`START_SCRIPT`] (so a provider release that changes the script restarts
/// the pods, visibly). Image, resources, labels and the profile are left out: they change the
/// pod template themselves (the profile through `konoha.io/spark-profile-sha256`), so the
/// hash stays a clear "the server's configuration changed". Each part is hashed with its name
/// and length, so no two different pairs of files give the same input. Deterministic.
pub fn config_sha256(settings: &ServerSettings) -> String {
    let mut hasher = Sha256::new();
    for (name, content) in [
        (KYUUBI_DEFAULTS_FILE, render_kyuubi_defaults(settings)),
        (
            DRIVER_POD_TEMPLATE_FILE,
            template_file(&driver_pod_template(&settings.engine.identity)),
        ),
        (
            EXECUTOR_POD_TEMPLATE_FILE,
            template_file(&executor_pod_template(&settings.engine.identity)),
        ),
        ("start-script", START_SCRIPT.to_owned()),
    ] {
        hasher.update(format!("{name}\n{}\n", content.len()).as_bytes());
        hasher.update(content.as_bytes());
    }
    hasher.finish_hex()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::kyuubi::constants::{CONF_TEMPLATE_DIR, PROFILE_DIR, PROFILE_FILE_NAME};
    use crate::kyuubi::settings::tests::{minimal, set};
    use crate::kyuubi::settings::{
        EngineInput, Field, HaInput, MetricsInput, ServerInput, resolve,
    };

    fn settings(input: ServerInput) -> ServerSettings {
        resolve(&input).expect("valid input resolves")
    }

    /// A server using every setting that reaches the file.
    pub(crate) fn full_input() -> ServerInput {
        ServerInput {
            namespace: set("data"),
            replicas: Field::Set(2),
            share_level: set("GROUP"),
            thrift_binary_port: Field::Set(10009),
            rest_port: Field::Set(10099),
            thrift_http_port: Field::Set(10010),
            engine: Field::Set(EngineInput {
                namespace: set("spark"),
                service_account: set("spark-driver"),
                image: set("apache/spark:3.5.3"),
                file_upload_path: set("s3a://bucket/uploads"),
                idle_timeout: set("PT30M"),
                initialize_timeout: set("PT5M"),
                run_as_user: Field::Unset,
                run_as_group: Field::Unset,
                fs_group: Field::Unset,
            }),
            metrics: Field::Set(MetricsInput {
                enabled: Field::Set(true),
                port: Field::Set(9090),
            }),
            kyuubi_conf: Field::Set(BTreeMap::from([
                (
                    "kyuubi.session.conf.ignore.list".to_owned(),
                    set("spark.executor.memory"),
                ),
                ("kyuubi.server.administrators".to_owned(), set("admin")),
            ])),
            ha: Field::Set(HaInput {
                addresses: set("zk-0:2181,zk-1:2181"),
                namespace: set("dbt"),
            }),
            ..minimal()
        }
    }

    #[test]
    fn default_server_file() {
        let expected = "\
kyuubi.engine.share.level=USER
kyuubi.frontend.bind.host=0.0.0.0
kyuubi.frontend.connection.url.use.hostname=false
kyuubi.frontend.protocols=THRIFT_BINARY,REST
kyuubi.frontend.rest.bind.port=10099
kyuubi.frontend.thrift.binary.bind.port=10009
kyuubi.kubernetes.namespace=kyuubi
kyuubi.metrics.enabled=true
kyuubi.metrics.prometheus.path=/metrics
kyuubi.metrics.prometheus.port=10019
kyuubi.metrics.reporters=PROMETHEUS
spark.kubernetes.authenticate.driver.serviceAccountName=kyuubi-dbt-spark
spark.kubernetes.container.image=apache/spark:3.5.3
spark.kubernetes.driver.label.konoha.io/kyuubi-server=kyuubi-dbt
spark.kubernetes.driver.podTemplateFile=/opt/kyuubi/conf-template/driver-pod-template.yaml
spark.kubernetes.executor.podTemplateFile=/opt/kyuubi/conf-rendered/executor-pod-template.yaml
spark.kubernetes.namespace=kyuubi
spark.master=k8s://https://kubernetes.default.svc
spark.submit.deployMode=cluster
";
        assert_eq!(render_kyuubi_defaults(&settings(minimal())), expected);
    }

    #[test]
    fn full_server_file() {
        let expected = "\
kyuubi.engine.share.level=GROUP
kyuubi.frontend.bind.host=0.0.0.0
kyuubi.frontend.connection.url.use.hostname=false
kyuubi.frontend.protocols=THRIFT_BINARY,REST,THRIFT_HTTP
kyuubi.frontend.rest.bind.port=10099
kyuubi.frontend.thrift.binary.bind.port=10009
kyuubi.frontend.thrift.http.bind.port=10010
kyuubi.ha.addresses=zk-0:2181,zk-1:2181
kyuubi.ha.namespace=dbt
kyuubi.kubernetes.namespace=spark
kyuubi.metrics.enabled=true
kyuubi.metrics.prometheus.path=/metrics
kyuubi.metrics.prometheus.port=9090
kyuubi.metrics.reporters=PROMETHEUS
kyuubi.server.administrators=admin
kyuubi.session.conf.ignore.list=spark.executor.memory
kyuubi.session.engine.idle.timeout=PT30M
kyuubi.session.engine.initialize.timeout=PT5M
spark.kubernetes.authenticate.driver.serviceAccountName=spark-driver
spark.kubernetes.container.image=apache/spark:3.5.3
spark.kubernetes.driver.label.konoha.io/kyuubi-server=kyuubi-dbt
spark.kubernetes.driver.podTemplateFile=/opt/kyuubi/conf-template/driver-pod-template.yaml
spark.kubernetes.executor.podTemplateFile=/opt/kyuubi/conf-rendered/executor-pod-template.yaml
spark.kubernetes.file.upload.path=s3a://bucket/uploads
spark.kubernetes.namespace=spark
spark.master=k8s://https://kubernetes.default.svc
spark.submit.deployMode=cluster
";
        assert_eq!(render_kyuubi_defaults(&settings(full_input())), expected);
    }

    #[test]
    fn metrics_off_leaves_only_the_switch() {
        let input = ServerInput {
            metrics: Field::Set(MetricsInput {
                enabled: Field::Set(false),
                port: Field::Unset,
            }),
            ..minimal()
        };
        let text = render_kyuubi_defaults(&settings(input));
        assert!(text.contains("kyuubi.metrics.enabled=false\n"), "{text}");
        assert!(!text.contains("kyuubi.metrics.reporters"), "{text}");
        assert!(!text.contains("kyuubi.metrics.prometheus"), "{text}");
    }

    #[test]
    fn config_hash_is_stable_and_follows_the_files() {
        let base = settings(minimal());
        let hash = config_sha256(&base);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, config_sha256(&settings(minimal())));
        // Changes that alter the rendered file change the hash.
        let changed = [
            ServerInput {
                share_level: set("CONNECTION"),
                ..minimal()
            },
            ServerInput {
                rest_port: Field::Set(10100),
                ..minimal()
            },
            ServerInput {
                kyuubi_conf: Field::Set(BTreeMap::from([(
                    "kyuubi.server.administrators".to_owned(),
                    set("admin"),
                )])),
                ..minimal()
            },
        ];
        for input in changed {
            assert_ne!(config_sha256(&settings(input.clone())), hash, "{input:#?}");
        }
        // Changes that roll the pods by themselves, or not at all, leave it.
        let same = [
            ServerInput {
                image: set("apache/kyuubi:1.11.0-spark"),
                ..minimal()
            },
            ServerInput {
                spark_profile: Field::Set(format!("secret/team/etl@sha256:{}", "f".repeat(64))),
                ..minimal()
            },
            ServerInput {
                replicas: Field::Set(0),
                ..minimal()
            },
        ];
        for input in same {
            assert_eq!(config_sha256(&settings(input.clone())), hash, "{input:#?}");
        }
    }

    #[test]
    fn hash_helper_is_plain_sha256() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    /// Runs the real script with bash in a temp root, its fixed paths moved there and
    /// `bin/kyuubi` standing in as a link to `echo` (a link, not a freshly written executable,
    /// which a concurrent fork in another test could leave "text file busy"). Returns the
    /// conf dir's `kyuubi-defaults.conf` and executor template.
    fn run_start_script(profile: &str) -> (String, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for sub in ["template", "profile", "conf", "home/bin"] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        std::fs::write(root.join("template/kyuubi-defaults.conf"), "kyuubi.a=1\n").expect("write");
        std::fs::write(
            root.join("template").join(EXECUTOR_POD_TEMPLATE_FILE),
            base_executor_template(),
        )
        .expect("write");
        std::fs::write(root.join("profile/spark.env"), profile).expect("write");
        std::os::unix::fs::symlink("/bin/echo", root.join("home/bin/kyuubi")).expect("link");
        let script = START_SCRIPT
            .replace(PROFILE_DIR, &root.join("profile").display().to_string())
            .replace(
                CONF_TEMPLATE_DIR,
                &root.join("template").display().to_string(),
            );
        let output = std::process::Command::new("/bin/bash")
            .arg("-c")
            .arg(&script)
            .env("KYUUBI_CONF_DIR", root.join("conf"))
            .env("KYUUBI_HOME", root.join("home"))
            .output()
            .expect("bash runs");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "");
        assert!(output.status.success());
        assert_eq!(String::from_utf8_lossy(&output.stdout), "run\n");
        let read =
            |file: &str| std::fs::read_to_string(root.join("conf").join(file)).expect("written");
        (read(KYUUBI_DEFAULTS_FILE), read(EXECUTOR_POD_TEMPLATE_FILE))
    }

    /// The executor template the ConfigMap carries for the default engine ids.
    fn base_executor_template() -> String {
        template_file(&executor_pod_template(
            &crate::kyuubi::pod_security::ENGINE_IDENTITY,
        ))
    }

    #[test]
    fn start_script_joins_conf_and_profile_then_execs_kyuubi() {
        let (conf, template) = run_start_script("spark.executor.memory=2g\n");
        assert_eq!(conf, "kyuubi.a=1\nspark.executor.memory=2g\n");
        // Without tolerations the executors get the ConfigMap's template byte for byte.
        assert_eq!(template, base_executor_template());
    }

    #[test]
    fn start_script_moves_the_executor_tolerations_into_the_template() {
        let tolerations = r#"[{"effect":"NoSchedule","key":"nvidia.com/gpu","operator":"Exists"}]"#;
        // A last line without a newline is read too.
        let profile = format!(
            "konoha.executor.tolerations={tolerations}\nkonoha.future.setting=x\nspark.executor.memory=2g"
        );
        let (conf, template) = run_start_script(&profile);
        assert_eq!(conf, "kyuubi.a=1\nspark.executor.memory=2g\n");
        let written: serde_json::Value = serde_json::from_str(&template).expect("valid JSON");
        let mut expected: serde_json::Value =
            serde_json::from_str(&base_executor_template()).expect("valid JSON");
        expected["spec"]["tolerations"] = serde_json::from_str(tolerations).expect("JSON");
        assert_eq!(written, expected);
        assert_eq!(
            crate::kyuubi::pod_security::tests::restricted_breaches(&written["spec"]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn start_script_uses_the_layout_constants() {
        let profile = format!("{PROFILE_DIR}/{PROFILE_FILE_NAME}");
        assert!(START_SCRIPT.contains(&format!("profile={profile}\n")));
        assert!(START_SCRIPT.contains(&format!(
            "  cat {CONF_TEMPLATE_DIR}/{KYUUBI_DEFAULTS_FILE}\n"
        )));
        assert!(START_SCRIPT.contains(&format!("> \"$KYUUBI_CONF_DIR/{KYUUBI_DEFAULTS_FILE}\"\n")));
        assert!(START_SCRIPT.ends_with("exec \"${KYUUBI_HOME:-/opt/kyuubi}/bin/kyuubi\" run\n"));
        let tolerations = crate::spark::keys::EXECUTOR_TOLERATIONS;
        assert!(START_SCRIPT.contains(&format!("      {tolerations}=*) tolerations=")));
        assert!(START_SCRIPT.contains(&format!(
            "template={CONF_TEMPLATE_DIR}/{EXECUTOR_POD_TEMPLATE_FILE}\n"
        )));
        assert!(START_SCRIPT.contains(&format!(
            "\"$KYUUBI_CONF_DIR/{EXECUTOR_POD_TEMPLATE_FILE}\""
        )));
        // The line the script inserts after is how `template_file` prints the top-level spec.
        assert!(base_executor_template().contains("\n  \"spec\": {\n"));
    }
}
