//! A front for the API double that answers API discovery, which the double leaves out and
//! `kubectl` needs to map kinds to resources; every other request is forwarded unchanged.
//! Konoha and kubectl both go through it, so neither is timed against a faster path.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

/// The kinds the double serves: (group/version path, resource, kind, namespaced).
const RESOURCES: [(&str, &str, &str, bool); 11] = [
    ("api/v1", "configmaps", "ConfigMap", true),
    ("api/v1", "secrets", "Secret", true),
    ("api/v1", "services", "Service", true),
    ("api/v1", "serviceaccounts", "ServiceAccount", true),
    ("api/v1", "pods", "Pod", true),
    ("api/v1", "events", "Event", true),
    ("api/v1", "namespaces", "Namespace", false),
    ("apis/apps/v1", "deployments", "Deployment", true),
    ("apis/apps/v1", "replicasets", "ReplicaSet", true),
    ("apis/rbac.authorization.k8s.io/v1", "roles", "Role", true),
    (
        "apis/rbac.authorization.k8s.io/v1",
        "rolebindings",
        "RoleBinding",
        true,
    ),
];

const GROUPS: [&str; 2] = ["apps/v1", "rbac.authorization.k8s.io/v1"];

/// The discovery document for `path`, if it is one.
fn discovery(path: &str) -> Option<Value> {
    let path = path.trim_matches('/');
    match path {
        "api" => Some(
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
        ),
        "apis" => Some(json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": GROUPS.iter().map(|gv| {
                let (group, version) = gv.split_once('/').unwrap_or((gv, ""));
                let preferred = json!({"groupVersion": gv, "version": version});
                json!({"name": group, "versions": [preferred.clone()], "preferredVersion": preferred})
            }).collect::<Vec<_>>(),
        })),
        _ => {
            let resources: Vec<Value> = RESOURCES
                .iter()
                .filter(|(at, ..)| *at == path)
                .map(|(_, name, kind, namespaced)| {
                    json!({
                        "name": name, "singularName": "", "namespaced": namespaced, "kind": kind,
                        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                    })
                })
                .collect();
            let group_version = path
                .strip_prefix("api/")
                .or_else(|| path.strip_prefix("apis/"))?;
            (!resources.is_empty()).then(|| {
                json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
            })
        }
    }
}

/// Serves the front on a free loopback port until the process ends; returns its URL.
pub(crate) async fn start(upstream: SocketAddr) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(move |request| answer(request, upstream));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

async fn answer(
    request: Request<Incoming>,
    upstream: SocketAddr,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() == Method::GET
        && let Some(document) = discovery(request.uri().path())
    {
        return Ok(Response::builder()
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(document.to_string())))
            .unwrap());
    }
    Ok(forward(request, upstream).await.unwrap_or_else(|err| {
        Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Full::new(Bytes::from(err)))
            .unwrap()
    }))
}

async fn forward(
    request: Request<Incoming>,
    upstream: SocketAddr,
) -> Result<Response<Full<Bytes>>, String> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    let stream = TcpStream::connect(upstream)
        .await
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let response = sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}
