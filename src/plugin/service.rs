//! The tfplugin5 `Provider` gRPC service: each RPC decodes its values, calls the framework's
//! [`Server`], and encodes the answer. Problems travel as diagnostics in an OK response; a gRPC
//! error status would make Terraform report a crash.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::{decode, diagnostics, encode};
use crate::framework::{Provider, Server};
use crate::plugin::pb::tfplugin5 as pb;
use crate::plugin::pb::tfplugin5::provider_server;
use crate::tf::{Diagnostics, Type, Value};

type RpcResult<T> = Result<Response<T>, Status>;

/// The tfplugin5 service over a framework [`Server`].
#[derive(Debug, Clone)]
pub struct ProviderService {
    server: Arc<Server>,
}

impl ProviderService {
    /// Serves `provider`.
    pub fn new(provider: impl Provider + 'static) -> Self {
        Self {
            server: Arc::new(Server::new(Arc::new(provider))),
        }
    }

    fn resource_type(&self, type_name: &str) -> Result<Type, Diagnostics> {
        Ok(self.server.resource_schema(type_name)?.value_type())
    }
}

/// Runs `body`, turning its error diagnostics into the response's diagnostics.
fn answer<T>(
    body: impl FnOnce() -> Result<T, Diagnostics>,
    fail: impl FnOnce(Diagnostics) -> T,
) -> RpcResult<T> {
    Ok(Response::new(body().unwrap_or_else(fail)))
}

/// What this provider serves, as both `GetSchema` and `GetMetadata` announce it.
fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: false,
    }
}

#[tonic::async_trait]
impl provider_server::Provider for ProviderService {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> RpcResult<pb::get_metadata::Response> {
        let schemas = self.server.schemas();
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: schemas
                .resources
                .keys()
                .map(|name| pb::get_metadata::ResourceMetadata {
                    type_name: name.clone(),
                })
                .collect(),
            data_sources: schemas
                .data_sources
                .keys()
                .map(|name| pb::get_metadata::DataSourceMetadata {
                    type_name: name.clone(),
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> RpcResult<pb::get_provider_schema::Response> {
        let schemas = self.server.schemas();
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some((&schemas.provider).into()),
            resource_schemas: schemas
                .resources
                .iter()
                .map(|(k, s)| (k.clone(), s.into()))
                .collect(),
            data_source_schemas: schemas
                .data_sources
                .iter()
                .map(|(k, s)| (k.clone(), s.into()))
                .collect(),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        }))
    }

    async fn prepare_provider_config(
        &self,
        request: Request<pb::prepare_provider_config::Request>,
    ) -> RpcResult<pb::prepare_provider_config::Response> {
        let req = request.into_inner();
        answer(
            || {
                let config = decode(
                    req.config.as_ref(),
                    &self.server.schemas().provider.value_type(),
                )?;
                Ok(pb::prepare_provider_config::Response {
                    prepared_config: req.config.clone(),
                    diagnostics: diagnostics(self.server.validate_provider_config(&config)),
                })
            },
            |d| pb::prepare_provider_config::Response {
                diagnostics: diagnostics(d),
                ..Default::default()
            },
        )
    }

    async fn validate_resource_type_config(
        &self,
        request: Request<pb::validate_resource_type_config::Request>,
    ) -> RpcResult<pb::validate_resource_type_config::Response> {
        let req = request.into_inner();
        answer(
            || {
                let config = decode(req.config.as_ref(), &self.resource_type(&req.type_name)?)?;
                let write_only_allowed = req
                    .client_capabilities
                    .as_ref()
                    .is_some_and(|c| c.write_only_attributes_allowed);
                Ok(diagnostics(self.server.validate_resource_config(
                    &req.type_name,
                    &config,
                    write_only_allowed,
                )))
            },
            diagnostics,
        )
        .map(|r| r.map(|diagnostics| pb::validate_resource_type_config::Response { diagnostics }))
    }

    async fn validate_data_source_config(
        &self,
        request: Request<pb::validate_data_source_config::Request>,
    ) -> RpcResult<pb::validate_data_source_config::Response> {
        let req = request.into_inner();
        answer(
            || {
                let ty = self.server.data_source_schema(&req.type_name)?.value_type();
                let config = decode(req.config.as_ref(), &ty)?;
                Ok(diagnostics(
                    self.server
                        .validate_data_source_config(&req.type_name, &config),
                ))
            },
            diagnostics,
        )
        .map(|r| r.map(|diagnostics| pb::validate_data_source_config::Response { diagnostics }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> RpcResult<pb::upgrade_resource_state::Response> {
        let req = request.into_inner();
        answer(
            || {
                let ty = self.resource_type(&req.type_name)?;
                let json = req
                    .raw_state
                    .as_ref()
                    .map(|r| r.json.as_slice())
                    .unwrap_or_default();
                let upgraded =
                    self.server
                        .upgrade_resource_state(&req.type_name, req.version, json)?;
                Ok(pb::upgrade_resource_state::Response {
                    upgraded_state: Some(encode(&upgraded, &ty)?),
                    diagnostics: Vec::new(),
                })
            },
            |d| pb::upgrade_resource_state::Response {
                diagnostics: diagnostics(d),
                ..Default::default()
            },
        )
    }

    async fn configure(
        &self,
        request: Request<pb::configure::Request>,
    ) -> RpcResult<pb::configure::Response> {
        let req = request.into_inner();
        let config = match decode(
            req.config.as_ref(),
            &self.server.schemas().provider.value_type(),
        ) {
            Ok(config) => config,
            Err(d) => {
                return Ok(Response::new(pb::configure::Response {
                    diagnostics: diagnostics(d),
                }));
            }
        };
        let diags = self.server.configure(config, req.terraform_version).await;
        Ok(Response::new(pb::configure::Response {
            diagnostics: diagnostics(diags),
        }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> RpcResult<pb::read_resource::Response> {
        let req = request.into_inner();
        let ty = match self.resource_type(&req.type_name) {
            Ok(ty) => ty,
            Err(d) => return Ok(Response::new(read_failed(d, req.current_state))),
        };
        let current = match decode(req.current_state.as_ref(), &ty) {
            Ok(v) => v,
            Err(d) => return Ok(Response::new(read_failed(d, req.current_state))),
        };
        let result = self.server.read_resource(&req.type_name, current).await;
        let encoded = result.and_then(|(state, warnings)| Ok((encode(&state, &ty)?, warnings)));
        let response = match encoded {
            Ok((new_state, warnings)) => pb::read_resource::Response {
                new_state: Some(new_state),
                diagnostics: diagnostics(warnings),
                private: req.private,
                ..Default::default()
            },
            // Keep the state Terraform had: a failed refresh must not drop the resource.
            Err(d) => read_failed(d, req.current_state),
        };
        Ok(Response::new(response))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> RpcResult<pb::plan_resource_change::Response> {
        let req = request.into_inner();
        answer(
            || {
                let ty = self.resource_type(&req.type_name)?;
                let prior = decode(req.prior_state.as_ref(), &ty)?;
                let proposed = decode(req.proposed_new_state.as_ref(), &ty)?;
                let config = decode(req.config.as_ref(), &ty)?;
                let change =
                    self.server
                        .plan_resource_change(&req.type_name, &prior, proposed, &config)?;
                Ok(pb::plan_resource_change::Response {
                    planned_state: Some(encode(&change.planned, &ty)?),
                    requires_replace: change.requires_replace.iter().map(Into::into).collect(),
                    planned_private: req.prior_private.clone(),
                    ..Default::default()
                })
            },
            |d| pb::plan_resource_change::Response {
                diagnostics: diagnostics(d),
                ..Default::default()
            },
        )
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> RpcResult<pb::apply_resource_change::Response> {
        let req = request.into_inner();
        let decoded = self.resource_type(&req.type_name).and_then(|ty| {
            Ok((
                decode(req.prior_state.as_ref(), &ty)?,
                decode(req.planned_state.as_ref(), &ty)?,
                decode(req.config.as_ref(), &ty)?,
                ty,
            ))
        });
        let (prior, planned, config, ty) = match decoded {
            Ok(values) => values,
            Err(d) => {
                return Ok(Response::new(pb::apply_resource_change::Response {
                    new_state: req.prior_state,
                    diagnostics: diagnostics(d),
                    ..Default::default()
                }));
            }
        };
        let applied = self
            .server
            .apply_resource_change(&req.type_name, prior, planned, config)
            .await;
        let mut diags = applied.diagnostics;
        let new_state = applied.state.unwrap_or(Value::Null);
        let new_state = match encode(&new_state, &ty) {
            Ok(v) => Some(v),
            Err(d) => {
                diags.extend(d);
                req.prior_state
            }
        };
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private: req.planned_private,
            diagnostics: diagnostics(diags),
            legacy_type_system: false,
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> RpcResult<pb::import_resource_state::Response> {
        let req = request.into_inner();
        let result = async {
            let ty = self.resource_type(&req.type_name)?;
            let state = self
                .server
                .import_resource_state(&req.type_name, &req.id)
                .await?;
            Ok::<_, Diagnostics>(pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: Some(encode(&state, &ty)?),
                private: Vec::new(),
            })
        }
        .await;
        Ok(Response::new(match result {
            Ok(imported) => pb::import_resource_state::Response {
                imported_resources: vec![imported],
                ..Default::default()
            },
            Err(d) => pb::import_resource_state::Response {
                diagnostics: diagnostics(d),
                ..Default::default()
            },
        }))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> RpcResult<pb::read_data_source::Response> {
        let req = request.into_inner();
        let result = async {
            let ty = self.server.data_source_schema(&req.type_name)?.value_type();
            let config = decode(req.config.as_ref(), &ty)?;
            let state = self.server.read_data_source(&req.type_name, config).await?;
            encode(&state, &ty)
        }
        .await;
        Ok(Response::new(match result {
            Ok(state) => pb::read_data_source::Response {
                state: Some(state),
                ..Default::default()
            },
            Err(d) => pb::read_data_source::Response {
                diagnostics: diagnostics(d),
                ..Default::default()
            },
        }))
    }

    async fn stop(&self, _: Request<pb::stop::Request>) -> RpcResult<pb::stop::Response> {
        tracing::info!("Terraform asked the provider to stop; cancelling in-flight work");
        self.server.stop();
        Ok(Response::new(pb::stop::Response {
            error: String::new(),
        }))
    }
}

fn read_failed(d: Diagnostics, current: Option<pb::DynamicValue>) -> pb::read_resource::Response {
    pb::read_resource::Response {
        new_state: current,
        diagnostics: diagnostics(d),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
