//! The cluster an acceptance test runs against, chosen by the project rule: a real control
//! plane ([`Envtest`]) when `KUBEBUILDER_ASSETS` names a folder holding `kube-apiserver` and
//! `etcd`, otherwise the in-process [`KubeDouble`]. Tests steer and inspect either through the
//! same control calls.
//!
//! On a real cluster the control calls go over HTTP (see `envtest/control.rs` for exactly what
//! each sends); on the double they go straight to its handlers, as before. The request log
//! exists only on the double: [`Cluster::requests`] and [`Cluster::writes`] answer `None` on a
//! real cluster, so a test skips just that assertion there.
//!
//! Leaves out choosing per test: one environment variable decides for the whole run.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::envtest::control::scale_patch;
use super::envtest::{APISERVER, ETCD, Envtest};
use super::kube_double::KubeDouble;

/// The environment variable naming envtest's binaries (the envtest convention).
pub const ASSETS_ENV: &str = "KUBEBUILDER_ASSETS";

/// Which cluster to run against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The in-process double.
    Double,
    /// A real control plane from the binaries in this folder.
    Real(PathBuf),
}

/// The project rule: `assets` unset or empty → the double; a folder holding both
/// `kube-apiserver` and `etcd` (as `is_file` sees it) → real; anything else is an error naming
/// what is missing, since a run that asked for a real cluster must not quietly use the double.
pub fn choose_backend(
    assets: Option<&OsStr>,
    is_file: impl Fn(&Path) -> bool,
) -> Result<Backend, String> {
    let Some(dir) = assets.filter(|a| !a.is_empty()) else {
        return Ok(Backend::Double);
    };
    let dir = PathBuf::from(dir);
    let missing: Vec<&str> = [APISERVER, ETCD]
        .into_iter()
        .filter(|b| !is_file(&dir.join(b)))
        .collect();
    if missing.is_empty() {
        Ok(Backend::Real(dir))
    } else {
        Err(format!(
            "{ASSETS_ENV}={} but {} not there; point it at a folder with kube-apiserver and etcd \
             (e.g. `setup-envtest use -p path`), or unset it to use the in-process double",
            dir.display(),
            missing.join(" and ")
        ))
    }
}

/// A running cluster, real or double; dropping it stops it.
#[derive(Debug)]
pub enum Cluster {
    /// The in-process double, on its own thread.
    Double(KubeDouble),
    /// A real control plane (boxed: it is much larger than the double's handle).
    Real(Box<Envtest>),
}

impl Cluster {
    /// Starts the cluster `KUBEBUILDER_ASSETS` asks for; panics when it names an incomplete
    /// folder.
    pub fn start() -> Cluster {
        let assets = std::env::var_os(ASSETS_ENV);
        match choose_backend(assets.as_deref(), Path::is_file) {
            Ok(backend) => Cluster::start_backend(&backend),
            Err(message) => panic!("{message}"),
        }
    }

    /// Starts the given backend.
    pub fn start_backend(backend: &Backend) -> Cluster {
        match backend {
            Backend::Double => Cluster::Double(KubeDouble::start_background()),
            Backend::Real(dir) => Cluster::Real(Box::new(Envtest::start(dir))),
        }
    }

    /// Whether this is a real control plane.
    pub fn is_real(&self) -> bool {
        matches!(self, Cluster::Real(_))
    }

    /// Creates a namespace (an existing one is fine on a real cluster).
    pub fn create_namespace(&self, ns: &str) {
        match self {
            Cluster::Double(d) => d.create_namespace(ns),
            Cluster::Real(r) => r.client().create_namespace(ns),
        }
    }

    /// Writes `dir/kubeconfig` for this cluster and returns its path.
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        match self {
            Cluster::Double(d) => d.write_kubeconfig(dir),
            Cluster::Real(r) => r.write_kubeconfig(dir),
        }
    }

    /// What a GET of `api_path` (object or list, query allowed) returns, or `None` unless 200.
    pub fn get(&self, api_path: &str) -> Option<Value> {
        match self {
            Cluster::Double(d) => d.get(api_path),
            Cluster::Real(r) => r.client().get(api_path),
        }
    }

    /// Server-side apply of `body` by `manager`: the object, or the failure `Status`.
    pub fn apply_as(
        &self,
        manager: &str,
        api_path: &str,
        body: &Value,
        force: bool,
    ) -> Result<Value, Value> {
        match self {
            Cluster::Double(d) => d.apply_as(manager, api_path, body, force),
            Cluster::Real(r) => r.client().apply_as(manager, api_path, body, force),
        }
    }

    /// An Update-operation edit by `manager` (like `kubectl edit`): `mutate` changes the
    /// object; `manager` ends up owning what changed.
    pub fn update_as(
        &self,
        manager: &str,
        api_path: &str,
        mutate: impl FnOnce(&mut Value),
    ) -> Result<Value, Value> {
        match self {
            Cluster::Double(d) => d.update_as(manager, api_path, mutate),
            Cluster::Real(r) => r.client().update_as(manager, api_path, mutate),
        }
    }

    /// What `kubectl rollout restart deployment/NAME -n NS` does.
    pub fn rollout_restart(&self, ns: &str, name: &str) -> Result<Value, Value> {
        match self {
            Cluster::Double(d) => d.rollout_restart(ns, name),
            Cluster::Real(r) => r.client().rollout_restart(ns, name),
        }
    }

    /// What `kubectl scale deployment/NAME -n NS --replicas=N` does: a JSON merge patch of the
    /// Deployment's `/scale` subresource by manager `kubectl` (`control::scale_patch`), through
    /// the double's `/scale` handler or over HTTP. The `Scale`, or the failure `Status`.
    pub fn scale(&self, ns: &str, name: &str, replicas: i64) -> Result<Value, Value> {
        match self {
            Cluster::Double(d) => {
                let (target, patch) = scale_patch(ns, name, replicas);
                match d.request(
                    "PATCH",
                    &target,
                    "application/merge-patch+json",
                    Some(&patch),
                ) {
                    (200, scale) => Ok(scale),
                    (_, status) => Err(status),
                }
            }
            Cluster::Real(r) => r.client().scale(ns, name, replicas),
        }
    }

    /// DELETE of `api_path` (object, or collection with a query).
    pub fn delete(&self, api_path: &str) -> Result<Value, Value> {
        match self {
            Cluster::Double(d) => d.delete(api_path),
            Cluster::Real(r) => r.client().delete(api_path),
        }
    }

    /// Creates a running, ready pod (say, a Spark driver) with `labels`; returns it.
    pub fn create_pod(&self, ns: &str, name: &str, labels: &[(&str, &str)]) -> Value {
        match self {
            Cluster::Double(d) => d.create_pod(ns, name, labels),
            Cluster::Real(r) => r.create_pod(ns, name, labels),
        }
    }

    /// `(kind, namespace, name)` of every object konoha's kinds hold whose labels match
    /// `selector`. On a real cluster, pods of a deleted Deployment linger until the garbage
    /// collector gets to them: poll with [`Cluster::poll_until`] when that matters.
    pub fn objects_with_label(&self, selector: &str) -> Vec<(String, String, String)> {
        match self {
            Cluster::Double(d) => d.objects_with_label(selector),
            Cluster::Real(r) => r.client().objects_with_label(selector),
        }
    }

    /// Makes the pods of Deployment `ns/name` never become ready (or ready again).
    pub fn set_never_ready(&self, ns: &str, name: &str, never: bool) {
        match self {
            Cluster::Double(d) => d.set_never_ready(ns, name, never),
            Cluster::Real(r) => r.set_never_ready(ns, name, never),
        }
    }

    /// The double, for what only it can do (injected faults); `None` on a real cluster.
    pub fn double(&self) -> Option<&KubeDouble> {
        match self {
            Cluster::Double(d) => Some(d),
            Cluster::Real(_) => None,
        }
    }

    /// Every request so far as `(method, path?query)`; `None` on a real cluster (no log).
    pub fn requests(&self) -> Option<Vec<(String, String)>> {
        match self {
            Cluster::Double(d) => Some(d.requests()),
            Cluster::Real(_) => None,
        }
    }

    /// The requests that could change something; `None` on a real cluster.
    pub fn writes(&self) -> Option<Vec<(String, String)>> {
        match self {
            Cluster::Double(d) => Some(d.writes()),
            Cluster::Real(_) => None,
        }
    }

    /// On the double, accepts only `token` from now on and returns the API server's URL, for a
    /// provider configured with `host` and `token`; `None` on a real cluster, whose tokens are
    /// its own.
    pub fn use_bearer_token(&self, token: &str) -> Option<String> {
        match self {
            Cluster::Double(d) => {
                d.set_token(token);
                Some(d.url())
            }
            Cluster::Real(_) => None,
        }
    }

    /// Empties the request log (nothing to do on a real cluster).
    pub fn clear_requests(&self) {
        if let Cluster::Double(d) = self {
            d.clear_requests();
        }
    }

    /// Polls `done` every 50 ms until it holds or `timeout` passes; true if it held.
    pub fn poll_until(&self, timeout: Duration, mut done: impl FnMut(&Cluster) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
