//! Self-test of the acceptance harness (`tests/support/terraform`) against the real terraform
//! CLI, using only the built-in `terraform_data`: no provider and no server needed.
//!
//! Positive tests run whole cases; negative tests assert that `TestCase::run` returns the right
//! error, so a harness that stopped noticing a failure would fail here. The last group covers
//! the pure helpers (paths, markers, diffs, error matching) with inline JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::cell::{Cell, RefCell};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;
use support::terraform::{
    Action, ExpectError, HarnessError, MISSING_TERRAFORM, Plan, ProviderHookup, State, Step,
    TestCase, Workdir, diff_attributes, flatten, locate_terraform, lookup, marked,
};

const ADDR: &str = "terraform_data.a";

fn case<'a>() -> TestCase<'a> {
    TestCase::new(ProviderHookup::BuiltinOnly)
}

/// `terraform_data.a` with `input.value = value`; destroying it creates the file `marker`.
fn tracked(value: &str, marker: &Path) -> String {
    format!(
        r#"
resource "terraform_data" "a" {{
  input = {{
    value  = "{value}"
    marker = "{marker}"
  }}
  provisioner "local-exec" {{
    when    = destroy
    command = "touch '${{self.input.marker}}'"
  }}
}}
"#,
        marker = marker.display()
    )
}

/// `terraform_data.a` whose input is the content of `value.txt` in the working dir.
const FROM_FILE: &str = r#"
resource "terraform_data" "a" {
  input = trimspace(file("${path.module}/value.txt"))
}
"#;

/// Replaced on every plan, because `timestamp()` is only known at apply time.
const PERPETUAL_DIFF: &str = r#"
resource "terraform_data" "a" {
  triggers_replace = timestamp()
}
"#;

const INVALID: &str = r#"
resource "terraform_data" "a" {
  bogus = 1
}
"#;

fn write_value(value: &'static str) -> impl FnOnce(&Path) -> Result<(), String> {
    move |dir| fs::write(dir.join("value.txt"), value).map_err(|e| e.to_string())
}

fn marker_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("destroyed")
}

#[test]
fn create_update_refresh_then_destroy_before_check_destroy() {
    let scratch = tempfile::tempdir().unwrap();
    let marker = marker_in(&scratch);
    let first_id = RefCell::new(String::new());
    let destroy_checked = Cell::new(false);

    case()
        .step(
            Step::config(tracked("one", &marker))
                .plan_check(|plan| plan.check_actions(ADDR, &[Action::Create]))
                .check(|state| {
                    state.check_attr(ADDR, "output.value", "one")?;
                    let id = state.attr(ADDR, "id").and_then(|v| v.as_str());
                    *first_id.borrow_mut() = id.ok_or("no id")?.to_owned();
                    Ok(())
                }),
        )
        .step(
            Step::config(tracked("two", &marker))
                .plan_check(|plan| {
                    plan.check_actions(ADDR, &[Action::Update])?;
                    let change = plan.change(ADDR).ok_or("no change")?;
                    assert_eq!(change.before_attr("input.value"), Some(&json!("one")));
                    assert_eq!(change.after_attr("input.value"), Some(&json!("two")));
                    assert!(change.is_unknown_after("output"));
                    Ok(())
                })
                .check(|state| {
                    state.check_attr(ADDR, "output.value", "two")?;
                    state.check_attr(ADDR, "id", first_id.borrow().as_str())
                }),
        )
        .step(Step::refresh().check(|state| state.check_attr(ADDR, "input.value", "two")))
        .check_destroy(|| {
            destroy_checked.set(true);
            match marker.exists() {
                true => Ok(()),
                false => Err("destroy provisioner did not run".into()),
            }
        })
        .run_or_panic();

    assert!(destroy_checked.get(), "check_destroy was not called");
}

#[test]
fn every_command_gets_the_harness_and_case_environment() {
    let scratch = tempfile::tempdir().unwrap();
    let dump = scratch.path().join("env.txt");
    let config = format!(
        r#"
resource "terraform_data" "a" {{
  provisioner "local-exec" {{
    command = "printenv CHECKPOINT_DISABLE TF_IN_AUTOMATION TF_INPUT KONOHA_SELFTEST > '{}'"
  }}
}}
"#,
        dump.display()
    );
    case()
        .env("KONOHA_SELFTEST", "from-the-case")
        .step(Step::config(config))
        .run_or_panic();
    assert_eq!(
        fs::read_to_string(&dump).unwrap(),
        "1\n1\n0\nfrom-the-case\n"
    );
}

#[test]
fn expected_errors_pass_and_destroy_uses_the_last_good_config() {
    let scratch = tempfile::tempdir().unwrap();
    let marker = marker_in(&scratch);
    case()
        .step(Step::config(tracked("one", &marker)))
        .step(
            Step::config(INVALID)
                .expect_error(r#"An argument named "bogus" is not expected here."#),
        )
        .step(
            Step::config(INVALID)
                .expect_error_matching(|stderr| stderr.contains("Error: Unsupported argument")),
        )
        .check_destroy(|| match marker.exists() {
            true => Ok(()),
            false => Err("the last valid config was not destroyed".into()),
        })
        .run_or_panic();
}

#[test]
fn expect_error_matches_across_terraform_line_wrapping() {
    // Terraform wraps this message at 78 columns; the expectation is written on one line.
    let config = r#"
variable "v" {
  type    = string
  default = "x"
  validation {
    condition     = length(var.v) > 5
    error_message = "This is a very long error message that terraform wraps around the seventy-eight column width."
  }
}
"#;
    case()
        .step(Step::config(config).expect_error(
            "This is a very long error message that terraform wraps around the seventy-eight column width.",
        ))
        .run_or_panic();
}

#[test]
fn expect_error_fails_on_a_different_error() {
    let err = case()
        .step(Step::config(INVALID).expect_error("some other error"))
        .run()
        .unwrap_err();
    let HarnessError::ErrorMismatch { expected, output } = err.inner() else {
        panic!("wrong error: {}", err.report());
    };
    assert_eq!(expected, r#"containing "some other error""#);
    assert!(output.stderr.contains("Unsupported argument"), "{output}");
}

#[test]
fn expect_error_fails_when_the_step_succeeds() {
    let err = case()
        .step(
            Step::config(PERPETUAL_DIFF)
                .plan_only()
                .expect_error("anything"),
        )
        .run()
        .unwrap_err();
    assert!(
        matches!(err.inner(), HarnessError::ErrorExpected { .. }),
        "wrong error: {}",
        err.report()
    );
}

#[test]
fn unexpected_failure_reports_command_exit_code_and_stderr() {
    let err = case().step(Step::config(INVALID)).run().unwrap_err();
    let HarnessError::Command(output) = err.inner() else {
        panic!("wrong error: {}", err.report());
    };
    assert_eq!(output.args.first().map(String::as_str), Some("plan"));
    assert_eq!(output.code, Some(1));
    let report = err.report();
    for needle in [
        "step 1 of 1 (config) failed (working dir ",
        "`terraform plan -no-color -input=false -detailed-exitcode -out=tfplan` exited with code 1",
        "--- stderr ---\nError: Unsupported argument",
    ] {
        assert!(report.contains(needle), "{needle:?} not in:\n{report}");
    }
}

#[test]
fn pre_config_drift_is_detected_by_a_plan_only_step() {
    let planned = Cell::new(false);
    case()
        .step(Step::config(FROM_FILE).pre_config(write_value("one")))
        .step(
            Step::config(FROM_FILE)
                .pre_config(write_value("two"))
                .plan_only()
                .expect_non_empty_plan()
                .plan_check(|plan| {
                    planned.set(true);
                    plan.check_actions(ADDR, &[Action::Update])?;
                    let change = plan.change(ADDR).ok_or("no change")?;
                    assert_eq!(change.before_attr("input"), Some(&json!("one")));
                    assert_eq!(change.after_attr("input"), Some(&json!("two")));
                    Ok(())
                }),
        )
        .step(Step::config(FROM_FILE).check(|state| state.check_attr(ADDR, "output", "two")))
        .run_or_panic();
    assert!(planned.get(), "plan_check was not called");
}

#[test]
fn plan_only_step_fails_on_a_non_empty_plan() {
    let err = case()
        .step(Step::config(FROM_FILE).pre_config(write_value("one")))
        .step(
            Step::config(FROM_FILE)
                .pre_config(write_value("two"))
                .plan_only(),
        )
        .run()
        .unwrap_err();
    let HarnessError::PlanNotEmpty { plan } = err.inner() else {
        panic!("wrong error: {}", err.report());
    };
    assert!(
        plan.contains("terraform_data.a will be updated in-place"),
        "{plan}"
    );
    assert!(
        err.report()
            .starts_with("step 2 of 2 (plan-only config) failed")
    );
}

#[test]
fn expect_non_empty_plan_fails_on_an_empty_plan() {
    let err = case()
        .step(Step::config(FROM_FILE).pre_config(write_value("one")))
        .step(Step::config(FROM_FILE).plan_only().expect_non_empty_plan())
        .run()
        .unwrap_err();
    assert!(
        matches!(err.inner(), HarnessError::PlanEmpty),
        "wrong error: {}",
        err.report()
    );
}

#[test]
fn non_empty_plan_after_apply_fails_the_case() {
    let err = case().step(Step::config(PERPETUAL_DIFF)).run().unwrap_err();
    let HarnessError::NonRefreshPlanNotEmpty { plan } = err.inner() else {
        panic!("wrong error: {}", err.report());
    };
    assert!(plan.contains("must be replaced"), "{plan}");
    assert!(
        err.report()
            .contains("After applying this test step, the non-refresh plan was not empty."),
        "{}",
        err.report()
    );
}

#[test]
fn expect_non_empty_plan_accepts_a_perpetual_diff() {
    case()
        .step(Step::config(PERPETUAL_DIFF).expect_non_empty_plan())
        .run_or_panic();
}

#[test]
fn failed_checks_are_reported_together_and_the_case_still_destroys() {
    let scratch = tempfile::tempdir().unwrap();
    let marker = marker_in(&scratch);
    let err = case()
        .step(
            Step::config(tracked("one", &marker))
                .check(|state| state.check_attr(ADDR, "output.value", "wrong"))
                .check(|state| state.check_no_resource(ADDR)),
        )
        .check_destroy(|| Err("must not run after a failed step".into()))
        .run()
        .unwrap_err();
    let HarnessError::Check(message) = err.inner() else {
        panic!("wrong error: {}", err.report());
    };
    assert_eq!(
        message,
        "terraform_data.a: output.value is \"one\", expected \"wrong\"\n\
         terraform_data.a is still in the state"
    );
    assert!(marker.exists(), "the failed case was not destroyed");
}

#[test]
fn a_panicking_check_still_destroys_then_panics() {
    let scratch = tempfile::tempdir().unwrap();
    let marker = marker_in(&scratch);
    let panicked = std::panic::catch_unwind(|| {
        case()
            .step(Step::config(tracked("one", &marker)).check(|_| panic!("assert in a check")))
            .run()
    });
    let payload = panicked.expect_err("the check's panic was swallowed");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"assert in a check"));
    assert!(marker.exists(), "the panicking case was not destroyed");
}

#[test]
fn import_state_verify_reports_attributes_the_import_lost() {
    let err = case()
        .step(Step::config(FROM_FILE).pre_config(write_value("one")))
        .step(Step::import(ADDR).import_state_verify())
        .run()
        .unwrap_err();
    let HarnessError::ImportVerify { address, diff } = err.inner() else {
        panic!("wrong error: {}", err.report());
    };
    assert_eq!(address, ADDR);
    // terraform_data imports only its id.
    assert_eq!(
        diff,
        "  input: state \"one\" / imported null\n  output: state \"one\" / imported null"
    );
}

#[test]
fn import_state_verify_passes_with_ignored_attributes() {
    let imported_id = RefCell::new(String::new());
    case()
        .step(Step::config(FROM_FILE).pre_config(write_value("one")))
        .step(
            Step::import(ADDR)
                .verify_ignore(["input", "output"])
                .check(|state| {
                    *imported_id.borrow_mut() = state.attr(ADDR, "id").unwrap().to_string();
                    state.check_no_attr(ADDR, "input")
                }),
        )
        .step(
            Step::import(ADDR)
                .import_id("chosen-id")
                .check(|state| state.check_attr(ADDR, "id", "chosen-id")),
        )
        .run_or_panic();
    assert!(imported_id.borrow().len() > 2, "import check did not run");
}

#[test]
fn binary_hookup_writes_dev_overrides_that_terraform_reads() {
    let hookup = ProviderHookup::Binary {
        dir: PathBuf::from("/opt/konoha \"bin\""),
    };
    assert_eq!(
        hookup.cli_config(),
        "provider_installation {\n  dev_overrides {\n    \
         \"registry.terraform.io/konoha/konoha\" = \"/opt/konoha \\\"bin\\\"\"\n  }\n  \
         direct {}\n}\n"
    );
    assert_eq!(
        ProviderHookup::Reattach { env: "{}".into() }.cli_config(),
        "provider_installation {\n}\n"
    );

    let hookup = ProviderHookup::cargo_binary();
    let ProviderHookup::Binary { dir } = &hookup else {
        unreachable!()
    };
    let work = Workdir::new(&hookup).unwrap();
    work.set_config(r#"resource "terraform_data" "a" {}"#)
        .unwrap();
    let plan = work.terraform(["plan", "-no-color"]).ok().unwrap();
    assert!(
        plan.stdout
            .contains(&format!(" - konoha/konoha in {}", dir.display())),
        "{plan}"
    );
}

#[test]
fn locate_terraform_prefers_the_explicit_path_and_explains_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let empty_path = Some(dir.path().as_os_str());
    assert_eq!(
        locate_terraform(None, empty_path),
        Err(MISSING_TERRAFORM.to_owned())
    );
    assert_eq!(
        locate_terraform(None, None),
        Err(MISSING_TERRAFORM.to_owned())
    );

    let fake = dir.path().join("terraform");
    fs::write(&fake, "#!/bin/sh\n").unwrap();
    assert_eq!(
        locate_terraform(None, empty_path),
        Err(MISSING_TERRAFORM.to_owned()),
        "a non-executable file is not terraform"
    );
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(locate_terraform(None, empty_path), Ok(fake.clone()));
    assert_eq!(
        locate_terraform(Some(fake.as_os_str()), None),
        Ok(fake.clone())
    );
    assert_eq!(
        locate_terraform(Some(OsStr::new("/nonexistent/terraform")), empty_path),
        Err("TF_ACC_TERRAFORM_PATH=/nonexistent/terraform is not an executable file".into())
    );
}

#[test]
fn lookup_walks_lists_and_dotted_map_keys() {
    let values = json!({
        "conf": {"spark.executor.memory": "2g", "spark": {"x": 1}},
        "list": [{"name": "a"}, {"name": "b"}],
    });
    assert_eq!(
        lookup(&values, "conf.spark.executor.memory"),
        Some(&json!("2g"))
    );
    assert_eq!(lookup(&values, "conf.spark.x"), Some(&json!(1)));
    assert_eq!(lookup(&values, "list.1.name"), Some(&json!("b")));
    assert_eq!(lookup(&values, ""), Some(&values));
    assert_eq!(lookup(&values, "list.2.name"), None);
    assert_eq!(lookup(&values, "list.x"), None);
    assert_eq!(lookup(&values, "conf.spark.y"), None);
}

#[test]
fn marked_is_true_at_or_below_a_true_marker() {
    let mirror = json!({"token": true, "list": [false, true], "conf": {"a.b": true}});
    assert!(marked(&mirror, "token"));
    assert!(marked(&mirror, "token.inner.0"));
    assert!(marked(&mirror, "list.1"));
    assert!(!marked(&mirror, "list.0"));
    assert!(marked(&mirror, "conf.a.b"));
    assert!(!marked(&mirror, "conf"));
    assert!(!marked(&json!({}), "token"));
    assert!(!marked(&json!(false), ""));
}

#[test]
fn diff_attributes_skips_ignored_paths_and_their_children_only() {
    let state = json!({"id": "1", "input": {"x": [1, 2]}, "input_extra": "a", "gone": {}});
    let imported = json!({"id": "1", "input": null, "input_extra": "b"});
    assert_eq!(
        diff_attributes(&state, &imported, &["input".to_owned()]),
        "  gone: state {} / imported (absent)\n  input_extra: state \"a\" / imported \"b\""
    );
    assert_eq!(
        flatten(&state).keys().collect::<Vec<_>>(),
        ["gone", "id", "input.x.0", "input.x.1", "input_extra"]
    );
}

#[test]
fn state_and_plan_parse_terraform_show_json() {
    let state = State::from_json(
        &json!({
            "format_version": "1.0",
            "values": {
                "outputs": {"o": {"value": "s3cr3t", "sensitive": true}},
                "root_module": {
                    "resources": [{"address": "terraform_data.a", "mode": "managed",
                        "type": "terraform_data", "name": "a", "provider_name": "p",
                        "values": {"id": "1"}, "sensitive_values": {}}],
                    "child_modules": [{"resources": [{"address": "module.m.terraform_data.b",
                        "mode": "managed", "type": "terraform_data", "name": "b",
                        "provider_name": "p", "values": {"token": "t"},
                        "sensitive_values": {"token": true}}]}]
                }
            }
        })
        .to_string(),
    )
    .unwrap();
    let addresses: Vec<&str> = state
        .resources()
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(addresses, ["terraform_data.a", "module.m.terraform_data.b"]);
    assert!(
        state
            .resource("module.m.terraform_data.b")
            .unwrap()
            .is_sensitive("token")
    );
    assert!(state.output_value("o").unwrap().sensitive);
    assert!(
        State::from_json(r#"{"format_version":"1.0"}"#)
            .unwrap()
            .resources()
            .is_empty()
    );

    let plan = Plan::from_json(
        &json!({
            "resource_changes": [{"address": "x.a", "type": "x",
                "change": {"actions": ["delete", "create"], "before": {"n": 1},
                    "after": {"n": 2}, "after_unknown": {"id": true}},
                "action_reason": "replace_because_cannot_update"}],
            "output_changes": {"o": {"actions": ["no-op"]}}
        })
        .to_string(),
    )
    .unwrap();
    let change = plan.change("x.a").unwrap();
    assert!(change.is_replace() && plan.has_changes());
    assert!(change.is_unknown_after("id") && !change.is_unknown_after("n"));
    assert_eq!(
        plan.check_actions("x.a", &[Action::Delete, Action::Create]),
        Ok(())
    );
    assert_eq!(
        plan.check_actions("x.a", &[Action::Update]),
        Err("x.a: planned [Delete, Create], expected [Update]".into())
    );
}

#[test]
fn expect_error_text_ignores_wrapping_and_diagnostic_frames() {
    let stderr = "╷\n│ Error: Invalid value\n│ \n│ This is long\n│ text.\n╵\n";
    assert!(ExpectError::Contains("This is long text.".into()).matches(stderr));
    assert!(!ExpectError::Contains("This is longer".into()).matches(stderr));
    assert!(ExpectError::Matches(Box::new(|s| s.starts_with('╷'))).matches(stderr));
}
