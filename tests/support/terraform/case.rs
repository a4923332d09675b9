//! [`TestCase`]: runs [`Step`]s against the real terraform CLI, then destroys everything, the
//! way terraform-plugin-testing's `resource.Test` does.
//!
//! Left out: building steps (`step.rs`) and process handling (`workdir.rs`). No `TF_ACC` gate:
//! `make test` provides terraform, so a missing one is a failure, not a skip.

use std::panic::{self, AssertUnwindSafe};

use super::error::{HarnessError, Output};
use super::json::{State, flatten};
use super::step::{ExpectError, ImportId, Step, StepKind};
use super::workdir::{ProviderHookup, Workdir};

/// The plan file each config step saves and applies.
const PLAN_FILE: &str = "tfplan";

/// A whole acceptance test: steps run in order in one working dir, then `terraform destroy`,
/// then `check_destroy`.
///
/// ```ignore
/// TestCase::new(ProviderHookup::cargo_binary())
///     .env("VAULT_ADDR", bao.addr())
///     .step(Step::config(HCL).check(|s| s.check_attr("konoha_x.a", "name", "a")))
///     .step(Step::import("konoha_x.a").import_state_verify())
///     .check_destroy(|| bao.expect_gone("x/a"))
///     .run_or_panic();
/// ```
pub struct TestCase<'a> {
    /// How terraform reaches the provider.
    pub hookup: ProviderHookup,
    /// Extra environment for every terraform command (e.g. the provider's `VAULT_ADDR`).
    pub env: Vec<(String, String)>,
    /// The steps, in order.
    pub steps: Vec<Step<'a>>,
    /// Runs after a successful destroy; checks that the remote objects are really gone.
    pub check_destroy: Option<Box<dyn Fn() -> Result<(), String> + 'a>>,
}

impl std::fmt::Debug for TestCase<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `env` may hold tokens, so only its keys are shown.
        let keys: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("TestCase")
            .field("hookup", &self.hookup)
            .field("env_keys", &keys)
            .field("steps", &self.steps)
            .field("check_destroy", &self.check_destroy.is_some())
            .finish()
    }
}

impl<'a> TestCase<'a> {
    /// An empty case using `hookup`.
    pub fn new(hookup: ProviderHookup) -> TestCase<'a> {
        TestCase {
            hookup,
            env: Vec::new(),
            steps: Vec::new(),
            check_destroy: None,
        }
    }

    /// Adds an environment variable for every terraform command.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> TestCase<'a> {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Appends a step.
    #[must_use]
    pub fn step(mut self, step: Step<'a>) -> TestCase<'a> {
        self.steps.push(step);
        self
    }

    /// Sets the check run after destroy.
    #[must_use]
    pub fn check_destroy(mut self, f: impl Fn() -> Result<(), String> + 'a) -> TestCase<'a> {
        self.check_destroy = Some(Box::new(f));
        self
    }

    /// Runs every step, destroys what they created (also after a failed or panicking step) and
    /// runs `check_destroy`. Returns the first failure; a destroy failure after a failed step
    /// is printed on stderr, since the step's failure is the one to fix first.
    ///
    /// # Panics
    ///
    /// When terraform cannot be found, or a command cannot be started or hangs.
    pub fn run(self) -> Result<(), HarnessError> {
        let TestCase {
            hookup,
            env,
            steps,
            check_destroy,
        } = self;
        let mut runner = Runner {
            work: Workdir::new(&hookup)?.with_env(&env),
            hookup,
            env,
            config: None,
            state: None,
            applied: false,
        };

        // A panicking check (an `assert!` in a closure) must not leak what the steps created,
        // so the panic is held until destroy has run, then resumed.
        let steps_outcome = panic::catch_unwind(AssertUnwindSafe(|| runner.run_steps(steps)));
        let destroyed = runner.destroy().map_err(|source| HarnessError::Destroy {
            workdir: runner.work.path().to_path_buf(),
            source: Box::new(source),
        });
        let outcome = match steps_outcome {
            Ok(outcome) => outcome,
            Err(panic_payload) => {
                if let Err(destroy_error) = destroyed {
                    eprintln!("after the panic, {}", destroy_error.report());
                }
                panic::resume_unwind(panic_payload)
            }
        };
        match (outcome, destroyed) {
            (Err(step_error), Err(destroy_error)) => {
                eprintln!("after the failed step, {}", destroy_error.report());
                Err(step_error)
            }
            (Err(error), Ok(())) | (Ok(()), Err(error)) => Err(error),
            (Ok(()), Ok(())) => match check_destroy {
                Some(check) => check().map_err(HarnessError::CheckDestroy),
                None => Ok(()),
            },
        }
    }

    /// [`TestCase::run`], panicking with the full error report on failure.
    pub fn run_or_panic(self) {
        if let Err(error) = self.run() {
            panic!("{}", error.report());
        }
    }
}

/// What carries over from one step to the next.
struct Runner {
    work: Workdir,
    hookup: ProviderHookup,
    env: Vec<(String, String)>,
    /// The last config whose plan succeeded: what import, refresh and destroy run with.
    config: Option<String>,
    /// The state after the last apply or refresh: what import steps compare against.
    state: Option<State>,
    /// Whether anything may have been created, so destroy is needed.
    applied: bool,
}

impl Runner {
    /// Runs the steps in order, stopping at the first failure.
    fn run_steps(&mut self, steps: Vec<Step<'_>>) -> Result<(), HarnessError> {
        let total = steps.len();
        for (index, step) in steps.into_iter().enumerate() {
            let kind = step.kind_name();
            eprintln!("--- step {} of {total}: {kind}", index + 1);
            self.step(step).map_err(|source| HarnessError::Step {
                number: index + 1,
                total,
                kind,
                workdir: self.work.path().to_path_buf(),
                source: Box::new(source),
            })?;
        }
        Ok(())
    }

    fn step(&mut self, step: Step<'_>) -> Result<(), HarnessError> {
        let Step {
            kind,
            pre_config,
            checks,
            plan_checks,
            expect_error,
            expect_non_empty_plan,
        } = step;
        if let Some(pre_config) = pre_config {
            pre_config(self.work.path()).map_err(HarnessError::PreConfig)?;
        }
        let expect = Expectations {
            checks,
            error: expect_error,
            non_empty_plan: expect_non_empty_plan,
        };
        match kind {
            StepKind::Config { hcl, plan_only } => {
                self.config_step(hcl, plan_only, plan_checks, expect)
            }
            StepKind::Import {
                address,
                id,
                verify,
                ignore,
            } => self.import_step(&address, id, verify.then_some(&ignore[..]), expect),
            StepKind::Refresh => self.refresh_step(expect),
        }
    }

    fn config_step(
        &mut self,
        hcl: String,
        plan_only: bool,
        plan_checks: Vec<super::step::PlanCheck<'_>>,
        expect: Expectations<'_>,
    ) -> Result<(), HarnessError> {
        self.work.set_config(&hcl)?;
        let plan = self.work.try_terraform([
            "plan",
            "-no-color",
            "-input=false",
            "-detailed-exitcode",
            &format!("-out={PLAN_FILE}"),
        ])?;
        let plan_has_changes = match plan.code {
            Some(0) => false,
            Some(2) => true,
            _ => return expect.failed(plan),
        };
        self.config = Some(hcl);
        if !plan_checks.is_empty() {
            let saved = self.work.saved_plan(PLAN_FILE)?;
            collect(plan_checks.into_iter().map(|check| check(&saved)))
                .map_err(HarnessError::PlanCheck)?;
        }

        if plan_only {
            expect.no_error_expected()?;
            return match (plan_has_changes, expect.non_empty_plan) {
                (true, false) => Err(HarnessError::PlanNotEmpty { plan: plan.stdout }),
                (false, true) => Err(HarnessError::PlanEmpty),
                _ => Ok(()),
            };
        }

        self.applied = true;
        self.apply_and_check(PLAN_FILE, expect)
    }

    fn refresh_step(&mut self, expect: Expectations<'_>) -> Result<(), HarnessError> {
        self.restore_config()?;
        self.apply_and_check("-refresh-only", expect)
    }

    /// `terraform apply -auto-approve <what>` (a plan file or `-refresh-only`), then the
    /// post-apply checks, unless the step expected the apply to fail.
    fn apply_and_check(
        &mut self,
        what: &str,
        expect: Expectations<'_>,
    ) -> Result<(), HarnessError> {
        let apply = self.work.try_terraform([
            "apply",
            "-no-color",
            "-input=false",
            "-auto-approve",
            what,
        ])?;
        if !apply.success() {
            return expect.failed(apply);
        }
        expect.no_error_expected()?;
        self.check_state_and_plans(expect)
    }

    /// After an apply or refresh: checks on the state, then the non-refresh plan and the
    /// refreshing plan must both be empty (unless a non-empty plan is expected).
    fn check_state_and_plans(&mut self, expect: Expectations<'_>) -> Result<(), HarnessError> {
        let state = self.work.state()?;
        collect(expect.checks.into_iter().map(|check| check(&state)))
            .map_err(HarnessError::Check)?;
        self.state = Some(state);

        let plan = ["plan", "-no-color", "-input=false", "-detailed-exitcode"];
        let non_refresh = self
            .work
            .try_terraform(plan.iter().copied().chain(["-refresh=false"]))?;
        match non_refresh.code {
            Some(0) => {}
            Some(2) if expect.non_empty_plan => {}
            Some(2) => {
                return Err(HarnessError::NonRefreshPlanNotEmpty {
                    plan: non_refresh.stdout,
                });
            }
            _ => return Err(HarnessError::Command(non_refresh)),
        }
        let refreshing = self.work.try_terraform(plan)?;
        match (refreshing.code, expect.non_empty_plan) {
            (Some(0), false) | (Some(2), true) => Ok(()),
            (Some(0), true) => Err(HarnessError::PlanEmpty),
            (Some(2), false) => Err(HarnessError::RefreshPlanNotEmpty {
                plan: refreshing.stdout,
            }),
            _ => Err(HarnessError::Command(refreshing)),
        }
    }

    /// Imports `address` into a fresh working dir with the last config, checks the imported
    /// state and, when `verify` lists the ignored paths, compares it with the previous state.
    fn import_step(
        &mut self,
        address: &str,
        id: ImportId<'_>,
        verify: Option<&[String]>,
        expect: Expectations<'_>,
    ) -> Result<(), HarnessError> {
        let config = self.config.clone().ok_or(HarnessError::NoEarlierConfig)?;
        let no_id = |reason: String| HarnessError::NoImportId {
            address: address.to_owned(),
            reason,
        };
        let previous = self.state.as_ref();
        let id = match id {
            ImportId::Fixed(id) => id,
            ImportId::FromState => previous
                .and_then(|state| state.attr(address, "id"))
                .and_then(|id| id.as_str())
                .map(str::to_owned)
                .ok_or_else(|| {
                    no_id("the previous state has no string `id` for it; use .import_id(..)".into())
                })?,
            ImportId::Computed(f) => {
                let state = previous.ok_or_else(|| no_id("no earlier step applied".into()))?;
                f(state).map_err(no_id)?
            }
        };

        let fresh = Workdir::new(&self.hookup)?.with_env(&self.env);
        fresh.set_config(&config)?;
        let import = fresh.try_terraform(["import", "-no-color", "-input=false", address, &id])?;
        if !import.success() {
            return expect.failed(import);
        }
        expect.no_error_expected()?;

        let imported = fresh.state()?;
        let resource = imported
            .resource(address)
            .ok_or_else(|| HarnessError::ImportMissing {
                address: address.to_owned(),
            })?;
        if let Some(ignore) = verify {
            let before = previous
                .and_then(|state| state.resource(address))
                .map(|r| r.values.clone())
                .unwrap_or_default();
            let diff = diff_attributes(&before, &resource.values, ignore);
            if !diff.is_empty() {
                return Err(HarnessError::ImportVerify {
                    address: address.to_owned(),
                    diff,
                });
            }
        }
        collect(expect.checks.into_iter().map(|check| check(&imported)))
            .map_err(HarnessError::Check)
    }

    /// Destroys whatever the steps applied, with the last config that planned successfully
    /// (a later invalid config, tried by an `expect_error` step, could not be evaluated).
    fn destroy(&mut self) -> Result<(), HarnessError> {
        if !self.applied {
            return Ok(());
        }
        eprintln!("--- destroy");
        self.restore_config()?;
        self.work
            .try_terraform(["destroy", "-no-color", "-input=false", "-auto-approve"])?
            .ok()
            .map(drop)
    }

    fn restore_config(&self) -> Result<(), HarnessError> {
        let config = self.config.as_ref().ok_or(HarnessError::NoEarlierConfig)?;
        self.work.set_config(config)
    }
}

/// A step's expectations about its outcome.
struct Expectations<'a> {
    checks: Vec<super::step::StateCheck<'a>>,
    error: Option<ExpectError<'a>>,
    non_empty_plan: bool,
}

impl Expectations<'_> {
    /// The step's verdict when `output`'s command failed: fine if that error was expected.
    fn failed(&self, output: Output) -> Result<(), HarnessError> {
        match &self.error {
            None => Err(HarnessError::Command(output)),
            Some(expected) if expected.matches(&output.stderr) => Ok(()),
            Some(expected) => Err(HarnessError::ErrorMismatch {
                expected: expected.to_string(),
                output,
            }),
        }
    }

    /// Err when the step expected an error, called once every command has succeeded.
    fn no_error_expected(&self) -> Result<(), HarnessError> {
        match &self.error {
            Some(expected) => Err(HarnessError::ErrorExpected {
                expected: expected.to_string(),
            }),
            None => Ok(()),
        }
    }
}

/// Runs every check and joins all their errors, one per line.
fn collect(results: impl Iterator<Item = Result<(), String>>) -> Result<(), String> {
    let errors: Vec<String> = results.filter_map(Result::err).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

/// One line per attribute path that differs between `expected` and `actual`, skipping paths
/// equal to or below an `ignore` entry.
pub fn diff_attributes(
    expected: &serde_json::Value,
    actual: &serde_json::Value,
    ignore: &[String],
) -> String {
    let expected = flatten(expected);
    let actual = flatten(actual);
    let ignored = |path: &str| {
        ignore.iter().any(|prefix| {
            path == prefix
                || path
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    };
    let mut paths: Vec<&String> = expected.keys().chain(actual.keys()).collect();
    paths.sort();
    paths.dedup();
    let show = |value: Option<&serde_json::Value>| {
        value.map_or_else(|| "(absent)".to_owned(), ToString::to_string)
    };
    paths
        .into_iter()
        .filter(|path| !ignored(path))
        .filter(|path| expected.get(*path) != actual.get(*path))
        .map(|path| {
            format!(
                "  {path}: state {} / imported {}",
                show(expected.get(path)),
                show(actual.get(path))
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
