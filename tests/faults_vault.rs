//! Faults of Vault during apply, placed exactly between the profile write and the server that
//! reads it: OpenBao answering 503, and OpenBao unreachable. A proxy in front of the real
//! OpenBao (`support::fault_proxy`) turns bad once the profile write has been answered, so the
//! server's read of the profile (the `kubernetes-secret` delivery copies it) is what fails.
//! Each test asserts what Terraform recorded after the fault, then heals the proxy and checks
//! that the next apply converges to an empty plan.
//!
//! The cluster is the one `KUBEBUILDER_ASSETS` chooses (`support::cluster`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::fault_proxy::{Matcher, Misbehave, Rule};
use support::terraform::Output;
use support::world::World;

const SECRET_PATH: &str = "/v1/secret/data/spark/dbt";

// This file's own steps.
impl World {
    /// A profile and a server that copies it into a Kubernetes Secret, through the proxy.
    fn set_config(&self, executor_instances: u32) {
        self.set_profile_and_server(
            executor_instances,
            "  delivery      = \"kubernetes-secret\"\n",
        );
    }

    /// From the profile's write on, every request to Vault gets `misbehave`.
    fn fail_after_the_profile_write(&self, misbehave: Misbehave) {
        self.proxy().add(
            Rule::new(Matcher::new(None, ""), misbehave)
                .once_answered(Matcher::new(Some("POST"), SECRET_PATH)),
        );
    }

    fn pending_plan(&self) -> Output {
        self.work
            .terraform(["plan", "-detailed-exitcode", "-no-color", "-input=false"])
    }

    /// The fault on create, then on update; `expected` is in the error both times.
    fn run(&self, misbehave: Misbehave, expected: &str) {
        // Create: the profile is written, the server cannot read it.
        self.set_config(4);
        self.fail_after_the_profile_write(misbehave);
        let out = self.apply();
        assert!(!out.success(), "the apply must fail");
        for text in [
            "Unable to read the Spark profile secret/spark/dbt",
            expected,
        ] {
            assert!(
                out.stderr.contains(text),
                "missing {text:?}: {}",
                out.stderr
            );
        }
        assert_eq!(
            self.state_list(),
            ["konoha_spark_profile.p"],
            "the profile was written and the server was not"
        );
        assert_eq!(self.server_objects(), Vec::new(), "nothing applied");
        let written = self
            .bao
            .kv_get("secret", "spark/dbt")
            .expect("the profile in Vault");
        assert_eq!(written.0["spark.executor.instances"], "4");
        self.heal();
        self.converge();
        assert!(!self.server_objects().is_empty());

        // Update: the new profile version is written, the server keeps its prior state, so
        // its update is still pending.
        self.set_config(5);
        self.fail_after_the_profile_write(misbehave);
        let out = self.apply();
        assert!(!out.success(), "the apply must fail");
        assert!(out.stderr.contains(expected), "{}", out.stderr);
        self.heal();
        let plan = self.pending_plan();
        assert_eq!(plan.code, Some(2), "{}", plan.stdout);
        assert!(
            plan.stdout
                .contains("konoha_kyuubi_server.dbt will be updated in-place"),
            "only the server's update is pending: {}",
            plan.stdout
        );
        assert!(
            !plan.stdout.contains("konoha_spark_profile.p will be"),
            "the profile was written and recorded: {}",
            plan.stdout
        );
        self.converge();
        self.destroy();
    }
}

#[test]
fn vault_answering_503_between_the_profile_write_and_the_server() {
    World::builder()
        .fault_proxy()
        .start()
        .run(Misbehave::Status(503), "503");
}

#[test]
fn vault_unreachable_between_the_profile_write_and_the_server() {
    World::builder()
        .fault_proxy()
        .start()
        .run(Misbehave::Close, "Unable to read the Spark profile");
}
