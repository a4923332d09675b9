//! `Envtest::start` and drop with fake control-plane binaries: python3 scripts that stand where
//! envtest's `etcd`, `kube-apiserver` and `kube-controller-manager` would, record the flags
//! they get, check what they can (the data dir, the token file's group, that etcd answers
//! before the API server starts), and serve what start-up polls: etcd's `/health` over HTTP and
//! the API server's `/readyz` over TLS with the generated certificate, for the token only.
//!
//! This proves the launcher's plumbing (ports, files, flags, readiness, retries, teardown),
//! not that real binaries accept these flags; python3 is already needed by `make test`.

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::cluster::{Backend, Cluster};
use crate::support::envtest::Envtest;
use crate::support::envtest::config::{
    ApiserverFlags, apiserver_args, controller_manager_args, etcd_args,
};
use crate::support::envtest::pki::PkiFiles;
use crate::support::envtest::standin::Role;

const PREAMBLE: &str = r#"#!/usr/bin/env python3
import json, os, ssl, sys, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
def record(path):
    with open(path + ".tmp", "w") as f:
        json.dump(sys.argv[1:], f)
    os.rename(path + ".tmp", path)
class Handler(BaseHTTPRequestHandler):
    routes = {}
    token = None
    def do_GET(self):
        if self.token and self.headers.get("Authorization") != "Bearer " + self.token:
            return self.reply(401, {"kind": "Status", "code": 401})
        found = self.routes.get(self.path)
        self.reply(200 if found is not None else 404, found if found is not None else {"code": 404})
    def reply(self, code, body):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
"#;

const ETCD: &str = r#"
if "--help" in sys.argv:
    print("Usage: etcd [flags]\n  --unsafe-no-fsync  Disables fsync, unsafe, will cause data loss.")
    sys.exit(0)
os.makedirs(args["data-dir"])
record(os.path.join(os.path.dirname(args["data-dir"]), "etcd.args.json"))
Handler.routes = {"/health": {"health": "true"}}
port = int(args["listen-client-urls"].rsplit(":", 1)[1])
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"#;

const APISERVER: &str = r#"
if "--help" in sys.argv:
    print("Usage of kube-apiserver:\n      --etcd-servers strings\n      --secure-port int")
    sys.exit(0)
record(os.path.join(args["cert-dir"], "kube-apiserver.args.json"))
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
direct.open(args["etcd-servers"] + "/health", timeout=5).read()
token, user, uid, groups = open(args["token-auth-file"]).read().strip().split(",", 3)
if "system:masters" not in groups:
    sys.exit(4)
Handler.token = token
Handler.routes = {"/readyz": "ok", "/api/v1/pods": {"items": []}, "/apis/apps/v1/deployments": {"items": []}}
server = ThreadingHTTPServer(("127.0.0.1", int(args["secure-port"])), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(args["tls-cert-file"], args["tls-private-key-file"])
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;

const CONTROLLER_MANAGER: &str = r#"
if "--help" in sys.argv:
    sys.exit(0)
record(os.path.join(os.path.dirname(args["kubeconfig"]), "kube-controller-manager.args.json"))
while True:
    time.sleep(1)
"#;

const FAILING_ETCD: &str = r#"
print("etcd: unknown flag --frobnicate", file=sys.stderr)
sys.exit(2)
"#;

fn fake(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("{PREAMBLE}{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn recorded(dir: &Path, name: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let path = dir.join(format!("{name}.args.json"));
    loop {
        if let Ok(text) = std::fs::read_to_string(&path) {
            return serde_json::from_str(&text).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn refuses(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_err()
}

#[test]
fn start_wires_etcd_and_the_apiserver_and_drop_stops_them() {
    let assets = tempfile::tempdir().unwrap();
    fake(assets.path(), "etcd", ETCD);
    fake(assets.path(), "kube-apiserver", APISERVER);
    let cluster = Cluster::start_backend(&Backend::Real(assets.path().to_owned()));
    assert!(cluster.is_real());
    assert_eq!(cluster.requests(), None);
    assert_eq!(cluster.writes(), None);
    let Cluster::Real(envtest) = &cluster else {
        unreachable!()
    };
    let layout = envtest.layout().clone();
    assert_eq!(envtest.standin_role(), Role::DeploymentController);
    assert_eq!(
        envtest.url(),
        format!("https://127.0.0.1:{}", layout.api_port)
    );

    // TLS with the generated CA, and the admin token, reach the server.
    let ready = envtest.client().call("GET", "/readyz", None, None);
    assert_eq!((ready.status, ready.body), (200, Value::from("ok")));

    let files = PkiFiles::in_dir(&layout.dir);
    assert_eq!(
        recorded(&layout.dir, "kube-apiserver"),
        apiserver_args(&layout, &files, ApiserverFlags::default())
    );
    assert_eq!(recorded(&layout.dir, "etcd"), etcd_args(&layout, true));

    let out = tempfile::tempdir().unwrap();
    let kubeconfig = std::fs::read_to_string(cluster.write_kubeconfig(out.path())).unwrap();
    assert!(kubeconfig.contains(&format!("server: {}", envtest.url())));
    assert_eq!(
        kubeconfig,
        std::fs::read_to_string(layout.kubeconfig()).unwrap()
    );

    assert!(!refuses(layout.api_port) && !refuses(layout.etcd_port));
    drop(cluster);
    assert!(refuses(layout.api_port), "kube-apiserver still listens");
    assert!(refuses(layout.etcd_port), "etcd still listens");
    assert!(!layout.dir.exists(), "the temp dir is removed");
}

#[test]
fn with_a_controller_manager_the_kubelet_stand_in_runs() {
    let assets = tempfile::tempdir().unwrap();
    fake(assets.path(), "etcd", ETCD);
    fake(assets.path(), "kube-apiserver", APISERVER);
    fake(assets.path(), "kube-controller-manager", CONTROLLER_MANAGER);
    let envtest = Envtest::start(assets.path());
    assert_eq!(envtest.standin_role(), Role::Kubelet);
    let layout = envtest.layout();
    let files = PkiFiles::in_dir(&layout.dir);
    assert_eq!(
        recorded(&layout.dir, "kube-controller-manager"),
        controller_manager_args(layout, &files)
    );
    let kubeconfig = std::fs::read_to_string(layout.kubeconfig()).unwrap();
    assert!(kubeconfig.contains(&format!("server: {}", envtest.url())));
}

#[test]
fn a_binary_that_exits_at_start_is_retried_then_reported_with_its_log() {
    let assets = tempfile::tempdir().unwrap();
    fake(assets.path(), "etcd", FAILING_ETCD);
    fake(assets.path(), "kube-apiserver", APISERVER);
    let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Envtest::start(assets.path())
    }));
    let message = match started {
        Ok(_) => panic!("start must fail when etcd exits"),
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default(),
    };
    assert!(message.contains("after 3 attempts"), "{message}");
    assert!(message.contains("etcd exited"), "{message}");
    assert!(message.contains("unknown flag --frobnicate"), "{message}");
}
