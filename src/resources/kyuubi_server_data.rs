//! The `konoha_kyuubi_server` data source: a server's URLs and readiness, for configurations
//! that connect to a server another configuration manages (dbt profiles, BI tools).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::kyuubi_model::{server_input, state_from_arguments};
use super::kyuubi_server::KyuubiServer;
use super::remote_error;
use crate::clients::Clients;
use crate::framework::{Attribute, Block, DataReadRequest, DataSource, Resource, Schema};
use crate::kube::{Kind, ObjectRef};
use crate::kyuubi;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

/// The `konoha_kyuubi_server` data source.
#[derive(Debug)]
pub struct KyuubiServerData {
    clients: Arc<Clients>,
}

impl KyuubiServerData {
    /// The data source, using the provider's shared clients.
    pub fn new(clients: Arc<Clients>) -> Self {
        Self { clients }
    }
}

fn computed(attribute: Attribute, description: &str) -> Attribute {
    attribute.computed().description(description)
}

#[async_trait]
impl DataSource for KyuubiServerData {
    fn type_name(&self) -> &'static str {
        "konoha_kyuubi_server"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("Reads a Kyuubi server that a `konoha_kyuubi_server` manages: its URLs and readiness.")
                .attribute(Attribute::string("name").required().description("The server's name."))
                .attribute(Attribute::string("namespace").required().description("The server's namespace."))
                .attribute(computed(Attribute::string("id"), "`<namespace>/<name>`."))
                .attribute(computed(Attribute::string("jdbc_url"), "The in-cluster JDBC URL."))
                .attribute(computed(Attribute::string("rest_url"), "The in-cluster REST API base URL."))
                .attribute(computed(Attribute::string("image"), "The Kyuubi image the server runs."))
                .attribute(computed(Attribute::string("share_level"), "The engine share level."))
                .attribute(computed(Attribute::string("spark_profile"), "The Spark profile `ref` the server runs with."))
                .attribute(computed(Attribute::int("replicas"), "Server pods asked for."))
                .attribute(computed(Attribute::int("ready_replicas"), "Server pods ready now."))
                .attribute(computed(Attribute::int("observed_generation"), "The Deployment generation last rolled out.")),
        )
    }

    /// Refuses a name or namespace no Deployment can have, an empty one included, at validate
    /// and at the argument, instead of at read with a request error that names neither.
    fn validate_config(&self, config: &Value) -> Diagnostics {
        type Problem = fn(&str) -> Option<String>;
        let rules: [(&str, Problem, &str); 2] = [
            (
                "name",
                crate::names::dns1123_subdomain_problem,
                "a Deployment name is a DNS-1123 subdomain",
            ),
            (
                "namespace",
                crate::names::dns1123_label_problem,
                "a namespace is a DNS-1123 label",
            ),
        ];
        rules
            .into_iter()
            .filter_map(|(attribute, problem_of, what)| {
                let text = config.attr(attribute).as_str()?;
                let problem = problem_of(text)?;
                Some(
                    Diagnostic::error(
                        "Invalid Kyuubi server setting",
                        format!("{text:?} {problem}: {what}"),
                    )
                    .at(AttributePath::attr(attribute)),
                )
            })
            .collect()
    }

    async fn read(&self, req: DataReadRequest) -> Result<Value, Diagnostics> {
        let config = req.config;
        let (Some(name), Some(namespace)) = (
            config.attr("name").as_str(),
            config.attr("namespace").as_str(),
        ) else {
            return Err(Diagnostic::error(
                "Missing location",
                "name and namespace must be known to read a server.",
            )
            .into());
        };
        let kube = self.clients.kube().await?;
        let deployment = kube
            .get_opt(&ObjectRef::new(Kind::Deployment, namespace, name))
            .await
            .map_err(|e| remote_error("Unable to read the Kyuubi server", &e))?
            .ok_or_else(|| {
                Diagnostic::error(
                    "Kyuubi server not found",
                    format!("No Deployment {namespace}/{name}."),
                )
            })?;
        let ty = KyuubiServer::new(self.clients.clone())
            .schema()
            .value_type();
        let settings = state_from_arguments(&deployment, &ty)
            .and_then(|state| kyuubi::resolve(&server_input(&state).ok()?))
            .ok_or_else(|| {
                Diagnostic::error(
                    "Not a konoha Kyuubi server",
                    format!(
                        "Deployment {namespace}/{name} was not created by the konoha provider."
                    ),
                )
            })?;
        let number = |pointer: &str| {
            Value::int(
                deployment
                    .pointer(pointer)
                    .and_then(Json::as_i64)
                    .unwrap_or(0),
            )
        };
        Ok(Value::object([
            ("name", Value::string(name)),
            ("namespace", Value::string(namespace)),
            ("id", Value::String(format!("{namespace}/{name}"))),
            (
                "jdbc_url",
                Value::String(kyuubi::jdbc_url(
                    name,
                    namespace,
                    settings.thrift_binary_port,
                )),
            ),
            (
                "rest_url",
                Value::String(kyuubi::rest_url(name, namespace, settings.rest_port)),
            ),
            ("image", Value::String(settings.image.clone())),
            ("share_level", Value::string(settings.share_level.as_str())),
            (
                "spark_profile",
                Value::String(crate::spark::profile_ref(
                    &settings.profile.mount,
                    &settings.profile.name,
                    &settings.profile.sha256,
                )),
            ),
            ("replicas", Value::int(i64::from(settings.replicas))),
            ("ready_replicas", number("/status/readyReplicas")),
            ("observed_generation", number("/status/observedGeneration")),
        ]))
    }
}
