//! `konoha_kyuubi_server`: one Apache Kyuubi server on Kubernetes, reconciled with server-side
//! apply and restarted by a rolling update exactly when its settings or its Spark profile change.
//!
//! The file reads top to bottom: schema, validation and planning (pure), then create, read,
//! update, delete and import (Kubernetes I/O). Rendering the objects and judging rollouts are
//! the Kyuubi domain's (`crate::kyuubi`); comparing live objects is `kyuubi_model`'s; waiting is
//! `rollout_wait`'s.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::kyuubi_model::{
    ARGUMENTS_ANNOTATION, arguments_json, first_difference, server_input, state_from_arguments,
};
use super::profile_model::attribute_path;
use super::remote_error;
use super::rollout_wait::{RolloutOutcome, wait_for_rollout};
use crate::framework::timeouts::{self, Operation};
use crate::framework::{
    Applied, ApplyError, Attribute, Block, Context, CreateRequest, DeleteRequest, NestedBlock,
    PlanRequest, ReadRequest, Resource, Schema, UpdateRequest, plan,
};
use crate::kube::{KubeClient, KubeError, ObjectRef};
use crate::kyuubi::{self, ServerSettings, ShareLevel};
use crate::provider::Clients;
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
        Block::new(
            "One Apache Kyuubi server on Kubernetes: a Deployment with its Service, ConfigMap, \
             ServiceAccounts and RBAC, applied with server-side apply under the field manager \
             `konoha`. Every Spark engine it starts gets the referenced Spark profile's settings; \
             a change of the profile or of the server's settings rolls the Deployment, and \
             nothing else does.",
        )
        .attribute(Attribute::string("name").required().force_new().description(
            "The server's name: names the Deployment, Service and the other objects. A DNS-1035 \
             label of at most 49 characters. Changing it replaces the server.",
        ))
        .attribute(Attribute::string("namespace").default(kyuubi::constants::DEFAULT_NAMESPACE).force_new().description(
            "The namespace the server runs in; it must exist. Changing it replaces the server.",
        ))
        .attribute(Attribute::string("image").required().description(
            "The Kyuubi container image, e.g. `apache/kyuubi:1.10.2-spark`. A change rolls the pods.",
        ))
        .attribute(Attribute::int("replicas").default(1i64).description(
            "Server pods. More than 1 needs the `ha` block: without shared discovery each pod \
             would be a separate server with its own engines.",
        ))
        .attribute(Attribute::string("share_level").default("USER").description(
            "`kyuubi.engine.share.level`: `USER` (one engine per authenticated user), \
             `CONNECTION` (one per connection), `GROUP` (one per primary group), `SERVER_LOCAL` \
             (one per server pod) or `SERVER` (one for every server sharing the `ha` namespace).",
        ))
        .attribute(Attribute::int("thrift_binary_port").default(10009i64).description(
            "The Thrift binary (HiveServer2-compatible, JDBC) port, on the container and the Service.",
        ))
        .attribute(Attribute::int("rest_port").default(10099i64).description(
            "The REST API port, on the container and the Service.",
        ))
        .attribute(Attribute::int("thrift_http_port").optional().description(
            "The Thrift HTTP port; the frontend is off when unset.",
        ))
        .attribute(Attribute::string("service_type").default("ClusterIP").description(
            "The Service's type: `ClusterIP`, `NodePort` or `LoadBalancer`.",
        ))
        .attribute(Attribute::string("spark_profile").required().description(
            "The Spark profile the server's engines run with: a `konoha_spark_profile`'s `ref` \
             (`<mount>/<name>@sha256:<hex>`). Its hash is on the pod template, so a profile \
             change rolls the server.",
        ))
        .attribute(Attribute::string("delivery").default("vault-agent").description(
            "How the profile reaches `/etc/kyuubi/spark.env`: `vault-agent` (the Vault Agent \
             injector renders it from Vault; configure `vault_agent`) or `kubernetes-secret` \
             (the provider copies it from Vault into a Secret at apply time, after checking it \
             against the `ref`'s hash).",
        ))
        .block(NestedBlock::single(
            "vault_agent",
            Block::new("The Vault Agent injector's settings, for `delivery = \"vault-agent\"`.")
                .attribute(Attribute::string("role").required().description(
                    "The Vault Kubernetes-auth role the injector logs in with.",
                ))
                .attribute(Attribute::string("auth_path").optional().description(
                    "The Kubernetes auth method's path, when not `auth/kubernetes`.",
                ))
                .attribute(Attribute::string("annotation_prefix").default(kyuubi::constants::VAULT_ANNOTATION_PREFIX).description(
                    "The injector's annotation prefix: `vault.hashicorp.com`, or \
                     `openbao.openbao.org` for OpenBao's injector.",
                ))
                .attribute(Attribute::bool("pre_populate").default(true).description(
                    "Render the file once before Kyuubi starts, with no sidecar: the file changes \
                     only with a new pod, which a profile change brings.",
                )),
        ))
        .block(NestedBlock::single(
            "engine",
            Block::new("Where and how the Spark engines (drivers and executors) run.")
                .attribute(Attribute::string("namespace").optional().description(
                    "The engines' namespace. Defaults to the server's.",
                ))
                .attribute(Attribute::string("service_account").optional().description(
                    "The Spark drivers' ServiceAccount. Defaults to `<name>-spark`, which the \
                     provider creates with the RBAC a driver needs.",
                ))
                .attribute(Attribute::string("image").optional().description(
                    "The Spark image for drivers and executors (`spark.kubernetes.container.image`).",
                ))
                .attribute(Attribute::string("file_upload_path").optional().description(
                    "`spark.kubernetes.file.upload.path`, e.g. an S3 URL, for files sessions add.",
                ))
                .attribute(Attribute::string("idle_timeout").optional().description(
                    "How long an idle engine lives (`kyuubi.session.engine.idle.timeout`), an \
                     ISO-8601 duration such as `PT30M`.",
                ))
                .attribute(Attribute::string("initialize_timeout").optional().description(
                    "How long an engine may take to start \
                     (`kyuubi.session.engine.initialize.timeout`), e.g. `PT3M`.",
                )),
        ))
        .block(NestedBlock::single(
            "metrics",
            Block::new("Kyuubi's Prometheus metrics reporter.")
                .attribute(Attribute::bool("enabled").default(true).description(
                    "Serve metrics and annotate the pods for Prometheus scraping.",
                ))
                .attribute(Attribute::int("port").default(10019i64).description(
                    "The metrics port, on the container and the Service.",
                )),
        ))
        .attribute(Attribute::string_map("kyuubi_conf").optional().description(
            "Further `kyuubi.*` settings for `kyuubi-defaults.conf`. Keys the provider sets \
             (share level, ports, protocols, namespace, HA, metrics) are refused: use their \
             arguments.",
        ))
        .block(NestedBlock::single(
            "ha",
            Block::new("Shared discovery (ZooKeeper) for more than one server pod.")
                .attribute(Attribute::string("addresses").required().description(
                    "`kyuubi.ha.addresses`, e.g. `zk-0.zk:2181,zk-1.zk:2181`.",
                ))
                .attribute(Attribute::string("namespace").optional().description(
                    "`kyuubi.ha.namespace`. Defaults to `kyuubi-<namespace>-<name>`, so that two \
                     servers never share engines by accident.",
                )),
        ))
        .block(NestedBlock::single(
            "resources",
            Block::new("CPU and memory for the server container (not the engines).")
                .attribute(Attribute::string("requests_cpu").optional().description("CPU request, a Kubernetes quantity."))
                .attribute(Attribute::string("requests_memory").optional().description("Memory request, e.g. `2Gi`."))
                .attribute(Attribute::string("limits_cpu").optional().description("CPU limit."))
                .attribute(Attribute::string("limits_memory").optional().description("Memory limit.")),
        ))
        .attribute(Attribute::string_map("labels").optional().description(
            "Extra labels on every object; the `app.kubernetes.io/*` labels are the provider's.",
        ))
        .attribute(Attribute::bool("restart_engines").default(false).description(
            "After a rollout that changed the profile or the settings, delete this server's Spark \
             driver pods, so that no engine keeps the old settings. Otherwise shared engines \
             (share levels other than `CONNECTION`) keep them until they idle out, and apply \
             says so in a warning.",
        ))
        .attribute(Attribute::bool("wait_for_rollout").default(true).description(
            "Wait until the rollout is complete (the rules of `kubectl rollout status`); a rollout \
             that fails or times out fails the apply and is not recorded as done.",
        ))
        .attribute(Attribute::bool("force_conflicts").default(false).description(
            "Take over fields another field manager owns. Without it, such a conflict fails the \
             apply and names the other manager.",
        ))
        .attribute(Attribute::int("progress_deadline_seconds").default(600i64).description(
            "The Deployment's `progressDeadlineSeconds`: after this long without progress the \
             rollout counts as failed and apply stops waiting.",
        ))
        .block(timeouts::block("10m"))
        .attribute(Attribute::string("id").computed().description("`<namespace>/<name>`; also the import ID."))
        .attribute(Attribute::string("jdbc_url").computed().description(
            "`jdbc:kyuubi://<name>.<namespace>.svc.cluster.local:<thrift_binary_port>/`, for JDBC \
             clients and dbt inside the cluster. Known at plan time.",
        ))
        .attribute(Attribute::string("rest_url").computed().description(
            "The REST API's base URL inside the cluster. Known at plan time.",
        ))
        .attribute(Attribute::string("config_sha256").computed().description(
            "The hash of the server's configuration, carried by the pod template as \
             `konoha.io/config-sha256`. Known at plan time.",
        ))
        .attribute(Attribute::int("observed_generation").computed().description(
            "The Deployment generation the cluster last rolled out.",
        ))
        .attribute(Attribute::int("ready_replicas").computed().description(
            "Ready server pods at the last read.",
        ))
    }

    fn argument_names() -> Vec<String> {
        let block = Self::block();
        block
            .attributes
            .iter()
            .filter(|a| a.required || a.optional)
            .map(|a| a.name.clone())
            .chain(
                block
                    .blocks
                    .iter()
                    .filter(|b| b.name != "timeouts")
                    .map(|b| b.name.clone()),
            )
            .collect()
    }
}

/// The settings a value describes, when every argument is known.
fn settings_of(value: &Value) -> Option<ServerSettings> {
    kyuubi::resolve(&server_input(value))
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
) -> Vec<kyuubi::manifests::Object> {
    let ty = KyuubiServer::block().value_type();
    let arguments = arguments_json(state, &ty, &KyuubiServer::argument_names());
    let mut objects = kyuubi::manifests::render_objects(settings, profile_env);
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

fn object_ref(object: &kyuubi::manifests::Object) -> Result<ObjectRef, Diagnostics> {
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

fn apply_error(err: &KubeError, object: &kyuubi::manifests::Object) -> Diagnostic {
    let owners = err.conflict_owners();
    if !owners.is_empty() {
        let list: Vec<String> = owners
            .iter()
            .map(|(m, f)| format!("{f} (owned by {m:?})"))
            .collect();
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
        let rendered = crate::spark::render_env_file(&secret.data);
        let sha = crate::spark::content_sha256(&rendered);
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
        let settings = settings_of(&planned).ok_or_else(not_resolvable)?;
        let timeout = timeouts::get(&planned, op, DEFAULT_TIMEOUT);
        let deadline = tokio::time::Instant::now() + timeout;
        let profile_env = self.profile_env(&settings).await?;
        let kube = self.kube().await?;
        let mut state = planned;
        set_plan_time_values(&mut state, &settings);
        // A failure past the first write leaves objects behind: on create the state records
        // them (Terraform then marks the server tainted), on update the prior state stays, so
        // the next plan still shows the change as not done.
        let failed = |diagnostics: Diagnostics, state: &Value| ApplyError {
            diagnostics,
            partial_state: Some(if prior.is_null() {
                with_status(state.clone(), None)
            } else {
                prior.clone()
            }),
        };
        let mut deployment = None;
        for object in desired_objects(&settings, &state, profile_env.as_deref()) {
            let target = object_ref(&object)?;
            let applied = kube
                .apply(
                    &target,
                    &object.body,
                    kyuubi::constants::FIELD_MANAGER,
                    settings.force_conflicts,
                )
                .await
                .map_err(|e| failed(apply_error(&e, &object).into(), &state))?;
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
        let selector = kyuubi::manifests::driver_pod_selector(settings);
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
                        crate::provider::error_chain(&e)
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
        let mut with_defaults = config.clone();
        plan::apply_defaults(&Self::block(), config, &mut with_defaults);
        kyuubi::validate(&server_input(&with_defaults))
            .into_iter()
            .map(|v| {
                Diagnostic::error("Invalid Kyuubi server setting", v.message)
                    .at(attribute_path(&v.path))
            })
            .collect()
    }

    fn modify_plan(&self, req: PlanRequest<'_>) -> Result<Value, Diagnostics> {
        let mut planned = req.planned;
        if let Some(settings) = settings_of(&planned) {
            set_plan_time_values(&mut planned, &settings);
        }
        Ok(planned)
    }

    async fn create(&self, req: CreateRequest) -> Result<Applied, ApplyError> {
        self.reconcile(req.planned, &Value::Null, Operation::Create, &req.ctx)
            .await
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, Diagnostics> {
        let current = req.current;
        let Some(settings) = settings_of(&current) else {
            return Ok(Some(current));
        };
        let kube = &self.kube().await?;
        let get = |target: ObjectRef| async move {
            kube.get_opt(&target).await.map_err(|e| {
                Diagnostics::from(remote_error("Unable to read the Kyuubi server", &e))
            })
        };
        let Some(deployment) = get(deployment_ref(&settings)).await? else {
            tracing::info!(name = %settings.name, "Kyuubi Deployment is gone");
            return Ok(None);
        };
        let mut state = current.clone();
        // Drift in fields this provider applies. The Secret's content is not known here; the
        // hash on the pod template stands for it.
        for object in desired_objects(&settings, &current, None) {
            let live = if object.kind == "Deployment" {
                Some(deployment.clone())
            } else {
                get(object_ref(&object)?).await?
            };
            let difference = match &live {
                None => Some("(deleted)".to_owned()),
                Some(live) => first_difference(&object.body, live),
            };
            if let Some(path) = difference {
                tracing::info!(kind = object.kind, name = %object.name, %path, "drift");
                // Planning computes the real hash, so the plan shows an update whose reason is
                // readable in the diff.
                state.set_attr(
                    "config_sha256",
                    Value::String(format!(
                        "changed outside Terraform: {} {}{path}",
                        object.kind, object.name
                    )),
                );
                break;
            }
        }
        Ok(Some(with_status(state, Some(&deployment))))
    }

    async fn update(&self, req: UpdateRequest) -> Result<Applied, ApplyError> {
        self.reconcile(req.planned, &req.prior, Operation::Update, &req.ctx)
            .await
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), Diagnostics> {
        let settings = settings_of(&req.prior).ok_or_else(not_resolvable)?;
        let timeout = timeouts::get(&req.prior, Operation::Delete, DEFAULT_TIMEOUT);
        let kube = self.kube().await?;
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
        super::rollout_wait::wait_until_gone(
            &kube,
            &targets,
            tokio::time::Instant::now() + timeout,
            &req.ctx.stop,
        )
        .await
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
        let mut state = state_from_arguments(&deployment, &Self::block().value_type()).ok_or_else(|| {
            Diagnostic::error(
                "Not a konoha Kyuubi server",
                format!("Deployment {namespace}/{name} has no {ARGUMENTS_ANNOTATION} annotation: it was not created by this provider."),
            )
        })?;
        let settings = settings_of(&state).ok_or_else(not_resolvable)?;
        set_plan_time_values(&mut state, &settings);
        Ok(with_status(state, Some(&deployment)))
    }
}
