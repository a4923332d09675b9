//! The harness's one error type: what failed, on which command or step, with terraform's output.
//!
//! Left out: deciding *when* something failed; that is the runner's job (`case.rs`).

use std::error::Error as _;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// One finished `terraform` command: what ran, how it exited and what it printed.
///
/// The environment is never recorded, so a provider token passed through `TestCase::env`
/// cannot leak into a failure message.
#[derive(Debug, Clone)]
pub struct Output {
    /// The arguments after `terraform`.
    pub args: Vec<String>,
    /// The exit code, `None` when the process was killed (by a signal or the harness timeout).
    pub code: Option<i32>,
    /// Everything printed on stdout (lossily decoded as UTF-8).
    pub stdout: String,
    /// Everything printed on stderr (lossily decoded as UTF-8).
    pub stderr: String,
}

impl Output {
    /// Whether terraform exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The command line as a user would type it, e.g. `terraform plan -out=tfplan`.
    pub fn command(&self) -> String {
        command_line(&self.args)
    }

    /// `Ok(self)` when terraform exited with 0, else [`HarnessError::Command`].
    pub fn ok(self) -> Result<Output, HarnessError> {
        if self.success() {
            Ok(self)
        } else {
            Err(HarnessError::Command(self))
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "`{}` exited with code {code}", self.command())?,
            None => write!(f, "`{}` was killed before it exited", self.command())?,
        }
        write!(
            f,
            "\n--- stderr ---\n{}\n--- stdout ---\n{}",
            self.stderr.trim(),
            self.stdout.trim()
        )
    }
}

/// `terraform ARGS` as a user would type it, quoting arguments that need it.
pub(super) fn command_line(args: &[String]) -> String {
    let mut line = String::from("terraform");
    for arg in args {
        line.push(' ');
        if arg.is_empty() || arg.contains(char::is_whitespace) {
            line.push_str(&format!("{arg:?}"));
        } else {
            line.push_str(arg);
        }
    }
    line
}

/// Why a [`super::TestCase`] or a [`super::Workdir`] command failed.
///
/// Step failures come wrapped in [`HarnessError::Step`]; [`HarnessError::inner`] unwraps that to
/// the variant a test wants to match on.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// Creating the temp dir or writing a file in it failed.
    #[error("could not {action} {}", path.display())]
    Io {
        /// What the harness was doing, e.g. "write".
        action: &'static str,
        /// The file or directory it was doing it to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The `terraform` process could not be started.
    #[error("could not start `{command}`")]
    Spawn {
        /// The command line.
        command: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A command ran longer than the harness allows and was killed.
    #[error("timed out after {}s and was killed: {output}", timeout.as_secs())]
    Timeout {
        /// The limit that was hit.
        timeout: Duration,
        /// What the command printed before it was killed.
        output: Output,
    },
    /// A command that had to succeed exited non-zero.
    #[error("{0}")]
    Command(Output),
    /// `terraform show -json` printed something that is not the expected JSON document.
    #[error("could not parse the JSON printed by `{command}`")]
    Json {
        /// The command line.
        command: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// The step's `pre_config` closure returned an error.
    #[error("pre_config failed: {0}")]
    PreConfig(String),
    /// One or more `check` closures returned an error (all messages, one per line).
    #[error("check failed:\n{0}")]
    Check(String),
    /// One or more `plan_check` closures returned an error (all messages, one per line).
    #[error("plan check failed:\n{0}")]
    PlanCheck(String),
    /// The step expected terraform to fail, but every command succeeded.
    #[error("expected an error {expected}, but the step succeeded")]
    ErrorExpected {
        /// Description of the expected error.
        expected: String,
    },
    /// Terraform failed, but not with the expected error.
    #[error("expected an error {expected}, but got another one: {output}")]
    ErrorMismatch {
        /// Description of the expected error.
        expected: String,
        /// The failing command.
        output: Output,
    },
    /// The `plan -refresh=false` right after apply wanted changes.
    #[error("After applying this test step, the non-refresh plan was not empty.\n{plan}")]
    NonRefreshPlanNotEmpty {
        /// The human-readable plan.
        plan: String,
    },
    /// The refreshing plan after apply (or after a refresh step) wanted changes.
    #[error(
        "After applying this test step and performing a `terraform refresh`, the plan was not \
         empty.\n{plan}"
    )]
    RefreshPlanNotEmpty {
        /// The human-readable plan.
        plan: String,
    },
    /// A `plan_only` step's plan wanted changes.
    #[error("The plan was not empty.\n{plan}")]
    PlanNotEmpty {
        /// The human-readable plan.
        plan: String,
    },
    /// The step said `expect_non_empty_plan`, but the plan had no changes.
    #[error("Expected a non-empty plan, but got an empty plan")]
    PlanEmpty,
    /// An import or refresh step came before any config step whose plan succeeded.
    #[error("this step reuses the configuration of an earlier config step, but there is none")]
    NoEarlierConfig,
    /// The import ID could not be worked out.
    #[error("no import ID for `{address}`: {reason}")]
    NoImportId {
        /// The resource address being imported.
        address: String,
        /// Why not.
        reason: String,
    },
    /// `terraform import` succeeded but left no resource at the address.
    #[error("`terraform import` succeeded but `{address}` is not in the imported state")]
    ImportMissing {
        /// The resource address being imported.
        address: String,
    },
    /// The imported attributes differ from the previous step's state.
    #[error("imported `{address}` differs from the previous step's state:\n{diff}")]
    ImportVerify {
        /// The resource address being imported.
        address: String,
        /// One line per differing attribute path.
        diff: String,
    },
    /// A step failed.
    #[error("step {number} of {total} ({kind}) failed (working dir {})", workdir.display())]
    Step {
        /// 1-based step number.
        number: usize,
        /// Number of steps in the case.
        total: usize,
        /// "config", "plan-only config", "import" or "refresh".
        kind: &'static str,
        /// Working dir, kept on disk when `TF_ACC_PERSIST_WORKING_DIR` is set.
        workdir: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<HarnessError>,
    },
    /// `terraform destroy` after the last step failed.
    #[error("destroy after the last step failed (working dir {})", workdir.display())]
    Destroy {
        /// Working dir, kept on disk when `TF_ACC_PERSIST_WORKING_DIR` is set.
        workdir: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<HarnessError>,
    },
    /// The case's `check_destroy` closure returned an error.
    #[error("check_destroy failed: {0}")]
    CheckDestroy(String),
}

impl HarnessError {
    /// The error inside [`HarnessError::Step`] and [`HarnessError::Destroy`], or `self`.
    pub fn inner(&self) -> &HarnessError {
        match self {
            HarnessError::Step { source, .. } | HarnessError::Destroy { source, .. } => {
                source.inner()
            }
            other => other,
        }
    }

    /// The message and every `source` below it, one per paragraph: what a failing test prints.
    pub fn report(&self) -> String {
        let mut text = self.to_string();
        let mut next = self.source();
        while let Some(source) = next {
            text.push_str("\ncaused by: ");
            text.push_str(&source.to_string());
            next = source.source();
        }
        text
    }
}
