//! A real Kubernetes control plane for tests, started from envtest's binaries (the folder
//! `KUBEBUILDER_ASSETS` names): `etcd` and `kube-apiserver`, plus `kube-controller-manager`
//! when the folder has it.
//!
//! What is real: etcd and the API server: storage, validation, defaulting, server-side apply,
//! field managers and conflicts, resourceVersion and generation, status subresources, label
//! and field selectors, RBAC (the token is in `system:masters`), the default admission plugins
//! but ServiceAccount (as in envtest: nothing creates the `default` ServiceAccount), deletion
//! and its propagation options. With `kube-controller-manager` also the Deployment, ReplicaSet,
//! garbage-collector and namespace controllers: ReplicaSets, pods, rollout status and
//! conditions (`ProgressDeadlineExceeded` included), their events, cascading deletion.
//!
//! What is stood in (`envtest/standin.rs`): there is never a scheduler, kubelet or node, so
//! pods stay unscheduled and a deleted pod goes at once. With the controller manager a kubelet
//! stand-in marks pods Ready (no kubelet events). Without it a Deployment-controller stand-in
//! writes Deployment status, and there are no ReplicaSets, no Deployment pods, no controller
//! events and no cascading deletion. Either way pods never become ready when an image contains
//! `broken` or after [`Envtest::set_never_ready`] (pods already Ready stay so), as with the
//! double; bare pods from [`Envtest::create_pod`] get the kubelet's status written directly.
//!
//! Leaves out TLS to etcd, client certificates, the scheduler, aggregated APIs and webhooks.
//! Processes are killed on drop; a test process killed by a signal leaves them behind.

// Each test binary uses part of the API.
#![allow(dead_code)]

pub mod config;
pub mod control;
pub mod http;
pub mod pki;
pub mod standin;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use config::{
    ApiserverFlags, Layout, apiserver_args, controller_manager_args, etcd_args, kubeconfig_text,
    token_file_line,
};
use http::ApiClient;
use pki::Pki;
use standin::{NeverReady, Role, StandIn};

/// The binaries envtest needs, and the optional one.
pub const ETCD: &str = "etcd";
/// The API server binary.
pub const APISERVER: &str = "kube-apiserver";
/// Optional: with it, the real Deployment controllers run.
pub const CONTROLLER_MANAGER: &str = "kube-controller-manager";

/// How long etcd and the API server may take to report ready.
const START_DEADLINE: Duration = Duration::from_secs(90);
/// Pause between readiness polls.
const POLL: Duration = Duration::from_millis(50);
/// A free port may be taken by someone else before the process binds it; a process that exits
/// during start-up is retried with fresh ports this many times in all.
const START_ATTEMPTS: usize = 3;

/// Runs `binary --help` once per binary and process; whether it mentions `--flag`.
fn supports_flag(binary: &Path, flag: &str) -> bool {
    static HELP: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);
    let mut cache = HELP.lock().unwrap_or_else(PoisonError::into_inner);
    let help = cache
        .get_or_insert_with(HashMap::new)
        .entry(binary.to_owned())
        .or_insert_with(|| match Command::new(binary).arg("--help").output() {
            Ok(out) => {
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr)
            }
            Err(e) => panic!("envtest: cannot run {} --help: {e}", binary.display()),
        });
    help.contains(&format!("--{flag}"))
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("envtest: cannot bind 127.0.0.1:0: {e}"))
}

/// Three distinct free ports.
fn free_ports() -> [u16; 3] {
    loop {
        let ports = [free_port(), free_port(), free_port()];
        if ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2] {
            return ports;
        }
    }
}

/// A token nobody can guess within a test's lifetime, without a rand dependency.
fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut parts = [0u64; 2];
    for (i, part) in parts.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u32(std::process::id());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        h.write_u128(nanos);
        *part = h.finish();
    }
    format!("envtest-{:016x}{:016x}", parts[0], parts[1])
}

/// The started processes, killed in reverse order when dropped (also during a panic).
#[derive(Debug, Default)]
struct Processes(Vec<(String, Child, PathBuf)>);

impl Processes {
    fn spawn(&mut self, binary: &Path, args: &[String], log: PathBuf) {
        let name = binary
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let out = File::create(&log)
            .unwrap_or_else(|e| panic!("envtest: cannot create {}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("envtest: cannot share {}: {e}", log.display()));
        let child = Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("envtest: cannot start {}: {e}", binary.display()));
        self.0.push((name, child, log));
    }

    /// The first process that has exited, with its status.
    fn exited(&mut self) -> Option<String> {
        self.0
            .iter_mut()
            .find_map(|(name, child, _)| match child.try_wait() {
                Ok(Some(status)) => Some(format!("{name} exited ({status})")),
                _ => None,
            })
    }

    /// The tail of every process's log, for failure messages.
    fn logs(&self) -> String {
        self.0
            .iter()
            .map(|(name, _, log)| {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(40)..].join("\n");
                format!("--- {name} ({}):\n{tail}", log.display())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, child, _) in self.0.iter_mut().rev() {
            // Already gone is fine; all that matters is that nothing is left running.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How a start-up wait ended when it did not succeed.
enum NotReady {
    /// A process exited; worth retrying with fresh ports.
    Exited(String),
    /// The deadline passed.
    Timeout,
}

/// Polls `ready` until it holds, a process exits, or [`START_DEADLINE`] passes.
fn wait_until(procs: &mut Processes, mut ready: impl FnMut() -> bool) -> Result<(), NotReady> {
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if ready() {
            return Ok(());
        }
        if let Some(exit) = procs.exited() {
            return Err(NotReady::Exited(exit));
        }
        if Instant::now() >= deadline {
            return Err(NotReady::Timeout);
        }
        std::thread::sleep(POLL);
    }
}

/// A running control plane. Dropping it stops the stand-in and kills the processes.
pub struct Envtest {
    // Field order is drop order: stand-in first (it talks to the API server), processes next,
    // the temp dir last.
    standin: StandIn,
    procs: Processes,
    client: ApiClient,
    layout: Layout,
    ca_pem: String,
    token: String,
    never_ready: NeverReady,
    dir: tempfile::TempDir,
}

impl fmt::Debug for Envtest {
    // No token in test output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envtest")
            .field("layout", &self.layout)
            .field("standin", &self.standin.role)
            .finish_non_exhaustive()
    }
}

impl Envtest {
    /// Starts etcd, kube-apiserver and (if present) kube-controller-manager from `assets`,
    /// waits until the API server is ready, and starts the matching stand-in. Panics with the
    /// processes' logs when it cannot.
    pub fn start(assets: &Path) -> Envtest {
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(assets) {
                Ok(envtest) => return envtest,
                Err(failure) => last = failure,
            }
        }
        panic!("envtest: the control plane did not start after {START_ATTEMPTS} attempts:\n{last}");
    }

    /// One attempt: `Err` with the logs when a process exited during start-up (most likely a
    /// port taken meanwhile); a deadline passing is a panic, since retrying will not help.
    fn try_start(assets: &Path) -> Result<Envtest, String> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("envtest: temp dir: {e}"));
        let [etcd_port, etcd_peer_port, api_port] = free_ports();
        let layout = Layout {
            dir: dir.path().to_owned(),
            etcd_port,
            etcd_peer_port,
            api_port,
        };
        let pki = Pki::generate();
        let files = pki.write(&layout.dir);
        let token = random_token();
        std::fs::write(layout.token_file(), token_file_line(&token))
            .unwrap_or_else(|e| panic!("envtest: writing the token file: {e}"));
        let kubeconfig = kubeconfig_text(&layout.api_url(), &pki.ca_pem, &token);
        std::fs::write(layout.kubeconfig(), kubeconfig)
            .unwrap_or_else(|e| panic!("envtest: writing the kubeconfig: {e}"));

        let mut procs = Processes::default();
        let etcd = assets.join(ETCD);
        let etcd_flags = etcd_args(&layout, supports_flag(&etcd, "unsafe-no-fsync"));
        procs.spawn(&etcd, &etcd_flags, layout.dir.join("etcd.log"));
        let health = ApiClient::new(&layout.etcd_url(), "", None);
        let etcd_up = || {
            health
                .send("GET", "/health", None, None)
                .is_ok_and(|r| r.status == 200)
        };
        Self::waited(&mut procs, etcd_up, "etcd /health")?;

        let apiserver = assets.join(APISERVER);
        let supported = ApiserverFlags {
            insecure_port: supports_flag(&apiserver, "insecure-port"),
            storage_shards: supports_flag(&apiserver, "initial-storage-shards"),
        };
        let api_flags = apiserver_args(&layout, &files, supported);
        procs.spawn(
            &apiserver,
            &api_flags,
            layout.dir.join("kube-apiserver.log"),
        );
        let client = ApiClient::new(&layout.api_url(), &token, Some(&pki.ca_pem));
        let api_up = || {
            client
                .send("GET", "/readyz", None, None)
                .is_ok_and(|r| r.status == 200)
        };
        Self::waited(&mut procs, api_up, "kube-apiserver /readyz")?;

        let controller_manager = assets.join(CONTROLLER_MANAGER);
        let role = if controller_manager.is_file() {
            let flags = controller_manager_args(&layout, &files);
            let log = layout.dir.join("kube-controller-manager.log");
            procs.spawn(&controller_manager, &flags, log);
            Role::Kubelet
        } else {
            Role::DeploymentController
        };
        let never_ready: NeverReady = Arc::new(Mutex::new(BTreeSet::new()));
        let standin = StandIn::spawn(role, client.clone(), never_ready.clone());
        Ok(Envtest {
            standin,
            procs,
            client,
            layout,
            ca_pem: pki.ca_pem,
            token,
            never_ready,
            dir,
        })
    }

    fn waited(
        procs: &mut Processes,
        ready: impl FnMut() -> bool,
        what: &str,
    ) -> Result<(), String> {
        match wait_until(procs, ready) {
            Ok(()) => Ok(()),
            Err(NotReady::Exited(exit)) => Err(format!("{exit}\n{}", procs.logs())),
            Err(NotReady::Timeout) => panic!(
                "envtest: {what} not ready within {START_DEADLINE:?}\n{}",
                procs.logs()
            ),
        }
    }

    /// The API server URL, `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// A client with the admin token, trusting the control plane's CA.
    pub fn client(&self) -> &ApiClient {
        &self.client
    }

    /// The files and ports of this control plane.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Which stand-in runs (and so whether the real controllers do).
    pub fn standin_role(&self) -> Role {
        self.standin.role
    }

    /// The CA certificate (PEM) the API server's certificate chains to.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Writes `dir/kubeconfig` (server, CA data and admin token) and returns its path.
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            kubeconfig_text(self.url(), &self.ca_pem, &self.token),
        )
        .unwrap_or_else(|e| panic!("envtest: cannot write {}: {e}", path.display()));
        path
    }

    /// Creates a running, ready bare pod with `labels` (as Spark would, with the kubelet's
    /// status written by hand); returns it.
    pub fn create_pod(&self, ns: &str, name: &str, labels: &[(&str, &str)]) -> Value {
        let pod = self.client.create_pod(ns, name, labels);
        self.client
            .set_pod_ready(&pod)
            .unwrap_or_else(|status| panic!("envtest: marking {ns}/{name} ready: {status}"))
    }

    /// Makes the pods of Deployment `ns/name` never become ready (or ready again).
    pub fn set_never_ready(&self, ns: &str, name: &str, never: bool) {
        let key = (ns.to_owned(), name.to_owned());
        let mut set = self
            .never_ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if never {
            set.insert(key);
        } else {
            set.remove(&key);
        }
    }

    /// The tail of each process's log.
    pub fn logs(&self) -> String {
        self.procs.logs()
    }
}
