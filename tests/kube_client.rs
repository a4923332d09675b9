//! The Kubernetes client (`konoha::kube`) against the in-process API test double: connecting
//! through a kubeconfig file and an explicit host, server-side apply (create, no-op, conflict,
//! force), get, delete, list, deletecollection, events, and the managed-fields projection on
//! objects the server really produced.
//!
//! What the double itself leaves out (watches, TLS, admission) is said in its own header; the
//! client's request shapes are also checked byte for byte by the unit tests in `src/kube/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/kube_double/mod.rs"]
mod kube_double;

use std::time::Duration;

use konoha::kube::{
    Kind, KubeClient, KubeError, KubeSettings, ObjectRef, Secret, owned_fields, project_owned,
};
use kube_double::KubeDouble;
use serde_json::{Value, json};

const NS: &str = "kyuubi";
const MANAGER: &str = "konoha";
const WAIT: Duration = Duration::from_secs(10);

/// A double with the `kyuubi` namespace and a client connected through its kubeconfig file.
async fn setup() -> (KubeDouble, KubeClient, tempfile::TempDir) {
    let double = KubeDouble::start().await;
    double.create_namespace(NS);
    let dir = tempfile::tempdir().unwrap();
    let settings = KubeSettings {
        config_path: Some(double.write_kubeconfig(dir.path())),
        ..KubeSettings::default()
    };
    let client = KubeClient::connect(&settings).await.unwrap();
    (double, client, dir)
}

/// A ConfigMap body; `labels` of `null` leaves labels out.
fn configmap(name: &str, conf: &str, labels: Value) -> Value {
    let mut body = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS},
        "data": {"kyuubi-defaults.conf": conf}
    });
    if !labels.is_null() {
        body["metadata"]["labels"] = labels;
    }
    body
}

fn deployment(sha: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "kyuubi-dbt", "namespace": NS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/instance": "kyuubi-dbt"}},
            "template": {
                "metadata": {
                    "labels": {"app.kubernetes.io/instance": "kyuubi-dbt"},
                    "annotations": {"konoha.io/spark-profile-sha256": sha}
                },
                "spec": {"containers": [{
                    "name": "kyuubi", "image": "apache/kyuubi:1.10.2-spark",
                    "ports": [{"containerPort": 10009, "name": "thrift-binary"}]
                }]}
            }
        }
    })
}

fn resource_version(object: &Value) -> &str {
    object["metadata"]["resourceVersion"].as_str().unwrap()
}

/// What konoha owns of `object`, projected; the body minus identity fields when nothing drifted.
fn owned_view(object: &Value) -> Value {
    project_owned(object, owned_fields(object, MANAGER).unwrap())
}

#[tokio::test]
async fn apply_creates_then_reapply_is_a_no_op() {
    let (_double, client, _dir) = setup().await;
    let obj = ObjectRef::new(Kind::ConfigMap, NS, "kyuubi-dbt");
    let body = configmap(
        "kyuubi-dbt",
        "kyuubi.engine.share.level=USER\n",
        json!({"app": "kyuubi"}),
    );

    assert_eq!(client.get_opt(&obj).await.unwrap(), None);
    let created = client.apply(&obj, &body, MANAGER, false).await.unwrap();
    let again = client.apply(&obj, &body, MANAGER, false).await.unwrap();
    assert_eq!(resource_version(&created), resource_version(&again));
    assert_eq!(
        owned_view(&again),
        json!({"data": body["data"], "metadata": {"labels": {"app": "kyuubi"}}})
    );
    let read = client.get_opt(&obj).await.unwrap().unwrap();
    assert_eq!(read, again);
}

#[tokio::test]
async fn conflict_names_the_owner_and_force_takes_the_field() {
    let (_double, client, _dir) = setup().await;
    let obj = ObjectRef::new(Kind::ConfigMap, NS, "kyuubi-dbt");
    let managed_by = json!({"app.kubernetes.io/managed-by": "konoha"});
    let ours = configmap(
        "kyuubi-dbt",
        "kyuubi.engine.share.level=USER\n",
        managed_by.clone(),
    );
    client.apply(&obj, &ours, MANAGER, false).await.unwrap();

    // Recording 03: another manager applying a field konoha owns is refused.
    let theirs = configmap(
        "kyuubi-dbt",
        "kyuubi.engine.share.level=SERVER\n",
        Value::Null,
    );
    let err = client
        .apply(&obj, &theirs, "someone-else", false)
        .await
        .unwrap_err();
    assert!(matches!(err, KubeError::Apply { .. }), "{err:?}");
    assert!(err.is_conflict());
    let owners: Vec<(String, String)> = err
        .conflict_owners()
        .into_iter()
        .map(|c| (c.manager, c.field))
        .collect();
    assert_eq!(
        owners,
        vec![(MANAGER.to_owned(), ".data.kyuubi-defaults.conf".to_owned())]
    );
    assert!(
        err.to_string().contains("conflict with \"konoha\""),
        "{err}"
    );

    // Recording 04: with force the field moves; konoha's projection no longer shows it, which
    // is how the resource sees the drift.
    let taken = client
        .apply(&obj, &theirs, "someone-else", true)
        .await
        .unwrap();
    assert_eq!(taken["data"], theirs["data"]);
    assert_eq!(
        owned_view(&taken),
        json!({"metadata": {"labels": managed_by}})
    );

    // Recording 05: konoha takes it back the same way.
    let back = client.apply(&obj, &ours, MANAGER, true).await.unwrap();
    assert_eq!(owned_view(&back)["data"], ours["data"]);
}

#[tokio::test]
async fn restart_annotations_are_not_drift_but_edits_are() {
    let (double, client, _dir) = setup().await;
    let obj = ObjectRef::new(Kind::Deployment, NS, "kyuubi-dbt");
    let body = deployment("aaa");
    client.apply(&obj, &body, MANAGER, false).await.unwrap();

    double.rollout_restart(NS, "kyuubi-dbt").unwrap();
    let live = client.get_opt(&obj).await.unwrap().unwrap();
    assert!(
        live.pointer("/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt")
            .is_some()
    );
    assert_eq!(owned_view(&live), json!({"spec": body["spec"]}));

    double
        .update_as("kubectl-edit", &obj.api_path(), |d| {
            d["spec"]["replicas"] = json!(3);
        })
        .unwrap();
    let edited = client.get_opt(&obj).await.unwrap().unwrap();
    assert_ne!(owned_view(&edited), json!({"spec": body["spec"]}));
}

#[tokio::test]
async fn delete_removes_the_deployment_and_its_pods() {
    let (double, client, _dir) = setup().await;
    let obj = ObjectRef::new(Kind::Deployment, NS, "kyuubi-dbt");
    client
        .apply(&obj, &deployment("aaa"), MANAGER, false)
        .await
        .unwrap();
    let pods_of_deployment = |d: &KubeDouble| {
        d.objects_with_label("app.kubernetes.io/instance=kyuubi-dbt")
            .iter()
            .filter(|(kind, _, _)| kind == "Pod")
            .count()
    };
    assert!(double.wait_for(WAIT, |d| pods_of_deployment(d) == 1).await);

    assert!(client.delete(&obj).await.unwrap());
    // Foreground propagation: the Deployment goes only after the pods it owns.
    let mut gone = false;
    for _ in 0..100 {
        if client.get_opt(&obj).await.unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "the Deployment must go once its pods are gone");
    assert_eq!(
        pods_of_deployment(&double),
        0,
        "no pod outlives its Deployment"
    );
    assert!(
        !client.delete(&obj).await.unwrap(),
        "a second delete finds nothing"
    );
    let delete = double
        .writes()
        .into_iter()
        .find(|(method, _)| method == "DELETE")
        .unwrap();
    assert_eq!(delete.1.split('?').next(), Some(obj.api_path().as_str()));
}

#[tokio::test]
async fn list_filters_by_label_and_fills_in_the_type() {
    let (_double, client, _dir) = setup().await;
    for (name, app) in [("a", "kyuubi"), ("b", "kyuubi"), ("c", "other")] {
        let obj = ObjectRef::new(Kind::ConfigMap, NS, name);
        let body = configmap(name, "x=y\n", json!({"app": app}));
        client.apply(&obj, &body, MANAGER, false).await.unwrap();
    }
    let listed = client
        .list(Kind::ConfigMap, NS, "app=kyuubi")
        .await
        .unwrap();
    let mut names: Vec<&str> = listed
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["a", "b"]);
    assert!(
        listed
            .iter()
            .all(|o| o["apiVersion"] == "v1" && o["kind"] == "ConfigMap")
    );
    assert_eq!(client.list(Kind::ConfigMap, NS, "").await.unwrap().len(), 3);
    assert!(
        client
            .list(Kind::ConfigMap, "default", "")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn delete_collection_pods_deletes_only_the_selected_pods() {
    let (double, client, _dir) = setup().await;
    double.create_pod(NS, "engine-1", &[("kyuubi.apache.org/engine", "dbt")]);
    double.create_pod(NS, "engine-2", &[("kyuubi.apache.org/engine", "dbt")]);
    double.create_pod(NS, "other", &[("kyuubi.apache.org/engine", "etl")]);

    let deleted = client
        .delete_collection_pods(NS, "kyuubi.apache.org/engine=dbt")
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    let gone = |d: &KubeDouble| {
        d.objects_with_label("kyuubi.apache.org/engine=dbt")
            .is_empty()
    };
    assert!(double.wait_for(WAIT, gone).await);
    assert_eq!(
        double
            .objects_with_label("kyuubi.apache.org/engine=etl")
            .len(),
        1
    );
}

#[tokio::test]
async fn events_of_the_deployment_and_of_its_replica_sets_and_pods() {
    let (double, client, _dir) = setup().await;
    let obj = ObjectRef::new(Kind::Deployment, NS, "kyuubi-dbt");
    client
        .apply(&obj, &deployment("aaa"), MANAGER, false)
        .await
        .unwrap();
    // The double's controllers write ScalingReplicaSet on the Deployment and SuccessfulCreate
    // on the ReplicaSet (recording 19).
    let has_events = |d: &KubeDouble| {
        d.get(&format!("/api/v1/namespaces/{NS}/events"))
            .and_then(|l| l["items"].as_array().map(|i| i.len() >= 2))
            .unwrap_or(false)
    };
    assert!(double.wait_for(WAIT, has_events).await);

    let own = client
        .events_for(NS, "Deployment", "kyuubi-dbt")
        .await
        .unwrap();
    assert!(!own.is_empty());
    assert!(
        own.iter().all(|e| e.object == "Deployment kyuubi-dbt"),
        "{own:?}"
    );
    assert!(
        own.iter().any(|e| e.reason == "ScalingReplicaSet"),
        "{own:?}"
    );

    let all = client.events_matching(NS, "kyuubi-dbt").await.unwrap();
    assert!(all.len() > own.len(), "{all:?}");
    assert!(
        all.iter()
            .any(|e| e.object.starts_with("ReplicaSet kyuubi-dbt-")
                && e.reason == "SuccessfulCreate"),
        "{all:?}"
    );
    assert!(
        client
            .events_matching(NS, "nothing-")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn explicit_host_and_token_are_used() {
    let double = KubeDouble::start().await;
    double.create_namespace(NS);
    let settings = |token: &str| KubeSettings {
        host: Some(double.url()),
        token: Some(Secret::new(token)),
        ..KubeSettings::default()
    };
    let obj = ObjectRef::new(Kind::ConfigMap, NS, "absent");

    let good = KubeClient::connect(&settings(kube_double::TOKEN))
        .await
        .unwrap();
    assert_eq!(good.get_opt(&obj).await.unwrap(), None);

    let bad = KubeClient::connect(&settings("wrong-token")).await.unwrap();
    let err = bad.get_opt(&obj).await.unwrap_err();
    assert!(matches!(err, KubeError::Get { .. }), "{err:?}");
    assert_eq!(err.code(), Some(401));
    assert!(!format!("{err} {err:?}").contains("wrong-token"));
}

#[tokio::test]
async fn server_errors_carry_the_status() {
    let (_double, client, _dir) = setup().await;
    // Recording 07: an invalid name is the server's 422 with the field in the causes.
    let obj = ObjectRef::new(Kind::ConfigMap, NS, "Bad_Name");
    let err = client
        .apply(
            &obj,
            &configmap("Bad_Name", "x\n", Value::Null),
            MANAGER,
            false,
        )
        .await
        .unwrap_err();
    let status = err.status().unwrap();
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(status.causes[0].field, "metadata.name");
    // Recording 09: no apiVersion/kind in the body.
    let obj = ObjectRef::new(Kind::ConfigMap, NS, "kyuubi-dbt");
    let err = client
        .apply(
            &obj,
            &json!({"metadata": {"name": "kyuubi-dbt"}, "data": {"a": "b"}}),
            MANAGER,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(400));
}

#[tokio::test]
async fn a_stopped_server_is_unreachable() {
    let (double, client, _dir) = setup().await;
    let url = double.url();
    drop(double);
    let obj = ObjectRef::new(Kind::ConfigMap, NS, "x");
    // The listener task is aborted on drop; poll until connections are refused.
    let deadline = std::time::Instant::now() + WAIT;
    let err = loop {
        match client.get_opt(&obj).await {
            Err(err) if err.is_unreachable() => break err,
            other => assert!(
                std::time::Instant::now() < deadline,
                "still answering: {other:?}"
            ),
        }
        tokio::task::yield_now().await;
    };
    // Refused connections are retried, then the last refusal is the source.
    let last = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        err.to_string().starts_with("gave up after 5 attempts")
            && last.as_ref().is_some_and(
                |l| l.starts_with(&format!("cannot reach the Kubernetes API server at {url}"))
            ),
        "{err}: {last:?}"
    );
}
