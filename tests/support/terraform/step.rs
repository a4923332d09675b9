//! [`Step`]: one step of a [`super::TestCase`], built with chained options.
//!
//! Left out: running steps (`case.rs`). Options that make no sense for a step's kind (a plan
//! check on an import) panic at once, while the test is being written.

use std::fmt;
use std::path::Path;

use super::json::{Plan, State};

/// A closure run with the working dir before the step, e.g. to change a remote object
/// out of band or a local file the config reads.
pub(super) type PreConfig<'a> = Box<dyn FnOnce(&Path) -> Result<(), String> + 'a>;
/// A closure run on the state after the step.
pub(super) type StateCheck<'a> = Box<dyn FnOnce(&State) -> Result<(), String> + 'a>;
/// A closure run on the step's saved plan before it is applied.
pub(super) type PlanCheck<'a> = Box<dyn FnOnce(&Plan) -> Result<(), String> + 'a>;
/// A closure computing an import ID from the previous step's state.
pub(super) type ImportIdFn<'a> = Box<dyn FnOnce(&State) -> Result<String, String> + 'a>;

/// What error a step expects terraform to fail with.
pub enum ExpectError<'a> {
    /// Stderr contains this text. Both sides are compared with box-drawing characters dropped
    /// and whitespace runs collapsed, since terraform wraps diagnostics at 78 columns.
    Contains(String),
    /// The predicate accepts terraform's stderr.
    Matches(Box<dyn Fn(&str) -> bool + 'a>),
}

impl ExpectError<'_> {
    /// Whether a failing command's stderr is the expected error.
    pub fn matches(&self, stderr: &str) -> bool {
        match self {
            ExpectError::Contains(text) => normalize(stderr).contains(&normalize(text)),
            ExpectError::Matches(predicate) => predicate(stderr),
        }
    }
}

impl fmt::Display for ExpectError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectError::Contains(text) => write!(f, "containing {text:?}"),
            ExpectError::Matches(_) => f.write_str("accepted by the step's predicate"),
        }
    }
}

fn normalize(text: &str) -> String {
    text.replace(['│', '╷', '╵'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where an import step gets the ID it passes to `terraform import`.
pub(super) enum ImportId<'a> {
    /// The `id` attribute of the resource in the previous step's state.
    FromState,
    /// A fixed ID.
    Fixed(String),
    /// Computed from the previous step's state.
    Computed(ImportIdFn<'a>),
}

/// What a step does.
pub(super) enum StepKind<'a> {
    /// Write the config, plan, apply (or only plan), check.
    Config { hcl: String, plan_only: bool },
    /// Import into a fresh working dir with the last config.
    Import {
        address: String,
        id: ImportId<'a>,
        verify: bool,
        ignore: Vec<String>,
    },
    /// `terraform apply -refresh-only`, then check.
    Refresh,
}

/// One test step. Build with [`Step::config`], [`Step::import`] or [`Step::refresh`] and chain
/// options:
///
/// ```ignore
/// Step::config(HCL)
///     .check(|state| state.check_attr("terraform_data.a", "output", "one"))
///     .plan_check(|plan| plan.check_actions("terraform_data.a", &[Action::Create]))
/// ```
pub struct Step<'a> {
    pub(super) kind: StepKind<'a>,
    pub(super) pre_config: Option<PreConfig<'a>>,
    pub(super) checks: Vec<StateCheck<'a>>,
    pub(super) plan_checks: Vec<PlanCheck<'a>>,
    pub(super) expect_error: Option<ExpectError<'a>>,
    pub(super) expect_non_empty_plan: bool,
}

impl fmt::Debug for Step<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Step")
            .field("kind", &self.kind_name())
            .field("checks", &self.checks.len())
            .field("plan_checks", &self.plan_checks.len())
            .field(
                "expect_error",
                &self.expect_error.as_ref().map(|e| e.to_string()),
            )
            .field("expect_non_empty_plan", &self.expect_non_empty_plan)
            .finish_non_exhaustive()
    }
}

impl<'a> Step<'a> {
    fn new(kind: StepKind<'a>) -> Step<'a> {
        Step {
            kind,
            pre_config: None,
            checks: Vec::new(),
            plan_checks: Vec::new(),
            expect_error: None,
            expect_non_empty_plan: false,
        }
    }

    /// Apply `hcl` as the whole configuration (`main.tf`), then check the state and that
    /// plans are empty afterwards.
    pub fn config(hcl: impl Into<String>) -> Step<'a> {
        Step::new(StepKind::Config {
            hcl: hcl.into(),
            plan_only: false,
        })
    }

    /// Import `address` into a fresh working dir and state, using the last config step's
    /// configuration. The ID defaults to the `id` attribute in the previous step's state.
    pub fn import(address: impl Into<String>) -> Step<'a> {
        Step::new(StepKind::Import {
            address: address.into(),
            id: ImportId::FromState,
            verify: false,
            ignore: Vec::new(),
        })
    }

    /// Refresh the state (`terraform apply -refresh-only`), then check it and that plans are
    /// empty afterwards.
    pub fn refresh() -> Step<'a> {
        Step::new(StepKind::Refresh)
    }

    /// "config", "plan-only config", "import" or "refresh".
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            StepKind::Config {
                plan_only: false, ..
            } => "config",
            StepKind::Config {
                plan_only: true, ..
            } => "plan-only config",
            StepKind::Import { .. } => "import",
            StepKind::Refresh => "refresh",
        }
    }

    /// Runs `f` with the working dir before anything else in this step.
    #[must_use]
    pub fn pre_config(mut self, f: impl FnOnce(&Path) -> Result<(), String> + 'a) -> Step<'a> {
        self.pre_config = Some(Box::new(f));
        self
    }

    /// Adds a check on the state after the step (the imported state for an import step).
    /// All checks run; their errors are reported together.
    #[must_use]
    pub fn check(mut self, f: impl FnOnce(&State) -> Result<(), String> + 'a) -> Step<'a> {
        self.checks.push(Box::new(f));
        self
    }

    /// Adds a check on the step's plan (`terraform show -json` of the saved plan), run before
    /// it is applied. Config steps only.
    #[must_use]
    pub fn plan_check(mut self, f: impl FnOnce(&Plan) -> Result<(), String> + 'a) -> Step<'a> {
        self.only_for_config("plan_check");
        self.plan_checks.push(Box::new(f));
        self
    }

    /// The step must fail with stderr containing `text` (see [`ExpectError::Contains`]).
    /// A step that fails as expected ends there; the state stays as the previous step left it.
    #[must_use]
    pub fn expect_error(mut self, text: impl Into<String>) -> Step<'a> {
        self.expect_error = Some(ExpectError::Contains(text.into()));
        self
    }

    /// The step must fail with a stderr that `predicate` accepts.
    #[must_use]
    pub fn expect_error_matching(mut self, predicate: impl Fn(&str) -> bool + 'a) -> Step<'a> {
        self.expect_error = Some(ExpectError::Matches(Box::new(predicate)));
        self
    }

    /// The plans after this step must *not* be empty (e.g. a value that drifts on every
    /// refresh). An empty refreshing plan then fails the step.
    #[must_use]
    pub fn expect_non_empty_plan(mut self) -> Step<'a> {
        self.only_for(
            !matches!(self.kind, StepKind::Import { .. }),
            "expect_non_empty_plan",
        );
        self.expect_non_empty_plan = true;
        self
    }

    /// Only plan, never apply: the plan must be empty (or non-empty with
    /// [`Step::expect_non_empty_plan`]). Config steps only.
    #[must_use]
    pub fn plan_only(mut self) -> Step<'a> {
        self.only_for_config("plan_only");
        if let StepKind::Config { plan_only, .. } = &mut self.kind {
            *plan_only = true;
        }
        self
    }

    /// Import with this ID instead of the previous state's `id` attribute.
    #[must_use]
    pub fn import_id(mut self, id: impl Into<String>) -> Step<'a> {
        *self.import_id_mut("import_id") = ImportId::Fixed(id.into());
        self
    }

    /// Import with an ID computed from the previous step's state (e.g. `"mount/name"`).
    #[must_use]
    pub fn import_id_from(
        mut self,
        f: impl FnOnce(&State) -> Result<String, String> + 'a,
    ) -> Step<'a> {
        *self.import_id_mut("import_id_from") = ImportId::Computed(Box::new(f));
        self
    }

    /// Compare every attribute of the imported resource with the previous step's state.
    #[must_use]
    pub fn import_state_verify(mut self) -> Step<'a> {
        match &mut self.kind {
            StepKind::Import { verify, .. } => *verify = true,
            _ => panic!("import_state_verify only applies to Step::import"),
        }
        self
    }

    /// Leave these attribute paths (and everything below them) out of the import comparison;
    /// turns on [`Step::import_state_verify`].
    #[must_use]
    pub fn verify_ignore<I, S>(mut self, paths: I) -> Step<'a>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        match &mut self.kind {
            StepKind::Import { verify, ignore, .. } => {
                *verify = true;
                ignore.extend(paths.into_iter().map(Into::into));
            }
            _ => panic!("verify_ignore only applies to Step::import"),
        }
        self
    }

    fn import_id_mut(&mut self, method: &str) -> &mut ImportId<'a> {
        match &mut self.kind {
            StepKind::Import { id, .. } => id,
            _ => panic!("{method} only applies to Step::import"),
        }
    }

    fn only_for_config(&self, method: &str) {
        self.only_for(matches!(self.kind, StepKind::Config { .. }), method);
    }

    fn only_for(&self, allowed: bool, method: &str) {
        assert!(
            allowed,
            "{method} does not apply to a {} step",
            self.kind_name()
        );
    }
}
