//! The provider killed (SIGKILL) mid-apply, after Vault or the cluster was written and before
//! Terraform recorded it; then the re-apply, which must adopt what the killed create left
//! (exactly the planned content, or objects konoha applied for this server) and refuse what is
//! someone else's.
//!
//! The kills are real and deterministic: Terraform runs the built provider binary, the write is
//! let through to the real server but its answer held back (`support::fault_proxy` in front of
//! OpenBao, `Answer::HandleThenHang` on the Kubernetes API double), the test waits until the
//! write is done, then kills the provider process. The server-side kill needs the double, since
//! only it can hold an answer back; the profile-side tests use the cluster `KUBEBUILDER_ASSETS`
//! chooses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Child;
use std::time::Duration;

use serde_json::json;
use support::cluster::Backend;
use support::fault_proxy::{Matcher, Misbehave, Rule};
use support::kube_double::faults::{Answer, Fault};
use support::world::{World, WorldBuilder};

const SECRET_PATH: &str = "/v1/secret/data/spark/dbt";
const DEPLOYMENT_PATH: &str = "/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt";
/// How long a write may take to reach the server once the apply starts.
const WRITE_DEADLINE: Duration = Duration::from_secs(120);

/// A world whose provider runs as its own process (so it can be killed) and reaches OpenBao
/// through the fault proxy (so a profile write can be held back).
fn killable() -> WorldBuilder {
    World::builder().cargo_binary().fault_proxy()
}

// This file's own steps.
impl World {
    fn set_config(&self, executor_instances: u32) {
        self.set_profile_and_server(executor_instances, support::hcl::VAULT_AGENT);
    }

    fn start_apply(&self) -> Child {
        self.work
            .spawn_terraform(&["apply", "-auto-approve", "-no-color", "-input=false"])
    }
}

/// The pid of the provider process `terraform` (pid `parent`) started, read from `/proc`.
fn provider_pid(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid …`; comm is cut to 15 bytes and may hold spaces.
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent && "terraform-provider-konoha".starts_with(comm)).then_some(pid)
        })
}

/// Sends SIGKILL to the provider `terraform` started, and returns terraform's output once it
/// has noticed and exited.
fn kill_provider(terraform: Child) -> std::process::Output {
    let parent = terraform.id();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let pid = loop {
        if let Some(pid) = provider_pid(parent) {
            break pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no provider process under terraform {parent}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "kill -KILL {pid} failed");
    // terraform notices the plugin's death at once (its gRPC connection breaks).
    let output = terraform.wait_with_output().unwrap();
    assert!(!output.status.success(), "the apply survived its provider");
    output
}

#[test]
fn a_provider_killed_after_the_profile_write_is_adopted_on_re_apply() {
    let w = killable().start();
    w.set_config(4);
    w.proxy().add(Rule::new(
        Matcher::new(Some("POST"), SECRET_PATH),
        Misbehave::ForwardThenHang,
    ));
    let apply = w.start_apply();
    let written = w.proxy().wait_for(WRITE_DEADLINE, |log| {
        log.iter()
            .any(|s| s.method == "POST" && s.path == SECRET_PATH && s.answered == Some(200))
    });
    assert!(written, "the profile write never reached OpenBao");
    kill_provider(apply);

    // Written in Vault, recorded nowhere.
    assert_eq!(w.state_list(), Vec::<String>::new());
    assert_eq!(w.bao.kv_versions("secret", "spark/dbt").len(), 1);

    w.proxy().heal();
    w.converge();
    let state = w.work.state().unwrap();
    state
        .check_attr("konoha_spark_profile.p", "version", 1)
        .unwrap();
    assert_eq!(
        w.bao.kv_versions("secret", "spark/dbt").len(),
        1,
        "adopting must not write another version"
    );
    w.destroy();
}

#[test]
fn a_provider_killed_after_the_server_was_applied_is_adopted_on_re_apply() {
    let w = killable().backend(Backend::Double).start();
    let double = w.double();
    w.set_config(4);
    double.inject(Fault::new(Some("PATCH"), DEPLOYMENT_PATH, Answer::HandleThenHang).times(1));
    let apply = w.start_apply();
    let applied = w
        .cluster
        .poll_until(WRITE_DEADLINE, |c| c.get(DEPLOYMENT_PATH).is_some());
    assert!(applied, "the Deployment was never applied");
    kill_provider(apply);

    // The profile was recorded before the server started; the server was not.
    assert_eq!(w.state_list(), ["konoha_spark_profile.p"]);
    let before = w.cluster.get(DEPLOYMENT_PATH).unwrap();
    let generation = before.pointer("/metadata/generation").cloned();

    w.converge();
    assert_eq!(
        w.state_list(),
        ["konoha_kyuubi_server.dbt", "konoha_spark_profile.p"]
    );
    let after = w.cluster.get(DEPLOYMENT_PATH).unwrap();
    assert_eq!(
        after.pointer("/metadata/generation").cloned(),
        generation,
        "adopting the same objects must not roll the Deployment again"
    );
    w.destroy();
}

#[test]
fn a_profile_with_other_content_in_vault_is_refused_with_the_import_command() {
    let w = killable().start();
    w.bao.kv_put(
        "secret",
        "spark/dbt",
        json!({"spark.executor.instances": "9"}),
    );
    w.set_config(4);
    let out = w.apply();
    assert!(!out.success(), "another secret must not be taken over");
    for text in [
        "A secret with other content already exists at secret/spark/dbt",
        "terraform import konoha_spark_profile.<name> secret/spark/dbt",
    ] {
        assert!(
            out.stderr.contains(text),
            "missing {text:?}: {}",
            out.stderr
        );
    }
    let (data, version) = w.bao.kv_get("secret", "spark/dbt").unwrap();
    assert_eq!(
        (data, version),
        (json!({"spark.executor.instances": "9"}), 1)
    );
    assert_eq!(w.state_list(), Vec::<String>::new());
}

#[test]
fn an_object_someone_else_made_is_refused_not_adopted() {
    let w = killable().start();
    w.cluster
        .apply_as(
            "helm",
            "/api/v1/namespaces/kyuubi/serviceaccounts/kyuubi-dbt",
            &json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": "kyuubi-dbt", "namespace": "kyuubi",
                                 "labels": {"app.kubernetes.io/managed-by": "Helm"}}}),
            false,
        )
        .unwrap();
    w.set_config(4);
    let out = w.apply();
    assert!(
        !out.success(),
        "someone else's object must not be taken over"
    );
    assert!(
        out.stderr
            .contains("ServiceAccount kyuubi/kyuubi-dbt already exists and is not this server's"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("terraform import konoha_kyuubi_server.<name> kyuubi/kyuubi-dbt"),
        "{}",
        out.stderr
    );
    assert_eq!(w.state_list(), ["konoha_spark_profile.p"]);
    assert!(w.cluster.get(DEPLOYMENT_PATH).is_none(), "nothing applied");
}
