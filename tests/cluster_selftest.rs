//! Self-tests of the cluster support (`support::cluster`, `support::envtest`), none of which
//! needs a real kube-apiserver:
//!
//! - here: the real-cluster HTTP control client pointed at a running in-process double (plain
//!   http, token `double-token`) for every call the double serves (GET, lists, server-side
//!   apply, DELETE), and the `Cluster` wrapper over the double;
//! - `cluster_selftest/wire.rs`: the calls the double cannot serve (POST, merge and
//!   strategic-merge patches, status subresources, cluster-wide lists) and both stand-ins'
//!   passes, against a scripted server that records every request;
//! - `cluster_selftest/tls.rs`: the generated PKI and kubeconfig, through a TLS proxy in front
//!   of the double, with this client and with the provider's own Kubernetes client;
//! - `cluster_selftest/launcher.rs`: `Envtest::start` and drop with fake `etcd`,
//!   `kube-apiserver` and `kube-controller-manager` (python3 scripts) that check and record
//!   what they are given;
//! - `cluster_selftest/pure.rs`: backend choice, flags, kubeconfig, certificates, patches,
//!   timestamps and the stand-ins' decisions.
//!
//! What stays unverified here: how a real kube-apiserver and controller manager answer; that
//! needs `KUBEBUILDER_ASSETS` and the acceptance tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[path = "cluster_selftest/launcher.rs"]
mod launcher;
#[path = "cluster_selftest/pure.rs"]
mod pure;
#[path = "cluster_selftest/tls.rs"]
mod tls;
#[path = "cluster_selftest/wire.rs"]
mod wire;

use std::time::Duration;

use serde_json::{Value, json};
use support::cluster::{Backend, Cluster};
use support::envtest::control::with_query;
use support::envtest::http::ApiClient;
use support::kube_double::KubeDouble;

const NS: &str = "selftest";

/// A double with namespace [`NS`] and an HTTP control client pointed at it.
fn double_and_client() -> (KubeDouble, ApiClient) {
    let double = KubeDouble::start_background();
    double.create_namespace(NS);
    let client = ApiClient::new(&double.url(), "double-token", None);
    (double, client)
}

fn configmap_path(name: &str) -> String {
    format!("/api/v1/namespaces/{NS}/configmaps/{name}")
}

fn configmap(name: &str, value: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS, "labels": {"app.kubernetes.io/instance": name}},
        "data": {"key": value}
    })
}

fn managers(object: &Value) -> Vec<String> {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["manager"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn get_reads_objects_lists_and_misses_over_http_with_the_token() {
    let (double, client) = double_and_client();
    double
        .apply_as("konoha", &configmap_path("a"), &configmap("a", "1"), false)
        .unwrap();
    double.clear_requests();

    assert_eq!(
        client.get(&configmap_path("a")),
        double.get(&configmap_path("a"))
    );
    let list_path = with_query(
        &format!("/api/v1/namespaces/{NS}/configmaps"),
        &[("labelSelector", "app.kubernetes.io/instance=a")],
    );
    let list = client.get(&list_path).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(client.get(&configmap_path("missing")), None);
    // The selector went out percent-encoded, and every call went over HTTP.
    let log = double.requests();
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log[1]
            .1
            .ends_with("?labelSelector=app.kubernetes.io%2Finstance%3Da"),
        "{log:?}"
    );

    // The double accepts anonymous requests but refuses a wrong token: so the token is sent.
    let stranger = ApiClient::new(&double.url(), "wrong-token", None);
    assert_eq!(stranger.get(&configmap_path("a")), None);
    assert_eq!(
        stranger
            .call("GET", &configmap_path("a"), None, None)
            .status,
        401
    );
}

#[test]
fn apply_as_creates_is_idempotent_conflicts_and_forces() {
    let (double, client) = double_and_client();
    let path = configmap_path("b");
    let created = client
        .apply_as("konoha", &path, &configmap("b", "1"), false)
        .unwrap();
    assert_eq!(managers(&created), ["konoha"]);
    let again = client
        .apply_as("konoha", &path, &configmap("b", "1"), false)
        .unwrap();
    assert_eq!(
        again["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    let conflict = client
        .apply_as("kubectl-edit", &path, &configmap("b", "2"), false)
        .unwrap_err();
    assert_eq!(conflict["reason"], "Conflict", "{conflict}");
    assert_eq!(
        conflict["details"]["causes"][0]["reason"], "FieldManagerConflict",
        "{conflict}"
    );
    assert!(
        conflict["message"].as_str().unwrap().contains("konoha"),
        "{conflict}"
    );

    let forced = client
        .apply_as("kubectl-edit", &path, &configmap("b", "2"), true)
        .unwrap();
    assert_eq!(forced["data"]["key"], "2");
    let live = double.get(&path).unwrap();
    assert_eq!(live["data"]["key"], "2");
    assert!(
        managers(&live).contains(&"kubectl-edit".to_owned()),
        "{live}"
    );
    let patches: Vec<String> = double
        .writes()
        .into_iter()
        .filter(|(m, _)| m == "PATCH")
        .map(|(_, p)| p)
        .collect();
    assert!(
        patches
            .last()
            .unwrap()
            .ends_with("?fieldManager=kubectl-edit&force=true"),
        "{patches:?}"
    );
}

#[test]
fn create_pod_and_delete_objects_collections_and_missing_ones() {
    let (double, client) = double_and_client();
    let pod = client.create_pod(NS, "driver-1", &[("spark-role", "driver"), ("team", "a")]);
    assert_eq!(pod["metadata"]["labels"]["team"], "a");
    client.create_pod(NS, "driver-2", &[("spark-role", "driver"), ("team", "b")]);
    let stored = double
        .get(&format!("/api/v1/namespaces/{NS}/pods/driver-1"))
        .unwrap();
    assert_eq!(managers(&stored), ["spark-submit"]);
    assert_eq!(
        stored["spec"]["containers"][0]["name"],
        "spark-kubernetes-driver"
    );
    let twice = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        client.create_pod(NS, "driver-1", &[])
    }));
    assert!(twice.is_err(), "creating an existing pod must fail loudly");

    let selected = with_query(
        &format!("/api/v1/namespaces/{NS}/pods"),
        &[("labelSelector", "spark-role=driver,team=a")],
    );
    let deleted = client.delete(&selected).unwrap();
    let names: Vec<&str> = deleted["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["driver-1"]);
    let gone = |name: &str| {
        let path = format!("/api/v1/namespaces/{NS}/pods/{name}");
        double
            .get(&path)
            .is_none_or(|p| p["metadata"]["deletionTimestamp"].is_string())
    };
    assert!(gone("driver-1"));
    assert!(!gone("driver-2"));

    double
        .apply_as("konoha", &configmap_path("c"), &configmap("c", "1"), false)
        .unwrap();
    client.delete(&configmap_path("c")).unwrap();
    assert_eq!(double.get(&configmap_path("c")), None);
    let missing = client.delete(&configmap_path("c")).unwrap_err();
    assert_eq!(missing["code"], 404, "{missing}");
    assert_eq!(missing["reason"], "NotFound", "{missing}");
}

#[test]
fn cluster_over_the_double_delegates_and_keeps_the_request_log() {
    let cluster = Cluster::start_backend(&Backend::Double);
    assert!(!cluster.is_real());
    cluster.create_namespace(NS);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = std::fs::read_to_string(cluster.write_kubeconfig(dir.path())).unwrap();
    assert!(kubeconfig.contains("token: double-token"), "{kubeconfig}");

    cluster.clear_requests();
    let path = configmap_path("d");
    cluster
        .apply_as("konoha", &path, &configmap("d", "1"), false)
        .unwrap();
    cluster
        .update_as("kubectl-edit", &path, |o| o["data"]["key"] = json!("2"))
        .unwrap();
    assert_eq!(cluster.get(&path).unwrap()["data"]["key"], "2");
    assert_eq!(
        cluster.objects_with_label("app.kubernetes.io/instance=d"),
        [("ConfigMap".to_owned(), NS.to_owned(), "d".to_owned())]
    );
    let pod = cluster.create_pod(NS, "p", &[("x", "y")]);
    assert_eq!(pod["status"]["phase"], "Running");
    // Control calls go straight to the double's handlers and are not logged; HTTP is.
    assert_eq!(cluster.requests(), Some(Vec::new()));
    let Cluster::Double(double) = &cluster else {
        unreachable!()
    };
    ApiClient::new(&double.url(), "double-token", None).get(&path);
    assert_eq!(
        cluster.requests().unwrap(),
        [("GET".to_owned(), path.clone())]
    );
    assert_eq!(cluster.writes(), Some(Vec::new()));
    cluster.delete(&path).unwrap();
    assert!(cluster.poll_until(Duration::from_secs(5), |c| c.get(&path).is_none()));
}

/// TokenReview, as Vault's Kubernetes auth calls it: over HTTP, authenticated with an issued
/// service-account token, it authenticates tokens the double issued while their account
/// exists, and answers `authenticated: false` with an error for anything else.
#[test]
fn token_review_authenticates_issued_service_account_tokens_only() {
    let (double, _) = double_and_client();
    let reviewer = double.issue_service_account_token("kube-system", "vault");
    let runner = double.issue_service_account_token(NS, "runner");
    let account = double
        .get(&format!("/api/v1/namespaces/{NS}/serviceaccounts/runner"))
        .expect("the service account was not created");
    let client = ApiClient::new(&double.url(), &reviewer, None);
    let review = |token: &str, audiences: Option<Vec<&str>>| {
        let mut spec = json!({"token": token});
        if let Some(audiences) = audiences {
            spec["audiences"] = json!(audiences);
        }
        let body =
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec});
        let answer = client.call(
            "POST",
            "/apis/authentication.k8s.io/v1/tokenreviews",
            Some("application/json"),
            Some(&body),
        );
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body["status"].clone()
    };

    let accepted = review(&runner, None);
    assert_eq!(accepted["authenticated"], json!(true), "{accepted}");
    assert_eq!(
        accepted["user"]["username"],
        json!(format!("system:serviceaccount:{NS}:runner"))
    );
    assert_eq!(accepted["user"]["uid"], account["metadata"]["uid"]);
    assert_eq!(
        accepted["user"]["groups"],
        json!([
            "system:serviceaccounts",
            format!("system:serviceaccounts:{NS}"),
            "system:authenticated"
        ])
    );
    assert_eq!(
        accepted["audiences"],
        json!(["https://kubernetes.default.svc.cluster.local"])
    );

    for (token, audiences) in [
        (format!("{runner}x"), None),
        (runner.clone(), Some(vec!["vault"])),
    ] {
        let refused = review(&token, audiences);
        assert_ne!(refused["authenticated"], json!(true), "{refused}");
        assert!(
            refused["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{refused}"
        );
    }
    double
        .delete(&format!("/api/v1/namespaces/{NS}/serviceaccounts/runner"))
        .unwrap();
    let after_delete = review(&runner, None);
    assert_ne!(after_delete["authenticated"], json!(true), "{after_delete}");
    assert_eq!(double.reviewed_tokens().len(), 4);
}
