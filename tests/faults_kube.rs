//! Faults of the Kubernetes API server during apply: answers of 429/503 that pass, a server that
//! keeps failing, and one that stops answering. Each test asserts the state Terraform recorded
//! after the fault and that, once the server is healthy, the next apply converges to an empty
//! plan.
//!
//! These run on the in-process API double whatever `KUBEBUILDER_ASSETS` says: only the double
//! can be told to fail chosen requests (`support::kube_double::faults`); a real control plane
//! would need a TLS-terminating proxy in front of it. The provider, Terraform and OpenBao are
//! real.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::cluster::Backend;
use support::kube_double::faults::{Answer, Fault};
use support::world::World;

const DEPLOYMENT_PATH: &str = "/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt";

/// The world of these tests: on the double, whatever `KUBEBUILDER_ASSETS` says.
fn start_on_the_double() -> World {
    World::builder().backend(Backend::Double).start()
}

// This file's own steps.
impl World {
    /// A profile with `executor_instances` and a server using its `ref`; `server_body` adds
    /// lines to the server.
    fn set_config(&self, executor_instances: u32, server_body: &str) {
        self.set_profile_and_server(
            executor_instances,
            &format!("{}{server_body}\n", support::hcl::VAULT_AGENT),
        );
    }

    /// How many `method` requests to `path` (exactly, query aside) the double has seen.
    fn count(&self, method: &str, path: &str) -> usize {
        self.double()
            .requests()
            .iter()
            .filter(|(m, p)| m == method && p.split('?').next() == Some(path))
            .count()
    }
}

#[test]
fn answers_of_429_and_503_are_retried_and_the_apply_succeeds() {
    let w = start_on_the_double();
    w.set_config(4, "");
    let unavailable = Answer::Status {
        code: 503,
        retry_after: None,
    };
    let throttled = Answer::Status {
        code: 429,
        retry_after: Some(1),
    };
    w.double()
        .inject(Fault::new(Some("PATCH"), DEPLOYMENT_PATH, unavailable).times(2));
    w.double().inject(
        Fault::new(
            Some("PATCH"),
            "/api/v1/namespaces/kyuubi/services/kyuubi-dbt",
            throttled,
        )
        .times(1),
    );
    let started = std::time::Instant::now();
    let out = w.apply();
    assert!(out.success(), "{}", out.stderr);
    // The request log shows each retry: two refused Deployment applies and the one that took.
    assert_eq!(w.count("PATCH", DEPLOYMENT_PATH), 3);
    assert_eq!(
        w.count("PATCH", "/api/v1/namespaces/kyuubi/services/kyuubi-dbt"),
        2
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "the 429's Retry-After of 1s was not honoured"
    );
    assert_eq!(
        w.state_list(),
        ["konoha_kyuubi_server.dbt", "konoha_spark_profile.p"]
    );
    let plan = w
        .work
        .terraform(["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(plan.code, Some(0), "{}", plan.stdout);
    w.destroy();
}

#[test]
fn a_server_that_keeps_failing_gets_a_clear_error_and_no_state_for_what_did_not_happen() {
    let w = start_on_the_double();
    w.set_config(4, "");
    let unavailable = Answer::Status {
        code: 503,
        retry_after: None,
    };
    // Create: every apply refused, so not one object is written.
    w.double()
        .inject(Fault::new(Some("PATCH"), "", unavailable));
    let out = w.apply();
    assert!(!out.success(), "the apply must fail");
    for expected in [
        "gave up after 5 attempts (the retries ran out)",
        "ServiceUnavailable (503)",
        "kyuubi/kyuubi-dbt",
    ] {
        assert!(
            out.stderr.contains(expected),
            "missing {expected:?}: {}",
            out.stderr
        );
    }
    assert_eq!(
        w.state_list(),
        ["konoha_spark_profile.p"],
        "a server that was never written must not be in the state"
    );
    assert_eq!(w.server_objects(), Vec::new());
    w.double().clear_faults();
    w.converge();

    // Update: the profile changes, the server's Deployment apply keeps failing. The objects
    // before it are written, the rollout is not: the prior state stays, so the change is still
    // pending.
    w.set_config(5, "");
    w.double()
        .inject(Fault::new(Some("PATCH"), DEPLOYMENT_PATH, unavailable));
    let out = w.apply();
    assert!(!out.success());
    assert!(
        out.stderr
            .contains("Unable to apply Deployment kyuubi/kyuubi-dbt"),
        "{}",
        out.stderr
    );
    let plan = w
        .work
        .terraform(["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(
        plan.code,
        Some(2),
        "the failed update must still be pending: {}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("konoha_kyuubi_server.dbt"),
        "{}",
        plan.stdout
    );
    w.double().clear_faults();
    w.converge();
    w.destroy();
    assert_eq!(w.server_objects(), Vec::new());
}

#[test]
fn a_server_that_stops_answering_fails_the_apply_at_the_operations_timeout() {
    let w = start_on_the_double();
    let timeouts = "  timeouts {\n    create = \"3s\"\n  }\n";
    w.set_config(4, timeouts);
    w.double()
        .inject(Fault::new(Some("PATCH"), DEPLOYMENT_PATH, Answer::Hang));
    let started = std::time::Instant::now();
    let out = w.apply();
    let took = started.elapsed();
    assert!(!out.success(), "the apply must fail");
    assert!(
        out.stderr
            .contains("before the operation's timeout ran out"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Deployment kyuubi/kyuubi-dbt"),
        "{}",
        out.stderr
    );
    assert!(
        took < std::time::Duration::from_secs(30),
        "the 3s create timeout was not honoured: {took:?}"
    );
    // The objects before the Deployment exist, so the server is recorded (tainted) rather than
    // forgotten; without a Deployment it has no replicas.
    let state = w.work.state().unwrap();
    state
        .check_attr("konoha_kyuubi_server.dbt", "ready_replicas", 0)
        .unwrap();
    assert!(
        w.cluster.get(DEPLOYMENT_PATH).is_none(),
        "the hung apply must not have created the Deployment"
    );
    w.double().clear_faults();
    w.converge();
    assert!(w.cluster.get(DEPLOYMENT_PATH).is_some());
    w.destroy();
}

/// A refresh reads a server's objects all at once: with the ServiceAccount's read hanging (RBAC
/// is read first in the objects' order), the reads of the ConfigMap, Service and retired
/// PodDisruptionBudget still reach the server. Read one after another, none of them would.
#[test]
fn a_refresh_reads_the_servers_objects_concurrently() {
    let w = start_on_the_double();
    w.set_config(4, "");
    let out = w.apply();
    assert!(out.success(), "{}", out.stderr);
    let ns = "/api/v1/namespaces/kyuubi";
    let service_account = format!("{ns}/serviceaccounts/kyuubi-dbt");
    w.double().clear_requests();
    w.double()
        .inject(Fault::new(Some("GET"), &service_account, Answer::Hang));
    let mut plan = w
        .work
        .spawn_terraform(&["plan", "-no-color", "-input=false"]);
    let others = [
        format!("{ns}/configmaps/kyuubi-dbt-conf"),
        format!("{ns}/services/kyuubi-dbt"),
        "/apis/policy/v1/namespaces/kyuubi/poddisruptionbudgets/kyuubi-dbt".to_owned(),
    ];
    let all_read = w
        .cluster
        .poll_until(std::time::Duration::from_secs(60), |_| {
            w.count("GET", &service_account) > 0
                && others.iter().all(|path| w.count("GET", path) > 0)
        });
    let _ = plan.kill();
    let _ = plan.wait();
    assert!(
        all_read,
        "while the ServiceAccount read hung, the server saw only: {:?}",
        w.double().requests()
    );
}
