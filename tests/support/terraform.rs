//! A Terraform acceptance-test harness in the spirit of terraform-plugin-testing: real
//! `terraform` CLI, fresh temp dir per test, steps with checks, destroy at the end.
//!
//! Start at [`TestCase`] and [`Step`]. Each config step runs:
//! `pre_config` → `plan -out` (+ `plan_check`s) → `apply` → `check`s on `show -json` →
//! `plan -refresh=false` (must be empty) → refreshing `plan` (must be empty unless
//! `expect_non_empty_plan`). After the last step: `destroy`, then `check_destroy`.
//!
//! Every command runs with `CHECKPOINT_DISABLE=1`, `TF_IN_AUTOMATION=1`, `TF_INPUT=0` and a
//! generated `TF_CLI_CONFIG_FILE` (see [`ProviderHookup::cli_config`]). `terraform init` is
//! not run, except by tests of installation itself (`ProviderHookup::Installed`). Set
//! `TF_ACC_TERRAFORM_PATH` to pick the binary and `TF_ACC_PERSIST_WORKING_DIR` to keep working
//! dirs for a post-mortem.
//!
//! Left out: `TF_ACC` gating (nothing is skipped), external providers (there is no registry
//! access), `taint` and `destroy` steps, and config variables (format them into the HCL).

mod case;
mod error;
mod json;
mod step;
mod workdir;

// The harness API; each test binary uses only part of it.
#[allow(unused_imports)]
pub use case::{TestCase, diff_attributes};
#[allow(unused_imports)]
pub use error::{HarnessError, Output};
#[allow(unused_imports)]
pub use json::{
    Action, OutputValue, Plan, Resource, ResourceChange, State, flatten, lookup, marked,
};
#[allow(unused_imports)]
pub use step::{ExpectError, Step};
#[allow(unused_imports)]
pub use workdir::{
    COMMAND_TIMEOUT, MISSING_TERRAFORM, PROVIDER_SOURCE, ProviderHookup, Workdir, hcl_escape,
    locate_terraform, terraform_bin,
};
