//! The control calls the in-process double cannot serve, and the stand-ins' passes, checked on
//! the wire: a scripted HTTP server answers through a handler and records every request, and
//! each test asserts method, target, content type, token and body as a real kube-apiserver
//! would receive them.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::support::envtest::control::{merge_patch, now_rfc3339};
use crate::support::envtest::http::ApiClient;
use crate::support::envtest::standin::{Progress, controller_pass, kubelet_pass};

/// One request as the scripted server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) content_type: Option<String>,
    pub(crate) authorization: Option<String>,
    pub(crate) body: Value,
}

type Handler = Box<dyn Fn(&Seen) -> (u16, Value) + Send + Sync>;

/// A scripted server on a free loopback port; it lives as long as the test process.
pub(crate) struct Stub {
    pub(crate) url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    pub(crate) fn start(handler: impl Fn(&Seen) -> (u16, Value) + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let handler: Handler = Box::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &handler, &log);
            }
        });
        Stub { url, seen }
    }

    pub(crate) fn client(&self) -> ApiClient {
        ApiClient::new(&self.url, "tok", None)
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(mut stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Seen>>) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let (head, body_start) = loop {
        let n = stream.read(&mut buf).unwrap();
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break (String::from_utf8(raw[..i].to_vec()).unwrap(), i + 4);
        }
        assert!(n > 0, "connection closed mid-headers");
    };
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap().split(' ');
    let (method, target) = (first.next().unwrap(), first.next().unwrap());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let length: usize = header("content-length").unwrap().parse().unwrap();
    while raw.len() < body_start + length {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed mid-body");
        raw.extend_from_slice(&buf[..n]);
    }
    let body = &raw[body_start..body_start + length];
    let seen = Seen {
        method: method.to_owned(),
        target: target.to_owned(),
        content_type: header("content-type"),
        authorization: header("authorization"),
        body: if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body).unwrap()
        },
    };
    let (status, answer) = handler(&seen);
    log.lock().unwrap().push(seen);
    let text = answer.to_string();
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    stream.write_all(response.as_bytes()).unwrap();
}

/// RFC 7386 applied, to play a server receiving merge patches.
fn apply_merge(target: &mut Value, patch: &Value) {
    let Value::Object(fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    for (key, value) in fields {
        if value.is_null() {
            target.as_object_mut().unwrap().remove(key);
        } else {
            apply_merge(&mut target[key], value);
        }
    }
}

fn deployment(name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "generation": 1,
                     "resourceVersion": "7", "managedFields": [{"manager": "konoha"}]},
        "spec": {"replicas": 1, "progressDeadlineSeconds": 600,
                 "template": {"spec": {"containers": [{"name": "kyuubi", "image": image}]}}}
    })
}

#[test]
fn create_namespace_posts_and_accepts_an_existing_one_but_not_a_failure() {
    let calls = Arc::new(Mutex::new(0));
    let count = calls.clone();
    let stub = Stub::start(move |_| {
        let mut n = count.lock().unwrap();
        *n += 1;
        match *n {
            1 => (201, json!({})),
            2 => (409, json!({"kind": "Status", "reason": "AlreadyExists"})),
            _ => (500, json!({"kind": "Status", "reason": "InternalError"})),
        }
    });
    let client = stub.client();
    client.create_namespace("kyuubi");
    client.create_namespace("kyuubi");
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        client.create_namespace("kyuubi")
    }));
    assert!(failed.is_err(), "a 500 must not pass as created");
    let seen = &stub.seen()[0];
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("POST", "/api/v1/namespaces")
    );
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(seen.authorization.as_deref(), Some("Bearer tok"));
    assert_eq!(
        seen.body,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kyuubi"}})
    );
}

#[test]
fn update_as_reads_then_sends_the_merge_patch_of_the_mutation() {
    let stub = Stub::start(|seen| match (seen.method.as_str(), seen.target.as_str()) {
        ("GET", "/apis/apps/v1/namespaces/ns/deployments/d") => (200, deployment("d", "good:1")),
        ("PATCH", _) => (200, json!({"patched": true})),
        _ => (
            404,
            json!({"kind": "Status", "code": 404, "reason": "NotFound"}),
        ),
    });
    let client = stub.client();
    let answer = client
        .update_as(
            "kubectl-edit",
            "/apis/apps/v1/namespaces/ns/deployments/d",
            |d| {
                d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil:1");
                d["metadata"]["labels"] = json!({"edited": "yes"});
            },
        )
        .unwrap();
    assert_eq!(answer, json!({"patched": true}));
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    let patch = &seen[1];
    assert_eq!(patch.method, "PATCH");
    assert_eq!(
        patch.target,
        "/apis/apps/v1/namespaces/ns/deployments/d?fieldManager=kubectl-edit"
    );
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    // Only what changed; a list goes whole; no resourceVersion, so no optimistic-lock failure.
    assert_eq!(
        patch.body,
        json!({
            "metadata": {"labels": {"edited": "yes"}},
            "spec": {"template": {"spec": {"containers": [{"name": "kyuubi", "image": "evil:1"}]}}}
        })
    );

    let missing = client
        .update_as("x", "/apis/apps/v1/namespaces/ns/deployments/gone", |_| {
            panic!("nothing to mutate")
        })
        .unwrap_err();
    assert_eq!(missing["reason"], "NotFound");
    assert_eq!(stub.seen().len(), 3, "no PATCH after a failed read");
}

#[test]
fn rollout_restart_sends_kubectls_strategic_merge_patch() {
    let stub = Stub::start(|_| (200, json!({})));
    let before = now_rfc3339();
    stub.client()
        .rollout_restart("kyuubi", "kyuubi-dbt")
        .unwrap();
    let after = now_rfc3339();
    let seen = &stub.seen()[0];
    assert_eq!(seen.method, "PATCH");
    assert_eq!(
        seen.target,
        "/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt?fieldManager=kubectl-rollout"
    );
    assert_eq!(
        seen.content_type.as_deref(),
        Some("application/strategic-merge-patch+json")
    );
    let annotations = &seen.body["spec"]["template"]["metadata"]["annotations"];
    let at = annotations["kubectl.kubernetes.io/restartedAt"]
        .as_str()
        .unwrap();
    assert!(before.as_str() <= at && at <= after.as_str(), "{at}");
    assert_eq!(seen.body.as_object().unwrap().len(), 1, "{}", seen.body);
}

#[test]
fn scale_sends_kubectls_merge_patch_of_the_scale_subresource() {
    // Recording 24's request, with the manager in the query instead of the User-Agent.
    let stub = Stub::start(|_| (200, json!({"kind": "Scale"})));
    let scale = stub.client().scale("kyuubi", "kyuubi-dbt", 3).unwrap();
    assert_eq!(scale["kind"], "Scale");
    let seen = &stub.seen()[0];
    assert_eq!(seen.method, "PATCH");
    assert_eq!(
        seen.target,
        "/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt/scale?fieldManager=kubectl"
    );
    assert_eq!(
        seen.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(seen.body, json!({"spec": {"replicas": 3}}));
    // A refusal comes back as the server's Status.
    let refused = Stub::start(|_| (404, json!({"kind": "Status", "reason": "NotFound"})));
    let status = refused.client().scale("kyuubi", "nope", 3).unwrap_err();
    assert_eq!(status["reason"], "NotFound");
}

#[test]
fn set_pod_ready_patches_the_status_subresource_as_the_kubelet() {
    let stub = Stub::start(|seen| (200, seen.body.clone()));
    let pod = json!({"metadata": {"name": "p", "namespace": "ns"},
                     "spec": {"containers": [{"name": "a", "image": "i:1"}, {"name": "b", "image": "j:2"}]}});
    stub.client().set_pod_ready(&pod).unwrap();
    let seen = &stub.seen()[0];
    assert_eq!(
        seen.target,
        "/api/v1/namespaces/ns/pods/p/status?fieldManager=kubelet"
    );
    assert_eq!(
        seen.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    let status = &seen.body["status"];
    assert_eq!(status["phase"], "Running");
    let ready = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(ready["status"], "True");
    let names: Vec<&Value> = status["containerStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, [&json!("a"), &json!("b")]);
}

#[test]
fn objects_with_label_lists_every_kind_cluster_wide() {
    let stub = Stub::start(|seen| {
        let path = seen.target.split('?').next().unwrap();
        let items = match path {
            "/api/v1/pods" => json!([{"metadata": {"name": "p", "namespace": "b"}}]),
            "/apis/apps/v1/deployments" => json!([{"metadata": {"name": "d", "namespace": "a"}}]),
            _ => json!([]),
        };
        (200, json!({"items": items}))
    });
    let found = stub
        .client()
        .objects_with_label("app.kubernetes.io/instance=x");
    assert_eq!(
        found,
        [
            ("Deployment".to_owned(), "a".to_owned(), "d".to_owned()),
            ("Pod".to_owned(), "b".to_owned(), "p".to_owned()),
        ]
    );
    let targets: Vec<String> = stub.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(targets.len(), 8, "{targets:?}");
    assert!(targets.contains(
        &"/apis/rbac.authorization.k8s.io/v1/rolebindings?labelSelector=app.kubernetes.io%2Finstance%3Dx"
            .to_owned()
    ));

    let refused = Stub::start(|_| (400, json!({"reason": "BadRequest"})));
    let client = refused.client();
    assert!(
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            || client.objects_with_label("a in (b)")
        ))
        .is_err()
    );
}

#[test]
fn the_kubelet_stand_in_marks_only_pods_that_may_become_ready() {
    let owned = |name: &str, deployment: &str, image: &str| {
        json!({"metadata": {"name": name, "namespace": "ns",
                             "labels": {"pod-template-hash": "abc12"},
                             "ownerReferences": [{"kind": "ReplicaSet", "name": format!("{deployment}-abc12"),
                                                  "controller": true}]},
               "spec": {"containers": [{"name": "c", "image": image}]}})
    };
    let mut ready = owned("already", "good", "i:1");
    ready["status"] = json!({"conditions": [{"type": "Ready", "status": "True"}]});
    let mut leaving = owned("leaving", "good", "i:1");
    leaving["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
    let pods = json!([owned("fresh", "good", "i:1"), owned("pull", "good", "x:broken"),
                      owned("held", "stuck", "i:1"), ready, leaving,
                      {"metadata": {"name": "bare", "namespace": "ns"}, "spec": {"containers": []}}]);
    let stub = Stub::start(move |seen| match seen.method.as_str() {
        "GET" => (200, json!({"items": pods})),
        _ => (200, json!({})),
    });
    let never = BTreeSet::from([("ns".to_owned(), "stuck".to_owned())]);
    kubelet_pass(&stub.client(), &never);
    let patched: Vec<String> = stub
        .seen()
        .into_iter()
        .filter(|s| s.method == "PATCH")
        .map(|s| s.target)
        .collect();
    assert_eq!(
        patched,
        [
            "/api/v1/namespaces/ns/pods/fresh/status?fieldManager=kubelet",
            "/api/v1/namespaces/ns/pods/bare/status?fieldManager=kubelet",
        ]
    );
}

#[test]
fn the_controller_stand_in_writes_status_once_then_follows_changes() {
    let stored = Arc::new(Mutex::new(vec![deployment("d", "good:1")]));
    let state = stored.clone();
    let stub = Stub::start(move |seen| {
        let mut items = state.lock().unwrap();
        if seen.method == "PATCH" {
            assert!(
                seen.target
                    .ends_with("/deployments/d/status?fieldManager=kube-controller-manager")
            );
            apply_merge(&mut items[0], &seen.body);
            return (200, items[0].clone());
        }
        (200, json!({"items": *items}))
    });
    let client = stub.client();
    let mut progress = Progress::default();
    let none = BTreeSet::new();
    let patches = || stub.seen().iter().filter(|s| s.method == "PATCH").count();

    controller_pass(&client, &mut progress, &none);
    assert_eq!(patches(), 1);
    let status = stored.lock().unwrap()[0]["status"].clone();
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(status["availableReplicas"], 1);
    controller_pass(&client, &mut progress, &none);
    assert_eq!(patches(), 1, "an unchanged status is not written again");

    // A new generation that never becomes ready: counts it no longer has are removed.
    {
        let mut items = stored.lock().unwrap();
        items[0]["metadata"]["generation"] = json!(2);
    }
    let never = BTreeSet::from([("ns".to_owned(), "d".to_owned())]);
    controller_pass(&client, &mut progress, &never);
    let status = stored.lock().unwrap()[0]["status"].clone();
    assert_eq!(status["observedGeneration"], 2);
    assert_eq!(status["unavailableReplicas"], 1);
    assert!(status.get("availableReplicas").is_none(), "{status}");
    let progressing = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap()
        .clone();
    assert_eq!(progressing["reason"], "ReplicaSetUpdated");
    assert_eq!(
        merge_patch(&status, &status),
        json!({}),
        "the status is stable"
    );
}
