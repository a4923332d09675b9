//! Many resources at once: 200 profiles and 20 servers applied at `-parallelism=20`, then
//! destroyed, with no error and nothing left behind in Vault or the cluster. Concurrency bugs
//! (a shared client that serialises or drops requests, a race between a profile write and the
//! server reading it) show here and nowhere else.
//!
//! Real `terraform`, OpenBao and provider; the cluster is the one `KUBEBUILDER_ASSETS` chooses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::cluster::Cluster;
use support::openbao::OpenBao;
use support::provider::InProcessProvider;
use support::terraform::Workdir;

const PROFILES: usize = 200;
const SERVERS: usize = 20;

fn config(bao: &OpenBao, kubeconfig: &std::path::Path) -> String {
    format!(
        r#"{header}
resource "konoha_spark_profile" "p" {{
  count               = {PROFILES}
  mount               = "secret"
  name                = "scale/p${{count.index}}"
  executor_instances  = 1 + count.index % 7
  delete_all_versions = true
}}

resource "konoha_kyuubi_server" "s" {{
  count         = {SERVERS}
  name          = "kyuubi-s${{count.index}}"
  image         = "apache/kyuubi:1.10.2-spark"
  engine {{
    image = "apache/spark:3.5.1"
  }}
  spark_profile = konoha_spark_profile.p[count.index].ref
  vault_agent {{
    role = "kyuubi"
  }}
}}
"#,
        header = support::hcl::provider_header(&bao.addr, &bao.token, kubeconfig),
    )
}

/// The names under `secret/metadata/scale/`, as Vault lists them.
fn profiles_in_vault(bao: &OpenBao) -> Vec<String> {
    let listed = bao.call("GET", "/v1/secret/metadata/scale/?list=true", None);
    match listed.status {
        404 => Vec::new(),
        200 => listed.body["data"]["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        other => panic!("listing the profiles answered {other}: {}", listed.body),
    }
}

#[test]
fn two_hundred_profiles_and_twenty_servers_in_parallel_leave_nothing_behind() {
    let cluster = Cluster::start();
    cluster.create_namespace("kyuubi");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = cluster.write_kubeconfig(dir.path());
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup()).unwrap();
    work.set_config(&config(&bao, &kubeconfig)).unwrap();

    let out = work.terraform([
        "apply",
        "-auto-approve",
        "-no-color",
        "-input=false",
        "-parallelism=20",
    ]);
    assert!(out.success(), "{}", out.stderr);
    assert_eq!(profiles_in_vault(&bao).len(), PROFILES);
    let deployments: Vec<_> = cluster
        .objects_with_label("app.kubernetes.io/managed-by=konoha")
        .into_iter()
        .filter(|(kind, _, _)| kind == "Deployment")
        .collect();
    assert_eq!(deployments.len(), SERVERS, "{deployments:?}");
    let state = work.state().unwrap();
    assert_eq!(state.resources().len(), PROFILES + SERVERS);

    let plan = work.terraform(["plan", "-detailed-exitcode", "-no-color", "-parallelism=20"]);
    assert_eq!(plan.code, Some(0), "not converged: {}", plan.stdout);

    let out = work.terraform(["destroy", "-auto-approve", "-no-color", "-parallelism=20"]);
    assert!(out.success(), "{}", out.stderr);
    assert_eq!(profiles_in_vault(&bao), Vec::<String>::new());
    // Deletion is foreground, so on a real cluster pods may linger a moment after the apply.
    let gone = cluster.poll_until(Duration::from_secs(60), |c| {
        c.objects_with_label("app.kubernetes.io/managed-by=konoha")
            .is_empty()
    });
    assert!(
        gone,
        "left behind: {:?}",
        cluster.objects_with_label("app.kubernetes.io/managed-by=konoha")
    );
}
