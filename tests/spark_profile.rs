//! Acceptance tests of `konoha_spark_profile` and its data source: the real `terraform` CLI
//! against a real OpenBao dev server.
//!
//! The lifecycle test goes through the built provider binary (go-plugin handshake, mutual TLS);
//! the others attach Terraform to a provider served in this process, which is faster.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use serde_json::json;
use support::openbao::{AuditedRequest, OpenBao};
use support::provider::InProcessProvider;
use support::terraform::{Action, ProviderHookup, Step, TestCase, Workdir};

/// The provider's source address, and a provider block: empty (Vault from `VAULT_ADDR` and
/// `VAULT_TOKEN`) or naming `bao` (for a provider served in this process, which does not see
/// the environment Terraform runs with).
fn providers(bao: Option<&OpenBao>) -> String {
    let vault = bao.map_or(String::new(), |bao| {
        format!(
            "\n  vault {{\n    address = \"{}\"\n    token   = \"{}\"\n  }}\n",
            bao.addr, bao.token
        )
    });
    format!(
        r#"
terraform {{
  required_providers {{
    konoha = {{ source = "konoha/konoha" }}
  }}
}}

provider "konoha" {{{vault}}}
"#
    )
}

/// A profile configuration; `body` goes inside the resource block after mount and name.
fn profile_with(bao: Option<&OpenBao>, mount: &str, name: &str, body: &str) -> String {
    format!(
        r#"{}
resource "konoha_spark_profile" "p" {{
  mount = "{mount}"
  name  = "{name}"
{body}
}}
"#,
        providers(bao)
    )
}

/// [`profile_with`] for the binary, which reads Vault's address and token from the environment.
fn profile(mount: &str, name: &str, body: &str) -> String {
    profile_with(None, mount, name, body)
}

fn data(bao: &OpenBao, name: &str) -> serde_json::Value {
    bao.kv_get("secret", name)
        .map(|(d, _)| d)
        .unwrap_or(serde_json::Value::Null)
}

fn version(bao: &OpenBao, name: &str) -> u64 {
    bao.kv_get("secret", name).map(|(_, v)| v).unwrap_or(0)
}

#[test]
fn lifecycle_through_the_binary() {
    let bao = OpenBao::start();
    let name = "spark/lifecycle";
    let first = profile(
        "secret",
        name,
        "  executor_instances = 4\n  executor_memory = \"4g\"\n",
    );
    let second = profile(
        "secret",
        name,
        "  executor_instances = 6\n  executor_memory = \"4g\"\n",
    );
    let mut case = TestCase::new(ProviderHookup::cargo_binary());
    for (k, v) in bao.env() {
        case = case.env(k, v);
    }
    case.step(Step::config(first.clone()).check(|state| {
        state.check_attr("konoha_spark_profile.p", "id", "secret/spark/lifecycle")?;
        state.check_attr(
            "konoha_spark_profile.p",
            "path",
            "secret/data/spark/lifecycle",
        )?;
        state.check_attr("konoha_spark_profile.p", "version", 1)?;
        state.check_attr(
            "konoha_spark_profile.p",
            "recommended_shuffle_partitions",
            32,
        )?;
        let stored = data(&bao, name);
        let expected = json!({
            "spark.dynamicAllocation.enabled": "false",
            "spark.executor.cores": "2",
            "spark.executor.instances": "4",
            "spark.executor.memory": "4g",
            "spark.kubernetes.executor.request.cores": "1.8",
            "spark.sql.shuffle.partitions": "200",
        });
        if stored != expected {
            return Err(format!("stored data {stored}, expected {expected}"));
        }
        let rendered = state.attr("konoha_spark_profile.p", "rendered").cloned();
        let expected_env = "spark.dynamicAllocation.enabled=false\nspark.executor.cores=2\n\
            spark.executor.instances=4\nspark.executor.memory=4g\n\
            spark.kubernetes.executor.request.cores=1.8\nspark.sql.shuffle.partitions=200\n";
        if rendered != Some(json!(expected_env)) {
            return Err(format!("rendered {rendered:?}"));
        }
        Ok(())
    }))
    // In place: a new version, shown before apply with the new ref known at plan time.
    .step(
        Step::config(second.clone())
            .plan_check(|plan| {
                plan.check_actions("konoha_spark_profile.p", &[Action::Update])?;
                let change = plan.change("konoha_spark_profile.p").unwrap();
                if change.is_unknown_after("ref") || change.is_unknown_after("rendered") {
                    return Err("ref and rendered must be known at plan time".into());
                }
                if !change.is_unknown_after("version") {
                    return Err("a content change must plan a new version".into());
                }
                // The cost shows before and after: 4 then 6 executors of 4096 + 409 MiB and
                // 1.8 CPU, beside Spark's default driver (1 CPU, 1024 + 384 MiB).
                let engine = |footprint: Option<&serde_json::Value>| {
                    footprint.map(|f| f["engine"].clone())
                };
                let before = engine(change.before_attr("footprint"));
                let after = engine(change.after_attr("footprint"));
                let expected_before =
                    json!({"pods": "5", "cpu_request": "8200m", "memory": "19428Mi", "gpus": "0"});
                let expected_after =
                    json!({"pods": "7", "cpu_request": "11800m", "memory": "28438Mi", "gpus": "0"});
                if before != Some(expected_before) || after != Some(expected_after) {
                    return Err(format!("footprint before {before:?}, after {after:?}"));
                }
                let executor = change.after_attr("footprint").map(|f| f["executor"].clone());
                let expected_executor =
                    json!({"cpu_request": "1800m", "cpu_limit": null, "memory": "4505Mi", "gpus": "0"});
                if executor != Some(expected_executor) {
                    return Err(format!("executor footprint {executor:?}"));
                }
                Ok(())
            })
            .check(|state| {
                state.check_attr("konoha_spark_profile.p", "version", 2)?;
                state.check_attr("konoha_spark_profile.p", "executor_instances", 6)
            }),
    )
    // The same configuration again writes nothing: still version 2.
    .step(
        Step::config(second.clone()).check(|_| match version(&bao, name) {
            2 => Ok(()),
            v => Err(format!("a no-op apply wrote version {v}")),
        }),
    )
    .step(Step::import("konoha_spark_profile.p").import_state_verify())
    // Someone edits the secret in Vault: the plan shows it, apply puts the settings back.
    .step(
        Step::config(second)
            .pre_config(|_| {
                bao.kv_put(
                    "secret",
                    name,
                    json!({
                        "spark.dynamicAllocation.enabled": "false",
                        "spark.executor.cores": "2",
                        "spark.executor.instances": "6",
                        "spark.executor.memory": "8g",
                        "spark.kubernetes.executor.request.cores": "1.8",
                        "spark.sql.shuffle.partitions": "200",
                        "spark.hand.edit": "yes",
                    }),
                );
                Ok(())
            })
            .plan_check(|plan| {
                plan.check_actions("konoha_spark_profile.p", &[Action::Update])?;
                let change = plan.change("konoha_spark_profile.p").unwrap();
                let before = change.before_attr("executor_memory").cloned();
                let extra = change.before_attr("extra_conf").cloned();
                if before != Some(json!("8g")) || extra != Some(json!({"spark.hand.edit": "yes"})) {
                    return Err(format!(
                        "drift not shown: memory {before:?}, extra_conf {extra:?}"
                    ));
                }
                // The footprint follows what Vault holds: 8192 + 819 MiB per executor.
                let footprint = change
                    .before_attr("footprint")
                    .map(|f| f["executor"]["memory"].clone());
                if footprint != Some(json!("9011Mi")) {
                    return Err(format!("drift not in the footprint: {footprint:?}"));
                }
                Ok(())
            })
            .check(|_| {
                let stored = data(&bao, name);
                if stored["spark.executor.memory"] != "4g"
                    || stored.get("spark.hand.edit").is_some()
                {
                    return Err(format!("apply did not restore the settings: {stored}"));
                }
                Ok(())
            }),
    )
    .check_destroy(|| match bao.kv_get("secret", name) {
        None => Ok(()),
        Some((d, v)) => Err(format!("secret still live after destroy: v{v} {d}")),
    })
    .run_or_panic();
}

#[test]
fn changing_the_name_replaces_the_profile() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let mut case = TestCase::new(provider.hookup());
    for (k, v) in bao.env() {
        case = case.env(k, v);
    }
    case.step(Step::config(profile_with(
        Some(&bao),
        "secret",
        "spark/old",
        "",
    )))
    .step(
        Step::config(profile_with(Some(&bao), "secret", "spark/new", ""))
            .plan_check(|plan| {
                plan.check_actions("konoha_spark_profile.p", &[Action::Delete, Action::Create])
            })
            .check(|_| {
                if bao.kv_get("secret", "spark/old").is_some() {
                    return Err("the old secret is still live".into());
                }
                bao.kv_get("secret", "spark/new")
                    .map(|_| ())
                    .ok_or("new secret missing".into())
            }),
    )
    .run_or_panic();
}

#[test]
fn a_deleted_secret_is_planned_for_re_creation() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let config = profile_with(
        Some(&bao),
        "secret",
        "spark/gone",
        "  delete_all_versions = true\n",
    );
    let mut case = TestCase::new(provider.hookup());
    for (k, v) in bao.env() {
        case = case.env(k, v);
    }
    case.step(Step::config(config.clone()))
        .step(
            Step::config(config.clone())
                .pre_config(|_| {
                    bao.soft_delete("secret", "spark/gone");
                    Ok(())
                })
                .plan_check(|plan| plan.check_actions("konoha_spark_profile.p", &[Action::Create]))
                .check(|state| {
                    state.check_attr("konoha_spark_profile.p", "version", 2)?;
                    bao.kv_get("secret", "spark/gone")
                        .map(|_| ())
                        .ok_or("not re-created".into())
                }),
        )
        .check_destroy(|| match bao.kv_metadata("secret", "spark/gone") {
            None => Ok(()),
            Some(m) => Err(format!("delete_all_versions left metadata behind: {m}")),
        })
        .run_or_panic();
}

#[test]
fn metadata_changes_write_no_new_version() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let with = |owner: &str| {
        profile_with(
            Some(&bao),
            "secret",
            "spark/meta",
            &format!("  max_versions = 5\n  custom_metadata = {{ owner = \"{owner}\" }}\n"),
        )
    };
    let mut case = TestCase::new(provider.hookup());
    for (k, v) in bao.env() {
        case = case.env(k, v);
    }
    case.step(Step::config(with("a")))
        .step(Step::config(with("b")).check(|state| {
            state.check_attr("konoha_spark_profile.p", "version", 1)?;
            let meta = bao.kv_metadata("secret", "spark/meta").unwrap();
            if meta["custom_metadata"] != json!({"owner": "b"}) || meta["max_versions"] != 5 {
                return Err(format!("metadata not written: {meta}"));
            }
            Ok(())
        }))
        .step(Step::import("konoha_spark_profile.p").import_state_verify())
        .run_or_panic();
}

#[test]
fn a_version_limit_taken_out_of_the_configuration_goes_back_to_the_mounts() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let name = "spark/limit";
    let with = |body: &str| profile_with(Some(&bao), "secret", name, body);
    let limit = || bao.kv_metadata("secret", name).unwrap()["max_versions"].clone();
    TestCase::new(provider.hookup())
        .step(Step::config(with("  max_versions = 3\n")).check(|_| {
            (limit() == 3)
                .then_some(())
                .ok_or(format!("max_versions not written: {}", limit()))
        }))
        // 0 is Vault's "the mount's setting". Before the fix the 3 stayed, unseen by refresh,
        // and an import read it back against a state holding null.
        .step(Step::config(with("")).check(|state| {
            state.check_no_attr("konoha_spark_profile.p", "max_versions")?;
            (limit() == 0)
                .then_some(())
                .ok_or(format!("max_versions left at {}", limit()))
        }))
        .step(Step::import("konoha_spark_profile.p").import_state_verify())
        .run_or_panic();
}

#[test]
fn a_concurrent_edit_fails_the_apply_and_survives() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup())
        .unwrap()
        .with_env(&bao.env());
    work.set_config(&profile_with(
        Some(&bao),
        "secret",
        "spark/race",
        "  executor_instances = 2\n",
    ))
    .unwrap();
    work.terraform(["apply", "-auto-approve"]).ok().unwrap();
    work.set_config(&profile_with(
        Some(&bao),
        "secret",
        "spark/race",
        "  executor_instances = 3\n",
    ))
    .unwrap();
    work.terraform(["plan", "-out", "change.tfplan"])
        .ok()
        .unwrap();
    let edit = json!({"spark.executor.instances": "9"});
    bao.kv_put("secret", "spark/race", edit.clone());
    let apply = work.terraform(["apply", "change.tfplan"]);
    assert!(!apply.success(), "apply over a concurrent edit must fail");
    assert!(
        apply
            .stderr
            .contains("changed in Vault after Terraform last read it"),
        "unexpected error: {}",
        apply.stderr
    );
    assert_eq!(
        data(&bao, "spark/race"),
        edit,
        "the concurrent edit must be left in place"
    );
    work.terraform(["destroy", "-auto-approve"]).ok().unwrap();
}

/// Vault requests per secret path among `requests`, for paths under `secret/`.
fn requests_per_path(requests: &[AuditedRequest]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in requests.iter().filter(|r| r.path.starts_with("secret/")) {
        *counts
            .entry(format!("{} {}", request.operation, request.path))
            .or_insert(0) += 1;
    }
    counts
}

#[test]
fn a_refresh_reads_each_profile_with_one_request_unless_it_manages_max_versions() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup())
        .unwrap()
        .with_env(&bao.env());
    let mut config = providers(Some(&bao));
    for (label, body) in [
        ("a", ""),
        ("b", ""),
        ("custom", "  custom_metadata = { owner = \"etl\" }\n"),
        ("max", "  max_versions = 4\n"),
    ] {
        config.push_str(&format!(
            "resource \"konoha_spark_profile\" \"{label}\" {{\n  mount = \"secret\"\n  \
             name = \"spark/count/{label}\"\n{body}}}\n"
        ));
    }
    work.set_config(&config).unwrap();
    work.terraform(["apply", "-auto-approve"]).ok().unwrap();

    let before = bao.audited_requests().len();
    let plan = work.terraform(["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(plan.code, Some(0), "no-change plan expected: {plan}");
    let refresh = requests_per_path(&bao.audited_requests()[before..]);
    let expected: BTreeMap<String, usize> = [
        "read secret/data/spark/count/a",
        "read secret/data/spark/count/b",
        "read secret/data/spark/count/custom",
        "read secret/data/spark/count/max",
        "read secret/metadata/spark/count/max",
    ]
    .into_iter()
    .map(|request| (request.to_owned(), 1))
    .collect();
    assert_eq!(refresh, expected, "Vault requests made by one refresh");

    // Custom metadata comes with the data read, so a change made in Vault still shows.
    let edit = json!({"custom_metadata": {"owner": "someone-else"}});
    let edited = bao.call("POST", "/v1/secret/metadata/spark/count/custom", Some(edit));
    assert_eq!(edited.status, 204, "{edited:?}");
    let plan = work.terraform(["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(plan.code, Some(2), "metadata drift must show: {plan}");
    assert!(
        plan.stdout
            .contains("konoha_spark_profile.custom will be updated in-place")
            && plan.stdout.contains("someone-else"),
        "{plan}"
    );
    work.terraform(["destroy", "-auto-approve"]).ok().unwrap();
}

#[test]
fn the_data_source_reads_a_profile() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    bao.kv_put(
        "secret",
        "spark/shared",
        json!({"spark.executor.instances": "3", "spark.executor.memory": "1g"}),
    );
    let config = format!(
        r#"{}
data "konoha_spark_profile" "shared" {{
  mount = "secret"
  name  = "spark/shared"
}}
"#,
        providers(Some(&bao))
    );
    let mut case = TestCase::new(provider.hookup());
    for (k, v) in bao.env() {
        case = case.env(k, v);
    }
    case.step(Step::config(config).check(|state| {
        let a = "data.konoha_spark_profile.shared";
        state.check_attr(a, "executor_instances", 3)?;
        state.check_attr(a, "executor_memory", "1g")?;
        state.check_attr(a, "version", 1)?;
        // 3 executors and the driver, each Spark's default 1 CPU and 1024 + 384 MiB.
        state.check_attr(a, "footprint.engine.pods", "4")?;
        state.check_attr(a, "footprint.engine.cpu_request", "4")?;
        state.check_attr(a, "footprint.engine.memory", "5632Mi")?;
        state.check_attr(a, "footprint.executor.memory", "1408Mi")?;
        state.check_attr(
            a,
            "rendered",
            "spark.executor.instances=3\nspark.executor.memory=1g\n",
        )
    }))
    .run_or_panic();
}

/// Every validation rule stops `terraform validate` with a message that names the attribute,
/// and nothing reaches Vault.
#[test]
fn validate_rejects_bad_settings_before_anything_is_written() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup())
        .unwrap()
        .with_env(&bao.env());
    let cases: &[(&str, &str, &str)] = &[
        ("  executor_memory = \"2.5g\"\n", "executor_memory", "2560m"),
        ("  executor_memory = \"2048\"\n", "executor_memory", "unit"),
        ("  executor_memory = \"100m\"\n", "executor_memory", "450"),
        (
            "  executor_memory_overhead = \"1x\"\n",
            "executor_memory_overhead",
            "memory",
        ),
        ("  executor_cores = 0\n", "executor_cores", "at least 1"),
        (
            "  executor_request_cores = \"abc\"\n",
            "executor_request_cores",
            "quantity",
        ),
        (
            "  executor_limit_cores = \"1\"\n",
            "executor_limit_cores",
            "1.8",
        ),
        (
            "  executor_instances = 0\n",
            "executor_instances",
            "at least 1",
        ),
        (
            "  shuffle_partitions = 0\n",
            "shuffle_partitions",
            "at least 1",
        ),
        (
            "  dynamic_allocation {\n    enabled = true\n    min_executors = 5\n    initial_executors = 2\n    max_executors = 10\n  }\n",
            "initial_executors = 2",
            "min_executors",
        ),
        (
            "  extra_conf = { \"sql.x\" = \"1\" }\n",
            "extra_conf",
            "spark.",
        ),
        (
            "  extra_conf = { \"spark.executor.memory\" = \"1g\" }\n",
            "extra_conf",
            "executor_memory",
        ),
        (
            "  extra_conf = { \"spark.master\" = \"local\" }\n",
            "extra_conf",
            "server",
        ),
        (
            "  extra_conf = { \"spark.x\" = \"a\\nb\" }\n",
            "extra_conf",
            "line",
        ),
        (
            "  extra_conf = { \"spark.x\" = \"\" }\n",
            "extra_conf",
            "empty",
        ),
        ("  gpu {\n    amount = 0\n  }\n", "gpu", "at least 1"),
        (
            &"  custom_metadata = { k = \"%\" }\n".replace('%', &"v".repeat(600)),
            "custom_metadata",
            "512",
        ),
    ];
    let mut failures = Vec::new();
    for (body, attribute, hint) in cases {
        work.set_config(&profile_with(Some(&bao), "secret", "spark/invalid", body))
            .unwrap();
        let out = work.terraform(["validate", "-no-color"]);
        let text = format!("{}{}", out.stdout, out.stderr);
        let attribute_shown = text.contains(attribute) && text.contains("Error:");
        if out.success() || !attribute_shown || !text.contains(hint) {
            failures.push(format!("--- {body}{text}"));
        }
    }
    // The data source holds its mount and name to the same rules, an empty one included.
    for (mount, name, line) in [
        ("", "spark/a", "mount = \"\""),
        ("secret", "", "name  = \"\""),
    ] {
        let data = format!(
            "{}\ndata \"konoha_spark_profile\" \"d\" {{\n  mount = \"{mount}\"\n  name  = \"{name}\"\n}}\n",
            providers(Some(&bao))
        );
        work.set_config(&data).unwrap();
        let out = work.terraform(["validate", "-no-color"]);
        if out.success() || !out.stderr.contains("is empty") || !out.stderr.contains(line) {
            failures.push(format!("--- data source {line}\n{}", out.stderr));
        }
    }
    for (mount, name) in [("secret", "a//b"), ("sec/ret", "x"), ("secret", "/x")] {
        work.set_config(&profile_with(Some(&bao), mount, name, ""))
            .unwrap();
        let out = work.terraform(["validate", "-no-color"]);
        if out.success() {
            failures.push(format!("--- mount {mount:?} name {name:?} was accepted"));
        }
    }
    assert!(
        failures.is_empty(),
        "validation gaps:\n{}",
        failures.join("\n")
    );
    assert!(
        bao.kv_metadata("secret", "spark/invalid").is_none(),
        "validate wrote to Vault"
    );
}

/// Issue 6: `delete_all_versions` says how destroy works, not what Vault holds. Changing only
/// it plans every computed value known and writes nothing to Vault. (Before it was marked
/// client-side, the framework counted it as a change, but `modify_plan` recomputed every value
/// and the write found the content unchanged, so this held already; it guards the mechanism.)
#[test]
fn changing_only_delete_all_versions_writes_nothing() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let soft = profile_with(Some(&bao), "secret", "spark/how", "");
    let hard = profile_with(
        Some(&bao),
        "secret",
        "spark/how",
        "  delete_all_versions = true\n",
    );
    let mut case = TestCase::new(provider.hookup());
    for (k, v) in bao.env() {
        case = case.env(k, v);
    }
    case.step(Step::config(soft))
        .step(
            Step::config(hard)
                .plan_check(|plan| {
                    plan.check_actions("konoha_spark_profile.p", &[Action::Update])?;
                    let change = plan.change("konoha_spark_profile.p").ok_or("no change")?;
                    for computed in ["id", "path", "rendered", "content_sha256", "ref", "version"] {
                        if change.is_unknown_after(computed) {
                            return Err(format!("{computed} planned unknown"));
                        }
                    }
                    Ok(())
                })
                .check(|state| {
                    state.check_attr("konoha_spark_profile.p", "delete_all_versions", true)?;
                    match bao.kv_versions("secret", "spark/how").len() {
                        1 => Ok(()),
                        n => Err(format!("{n} versions in Vault: the change wrote one")),
                    }
                }),
        )
        .run_or_panic();
}

/// Issue 9, "GPU executors that start": a `gpu` block writes the four lines Spark on Kubernetes
/// needs (amount, vendor, discovery script, task amount), shares stay the decimals written
/// (`0.25`, and `0.1`, which Terraform sends as text since no float holds it), the apply plans
/// no change afterwards, import reads them back, the data source shows them, and a hand edit of
/// the task amount in Vault shows as drift of `gpu.task_amount`.
#[test]
fn a_gpu_profile_renders_the_gpu_lines_and_plans_no_change() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let name = "spark/gpu";
    let script = "/opt/spark/examples/src/main/scripts/getGpusResources.sh";
    let quarter = profile_with(
        Some(&bao),
        "secret",
        name,
        "  gpu {\n    amount      = 2\n    task_amount = 0.25\n  }\n",
    );
    let tenth = format!(
        "{}{}",
        profile_with(
            Some(&bao),
            "secret",
            name,
            "  gpu {\n    amount           = 1\n    task_amount      = 0.1\n    discovery_script = \"/opt/gpu/find.sh\"\n  }\n",
        ),
        r#"
data "konoha_spark_profile" "d" {
  mount      = "secret"
  name       = "spark/gpu"
  depends_on = [konoha_spark_profile.p]
}
"#
    );
    let gpu_lines = |stored: &serde_json::Value| -> Vec<String> {
        let mut lines: Vec<String> = stored
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.contains(".resource.gpu."))
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("<not a string>")))
            .collect();
        lines.sort();
        lines
    };
    TestCase::new(provider.hookup())
        .step(Step::config(quarter).check(|state| {
            let expected = [
                "spark.executor.resource.gpu.amount=2".to_owned(),
                format!("spark.executor.resource.gpu.discoveryScript={script}"),
                "spark.executor.resource.gpu.vendor=nvidia.com".to_owned(),
                "spark.task.resource.gpu.amount=0.25".to_owned(),
            ];
            let stored = gpu_lines(&data(&bao, name));
            if stored != expected {
                return Err(format!("Vault holds {stored:?}, wanted {expected:?}"));
            }
            let rendered = state
                .attr("konoha_spark_profile.p", "rendered")
                .and_then(|r| r.as_str())
                .unwrap_or_default()
                .to_owned();
            if !expected
                .iter()
                .all(|line| rendered.lines().any(|l| l == line))
            {
                return Err(format!("rendered lacks a GPU line:\n{rendered}"));
            }
            state.check_attr("konoha_spark_profile.p", "gpu.discovery_script", script)?;
            state.check_attr("konoha_spark_profile.p", "gpu.task_amount", 0.25)
        }))
        .step(Step::import("konoha_spark_profile.p").import_state_verify())
        .step(Step::config(tenth.clone()).check(|state| {
            let stored = data(&bao, name);
            if stored["spark.task.resource.gpu.amount"] != "0.1"
                || stored["spark.executor.resource.gpu.discoveryScript"] != "/opt/gpu/find.sh"
            {
                return Err(format!("the share was not written as 0.1: {stored}"));
            }
            let d = "data.konoha_spark_profile.d";
            state.check_attr(d, "gpu_amount", 1)?;
            state.check_attr(d, "gpu_vendor", "nvidia.com")?;
            state.check_attr(d, "gpu_discovery_script", "/opt/gpu/find.sh")?;
            state.check_attr(d, "gpu_task_amount", 0.1)?;
            state.check_attr("konoha_spark_profile.p", "gpu.task_amount", 0.1)
        }))
        // Someone halves the share in Vault: the plan shows it in gpu.task_amount and apply
        // writes 0.1 back.
        .step(
            Step::config(tenth)
                .pre_config(|_| {
                    let mut stored = data(&bao, name);
                    stored["spark.task.resource.gpu.amount"] = json!("0.05");
                    bao.kv_put("secret", name, stored);
                    Ok(())
                })
                .plan_check(|plan| {
                    plan.check_actions("konoha_spark_profile.p", &[Action::Update])?;
                    let change = plan.change("konoha_spark_profile.p").unwrap();
                    let before = change.before_attr("gpu.task_amount").cloned();
                    let after = change.after_attr("gpu.task_amount").cloned();
                    if before != Some(json!(0.05)) || after != Some(json!(0.1)) {
                        return Err(format!(
                            "drift not shown in gpu.task_amount: {before:?} → {after:?}"
                        ));
                    }
                    Ok(())
                })
                .check(
                    |_| match data(&bao, name)["spark.task.resource.gpu.amount"].as_str() {
                        Some("0.1") => Ok(()),
                        other => Err(format!("apply did not restore the share: {other:?}")),
                    },
                ),
        )
        .run_or_panic();
}

/// A hand edit in Vault can put a decimal no float holds into state: a refresh reads the share
/// `0.10000000000000000001` back into `gpu.task_amount`, and Terraform stores it as a JSON
/// number. The next run's state upgrade read that number as the float 0.1, so a plan without
/// refresh showed no change; now it reads it exactly and plans the share back to 0.1.
#[test]
fn a_state_number_with_more_digits_than_a_float_reads_back_exactly() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let name = "spark/long-share";
    let work = Workdir::new(&provider.hookup())
        .unwrap()
        .with_env(&bao.env());
    work.set_config(&profile_with(
        Some(&bao),
        "secret",
        name,
        "  gpu {\n    amount      = 1\n    task_amount = 0.1\n  }\n",
    ))
    .unwrap();
    work.terraform(["apply", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    let long = "0.10000000000000000001";
    let mut stored = data(&bao, name);
    stored["spark.task.resource.gpu.amount"] = json!(long);
    bao.kv_put("secret", name, stored);
    work.terraform(["apply", "-refresh-only", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    let raw = std::fs::read_to_string(work.path().join("terraform.tfstate")).unwrap();
    assert!(
        raw.contains(&format!("\"task_amount\": {long}")),
        "the refreshed share is not in state as a JSON number:\n{raw}"
    );
    let plan = work.terraform(["plan", "-refresh=false", "-detailed-exitcode", "-no-color"]);
    assert_eq!(
        plan.code,
        Some(2),
        "no change planned:\n{}{}",
        plan.stdout,
        plan.stderr
    );
    let shown = plan.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        shown.contains(&format!("~ task_amount = {long} -> 0.1")),
        "the share is not planned back to 0.1:\n{}",
        plan.stdout
    );
}
