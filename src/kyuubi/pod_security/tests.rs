//! Every pod spec a server renders — the server's, the driver template's and the executor
//! template's — checked against Pod Security Standards `restricted` as the Kubernetes
//! documentation lists its controls (the baseline ones included), and the checker itself shown
//! to catch each kind of breach.

use serde_json::{Value, json};

use super::*;
use crate::kyuubi::constants::{DRIVER_POD_TEMPLATE_FILE, EXECUTOR_POD_TEMPLATE_FILE};
use crate::kyuubi::render_objects;
use crate::kyuubi::settings::tests::{minimal, set};
use crate::kyuubi::settings::{
    EngineInput, Field, PodSecurityInput, ServerInput, ServerSettings, resolve,
};

/// The volume types `restricted` allows.
const ALLOWED_VOLUMES: [&str; 8] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// The sysctls `baseline` allows.
const SAFE_SYSCTLS: [&str; 9] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
];

fn is_true(value: Option<&Value>) -> bool {
    value == Some(&json!(true))
}

/// Every breach of `restricted` in a pod `spec`, as readable lines; empty means admitted.
pub(crate) fn restricted_breaches(spec: &Value) -> Vec<String> {
    let mut breaches = Vec::new();
    let mut breach = |text: String| breaches.push(text);
    let pod = spec.get("securityContext").cloned().unwrap_or(json!({}));
    let containers: Vec<&Value> = ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|list| spec.get(*list).and_then(Value::as_array))
        .flatten()
        .collect();
    if containers.is_empty() {
        breach("no containers".to_owned());
    }
    // Baseline: host namespaces, HostProcess, sysctls, AppArmor, SELinux, seccomp.
    for host in ["hostNetwork", "hostPID", "hostIPC"] {
        if is_true(spec.get(host)) {
            breach(format!("{host} is true"));
        }
    }
    let contexts =
        std::iter::once(("pod".to_owned(), &pod)).chain(containers.iter().filter_map(|c| {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
            c.get("securityContext")
                .map(|sc| (format!("container {name}"), sc))
        }));
    for (who, context) in contexts {
        if is_true(context.pointer("/windowsOptions/hostProcess")) {
            breach(format!("{who}: hostProcess"));
        }
        if let Some(kind) = context
            .pointer("/appArmorProfile/type")
            .and_then(Value::as_str)
            && !["RuntimeDefault", "Localhost"].contains(&kind)
        {
            breach(format!("{who}: AppArmor {kind}"));
        }
        if let Some(options) = context.get("seLinuxOptions") {
            if let Some(kind) = options.get("type").and_then(Value::as_str)
                && ![
                    "",
                    "container_t",
                    "container_init_t",
                    "container_kvm_t",
                    "container_engine_t",
                ]
                .contains(&kind)
            {
                breach(format!("{who}: SELinux type {kind}"));
            }
            if options.get("user").is_some() || options.get("role").is_some() {
                breach(format!("{who}: SELinux user or role"));
            }
        }
        if let Some(kind) = context
            .pointer("/seccompProfile/type")
            .and_then(Value::as_str)
            && !["RuntimeDefault", "Localhost"].contains(&kind)
        {
            breach(format!("{who}: seccomp {kind}"));
        }
        if context.get("runAsNonRoot") == Some(&json!(false)) {
            breach(format!("{who}: runAsNonRoot false"));
        }
        if context.get("runAsUser") == Some(&json!(0)) {
            breach(format!("{who}: runAsUser 0"));
        }
    }
    for sysctl in pod
        .get("sysctls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = sysctl.get("name").and_then(Value::as_str).unwrap_or("?");
        if !SAFE_SYSCTLS.contains(&name) {
            breach(format!("sysctl {name}"));
        }
    }
    // Restricted: volume types.
    for volume in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = volume.get("name").and_then(Value::as_str).unwrap_or("?");
        let kinds: Vec<&String> = volume
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
            .filter(|k| *k != "name")
            .collect();
        if kinds.len() != 1 || !ALLOWED_VOLUMES.contains(&kinds[0].as_str()) {
            breach(format!("volume {name}: type {kinds:?}"));
        }
    }
    // Pod-level settings that may instead be on every container.
    let pod_non_root = is_true(pod.get("runAsNonRoot"));
    let pod_seccomp = pod.pointer("/seccompProfile/type").is_some();
    for container in &containers {
        let name = container.get("name").and_then(Value::as_str).unwrap_or("?");
        let context = container
            .get("securityContext")
            .cloned()
            .unwrap_or(json!({}));
        if is_true(context.get("privileged")) {
            breach(format!("container {name}: privileged"));
        }
        if context.get("allowPrivilegeEscalation") != Some(&json!(false)) {
            breach(format!(
                "container {name}: allowPrivilegeEscalation is not false"
            ));
        }
        if !pod_non_root && !is_true(context.get("runAsNonRoot")) {
            breach(format!("container {name}: runAsNonRoot not set"));
        }
        if !pod_seccomp && context.pointer("/seccompProfile/type").is_none() {
            breach(format!("container {name}: no seccomp profile"));
        }
        if context
            .pointer("/procMount")
            .is_some_and(|m| m != "Default")
        {
            breach(format!("container {name}: procMount"));
        }
        let drops = context
            .pointer("/capabilities/drop")
            .and_then(Value::as_array);
        if !drops.is_some_and(|d| d.contains(&json!("ALL"))) {
            breach(format!("container {name}: does not drop ALL capabilities"));
        }
        let adds = context
            .pointer("/capabilities/add")
            .and_then(Value::as_array);
        if adds.is_some_and(|a| a.iter().any(|c| c != "NET_BIND_SERVICE")) {
            breach(format!("container {name}: adds capabilities"));
        }
        for port in container
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if port.get("hostPort").is_some_and(|p| p != 0) {
                breach(format!("container {name}: hostPort"));
            }
        }
    }
    breaches
}

fn settings(input: ServerInput) -> ServerSettings {
    resolve(&input).expect("valid input resolves")
}

/// The three pod specs of a server: its Deployment's template, then the driver and executor
/// templates as the ConfigMap holds them (parsed back, as Spark would).
fn pod_specs(settings: &ServerSettings) -> Vec<(&'static str, Value)> {
    let objects = render_objects(settings, Some("spark.executor.cores=1\n"));
    let find = |kind: &str| {
        objects
            .iter()
            .find(|o| o.kind == kind)
            .map(|o| o.body.clone())
            .expect("object rendered")
    };
    let deployment = find("Deployment");
    let config_map = find("ConfigMap");
    let template = |file: &str| -> Value {
        let text = config_map
            .pointer(&format!("/data/{}", file.replace('/', "~1")))
            .and_then(Value::as_str)
            .expect("template in the ConfigMap");
        let pod: Value = serde_json::from_str(text).expect("template parses");
        assert_eq!(pod["kind"], "Pod", "{file}");
        pod["spec"].clone()
    };
    vec![
        ("server", deployment["spec"]["template"]["spec"].clone()),
        ("driver", template(DRIVER_POD_TEMPLATE_FILE)),
        ("executor", template(EXECUTOR_POD_TEMPLATE_FILE)),
    ]
}

#[test]
fn every_pod_meets_restricted() {
    let secret_delivery = ServerInput {
        delivery: set("kubernetes-secret"),
        vault_agent: Field::Unset,
        ..minimal()
    };
    let other_ids = ServerInput {
        pod_security_context: Field::Set(PodSecurityInput {
            run_as_user: Field::Set(1000),
            run_as_group: Field::Set(0),
            fs_group: Field::Set(1000),
        }),
        engine: Field::Set(EngineInput {
            image: set("registry.local/spark:3.5.3"),
            run_as_user: Field::Set(2000),
            fs_group: Field::Set(2000),
            ..EngineInput::default()
        }),
        ..minimal()
    };
    for input in [minimal(), secret_delivery, other_ids] {
        for (pod, spec) in pod_specs(&settings(input.clone())) {
            assert_eq!(
                restricted_breaches(&spec),
                Vec::<String>::new(),
                "{pod} pod of {input:#?}: {spec:#}"
            );
        }
    }
}

#[test]
fn pods_run_as_the_images_users_unless_told_otherwise() {
    let ids = |spec: &Value| {
        let context = &spec["securityContext"];
        (
            context["runAsUser"].clone(),
            context.get("runAsGroup").cloned(),
            context["fsGroup"].clone(),
        )
    };
    let defaults = pod_specs(&settings(minimal()));
    assert_eq!(ids(&defaults[0].1), (json!(10009), None, json!(10009)));
    assert_eq!(ids(&defaults[1].1), (json!(185), None, json!(185)));
    assert_eq!(ids(&defaults[2].1), (json!(185), None, json!(185)));
    let chosen = pod_specs(&settings(ServerInput {
        pod_security_context: Field::Set(PodSecurityInput {
            run_as_user: Field::Set(1000),
            run_as_group: Field::Set(1001),
            fs_group: Field::Set(1002),
        }),
        engine: Field::Set(EngineInput {
            image: set("apache/spark:3.5.3"),
            run_as_user: Field::Set(2000),
            run_as_group: Field::Set(2001),
            fs_group: Field::Set(2002),
            ..EngineInput::default()
        }),
        ..minimal()
    }));
    assert_eq!(
        ids(&chosen[0].1),
        (json!(1000), Some(json!(1001)), json!(1002))
    );
    for engine in &chosen[1..] {
        assert_eq!(
            ids(&engine.1),
            (json!(2000), Some(json!(2001)), json!(2002))
        );
    }
}

#[test]
fn the_server_writes_only_to_emptydirs() {
    let spec = &pod_specs(&settings(minimal()))[0].1;
    let volumes = spec["volumes"].as_array().expect("volumes");
    let mounts = spec["containers"][0]["volumeMounts"]
        .as_array()
        .expect("mounts");
    for path in [
        "/opt/kyuubi/conf-rendered",
        "/opt/kyuubi/logs",
        "/opt/kyuubi/work",
        "/opt/kyuubi/pid",
        "/tmp",
    ] {
        let mount = mounts
            .iter()
            .find(|m| m["mountPath"] == path)
            .unwrap_or_else(|| panic!("nothing mounted at {path}"));
        assert_ne!(mount.get("readOnly"), Some(&json!(true)), "{path}");
        let volume = volumes
            .iter()
            .find(|v| v["name"] == mount["name"])
            .expect("mounted volume exists");
        assert!(
            volume.get("emptyDir").is_some(),
            "{path} is not an emptyDir"
        );
    }
}

/// A named change that makes a pod spec break `restricted`.
type Breach = (&'static str, fn(&mut Value));

#[test]
fn the_checker_catches_each_breach() {
    let good = || {
        json!({
            "securityContext": pod_security_context(&SERVER_IDENTITY),
            "containers": [{ "name": "c", "securityContext": container_security_context() }],
            "volumes": [{ "name": "v", "emptyDir": {} }],
        })
    };
    assert_eq!(restricted_breaches(&good()), Vec::<String>::new());
    let breaking: Vec<Breach> = vec![
        ("hostNetwork", |s| s["hostNetwork"] = json!(true)),
        ("runAsNonRoot", |s| {
            s["securityContext"]["runAsNonRoot"] = json!(false);
        }),
        ("runAsUser 0", |s| {
            s["securityContext"]["runAsUser"] = json!(0)
        }),
        ("seccomp", |s| {
            s["securityContext"]
                .as_object_mut()
                .map(|m| m.remove("seccompProfile"));
        }),
        ("Unconfined", |s| {
            s["securityContext"]["seccompProfile"]["type"] = json!("Unconfined");
        }),
        ("allowPrivilegeEscalation", |s| {
            s["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true);
        }),
        ("ALL capabilities", |s| {
            s["containers"][0]["securityContext"]["capabilities"]["drop"] = json!([]);
        }),
        ("adds capabilities", |s| {
            s["containers"][0]["securityContext"]["capabilities"]["add"] = json!(["SYS_ADMIN"]);
        }),
        ("privileged", |s| {
            s["containers"][0]["securityContext"]["privileged"] = json!(true);
        }),
        ("hostPath", |s| {
            s["volumes"] = json!([{ "name": "h", "hostPath": { "path": "/" } }]);
        }),
        ("hostPort", |s| {
            s["containers"][0]["ports"] = json!([{ "containerPort": 1, "hostPort": 1 }]);
        }),
        ("sysctl", |s| {
            s["securityContext"]["sysctls"] = json!([{ "name": "kernel.msgmax", "value": "1" }]);
        }),
        ("init container", |s| {
            s["initContainers"] = json!([{ "name": "i" }]);
        }),
    ];
    for (what, change) in breaking {
        let mut spec = good();
        change(&mut spec);
        assert!(
            !restricted_breaches(&spec).is_empty(),
            "{what} was not caught: {spec:#}"
        );
    }
}
