//! The traits a provider implements: [`Resource`], [`DataSource`] and [`Provider`], with one
//! request type per operation.
//!
//! Required methods are the operations every resource has; the rest default to a no-op or to a
//! clear diagnostic, so a resource implements only what it supports. The protocol rules around
//! these calls (dispatch, plan order, post-checks) live in [`super::server`], not here.

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::schema::Schema;
use crate::tf::{Diagnostic, Diagnostics, Value};

/// What every operation may need besides its values: the signal that Terraform asked the
/// provider to stop (Ctrl-C), so long waits can give up early.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Cancelled when Terraform calls `Stop`.
    pub stop: CancellationToken,
}

/// Planning input for [`Resource::modify_plan`], after the framework applied defaults, marked
/// computed values unknown and ran attribute plan modifiers.
#[derive(Debug)]
pub struct PlanRequest<'a> {
    /// The configuration.
    pub config: &'a Value,
    /// The state before the change; null when the resource is being created.
    pub prior: &'a Value,
    /// The plan so far.
    pub planned: Value,
}

/// Input to [`Resource::create`].
#[derive(Debug)]
pub struct CreateRequest {
    /// The configuration.
    pub config: Value,
    /// The planned state; known values in it must hold in the result.
    pub planned: Value,
    /// Stop signal.
    pub ctx: Context,
}

/// Input to [`Resource::update`].
#[derive(Debug)]
pub struct UpdateRequest {
    /// The configuration.
    pub config: Value,
    /// The state before the change.
    pub prior: Value,
    /// The planned state; known values in it must hold in the result.
    pub planned: Value,
    /// Stop signal.
    pub ctx: Context,
}

/// Input to [`Resource::delete`].
#[derive(Debug)]
pub struct DeleteRequest {
    /// The state of the object to delete.
    pub prior: Value,
    /// Stop signal.
    pub ctx: Context,
}

/// Input to [`Resource::read`].
#[derive(Debug)]
pub struct ReadRequest {
    /// The state Terraform holds.
    pub current: Value,
    /// Stop signal.
    pub ctx: Context,
}

/// A successful read: the state as the remote object shows it (`None` when the object no
/// longer exists), and any warnings, which Terraform shows with the plan that follows.
#[derive(Debug)]
pub struct Refreshed {
    /// The refreshed state; `None` removes the resource from state.
    pub state: Option<Value>,
    /// Warnings to show the user.
    pub warnings: Diagnostics,
}

impl From<Option<Value>> for Refreshed {
    fn from(state: Option<Value>) -> Self {
        Self {
            state,
            warnings: Diagnostics::new(),
        }
    }
}

/// A successful create or update: the new state, and any warnings.
#[derive(Debug)]
pub struct Applied {
    /// The new state; wholly known.
    pub state: Value,
    /// Warnings to show the user.
    pub warnings: Diagnostics,
}

impl From<Value> for Applied {
    fn from(state: Value) -> Self {
        Self {
            state,
            warnings: Diagnostics::new(),
        }
    }
}

/// A failed create or update. When part of the change happened, `partial_state` records what
/// exists now, so that Terraform's state stays true to the remote objects.
#[derive(Debug)]
pub struct ApplyError {
    /// Why it failed.
    pub diagnostics: Diagnostics,
    /// What exists after the failure, when not the same as before.
    pub partial_state: Option<Value>,
}

impl From<Diagnostics> for ApplyError {
    fn from(diagnostics: Diagnostics) -> Self {
        Self {
            diagnostics,
            partial_state: None,
        }
    }
}

impl From<Diagnostic> for ApplyError {
    fn from(diagnostic: Diagnostic) -> Self {
        Diagnostics::from(diagnostic).into()
    }
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync {
    /// The resource type name, e.g. `konoha_spark_profile`.
    fn type_name(&self) -> &'static str;

    /// The schema.
    fn schema(&self) -> Schema;

    /// Checks across attributes, beyond what attribute validators do. Runs at `terraform
    /// validate` and before every plan; values may be unknown. The framework has filled in
    /// attribute defaults, so cross-checks see the values the plan will hold. No I/O.
    fn validate_config(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Fills in what the framework cannot know (computed values known at plan time, extra
    /// replacement reasons). No I/O.
    fn modify_plan(&self, req: PlanRequest<'_>) -> Result<Value, Diagnostics> {
        Ok(req.planned)
    }

    /// Creates the remote object.
    async fn create(&self, req: CreateRequest) -> Result<Applied, ApplyError>;

    /// Reads the remote object; a state of `None` when it no longer exists.
    async fn read(&self, req: ReadRequest) -> Result<Refreshed, Diagnostics>;

    /// Changes the remote object in place.
    async fn update(&self, req: UpdateRequest) -> Result<Applied, ApplyError>;

    /// Deletes the remote object.
    async fn delete(&self, req: DeleteRequest) -> Result<(), Diagnostics>;

    /// Turns an import ID into a state that `read` can complete.
    async fn import_state(&self, _id: &str, _ctx: &Context) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            "Import not supported",
            format!("{} cannot be imported.", self.type_name()),
        )
        .into())
    }

    /// Upgrades a stored state (as JSON) from an older schema version to the current one.
    fn upgrade_state(
        &self,
        from_version: i64,
        _state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        Err(Diagnostic::provider_bug(
            "Unable to upgrade resource state",
            format!(
                "{} has no upgrade from schema version {from_version}.",
                self.type_name()
            ),
        )
        .into())
    }
}

/// Input to [`DataSource::read`].
#[derive(Debug)]
pub struct DataReadRequest {
    /// The configuration.
    pub config: Value,
    /// Stop signal.
    pub ctx: Context,
}

/// A data source type.
#[async_trait]
pub trait DataSource: Send + Sync {
    /// The data source type name.
    fn type_name(&self) -> &'static str;

    /// The schema.
    fn schema(&self) -> Schema;

    /// Checks across attributes. No I/O.
    fn validate_config(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Reads the data; the result is wholly known.
    async fn read(&self, req: DataReadRequest) -> Result<Value, Diagnostics>;
}

/// Input to [`Provider::configure`].
#[derive(Debug)]
pub struct ConfigureRequest {
    /// The provider block; values may be unknown during plan.
    pub config: Value,
    /// The calling Terraform's version, e.g. `1.11.4`.
    pub terraform_version: String,
}

/// A provider: its own configuration, and the resources and data sources it offers.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider block's schema.
    fn schema(&self) -> Schema;

    /// Checks on the provider block. No I/O.
    fn validate_config(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Takes the provider block. Clients should connect on first use, not here: during plan the
    /// block may hold unknown values.
    async fn configure(&self, req: ConfigureRequest) -> Result<(), Diagnostics>;

    /// The resource types.
    fn resources(&self) -> Vec<Arc<dyn Resource>>;

    /// The data source types.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;
}
