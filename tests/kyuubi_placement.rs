//! Acceptance tests of the server's placement (issue 10, "Server placement"): `node_selector`,
//! `tolerations` and `affinity` in the pod template, and the PodDisruptionBudget that exists
//! exactly while `replicas > 1`. Real `terraform`, real OpenBao, and the Kubernetes API double
//! (or a real control plane through `support::cluster`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::cell::RefCell;

use serde_json::{Value as Json, json};
use support::hcl::{VAULT_AGENT, profile_and_server};
use support::terraform::{Action, Step};
use support::world::World;

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt";
const BUDGET: &str = "/apis/policy/v1/namespaces/kyuubi/poddisruptionbudgets/kyuubi-dbt";
const SERVER: &str = "konoha_kyuubi_server.dbt";

// This file's own steps.
impl World {
    /// The provider, the profile and server `dbt` with `body` as its last lines.
    fn config(&self, body: &str) -> String {
        format!(
            "{}{}",
            self.provider_header(),
            profile_and_server(2, &format!("{VAULT_AGENT}{body}"))
        )
    }

    fn pod_spec(&self) -> Result<Json, String> {
        let deployment = self.cluster.get(DEPLOYMENT).ok_or("no Deployment")?;
        Ok(deployment["spec"]["template"]["spec"].clone())
    }
}

/// A placed server with `replicas` pods (more than one needs the `ha` block) and `more` lines.
fn placed(replicas: u32, more: &str) -> String {
    format!(
        r#"  replicas      = {replicas}
  ha {{
    addresses = "zk-0:2181"
  }}
  node_selector = {{ "node-pool" = "kyuubi" }}
  tolerations {{
    key    = "dedicated"
    value  = "kyuubi"
    effect = "NoSchedule"
  }}
  tolerations {{
    key                = "node.kubernetes.io/unreachable"
    operator           = "Exists"
    effect             = "NoExecute"
    toleration_seconds = 60
  }}
  affinity = jsonencode({{
    podAntiAffinity = {{
      preferredDuringSchedulingIgnoredDuringExecution = [{{
        weight = 100
        podAffinityTerm = {{
          topologyKey   = "kubernetes.io/hostname"
          labelSelector = {{ matchLabels = {{ "app.kubernetes.io/instance" = "kyuubi-dbt" }} }}
        }}
      }}]
    }}
  }})
{more}"#
    )
}

/// Drift: `kubectl edit` moves the server's pods to another node pool.
fn edit_node_pool_by_hand(w: &World) -> Result<(), String> {
    w.cluster
        .update_as("kubectl-edit", DEPLOYMENT, |d| {
            d["spec"]["template"]["spec"]["nodeSelector"]["node-pool"] = Json::from("elsewhere");
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn check_budget(w: &World) -> Result<(), String> {
    let budget = w.cluster.get(BUDGET).ok_or("no PodDisruptionBudget")?;
    let expected = json!({
        "maxUnavailable": 1,
        "selector": {"matchLabels": {
            "app.kubernetes.io/instance": "kyuubi-dbt",
            "app.kubernetes.io/name": "kyuubi",
        }},
    });
    if budget["spec"] != expected {
        return Err(format!("budget spec {}", budget["spec"]));
    }
    Ok(())
}

fn check_no_budget(w: &World) -> Result<(), String> {
    match w.cluster.get(BUDGET) {
        None => Ok(()),
        Some(budget) => Err(format!("a PodDisruptionBudget is left: {budget}")),
    }
}

#[test]
fn placement_reaches_the_pods_and_the_budget_follows_replicas() {
    let w = World::start();
    let two = w.config(&placed(2, ""));
    let forced = w.config(&placed(2, "  force_conflicts = true\n"));
    let one = w.config(&placed(1, "  force_conflicts = true\n"));
    let template = RefCell::new(Json::Null);
    w.case()
        .step(Step::config(two.clone()).check(|_| {
            check_budget(&w)?;
            let spec = w.pod_spec()?;
            if spec["nodeSelector"] != json!({"node-pool": "kyuubi"}) {
                return Err(format!("nodeSelector {}", spec["nodeSelector"]));
            }
            let tolerations = json!([
                {"key": "dedicated", "operator": "Equal", "value": "kyuubi", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                 "effect": "NoExecute", "tolerationSeconds": 60},
            ]);
            if spec["tolerations"] != tolerations {
                return Err(format!("tolerations {}", spec["tolerations"]));
            }
            let topology = spec.pointer(
                "/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/0/podAffinityTerm/topologyKey",
            );
            if topology != Some(&json!("kubernetes.io/hostname")) {
                return Err(format!("affinity {}", spec["affinity"]));
            }
            Ok(())
        }))
        // The arguments annotation brings the blocks back on import.
        .step(Step::import(SERVER).import_state_verify())
        // A node selector edited by hand is drift: the plan updates the server.
        .step(
            Step::config(two.clone())
                .pre_config(|_| edit_node_pool_by_hand(&w))
                .plan_only()
                .expect_non_empty_plan()
                .plan_check(|plan| {
                    plan.check_actions(SERVER, &[Action::Update])?;
                    let reason = plan
                        .change(SERVER)
                        .and_then(|c| c.before_attr("config_sha256"))
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    if !reason.contains("nodeSelector") {
                        return Err(format!("the drift does not name the field: {reason}"));
                    }
                    Ok(())
                }),
        )
        // Taking it back needs force_conflicts, since kubectl-edit now owns the key.
        .step(Step::config(forced.clone()).check(|_| {
            let spec = w.pod_spec()?;
            if spec["nodeSelector"] != json!({"node-pool": "kyuubi"}) {
                return Err(format!("not restored: {}", spec["nodeSelector"]));
            }
            Ok(())
        }))
        // A budget edited or deleted by hand is drift too, and the apply restores it.
        .step(
            Step::config(forced.clone())
                .pre_config(|_| {
                    w.cluster
                        .update_as("kubectl-edit", BUDGET, |b| {
                            b["spec"]["maxUnavailable"] = Json::from(2);
                        })
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
                .plan_check(|plan| plan.check_actions(SERVER, &[Action::Update]))
                .check(|_| check_budget(&w)),
        )
        .step(
            Step::config(forced.clone())
                .pre_config(|_| {
                    w.cluster.delete(BUDGET).map(|_| ()).map_err(|e| e.to_string())?;
                    if w.cluster.poll_until(std::time::Duration::from_secs(30), |k| {
                        k.get(BUDGET).is_none()
                    }) {
                        Ok(())
                    } else {
                        Err("the budget was not deleted".into())
                    }
                })
                .plan_check(|plan| plan.check_actions(SERVER, &[Action::Update]))
                .check(|_| {
                    check_budget(&w)?;
                    let deployment = w.cluster.get(DEPLOYMENT).ok_or("no Deployment")?;
                    template.replace(deployment["spec"]["template"].clone());
                    Ok(())
                }),
        )
        // At one replica the budget goes, and the pods are not rolled for it.
        .step(Step::config(one).check(|_| {
            check_no_budget(&w)?;
            let deployment = w.cluster.get(DEPLOYMENT).ok_or("no Deployment")?;
            if deployment["spec"]["template"] != *template.borrow() {
                return Err("dropping the budget changed the pod template".into());
            }
            Ok(())
        }))
        // Back to two: the budget returns, and destroy removes it with the rest.
        .step(Step::config(forced).check(|_| check_budget(&w)))
        .check_destroy(|| check_no_budget(&w))
        .run_or_panic();
}

#[test]
fn a_placement_change_rolls_the_pods() {
    let w = World::start();
    let generation = |w: &World| {
        w.cluster
            .get(DEPLOYMENT)
            .and_then(|d| d.pointer("/metadata/generation").and_then(Json::as_i64))
    };
    let seen = RefCell::new(None);
    w.case()
        .step(Step::config(w.config("")).check(|_| {
            seen.replace(generation(&w));
            check_no_budget(&w)
        }))
        .step(
            Step::config(w.config("  node_selector = { \"node-pool\" = \"kyuubi\" }\n")).check(
                |_| {
                    let before = seen.borrow().ok_or("no generation")?;
                    match generation(&w) {
                        Some(now) if now > before => Ok(()),
                        now => Err(format!("generation {now:?}, was {before}: not rolled")),
                    }
                },
            ),
        )
        .run_or_panic();
}

#[test]
fn bad_placement_is_refused_at_validate_at_its_path() {
    let w = World::start();
    let work = &w.work;
    let good = "  tolerations {\n    key    = \"dedicated\"\n    effect = \"NoSchedule\"\n  }\n";
    let cases: Vec<(String, &str)> = vec![
        // The second block is at fault: the snippet shows its line, not the first block's.
        (
            format!(
                "{good}  tolerations {{\n    key    = \"gpu\"\n    effect = \"NoSchedul\"\n  }}\n"
            ),
            "effect = \"NoSchedul\"",
        ),
        (
            format!(
                "{good}  tolerations {{\n    key      = \"gpu\"\n    operator = \"Exists\"\n    value    = \"yes\"\n  }}\n"
            ),
            "value    = \"yes\"",
        ),
        (
            "  tolerations {\n    value = \"x\"\n  }\n".to_owned(),
            "must be \"Exists\" when key is empty",
        ),
        (
            "  tolerations {\n    key                = \"k\"\n    toleration_seconds = 30\n  }\n"
                .to_owned(),
            "toleration_seconds = 30",
        ),
        (
            "  affinity = jsonencode({ nodeSelector = {} })\n".to_owned(),
            "has the key \"nodeSelector\"",
        ),
        ("  affinity = \"[]\"\n".to_owned(), "is not a JSON object"),
        (
            "  node_selector = { \"bad key\" = \"x\" }\n".to_owned(),
            "is not a node label key",
        ),
    ];
    let mut failures = Vec::new();
    for (body, expected) in &cases {
        work.set_config(&w.config(body)).unwrap();
        let out = work.terraform(["validate", "-no-color"]);
        if out.success() || !out.stderr.contains(expected) {
            failures.push(format!("--- {body}{}", out.stderr));
        }
    }
    assert!(
        failures.is_empty(),
        "accepted or unclear:\n{}",
        failures.join("\n")
    );
    assert!(
        w.cluster.writes().unwrap_or_default().is_empty(),
        "validate wrote to the cluster"
    );
}

/// Regression (empty values read back): Kubernetes leaves empty strings out of a toleration
/// (`omitempty`), so the live Deployment cannot tell `value = ""` from no value. Neither the
/// plan after apply, nor the plan after a hand edit elsewhere on the Deployment, nor an import
/// may show the toleration's value changing.
#[test]
fn an_empty_toleration_value_stays_empty_through_drift_and_import() {
    let w = World::start();
    let config = w.config(
        r#"  node_selector = { "node-pool" = "kyuubi" }
  tolerations {
    key      = "dedicated"
    operator = "Equal"
    value    = ""
    effect   = "NoSchedule"
  }
"#,
    );
    let value_is_empty = |values: Option<&Json>| match values {
        Some(tolerations) if tolerations.pointer("/0/value") == Some(&json!("")) => Ok(()),
        other => Err(format!("the toleration's value is not \"\": {other:?}")),
    };
    w.case()
        .step(Step::config(config.clone()).check(|state| {
            value_is_empty(state.attr(SERVER, "tolerations"))?;
            let spec = w.pod_spec()?;
            let expected =
                json!([{"key": "dedicated", "operator": "Equal", "effect": "NoSchedule"}]);
            if spec["tolerations"] != expected {
                return Err(format!("tolerations {}", spec["tolerations"]));
            }
            Ok(())
        }))
        .step(
            Step::import(SERVER)
                .import_state_verify()
                .check(|imported| value_is_empty(imported.attr(SERVER, "tolerations"))),
        )
        // A node selector edited by hand: the plan names it, and only it.
        .step(
            Step::config(config)
                .pre_config(|_| edit_node_pool_by_hand(&w))
                .plan_only()
                .expect_non_empty_plan()
                .plan_check(|plan| {
                    plan.check_actions(SERVER, &[Action::Update])?;
                    let change = plan.change(SERVER).ok_or("no change for the server")?;
                    let reason = change
                        .before_attr("config_sha256")
                        .and_then(Json::as_str)
                        .unwrap_or_default();
                    if !reason.contains("nodeSelector") || reason.contains("tolerations") {
                        return Err(format!("the drift is not the node selector: {reason}"));
                    }
                    value_is_empty(change.before_attr("tolerations"))?;
                    if change.before_attr("tolerations") != change.after_attr("tolerations") {
                        return Err(format!(
                            "the plan changes the tolerations: {:?} -> {:?}",
                            change.before_attr("tolerations"),
                            change.after_attr("tolerations")
                        ));
                    }
                    Ok(())
                }),
        )
        .run_or_panic();
}
