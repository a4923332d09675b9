//! The command lines and files of a test control plane, as pure functions of its [`Layout`]:
//! the flags of etcd, kube-apiserver and kube-controller-manager (envtest's, with a static
//! token file instead of client certificates), the token file and the kubeconfig.
//!
//! Leaves out starting anything: that is `envtest.rs`.

use std::path::{Path, PathBuf};

use base64::Engine;

use super::pki::PkiFiles;

/// The user the token file defines, in group `system:masters` (RBAC lets it do anything).
pub const ADMIN_USER: &str = "konoha-admin";

/// Where one control plane keeps its files and which loopback ports it listens on.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The control plane's temp dir.
    pub dir: PathBuf,
    /// etcd client port.
    pub etcd_port: u16,
    /// etcd peer port (unused by anyone, but it must not collide).
    pub etcd_peer_port: u16,
    /// API server secure port.
    pub api_port: u16,
}

impl Layout {
    /// `http://127.0.0.1:<etcd_port>`.
    pub fn etcd_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.etcd_port)
    }

    /// `https://127.0.0.1:<api_port>`.
    pub fn api_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.api_port)
    }

    /// The static token file.
    pub fn token_file(&self) -> PathBuf {
        self.dir.join("tokens.csv")
    }

    /// The admin kubeconfig the controller manager uses.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }
}

/// etcd's flags: one member on loopback, data in the temp dir; `no_fsync` when the binary
/// knows `--unsafe-no-fsync` (3.5+), which makes it much faster and is fine for throwaway data.
pub fn etcd_args(l: &Layout, no_fsync: bool) -> Vec<String> {
    let client = l.etcd_url();
    let peer = format!("http://127.0.0.1:{}", l.etcd_peer_port);
    let mut args = vec![
        "--name=envtest".to_owned(),
        format!("--data-dir={}", l.dir.join("etcd").display()),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=envtest={peer}"),
    ];
    if no_fsync {
        args.push("--unsafe-no-fsync=true".to_owned());
    }
    args
}

/// Flags a given kube-apiserver build may or may not have, found from its `--help`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiserverFlags {
    /// `--insecure-port` (before 1.24): set to 0.
    pub insecure_port: bool,
    /// `--initial-storage-shards`: a build whose pod storage is sharded by node (the
    /// `ste-kubernetes` tree docs/TESTING.md builds). Without a shard it panics creating any
    /// pod with a generated name (`rand.Intn(0)`), so no ReplicaSet ever gets a pod; our one
    /// etcd is then named as the only shard.
    pub storage_shards: bool,
}

/// The API server's feature gates that keep lists and watches on etcd (see [`apiserver_args`]).
pub const LIST_FROM_ETCD_GATES: &str = "ConsistentListFromCache=false,WatchList=false";

/// kube-apiserver's flags, as envtest sets them but with our own serving certificate and a
/// static token file instead of generated client certificates, and those `flags` the binary
/// has.
pub fn apiserver_args(l: &Layout, files: &PkiFiles, flags: ApiserverFlags) -> Vec<String> {
    let path = |p: &Path| p.display().to_string();
    let mut args = vec![
        format!("--etcd-servers={}", l.etcd_url()),
        format!("--secure-port={}", l.api_port),
        "--bind-address=127.0.0.1".to_owned(),
        "--advertise-address=127.0.0.1".to_owned(),
        format!("--cert-dir={}", path(&l.dir)),
        format!("--tls-cert-file={}", path(&files.serving_cert)),
        format!("--tls-private-key-file={}", path(&files.serving_key)),
        format!("--client-ca-file={}", path(&files.ca)),
        "--service-cluster-ip-range=10.0.0.0/24".to_owned(),
        format!("--service-account-issuer={}/", l.api_url()),
        format!("--service-account-key-file={}", path(&files.sa_pub)),
        format!("--service-account-signing-key-file={}", path(&files.sa_key)),
        "--authorization-mode=RBAC".to_owned(),
        format!("--token-auth-file={}", path(&l.token_file())),
        "--allow-privileged=true".to_owned(),
        // No controller creates the `default` ServiceAccount, so pods would be refused.
        "--disable-admission-plugins=ServiceAccount".to_owned(),
        // Lists served from the watch cache, and watch-list streams, need etcd's watch progress
        // requests, which Debian's etcd 3.4 lacks: with them on, the controller manager's
        // Deployment and ReplicaSet caches never sync and nothing rolls out. Both are plain
        // list-and-watch without them, as before 1.31.
        format!("--feature-gates={LIST_FROM_ETCD_GATES}"),
    ];
    if flags.insecure_port {
        args.push("--insecure-port=0".to_owned());
    }
    if flags.storage_shards {
        args.push(format!("--initial-storage-shards={}", l.etcd_url()));
    }
    args
}

/// kube-controller-manager's flags: only the controllers rollouts and deletes need, no leader
/// election, no serving port (so parallel control planes cannot collide on 10257).
pub fn controller_manager_args(l: &Layout, files: &PkiFiles) -> Vec<String> {
    vec![
        format!("--kubeconfig={}", l.kubeconfig().display()),
        "--controllers=deployment,replicaset,garbagecollector,namespace".to_owned(),
        "--leader-elect=false".to_owned(),
        "--secure-port=0".to_owned(),
        "--use-service-account-credentials=false".to_owned(),
        // The client side of the API server's gates above: informers list and watch.
        "--feature-gates=WatchListClient=false".to_owned(),
        format!(
            "--service-account-private-key-file={}",
            files.sa_key.display()
        ),
    ]
}

/// The token file line: token, user, uid, groups.
pub fn token_file_line(token: &str) -> String {
    format!("{token},{ADMIN_USER},{ADMIN_USER},\"system:masters\"\n")
}

/// A kubeconfig for `server` trusting `ca_pem` and sending `token`; cluster, user and context
/// are all named `envtest`, namespace `default`.
pub fn kubeconfig_text(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: envtest\n  cluster:\n    server: {server}\n    \
         certificate-authority-data: {ca}\ncontexts:\n- name: envtest\n  context:\n    cluster: envtest\n    \
         user: envtest\n    namespace: default\ncurrent-context: envtest\nusers:\n- name: envtest\n  user:\n    \
         token: {token}\npreferences: {{}}\n"
    )
}
