//! Conformance of the Kubernetes API test double (tests/support/kube_double) with a real
//! kube-apiserver: replays the recordings in tests/fixtures/k8s-api over HTTP and compares status
//! codes and bodies, with volatile values (uids, timestamps, resourceVersions, generated names)
//! normalised; resourceVersion equality and inequality are still checked where the recordings
//! show them. Recordings 14 and 17–19 are timing-dependent and are checked by behaviour.
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
