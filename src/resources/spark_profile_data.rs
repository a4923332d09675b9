//! The `konoha_spark_profile` data source: reads an existing profile by mount and name, for
//! configurations that use a profile another team manages.

use std::sync::Arc;

use async_trait::async_trait;

use super::remote_error;
use crate::clients::Clients;
use crate::framework::{Attribute, Block, DataReadRequest, DataSource, Schema};
use crate::spark::{self, keys};
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Number, Value};

/// The `konoha_spark_profile` data source.
#[derive(Debug)]
pub struct SparkProfileData {
    clients: Arc<Clients>,
}

impl SparkProfileData {
    /// The data source, using the provider's shared clients.
    pub fn new(clients: Arc<Clients>) -> Self {
        Self { clients }
    }
}

fn computed_int(name: &str, description: &str) -> Attribute {
    Attribute::int(name).computed().description(description)
}

fn computed_string(name: &str, description: &str) -> Attribute {
    Attribute::string(name).computed().description(description)
}

#[async_trait]
impl DataSource for SparkProfileData {
    fn type_name(&self) -> &'static str {
        "konoha_spark_profile"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("Reads an existing Spark profile from Vault KV v2.")
                .attribute(Attribute::string("mount").required().description("The KV v2 mount, e.g. `secret`."))
                .attribute(Attribute::string("name").required().description("The secret's path under the mount."))
                .attribute(computed_string("id", "`<mount>/<name>`."))
                .attribute(computed_string("path", "The KV v2 API path, `<mount>/data/<name>`."))
                .attribute(computed_int("version", "The current KV v2 version."))
                .attribute(
                    Attribute::string_map("properties").computed().description(
                        "Every stored Spark property, by name, except secret ones \
                         (`sensitive_conf`, `sensitive_conf_wo`), whose values stay out of state.",
                    ),
                )
                .attribute(computed_string(
                    "rendered",
                    "The `spark.env` file: sorted `key=value` lines, each secret one as `key=<sensitive>`.",
                ))
                .attribute(computed_string(
                    "content_sha256",
                    "The profile's content hash, as the resource's `content_sha256`.",
                ))
                .attribute(computed_string(
                    "ref",
                    "`<mount>/<name>@sha256:<content_sha256>`, for `konoha_kyuubi_server.spark_profile`.",
                ))
                .attribute(super::footprint_value::attribute())
                .attribute(computed_int("executor_instances", "`spark.executor.instances`, when set."))
                .attribute(computed_string("executor_memory", "`spark.executor.memory`, when set."))
                .attribute(computed_int("executor_cores", "`spark.executor.cores`, when set."))
                .attribute(computed_string(
                    "executor_request_cores",
                    "`spark.kubernetes.executor.request.cores`, when set.",
                ))
                .attribute(computed_int("shuffle_partitions", "`spark.sql.shuffle.partitions`, when set."))
                .attribute(computed_int("gpu_amount", "`spark.executor.resource.gpu.amount`, when set."))
                .attribute(computed_string("gpu_vendor", "`spark.executor.resource.gpu.vendor`, when set."))
                .attribute(computed_string(
                    "gpu_discovery_script",
                    "`spark.executor.resource.gpu.discoveryScript`, when set.",
                ))
                .attribute(Attribute::fractional("gpu_task_amount").computed().description(
                    "`spark.task.resource.gpu.amount`, when set to a plain decimal.",
                )),
        )
    }

    /// Refuses a mount or name the profile resource would refuse (an empty one included),
    /// before any request to Vault.
    fn validate_config(&self, config: &Value) -> Diagnostics {
        [("mount", false), ("name", true)]
            .into_iter()
            .filter_map(|(attribute, nested)| {
                let text = config.attr(attribute).as_str()?;
                let problem = spark::storage::location_problem(text, nested)?;
                Some(super::invalid_setting(
                    AttributePath::attr(attribute),
                    format!("{text:?} {problem}"),
                ))
            })
            .collect()
    }

    async fn read(&self, req: DataReadRequest) -> Result<Value, Diagnostics> {
        let config = req.config;
        let (Some(mount), Some(name)) =
            (config.attr("mount").as_str(), config.attr("name").as_str())
        else {
            return Err(Diagnostic::error(
                "Missing location",
                "mount and name must be known to read a profile.",
            )
            .into());
        };
        let path = format!("{mount}/{name}");
        let vault = self.clients.vault().await?;
        super::require_kv2_mount(&vault, mount).await?;
        let secret = vault
            .read_opt(mount, name)
            .await
            .map_err(|e| remote_error(&format!("Unable to read {path}"), &e))?
            .ok_or_else(|| {
                Diagnostic::error(
                    "Spark profile not found",
                    format!("No live secret at {path} in Vault."),
                )
            })?;
        let seal = super::spark_profile::read_seal(&vault, mount, name).await?;
        let view = spark::secrets::stored_view(&secret.data, seal.as_ref());
        let props = &view.public;
        let (rendered, sha) = (view.rendered.clone(), view.content_sha256.clone());
        let int = |key: &str| Value::opt_int(props.get(key).and_then(|v| v.parse().ok()));
        let string = |key: &str| Value::opt_string(props.get(key).cloned());
        let decimal = |key: &str| {
            props
                .get(key)
                .filter(|text| spark::Decimal::parse(text).is_some())
                .and_then(|text| Number::parse(text))
                .map_or(Value::Null, Value::Number)
        };
        Ok(Value::object([
            ("mount", Value::string(mount)),
            ("name", Value::string(name)),
            ("id", Value::String(path.clone())),
            ("path", Value::String(format!("{mount}/data/{name}"))),
            ("version", Value::int(secret.version as i64)),
            ("properties", Value::opt_string_map(Some(props))),
            (
                super::footprint_value::FOOTPRINT,
                super::footprint_value::value(props),
            ),
            ("ref", Value::String(spark::profile_ref(mount, name, &sha))),
            ("rendered", Value::String(rendered)),
            ("content_sha256", Value::String(sha)),
            ("executor_instances", int("spark.executor.instances")),
            ("executor_memory", string("spark.executor.memory")),
            ("executor_cores", int("spark.executor.cores")),
            (
                "executor_request_cores",
                string("spark.kubernetes.executor.request.cores"),
            ),
            ("shuffle_partitions", int("spark.sql.shuffle.partitions")),
            ("gpu_amount", int(keys::GPU_AMOUNT)),
            ("gpu_vendor", string(keys::GPU_VENDOR)),
            ("gpu_discovery_script", string(keys::GPU_DISCOVERY_SCRIPT)),
            ("gpu_task_amount", decimal(keys::TASK_GPU_AMOUNT)),
        ]))
    }
}
