//! `konoha_spark_profile`: one workload's Spark executor settings, stored as a Vault KV v2
//! secret that the Kyuubi server renders into `/etc/kyuubi/spark.env`.
//!
//! The file reads top to bottom: schema, validation and planning (pure), then create, read,
//! update, delete and import (Vault I/O). The Spark rules themselves live in `crate::spark`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;

use super::placement_model::tolerations_block;
use super::profile_model::{Ints, attribute_path, has_secrets, profile_input, secrets_input};
use super::{invalid_setting, remote_error, require_kv2_mount};
use crate::clients::Clients;
use crate::framework::{
    Applied, ApplyError, Attribute, Block, Context, CreateRequest, DeleteRequest, NestedBlock,
    PlanRequest, ReadRequest, Refreshed, Resource, Schema, UpdateRequest,
};
use crate::spark::secrets::{REDACTED, Seal, Secrets};
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
        .attribute(Attribute::string_map("executor_node_selector").optional().description(
            "Node labels executor pods need, e.g. `{ \"nvidia.com/gpu.present\" = \"true\" }`: \
             one `spark.kubernetes.executor.node.selector.<label>` property each (Spark 3.3 and \
             later), which leaves the driver free to run elsewhere. Keys are label keys, values \
             label values.",
        ))
        .block(tolerations_block(
            "executor_tolerations",
            "the executor pods",
            " Spark has no property for tolerations: the profile stores them as one \
             `konoha.executor.tolerations` line (compact JSON), which `konoha_kyuubi_server` \
             adds to the executor pod template it gives Spark, and leaves out of \
             `kyuubi-defaults.conf`.",
        ))
}

/// The secret settings: a sensitive map kept in state, and a write-only map with its version.
fn secret_attributes(block: Block) -> Block {
    block
        .attribute(Attribute::string_map("sensitive_conf").optional().sensitive().description(
            "Secret Spark properties, such as S3A keys or a catalog password: written into the \
             same Vault secret as every other property, so they reach `spark.env`, but hidden in \
             plans and output and shown in `rendered` as `key=<sensitive>`. Kept in state (marked \
             sensitive); use `sensitive_conf_wo` to keep values out of state too. The same key \
             rules as `extra_conf` apply, and a key may appear in only one of `extra_conf`, \
             `sensitive_conf` and `sensitive_conf_wo`.",
        ))
        .attribute(
            Attribute::string_map("sensitive_conf_wo")
                .optional()
                .sensitive()
                .write_only()
                .description(
                    "Secret Spark properties that never reach a plan, the state or a log \
                     (Terraform 1.11 and later). Written with the rest of the profile whenever it \
                     is written; since Terraform cannot see these values change, bump \
                     `sensitive_conf_wo_version` to write new ones. The same key rules as \
                     `sensitive_conf` apply.",
                ),
        )
        .attribute(Attribute::int("sensitive_conf_wo_version").optional().description(
            "Required with `sensitive_conf_wo`, at least 1: a change writes the write-only values \
             again and changes `content_sha256` and `ref`, so the servers using the profile \
             restart with them.",
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
        Block::new(
            "GPUs for each executor (Spark resource scheduling). The block writes all four GPU \
             properties, defaults included. See the GPU guide for placing executors on GPU nodes.",
        )
        .attribute(
            Attribute::int("amount").required().description(
                "GPUs per executor (`spark.executor.resource.gpu.amount`), at least 1.",
            ),
        )
        .attribute(
            Attribute::string("vendor")
                .default(spark::profile::DEFAULT_GPU_VENDOR)
                .description(
                    "The Kubernetes device plugin's vendor domain \
                     (`spark.executor.resource.gpu.vendor`).",
                ),
        )
        .attribute(
            Attribute::string("discovery_script")
                .default(spark::profile::DEFAULT_GPU_DISCOVERY_SCRIPT)
                .description(
                    "The script each executor runs at start to learn its GPUs' addresses \
                     (`spark.executor.resource.gpu.discoveryScript`), an absolute path inside \
                     the executor image; Kubernetes does not tell Spark the addresses. The \
                     default is the example script the Apache Spark image ships, which calls \
                     `nvidia-smi`.",
                ),
        )
        .attribute(
            Attribute::fractional("task_amount")
                // spark::profile::DEFAULT_GPU_TASK_AMOUNT, as a Terraform number.
                .default(1i64)
                .description(
                    "GPUs each task takes (`spark.task.resource.gpu.amount`): a whole number \
                     that divides `amount`, or an exact share of one GPU, 1/n (`0.5`, `0.25`, \
                     `0.2`, …), to run n tasks on each GPU. Written as the decimal given.",
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
            "The `spark.env` file: the stored properties as sorted `key=value` lines, each secret \
             one as `key=<sensitive>`. Known at plan time.",
        ))
        .attribute(Attribute::string("content_sha256").computed().description(
            "The SHA-256 of `rendered`, in hex; known at plan time. With secret settings it also \
             covers an HMAC-SHA256 of their values and of `sensitive_conf_wo_version`, keyed with \
             a random key kept in Vault beside the profile (`<name>.konoha-seal`), so it changes \
             with any secret value and reveals none; it is then known after apply when a secret \
             setting changes.",
        ))
        .attribute(Attribute::string("ref").computed().description(
            "`<mount>/<name>@sha256:<content_sha256>`: what a `konoha_kyuubi_server` references, \
             so that a change of content restarts the servers using it. Known at plan time.",
        ))
        .attribute(Attribute::int("version").computed().description(
            "The KV v2 version holding this content. A change of anything but the content \
             (metadata, `delete_all_versions`) writes no new version.",
        ))
        .attribute(super::footprint_value::attribute())
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
            secret_attributes(settings_block(block))
                .block(dynamic_allocation_block())
                .block(gpu_block())
                .attribute(Attribute::string_map("custom_metadata").optional().description(
                    "Vault metadata on the secret: at most 64 keys of up to 128 characters, \
                     values up to 512 characters.",
                ))
                .attribute(Attribute::int("max_versions").optional().description(
                    "How many versions Vault keeps of this secret, at least 1; the mount's setting applies \
                     when unset, and again when it is removed.",
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

/// What the planned content is, when every input is known. Secret values are not part of it:
/// only their keys, which `rendered` lists.
struct Content {
    /// The non-secret properties.
    public: BTreeMap<String, String>,
    /// `rendered`: the non-secret lines, and `key=<sensitive>` for each secret key.
    rendered: String,
    /// The keys of `sensitive_conf` and `sensitive_conf_wo`.
    secret_keys: BTreeSet<String>,
    recommended_shuffle_partitions: i64,
}

/// The content `value` (a plan or state) renders, `None` while an input is unknown; an error
/// when a whole-number attribute holds something else. Write-only keys come from `config`.
fn content_of(value: &Value, config: &Value) -> Result<Option<Content>, Diagnostics> {
    let Some(profile) = spark::resolve(&profile_input(value)?) else {
        return Ok(None);
    };
    let Some(secret_keys) = spark::secrets::secret_keys(&secrets_input(value, config)?) else {
        return Ok(None);
    };
    let public = spark::render_properties(&profile);
    let rendered = spark::secrets::render_redacted(
        &public,
        secret_keys.iter().map(|k| (k.as_str(), REDACTED)),
    );
    Ok(Some(Content {
        recommended_shuffle_partitions: profile.recommended_shuffle_partitions(),
        public,
        rendered,
        secret_keys,
    }))
}

/// Sets `content_sha256` and, when mount and name are known, `ref`.
fn set_hash(value: &mut Value, sha256: &str) {
    value.set_attr("content_sha256", Value::string(sha256));
    if let (Some(mount), Some(name)) = (value.attr("mount").as_str(), value.attr("name").as_str()) {
        let reference = spark::profile_ref(mount, name, sha256);
        value.set_attr("ref", Value::String(reference));
    }
}

/// True when applying `planned` over `prior` writes the data: on create, and when the rendered
/// text, a `sensitive_conf` value or the write-only version changes.
fn rewrites(prior: &Value, planned: &Value, content: &Content) -> bool {
    prior.is_null()
        || prior.attr("rendered").as_str() != Some(content.rendered.as_str())
        || prior.attr("sensitive_conf") != planned.attr("sensitive_conf")
        || prior.attr("sensitive_conf_wo_version") != planned.attr("sensitive_conf_wo_version")
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
    value.set_attr(
        super::footprint_value::FOOTPRINT,
        super::footprint_value::value(&content.public),
    );
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
        let (mut max_versions, custom) = desired_metadata(planned)?;
        // A limit taken out of the configuration goes back to the mount's setting, which Vault
        // spells 0, as the attribute's description promises; left alone, the old limit would
        // stay in force unseen (a refresh reads the limit only while it is managed). A limit
        // never managed is not touched.
        if max_versions.is_none() && !prior.attr("max_versions").is_null() {
            max_versions = Some(0);
        }
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
        planned_sha256: Option<&str>,
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
        if Some(live_sha256.as_str()) == planned_sha256 {
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

    /// Writes the seal for `secrets`, keeping the key of an existing seal (servers and data
    /// sources recompute hashes with it) or making a new random one.
    async fn write_seal(
        &self,
        vault: &VaultClient,
        mount: &str,
        name: &str,
        secrets: &Secrets,
    ) -> Result<Seal, Diagnostics> {
        let seal_name = spark::secrets::seal_name(name);
        let path = format!("{mount}/{seal_name}");
        let current = vault
            .read_opt(mount, &seal_name)
            .await
            .map_err(|e| remote_error(&format!("Unable to read {path}"), &e))?;
        let cas = current.as_ref().map_or(0, |c| c.version);
        let key = match current.as_ref().and_then(|c| Seal::from_data(&c.data)) {
            Some(existing) => existing.key,
            None => new_hmac_key()?,
        };
        let seal = Seal::new(key, secrets);
        vault
            .write_cas(mount, &seal_name, &seal.to_data(), cas)
            .await
            .map_err(|e| write_error(e, &path))?;
        Ok(seal)
    }

    /// Creates (no prior state) or updates the profile: writes the data only when the plan
    /// says so (its `version` is unknown), with check-and-set against the version Terraform
    /// last saw, then the metadata when it changed. A create adopts a live secret that holds
    /// exactly the planned content (only possible without secret settings, whose hash is keyed).
    ///
    /// With secret settings the seal is written first: should the data write then fail, the
    /// next refresh sees the values differ from the seal and plans to write them again.
    async fn write(
        &self,
        planned: Value,
        prior: &Value,
        config: &Value,
    ) -> Result<Applied, ApplyError> {
        let state = planned;
        let (mount, name) = location(&state)?;
        let path = format!("{mount}/{name}");
        let vault = self.vault().await?;
        if !prior.is_null() && !state.attr("version").is_unknown() {
            // Nothing to write: the plan kept the content, its hash and the version.
            let version = version_of(prior);
            return self.finish(&vault, state, prior, None, version).await;
        }
        let not_known = || {
            Diagnostic::provider_bug(
                "Unknown values at apply",
                "the profile's settings are not all known.",
            )
        };
        let content = content_of(&state, config)?.ok_or_else(not_known)?;
        let secrets = Secrets::resolve(&secrets_input(&state, config)?).ok_or_else(not_known)?;
        require_kv2_mount(&vault, &mount).await?;
        let plain_sha256 = secrets
            .is_empty()
            .then(|| spark::content_sha256(&content.rendered));
        let cas = if prior.is_null() {
            match self
                .creation(&vault, &mount, &name, plain_sha256.as_deref())
                .await?
            {
                Creation::Write { cas } => cas,
                Creation::Adopt { version } => {
                    tracing::info!(path = %path, version, "adopting the Spark profile Vault already holds");
                    let sha256 = plain_sha256.unwrap_or_default();
                    return self
                        .finish(&vault, state, prior, Some((&content, &sha256)), version)
                        .await;
                }
            }
        } else {
            version_of(prior)
        };
        let sha256 = match plain_sha256 {
            Some(sha256) if !has_secrets(prior) => sha256,
            plain => {
                let seal = self.write_seal(&vault, &mount, &name, &secrets).await?;
                let digest = spark::secrets::keyed_digest(
                    &seal.key,
                    &secrets.values(),
                    secrets.write_only_version,
                );
                plain.unwrap_or_else(|| {
                    spark::secrets::keyed_content_sha256(&content.rendered, &digest)
                })
            }
        };
        let mut data = content.public.clone();
        data.extend(secrets.values());
        let version = vault
            .write_cas(&mount, &name, &data, cas)
            .await
            .map_err(|e| write_error(e, &path))?;
        tracing::info!(path = %path, version, "wrote Spark profile");
        self.finish(&vault, state, prior, Some((&content, &sha256)), version)
            .await
    }

    /// The state after the data is in Vault at `version`: computed attributes set (from the
    /// content and hash just written, when something was), metadata written when it changed.
    async fn finish(
        &self,
        vault: &VaultClient,
        mut state: Value,
        prior: &Value,
        written: Option<(&Content, &str)>,
        version: u64,
    ) -> Result<Applied, ApplyError> {
        let (mount, name) = location(&state)?;
        state.set_attr(
            "version",
            Value::int(i64::try_from(version).unwrap_or(i64::MAX)),
        );
        set_identity(&mut state);
        if let Some((content, sha256)) = written {
            set_content(&mut state, content);
            set_hash(&mut state, sha256);
        }
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
        Ok(state.into())
    }
}

/// The seal of the profile `mount`/`name`, when there is a readable one; shared with the data
/// source and the Kyuubi server's Secret delivery, which recompute the keyed hash with it.
pub(crate) async fn read_seal(
    vault: &VaultClient,
    mount: &str,
    name: &str,
) -> Result<Option<Seal>, Diagnostics> {
    let seal_name = spark::secrets::seal_name(name);
    let found = vault
        .read_opt(mount, &seal_name)
        .await
        .map_err(|e| remote_error(&format!("Unable to read {mount}/{seal_name}"), &e))?;
    Ok(found.and_then(|secret| Seal::from_data(&secret.data)))
}

/// A random HMAC key for a new seal.
fn new_hmac_key() -> Result<Vec<u8>, Diagnostics> {
    let mut key = vec![0u8; 32];
    aws_lc_rs::rand::fill(&mut key).map_err(|_| {
        Diagnostics::from(Diagnostic::error(
            "Unable to make a key for the secret settings",
            "The system's random number generator failed; try again.",
        ))
    })?;
    Ok(key)
}

/// A stand-in seal for a state with secret settings whose seal is gone from Vault: it keeps
/// the secret keys secret, and since its key matches nothing, the refresh reports the secret
/// values changed and the next apply writes them (and a new seal) again.
fn stand_in_seal(current: &Value) -> Seal {
    let sensitive_keys: BTreeSet<String> = current
        .attr("sensitive_conf")
        .as_string_map()
        .unwrap_or_default()
        .into_keys()
        .collect();
    let write_only_keys = current
        .attr("rendered")
        .as_str()
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.strip_suffix(&format!("={REDACTED}")))
        .filter(|key| !sensitive_keys.contains(*key))
        .map(str::to_owned)
        .collect();
    Seal {
        key: vec![0; 32],
        sensitive_keys,
        write_only_keys,
        write_only_version: None,
        write_only_hmac: String::new(),
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
        let secrets = match secrets_input(config, config) {
            Ok(secrets) => spark::secrets::validate(&input.name, &input.extra_conf, &secrets),
            Err(problems) => return problems,
        };
        spark::validate(&input)
            .into_iter()
            .chain(secrets)
            .map(|v| invalid_setting(attribute_path(&v.path), v.message))
            .collect()
    }

    fn modify_plan(&self, req: PlanRequest<'_>) -> Result<Value, Diagnostics> {
        let mut planned = req.planned;
        set_identity(&mut planned);
        let Some(content) = content_of(&planned, req.config)? else {
            // An unknown setting may size a pod.
            planned.set_attr(super::footprint_value::FOOTPRINT, Value::Unknown);
            return Ok(planned);
        };
        set_content(&mut planned, &content);
        if !rewrites(req.prior, &planned, &content) {
            // Nothing is written: the hash, ref and KV version stay as they are.
            for name in ["content_sha256", "ref", "version"] {
                planned.set_attr(name, req.prior.attr(name).clone());
            }
        } else if content.secret_keys.is_empty() {
            set_hash(&mut planned, &spark::content_sha256(&content.rendered));
            planned.set_attr("version", Value::Unknown);
        } else {
            // The keyed hash needs the key in Vault, and plans make no remote calls.
            for name in ["content_sha256", "ref", "version"] {
                planned.set_attr(name, Value::Unknown);
            }
        }
        Ok(planned)
    }

    async fn create(&self, req: CreateRequest) -> Result<Applied, ApplyError> {
        self.write(req.planned, &Value::Null, &req.config).await
    }

    async fn read(&self, req: ReadRequest) -> Result<Refreshed, Diagnostics> {
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
            return Ok(None.into());
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
        // The seal only for profiles with secrets (and imports, which may have some), so that a
        // plain profile's refresh stays one data read.
        let seal = if has_secrets(&current) || current.attr("rendered").is_null() {
            let found = read_seal(&vault, &mount, &name).await?;
            found.or_else(|| has_secrets(&current).then(|| stand_in_seal(&current)))
        } else {
            None
        };
        let view = spark::secrets::stored_view(&secret.data, seal.as_ref());
        let mut state = current.clone();
        if current.attr("rendered").as_str() != Some(view.rendered.as_str())
            || current.attr("content_sha256").as_str() != Some(view.content_sha256.as_str())
        {
            // Someone changed the data in Vault: show it as the attributes it corresponds to.
            state = super::profile_model::state_from_properties(&current, &view.public);
            let sensitive = if view.sensitive.is_empty() && current.attr("sensitive_conf").is_null()
            {
                Value::Null
            } else {
                Value::opt_string_map(Some(&view.sensitive))
            };
            state.set_attr("sensitive_conf", sensitive);
            state.set_attr("rendered", Value::string(&view.rendered));
            set_hash(&mut state, &view.content_sha256);
        }
        // From what Vault holds, so memory changed there shows in the footprint too.
        state.set_attr(
            super::footprint_value::FOOTPRINT,
            super::footprint_value::value(&view.public),
        );
        state.set_attr("version", Value::int(secret.version as i64));
        if let Some((max_versions, custom_metadata)) = stored_metadata {
            super::profile_model::apply_metadata(&mut state, max_versions, &custom_metadata);
        }
        set_identity(&mut state);
        Ok(Some(state).into())
    }

    async fn update(&self, req: UpdateRequest) -> Result<Applied, ApplyError> {
        self.write(req.planned, &req.prior, &req.config).await
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), Diagnostics> {
        let (mount, name) = location(&req.prior)?;
        let path = format!("{mount}/{name}");
        let vault = self.vault().await?;
        let all_versions = req.prior.attr("delete_all_versions").as_bool() == Some(true);
        let mut names = vec![name.clone()];
        if has_secrets(&req.prior) {
            names.push(spark::secrets::seal_name(&name));
        }
        for name in names {
            let result = if all_versions {
                vault.delete_all(&mount, &name).await
            } else {
                vault.delete_latest(&mount, &name).await
            };
            result.map_err(|e| remote_error(&format!("Unable to delete {mount}/{name}"), &e))?;
        }
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
