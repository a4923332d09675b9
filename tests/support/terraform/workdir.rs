//! Finding the `terraform` binary, wiring the provider into it and running commands in a fresh
//! temp dir.
//!
//! Left out: step semantics (`case.rs`) and reading the JSON terraform prints (`json.rs`).
//! `terraform init` is not needed: dev_overrides, reattached providers and the built-in
//! `terraform_data` all work without it, and init would try to reach the registry. Only a test
//! of installation itself (`ProviderHookup::Installed`) runs it.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use super::error::{HarnessError, Output, command_line};
use super::json::{Plan, State};

/// The provider's source address, as written in `required_providers`.
pub const PROVIDER_SOURCE: &str = "registry.terraform.io/konoha/konoha";

/// How long one terraform command may run before the harness kills it. A hung provider must
/// fail its test, not eat the CI budget.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// The panic message when no terraform binary can be found.
pub const MISSING_TERRAFORM: &str = "terraform not found on PATH: the acceptance tests need the \
     real terraform CLI (>= 1.5); install it or set TF_ACC_TERRAFORM_PATH";

/// Oldest terraform the harness supports: `terraform_data` and `import {}` need 1.5.
const MIN_VERSION: (u64, u64) = (1, 5);

/// The configuration file each step writes into the working dir.
const CONFIG_FILE: &str = "main.tf";

/// How Terraform reaches the konoha provider.
#[derive(Debug, Clone)]
pub enum ProviderHookup {
    /// No konoha provider: only Terraform's built-ins (`terraform_data`). For the harness's own
    /// tests.
    BuiltinOnly,
    /// The built provider binary, found through `dev_overrides` pointing at `dir`. Exercises the
    /// real go-plugin handshake and mTLS.
    Binary {
        /// Directory holding an executable named `terraform-provider-konoha`.
        dir: PathBuf,
    },
    /// A provider already serving in this test process, attached through
    /// `TF_REATTACH_PROVIDERS`.
    Reattach {
        /// The exact `TF_REATTACH_PROVIDERS` value.
        env: String,
    },
    /// No shortcut: the test runs `terraform init`, which installs the provider from where
    /// `cli_config` says (a filesystem mirror, a registry), as it does for users.
    Installed {
        /// The whole CLI configuration file.
        cli_config: String,
    },
}

impl ProviderHookup {
    /// [`ProviderHookup::Binary`] for the binary cargo built for this test run.
    pub fn cargo_binary() -> ProviderHookup {
        let exe = Path::new(env!("CARGO_BIN_EXE_terraform-provider-konoha"));
        let dir = exe
            .parent()
            .expect("a cargo-built binary always lives in a directory");
        ProviderHookup::Binary {
            dir: dir.to_path_buf(),
        }
    }

    /// The CLI configuration file (`TF_CLI_CONFIG_FILE`) for this hookup.
    ///
    /// Every hookup gets one, so the user's `~/.terraformrc` (plugin caches, credentials,
    /// mirrors) never changes what a test does. Only `Binary` names an installation method;
    /// the others leave `provider_installation` empty because nothing is ever installed.
    pub fn cli_config(&self) -> String {
        match self {
            ProviderHookup::BuiltinOnly | ProviderHookup::Reattach { .. } => {
                "provider_installation {\n}\n".to_owned()
            }
            ProviderHookup::Binary { dir } => {
                let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
                format!(
                    "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                    hcl_escape(&dir.to_string_lossy())
                )
            }
            ProviderHookup::Installed { cli_config } => cli_config.clone(),
        }
    }
}

/// Escapes a string for a quoted HCL literal in the CLI config.
pub fn hcl_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Finds terraform: `explicit` (the value of `TF_ACC_TERRAFORM_PATH`) when set, else the first
/// executable `terraform` on `path` (the value of `PATH`).
///
/// Pure apart from file-system lookups, so it is testable without touching the environment.
pub fn locate_terraform(explicit: Option<&OsStr>, path: Option<&OsStr>) -> Result<PathBuf, String> {
    if let Some(explicit) = explicit.filter(|value| !value.is_empty()) {
        let candidate = PathBuf::from(explicit);
        return if is_executable(&candidate) {
            Ok(candidate)
        } else {
            Err(format!(
                "TF_ACC_TERRAFORM_PATH={} is not an executable file",
                candidate.display()
            ))
        };
    }
    path.into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("terraform"))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| MISSING_TERRAFORM.to_owned())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The terraform binary for this test process, located and version-checked once.
///
/// # Panics
///
/// When terraform is missing or older than 1.5: the acceptance tests cannot run without it,
/// and skipping them would hide that.
pub fn terraform_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = BIN.get_or_init(|| {
        let bin = locate_terraform(
            std::env::var_os("TF_ACC_TERRAFORM_PATH").as_deref(),
            std::env::var_os("PATH").as_deref(),
        )?;
        check_version(&bin)?;
        Ok(bin)
    });
    match found {
        Ok(bin) => bin,
        Err(message) => panic!("{message}"),
    }
}

fn check_version(bin: &Path) -> Result<(), String> {
    let output = Command::new(bin)
        .args(["version", "-json"])
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("could not run `{} version -json`: {err}", bin.display()))?;
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|err| {
        format!(
            "`{} version -json` printed no JSON ({err}); is it really terraform?",
            bin.display()
        )
    })?;
    let version = json["terraform_version"].as_str().unwrap_or_default();
    let mut parts = version.split('.').map(|part| part.parse::<u64>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) if (major, minor) >= MIN_VERSION => Ok(()),
        _ => Err(format!(
            "{} is terraform {version:?}; the acceptance tests need >= {}.{}",
            bin.display(),
            MIN_VERSION.0,
            MIN_VERSION.1
        )),
    }
}

/// A terraform working directory in a fresh temp dir, with the environment every command gets.
///
/// Dropping it deletes the dir, unless `TF_ACC_PERSIST_WORKING_DIR` is set: then the dir is
/// kept and its path printed on stderr.
#[derive(Debug)]
pub struct Workdir {
    /// `None` once kept on disk; the root holds `cli.tfrc` and the working dir `work/`.
    root: Option<tempfile::TempDir>,
    path: PathBuf,
    env: Vec<(String, String)>,
}

impl Workdir {
    /// A fresh empty working dir wired to the provider through `hookup`.
    ///
    /// # Panics
    ///
    /// When terraform cannot be found (see [`terraform_bin`]).
    pub fn new(hookup: &ProviderHookup) -> Result<Workdir, HarnessError> {
        terraform_bin();
        let root = tempfile::Builder::new()
            .prefix("konoha-acc-")
            .tempdir()
            .map_err(|source| HarnessError::Io {
                action: "create a temp dir in",
                path: std::env::temp_dir(),
                source,
            })?;
        let cli_config = root.path().join("cli.tfrc");
        write(&cli_config, &hookup.cli_config())?;
        let path = root.path().join("work");
        fs::create_dir(&path).map_err(|source| HarnessError::Io {
            action: "create",
            path: path.clone(),
            source,
        })?;

        let mut env = vec![
            ("CHECKPOINT_DISABLE".to_owned(), "1".to_owned()),
            ("TF_IN_AUTOMATION".to_owned(), "1".to_owned()),
            ("TF_INPUT".to_owned(), "0".to_owned()),
            (
                "TF_CLI_CONFIG_FILE".to_owned(),
                cli_config.to_string_lossy().into_owned(),
            ),
        ];
        if let ProviderHookup::Reattach { env: value } = hookup {
            env.push(("TF_REATTACH_PROVIDERS".to_owned(), value.clone()));
        }
        Ok(Workdir {
            root: Some(root),
            path,
            env,
        })
    }

    /// Adds environment variables for every command (e.g. `VAULT_ADDR` for the provider).
    #[must_use]
    pub fn with_env(mut self, env: &[(String, String)]) -> Workdir {
        self.env.extend(env.iter().cloned());
        self
    }

    /// The working dir, where `main.tf` and the state live.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces `main.tf` with `hcl`.
    pub fn set_config(&self, hcl: &str) -> Result<(), HarnessError> {
        self.write_file(CONFIG_FILE, hcl)
    }

    /// Writes a file relative to the working dir, e.g. one a config reads with `file()`.
    pub fn write_file(&self, name: &str, contents: &str) -> Result<(), HarnessError> {
        write(&self.path.join(name), contents)
    }

    /// Runs `terraform ARGS` here. A non-zero exit is not an error; see [`Output::ok`].
    ///
    /// # Panics
    ///
    /// When terraform cannot be started or runs past [`COMMAND_TIMEOUT`].
    pub fn terraform<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.try_terraform(args)
            .unwrap_or_else(|err| panic!("{}", err.report()))
    }

    /// Like [`Workdir::terraform`], with start failures and timeouts as errors.
    pub fn try_terraform<I, S>(&self, args: I) -> Result<Output, HarnessError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let args: Vec<String> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let command = self.command(&args);
        let started = Instant::now();
        let result = run_with_timeout(command, args, COMMAND_TIMEOUT);
        if let Ok(output) = &result {
            eprintln!(
                "    $ {}  ({:.1}s, exit {})",
                output.command(),
                started.elapsed().as_secs_f64(),
                output
                    .code
                    .map_or_else(|| "none".to_owned(), |c| c.to_string())
            );
        }
        result
    }

    /// Starts `terraform ARGS` here without waiting, for a test that acts while it runs (say,
    /// kills the provider mid-apply). Output is piped: collect it with `wait_with_output`.
    ///
    /// # Panics
    ///
    /// When terraform cannot be started.
    pub fn spawn_terraform(&self, args: &[&str]) -> std::process::Child {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        self.command(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start terraform {}: {e}", args.join(" ")))
    }

    /// `terraform ARGS` in this dir with this dir's environment, nothing inherited that would
    /// change what it does.
    fn command(&self, args: &[String]) -> Command {
        let mut command = Command::new(terraform_bin());
        command.args(args).current_dir(&self.path);
        for (key, _) in std::env::vars_os() {
            if inherited_var_is_unsafe(&key) {
                command.env_remove(key);
            }
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// The current state, from `terraform show -json`.
    pub fn state(&self) -> Result<State, HarnessError> {
        let output = self.try_terraform(["show", "-json", "-no-color"])?.ok()?;
        State::from_json(&output.stdout).map_err(|source| HarnessError::Json {
            command: output.command(),
            source,
        })
    }

    /// A saved plan, from `terraform show -json PLANFILE`.
    pub fn saved_plan(&self, planfile: &str) -> Result<Plan, HarnessError> {
        let output = self
            .try_terraform(["show", "-json", "-no-color", planfile])?
            .ok()?;
        Plan::from_json(&output.stdout).map_err(|source| HarnessError::Json {
            command: output.command(),
            source,
        })
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let persist = std::env::var_os("TF_ACC_PERSIST_WORKING_DIR").is_some_and(|v| !v.is_empty());
        if let Some(root) = self.root.take()
            && persist
        {
            eprintln!("kept terraform working dir {}", root.keep().display());
        }
    }
}

/// Inherited variables that would make a test depend on the developer's shell: extra CLI
/// arguments, another workspace or data dir, input variables, or a stray reattach config.
fn inherited_var_is_unsafe(key: &OsString) -> bool {
    let key = key.to_string_lossy();
    key.starts_with("TF_CLI_ARGS")
        || key.starts_with("TF_VAR_")
        || matches!(
            key.as_ref(),
            "TF_WORKSPACE" | "TF_DATA_DIR" | "TF_REATTACH_PROVIDERS" | "TF_PLUGIN_CACHE_DIR"
        )
}

fn write(path: &Path, contents: &str) -> Result<(), HarnessError> {
    fs::write(path, contents).map_err(|source| HarnessError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// Runs `command` to completion, killing it once `timeout` has passed.
///
/// Two threads drain stdout and stderr (so a chatty process never blocks on a full pipe) and
/// report on a channel when each hits EOF; this thread waits on that channel with a deadline.
fn run_with_timeout(
    mut command: Command,
    args: Vec<String>,
    timeout: Duration,
) -> Result<Output, HarnessError> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| HarnessError::Spawn {
            command: command_line(&args),
            source,
        })?;

    let (done, finished) = mpsc::channel();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .map(|stream| {
        let done = done.clone();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                // A read error just ends the capture early; the exit code still tells the story.
                let _ = stream.read_to_end(&mut bytes);
            }
            let _ = done.send(());
            String::from_utf8_lossy(&bytes).into_owned()
        })
    })
    .collect();
    drop(done);

    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    for _ in 0..readers.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if finished.recv_timeout(left).is_err() {
            timed_out = true;
            // Killing closes the pipes, which lets the reader threads finish.
            let _ = child.kill();
            break;
        }
    }
    let status = child.wait().map_err(|source| HarnessError::Spawn {
        command: command_line(&args),
        source,
    })?;
    let mut texts = readers
        .into_iter()
        .map(|reader| reader.join().unwrap_or_default());
    let output = Output {
        args,
        code: if timed_out { None } else { status.code() },
        stdout: texts.next().unwrap_or_default(),
        stderr: texts.next().unwrap_or_default(),
    };
    if timed_out {
        Err(HarnessError::Timeout { timeout, output })
    } else {
        Ok(output)
    }
}
