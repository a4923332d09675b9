//! The protocol's rules around a [`Provider`]: schema lookup, validation, the fixed planning
//! order, create/update/delete dispatch and the checks Terraform makes of a provider's answers.
//!
//! Everything here speaks framework values; the gRPC layer decodes and encodes around it.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::plan;
use super::resource::{
    ConfigureRequest, Context, CreateRequest, DataReadRequest, DataSource, DeleteRequest,
    PlanRequest, Provider, ReadRequest, Resource, UpdateRequest,
};
use super::schema::{Block, Schema};
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

/// Every schema a provider offers.
#[derive(Debug, Clone)]
pub struct Schemas {
    /// The provider block.
    pub provider: Schema,
    /// Resource schemas by type name.
    pub resources: BTreeMap<String, Schema>,
    /// Data source schemas by type name.
    pub data_sources: BTreeMap<String, Schema>,
}

/// The outcome of planning one resource change.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedChange {
    /// The planned new state; null for a destroy.
    pub planned: Value,
    /// Attributes whose change replaces the resource.
    pub requires_replace: Vec<AttributePath>,
}

/// The outcome of applying one resource change: the new state (null when nothing exists) and
/// the diagnostics. Both may be present: a failed update still records what changed.
#[derive(Debug)]
pub struct AppliedChange {
    /// The new state; `None` to keep nothing (create failed, or delete succeeded).
    pub state: Option<Value>,
    /// Errors and warnings.
    pub diagnostics: Diagnostics,
}

/// A provider wrapped in the protocol's rules.
pub struct Server {
    provider: Arc<dyn Provider>,
    resources: BTreeMap<String, Arc<dyn Resource>>,
    data_sources: BTreeMap<String, Arc<dyn DataSource>>,
    schemas: Schemas,
    /// Cancelled by `Stop`, then replaced, so that work started afterwards runs normally.
    stop: std::sync::Mutex<CancellationToken>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("resources", &self.resources.keys().collect::<Vec<_>>())
            .field(
                "data_sources",
                &self.data_sources.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Wraps `provider`, building every schema once: Terraform asks for them in every process.
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        let resources: BTreeMap<String, Arc<dyn Resource>> = provider
            .resources()
            .into_iter()
            .map(|r| (r.type_name().to_owned(), r))
            .collect();
        let data_sources: BTreeMap<String, Arc<dyn DataSource>> = provider
            .data_sources()
            .into_iter()
            .map(|d| (d.type_name().to_owned(), d))
            .collect();
        let schemas = Schemas {
            provider: provider.schema(),
            resources: resources
                .iter()
                .map(|(n, r)| (n.clone(), r.schema()))
                .collect(),
            data_sources: data_sources
                .iter()
                .map(|(n, d)| (n.clone(), d.schema()))
                .collect(),
        };
        Self {
            provider,
            resources,
            data_sources,
            schemas,
            stop: std::sync::Mutex::new(CancellationToken::new()),
        }
    }

    /// Every schema.
    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    /// The schema of resource type `type_name`.
    pub fn resource_schema(&self, type_name: &str) -> Result<&Schema, Diagnostics> {
        self.schemas
            .resources
            .get(type_name)
            .ok_or_else(|| unknown_type("resource", type_name))
    }

    /// The schema of data source type `type_name`.
    pub fn data_source_schema(&self, type_name: &str) -> Result<&Schema, Diagnostics> {
        self.schemas
            .data_sources
            .get(type_name)
            .ok_or_else(|| unknown_type("data source", type_name))
    }

    fn resource(&self, type_name: &str) -> Result<&Arc<dyn Resource>, Diagnostics> {
        self.resources
            .get(type_name)
            .ok_or_else(|| unknown_type("resource", type_name))
    }

    fn context(&self) -> Context {
        Context {
            stop: self
                .stop
                .lock()
                .map(|token| token.child_token())
                .unwrap_or_default(),
        }
    }

    /// Terraform's `Stop`: cancels the work in flight. A provider serving several Terraform
    /// commands (`--debug`, reattached tests) goes on to the next one, so later work gets a
    /// fresh token.
    pub fn stop(&self) {
        if let Ok(mut token) = self.stop.lock() {
            token.cancel();
            *token = CancellationToken::new();
        }
    }

    /// Checks the provider block.
    pub fn validate_provider_config(&self, config: &Value) -> Diagnostics {
        let (mut diags, checked) = validate_attributes(&self.schemas.provider.block, config);
        diags.extend(self.provider.validate_config(&checked));
        diags
    }

    /// Configures the provider.
    pub async fn configure(&self, config: Value, terraform_version: String) -> Diagnostics {
        match self
            .provider
            .configure(ConfigureRequest {
                config,
                terraform_version,
            })
            .await
        {
            Ok(()) => Diagnostics::new(),
            Err(diags) => diags,
        }
    }

    /// Checks a resource's configuration: attribute validators on what was written, then the
    /// resource's own checks on the configuration with defaults filled in, since cross-checks
    /// (a request no larger than a limit, say) must see the values the plan will hold.
    ///
    /// `write_only_allowed` is the client's capability: a Terraform that does not know
    /// write-only attributes would store their values in plan and state, so setting one is
    /// refused there.
    pub fn validate_resource_config(
        &self,
        type_name: &str,
        config: &Value,
        write_only_allowed: bool,
    ) -> Diagnostics {
        let resource = match self.resource(type_name) {
            Ok(r) => r,
            Err(diags) => return diags,
        };
        let block = &self.schemas.resources[type_name].block;
        let (mut diags, checked) = validate_attributes(block, config);
        if !write_only_allowed && let Some(path) = plan::first_write_only_set(block, config) {
            diags.push(
                Diagnostic::error(
                    "Write-only argument needs Terraform 1.11 or later",
                    format!(
                        "{path} is write-only: its value is kept out of plan and state, which \
                         this Terraform cannot do. Upgrade Terraform to 1.11 or later, or leave \
                         {path} unset."
                    ),
                )
                .at(path),
            );
        }
        let mut with_defaults = checked.clone();
        plan::apply_defaults(block, &checked, &mut with_defaults);
        diags.extend(resource.validate_config(&with_defaults));
        diags
    }

    /// Checks a data source's configuration.
    pub fn validate_data_source_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        let Some(source) = self.data_sources.get(type_name) else {
            return unknown_type("data source", type_name);
        };
        let (mut diags, checked) =
            validate_attributes(&self.schemas.data_sources[type_name].block, config);
        diags.extend(source.validate_config(&checked));
        diags
    }

    /// Upgrades a stored state to the current schema. `json` is the raw state as Terraform
    /// stored it, written with schema `version`.
    pub fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        json: &[u8],
    ) -> Result<Value, Diagnostics> {
        let resource = self.resource(type_name)?;
        let schema = &self.schemas.resources[type_name];
        let ty = schema.value_type();
        if version > schema.version {
            return Err(Diagnostic::error(
                "State written by a newer provider",
                format!(
                    "The state of this {type_name} has schema version {version}; this provider \
                     knows versions up to {}. Upgrade the konoha provider.",
                    schema.version
                ),
            )
            .into());
        }
        if version == schema.version {
            return crate::tf::json::decode_lenient(json, &ty).map_err(|e| codec_bug("state", e));
        }
        let raw: serde_json::Value = serde_json::from_slice(json)
            .map_err(|e| Diagnostic::provider_bug("Unable to read stored state", e))?;
        let upgraded = resource.upgrade_state(version, raw)?;
        let bytes = serde_json::to_vec(&upgraded)
            .map_err(|e| Diagnostic::provider_bug("Unable to upgrade stored state", e))?;
        crate::tf::json::decode_lenient(&bytes, &ty).map_err(|e| codec_bug("upgraded state", e))
    }

    /// Refreshes a resource; a null state means the remote object is gone. The warnings
    /// travel with the state.
    pub async fn read_resource(
        &self,
        type_name: &str,
        current: Value,
    ) -> Result<(Value, Diagnostics), Diagnostics> {
        let resource = self.resource(type_name)?;
        if current.is_null() {
            return Ok((Value::Null, Diagnostics::new()));
        }
        let refreshed = resource
            .read(ReadRequest {
                current,
                ctx: self.context(),
            })
            .await?;
        let mut state = refreshed.state.unwrap_or(Value::Null);
        plan::null_write_only(&self.schemas.resources[type_name].block, &mut state);
        Ok((state, refreshed.warnings))
    }

    /// Plans a change, in the fixed order: destroy short-cut; defaults; computed to unknown when
    /// anything but client-side settings changed; state for unknown; the resource's
    /// `modify_plan`; requires-replace.
    pub fn plan_resource_change(
        &self,
        type_name: &str,
        prior: &Value,
        proposed: Value,
        config: &Value,
    ) -> Result<PlannedChange, Diagnostics> {
        let resource = self.resource(type_name)?;
        let block = &self.schemas.resources[type_name].block;
        if proposed.is_null() {
            return Ok(PlannedChange {
                planned: Value::Null,
                requires_replace: Vec::new(),
            });
        }
        let mut proposed = proposed;
        plan::apply_defaults(block, config, &mut proposed);
        let modify = |planned: Value| {
            resource.modify_plan(PlanRequest {
                config,
                prior,
                planned,
            })
        };
        let with_computed_unknown = || {
            let mut planned = proposed.clone();
            plan::mark_computed_unknown(block, config, &mut planned);
            plan::use_state_for_unknown(block, prior, &mut planned);
            modify(planned)
        };
        // Only a change to what the remote object is can change what the provider computes.
        // The resource may find such a change the configuration does not show (drift it
        // computes at plan time); then its computed values are unknown after all.
        let planned = if prior.is_null() || plan::changes_remote(block, prior, &proposed) {
            with_computed_unknown()?
        } else {
            let planned = modify(proposed.clone())?;
            if plan::changes_remote(block, prior, &planned) {
                with_computed_unknown()?
            } else {
                planned
            }
        };
        let mut planned = planned;
        plan::null_write_only(block, &mut planned);
        let requires_replace = if prior.is_null() {
            Vec::new()
        } else {
            plan::requires_replace(block, prior, &planned)
        };
        Ok(PlannedChange {
            planned,
            requires_replace,
        })
    }

    /// Applies a planned change: create when there is no prior state, delete when the plan is
    /// null, update otherwise. The result is checked against the plan.
    pub async fn apply_resource_change(
        &self,
        type_name: &str,
        prior: Value,
        planned: Value,
        config: Value,
    ) -> AppliedChange {
        let resource = match self.resource(type_name) {
            Ok(r) => r,
            Err(diagnostics) => {
                return AppliedChange {
                    state: (!prior.is_null()).then_some(prior),
                    diagnostics,
                };
            }
        };
        let ctx = self.context();
        // Nothing exists and nothing should: Terraform never sends this, but a resource must not
        // be asked to delete an object it has no state for.
        if planned.is_null() && prior.is_null() {
            return AppliedChange {
                state: None,
                diagnostics: Diagnostics::new(),
            };
        }
        if planned.is_null() {
            return match resource
                .delete(DeleteRequest {
                    prior: prior.clone(),
                    ctx,
                })
                .await
            {
                Ok(()) => AppliedChange {
                    state: None,
                    diagnostics: Diagnostics::new(),
                },
                Err(diagnostics) => AppliedChange {
                    state: Some(prior),
                    diagnostics,
                },
            };
        }
        let creating = prior.is_null();
        let block = &self.schemas.resources[type_name].block;
        if !creating && !plan::changes_remote(block, &prior, &planned) && planned.is_wholly_known()
        {
            // Only client-side settings changed: nothing remote to do, and the plan is the state.
            return AppliedChange {
                state: Some(planned),
                diagnostics: Diagnostics::new(),
            };
        }
        let result = if creating {
            resource
                .create(CreateRequest {
                    config,
                    planned: planned.clone(),
                    ctx,
                })
                .await
        } else {
            resource
                .update(UpdateRequest {
                    config,
                    prior: prior.clone(),
                    planned: planned.clone(),
                    ctx,
                })
                .await
        };
        let block = &self.schemas.resources[type_name].block;
        let without_write_only = |mut state: Value| {
            plan::null_write_only(block, &mut state);
            state
        };
        match result {
            Ok(applied) => {
                let state = without_write_only(applied.state);
                let mut diagnostics = applied.warnings;
                if let Some(problem) = check_applied(&state, &planned) {
                    diagnostics.push(problem);
                }
                AppliedChange {
                    state: Some(state),
                    diagnostics,
                }
            }
            Err(err) => AppliedChange {
                state: err
                    .partial_state
                    .or((!creating).then_some(prior))
                    .map(without_write_only),
                diagnostics: err.diagnostics,
            },
        }
    }

    /// Imports a resource by ID.
    pub async fn import_resource_state(
        &self,
        type_name: &str,
        id: &str,
    ) -> Result<Value, Diagnostics> {
        let resource = self.resource(type_name)?;
        let mut state = resource.import_state(id, &self.context()).await?;
        plan::default_client_side(&self.schemas.resources[type_name].block, &mut state);
        Ok(state)
    }

    /// Reads a data source.
    pub async fn read_data_source(
        &self,
        type_name: &str,
        config: Value,
    ) -> Result<Value, Diagnostics> {
        let Some(source) = self.data_sources.get(type_name) else {
            return Err(unknown_type("data source", type_name));
        };
        let state = source
            .read(DataReadRequest {
                config,
                ctx: self.context(),
            })
            .await?;
        if !state.is_wholly_known() {
            return Err(Diagnostic::provider_bug(
                "Data source returned unknown values",
                format!("{type_name} left values unknown after read."),
            )
            .into());
        }
        Ok(state)
    }
}

/// Runs every attribute's number check and validators over `config`, descending into nested
/// blocks. Returns the problems and a copy of `config` in which every value that has one reads
/// as unknown, for the resource's own checks: those skip what they cannot judge yet, so each
/// problem is reported once, at the attribute, and no bad number reaches a resource's decoding.
fn validate_attributes(block: &Block, config: &Value) -> (Diagnostics, Value) {
    let mut diags = Diagnostics::new();
    let mut checked = config.clone();
    walk_validate(block, &mut checked, &AttributePath::root(), &mut diags);
    (diags, checked)
}

fn walk_validate(block: &Block, config: &mut Value, at: &AttributePath, diags: &mut Diagnostics) {
    for attribute in &block.attributes {
        let path = at.clone().push_attr(&attribute.name);
        let value = config.attr(&attribute.name);
        let found: Vec<Diagnostic> =
            match attribute.number.and_then(|kind| kind.check(value, &path)) {
                Some(d) => vec![d],
                None => super::validators::run(&attribute.validators, value, &path),
            };
        if !found.is_empty() {
            config.set_attr(&attribute.name, Value::Unknown);
            for d in found {
                diags.push(d);
            }
        }
    }
    for nested in &block.blocks {
        let path = at.clone().push_attr(&nested.name);
        let Some(entries) = config.as_map_mut() else {
            return;
        };
        match entries.get_mut(&nested.name) {
            Some(Value::List(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let path = path.clone().push_index(i as i64);
                    walk_validate(&nested.block, item, &path, diags);
                }
            }
            Some(object @ Value::Map(_)) => walk_validate(&nested.block, object, &path, diags),
            _ => {}
        }
    }
}

/// Terraform's own check of an apply result: wholly known, and equal to every known planned
/// value. Failing it is always a provider bug, so say so before Terraform does.
fn check_applied(state: &Value, planned: &Value) -> Option<Diagnostic> {
    if let Some(path) = first_unknown(state, AttributePath::root()) {
        return Some(Diagnostic::provider_bug(
            "Provider returned an unknown value after apply",
            format!("The value of {path} is still unknown after apply."),
        ));
    }
    first_mismatch(planned, state, AttributePath::root()).map(|path| {
        Diagnostic::provider_bug(
            "Provider produced a result inconsistent with its plan",
            format!("The applied value of {path} differs from the planned value."),
        )
    })
}

fn first_unknown(value: &Value, at: AttributePath) -> Option<AttributePath> {
    match value {
        Value::Unknown => Some(at),
        Value::List(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_unknown(v, at.clone().push_index(i as i64))),
        Value::Map(entries) => entries
            .iter()
            .find_map(|(k, v)| first_unknown(v, at.clone().push_attr(k))),
        _ => None,
    }
}

fn first_mismatch(planned: &Value, actual: &Value, at: AttributePath) -> Option<AttributePath> {
    match (planned, actual) {
        (Value::Unknown, _) => None,
        (Value::List(p), Value::List(a)) if p.len() == a.len() => p
            .iter()
            .zip(a)
            .enumerate()
            .find_map(|(i, (p, a))| first_mismatch(p, a, at.clone().push_index(i as i64))),
        (Value::Map(p), Value::Map(a)) if p.len() == a.len() => p.iter().find_map(|(k, pv)| {
            let path = at.clone().push_attr(k);
            match a.get(k) {
                Some(av) => first_mismatch(pv, av, path),
                None => Some(path),
            }
        }),
        (p, a) if p == a => None,
        _ => Some(at),
    }
}

fn unknown_type(kind: &str, type_name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("The konoha provider has no {kind} type {type_name:?}."),
    )
    .into()
}

fn codec_bug(what: &str, err: crate::tf::CodecError) -> Diagnostics {
    Diagnostic::provider_bug(format!("Unable to decode the {what}"), err).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{ConfigureRequest, Refreshed, Schema};

    struct Empty;

    #[async_trait::async_trait]
    impl Provider for Empty {
        fn schema(&self) -> Schema {
            Schema::new(Block::new("empty"))
        }
        async fn configure(&self, _: ConfigureRequest) -> Result<(), Diagnostics> {
            Ok(())
        }
        fn resources(&self) -> Vec<Arc<dyn Resource>> {
            Vec::new()
        }
        fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
            Vec::new()
        }
    }

    /// A resource whose own check reports the `count` it was shown.
    struct Counted;

    #[async_trait::async_trait]
    impl Resource for Counted {
        fn type_name(&self) -> &'static str {
            "test_counted"
        }
        fn schema(&self) -> Schema {
            use crate::framework::{Attribute, NestedBlock};
            Schema::new(
                Block::new("t")
                    .attribute(Attribute::int("count").default(4i64))
                    .block(NestedBlock::single(
                        "limits",
                        Block::new("l").attribute(Attribute::int("port").range(1, 65535)),
                    )),
            )
        }
        fn validate_config(&self, config: &Value) -> Diagnostics {
            Diagnostic::warning("saw", format!("{:?}", config.attr("count"))).into()
        }
        async fn create(
            &self,
            _: CreateRequest,
        ) -> Result<crate::framework::Applied, crate::framework::ApplyError> {
            Err(Diagnostics::new().into())
        }
        async fn read(&self, _: ReadRequest) -> Result<Refreshed, Diagnostics> {
            Ok(None.into())
        }
        async fn update(
            &self,
            _: UpdateRequest,
        ) -> Result<crate::framework::Applied, crate::framework::ApplyError> {
            Err(Diagnostics::new().into())
        }
        async fn delete(&self, _: DeleteRequest) -> Result<(), Diagnostics> {
            Ok(())
        }
    }

    struct WithCounted;

    #[async_trait::async_trait]
    impl Provider for WithCounted {
        fn schema(&self) -> Schema {
            Schema::new(Block::new("p"))
        }
        async fn configure(&self, _: ConfigureRequest) -> Result<(), Diagnostics> {
            Ok(())
        }
        fn resources(&self) -> Vec<Arc<dyn Resource>> {
            vec![Arc::new(Counted)]
        }
        fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
            Vec::new()
        }
    }

    #[test]
    fn resource_checks_see_defaults_and_written_values() {
        let server = Server::new(Arc::new(WithCounted));
        let seen = |config: Value| {
            let diags = server.validate_resource_config("test_counted", &config, true);
            diags.iter().map(|d| d.detail.clone()).collect::<Vec<_>>()
        };
        assert_eq!(
            seen(Value::object([("count", Value::Null)])),
            ["Number(Int(4))"]
        );
        assert_eq!(
            seen(Value::object([("count", Value::int(7))])),
            ["Number(Int(7))"]
        );
        assert_eq!(
            seen(Value::object([("count", Value::Unknown)])),
            ["Unknown"]
        );
    }

    /// A careless resource that copies its whole configuration into plan and state, write-only
    /// attribute included: the framework must still keep the value out of both.
    struct Echo;

    #[async_trait::async_trait]
    impl Resource for Echo {
        fn type_name(&self) -> &'static str {
            "test_echo"
        }
        fn schema(&self) -> Schema {
            Schema::new(
                Block::new("t")
                    .attribute(crate::framework::Attribute::string("name").required())
                    .attribute(
                        crate::framework::Attribute::string("password")
                            .optional()
                            .write_only(),
                    ),
            )
        }
        fn modify_plan(&self, req: PlanRequest<'_>) -> Result<Value, Diagnostics> {
            Ok(req.config.clone())
        }
        async fn create(
            &self,
            req: CreateRequest,
        ) -> Result<crate::framework::Applied, crate::framework::ApplyError> {
            Ok(req.config.into())
        }
        async fn read(&self, req: ReadRequest) -> Result<Refreshed, Diagnostics> {
            let mut state = req.current;
            state.set_attr("password", Value::string("from-remote"));
            Ok(Some(state).into())
        }
        async fn update(
            &self,
            req: UpdateRequest,
        ) -> Result<crate::framework::Applied, crate::framework::ApplyError> {
            Ok(req.config.into())
        }
        async fn delete(&self, _: DeleteRequest) -> Result<(), Diagnostics> {
            Ok(())
        }
    }

    struct WithEcho;

    #[async_trait::async_trait]
    impl Provider for WithEcho {
        fn schema(&self) -> Schema {
            Schema::new(Block::new("p"))
        }
        async fn configure(&self, _: ConfigureRequest) -> Result<(), Diagnostics> {
            Ok(())
        }
        fn resources(&self) -> Vec<Arc<dyn Resource>> {
            vec![Arc::new(Echo)]
        }
        fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
            Vec::new()
        }
    }

    #[tokio::test]
    async fn write_only_values_never_reach_plan_or_state() {
        let server = Server::new(Arc::new(WithEcho));
        let config = Value::object([
            ("name", Value::string("a")),
            ("password", Value::string("hunter2")),
        ]);
        let expected = Value::object([("name", Value::string("a")), ("password", Value::Null)]);

        let planned = server
            .plan_resource_change("test_echo", &Value::Null, config.clone(), &config)
            .map(|change| change.planned);
        assert_eq!(planned.as_ref().ok(), Some(&expected));

        let applied = server
            .apply_resource_change("test_echo", Value::Null, expected.clone(), config.clone())
            .await;
        assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
        assert_eq!(applied.state.as_ref(), Some(&expected));

        let refreshed = server.read_resource("test_echo", expected.clone()).await;
        assert_eq!(refreshed.ok().map(|(state, _)| state), Some(expected));

        assert!(
            server
                .validate_resource_config("test_echo", &config, true)
                .is_empty()
        );
        let refused = server.validate_resource_config("test_echo", &config, false);
        assert_eq!(refused.iter().count(), 1, "{refused:?}");
        assert!(refused.iter().all(|d| d.summary.contains("Terraform 1.11")));
    }

    #[test]
    fn bad_numbers_are_refused_at_their_path_and_hidden_from_the_resource() {
        let server = Server::new(Arc::new(WithCounted));
        let config = Value::object([
            ("count", Value::Number(crate::tf::Number::Float(2.5))),
            ("limits", Value::object([("port", Value::int(0))])),
        ]);
        let diags = server.validate_resource_config("test_counted", &config, true);
        let found: Vec<(String, String)> = diags
            .iter()
            .map(|d| {
                let at = d.attribute.as_ref().map(ToString::to_string);
                (at.unwrap_or_default(), d.detail.clone())
            })
            .collect();
        let want = [
            ("count", "count must be a whole number, got 2.5."),
            (
                "limits.port",
                "limits.port must be a whole number from 1 to 65535, got 0.",
            ),
            // The resource's own check sees the bad value as unknown, not as unset (which
            // would have given it the default 4).
            ("", "Unknown"),
        ]
        .map(|(at, detail)| (at.to_owned(), detail.to_owned()));
        assert_eq!(found, want);
    }

    /// Terraform sends `2.00000000000000000001` as text; read as the nearest float it was 2.
    #[test]
    fn a_number_no_float_stands_for_is_refused_not_rounded() {
        let server = Server::new(Arc::new(WithCounted));
        let count = crate::tf::Number::parse("2.00000000000000000001").map(Value::Number);
        let config = Value::object([("count", count.unwrap_or_default())]);
        let diags = server.validate_resource_config("test_counted", &config, true);
        let found: Vec<(Option<String>, String)> = diags
            .iter()
            .map(|d| {
                (
                    d.attribute.as_ref().map(ToString::to_string),
                    d.detail.clone(),
                )
            })
            .collect();
        let want = [
            (
                Some("count".to_owned()),
                "count must be a whole number, got 2.00000000000000000001.".to_owned(),
            ),
            (None, "Unknown".to_owned()),
        ];
        assert_eq!(found, want);
    }

    #[test]
    fn stop_cancels_work_in_flight_but_not_work_started_later() {
        let server = Server::new(Arc::new(Empty));
        let in_flight = server.context();
        server.stop();
        assert!(in_flight.stop.is_cancelled());
        assert!(!server.context().stop.is_cancelled());
    }

    /// A resource with a client-side setting; create and update fail loudly, so a test sees
    /// whether the framework called them.
    struct Rolled;

    #[async_trait::async_trait]
    impl Resource for Rolled {
        fn type_name(&self) -> &'static str {
            "test_rolled"
        }
        fn schema(&self) -> Schema {
            Schema::new(
                Block::new("t")
                    .attribute(crate::framework::Attribute::string("name").required())
                    .attribute(
                        crate::framework::Attribute::bool("wait")
                            .default(true)
                            .client_side(),
                    )
                    .attribute(crate::framework::Attribute::int("generation").computed())
                    .block(crate::framework::timeouts::block("5m")),
            )
        }
        async fn create(
            &self,
            _: CreateRequest,
        ) -> Result<crate::framework::Applied, crate::framework::ApplyError> {
            Err(Diagnostic::error("create called", "").into())
        }
        async fn read(&self, req: ReadRequest) -> Result<Refreshed, Diagnostics> {
            Ok(Some(req.current).into())
        }
        async fn update(
            &self,
            _: UpdateRequest,
        ) -> Result<crate::framework::Applied, crate::framework::ApplyError> {
            Err(Diagnostic::error("update called", "").into())
        }
        async fn delete(&self, _: DeleteRequest) -> Result<(), Diagnostics> {
            Ok(())
        }
        async fn import_state(
            &self,
            id: &str,
            _: &crate::framework::Context,
        ) -> Result<Value, Diagnostics> {
            Ok(Value::object([
                ("name", Value::string(id)),
                ("generation", Value::int(3)),
            ]))
        }
    }

    struct WithRolled;

    #[async_trait::async_trait]
    impl Provider for WithRolled {
        fn schema(&self) -> Schema {
            Schema::new(Block::new("p"))
        }
        async fn configure(&self, _: ConfigureRequest) -> Result<(), Diagnostics> {
            Ok(())
        }
        fn resources(&self) -> Vec<Arc<dyn Resource>> {
            vec![Arc::new(Rolled)]
        }
        fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
            Vec::new()
        }
    }

    #[tokio::test]
    async fn a_change_of_client_side_settings_only_keeps_computed_values_and_calls_no_update() {
        let server = Server::new(Arc::new(WithRolled));
        let imported = server
            .import_resource_state("test_rolled", "a")
            .await
            .unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(imported.attr("wait"), &Value::Bool(true), "import fills it");
        let config = Value::object([
            ("name", Value::string("a")),
            ("wait", Value::Bool(false)),
            ("timeouts", Value::object([("update", Value::string("1m"))])),
        ]);
        let mut proposed = config.clone();
        proposed.set_attr("generation", Value::int(3));
        let change = server
            .plan_resource_change("test_rolled", &imported, proposed.clone(), &config)
            .unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(change.planned.attr("generation"), &Value::int(3));
        let applied = server
            .apply_resource_change(
                "test_rolled",
                imported.clone(),
                change.planned.clone(),
                config.clone(),
            )
            .await;
        assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
        assert_eq!(applied.state, Some(change.planned));

        // A real change still leaves the computed value to the apply, which runs the update.
        let mut renamed = proposed;
        renamed.set_attr("name", Value::string("b"));
        let change = server
            .plan_resource_change("test_rolled", &imported, renamed, &config)
            .unwrap_or_else(|d| panic!("{d:?}"));
        assert!(change.planned.attr("generation").is_unknown());
    }

    #[test]
    fn applied_state_must_be_known_and_match_the_plan() {
        let planned = Value::object([("a", Value::string("x")), ("b", Value::Unknown)]);
        let good = Value::object([("a", Value::string("x")), ("b", Value::int(1))]);
        assert_eq!(check_applied(&good, &planned), None);
        let unknown = Value::object([("a", Value::string("x")), ("b", Value::Unknown)]);
        assert!(
            check_applied(&unknown, &planned)
                .is_some_and(|d| d.detail.contains("b is still unknown"))
        );
        let changed = Value::object([("a", Value::string("y")), ("b", Value::int(1))]);
        assert!(
            check_applied(&changed, &planned)
                .is_some_and(|d| d.detail.contains("value of a differs"))
        );
    }

    mod every_number_terraform_sends {
        //! Whatever number Terraform sends, in each of go-cty's three wire forms, validation
        //! refuses it for every number kind, or the planned value reads back in Terraform as
        //! the very number Terraform holds.

        use std::sync::Arc;

        use proptest::prelude::*;
        use rmpv::Value as Mp;

        use super::super::*;
        use crate::framework::{Attribute, ConfigureRequest, Refreshed, Schema};
        use crate::tf::number::{exact_decimal, same_decimal};
        use crate::tf::{Type, msgpack};

        /// One optional attribute of each number kind: the default whole range, a narrowed and
        /// the widest whole range, and fractional.
        struct Numbers;

        const ATTRIBUTES: [&str; 4] = ["whole", "port", "wide", "share"];

        #[async_trait::async_trait]
        impl Resource for Numbers {
            fn type_name(&self) -> &'static str {
                "test_numbers"
            }
            fn schema(&self) -> Schema {
                Schema::new(
                    Block::new("t")
                        .attribute(Attribute::int("whole").optional())
                        .attribute(Attribute::int("port").range(1, 65535).optional())
                        .attribute(Attribute::int("wide").range(i64::MIN, i64::MAX).optional())
                        .attribute(Attribute::fractional("share").optional()),
                )
            }
            async fn create(
                &self,
                req: CreateRequest,
            ) -> Result<crate::framework::Applied, crate::framework::ApplyError> {
                Ok(req.planned.into())
            }
            async fn read(&self, req: ReadRequest) -> Result<Refreshed, Diagnostics> {
                Ok(Some(req.current).into())
            }
            async fn update(
                &self,
                req: UpdateRequest,
            ) -> Result<crate::framework::Applied, crate::framework::ApplyError> {
                Ok(req.planned.into())
            }
            async fn delete(&self, _: DeleteRequest) -> Result<(), Diagnostics> {
                Ok(())
            }
        }

        struct WithNumbers;

        #[async_trait::async_trait]
        impl Provider for WithNumbers {
            fn schema(&self) -> Schema {
                Schema::new(Block::new("p"))
            }
            async fn configure(&self, _: ConfigureRequest) -> Result<(), Diagnostics> {
                Ok(())
            }
            fn resources(&self) -> Vec<Arc<dyn Resource>> {
                vec![Arc::new(Numbers)]
            }
            fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
                Vec::new()
            }
        }

        /// A decimal as go-cty's `Text('f', -1)` writes one: no exponent.
        fn plain(negative: bool, digits: &str, exponent: i32) -> String {
            let zeros = "0".repeat(usize::try_from(exponent).unwrap_or(0));
            let mut text = format!("{digits}{zeros}");
            let places = usize::try_from(-exponent).unwrap_or(0);
            if places > 0 {
                if text.len() <= places {
                    text = format!("{}{text}", "0".repeat(places + 1 - text.len()));
                }
                text.insert(text.len() - places, '.');
            }
            if negative { format!("-{text}") } else { text }
        }

        /// A number as Terraform sends it: a msgpack integer, a float, or decimal text.
        fn sent() -> impl Strategy<Value = Mp> {
            prop_oneof![
                any::<i64>().prop_map(Mp::from),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(Mp::F64),
                (any::<bool>(), "[1-9][0-9]{0,40}", -340i32..40).prop_map(
                    |(negative, digits, exponent)| Mp::from(plain(negative, &digits, exponent))
                ),
            ]
        }

        /// The decimals Terraform may hold for what it sent: a fractional float either as its
        /// exact value (a 512-bit literal) or as its shortest decimal (a float it computed); a
        /// whole one exactly, since whole numbers compare exactly.
        fn held(sent: &Mp) -> Vec<String> {
            match sent {
                Mp::Integer(i) => vec![i.to_string()],
                Mp::F64(f) if f.fract() == 0.0 => vec![exact_decimal(*f)],
                Mp::F64(f) => vec![exact_decimal(*f), format!("{f:e}")],
                Mp::String(s) => vec![s.as_str().unwrap_or_default().to_owned()],
                other => vec![format!("{other:?}")],
            }
        }

        /// The decimal Terraform holds after reading a reply: text at 512 bits (the text
        /// itself), a whole float exactly, any other float as its shortest form at 53 bits.
        fn read_back(reply: &Mp) -> String {
            match reply {
                Mp::Integer(i) => i.to_string(),
                Mp::F64(f) if f.fract() == 0.0 => exact_decimal(*f),
                Mp::F64(f) => format!("{f:e}"),
                Mp::String(s) => s.as_str().unwrap_or_default().to_owned(),
                other => format!("{other:?}"),
            }
        }

        fn fail(e: impl std::fmt::Display) -> TestCaseError {
            TestCaseError::fail(e.to_string())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

            #[test]
            fn is_refused_at_validate_or_planned_as_held(sent in sent()) {
                let server = Server::new(Arc::new(WithNumbers));
                let mut bytes = Vec::new();
                rmpv::encode::write_value(&mut bytes, &sent).map_err(fail)?;
                let number = msgpack::decode(&bytes, &Type::Number).map_err(fail)?;
                for name in ATTRIBUTES {
                    let config = Value::object([(name, number.clone())]);
                    let refused = server.validate_resource_config("test_numbers", &config, true);
                    if refused.has_errors() {
                        continue;
                    }
                    let planned = server
                        .plan_resource_change("test_numbers", &Value::Null, config.clone(), &config)
                        .map_err(|d| fail(format!("{d:?}")))?
                        .planned;
                    let reply = msgpack::encode(planned.attr(name), &Type::Number).map_err(fail)?;
                    prop_assert_eq!(msgpack::decode(&reply, &Type::Number), Ok(number.clone()));
                    let reply = rmpv::decode::read_value(&mut reply.as_slice()).map_err(fail)?;
                    if let Mp::F64(f) = reply {
                        // go-cty reads a float at 53 bits, which a subnormal does not have:
                        // a fractional float reply must be exactly its shortest decimal.
                        prop_assert!(
                            f.fract() == 0.0 || same_decimal(&exact_decimal(f), &format!("{f:e}")),
                            "{:e}", f
                        );
                    }
                    let back = read_back(&reply);
                    prop_assert!(
                        held(&sent).iter().all(|h| same_decimal(h, &back)),
                        "{} took {:?}, held as {:?}, planned as {}", name, sent, held(&sent), back
                    );
                }
            }
        }
    }
}
