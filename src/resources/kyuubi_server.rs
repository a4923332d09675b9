//! `konoha_kyuubi_server`: one Apache Kyuubi server on Kubernetes, reconciled with server-side
//! apply and restarted by a rolling update exactly when its settings or its Spark profile change.
//!
//! The file reads top to bottom: validation and planning (pure), then create, read, update,
//! delete and import (Kubernetes I/O). The schema is `kyuubi_schema`'s; rendering the objects and
//! judging rollouts are the Kyuubi domain's (`crate::kyuubi`); comparing live objects is
//! `kyuubi_model`'s; waiting is `rollout_wait`'s.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::try_join_all;
use serde_json::Value as Json;

use super::adoption::not_ours;
use super::kyuubi_model::{
    ARGUMENTS_ANNOTATION, arguments_json, first_difference, server_input, state_from_arguments,
};
use super::kyuubi_schema;
use super::profile_model::attribute_path;
use super::remote_error;
use super::rollout_wait::{RolloutOutcome, wait_for_rollout};
use crate::clients::Clients;
use crate::framework::timeouts::{self, Operation};
use crate::framework::{
    Applied, ApplyError, Block, Context, CreateRequest, DeleteRequest, PlanRequest, ReadRequest,
    Refreshed, Resource, Schema, UpdateRequest,
};
use crate::kube::{KubeClient, KubeError, ObjectRef, taken_fields};
use crate::kyuubi::manifests::Retired;
use crate::kyuubi::{self, ServerSettings, ShareLevel};
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

/// Default for each of `timeouts { create, update, delete }`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The `konoha_kyuubi_server` resource.
#[derive(Debug)]
pub struct KyuubiServer {
    clients: Arc<Clients>,
}

impl KyuubiServer {
    /// The resource, using the provider's shared clients.
    pub fn new(clients: Arc<Clients>) -> Self {
        Self { clients }
    }

    fn block() -> Block {
        super::kyuubi_schema::server_block()
    }
}

/// The settings a value describes, when every argument is known; an error when a
/// whole-number argument holds something else.
fn settings_of(value: &Value) -> Result<Option<ServerSettings>, Diagnostics> {
    Ok(kyuubi::resolve(&server_input(value)?))
}

fn set_plan_time_values(value: &mut Value, settings: &ServerSettings) {
    let (name, ns) = (&settings.name, &settings.namespace);
    value.set_attr("id", Value::String(format!("{ns}/{name}")));
    value.set_attr(
        "jdbc_url",
        Value::String(kyuubi::jdbc_url(name, ns, settings.thrift_binary_port)),
    );
    value.set_attr(
        "rest_url",
        Value::String(kyuubi::rest_url(name, ns, settings.rest_port)),
    );
    value.set_attr(
        "config_sha256",
        Value::String(kyuubi::conf::config_sha256(settings)),
    );
}

fn not_resolvable() -> Diagnostics {
    Diagnostic::provider_bug(
        "Unknown values at apply",
        "the server's arguments are not all known.",
    )
    .into()
}

/// The objects to apply, the Deployment carrying the arguments annotation.
fn desired_objects(
    settings: &ServerSettings,
    state: &Value,
    profile_env: Option<&str>,
) -> Vec<kyuubi::Object> {
    let arguments = arguments_json(
        state,
        kyuubi_schema::value_type(),
        kyuubi_schema::argument_names(),
    );
    let mut objects = kyuubi::render_objects(settings, profile_env);
    for object in objects.iter_mut().filter(|o| o.kind == "Deployment") {
        if let Some(metadata) = object
            .body
            .get_mut("metadata")
            .and_then(Json::as_object_mut)
        {
            let annotations = metadata
                .entry("annotations")
                .or_insert_with(|| Json::Object(Default::default()));
            if let Some(map) = annotations.as_object_mut() {
                map.insert(
                    ARGUMENTS_ANNOTATION.to_owned(),
                    Json::String(arguments.clone()),
                );
            }
        }
    }
    objects
}

fn object_ref(object: &kyuubi::Object) -> Result<ObjectRef, Diagnostics> {
    ObjectRef::from_manifest(&object.body).ok_or_else(|| {
        Diagnostic::provider_bug(
            "Unknown object kind",
            format!("{} {} cannot be addressed.", object.kind, object.name),
        )
        .into()
    })
}

fn deployment_ref(settings: &ServerSettings) -> ObjectRef {
    ObjectRef::new(
        crate::kube::Kind::Deployment,
        &settings.namespace,
        &settings.name,
    )
}

fn apply_error(err: &KubeError, object: &kyuubi::Object) -> Diagnostic {
    let owners = err.conflict_owners();
    if !owners.is_empty() {
        let list: Vec<String> = owners.iter().map(ToString::to_string).collect();
        return Diagnostic::error(
            "Field conflict with another manager",
            format!(
                "Applying {} {}/{} conflicts with fields another field manager owns: {}. Someone \
                 changed them outside Terraform. Set force_conflicts = true to take them back, or \
                 change the configuration to match.",
                object.kind,
                object.namespace,
                object.name,
                list.join(", ")
            ),
        )
        .at(AttributePath::attr("force_conflicts"));
    }
    remote_error(
        &format!(
            "Unable to apply {} {}/{}",
            object.kind, object.namespace, object.name
        ),
        err,
    )
}

/// The fields of `object` konoha applies that another field manager took in `live`, each as
/// `Deployment kyuubi/x: spec.replicas now owned by "kubectl" (scale)`. Only fields whose live
/// value is not konoha's count: those are the ones the next apply conflicts on.
fn taken_from_konoha(object: &kyuubi::Object, live: &Json) -> Vec<String> {
    let differs = |applied: &Json, live: Option<&Json>| {
        live.is_none_or(|live| first_difference(applied, live).is_some())
    };
    taken_fields(
        live,
        &object.body,
        kyuubi::constants::FIELD_MANAGER,
        differs,
    )
    .iter()
    .map(|field| format!("{}: {field}", object_name(object)))
    .collect()
}

/// `Deployment kyuubi/kyuubi-dbt`, as messages name an object.
fn object_name(object: &kyuubi::Object) -> String {
    format!("{} {}/{}", object.kind, object.namespace, object.name)
}

/// The refresh's warning that the next apply would conflict, with what to do about it. A
/// warning, not an error: the plan still shows the drift, and `terraform destroy` or a
/// configuration that takes the live value must not be blocked by it.
fn taken_warning(taken: &[String]) -> Diagnostic {
    let list: Vec<String> = taken.iter().map(|t| format!("  - {t}")).collect();
    Diagnostic::warning(
        "Fields taken by another field manager",
        format!(
            "Another field manager changed fields this server applies, and now owns them:\n{}\n\n\
             An apply that sets values other than the live ones fails with a field manager \
             conflict unless force_conflicts = true. Set force_conflicts = true to take the \
             fields back, or change the configuration to match the live values.",
            list.join("\n")
        ),
    )
    .at(AttributePath::attr("force_conflicts"))
}

impl KyuubiServer {
    async fn kube(&self) -> Result<KubeClient, Diagnostics> {
        self.clients.kube().await
    }

    /// The profile's `spark.env` for the Secret delivery, read from Vault and checked against
    /// the hash the configuration references.
    async fn profile_env(&self, settings: &ServerSettings) -> Result<Option<String>, Diagnostics> {
        if !matches!(settings.delivery, kyuubi::Delivery::KubernetesSecret) {
            return Ok(None);
        }
        let profile = &settings.profile;
        let path = format!("{}/{}", profile.mount, profile.name);
        let vault = self.clients.vault().await?;
        let secret = vault
            .read_opt(&profile.mount, &profile.name)
            .await
            .map_err(|e| remote_error(&format!("Unable to read the Spark profile {path}"), &e))?
            .ok_or_else(|| {
                Diagnostic::error(
                    "Spark profile not found",
                    format!("No live secret at {path} in Vault."),
                )
                .at(AttributePath::attr("spark_profile"))
            })?;
        // The hash as the profile computes it (keyed, with secret settings); the Secret gets
        // every value, secret ones included: delivering them is its job.
        let seal = super::spark_profile::read_seal(&vault, &profile.mount, &profile.name).await?;
        let sha = crate::spark::secrets::stored_view(&secret.data, seal.as_ref()).content_sha256;
        let rendered = crate::spark::render_env_file(&secret.data);
        if sha != profile.sha256 {
            return Err(Diagnostic::error(
                "Spark profile does not match its reference",
                format!(
                    "The profile at {path} has content sha256:{sha}, but spark_profile references \
                     sha256:{}. Apply the konoha_spark_profile first (reference its `ref` \
                     attribute so Terraform orders them), or fix the out-of-band change in Vault.",
                    profile.sha256
                ),
            )
            .at(AttributePath::attr("spark_profile"))
            .into());
        }
        Ok(Some(rendered))
    }

    /// Applies every object, waits for the rollout, and returns the new state, or the error with
    /// the state that should be recorded instead.
    async fn reconcile(
        &self,
        planned: Value,
        prior: &Value,
        op: Operation,
        ctx: &Context,
    ) -> Result<Applied, ApplyError> {
        let settings = settings_of(&planned)?.ok_or_else(not_resolvable)?;
        let timeout = timeouts::get(&planned, op, DEFAULT_TIMEOUT);
        let deadline = tokio::time::Instant::now() + timeout;
        let profile_env = self.profile_env(&settings).await?;
        // Retries of a failing API server stay within the operation's timeout, and end when
        // Terraform stops.
        let kube = self
            .kube()
            .await?
            .until(deadline)
            .stopped_by(ctx.stop.clone());
        let mut state = planned;
        set_plan_time_values(&mut state, &settings);
        // A failure past the first write leaves objects behind: on create the state records
        // them (Terraform then marks the server tainted), on update the prior state stays, so
        // the next plan still shows the change as not done. A create that wrote nothing
        // records nothing.
        let failed = |diagnostics: Diagnostics, state: &Value| ApplyError {
            diagnostics,
            partial_state: Some(if prior.is_null() {
                with_status(state.clone(), None)
            } else {
                prior.clone()
            }),
        };
        let objects = desired_objects(&settings, &state, profile_env.as_deref());
        if prior.is_null() {
            refuse_foreign_objects(&kube, &settings, &objects).await?;
        }
        let mut deployment = None;
        let mut wrote_any = false;
        for object in objects {
            let target = object_ref(&object)?;
            let applied = kube
                .apply(
                    &target,
                    &object.body,
                    kyuubi::constants::FIELD_MANAGER,
                    settings.force_conflicts,
                )
                .await
                .map_err(|e| {
                    let diagnostics = apply_error(&e, &object).into();
                    if wrote_any {
                        failed(diagnostics, &state)
                    } else {
                        // Nothing changed: no new state (an update keeps the prior one).
                        ApplyError::from(diagnostics)
                    }
                })?;
            wrote_any = true;
            if object.kind == "Deployment" {
                deployment = Some(applied);
            }
        }
        let mut warnings = Diagnostics::new();
        if settings.wait_for_rollout {
            match wait_for_rollout(&kube, &deployment_ref(&settings), deadline, &ctx.stop).await {
                RolloutOutcome::Complete(live) => deployment = Some(live),
                RolloutOutcome::Failed(detail) => {
                    return Err(failed(
                        Diagnostic::error("Rollout failed", detail).into(),
                        &state,
                    ));
                }
                RolloutOutcome::TimedOut(detail) => {
                    let text = format!(
                        "The rollout did not complete within {}s: {detail}",
                        timeout.as_secs()
                    );
                    return Err(failed(
                        Diagnostic::error("Timed out waiting for the rollout", text).into(),
                        &state,
                    ));
                }
                RolloutOutcome::Stopped => {
                    return Err(failed(
                        Diagnostic::error(
                            "Interrupted",
                            "Terraform stopped the apply while the rollout was in progress.",
                        )
                        .into(),
                        &state,
                    ));
                }
                RolloutOutcome::Error(diag) => return Err(failed(diag.into(), &state)),
            }
        }
        // After the rollout, so a budget going with the last replica but one still guards the
        // pods while they roll.
        remove_retired_objects(&kube, &settings, deadline, &ctx.stop)
            .await
            .map_err(|diagnostics| failed(diagnostics, &state))?;
        let changed = !prior.is_null()
            && (prior.attr("spark_profile") != state.attr("spark_profile")
                || prior.attr("config_sha256") != state.attr("config_sha256"));
        if changed {
            self.after_change(&kube, &settings, &mut warnings).await;
        }
        Ok(Applied {
            state: with_status(state, deployment.as_ref()),
            warnings,
        })
    }

    /// Running engines keep the settings they started with: stop them, or say so.
    async fn after_change(
        &self,
        kube: &KubeClient,
        settings: &ServerSettings,
        warnings: &mut Diagnostics,
    ) {
        let selector = kyuubi::driver_pod_selector(settings);
        if settings.restart_engines {
            match kube
                .delete_collection_pods(&settings.engine.namespace, &selector)
                .await
            {
                Ok(count) => {
                    tracing::info!(count, selector = %selector, "deleted Spark driver pods")
                }
                Err(e) => warnings.push(Diagnostic::warning(
                    "Spark engines not restarted",
                    format!(
                        "Deleting the driver pods ({selector}) failed: {}",
                        crate::tf::error_chain(&e)
                    ),
                )),
            }
        } else if settings.share_level != ShareLevel::Connection {
            warnings.push(Diagnostic::warning(
                "Running Spark engines keep their old settings",
                format!(
                    "The server rolled out with the new settings, but engines already running at \
                     share level {} keep the executor settings they started with until they idle \
                     out (kyuubi.session.engine.idle.timeout, PT30M unless set). Set \
                     restart_engines = true to stop them after each rollout (their pods match \
                     {selector}).",
                    settings.share_level.as_str()
                ),
            ));
        }
    }
}

/// Before a create: fails when any object the server would apply already exists without being
/// this server's own (see [`not_ours`]); objects konoha applied for it, left by an interrupted
/// create, are adopted by the apply that follows.
async fn refuse_foreign_objects(
    kube: &KubeClient,
    settings: &ServerSettings,
    objects: &[kyuubi::Object],
) -> Result<(), Diagnostics> {
    for object in objects {
        let target = object_ref(object)?;
        let live = kube
            .get_opt(&target)
            .await
            .map_err(|e| remote_error(&format!("Unable to read {target}"), &e))?;
        let Some(reason) = live.and_then(|live| not_ours(&live, &settings.name)) else {
            continue;
        };
        return Err(Diagnostic::error(
            "Kubernetes object already exists",
            format!(
                "{target} already exists and is not this server's: {reason}. Choose another \
                 name, remove the object, or, if it belongs to a konoha_kyuubi_server, import \
                 it with `terraform import konoha_kyuubi_server.<name> {}/{}`.",
                settings.namespace, settings.name
            ),
        )
        .at(AttributePath::attr("name"))
        .into());
    }
    Ok(())
}

/// Deletes what the server has only at other settings (the PodDisruptionBudget at one replica,
/// the profile Secret without the Secret delivery; see [`kyuubi::manifests::retired_objects`])
/// when it is this server's own, and waits until it is gone, so that an apply that reports
/// success leaves none of them behind.
async fn remove_retired_objects(
    kube: &KubeClient,
    settings: &ServerSettings,
    deadline: tokio::time::Instant,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<(), Diagnostics> {
    let mut deleted = Vec::new();
    for retired in kyuubi::manifests::retired_objects(settings) {
        let target = object_ref(&retired.object)?;
        let live = kube
            .get_opt(&target)
            .await
            .map_err(|e| remote_error(&format!("Unable to read {target}"), &e))?;
        if live.is_some_and(|live| not_ours(&live, &settings.name).is_none()) {
            kube.delete(&target)
                .await
                .map_err(|e| remote_error(&format!("Unable to delete {target}"), &e))?;
            tracing::info!(object = %target, "deleted an object the settings no longer need");
            deleted.push(target);
        }
    }
    super::rollout_wait::wait_until_gone(kube, &deleted, deadline, stop).await
}

/// The first retired object (see [`remove_retired_objects`]) still in the cluster as this
/// server's own, as a drift reason; `found` pairs each retired object with what a read found.
fn retired_object_present<'a>(
    settings: &ServerSettings,
    found: impl IntoIterator<Item = (&'a Retired, Option<Json>)>,
) -> Option<String> {
    found.into_iter().find_map(|(retired, live)| {
        live.filter(|live| not_ours(live, &settings.name).is_none())
            .map(|_| {
                format!(
                    "{} {} (present, but {} has none)",
                    retired.object.kind, retired.object.name, retired.because
                )
            })
    })
}

/// The state with the status attributes read from the Deployment (0 when unknown).
fn with_status(mut state: Value, deployment: Option<&Json>) -> Value {
    let number = |pointer: &str| {
        deployment
            .and_then(|d| d.pointer(pointer))
            .and_then(Json::as_i64)
            .unwrap_or(0)
    };
    state.set_attr(
        "observed_generation",
        Value::int(number("/status/observedGeneration")),
    );
    state.set_attr(
        "ready_replicas",
        Value::int(number("/status/readyReplicas")),
    );
    state
}

#[async_trait]
impl Resource for KyuubiServer {
    fn type_name(&self) -> &'static str {
        "konoha_kyuubi_server"
    }

    fn schema(&self) -> Schema {
        Schema::new(Self::block())
    }

    fn validate_config(&self, config: &Value) -> Diagnostics {
        let input = match server_input(config) {
            Ok(input) => input,
            Err(problems) => return problems,
        };
        kyuubi::validate(&input)
            .into_iter()
            .map(|v| {
                Diagnostic::error("Invalid Kyuubi server setting", v.message)
                    .at(attribute_path(&v.path))
            })
            .collect()
    }

    fn modify_plan(&self, req: PlanRequest<'_>) -> Result<Value, Diagnostics> {
        let mut planned = req.planned;
        if let Some(settings) = settings_of(&planned)? {
            set_plan_time_values(&mut planned, &settings);
        }
        Ok(planned)
    }

    async fn create(&self, req: CreateRequest) -> Result<Applied, ApplyError> {
        self.reconcile(req.planned, &Value::Null, Operation::Create, &req.ctx)
            .await
    }

    async fn read(&self, req: ReadRequest) -> Result<Refreshed, Diagnostics> {
        let current = req.current;
        let Some(settings) = settings_of(&current)? else {
            return Ok(Some(current).into());
        };
        let kube = &self.kube().await?;
        let desired = desired_objects(&settings, &current, None);
        let retired = kyuubi::manifests::retired_objects(&settings);
        // One round of concurrent reads, not one read after another: against a remote API
        // server every read is a network round trip, and a server has about ten objects.
        let mut targets = vec![deployment_ref(&settings)];
        for object in desired
            .iter()
            .filter(|o| o.kind != "Deployment")
            .chain(retired.iter().map(|r| &r.object))
        {
            targets.push(object_ref(object)?);
        }
        let mut lives = try_join_all(targets.iter().map(|target| async move {
            kube.get_opt(target).await.map_err(|e| {
                Diagnostics::from(remote_error("Unable to read the Kyuubi server", &e))
            })
        }))
        .await?
        .into_iter();
        let Some(deployment) = lives.next().flatten() else {
            tracing::info!(name = %settings.name, "Kyuubi Deployment is gone");
            return Ok(None.into());
        };
        let mut state = current.clone();
        // Drift in fields this provider applies. The Secret's content is not known here; the
        // hash on the pod template stands for it.
        let mut drift = None;
        let mut taken = Vec::new();
        for object in &desired {
            let live = if object.kind == "Deployment" {
                Some(deployment.clone())
            } else {
                lives.next().flatten()
            };
            let Some(live) = live else {
                drift.get_or_insert_with(|| format!("{} (deleted)", object_name(object)));
                continue;
            };
            let object_taken = taken_from_konoha(object, &live);
            if let Some(first) = object_taken.first() {
                drift.get_or_insert_with(|| first.clone());
            } else if let Some(path) = first_difference(&object.body, &live) {
                let path = path.trim_start_matches('.');
                drift.get_or_insert_with(|| format!("{}: {path}", object_name(object)));
            }
            taken.extend(object_taken);
        }
        if drift.is_none() {
            drift = retired_object_present(&settings, retired.iter().zip(lives));
        }
        if let Some(reason) = drift {
            tracing::info!(%reason, "drift");
            // Planning computes the real hash, so the plan shows an update whose reason is
            // readable in the diff.
            state.set_attr(
                "config_sha256",
                Value::String(format!("changed outside Terraform: {reason}")),
            );
        }
        let mut warnings = Diagnostics::new();
        if !taken.is_empty() && !settings.force_conflicts {
            warnings.push(taken_warning(&taken));
        }
        Ok(Refreshed {
            state: Some(with_status(state, Some(&deployment))),
            warnings,
        })
    }

    async fn update(&self, req: UpdateRequest) -> Result<Applied, ApplyError> {
        self.reconcile(req.planned, &req.prior, Operation::Update, &req.ctx)
            .await
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), Diagnostics> {
        let settings = settings_of(&req.prior)?.ok_or_else(not_resolvable)?;
        let timeout = timeouts::get(&req.prior, Operation::Delete, DEFAULT_TIMEOUT);
        let deadline = tokio::time::Instant::now() + timeout;
        let kube = self
            .kube()
            .await?
            .until(deadline)
            .stopped_by(req.ctx.stop.clone());
        remove_retired_objects(&kube, &settings, deadline, &req.ctx.stop).await?;
        let targets: Vec<ObjectRef> = desired_objects(&settings, &req.prior, Some(""))
            .iter()
            .rev()
            .map(object_ref)
            .collect::<Result<_, _>>()?;
        for target in &targets {
            kube.delete(target)
                .await
                .map_err(|e| remote_error("Unable to delete the Kyuubi server", &e))?;
        }
        super::rollout_wait::wait_until_gone(&kube, &targets, deadline, &req.ctx.stop).await
    }

    async fn import_state(&self, id: &str, _ctx: &Context) -> Result<Value, Diagnostics> {
        let Some((namespace, name)) = id
            .split_once('/')
            .filter(|(n, m)| !n.is_empty() && !m.is_empty())
        else {
            return Err(Diagnostic::error(
                "Invalid import ID",
                format!("Expected `<namespace>/<name>`, e.g. `kyuubi/kyuubi-dbt`; got {id:?}."),
            )
            .into());
        };
        let kube = self.kube().await?;
        let target = ObjectRef::new(crate::kube::Kind::Deployment, namespace, name);
        let deployment = kube
            .get_opt(&target)
            .await
            .map_err(|e| remote_error("Unable to read the Kyuubi server", &e))?
            .ok_or_else(|| {
                Diagnostic::error(
                    "Cannot import a missing server",
                    format!("No Deployment {namespace}/{name}."),
                )
            })?;
        let mut state = state_from_arguments(&deployment, kyuubi_schema::value_type()).ok_or_else(|| {
            Diagnostic::error(
                "Not a konoha Kyuubi server",
                format!("Deployment {namespace}/{name} has no {ARGUMENTS_ANNOTATION} annotation: it was not created by this provider."),
            )
        })?;
        let settings = settings_of(&state)?.ok_or_else(not_resolvable)?;
        set_plan_time_values(&mut state, &settings);
        Ok(with_status(state, Some(&deployment)))
    }
}
