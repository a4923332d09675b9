//! Rendered objects compared whole against golden files in `tests/golden/kyuubi/`, plus the
//! properties every object set must have. `KONOHA_UPDATE_GOLDEN=1` rewrites the golden files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;
use crate::kyuubi::conf::config_sha256;
use crate::kyuubi::constants::{ANNOTATION_CONFIG_SHA256, ANNOTATION_PROFILE_SHA256};
use crate::kyuubi::object::driver_pod_selector;
use crate::kyuubi::settings::tests::{SHA, minimal, set};
use crate::kyuubi::settings::{
    EngineInput, Field, HaInput, MetricsInput, ResourcesInput, ServerInput, TolerationInput,
    VaultAgentInput, resolve,
};

fn settings(input: ServerInput) -> ServerSettings {
    resolve(&input).expect("valid input resolves")
}

/// A `kubernetes-secret` server using every setting that reaches an object.
fn secret_server() -> ServerInput {
    ServerInput {
        name: set("kyuubi-etl"),
        namespace: set("data"),
        replicas: Field::Set(2),
        share_level: set("SERVER"),
        thrift_http_port: Field::Set(10010),
        service_type: set("LoadBalancer"),
        delivery: set("kubernetes-secret"),
        vault_agent: Field::Unset,
        engine: Field::Set(EngineInput {
            namespace: set("spark"),
            service_account: set("etl-driver"),
            image: set("apache/spark:3.5.3"),
            file_upload_path: set("s3a://bucket/uploads"),
            idle_timeout: set("PT10M"),
            initialize_timeout: Field::Unset,
            run_as_user: Field::Unset,
            run_as_group: Field::Unset,
            fs_group: Field::Unset,
        }),
        metrics: Field::Set(MetricsInput {
            enabled: Field::Set(true),
            port: Field::Set(9090),
        }),
        kyuubi_conf: Field::Set(BTreeMap::from([(
            "kyuubi.server.administrators".to_owned(),
            set("admin"),
        )])),
        ha: Field::Set(HaInput {
            addresses: set("zk-0:2181,zk-1:2181"),
            namespace: Field::Unset,
        }),
        resources: Field::Set(ResourcesInput {
            requests_cpu: set("500m"),
            requests_memory: set("2Gi"),
            limits_cpu: Field::Unset,
            limits_memory: set("2Gi"),
        }),
        labels: Field::Set(BTreeMap::from([("team".to_owned(), set("data"))])),
        node_selector: Field::Set(BTreeMap::from([("node-pool".to_owned(), set("kyuubi"))])),
        tolerations: Field::Set(vec![TolerationInput {
            key: set("dedicated"),
            value: set("kyuubi"),
            effect: set("NoSchedule"),
            ..TolerationInput::default()
        }]),
        affinity: set(AFFINITY),
        progress_deadline_seconds: Field::Set(300),
        ..minimal()
    }
}

/// Spread the server pods over nodes, as `jsonencode` writes it.
const AFFINITY: &str = r#"{"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"podAffinityTerm":{"labelSelector":{"matchLabels":{"app.kubernetes.io/instance":"kyuubi-etl"}},"topologyKey":"kubernetes.io/hostname"},"weight":100}]}}"#;

const PROFILE_ENV: &str = "spark.executor.cores=2\nspark.executor.memory=2g\n";

/// The objects as one JSON document: path and body of each, in apply order.
fn document(objects: &[Object]) -> Value {
    Value::Array(
        objects
            .iter()
            .map(|o| json!({ "path": o.api_path(), "body": o.body }))
            .collect(),
    )
}

/// Compares `actual` with the golden file, or rewrites it under `KONOHA_UPDATE_GOLDEN=1`. On a
/// mismatch the panic shows the first differing line of the pretty-printed JSON.
fn assert_golden(file: &str, actual: &Value) {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "golden",
        "kyuubi",
        file,
    ]
    .iter()
    .collect();
    let pretty = format!(
        "{}\n",
        serde_json::to_string_pretty(actual).expect("serializes")
    );
    if std::env::var("KONOHA_UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&path, &pretty).expect("golden file written");
        return;
    }
    let expected_text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with KONOHA_UPDATE_GOLDEN=1", path.display()));
    let expected: Value = serde_json::from_str(&expected_text).expect("golden file is JSON");
    if &expected != actual {
        let expected_pretty = serde_json::to_string_pretty(&expected).expect("serializes");
        let (line, (want, got)) = expected_pretty
            .lines()
            .zip(pretty.lines())
            .enumerate()
            .find(|(_, (want, got))| want != got)
            .unwrap_or((0, ("<same lines, different length>", "")));
        panic!(
            "{} differs at line {}:\n  expected: {want}\n  actual:   {got}\n\
             (KONOHA_UPDATE_GOLDEN=1 rewrites it if the change is intended)",
            path.display(),
            line + 1
        );
    }
}

#[test]
fn default_vault_agent_server_matches_golden() {
    let objects = render_objects(&settings(minimal()), None);
    assert_golden("default-vault-agent.json", &document(&objects));
}

#[test]
fn kubernetes_secret_server_matches_golden() {
    let objects = render_objects(&settings(secret_server()), Some(PROFILE_ENV));
    assert_golden("kubernetes-secret.json", &document(&objects));
}

#[test]
fn objects_come_in_apply_order_at_their_paths() {
    let paths: Vec<String> = render_objects(&settings(secret_server()), Some(PROFILE_ENV))
        .iter()
        .map(Object::api_path)
        .collect();
    assert_eq!(
        paths,
        [
            "/api/v1/namespaces/data/serviceaccounts/kyuubi-etl",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/spark/roles/kyuubi-etl",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/spark/rolebindings/kyuubi-etl",
            "/api/v1/namespaces/spark/serviceaccounts/etl-driver",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/spark/roles/kyuubi-etl-spark-driver",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/spark/rolebindings/kyuubi-etl-spark-driver",
            "/api/v1/namespaces/data/secrets/kyuubi-etl-spark-profile",
            "/api/v1/namespaces/data/configmaps/kyuubi-etl-conf",
            "/api/v1/namespaces/data/services/kyuubi-etl",
            "/apis/policy/v1/namespaces/data/poddisruptionbudgets/kyuubi-etl",
            "/apis/apps/v1/namespaces/data/deployments/kyuubi-etl",
        ]
    );
}

fn pod_spec(objects: &[Object]) -> &Value {
    objects
        .iter()
        .find(|o| o.kind == "Deployment")
        .and_then(|o| o.body.pointer("/spec/template/spec"))
        .expect("a Deployment with a pod spec")
}

#[test]
fn placement_lands_in_the_pod_template() {
    let objects = render_objects(&settings(secret_server()), Some(PROFILE_ENV));
    let spec = pod_spec(&objects);
    assert_eq!(spec["nodeSelector"], json!({"node-pool": "kyuubi"}));
    assert_eq!(
        spec["tolerations"],
        json!([{"key": "dedicated", "operator": "Equal", "value": "kyuubi", "effect": "NoSchedule"}])
    );
    assert_eq!(
        spec["affinity"],
        serde_json::from_str::<Value>(AFFINITY).expect("JSON")
    );
    // Without placement the pod spec has none of the three fields.
    let plain = render_objects(&settings(minimal()), None);
    let spec = pod_spec(&plain);
    for field in ["nodeSelector", "tolerations", "affinity"] {
        assert!(spec.get(field).is_none(), "{field} in {spec}");
    }
}

#[test]
fn affinity_spelling_does_not_change_the_objects() {
    let respelled = AFFINITY.replace(',', ",\n  ").replace(':', ": ");
    let a = render_objects(&settings(secret_server()), Some(PROFILE_ENV));
    let b = render_objects(
        &settings(ServerInput {
            affinity: set(&respelled),
            ..secret_server()
        }),
        Some(PROFILE_ENV),
    );
    assert_eq!(a, b);
}

#[test]
fn disruption_budget_exactly_when_more_than_one_replica() {
    let with_replicas = |replicas| {
        settings(ServerInput {
            replicas: Field::Set(replicas),
            ..secret_server()
        })
    };
    let budget = |objects: &[Object]| {
        objects
            .iter()
            .find(|o| o.kind == "PodDisruptionBudget")
            .map(|o| o.body.clone())
    };
    let two = with_replicas(2);
    let objects = render_objects(&two, Some(PROFILE_ENV));
    assert_eq!(
        budget(&objects),
        Some(json!({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {
                "name": "kyuubi-etl",
                "namespace": "data",
                "labels": {
                    "app.kubernetes.io/instance": "kyuubi-etl",
                    "app.kubernetes.io/managed-by": "konoha",
                    "app.kubernetes.io/name": "kyuubi",
                    "team": "data",
                },
            },
            "spec": {
                "maxUnavailable": 1,
                "selector": {"matchLabels": {
                    "app.kubernetes.io/instance": "kyuubi-etl",
                    "app.kubernetes.io/name": "kyuubi",
                }},
            },
        }))
    );
    assert_eq!(retired_objects(&two), Vec::new());
    // The budget's selector picks exactly the Deployment's pods.
    let deployment = objects
        .iter()
        .find(|o| o.kind == "Deployment")
        .expect("deployment");
    assert_eq!(
        budget(&objects).expect("budget")["spec"]["selector"],
        deployment.body["spec"]["selector"]
    );
    for replicas in [0, 1] {
        let one = with_replicas(replicas);
        assert_eq!(budget(&render_objects(&one, Some(PROFILE_ENV))), None);
        let retired = retired_objects(&one);
        assert_eq!(retired.len(), 1);
        assert_eq!(
            retired[0].object.api_path(),
            "/apis/policy/v1/namespaces/data/poddisruptionbudgets/kyuubi-etl"
        );
        assert_eq!(retired[0].because, format!("replicas = {replicas}"));
    }
}

#[test]
fn regression_the_profile_secret_is_retired_with_the_secret_delivery() {
    // Switching from `kubernetes-secret` to `vault-agent` left the Secret, a copy of the
    // profile with its secret settings, in the cluster for good.
    let agent = settings(ServerInput {
        replicas: Field::Set(2),
        ha: Field::Set(HaInput {
            addresses: set("zk:2181"),
            namespace: Field::Unset,
        }),
        ..minimal()
    });
    let retired = retired_objects(&agent);
    let paths: Vec<(String, &str)> = retired
        .iter()
        .map(|r| (r.object.api_path(), r.because.as_str()))
        .collect();
    assert_eq!(
        paths,
        [(
            "/api/v1/namespaces/kyuubi/secrets/kyuubi-dbt-spark-profile".to_owned(),
            "delivery = \"vault-agent\""
        )]
    );
    // With the Secret delivery the Secret is among the objects, not the retired ones.
    let secret = settings(secret_server());
    assert!(
        retired_objects(&secret)
            .iter()
            .all(|r| r.object.kind != "Secret")
    );
    assert!(
        render_objects(&secret, Some(PROFILE_ENV))
            .iter()
            .any(|o| o.kind == "Secret")
    );
}

#[test]
fn the_budget_alone_does_not_roll_the_pods() {
    // Going from 2 replicas to 3 keeps the budget and the pod template as they were.
    let template = |replicas| {
        let objects = render_objects(
            &settings(ServerInput {
                replicas: Field::Set(replicas),
                ..secret_server()
            }),
            Some(PROFILE_ENV),
        );
        objects
            .iter()
            .find(|o| o.kind == "Deployment")
            .map(|o| o.body["spec"]["template"].clone())
    };
    assert_eq!(template(1), template(2));
    assert_eq!(template(2), template(3));
}

#[test]
fn secret_is_left_out_without_content_or_with_the_injector() {
    let kinds = |objects: Vec<Object>| objects.iter().map(|o| o.kind).collect::<Vec<_>>();
    let without_secret = [
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ConfigMap",
        "Service",
        "Deployment",
    ];
    let one_replica = ServerInput {
        replicas: Field::Set(1),
        ..secret_server()
    };
    assert_eq!(
        kinds(render_objects(&settings(one_replica), None)),
        without_secret
    );
    assert_eq!(
        kinds(render_objects(&settings(minimal()), Some(PROFILE_ENV))),
        without_secret
    );
}

#[test]
fn every_object_carries_the_labels_and_the_pods_match_the_selectors() {
    let settings = settings(secret_server());
    let objects = render_objects(&settings, Some(PROFILE_ENV));
    let labels = json!({
        "app.kubernetes.io/instance": "kyuubi-etl",
        "app.kubernetes.io/managed-by": "konoha",
        "app.kubernetes.io/name": "kyuubi",
        "team": "data",
    });
    for object in &objects {
        assert_eq!(
            object.body["metadata"]["labels"],
            labels,
            "{}",
            object.api_path()
        );
        assert_eq!(object.body["apiVersion"], object.api_version);
        assert_eq!(object.body["kind"], object.kind);
        assert_eq!(object.body["metadata"]["name"], object.name.as_str());
        assert_eq!(
            object.body["metadata"]["namespace"],
            object.namespace.as_str()
        );
    }
    let of_kind = |kind: &str| {
        &objects
            .iter()
            .find(|o| o.kind == kind)
            .expect("rendered")
            .body
    };
    let deployment = of_kind("Deployment");
    let service = of_kind("Service");
    let budget = of_kind("PodDisruptionBudget");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for selector in [
        &deployment["spec"]["selector"]["matchLabels"],
        &service["spec"]["selector"],
        &budget["spec"]["selector"]["matchLabels"],
    ] {
        let selector = selector.as_object().expect("selector is a map");
        assert!(!selector.is_empty());
        for (key, value) in selector {
            assert_eq!(&pod_labels[key], value, "{key}");
        }
    }
}

#[test]
fn restart_annotations_follow_profile_and_config() {
    let render = |input: ServerInput| {
        let settings = settings(input);
        let objects = render_objects(&settings, None);
        let annotations =
            objects[objects.len() - 1].body["spec"]["template"]["metadata"]["annotations"].clone();
        (annotations, config_sha256(&settings))
    };
    let (annotations, config) = render(minimal());
    assert_eq!(annotations[ANNOTATION_PROFILE_SHA256], SHA);
    assert_eq!(annotations[ANNOTATION_CONFIG_SHA256], config.as_str());
    // Rendering twice gives the same bytes: nothing time- or order-dependent.
    assert_eq!(render(minimal()), (annotations.clone(), config.clone()));
    let other = format!("secret/team/etl@sha256:{}", "e".repeat(64));
    let (changed, _) = render(ServerInput {
        spark_profile: Field::Set(other),
        ..minimal()
    });
    assert_eq!(changed[ANNOTATION_PROFILE_SHA256], "e".repeat(64));
    assert_eq!(changed[ANNOTATION_CONFIG_SHA256], config.as_str());
}

#[test]
fn injector_annotations_follow_the_vault_agent_block() {
    let agent = VaultAgentInput {
        role: set("etl"),
        auth_path: set("auth/k8s"),
        annotation_prefix: set("openbao.openbao.org"),
        pre_populate: Field::Set(false),
    };
    let settings = settings(ServerInput {
        vault_agent: Field::Set(agent),
        ..minimal()
    });
    let objects = render_objects(&settings, None);
    let annotations =
        &objects[objects.len() - 1].body["spec"]["template"]["metadata"]["annotations"];
    let injector: BTreeMap<&str, &str> = annotations
        .as_object()
        .expect("annotations are a map")
        .iter()
        .filter(|(k, _)| k.starts_with("openbao.openbao.org/"))
        .map(|(k, v)| {
            (
                k.as_str(),
                v.as_str().expect("annotation values are strings"),
            )
        })
        .collect();
    let template = "{{ with secret \"secret/data/team/etl\" }}{{ range $k, $v := .Data.data }}{{ $k }}={{ $v }}\n{{ end }}{{ end }}";
    let expected = BTreeMap::from([
        ("openbao.openbao.org/agent-inject", "true"),
        (
            "openbao.openbao.org/agent-inject-secret-spark.env",
            "secret/data/team/etl",
        ),
        (
            "openbao.openbao.org/agent-inject-template-spark.env",
            template,
        ),
        ("openbao.openbao.org/auth-path", "auth/k8s"),
        ("openbao.openbao.org/role", "etl"),
        (
            "openbao.openbao.org/secret-volume-path-spark.env",
            "/etc/kyuubi",
        ),
    ]);
    assert_eq!(injector, expected);
    assert!(!annotations.to_string().contains("vault.hashicorp.com"));
}

#[test]
fn driver_selector_matches_the_driver_label_in_the_conf() {
    let settings = settings(minimal());
    assert_eq!(
        driver_pod_selector(&settings),
        "konoha.io/kyuubi-server=kyuubi-dbt"
    );
    let conf = crate::kyuubi::conf::render_kyuubi_defaults(&settings);
    assert!(conf.contains("spark.kubernetes.driver.label.konoha.io/kyuubi-server=kyuubi-dbt\n"));
}
