//! The configurations under `examples/` work as documented: each one validates (and is
//! `terraform fmt`-clean), `examples/two-servers` applies against a real OpenBao and the
//! in-process Kubernetes API double and renders a dbt profile naming both servers, and
//! `examples/quickstart` applies with no cluster (as `make demo` does) and with one.
//!
//! Each test copies an example into a fresh working dir and runs `terraform get` for its local
//! modules; `terraform init` is never run (see `support::terraform`). Left out: `make demo`
//! itself, and any Kubernetes behaviour beyond what `tests/kyuubi_server.rs` covers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use support::cluster::Cluster;
use support::openbao::OpenBao;
use support::provider::InProcessProvider;
use support::terraform::{ProviderHookup, Workdir};

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/kyuubi/deployments";
const USER_URL: &str = "jdbc:kyuubi://kyuubi-dbt.kyuubi.svc.cluster.local:10009/";
const SHARED_URL: &str = "jdbc:kyuubi://kyuubi-dbt-shared.kyuubi.svc.cluster.local:10010/";

fn examples_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Every directory directly under `examples/` that holds a Terraform file, sorted.
fn example_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(examples_root())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir() && has_tf_file(path))
        .collect();
    dirs.sort();
    dirs
}

fn has_tf_file(dir: &Path) -> bool {
    fs::read_dir(dir)
        .unwrap()
        .any(|entry| entry.unwrap().path().extension().is_some_and(|e| e == "tf"))
}

/// Copies the example's files (not a local `.terraform/` or state) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name_text = name.to_string_lossy();
        if name_text == ".terraform" || name_text.starts_with("terraform.tfstate") {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A working dir holding a copy of `examples/<name>` with its modules installed.
fn workdir_with_example(
    hookup: &ProviderHookup,
    example: &Path,
    env: &[(String, String)],
) -> Workdir {
    let work = Workdir::new(hookup).unwrap().with_env(env);
    copy_tree(example, work.path());
    // Local modules must be installed even though they need no download; `get` does that
    // without touching providers (init would ask the registry for konoha/konoha).
    work.terraform(["get", "-no-color"]).ok().unwrap();
    work
}

/// `terraform output -json`, as `{name: value}`.
fn outputs(work: &Workdir) -> serde_json::Map<String, Json> {
    let out = work
        .terraform(["output", "-json", "-no-color"])
        .ok()
        .unwrap();
    let all: serde_json::Map<String, Json> = serde_json::from_str(&out.stdout).unwrap();
    all.into_iter()
        .map(|(name, output)| (name, output["value"].clone()))
        .collect()
}

/// Fails unless a refreshing plan finds nothing to do.
fn assert_no_changes(work: &Workdir) {
    let out = work.terraform(["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(
        out.code,
        Some(0),
        "the plan after apply is not empty:\n{out}"
    );
}

#[test]
fn every_example_validates_and_is_formatted() {
    let provider = InProcessProvider::start();
    let dirs = example_dirs();
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in ["quickstart", "two-servers"] {
        assert!(
            names.iter().any(|n| n == expected),
            "no examples/{expected} in {names:?}"
        );
    }
    let mut failures = Vec::new();
    for dir in &dirs {
        let work = workdir_with_example(&provider.hookup(), dir, &[]);
        let validate = work.terraform(["validate", "-no-color"]);
        if !validate.success() {
            failures.push(format!("{}:\n{validate}", dir.display()));
        }
        let fmt = work.terraform(["fmt", "-check", "-recursive", "-diff", "-no-color"]);
        if !fmt.success() {
            failures.push(format!(
                "{} is not terraform fmt-clean:\n{fmt}",
                dir.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn two_servers_apply_and_render_a_dbt_profile_for_both() {
    let kube = Cluster::start();
    kube.create_namespace("kyuubi");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kube.write_kubeconfig(dir.path());
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    // The provider runs in this process and cannot see terraform's environment, so it gets
    // Vault and Kubernetes through the example's variables (null, hence the environment, by
    // default).
    let env = [
        ("TF_VAR_vault_address", bao.addr.clone()),
        ("TF_VAR_vault_token", bao.token.clone()),
        ("TF_VAR_kubeconfig", kubeconfig.display().to_string()),
    ]
    .map(|(k, v)| (k.to_owned(), v));
    let work = workdir_with_example(
        &provider.hookup(),
        &examples_root().join("two-servers"),
        &env,
    );

    work.terraform(["apply", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();

    // Both servers run, each with its own profile in Vault and the session lock in its conf.
    for (name, instances) in [("kyuubi-dbt", "4"), ("kyuubi-dbt-shared", "8")] {
        let deployment = kube
            .get(&format!("{DEPLOYMENTS}/{name}"))
            .unwrap_or_else(|| panic!("no Deployment {name}"));
        let profile_sha = deployment
            .pointer("/spec/template/metadata/annotations/konoha.io~1spark-profile-sha256")
            .and_then(Json::as_str)
            .unwrap_or_else(|| panic!("{name}: no profile hash on the pod template"));
        let (data, _) = bao
            .kv_get("secret", &format!("spark/{name}"))
            .unwrap_or_else(|| panic!("no profile secret/spark/{name}"));
        assert_eq!(
            data["spark.executor.instances"],
            Json::from(instances),
            "{name}"
        );
        let conf = kube
            .get(&format!("/api/v1/namespaces/kyuubi/configmaps/{name}-conf"))
            .unwrap_or_else(|| panic!("no ConfigMap {name}-conf"));
        let defaults = conf
            .pointer("/data/kyuubi-defaults.conf")
            .and_then(Json::as_str)
            .unwrap_or_default();
        assert!(
            defaults.contains("kyuubi.session.conf.ignore.list=spark.executor.instances,"),
            "{name}: users may resize executors per session:\n{defaults}"
        );
        assert_eq!(profile_sha.len(), 64, "{name}: {profile_sha}");
    }

    let out = outputs(&work);
    assert_eq!(out["jdbc_urls"]["kyuubi-dbt"], Json::from(USER_URL));
    assert_eq!(
        out["jdbc_urls"]["kyuubi-dbt-shared"],
        Json::from(SHARED_URL)
    );
    assert_eq!(
        out["rest_urls"]["kyuubi-dbt-shared"],
        Json::from("http://kyuubi-dbt-shared.kyuubi.svc.cluster.local:10099/api/v1")
    );
    let refs = &out["profile_refs"];
    assert!(
        refs["kyuubi-dbt"]
            .as_str()
            .is_some_and(|r| r.starts_with("secret/spark/kyuubi-dbt@sha256:")),
        "{refs}"
    );
    let yml = out["dbt_profiles_yml"].as_str().unwrap();
    for expected in [
        USER_URL,
        SHARED_URL,
        "konoha:\n  target: dev\n",
        "    dev:\n      type: spark\n      method: thrift\n      host: kyuubi-dbt.kyuubi.svc.cluster.local\n      port: 10009\n",
        "    shared:\n      type: spark\n      method: thrift\n      host: kyuubi-dbt-shared.kyuubi.svc.cluster.local\n      port: 10010\n",
        "share level USER",
        "share level SERVER",
        // dbt-spark retries a connection to a starting engine only with retry_all.
        "      retry_all: true\n      connect_retries: 3\n      connect_timeout: 30\n",
    ] {
        assert!(
            yml.contains(expected),
            "profiles.yml lacks {expected:?}:\n{yml}"
        );
    }
    assert!(!yml.contains("%{"), "template directives left in:\n{yml}");

    assert_no_changes(&work);

    work.terraform(["destroy", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    let left = kube.objects_with_label("app.kubernetes.io/managed-by=konoha");
    assert!(left.is_empty(), "left behind in the cluster: {left:?}");
    for name in ["kyuubi-dbt", "kyuubi-dbt-shared"] {
        assert!(
            bao.kv_get("secret", &format!("spark/{name}")).is_none(),
            "profile spark/{name} still readable after destroy"
        );
    }
}

#[test]
fn quickstart_applies_without_a_cluster_and_adds_the_server_with_one() {
    let kube = Cluster::start();
    kube.create_namespace("kyuubi");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kube.write_kubeconfig(dir.path());
    let bao = OpenBao::start();
    // The built binary, started by terraform, reads VAULT_ADDR and VAULT_TOKEN from its
    // environment, as under `make demo`.
    let work = workdir_with_example(
        &ProviderHookup::cargo_binary(),
        &examples_root().join("quickstart"),
        &bao.env(),
    );

    // No cluster: the profile only, and not one request to Kubernetes.
    work.terraform(["apply", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    let out = outputs(&work);
    assert!(
        out["profile_ref"]
            .as_str()
            .is_some_and(|r| r.starts_with("secret/spark/dbt@sha256:")),
        "{out:?}"
    );
    assert!(
        out.get("jdbc_url").is_none_or(Json::is_null),
        "a jdbc_url without a cluster: {out:?}"
    );
    assert!(bao.kv_get("secret", "spark/dbt").is_some());
    if let Some(requests) = kube.requests() {
        assert_eq!(requests, Vec::<(String, String)>::new());
    }

    // With a cluster: the server joins, the profile stays as it is.
    let with_cluster = format!("-var=kubeconfig={}", kubeconfig.display());
    work.terraform(["apply", "-auto-approve", "-no-color", &with_cluster])
        .ok()
        .unwrap();
    assert!(kube.get(&format!("{DEPLOYMENTS}/kyuubi-dbt")).is_some());
    assert_eq!(outputs(&work)["jdbc_url"], Json::from(USER_URL));
    let (_, version) = bao.kv_get("secret", "spark/dbt").unwrap();
    assert_eq!(version, 1, "adding the server rewrote the profile");

    work.terraform(["destroy", "-auto-approve", "-no-color", &with_cluster])
        .ok()
        .unwrap();
    assert!(kube.get(&format!("{DEPLOYMENTS}/kyuubi-dbt")).is_none());
}
