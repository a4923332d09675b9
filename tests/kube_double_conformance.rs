//! Conformance of the Kubernetes API test double (tests/support/kube_double) with a real
//! kube-apiserver: replays the recordings in tests/fixtures/k8s-api over HTTP and compares status
//! codes and bodies, with volatile values (uids, timestamps, resourceVersions, generated names)
//! normalised; resourceVersion equality and inequality are still checked where the recordings
//! show them. Recordings 14 and 17–19 are timing-dependent and are checked by behaviour; 23–54
//! replay in a second session, comparing Deployments without what controllers write on their
//! own schedule (status, their managedFields entries, the revision annotation). 29–31 (the
//! terminating Deployment, its ReplicaSets and pods) are checked by behaviour: the double keeps
//! no ReplicaSet objects and finishes a Deployment's pods at once.
//!
//! The rest of the file tests what the recordings do not cover: selectors, deletecollection,
//! conflicts and pruning between managers, the request log, auth, and the background mode.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/kube_double/mod.rs"]
mod kube_double;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use kube_double::KubeDouble;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const DEPLOY: &str = "/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt";
const WAIT: Duration = Duration::from_secs(10);

/// One HTTP request to the double, the way any client would send it.
async fn call(
    d: &KubeDouble,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let addr = d.url().trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "double")
        .header("accept", "application/json")
        .header("content-type", content_type);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let req = req.body(Full::new(Bytes::from(payload))).unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap())
}

async fn send(d: &KubeDouble, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let ct = if method == "PATCH" {
        "application/apply-patch+yaml"
    } else {
        "application/json"
    };
    call(d, method, path, ct, body, Some("double-token")).await
}

/// Sends a recorded request as recorded: its content type and `User-Agent` too.
async fn send_recorded(d: &KubeDouble, req: &Value) -> (u16, Value) {
    let addr = d.url().trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut builder = hyper::Request::builder()
        .method(req["method"].as_str().unwrap())
        .uri(req["path"].as_str().unwrap())
        .header("host", "double")
        .header("accept", "application/json")
        .header("content-type", req["content_type"].as_str().unwrap());
    for (name, value) in req["headers"].as_object().into_iter().flatten() {
        builder = builder.header(name.as_str(), value.as_str().unwrap());
    }
    let payload = req
        .get("body")
        .filter(|b| !b.is_null())
        .map(Value::to_string)
        .unwrap_or_default();
    let resp = sender
        .send_request(builder.body(Full::new(Bytes::from(payload))).unwrap())
        .await
        .unwrap();
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap())
}

fn fixture(name: &str) -> Value {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/k8s-api");
    let path = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(name))
        .unwrap_or_else(|| panic!("no fixture {name}"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Replaces generated names (`kyuubi-dbt-<hash>`, `kyuubi-dbt-<hash>-<pod>`) by placeholders.
fn generated_names(s: &str) -> String {
    const STEM: &str = "kyuubi-dbt-";
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(STEM) {
        out.push_str(&rest[..i]);
        out.push_str("kyuubi-dbt-<rs>");
        rest = &rest[i + STEM.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        rest = &rest[end..];
        if rest.starts_with('-') && rest[1..].len() >= 5 {
            out.push_str("-<pod>");
            rest = &rest[6..];
        }
    }
    out.push_str(rest);
    out
}

const VOLATILE: &[&str] = &[
    "uid",
    "creationTimestamp",
    "resourceVersion",
    "time",
    "lastUpdateTime",
    "lastTransitionTime",
    "firstTimestamp",
    "lastTimestamp",
    "deletionTimestamp",
    "kubectl.kubernetes.io/restartedAt",
    "clusterIP",
];

/// Volatile values replaced, generated names masked, managedFields sorted by owner (their
/// recorded order depends on which write landed in which second).
fn normalise(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let n = match (k.as_str(), v) {
                        (k, Value::String(_)) if VOLATILE.contains(&k) => json!("<volatile>"),
                        // Allocated addresses differ from run to run.
                        ("clusterIPs", Value::Array(_)) => json!("<volatile>"),
                        ("managedFields", Value::Array(items)) => {
                            let mut items: Vec<Value> = items.iter().map(normalise).collect();
                            items.sort_by_key(|e| format!("{}{}", e["operation"], e["manager"]));
                            Value::Array(items)
                        }
                        _ => normalise(v),
                    };
                    (k.clone(), n)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        Value::String(s) => json!(generated_names(s)),
        other => other.clone(),
    }
}

fn assert_same(what: &str, mine: &Value, recorded: &Value) {
    let (a, b) = (normalise(mine), normalise(recorded));
    assert!(
        a == b,
        "{what}: the double differs from the recording\n--- double:\n{}\n--- recorded:\n{}",
        serde_json::to_string_pretty(&a).unwrap(),
        serde_json::to_string_pretty(&b).unwrap()
    );
}

/// resourceVersions must be equal exactly where the recordings' are: a bijection between the
/// recorded values and the double's.
#[derive(Default)]
struct Versions(BTreeMap<String, String>);

impl Versions {
    fn check(&mut self, what: &str, mine: &Value, recorded: &Value) {
        let rv = |v: &Value| {
            v.pointer("/metadata/resourceVersion")?
                .as_str()
                .map(str::to_owned)
        };
        let (Some(r), Some(m)) = (rv(recorded), rv(mine)) else {
            return;
        };
        match self.0.get(&r) {
            Some(seen) => assert_eq!(seen, &m, "{what}: resourceVersion should not have changed"),
            None => {
                assert!(
                    !self.0.values().any(|v| v == &m),
                    "{what}: resourceVersion {m} should be new (recorded {r})"
                );
                self.0.insert(r, m);
            }
        }
    }
}

/// Sends the recorded request (optionally edited) and compares the answer with the recording.
async fn replay(d: &KubeDouble, rvs: &mut Versions, name: &str, edit: fn(&mut Value)) -> Value {
    let mut rec = fixture(name);
    edit(&mut rec);
    let req = &rec["request"];
    let body = req.get("body").filter(|b| !b.is_null());
    let (code, mine) = send(
        d,
        req["method"].as_str().unwrap(),
        req["path"].as_str().unwrap(),
        body,
    )
    .await;
    let recorded = &rec["response"]["body"];
    assert_eq!(
        code, rec["response"]["status"],
        "{name}: status code; body {mine:#}"
    );
    assert_same(name, &mine, recorded);
    rvs.check(name, &mine, recorded);
    mine
}

fn condition<'a>(d: &'a Value, kind: &str) -> Option<&'a Value> {
    d.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn rolled_out(d: &KubeDouble, generation: i64) -> bool {
    d.get(DEPLOY).is_some_and(|o| {
        o.pointer("/status/observedGeneration") == Some(&json!(generation))
            && condition(&o, "Progressing").is_some_and(|c| c["reason"] == "NewReplicaSetAvailable")
            && o.pointer("/status/replicas") == Some(&json!(1))
    })
}

fn no_edit(_: &mut Value) {}

fn deadline_one_second(rec: &mut Value) {
    rec["request"]["body"]["spec"]["progressDeadlineSeconds"] = json!(1);
    rec["response"]["body"]["spec"]["progressDeadlineSeconds"] = json!(1);
}

fn event_summary(e: &Value) -> String {
    generated_names(&format!(
        "{} {} {} {} {} {}",
        e["type"],
        e["reason"],
        e["involvedObject"]["kind"],
        e["message"],
        e["source"]["component"],
        e["count"]
    ))
}

#[tokio::test]
async fn replays_the_recorded_session() {
    let d = KubeDouble::start().await;
    d.create_namespace("kyuubi");
    let mut rvs = Versions::default();
    for name in ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10"] {
        replay(&d, &mut rvs, name, no_edit).await;
    }
    assert!(
        d.wait_for(WAIT, |d| rolled_out(d, 1)).await,
        "generation 1 never rolled out"
    );
    for name in ["11", "12", "13"] {
        replay(&d, &mut rvs, name, no_edit).await;
    }

    // 14: the rollout of generation 2 ends in the recorded shape, under a new replica set name.
    assert!(
        d.wait_for(WAIT, |d| rolled_out(d, 2)).await,
        "generation 2 never rolled out"
    );
    let snapshots = fixture("14")["snapshots"].as_array().unwrap().clone();
    let last = snapshots.last().unwrap();
    let now = d.get(DEPLOY).unwrap();
    assert_same("14 final status", &now["status"], &last["status"]);
    let message = |o: &Value| condition(o, "Progressing").unwrap()["message"].clone();
    let first_rs = message(&fixture("11")["response"]["body"]);
    assert_ne!(
        message(&now),
        first_rs,
        "a template change makes a new replica set"
    );

    d.rollout_restart("kyuubi", "kyuubi-dbt").unwrap();
    assert!(
        d.wait_for(WAIT, |d| rolled_out(d, 3)).await,
        "the restart never rolled out"
    );
    replay(&d, &mut rvs, "15", |rec| {
        // The recording is a GET, not a request the double can replay by itself.
        rec["request"]["method"] = json!("GET");
    })
    .await;
    replay(&d, &mut rvs, "16", no_edit).await;

    // 17–18: pods that never become ready end in ProgressDeadlineExceeded (deadline shortened).
    replay(&d, &mut rvs, "17", deadline_one_second).await;
    let exceeded = |d: &KubeDouble| {
        d.get(DEPLOY).is_some_and(|o| {
            condition(&o, "Progressing").is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded")
        })
    };
    assert!(
        d.wait_for(WAIT, exceeded).await,
        "the deadline never passed"
    );
    let mut rec18 = fixture("18");
    deadline_one_second(&mut rec18);
    let (code, mine) = send(&d, "GET", DEPLOY, None).await;
    assert_eq!(code, 200);
    assert_same("18", &mine, &rec18["response"]["body"]);
    rvs.check("18", &mine, &rec18["response"]["body"]);

    // 19: the controllers' events are all there (plus the kubelet's about the broken image).
    let (code, events) = send(&d, "GET", "/api/v1/namespaces/kyuubi/events", None).await;
    assert_eq!(code, 200);
    assert_eq!(events["kind"], "EventList");
    let mut mine: Vec<String> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(event_summary)
        .collect();
    let recorded = fixture("19")["response"]["body"]["items"]
        .as_array()
        .unwrap()
        .clone();
    for e in &recorded {
        let want = event_summary(e);
        let pos = mine.iter().position(|m| *m == want);
        assert!(pos.is_some(), "missing event {want}; have {mine:#?}");
        mine.remove(pos.unwrap());
    }
    assert!(
        mine.iter().all(|m| m.contains("kubelet")),
        "unexpected events {mine:#?}"
    );
    assert!(
        mine.iter()
            .any(|m| m.contains("BackOff") && m.contains("apache/kyuubi:broken"))
    );
    let one = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["reason"] == "SuccessfulCreate")
        .unwrap();
    let mut shape = recorded[0].clone();
    shape["metadata"]["name"] = one["metadata"]["name"].clone();
    assert_same("19 event shape", one, &shape);

    for name in ["20", "21", "22"] {
        replay(&d, &mut rvs, name, no_edit).await;
    }
    let pods_gone = |d: &KubeDouble| {
        d.objects_with_label("app.kubernetes.io/instance=kyuubi-dbt")
            .is_empty()
    };
    assert!(
        d.wait_for(WAIT, pods_gone).await,
        "the deployment's pods were not collected"
    );
}

const CM: &str = "/api/v1/namespaces/kyuubi/configmaps";

fn config_map(name: &str, labels: Value, data: Value) -> Value {
    let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": name, "namespace": "kyuubi"}, "data": data});
    if labels != json!({}) {
        o["metadata"]["labels"] = labels;
    }
    o
}

async fn apply(
    d: &KubeDouble,
    path: &str,
    manager: &str,
    force: bool,
    body: &Value,
) -> (u16, Value) {
    let url = format!("{path}?fieldManager={manager}&force={force}");
    send(d, "PATCH", &url, Some(body)).await
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn kyuubi_double() -> KubeDouble {
    let d = KubeDouble::start().await;
    d.create_namespace("kyuubi");
    d
}

#[tokio::test]
async fn lists_filter_by_label_selector() {
    let d = kyuubi_double().await;
    let objects = [
        ("a", json!({"app": "kyuubi", "tier": "server"})),
        ("b", json!({"app": "kyuubi"})),
        ("c", json!({"app": "other"})),
    ];
    for (name, labels) in objects {
        let body = config_map(name, labels, json!({"k": "v"}));
        let (code, _) = apply(&d, &format!("{CM}/{name}"), "konoha", false, &body).await;
        assert_eq!(code, 201);
    }
    let cases = [
        ("app%3Dkyuubi", vec!["a", "b"]),
        ("app%3Dkyuubi%2Ctier%3Dserver", vec!["a"]),
        ("app%21%3Dkyuubi", vec!["c"]),
        ("tier", vec!["a"]),
        ("%21tier", vec!["b", "c"]),
        ("", vec!["a", "b", "c"]),
    ];
    for (selector, want) in cases {
        let (code, list) = send(&d, "GET", &format!("{CM}?labelSelector={selector}"), None).await;
        assert_eq!(code, 200);
        assert_eq!(names(&list), want, "selector {selector}");
        assert_eq!(list["kind"], "ConfigMapList");
        assert!(list["metadata"]["resourceVersion"].is_string());
        assert!(
            list["items"][0].get("kind").is_none(),
            "list items carry no kind"
        );
    }
    let (code, status) = send(
        &d,
        "GET",
        &format!("{CM}?labelSelector=app%20in%20%28a%29"),
        None,
    )
    .await;
    assert_eq!((code, &status["reason"]), (400, &json!("BadRequest")));
}

#[tokio::test]
async fn deletecollection_of_pods_by_label() {
    let d = kyuubi_double().await;
    d.create_pod(
        "kyuubi",
        "driver-1",
        &[("spark-role", "driver"), ("kyuubi-unique-tag", "u1")],
    );
    d.create_pod("kyuubi", "driver-2", &[("spark-role", "driver")]);
    d.create_pod("kyuubi", "other", &[("app", "x")]);
    let pods = "/api/v1/namespaces/kyuubi/pods";
    let (code, deleted) = send(
        &d,
        "DELETE",
        &format!("{pods}?labelSelector=spark-role%3Ddriver"),
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(deleted["kind"], "PodList");
    assert_eq!(names(&deleted), ["driver-1", "driver-2"]);
    // The answer shows the pods as they were before the deletion (recording 37).
    assert!(
        deleted["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["metadata"].get("deletionTimestamp").is_none())
    );
    let drivers_gone = |d: &KubeDouble| {
        d.get(&format!("{pods}?labelSelector=spark-role%3Ddriver"))
            .is_some_and(|l| names(&l).is_empty())
    };
    assert!(d.wait_for(WAIT, drivers_gone).await);
    assert_eq!(names(&d.get(pods).unwrap()), ["other"]);

    // A single DELETE answers with the terminating pod; it is gone shortly after.
    let (code, pod) = send(&d, "DELETE", &format!("{pods}/other"), None).await;
    assert_eq!(code, 200);
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 30);
    assert!(
        d.wait_for(WAIT, |d| d.get(&format!("{pods}/other")).is_none())
            .await
    );
    let (code, status) = send(&d, "DELETE", &format!("{pods}/other"), None).await;
    assert_eq!(
        (code, &status["message"]),
        (404, &json!("pods \"other\" not found"))
    );
}

#[tokio::test]
async fn conflicts_name_every_owner_and_force_moves_ownership() {
    let d = kyuubi_double().await;
    let path = format!("{CM}/conf");
    let mine = config_map("conf", json!({}), json!({"a": "1", "b": "2"}));
    assert_eq!(apply(&d, &path, "konoha", false, &mine).await.0, 201);
    d.update_as("kubectl-edit", &path, |o| o["data"]["a"] = json!("edited"))
        .unwrap();

    let (code, status) = apply(&d, &path, "konoha", false, &mine).await;
    assert_eq!(code, 409);
    assert_eq!(
        status["message"],
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.a"
    );

    let theirs = config_map("conf", json!({}), json!({"a": "x", "b": "y"}));
    let (code, status) = apply(&d, &path, "someone-else", false, &theirs).await;
    assert_eq!(code, 409);
    assert_eq!(
        status["message"],
        "Apply failed with 2 conflicts: conflicts with \"konoha\":\n- .data.b\nconflicts with \"kubectl-edit\" using v1:\n- .data.a"
    );
    let fields: Vec<&Value> = status["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["field"])
        .collect();
    assert_eq!(fields, [".data.b", ".data.a"]);

    let (code, forced) = apply(&d, &path, "someone-else", true, &theirs).await;
    assert_eq!(code, 200);
    assert_eq!(forced["data"], json!({"a": "x", "b": "y"}));
    let managers: Vec<&Value> = forced["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["manager"])
        .collect();
    assert_eq!(
        managers,
        ["someone-else"],
        "konoha and kubectl-edit lost everything"
    );

    // The control API's apply goes through the same rules.
    let third = config_map("conf", json!({}), json!({"a": "z"}));
    let refused = d.apply_as("third", &path, &third, false).unwrap_err();
    assert_eq!(refused["reason"], "Conflict");
    assert!(d.apply_as("third", &path, &third, true).is_ok());
    let back = config_map("conf", json!({}), json!({"a": "x"}));
    d.apply_as("someone-else", &path, &back, true).unwrap();

    // Applying the value already there is no conflict: the field becomes shared.
    let same = config_map("conf", json!({}), json!({"a": "x"}));
    let (code, shared) = apply(&d, &path, "konoha", false, &same).await;
    assert_eq!(code, 200);
    assert_eq!(
        shared["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn pruning_removes_only_fields_nobody_else_owns() {
    let d = kyuubi_double().await;
    let path = format!("{CM}/conf");
    let first = config_map("conf", json!({"l1": "v"}), json!({"a": "1", "b": "2"}));
    apply(&d, &path, "konoha", false, &first).await;
    let share = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf"}, "data": {"b": "2"}});
    assert_eq!(apply(&d, &path, "someone-else", false, &share).await.0, 200);
    let second = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf"}, "data": {"a": "1"}});
    let (code, o) = apply(&d, &path, "konoha", false, &second).await;
    assert_eq!(code, 200);
    assert_eq!(
        o["data"],
        json!({"a": "1", "b": "2"}),
        "b is still someone-else's"
    );
    assert!(
        o["metadata"].get("labels").is_none(),
        "the label nobody owns any more is gone"
    );

    let deployment = |env: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "srv"},
               "spec": {"selector": {"matchLabels": {"app": "srv"}},
                        "template": {"metadata": {"labels": {"app": "srv"}},
                                     "spec": {"containers": [{"name": "c", "image": "img:1", "env": env}]}}}})
    };
    let dpath = "/apis/apps/v1/namespaces/kyuubi/deployments/srv";
    let (code, o) = apply(
        &d,
        dpath,
        "konoha",
        false,
        &deployment(json!([{"name": "A", "value": "1"}])),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(
        o["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}])
    );
    let (_, o) = apply(&d, dpath, "konoha", false, &deployment(json!([]))).await;
    assert!(
        o["spec"]["template"]["spec"]["containers"][0]
            .get("env")
            .is_none(),
        "{o:#}"
    );
    assert_eq!(o["metadata"]["generation"], 2);
}

#[tokio::test]
async fn secrets_fold_string_data_into_data() {
    let d = kyuubi_double().await;
    let path = "/api/v1/namespaces/kyuubi/secrets/spark-env";
    let body = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "spark-env"},
                      "stringData": {"spark.env": "a=b\n"}});
    let (code, first) = apply(&d, path, "konoha", false, &body).await;
    assert_eq!(code, 201);
    assert_eq!(first["data"], json!({"spark.env": "YT1iCg=="}));
    assert_eq!(first["type"], "Opaque");
    assert!(first.get("stringData").is_none());
    let (code, again) = apply(&d, path, "konoha", false, &body).await;
    assert_eq!(code, 200);
    assert_eq!(
        again["metadata"]["resourceVersion"],
        first["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn request_log_shows_that_a_noop_apply_writes_nothing() {
    let d = kyuubi_double().await;
    assert!(d.requests().is_empty());
    let path = format!("{CM}/conf");
    let body = config_map("conf", json!({}), json!({"a": "1"}));
    let (_, first) = apply(&d, &path, "konoha", false, &body).await;
    let (code, second) = apply(&d, &path, "konoha", false, &body).await;
    assert_eq!(code, 200);
    assert_eq!(
        first["metadata"]["resourceVersion"],
        second["metadata"]["resourceVersion"]
    );
    let patch = (
        "PATCH".to_owned(),
        format!("{path}?fieldManager=konoha&force=false"),
    );
    assert_eq!(d.requests(), [patch.clone(), patch]);
    d.clear_requests();
    send(&d, "GET", &path, None).await;
    assert_eq!(d.requests(), [("GET".to_owned(), path)]);
    assert!(d.writes().is_empty());
}

#[tokio::test]
async fn never_ready_knob_ends_in_deadline_exceeded_with_pod_events() {
    let d = kyuubi_double().await;
    d.set_never_ready("kyuubi", "srv", true);
    let body = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "srv"},
        "spec": {"progressDeadlineSeconds": 1, "selector": {"matchLabels": {"app": "srv"}},
                 "template": {"metadata": {"labels": {"app": "srv"}},
                              "spec": {"containers": [{"name": "kyuubi", "image": "apache/kyuubi:1.10.2"}]}}}});
    let path = "/apis/apps/v1/namespaces/kyuubi/deployments/srv";
    assert_eq!(apply(&d, path, "konoha", false, &body).await.0, 201);
    let failed = |d: &KubeDouble| {
        d.get(path).is_some_and(|o| {
            condition(&o, "Progressing").is_some_and(|c| {
                c["status"] == "False" && c["reason"] == "ProgressDeadlineExceeded"
            })
        })
    };
    assert!(d.wait_for(WAIT, failed).await);
    let o = d.get(path).unwrap();
    assert_eq!(
        condition(&o, "Available").unwrap()["reason"],
        "MinimumReplicasUnavailable"
    );
    assert_eq!(o["status"]["unavailableReplicas"], 1);
    assert!(o["status"].get("readyReplicas").is_none());

    let pods = d
        .get("/api/v1/namespaces/kyuubi/pods?labelSelector=app%3Dsrv")
        .unwrap();
    let pod = names(&pods).pop().unwrap();
    let events = |selector: &str| {
        d.get(&format!(
            "/api/v1/namespaces/kyuubi/events?fieldSelector={selector}"
        ))
        .unwrap()
    };
    let about_pod = events(&format!("involvedObject.name%3D{pod}"));
    let reasons: Vec<&Value> = about_pod["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["reason"])
        .collect();
    assert!(reasons.contains(&&json!("Unhealthy")), "{reasons:?}");
    let about_deployment = events("involvedObject.kind%3DDeployment");
    assert!(
        about_deployment["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["reason"] == "ScalingReplicaSet")
    );
    let (code, status) = send(
        &d,
        "GET",
        "/api/v1/namespaces/kyuubi/events?fieldSelector=spec.x%3Dy",
        None,
    )
    .await;
    assert_eq!(
        (code, &status["message"]),
        (400, &json!("field label not supported: spec.x"))
    );
}

#[tokio::test]
async fn rejects_what_the_real_server_rejects() {
    let d = kyuubi_double().await;
    let body = config_map("conf", json!({}), json!({"a": "1"}));
    let (code, s) = apply(
        &d,
        "/api/v1/namespaces/nope/configmaps/conf",
        "konoha",
        false,
        &json!({"apiVersion": "v1", "kind": "ConfigMap"}),
    )
    .await;
    assert_eq!(
        (code, &s["message"]),
        (404, &json!("namespaces \"nope\" not found"))
    );
    let (code, _) = call(
        &d,
        "GET",
        "/version",
        "application/json",
        None,
        Some("wrong"),
    )
    .await;
    assert_eq!(code, 401);
    let (code, v) = call(&d, "GET", "/version", "application/json", None, None).await;
    assert_eq!(
        (code, &v["gitVersion"]),
        (200, &json!("v1.32.0-beta.0+ste.cd13ec4a"))
    );
    let (code, _) = call(
        &d,
        "PATCH",
        &format!("{CM}/conf?fieldManager=k"),
        "application/merge-patch+json",
        Some(&body),
        None,
    )
    .await;
    assert_eq!(code, 415);
    let (code, _) = call(&d, "POST", CM, "application/json", Some(&body), None).await;
    assert_eq!(code, 405);

    let mismatch = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "srv"},
        "spec": {"selector": {"matchLabels": {"app": "srv"}},
                 "template": {"metadata": {"labels": {"app": "other"}},
                              "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}});
    let (code, s) = apply(
        &d,
        "/apis/apps/v1/namespaces/kyuubi/deployments/srv",
        "konoha",
        false,
        &mismatch,
    )
    .await;
    assert_eq!(code, 422);
    assert_eq!(
        s["details"]["causes"][0]["field"],
        "spec.template.metadata.labels"
    );

    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1svc"}, "spec": {"ports": [{"port": 1}]}});
    let (code, s) = apply(
        &d,
        "/api/v1/namespaces/kyuubi/services/1svc",
        "konoha",
        false,
        &svc,
    )
    .await;
    assert_eq!(code, 422);
    assert!(s["message"].as_str().unwrap().contains("DNS-1035"));

    let mut nameless = mismatch.clone();
    nameless["spec"]["template"]["metadata"]["labels"]["app"] = json!("srv");
    nameless["spec"]["template"]["spec"]["containers"][0] = json!({"image": "i:1"});
    let (code, s) = apply(
        &d,
        "/apis/apps/v1/namespaces/kyuubi/deployments/srv",
        "konoha",
        false,
        &nameless,
    )
    .await;
    assert_eq!(code, 500);
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("omits key field \"name\""),
        "{s}"
    );

    let url = format!("{CM}/conf?fieldManager=konoha");
    let (code, _) = call(
        &d,
        "PATCH",
        &url,
        "application/apply-patch+yaml",
        None,
        None,
    )
    .await;
    assert_eq!(code, 400, "an empty body is not an object");
}

#[tokio::test]
async fn services_get_cluster_defaults() {
    let d = kyuubi_double().await;
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kyuubi"},
                     "spec": {"selector": {"app": "srv"}, "ports": [{"name": "thrift", "port": 10009}]}});
    let (code, o) = apply(
        &d,
        "/api/v1/namespaces/kyuubi/services/kyuubi",
        "konoha",
        false,
        &svc,
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(
        o["spec"]["ports"],
        json!([{"name": "thrift", "port": 10009, "protocol": "TCP", "targetPort": 10009}])
    );
    assert_eq!(o["spec"]["type"], "ClusterIP");
    assert!(
        o["spec"]["clusterIP"]
            .as_str()
            .unwrap()
            .starts_with("10.96.")
    );
    let owned = &o["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"];
    assert_eq!(
        owned["f:selector"],
        json!({}),
        "a Service selector is owned as a whole"
    );
    assert_eq!(
        owned["f:ports"],
        json!({"k:{\"port\":10009,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}}})
    );
}

#[tokio::test]
async fn foreground_delete_waits_for_the_pods() {
    let d = kyuubi_double().await;
    let body = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "srv"},
        "spec": {"selector": {"matchLabels": {"app": "srv"}},
                 "template": {"metadata": {"labels": {"app": "srv"}},
                              "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}});
    let path = "/apis/apps/v1/namespaces/kyuubi/deployments/srv";
    apply(&d, path, "konoha", false, &body).await;
    let ready = |d: &KubeDouble| {
        d.get(path)
            .is_some_and(|o| o["status"]["availableReplicas"] == 1)
    };
    assert!(d.wait_for(WAIT, ready).await);
    let (code, o) = send(
        &d,
        "DELETE",
        path,
        Some(&json!({"propagationPolicy": "Foreground"})),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(o["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    assert!(
        d.get(path).is_some(),
        "still there while its pods terminate"
    );
    assert!(d.wait_for(WAIT, |d| d.get(path).is_none()).await);
    assert!(d.objects_with_label("app=srv").is_empty());
}

#[test]
fn background_double_serves_blocking_clients() {
    use std::io::{Read, Write};
    let d = KubeDouble::start_background();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = std::fs::read_to_string(d.write_kubeconfig(dir.path())).unwrap();
    assert!(kubeconfig.contains(&format!("server: {}", d.url())));
    assert!(kubeconfig.contains("token: double-token"));
    let mut stream = std::net::TcpStream::connect(d.url().trim_start_matches("http://")).unwrap();
    stream
        .write_all(b"GET /version HTTP/1.1\r\nhost: double\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("v1.32.0-beta.0+ste.cd13ec4a"));
}

#[tokio::test]
async fn rbac_and_service_accounts_are_served_with_atomic_lists() {
    let d = kyuubi_double().await;
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "spark", "labels": {"app.kubernetes.io/managed-by": "konoha"}},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete"]}]});
    let rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/kyuubi";
    let (code, o) = apply(&d, &format!("{rbac}/roles/spark"), "konoha", false, &role).await;
    assert_eq!(code, 201);
    assert!(o["metadata"].get("generation").is_none());
    let owned = &o["metadata"]["managedFields"][0]["fieldsV1"];
    assert_eq!(owned["f:rules"], json!({}), "rules are owned as a whole");

    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "spark"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "spark"},
        "subjects": [{"kind": "ServiceAccount", "name": "spark", "namespace": "kyuubi"}]});
    let (code, o) = apply(
        &d,
        &format!("{rbac}/rolebindings/spark"),
        "konoha",
        false,
        &binding,
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(
        o["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:roleRef": {}, "f:subjects": {}})
    );
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "spark"}});
    let (code, _) = apply(
        &d,
        "/api/v1/namespaces/kyuubi/serviceaccounts/spark",
        "konoha",
        false,
        &sa,
    )
    .await;
    assert_eq!(code, 201);
    let managed = d.objects_with_label("app.kubernetes.io/managed-by=konoha");
    assert_eq!(
        managed,
        [("Role".to_owned(), "kyuubi".to_owned(), "spark".to_owned())]
    );

    let (code, s) = send(&d, "DELETE", &format!("{rbac}/roles/spark"), None).await;
    assert_eq!(code, 200);
    assert_eq!(s["details"]["group"], "rbac.authorization.k8s.io");
    let (code, s) = send(&d, "GET", &format!("{rbac}/roles/spark"), None).await;
    assert_eq!(
        (code, &s["message"]),
        (
            404,
            &json!("roles.rbac.authorization.k8s.io \"spark\" not found")
        )
    );
    let (code, ns) = send(&d, "GET", "/api/v1/namespaces/kyuubi", None).await;
    assert_eq!((code, &ns["status"]["phase"]), (200, &json!("Active")));
    let (code, _) = send(&d, "GET", "/api/v1/namespaces/nope", None).await;
    assert_eq!(code, 404);
}

/// `rec` with the parts a controller writes on its own schedule left out: `status`, and the
/// controller's and the status subresource's managedFields entries.
fn without_controller_timing(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    if let Some(Value::Array(entries)) = v.pointer_mut("/metadata/managedFields") {
        entries.retain(|e| e["manager"] != "kube-controller-manager");
    }
    if let Some(Value::Object(annotations)) = v.pointer_mut("/metadata/annotations") {
        annotations.remove("deployment.kubernetes.io/revision");
        if annotations.is_empty() {
            v["metadata"].as_object_mut().unwrap().remove("annotations");
        }
    }
    v
}

/// Replays recording `name` as recorded (content type and headers included) and compares the
/// answer, leaving out what controllers write when `timing` is set.
async fn replay_recorded(d: &KubeDouble, name: &str, timing: bool) -> Value {
    let rec = fixture(name);
    let (code, mine) = send_recorded(d, &rec["request"]).await;
    assert_eq!(
        code, rec["response"]["status"],
        "{name}: status code; body {mine:#}"
    );
    let recorded = &rec["response"]["body"];
    if timing {
        assert_same(
            name,
            &without_controller_timing(&mine),
            &without_controller_timing(recorded),
        );
    } else {
        assert_same(name, &mine, recorded);
    }
    mine
}

/// A pod bound to the recordings' node, labelled like a Spark driver of `kyuubi-dbt`.
fn driver_pod(d: &KubeDouble, name: &str, labels: &[(&str, &str)]) {
    d.create_pod("kyuubi", name, labels);
}

#[tokio::test]
async fn replays_scale_foreground_deletion_and_collections() {
    let d = KubeDouble::start().await;
    d.create_namespace("kyuubi");
    // 23: the Deployment applied (again, in the recorded session): a new object.
    replay_recorded(&d, "23", true).await;
    assert!(
        d.wait_for(WAIT, |d| rolled_out(d, 1)).await,
        "generation 1 never rolled out"
    );
    // 24–25: kubectl scale through /scale moves spec.replicas to manager kubectl.
    let scale = replay_recorded(&d, "24", true).await;
    assert_eq!(scale["kind"], "Scale");
    let after = replay_recorded(&d, "25", true).await;
    assert_eq!(after["spec"]["replicas"], 3);
    let scaled_to = |n: i64| {
        move |d: &KubeDouble| {
            d.get(DEPLOY)
                .is_some_and(|o| o.pointer("/status/replicas") == Some(&json!(n)))
        }
    };
    assert!(d.wait_for(WAIT, scaled_to(3)).await, "never scaled to 3");
    // 26: konoha's apply of replicas now conflicts, naming kubectl and the subresource.
    replay_recorded(&d, "26", false).await;
    // 27: forced, konoha owns replicas again and kubectl's entry is gone.
    replay_recorded(&d, "27", true).await;
    assert!(d.wait_for(WAIT, scaled_to(2)).await, "never scaled to 2");
    // 28: foreground DELETE answers the object, finalizer set, generation bumped.
    let deleting = replay_recorded(&d, "28", true).await;
    assert_eq!(deleting["metadata"]["generation"], 4);
    // 29–32: it lingers while its pods go, then is gone.
    let gone = |d: &KubeDouble| d.get(DEPLOY).is_none();
    assert!(d.wait_for(WAIT, gone).await, "the Deployment never went");
    replay_recorded(&d, "32", false).await;
    let pods_gone = |d: &KubeDouble| {
        d.objects_with_label("app.kubernetes.io/instance=kyuubi-dbt")
            .is_empty()
    };
    assert!(
        d.wait_for(WAIT, pods_gone).await,
        "its pods were not collected"
    );

    // 34–36: event field selectors, and the 400 for one events do not support.
    replay_recorded(&d, "36", false).await;
    let (code, events) = send(
        &d,
        "GET",
        "/api/v1/namespaces/kyuubi/events?fieldSelector=involvedObject.name%3Dkyuubi-dbt&limit=500",
        None,
    )
    .await;
    assert_eq!(code, 200);
    let scaling: Vec<String> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| generated_names(e["message"].as_str().unwrap()))
        .collect();
    // The recording holds the events of every Deployment of that name so far; this session
    // had only the last one's replica set.
    let items = fixture("35")["response"]["body"]["items"].clone();
    let items = items.as_array().unwrap();
    let last_rs = items.last().unwrap()["message"]
        .as_str()
        .unwrap()
        .split(' ')
        .nth(4)
        .unwrap()
        .to_owned();
    let recorded: Vec<String> = items
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .filter(|m| m.contains(&last_rs))
        .map(generated_names)
        .collect();
    // Lists are sorted by name, and event names end in a generated suffix.
    let (mut scaling, mut recorded) = (scaling, recorded);
    scaling.sort();
    recorded.sort();
    assert_eq!(scaling, recorded);
    for e in events["items"].as_array().unwrap() {
        assert_eq!(e["reportingComponent"], e["source"]["component"], "{e:#}");
    }

    // 37–38: deletecollection answers the selected pods as they were.
    driver_pod(
        &d,
        "kyuubi-dbt-driver-1",
        &[
            ("konoha.io/kyuubi-server", "kyuubi-dbt"),
            ("spark-role", "driver"),
        ],
    );
    driver_pod(
        &d,
        "kyuubi-dbt-driver-2",
        &[
            ("konoha.io/kyuubi-server", "kyuubi-dbt"),
            ("spark-role", "driver"),
        ],
    );
    driver_pod(
        &d,
        "other-driver",
        &[
            ("konoha.io/kyuubi-server", "other"),
            ("spark-role", "driver"),
        ],
    );
    let rec = fixture("37");
    let (code, list) = send_recorded(&d, &rec["request"]).await;
    assert_eq!(code, rec["response"]["status"]);
    assert_eq!(list["kind"], "PodList");
    assert_eq!(names(&list), ["kyuubi-dbt-driver-1", "kyuubi-dbt-driver-2"]);
    for pod in list["items"].as_array().unwrap() {
        assert!(
            pod["metadata"].get("deletionTimestamp").is_none(),
            "{pod:#}"
        );
    }
    let left = d
        .get("/api/v1/namespaces/kyuubi/pods?labelSelector=spark-role%3Ddriver")
        .unwrap();
    let untouched: Vec<&Value> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"].get("deletionTimestamp").is_none())
        .collect();
    assert_eq!(untouched.len(), 1);
    assert_eq!(untouched[0]["metadata"]["name"], "other-driver");

    // 39–45: RBAC objects and a Secret, then a foreground delete of what owns nothing.
    for name in ["39", "40", "41", "42", "43", "44"] {
        replay_recorded(&d, name, false).await;
    }
    let role = "/apis/rbac.authorization.k8s.io/v1/namespaces/kyuubi/roles/kyuubi-dbt";
    assert!(
        d.wait_for(WAIT, |d| d.get(role).is_none()).await,
        "the Role never went"
    );
    replay_recorded(&d, "45", false).await;

    // 46–53: pruning, Services, a missing namespace; 54: the version.
    for name in ["46", "47", "48", "49", "50", "51", "52", "53", "54"] {
        replay_recorded(&d, name, true).await;
    }
}
