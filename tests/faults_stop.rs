//! Terraform interrupted (SIGINT, as Ctrl-C sends; Terraform then calls the provider's `Stop`)
//! while the provider waits for a rollout: the apply must end at once rather than when the
//! 10-minute update timeout runs out, the server must stay recorded as not rolled out (its prior
//! state), and the next plan must show the update again.
//!
//! Real `terraform`, OpenBao and provider; the cluster is the one `KUBEBUILDER_ASSETS` chooses.
//! The rollout is kept from completing with `set_never_ready`, so the interrupt is sure to land
//! while the provider waits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use support::cluster::Cluster;
use support::openbao::OpenBao;
use support::provider::InProcessProvider;
use support::terraform::Workdir;

const DEPLOYMENT_PATH: &str = "/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt";

/// "At once": far below the update timeout (10 minutes) and the rollout poll, with room for
/// Terraform's own shutdown (it writes the state) on a loaded 2-core machine, where 2 s once
/// proved too tight. A provider that ignored `Stop` would take the full timeout; one that only
/// looked between polls (at most 2 s apart) would still pass, which is why the wait selects on
/// the stop signal during each pause (`resources::rollout_wait`).
const STOPPED_WITHIN: Duration = Duration::from_secs(15);

fn config(bao: &OpenBao, kubeconfig: &std::path::Path, executor_instances: u32) -> String {
    support::hcl::provider_header(&bao.addr, &bao.token, kubeconfig)
        + &support::hcl::profile_and_server(executor_instances, support::hcl::VAULT_AGENT)
}

fn generation(cluster: &Cluster) -> i64 {
    cluster
        .get(DEPLOYMENT_PATH)
        .and_then(|d| d.pointer("/metadata/generation").and_then(|g| g.as_i64()))
        .unwrap_or(0)
}

#[test]
fn an_interrupt_during_the_rollout_wait_returns_at_once_and_leaves_the_update_pending() {
    let cluster = Cluster::start();
    cluster.create_namespace("kyuubi");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = cluster.write_kubeconfig(dir.path());
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup()).unwrap();
    work.set_config(&config(&bao, &kubeconfig, 4)).unwrap();
    work.terraform(["apply", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    let prior_ref = work
        .state()
        .unwrap()
        .attr("konoha_kyuubi_server.dbt", "spark_profile")
        .cloned()
        .unwrap();

    // The profile changes, so the server rolls; its new pods never become ready.
    cluster.set_never_ready("kyuubi", "kyuubi-dbt", true);
    work.set_config(&config(&bao, &kubeconfig, 5)).unwrap();
    let apply = work.spawn_terraform(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let rolling = cluster.poll_until(Duration::from_secs(120), |c| generation(c) == 2);
    assert!(rolling, "the update never reached the Deployment");
    let interrupted = Instant::now();
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &apply.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let out = apply.wait_with_output().unwrap();
    let took = interrupted.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an interrupted apply must fail");
    assert!(
        took < STOPPED_WITHIN,
        "the apply took {took:?} to stop: {stderr}"
    );
    assert!(
        stderr.contains("Terraform stopped the apply while the rollout was in progress"),
        "{stderr}"
    );

    // Recorded as not rolled out: the server keeps its prior state, the profile its new one.
    let state = work.state().unwrap();
    assert_eq!(
        state.attr("konoha_kyuubi_server.dbt", "spark_profile"),
        Some(&prior_ref)
    );
    state
        .check_attr("konoha_spark_profile.p", "executor_instances", 5)
        .unwrap();
    let plan = work.terraform(["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(plan.code, Some(2), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("konoha_kyuubi_server.dbt will be updated in-place"),
        "{}",
        plan.stdout
    );

    // Once the cause is fixed (and the stuck pods replaced, as an operator would), the
    // re-apply finishes the rollout and converges.
    cluster.set_never_ready("kyuubi", "kyuubi-dbt", false);
    cluster
        .delete("/api/v1/namespaces/kyuubi/pods?labelSelector=app.kubernetes.io%2Finstance%3Dkyuubi-dbt")
        .unwrap();
    work.terraform(["apply", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    let plan = work.terraform(["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(plan.code, Some(0), "{}", plan.stdout);
    work.terraform(["destroy", "-auto-approve"]).ok().unwrap();
}
