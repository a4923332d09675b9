//! Acceptance tests of executor placement on `konoha_spark_profile` (issue 9, "Executor placement
//! for GPU (and other) nodes"): `executor_node_selector` and `executor_tolerations` reach the
//! stored profile as the lines the Kyuubi server turns into Spark properties and the executor pod
//! template, plan nothing after apply, read back through the data source, and show a by-hand edit
//! in Vault as drift. Real `terraform`, real OpenBao.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value as Json, json};
use support::hcl::vault_provider_header;
use support::openbao::OpenBao;
use support::provider::InProcessProvider;
use support::terraform::{Action, Step, TestCase};

const PROFILE: &str = "konoha_spark_profile.gpu";

/// The tolerations line as the profile stores it: compact JSON, keys sorted, defaults spelled out.
const TOLERATIONS: &str = r#"[{"effect":"NoSchedule","key":"nvidia.com/gpu","operator":"Exists"},{"effect":"NoExecute","key":"spot","operator":"Equal","tolerationSeconds":120,"value":"true"}]"#;

fn config(bao: &OpenBao) -> String {
    format!(
        r#"{header}
resource "konoha_spark_profile" "gpu" {{
  mount                  = "secret"
  name                   = "spark/gpu"
  executor_node_selector = {{ "nvidia.com/gpu.present" = "true" }}

  executor_tolerations {{
    key      = "nvidia.com/gpu"
    operator = "Exists"
    effect   = "NoSchedule"
  }}
  executor_tolerations {{
    key                = "spot"
    value              = "true"
    effect             = "NoExecute"
    toleration_seconds = 120
  }}
}}

data "konoha_spark_profile" "gpu" {{
  mount      = "secret"
  name       = "spark/gpu"
  depends_on = [konoha_spark_profile.gpu]
}}
"#,
        header = vault_provider_header(&bao.addr, &bao.token),
    )
}

fn rendered_lines(state: &support::terraform::State, address: &str) -> Vec<String> {
    state
        .attr(address, "rendered")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn executor_placement_is_stored_shown_and_drift_checked() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let config = config(&bao);
    TestCase::new(provider.hookup())
        // Applied, the follow-up plan is empty (the harness checks it after every step).
        .step(Step::config(config.clone()).check(|state| {
            let lines = rendered_lines(state, PROFILE);
            for expected in [
                format!("konoha.executor.tolerations={TOLERATIONS}"),
                "spark.kubernetes.executor.node.selector.nvidia.com/gpu.present=true".to_owned(),
            ] {
                if !lines.contains(&expected) {
                    return Err(format!("{expected} not in rendered: {lines:#?}"));
                }
            }
            let (stored, _) = bao.kv_get("secret", "spark/gpu").ok_or("no secret")?;
            if stored["konoha.executor.tolerations"] != json!(TOLERATIONS) {
                return Err(format!("stored: {stored}"));
            }
            // The data source shows the same content.
            let data = "data.konoha_spark_profile.gpu";
            if rendered_lines(state, data) != lines {
                return Err("the data source renders differently".into());
            }
            if state.attr(data, "properties.konoha.executor.tolerations")
                != Some(&json!(TOLERATIONS))
                && state
                    .attr(data, "properties")
                    .and_then(|p| p.get("konoha.executor.tolerations"))
                    != Some(&json!(TOLERATIONS))
            {
                return Err("the data source does not show the tolerations".into());
            }
            Ok(())
        }))
        .step(Step::import(PROFILE).import_state_verify())
        // Someone loosens the tolerations in Vault: the plan shows it in executor_tolerations,
        // and apply writes the configured ones back.
        .step(
            Step::config(config.clone())
                .pre_config(|_| {
                    let (mut stored, _) = bao.kv_get("secret", "spark/gpu").ok_or("no secret")?;
                    stored["konoha.executor.tolerations"] = json!(r#"[{"operator":"Exists"}]"#);
                    bao.kv_put("secret", "spark/gpu", stored);
                    Ok(())
                })
                .plan_check(|plan| {
                    plan.check_actions(PROFILE, &[Action::Update])?;
                    let before = plan
                        .change(PROFILE)
                        .and_then(|c| c.before_attr("executor_tolerations"))
                        .cloned();
                    let expected = json!([{
                        "key": null, "operator": "Exists", "value": null, "effect": null,
                        "toleration_seconds": null,
                    }]);
                    if before != Some(expected) {
                        return Err(format!("drift not shown in the blocks: {before:?}"));
                    }
                    Ok(())
                })
                .check(|_| {
                    let (stored, _) = bao.kv_get("secret", "spark/gpu").ok_or("no secret")?;
                    if stored["konoha.executor.tolerations"] != json!(TOLERATIONS) {
                        return Err(format!("not restored: {stored}"));
                    }
                    Ok(())
                }),
        )
        .run_or_panic();
}

#[test]
fn bad_executor_placement_is_refused_at_validate() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = support::terraform::Workdir::new(&provider.hookup()).unwrap();
    let cases = [
        (
            "  executor_tolerations {\n    key = \"nvidia.com/gpu\"\n  }\n  executor_tolerations {\n    key      = \"nvidia.com/gpu\"\n    operator = \"Exists\"\n    value    = \"1\"\n  }\n",
            "value    = \"1\"",
        ),
        (
            "  executor_node_selector = { \"pool\" = \"gpu nodes\" }\n",
            "is not a node label value",
        ),
        (
            "  extra_conf = { \"spark.kubernetes.executor.node.selector.pool\" = \"gpu\" }\n",
            "set executor_node_selector instead",
        ),
    ];
    let mut failures = Vec::new();
    for (body, expected) in cases {
        work.set_config(&format!(
            "{}\nresource \"konoha_spark_profile\" \"gpu\" {{\n  mount = \"secret\"\n  name  = \"spark/gpu\"\n{body}}}\n",
            vault_provider_header(&bao.addr, &bao.token)
        ))
        .unwrap();
        let out = work.terraform(["validate", "-no-color"]);
        if out.success() || !out.stderr.contains(expected) {
            failures.push(format!("--- {body}{}", out.stderr));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        bao.kv_get("secret", "spark/gpu").is_none(),
        "validate wrote to Vault"
    );
}

/// Regression (empty values read back): the stored tolerations line leaves empty strings out,
/// as the API server does, so a refresh that maps a drifted profile back into attributes must
/// keep `value = ""`, `key = ""` and `effect = ""` as written: the plan names only the real
/// drift (here `executor_memory`), never the tolerations.
/// A profile whose tolerations write `value = ""`, `key = ""` and `effect = ""`.
fn empty_tolerations_config(bao: &OpenBao) -> String {
    format!(
        r#"{header}
resource "konoha_spark_profile" "gpu" {{
  mount = "secret"
  name  = "spark/gpu"

  executor_tolerations {{
    key      = "dedicated"
    operator = "Equal"
    value    = ""
    effect   = "NoSchedule"
  }}
  executor_tolerations {{
    key      = ""
    operator = "Exists"
    effect   = ""
  }}
}}
"#,
        header = vault_provider_header(&bao.addr, &bao.token),
    )
}

#[test]
fn empty_toleration_strings_survive_a_drift_refresh() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let config = empty_tolerations_config(&bao);
    let written = json!([
        {"key": "dedicated", "operator": "Equal", "value": "", "effect": "NoSchedule",
         "toleration_seconds": null},
        {"key": "", "operator": "Exists", "value": null, "effect": "",
         "toleration_seconds": null},
    ]);
    TestCase::new(provider.hookup())
        .step(Step::config(config.clone()).check(|state| {
            state.check_attr(PROFILE, "executor_tolerations", written.clone())?;
            let (stored, _) = bao.kv_get("secret", "spark/gpu").ok_or("no secret")?;
            let line = json!(
                r#"[{"effect":"NoSchedule","key":"dedicated","operator":"Equal"},{"operator":"Exists"}]"#
            );
            if stored["konoha.executor.tolerations"] != line {
                return Err(format!("stored: {stored}"));
            }
            Ok(())
        }))
        .step(
            Step::config(config)
                .pre_config(|_| {
                    let (mut stored, _) = bao.kv_get("secret", "spark/gpu").ok_or("no secret")?;
                    stored["spark.executor.memory"] = json!("8g");
                    bao.kv_put("secret", "spark/gpu", stored);
                    Ok(())
                })
                .plan_check(|plan| {
                    plan.check_actions(PROFILE, &[Action::Update])?;
                    let change = plan.change(PROFILE).ok_or("no change for the profile")?;
                    if change.before_attr("executor_memory") != Some(&json!("8g")) {
                        return Err(format!(
                            "the drift is not shown: executor_memory {:?}",
                            change.before_attr("executor_memory")
                        ));
                    }
                    let before = change.before_attr("executor_tolerations");
                    if before != Some(&written) || change.after_attr("executor_tolerations") != before
                    {
                        return Err(format!(
                            "the plan changes the tolerations: {before:?} -> {:?}",
                            change.after_attr("executor_tolerations")
                        ));
                    }
                    Ok(())
                }),
        )
        .run_or_panic();
}

/// An import has no prior state to take the written form from, and the stored line cannot tell
/// `""` from unset: the imported blocks hold null, and the first plan shows the empty strings
/// going into state. That update writes nothing to Vault (the content is the same), and the plan
/// after it is empty.
#[test]
fn after_an_import_empty_toleration_strings_cost_one_update_that_writes_nothing() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = support::terraform::Workdir::new(&provider.hookup()).unwrap();
    work.set_config(&empty_tolerations_config(&bao)).unwrap();
    let run = |args: &[&str]| {
        let out = work.terraform(args.iter().copied());
        assert!(
            matches!(out.code, Some(0 | 2)),
            "terraform {args:?}: {}",
            out.stderr
        );
        out
    };
    let apply = ["apply", "-auto-approve", "-no-color", "-input=false"];
    run(&apply);
    let (_, written) = bao.kv_get("secret", "spark/gpu").expect("a secret");
    run(&["state", "rm", PROFILE]);
    work.terraform([
        "import",
        "-no-color",
        "-input=false",
        PROFILE,
        "secret/spark/gpu",
    ]);
    let imported = work.state().unwrap();
    let blocks = imported.attr(PROFILE, "executor_tolerations").cloned();
    assert_eq!(
        blocks.as_ref().and_then(|b| b.pointer("/0/value")),
        Some(&Json::Null),
        "{blocks:?}"
    );
    let plan_args = ["plan", "-no-color", "-input=false", "-detailed-exitcode"];
    let plan = run(&plan_args);
    assert_eq!(plan.code, Some(2), "{}", plan.stdout);
    assert!(
        !plan.stdout.contains("rendered") && !plan.stdout.contains("content_sha256"),
        "the plan changes the content: {}",
        plan.stdout
    );
    run(&apply);
    let (_, after) = bao.kv_get("secret", "spark/gpu").expect("a secret");
    assert_eq!(after, written, "the update wrote a new version");
    let again = run(&plan_args);
    assert_eq!(again.code, Some(0), "{}", again.stdout);
}
