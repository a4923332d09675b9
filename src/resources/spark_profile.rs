//! `konoha_spark_profile`: one workload's Spark executor settings, stored as a Vault KV v2
//! secret that the Kyuubi server renders into `/etc/kyuubi/spark.env`.
//!
//! The file reads top to bottom: schema, validation and planning (pure), then create, read,
//! update, delete and import (Vault I/O). The Spark rules themselves live in `crate::spark`.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::profile_model::{Ints, attribute_path, profile_input};
use super::{invalid_setting, remote_error, require_kv2_mount};
use crate::clients::Clients;
use crate::framework::{
    Applied, ApplyError, Attribute, Block, Context, CreateRequest, DeleteRequest, NestedBlock,
    PlanRequest, ReadRequest, Resource, Schema, UpdateRequest,
};
use crate::spark::{self, Field};
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};
use crate::vault::{VaultClient, VaultError};

/// The `konoha_spark_profile` resource.
#[derive(Debug)]
pub struct SparkProfile {
    clients: Arc<Clients>,
}

impl SparkProfile {
    /// The resource, using the provider's shared clients.
    pub fn new(clients: Arc<Clients>) -> Self {
        Self { clients }
    }
}

/// The profile's settings attributes, shared with the data source (which computes them all).
pub(crate) fn settings_block(block: Block) -> Block {
    block
        .attribute(
            Attribute::int("executor_instances")
                .default(spark::profile::DEFAULT_EXECUTOR_INSTANCES)
                .description(
                    "How many executors each Spark application starts \
                     (`spark.executor.instances`). At least 1 when dynamic allocation is off; \
                     not written when it is on, since Spark would then use it as the initial count.",
                ),
        )
        .attribute(
            Attribute::string("executor_memory")
                .default(spark::profile::DEFAULT_EXECUTOR_MEMORY)
                .description(
                    "Heap memory per executor (`spark.executor.memory`), a whole number with a \
                     unit such as `2g` or `512m`; at least `450m`.",
                ),
        )
        .attribute(Attribute::string("executor_memory_overhead").optional().description(
            "Extra non-heap memory per executor pod (`spark.executor.memoryOverhead`), a whole \
             number with a unit. Spark's default (10% of the heap, at least 384 MiB) applies when unset.",
        ))
        .attribute(
            Attribute::int("executor_cores")
                .default(spark::profile::DEFAULT_EXECUTOR_CORES)
                .description("Task slots per executor (`spark.executor.cores`), at least 1."),
        )
        .attribute(
            Attribute::string("executor_request_cores")
                .default(spark::profile::DEFAULT_EXECUTOR_REQUEST_CORES)
                .description(
                    "The CPU each executor pod requests from Kubernetes \
                     (`spark.kubernetes.executor.request.cores`), a Kubernetes quantity such as \
                     `1.8` or `500m`.",
                ),
        )
        .attribute(Attribute::string("executor_limit_cores").optional().description(
            "The CPU limit of each executor pod (`spark.kubernetes.executor.limit.cores`), a \
             Kubernetes quantity no smaller than `executor_request_cores`.",
        ))
        .attribute(
            Attribute::int("shuffle_partitions")
                .default(spark::profile::DEFAULT_SHUFFLE_PARTITIONS)
                .description(
                    "Partitions for shuffles in Spark SQL (`spark.sql.shuffle.partitions`), at \
                     least 1. See `recommended_shuffle_partitions`.",
                ),
        )
        .attribute(Attribute::bool("speculation").optional().description(
            "Re-launch slow tasks speculatively (`spark.speculation`). Spark's default (off) \
             applies when unset.",
        ))
        .attribute(Attribute::string_map("extra_conf").optional().description(
            "Further Spark properties, written as they are. Keys start with `spark.`, repeat no \
             setting this resource has an attribute for, and set nothing the Kyuubi server owns \
             (master, deploy mode, container images, namespace, service accounts, upload path); \
             values are single-line and not empty.",
        ))
}

fn dynamic_allocation_block() -> NestedBlock {
    NestedBlock::single(
        "dynamic_allocation",
        Block::new(
            "Spark dynamic allocation. Konoha sizes executors statically, so it is off unless \
             this block turns it on; when on, shuffle tracking is switched on with it, since \
             Kubernetes has no external shuffle service.",
        )
        .attribute(
            Attribute::bool("enabled")
                .default(false)
                .description("Turn dynamic allocation on (`spark.dynamicAllocation.enabled`)."),
        )
        .attribute(Attribute::int("min_executors").optional().description(
            "The fewest executors (`spark.dynamicAllocation.minExecutors`); no more than `initial_executors`.",
        ))
        .attribute(Attribute::int("initial_executors").optional().description(
            "Executors at start (`spark.dynamicAllocation.initialExecutors`); between `min_executors` and `max_executors`.",
        ))
        .attribute(Attribute::int("max_executors").optional().description(
            "The most executors (`spark.dynamicAllocation.maxExecutors`), at least 1.",
        )),
    )
}

fn gpu_block() -> NestedBlock {
    NestedBlock::single(
        "gpu",
        Block::new("GPUs for each executor (Spark resource scheduling).")
            .attribute(Attribute::int("amount").required().description(
                "GPUs per executor (`spark.executor.resource.gpu.amount`), at least 1.",
            ))
            .attribute(
                Attribute::string("vendor")
                    .default(spark::profile::DEFAULT_GPU_VENDOR)
                    .description(
                        "The Kubernetes device plugin's vendor domain \
                         (`spark.executor.resource.gpu.vendor`).",
                    ),
            ),
    )
}

/// The computed attributes that describe the rendered content, shared with the data source.
pub(crate) fn content_attributes(block: Block) -> Block {
    block
        .attribute(Attribute::string("id").computed().description(
            "`<mount>/<name>`; also the import ID.",
        ))
        .attribute(Attribute::string("path").computed().description(
            "The secret's KV v2 API path, `<mount>/data/<name>`: what a Vault Agent template reads.",
        ))
        .attribute(Attribute::string("rendered").computed().description(
            "The `spark.env` file: the stored properties as sorted `key=value` lines. Known at plan time.",
        ))
        .attribute(Attribute::string("content_sha256").computed().description(
            "The SHA-256 of `rendered`, in hex. Known at plan time.",
        ))
        .attribute(Attribute::string("ref").computed().description(
            "`<mount>/<name>@sha256:<content_sha256>`: what a `konoha_kyuubi_server` references, \
             so that a change of content restarts the servers using it. Known at plan time.",
        ))
        .attribute(Attribute::int("version").computed().description(
            "The KV v2 version holding this content. A change of anything but the content \
             (metadata, `delete_all_versions`) writes no new version.",
        ))
        .attribute(Attribute::int("recommended_shuffle_partitions").computed().description(
            "A starting point for `shuffle_partitions`: total executor cores × 4 (with dynamic \
             allocation, counted at `max_executors`).",
        ))
}

impl SparkProfile {
    fn block() -> Block {
        let block = Block::new(
            "One workload's Spark executor settings, stored as a Vault KV v2 secret that \
             `konoha_kyuubi_server` renders into `/etc/kyuubi/spark.env`. The secret's data is a \
             flat map from Spark property name to value.",
        )
        .attribute(
            Attribute::string("mount")
                .required()
                .force_new()
                .description("The KV v2 secrets engine's mount path, e.g. `secret`. Changing it replaces the profile."),
        )
        .attribute(
            Attribute::string("name")
                .required()
                .force_new()
                .description("The secret's path under the mount, e.g. `spark/dbt`. Changing it replaces the profile."),
        );
        content_attributes(
            settings_block(block)
                .block(dynamic_allocation_block())
                .block(gpu_block())
                .attribute(Attribute::string_map("custom_metadata").optional().description(
                    "Vault metadata on the secret: at most 64 keys of up to 128 characters, \
                     values up to 512 characters.",
                ))
                .attribute(Attribute::int("max_versions").optional().description(
                    "How many versions Vault keeps of this secret; the mount's setting applies when unset.",
                ))
                .attribute(
                    Attribute::bool("delete_all_versions")
                        .default(false)
                        // Read only at destroy; Vault holds nothing of it.
                        .client_side()
                        .description(
                            "On destroy, delete the secret's metadata and every version instead \
                             of soft-deleting the latest one.",
                        ),
                ),
        )
    }
}

/// How a create gets the planned content into Vault.
enum Creation {
    /// Write it with this check-and-set version.
    Write { cas: u64 },
    /// Vault already holds exactly it, at this version.
    Adopt { version: u64 },
}

/// What the planned content is, when every input is known.
struct Content {
    properties: BTreeMap<String, String>,
    rendered: String,
    sha256: String,
    /// Unknown while mount or name are.
    reference: Option<String>,
    recommended_shuffle_partitions: i64,
}

/// The content `value` plans, `None` while an input is unknown; an error when a whole-number
/// attribute holds something else.
fn content_of(value: &Value) -> Result<Option<Content>, Diagnostics> {
    let Some(profile) = spark::resolve(&profile_input(value)?) else {
        return Ok(None);
    };
    let properties = spark::render_properties(&profile);
    let rendered = spark::render_env_file(&properties);
    let sha256 = spark::content_sha256(&rendered);
    let reference = match (value.attr("mount").as_str(), value.attr("name").as_str()) {
        (Some(mount), Some(name)) => Some(spark::profile_ref(mount, name, &sha256)),
        _ => None,
    };
    Ok(Some(Content {
        reference,
        recommended_shuffle_partitions: profile.recommended_shuffle_partitions(),
        properties,
        rendered,
        sha256,
    }))
}

/// Sets the computed attributes that follow from mount and name.
fn set_identity(value: &mut Value) {
    if let (Some(mount), Some(name)) = (value.attr("mount").as_str(), value.attr("name").as_str()) {
        let (id, path) = (format!("{mount}/{name}"), format!("{mount}/data/{name}"));
        value.set_attr("id", Value::String(id));
        value.set_attr("path", Value::String(path));
    }
}

fn set_content(value: &mut Value, content: &Content) {
    value.set_attr("rendered", Value::string(&content.rendered));
    value.set_attr("content_sha256", Value::string(&content.sha256));
    if let Some(reference) = &content.reference {
        value.set_attr("ref", Value::string(reference));
    }
    value.set_attr(
        "recommended_shuffle_partitions",
        Value::int(content.recommended_shuffle_partitions),
    );
}

fn location(value: &Value) -> Result<(String, String), Diagnostics> {
    match (value.attr("mount").as_str(), value.attr("name").as_str()) {
        (Some(mount), Some(name)) => Ok((mount.to_owned(), name.to_owned())),
        _ => Err(Diagnostic::provider_bug(
            "Profile without a location",
            "mount or name is not known.",
        )
        .into()),
    }
}

fn version_of(value: &Value) -> u64 {
    value
        .attr("version")
        .as_i64()
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(0)
}

/// The metadata the configuration asks for, when it asks for any; an error when
/// `max_versions` is not a whole number Vault can take.
fn desired_metadata(value: &Value) -> Result<(Option<u64>, BTreeMap<String, String>), Diagnostics> {
    let mut ints = Ints::default();
    let max_versions = ints.read(value.attr("max_versions"), "max_versions");
    let max_versions = match ints.finish(max_versions)? {
        Field::Set(n) => Some(u64::try_from(n).map_err(|_| {
            invalid_setting(
                AttributePath::attr("max_versions"),
                format!("{n} is too small: it must be at least 0"),
            )
        })?),
        Field::Unset | Field::Unknown => None,
    };
    let custom = value
        .attr("custom_metadata")
        .as_string_map()
        .unwrap_or_default();
    Ok((max_versions, custom))
}

/// Whether refreshing `current` needs the metadata endpoint on top of the data read.
///
/// The data read already returns the custom metadata; only `max_versions` lives on the
/// metadata endpoint alone. So the second request is made when the profile manages
/// `max_versions`, and on the first read after an import (no `version` yet), which must learn
/// whatever is stored. Every other refresh is one request.
fn needs_metadata_endpoint(current: &Value) -> bool {
    !current.attr("max_versions").is_null() || current.attr("version").is_null()
}

fn write_error(err: VaultError, path: &str) -> Diagnostic {
    match err {
        VaultError::CasMismatch { .. } => Diagnostic::error(
            "Spark profile changed in Vault",
            format!(
                "The secret {path} changed in Vault after Terraform last read it, so it was not \
                 overwritten. Run `terraform plan` to see the change, then apply again to \
                 replace it with the configured settings."
            ),
        ),
        other => remote_error(&format!("Unable to write the Spark profile {path}"), &other),
    }
}

impl SparkProfile {
    async fn vault(&self) -> Result<VaultClient, Diagnostics> {
        self.clients.vault().await
    }

    /// Writes metadata when the plan's differs from the prior state's.
    async fn sync_metadata(
        &self,
        vault: &VaultClient,
        (mount, name): (&str, &str),
        prior: &Value,
        planned: &Value,
    ) -> Result<(), Diagnostics> {
        let changed = prior.attr("max_versions") != planned.attr("max_versions")
            || prior.attr("custom_metadata") != planned.attr("custom_metadata");
        if !changed {
            return Ok(());
        }
        let (max_versions, custom) = desired_metadata(planned)?;
        vault
            .write_metadata(mount, name, max_versions, &custom)
            .await
            .map_err(|e| {
                remote_error(&format!("Unable to write metadata of {mount}/{name}"), &e).into()
            })
    }

    /// How a new profile gets to Vault. Nothing at the path: written with check-and-set 0. A
    /// deleted secret: written on top of its history. A live secret holding exactly the planned
    /// content (same `content_sha256`): adopted as it is, since that is what a create interrupted
    /// after its write (the provider killed, the answer lost) leaves behind, and writing it again
    /// would only add a version. A live secret with other content belongs to someone else (or
    /// to another state) and is never overwritten.
    async fn creation(
        &self,
        vault: &VaultClient,
        mount: &str,
        name: &str,
        planned_sha256: &str,
    ) -> Result<Creation, Diagnostics> {
        let path = format!("{mount}/{name}");
        let read_failed = |e: VaultError| remote_error(&format!("Unable to read {path}"), &e);
        let Some(meta) = vault
            .read_metadata_opt(mount, name)
            .await
            .map_err(read_failed)?
        else {
            return Ok(Creation::Write { cas: 0 });
        };
        let Some(live) = vault.read_opt(mount, name).await.map_err(read_failed)? else {
            return Ok(Creation::Write {
                cas: meta.current_version,
            });
        };
        let live_sha256 = spark::content_sha256(&spark::render_env_file(&live.data));
        if live_sha256 == planned_sha256 {
            return Ok(Creation::Adopt {
                version: live.version,
            });
        }
        Err(Diagnostic::error(
            "Spark profile already exists",
            format!(
                "A secret with other content already exists at {path}. Import it with \
                 `terraform import konoha_spark_profile.<name> {path}` to manage it, or choose \
                 another name."
            ),
        )
        .at(AttributePath::attr("name"))
        .into())
    }

    /// Creates (no prior state) or updates the profile: writes the data only when it differs
    /// from what the prior state rendered, with check-and-set against the version Terraform
    /// last saw, then the metadata when it changed.
    async fn write(&self, planned: Value, prior: &Value) -> Result<Applied, ApplyError> {
        let state = planned;
        let (mount, name) = location(&state)?;
        let path = format!("{mount}/{name}");
        let content = content_of(&state)?.ok_or_else(|| {
            Diagnostic::provider_bug(
                "Unknown values at apply",
                "the profile's settings are not all known.",
            )
        })?;
        let vault = self.vault().await?;
        require_kv2_mount(&vault, &mount).await?;
        let cas = if prior.is_null() {
            match self
                .creation(&vault, &mount, &name, &content.sha256)
                .await?
            {
                Creation::Write { cas } => Some(cas),
                Creation::Adopt { version } => {
                    tracing::info!(path = %path, version, "adopting the Spark profile Vault already holds");
                    return self.finish(&vault, state, prior, &content, version).await;
                }
            }
        } else if prior.attr("rendered").as_str() != Some(content.rendered.as_str()) {
            Some(version_of(prior))
        } else {
            None
        };
        let version = match cas {
            Some(cas) => vault
                .write_cas(&mount, &name, &content.properties, cas)
                .await
                .map_err(|e| write_error(e, &path))?,
            None => version_of(prior),
        };
        self.finish(&vault, state, prior, &content, version).await
    }

    /// The state after the data is in Vault at `version`: computed attributes set, metadata
    /// written when it changed.
    async fn finish(
        &self,
        vault: &VaultClient,
        mut state: Value,
        prior: &Value,
        content: &Content,
        version: u64,
    ) -> Result<Applied, ApplyError> {
        let (mount, name) = location(&state)?;
        let path = format!("{mount}/{name}");
        state.set_attr(
            "version",
            Value::int(i64::try_from(version).unwrap_or(i64::MAX)),
        );
        set_identity(&mut state);
        set_content(&mut state, content);
        // The data is written from here on: if metadata fails, record it rather than lose it.
        if let Err(diagnostics) = self
            .sync_metadata(vault, (&mount, &name), prior, &state)
            .await
        {
            return Err(ApplyError {
                diagnostics,
                partial_state: Some(state),
            });
        }
        tracing::info!(path = %path, version, "wrote Spark profile");
        Ok(state.into())
    }
}

#[async_trait]
impl Resource for SparkProfile {
    fn type_name(&self) -> &'static str {
        "konoha_spark_profile"
    }

    fn schema(&self) -> Schema {
        Schema::new(Self::block())
    }

    fn validate_config(&self, config: &Value) -> Diagnostics {
        let input = match profile_input(config) {
            Ok(input) => input,
            Err(problems) => return problems,
        };
        spark::validate(&input)
            .into_iter()
            .map(|v| invalid_setting(attribute_path(&v.path), v.message))
            .collect()
    }

    fn modify_plan(&self, req: PlanRequest<'_>) -> Result<Value, Diagnostics> {
        let mut planned = req.planned;
        set_identity(&mut planned);
        let Some(content) = content_of(&planned)? else {
            return Ok(planned);
        };
        set_content(&mut planned, &content);
        // Only new content makes a new KV version; keep the version for anything else.
        let same_content = req.prior.attr("rendered").as_str() == Some(content.rendered.as_str());
        let version = if same_content {
            req.prior.attr("version").clone()
        } else {
            Value::Unknown
        };
        planned.set_attr("version", version);
        Ok(planned)
    }

    async fn create(&self, req: CreateRequest) -> Result<Applied, ApplyError> {
        self.write(req.planned, &Value::Null).await
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, Diagnostics> {
        let current = req.current;
        let (mount, name) = location(&current)?;
        let path = format!("{mount}/{name}");
        let vault = self.vault().await?;
        let Some(secret) = vault
            .read_opt(&mount, &name)
            .await
            .map_err(|e| remote_error(&format!("Unable to read {path}"), &e))?
        else {
            tracing::info!(path = %path, "Spark profile is gone from Vault");
            return Ok(None);
        };
        let stored_metadata = if needs_metadata_endpoint(&current) {
            vault
                .read_metadata_opt(&mount, &name)
                .await
                .map_err(|e| remote_error(&format!("Unable to read metadata of {path}"), &e))?
                .map(|meta| (meta.max_versions, meta.custom_metadata))
        } else {
            // 0: "the mount's setting", which `apply_metadata` keeps as null in state.
            Some((0, secret.custom_metadata.clone()))
        };
        let mut state = current.clone();
        let rendered = spark::render_env_file(&secret.data);
        if current.attr("rendered").as_str() != Some(rendered.as_str()) {
            // Someone changed the data in Vault: show it as the attributes it corresponds to.
            state = super::profile_model::state_from_properties(&current, &secret.data);
        }
        state.set_attr("version", Value::int(secret.version as i64));
        if let Some((max_versions, custom_metadata)) = stored_metadata {
            super::profile_model::apply_metadata(&mut state, max_versions, &custom_metadata);
        }
        set_identity(&mut state);
        Ok(Some(state))
    }

    async fn update(&self, req: UpdateRequest) -> Result<Applied, ApplyError> {
        self.write(req.planned, &req.prior).await
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), Diagnostics> {
        let (mount, name) = location(&req.prior)?;
        let path = format!("{mount}/{name}");
        let vault = self.vault().await?;
        let result = if req.prior.attr("delete_all_versions").as_bool() == Some(true) {
            vault.delete_all(&mount, &name).await
        } else {
            vault.delete_latest(&mount, &name).await
        };
        result.map_err(|e| remote_error(&format!("Unable to delete {path}"), &e))?;
        tracing::info!(path = %path, "deleted Spark profile");
        Ok(())
    }

    async fn import_state(&self, id: &str, _ctx: &Context) -> Result<Value, Diagnostics> {
        let Some((mount, name)) = id
            .split_once('/')
            .filter(|(m, n)| !m.is_empty() && !n.is_empty())
        else {
            return Err(Diagnostic::error(
                "Invalid import ID",
                format!("Expected `<mount>/<name>`, e.g. `secret/spark/dbt`; got {id:?}."),
            )
            .into());
        };
        let mut state = super::profile_model::empty_state(&Self::block());
        state.set_attr("mount", Value::string(mount));
        state.set_attr("name", Value::string(name));
        state.set_attr("delete_all_versions", Value::Bool(false));
        set_identity(&mut state);
        Ok(state)
    }
}
