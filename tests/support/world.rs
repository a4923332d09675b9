//! The set-up the Kyuubi acceptance and fault tests share: a cluster with a `kyuubi` namespace
//! and a kubeconfig for it, an OpenBao (optionally behind a [`FaultProxy`]), a konoha provider
//! Terraform can reach, and a working dir, plus the Terraform steps they all repeat (`apply`,
//! `state list`, converge, destroy).
//!
//! Start at [`World::start`] for the common case, or [`World::builder`] for a test that needs
//! the API double, a fault proxy or the provider as its own process.
//!
//! Left out: what a test checks and how it breaks things. Fault rules, kills and each file's
//! own configuration text stay in the test files.

use std::path::PathBuf;

use super::cluster::{Backend, Cluster};
use super::fault_proxy::FaultProxy;
use super::hcl;
use super::kube_double::KubeDouble;
use super::openbao::OpenBao;
use super::provider::InProcessProvider;
use super::terraform::{Output, ProviderHookup, TestCase, Workdir};

/// The label every object of the server `kyuubi-dbt` carries.
const SERVER_SELECTOR: &str = "app.kubernetes.io/instance=kyuubi-dbt";

/// One test's cluster, Vault and provider, wired together; dropping it stops them all.
pub struct World {
    /// A fresh working dir on this world's provider. Tests that drive Terraform step by step
    /// use it; [`World::case`] makes its own.
    pub work: Workdir,
    /// The cluster, real or the double as `KUBEBUILDER_ASSETS` or the builder chose.
    pub cluster: Cluster,
    /// The OpenBao behind the provider, for out-of-band reads and writes.
    pub bao: OpenBao,
    /// The kubeconfig [`World::provider_header`] points the provider at.
    kubeconfig: PathBuf,
    proxy: Option<FaultProxy>,
    hookup: ProviderHookup,
    // Kept only so the provider keeps serving (and the kubeconfig's dir exists) until drop.
    _provider: Option<InProcessProvider>,
    _dir: tempfile::TempDir,
}

/// How a [`World`] is put together. The default is [`World::start`]'s: the cluster
/// `KUBEBUILDER_ASSETS` chooses, OpenBao reached directly, the provider in-process.
#[derive(Debug, Default)]
#[must_use]
pub struct WorldBuilder {
    backend: Option<Backend>,
    fault_proxy: bool,
    cargo_binary: bool,
}

impl WorldBuilder {
    /// Runs on `backend` whatever `KUBEBUILDER_ASSETS` says: only the double can fail chosen
    /// requests or hold an answer back.
    pub fn backend(mut self, backend: Backend) -> WorldBuilder {
        self.backend = Some(backend);
        self
    }

    /// Puts a [`FaultProxy`] in front of OpenBao, and the provider reaches Vault through it, so
    /// a test can make Vault fail at a chosen request.
    pub fn fault_proxy(mut self) -> WorldBuilder {
        self.fault_proxy = true;
        self
    }

    /// Terraform starts the cargo-built provider binary rather than attaching to one in this
    /// process: for tests that kill the provider, which must not take the test with it.
    pub fn cargo_binary(mut self) -> WorldBuilder {
        self.cargo_binary = true;
        self
    }

    /// Starts everything; panics on broken set-up, as the support modules do.
    pub fn start(self) -> World {
        let cluster = match &self.backend {
            Some(backend) => Cluster::start_backend(backend),
            None => Cluster::start(),
        };
        cluster.create_namespace("kyuubi");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = cluster.write_kubeconfig(dir.path());
        let bao = OpenBao::start();
        let proxy = self.fault_proxy.then(|| FaultProxy::start(&bao.addr));
        let (provider, hookup) = if self.cargo_binary {
            (None, ProviderHookup::cargo_binary())
        } else {
            let provider = InProcessProvider::start();
            let hookup = provider.hookup();
            (Some(provider), hookup)
        };
        World {
            work: Workdir::new(&hookup).unwrap(),
            cluster,
            bao,
            kubeconfig,
            proxy,
            hookup,
            _provider: provider,
            _dir: dir,
        }
    }
}

impl World {
    /// The common world: the cluster `KUBEBUILDER_ASSETS` chooses, OpenBao reached directly,
    /// and the provider served in this process.
    pub fn start() -> World {
        World::builder().start()
    }

    /// A world other than the common one; see [`WorldBuilder`]'s setters.
    pub fn builder() -> WorldBuilder {
        WorldBuilder::default()
    }

    /// The API double, for fault injection and its request log.
    ///
    /// # Panics
    ///
    /// On a real control plane: such a test must start with `.backend(Backend::Double)`.
    pub fn double(&self) -> &KubeDouble {
        self.cluster.double().expect(
            "this test needs the API double: build its world with .backend(Backend::Double)",
        )
    }

    /// The proxy in front of OpenBao.
    ///
    /// # Panics
    ///
    /// When the world was built without [`WorldBuilder::fault_proxy`].
    pub fn proxy(&self) -> &FaultProxy {
        self.proxy
            .as_ref()
            .expect("this test needs the fault proxy: build its world with .fault_proxy()")
    }

    /// A terraform-plugin-testing style case on this world's provider, in its own working dir.
    pub fn case(&self) -> TestCase<'_> {
        TestCase::new(self.hookup.clone())
    }

    /// The `terraform` and `provider "konoha"` blocks for this world: Vault through the proxy
    /// when there is one, the cluster through a kubeconfig for [`World::cluster`].
    pub fn provider_header(&self) -> String {
        let vault_addr = match &self.proxy {
            Some(proxy) => proxy.url(),
            None => self.bao.addr.clone(),
        };
        hcl::provider_header(&vault_addr, &self.bao.token, &self.kubeconfig)
    }

    /// Writes the provider blocks and [`hcl::profile_and_server`] into [`World::work`].
    pub fn set_profile_and_server(&self, executor_instances: u32, server_body: &str) {
        let config =
            self.provider_header() + &hcl::profile_and_server(executor_instances, server_body);
        self.work.set_config(&config).unwrap();
    }

    /// `terraform apply -auto-approve` in [`World::work`]; a failure is the test's to judge.
    pub fn apply(&self) -> Output {
        self.work
            .terraform(["apply", "-auto-approve", "-no-color", "-input=false"])
    }

    /// The resource addresses in [`World::work`]'s state, sorted as `terraform state list`
    /// prints them.
    pub fn state_list(&self) -> Vec<String> {
        let out = self.work.terraform(["state", "list"]);
        out.stdout.lines().map(str::to_owned).collect()
    }

    /// Applies the configuration as it is and asserts that the plan after it is empty: what
    /// every fault test expects once the fault is gone.
    pub fn converge(&self) {
        let out = self.apply();
        assert!(out.success(), "the re-apply failed: {}", out.stderr);
        let plan = self
            .work
            .terraform(["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
        assert_eq!(
            plan.code,
            Some(0),
            "not converged: {}{}",
            plan.stdout,
            plan.stderr
        );
    }

    /// Ends every fault (the double's injected answers, the proxy's rules), so that what runs
    /// next is not under test.
    pub fn heal(&self) {
        if let Some(double) = self.cluster.double() {
            double.clear_faults();
        }
        if let Some(proxy) = &self.proxy {
            proxy.heal();
        }
    }

    /// Heals, then destroys everything in [`World::work`] and asserts that it succeeded.
    pub fn destroy(&self) {
        self.heal();
        let out = self
            .work
            .terraform(["destroy", "-auto-approve", "-no-color"]);
        assert!(out.success(), "destroy failed: {}", out.stderr);
    }

    /// The objects of the server `kyuubi-dbt` in the cluster, as `(kind, namespace, name)`.
    pub fn server_objects(&self) -> Vec<(String, String, String)> {
        self.cluster.objects_with_label(SERVER_SELECTOR)
    }
}
