//! Acceptance tests of `konoha_kyuubi_server`: the real `terraform` CLI, a real OpenBao for the
//! profiles, and the in-process Kubernetes API double (`support::kube_double`) standing in for
//! the cluster. The provider does not know which API server it talks to: it reads a kubeconfig.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value as Json;
use support::terraform::{Action, Step, Workdir};
use support::world::World;

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/kyuubi/deployments";
const IMAGE: &str = "apache/kyuubi:1.10.2-spark";
const ENGINE_IMAGE: &str = "apache/spark:3.5.3";

// This file's own steps.
impl World {
    /// Provider blocks, a profile `p` with `executor_instances`, then `rest`.
    fn config(&self, executor_instances: u32, rest: &str) -> String {
        format!(
            r#"{header}
resource "konoha_spark_profile" "p" {{
  mount              = "secret"
  name               = "spark/dbt"
  executor_instances = {executor_instances}
}}
{rest}
"#,
            header = self.provider_header(),
        )
    }

    fn deployment(&self, name: &str) -> Option<Json> {
        self.cluster.get(&format!("{DEPLOYMENT}/{name}"))
    }
}

/// A server resource `dbt` named `name`, with extra lines `body`.
fn server(resource: &str, name: &str, body: &str) -> String {
    format!(
        r#"
resource "konoha_kyuubi_server" "{resource}" {{
  name          = "{name}"
  image         = "{IMAGE}"
  spark_profile = konoha_spark_profile.p.ref

  vault_agent {{
    role = "kyuubi"
  }}

  engine {{
    image = "{ENGINE_IMAGE}"
  }}
{body}
}}
"#
    )
}

fn annotation(deployment: &Json, key: &str) -> Option<String> {
    deployment
        .pointer("/spec/template/metadata/annotations")?
        .get(key)?
        .as_str()
        .map(str::to_owned)
}

fn generation(deployment: &Json) -> i64 {
    deployment
        .pointer("/metadata/generation")
        .and_then(Json::as_i64)
        .unwrap_or(0)
}

#[test]
fn lifecycle_restarts_exactly_when_the_profile_changes() {
    let w = World::start();
    let dbt = server("dbt", "kyuubi-dbt", "");
    let labelled = server("dbt", "kyuubi-dbt", "  labels = { team = \"data\" }\n");
    let restart_seen = std::cell::Cell::new(String::new());
    w.case()
        .step(Step::config(w.config(4, &dbt)).check(|state| {
            let a = "konoha_kyuubi_server.dbt";
            state.check_attr(a, "id", "kyuubi/kyuubi-dbt")?;
            state.check_attr(
                a,
                "jdbc_url",
                "jdbc:kyuubi://kyuubi-dbt.kyuubi.svc.cluster.local:10009/",
            )?;
            let d = w.deployment("kyuubi-dbt").ok_or("no Deployment")?;
            let profile_sha = state
                .attr("konoha_spark_profile.p", "content_sha256")
                .cloned();
            if annotation(&d, "konoha.io/spark-profile-sha256").map(Json::String) != profile_sha {
                return Err("the pod template does not carry the profile's hash".into());
            }
            let objects = w
                .cluster
                .objects_with_label("app.kubernetes.io/instance=kyuubi-dbt");
            let kinds: Vec<&str> = objects.iter().map(|(k, _, _)| k.as_str()).collect();
            for kind in [
                "Deployment",
                "Service",
                "ConfigMap",
                "ServiceAccount",
                "Role",
                "RoleBinding",
            ] {
                if !kinds.contains(&kind) {
                    return Err(format!("no {kind} among {kinds:?}"));
                }
            }
            restart_seen.set(annotation(&d, "konoha.io/spark-profile-sha256").unwrap_or_default());
            Ok(())
        }))
        // A profile change shows the server's restart in the plan and rolls a new generation.
        .step(
            Step::config(w.config(6, &dbt))
                .plan_check(|plan| {
                    plan.check_actions("konoha_spark_profile.p", &[Action::Update])?;
                    plan.check_actions("konoha_kyuubi_server.dbt", &[Action::Update])?;
                    let change = plan.change("konoha_kyuubi_server.dbt").unwrap();
                    if change.is_unknown_after("spark_profile") {
                        return Err("the new profile ref must be known at plan time".into());
                    }
                    Ok(())
                })
                .check(|_| {
                    let d = w.deployment("kyuubi-dbt").ok_or("no Deployment")?;
                    let now = annotation(&d, "konoha.io/spark-profile-sha256").unwrap_or_default();
                    if now == restart_seen.take() || generation(&d) != 2 {
                        return Err(format!(
                            "no restart: generation {}, hash {now}",
                            generation(&d)
                        ));
                    }
                    Ok(())
                }),
        )
        // An unrelated change does what it says: labels on the objects, the profile untouched.
        .step(Step::config(w.config(6, &labelled)).check(|_| {
            let service = w
                .cluster
                .get("/api/v1/namespaces/kyuubi/services/kyuubi-dbt")
                .ok_or("no Service")?;
            if service.pointer("/metadata/labels/team") != Some(&Json::from("data")) {
                return Err("the Service did not get the label".into());
            }
            Ok(())
        }))
        .step(Step::import("konoha_kyuubi_server.dbt").import_state_verify())
        // The same configuration again writes nothing to the cluster.
        .step(
            Step::config(w.config(6, &labelled))
                .pre_config(|_| {
                    w.cluster.clear_requests();
                    Ok(())
                })
                .check(|_| match w.cluster.writes().unwrap_or_default() {
                    writes if writes.is_empty() => Ok(()),
                    writes => Err(format!("a no-op apply wrote: {writes:?}")),
                }),
        )
        // `kubectl rollout restart` and a reloader's annotation are not drift.
        .step(Step::config(w.config(6, &labelled)).pre_config(|_| {
            w.cluster
                .rollout_restart("kyuubi", "kyuubi-dbt")
                .map_err(|e| e.to_string())?;
            w.cluster
                .update_as("reloader", &format!("{DEPLOYMENT}/kyuubi-dbt"), |d| {
                    d["spec"]["template"]["metadata"]["annotations"]
                        ["reloader.stakater.com/last-reloaded-from"] = Json::from("configmap/x");
                })
                .map(|_| ())
                .map_err(|e| e.to_string())
        }))
        // Another object deleted by hand is drift too: the plan re-applies it.
        .step(
            Step::config(w.config(6, &labelled))
                .pre_config(|_| {
                    w.cluster
                        .delete("/api/v1/namespaces/kyuubi/services/kyuubi-dbt")
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
                .plan_check(|plan| {
                    plan.check_actions("konoha_kyuubi_server.dbt", &[Action::Update])
                })
                .check(|_| {
                    w.cluster
                        .get("/api/v1/namespaces/kyuubi/services/kyuubi-dbt")
                        .map(|_| ())
                        .ok_or_else(|| "the Service was not re-created".to_owned())
                }),
        )
        // A deleted Deployment is planned for re-creation.
        .step(
            Step::config(w.config(6, &labelled))
                .pre_config(|_| {
                    w.cluster
                        .delete(&format!("{DEPLOYMENT}/kyuubi-dbt"))
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
                .plan_check(|plan| {
                    plan.check_actions("konoha_kyuubi_server.dbt", &[Action::Create])
                }),
        )
        .check_destroy(|| {
            let left = w
                .cluster
                .objects_with_label("app.kubernetes.io/managed-by=konoha");
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("left behind: {left:?}"))
            }
        })
        .run_or_panic();
}

#[test]
fn someone_elses_change_to_an_owned_field_is_drift_and_a_conflict() {
    let w = World::start();
    let dbt = server("dbt", "kyuubi-dbt", "");
    let forced = server("dbt", "kyuubi-dbt", "  force_conflicts = true\n");
    w.case()
        .step(Step::config(w.config(4, &dbt)))
        .step(
            Step::config(w.config(4, &dbt))
                .pre_config(|_| {
                    w.cluster
                        .update_as("kubectl-edit", &format!("{DEPLOYMENT}/kyuubi-dbt"), |d| {
                            d["spec"]["template"]["spec"]["containers"][0]["image"] =
                                Json::from("evil:1");
                        })
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
                .plan_check(|plan| {
                    plan.check_actions("konoha_kyuubi_server.dbt", &[Action::Update])?;
                    // The refreshed state names the field and who took it.
                    let reason = plan
                        .change("konoha_kyuubi_server.dbt")
                        .and_then(|c| c.before_attr("config_sha256"))
                        .and_then(Json::as_str)
                        .unwrap_or_default();
                    let expected = "changed outside Terraform: Deployment kyuubi/kyuubi-dbt: \
                                    spec.template.spec.containers[name=kyuubi].image now owned \
                                    by \"kubectl-edit\"";
                    if reason != expected {
                        return Err(format!("drift reason {reason:?}, not {expected:?}"));
                    }
                    Ok(())
                })
                .expect_error("kubectl-edit"),
        )
        .step(Step::config(w.config(4, &forced)).check(|_| {
            let d = w.deployment("kyuubi-dbt").ok_or("no Deployment")?;
            match d
                .pointer("/spec/template/spec/containers/0/image")
                .and_then(Json::as_str)
            {
                Some(IMAGE) => Ok(()),
                other => Err(format!("image not restored: {other:?}")),
            }
        }))
        .run_or_panic();
}

/// `terraform plan -detailed-exitcode` in `work`: its exit code and everything it printed.
fn plan_text(work: &Workdir) -> (Option<i32>, String) {
    let out = work.terraform(["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    (out.code, format!("{}{}", out.stdout, out.stderr))
}

/// `text` with terraform's line wrapping and box drawing undone, for `contains` checks.
fn unwrapped(text: &str) -> String {
    text.replace(['│', '╷', '╵'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Issue 10: a field taken by another field manager is named in the plan (the refresh's
/// warning and the drift), with the way out; with `force_conflicts` the apply takes it back.
fn taken_field_is_named_then_taken_back(
    w: &World,
    take: impl FnOnce(),
    owner: &str,
    conflict: &str,
    taken_back: impl FnOnce(&World) -> Result<(), String>,
) {
    let work = &w.work;
    let dbt = server("dbt", "kyuubi-dbt", "");
    let forced = server("dbt", "kyuubi-dbt", "  force_conflicts = true\n");
    work.set_config(&w.config(4, &dbt)).unwrap();
    work.terraform(["apply", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    take();

    // The plan succeeds, shows the update, and says who owns the field and what to do.
    let (code, text) = plan_text(work);
    assert_eq!(code, Some(2), "the plan must show the update: {text}");
    let text = unwrapped(&text);
    assert!(
        text.contains("Warning: Fields taken by another field manager"),
        "{text}"
    );
    assert!(text.contains(owner), "the owner must be named: {text}");
    assert!(
        text.contains("Set force_conflicts = true to take the fields back"),
        "{text}"
    );
    // The diff of `config_sha256` shows the same, its quotes escaped.
    let drift = format!("changed outside Terraform: {}", owner.replace('"', "\\\""));
    assert!(
        text.contains(&drift),
        "the drift must name the owner: {text}"
    );

    // Without force_conflicts the apply fails as the warning said, naming the owner.
    let out = work.terraform(["apply", "-auto-approve", "-no-color"]);
    assert!(!out.success(), "the apply must conflict: {}", out.stdout);
    let stderr = unwrapped(&out.stderr);
    assert!(
        stderr.contains("Field conflict with another manager") && stderr.contains(conflict),
        "the apply must fail naming {conflict}: {stderr}"
    );

    // With it, the apply takes the field back, and the next plan is empty.
    work.set_config(&w.config(4, &forced)).unwrap();
    work.terraform(["apply", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    taken_back(w).unwrap();
    let (code, text) = plan_text(work);
    assert_eq!(code, Some(0), "the plan after taking it back: {text}");
    assert!(!text.contains("Warning"), "{text}");
    work.terraform(["destroy", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
}

/// Whether manager `manager` owns `field` (a `fieldsV1` path such as `["f:spec",
/// "f:replicas"]`) in `object`'s managedFields.
fn owns(object: &Json, manager: &str, field: &[&str]) -> bool {
    object
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter(|e| e["manager"] == manager)
        .any(|e| {
            field
                .iter()
                .try_fold(&e["fieldsV1"], |node, key| node.get(*key))
                .is_some()
        })
}

#[test]
fn kubectl_scale_is_named_in_the_plan_and_force_conflicts_takes_replicas_back() {
    let w = World::start();
    taken_field_is_named_then_taken_back(
        &w,
        || {
            w.cluster.scale("kyuubi", "kyuubi-dbt", 3).unwrap();
        },
        r#"Deployment kyuubi/kyuubi-dbt: spec.replicas now owned by "kubectl" (scale)"#,
        r#".spec.replicas (owned by "kubectl" (scale))"#,
        |w| {
            let d = w.deployment("kyuubi-dbt").ok_or("no Deployment")?;
            let replicas = d.pointer("/spec/replicas").and_then(Json::as_i64);
            if replicas != Some(1) || !owns(&d, "konoha", &["f:spec", "f:replicas"]) {
                return Err(format!("replicas not taken back: {replicas:?}, {d}"));
            }
            if owns(&d, "kubectl", &["f:spec", "f:replicas"]) {
                return Err("kubectl still owns spec.replicas".into());
            }
            Ok(())
        },
    );
}

#[test]
fn a_field_another_manager_applied_is_named_in_the_plan_and_taken_back() {
    const CONFIG_MAP: &str = "/api/v1/namespaces/kyuubi/configmaps/kyuubi-dbt-conf";
    const CONF: &str = "kyuubi-defaults.conf";
    let w = World::start();
    taken_field_is_named_then_taken_back(
        &w,
        || {
            let body = serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kyuubi-dbt-conf", "namespace": "kyuubi"},
                "data": {CONF: "kyuubi.frontend.protocols=REST\n"}
            });
            w.cluster
                .apply_as("platform-team", CONFIG_MAP, &body, true)
                .unwrap();
        },
        &format!(r#"ConfigMap kyuubi/kyuubi-dbt-conf: data.{CONF} now owned by "platform-team""#),
        &format!(r#".data.{CONF} (owned by "platform-team")"#),
        |w| {
            let cm = w.cluster.get(CONFIG_MAP).ok_or("no ConfigMap")?;
            let key = format!("f:{CONF}");
            if !owns(&cm, "konoha", &["f:data", &key]) || owns(&cm, "platform-team", &["f:data"]) {
                return Err(format!("the conf key was not taken back: {cm}"));
            }
            Ok(())
        },
    );
}

#[test]
fn two_servers_from_one_profile_both_restart() {
    let w = World::start();
    let both = format!(
        "{}{}",
        server("user", "kyuubi-dbt", "  share_level = \"USER\"\n"),
        server(
            "shared",
            "kyuubi-dbt-shared",
            "  share_level = \"SERVER\"\n  thrift_binary_port = 10010\n"
        )
    );
    w.case()
        .step(Step::config(w.config(4, &both)).check(|state| {
            state.check_attr(
                "konoha_kyuubi_server.shared",
                "jdbc_url",
                "jdbc:kyuubi://kyuubi-dbt-shared.kyuubi.svc.cluster.local:10010/",
            )?;
            state.check_attr(
                "konoha_kyuubi_server.user",
                "jdbc_url",
                "jdbc:kyuubi://kyuubi-dbt.kyuubi.svc.cluster.local:10009/",
            )
        }))
        .step(
            Step::config(w.config(8, &both))
                .plan_check(|plan| {
                    plan.check_actions("konoha_kyuubi_server.user", &[Action::Update])?;
                    plan.check_actions("konoha_kyuubi_server.shared", &[Action::Update])
                })
                .check(|_| {
                    for name in ["kyuubi-dbt", "kyuubi-dbt-shared"] {
                        let d = w.deployment(name).ok_or("no Deployment")?;
                        if generation(&d) != 2 {
                            return Err(format!("{name} did not roll"));
                        }
                    }
                    Ok(())
                }),
        )
        .run_or_panic();
}

#[test]
fn a_failed_rollout_fails_fast_with_events_and_is_not_recorded() {
    let w = World::start();
    let good = server("dbt", "kyuubi-dbt", "  progress_deadline_seconds = 1\n");
    let broken = good.replace(IMAGE, "apache/kyuubi:broken");
    let work = &w.work;
    work.set_config(&w.config(4, &good)).unwrap();
    work.terraform(["apply", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    work.set_config(&w.config(4, &broken)).unwrap();
    let started = std::time::Instant::now();
    let out = work.terraform(["apply", "-auto-approve", "-no-color"]);
    assert!(
        !out.success(),
        "a rollout that never becomes ready must fail the apply"
    );
    assert!(
        out.stderr.contains("ProgressDeadlineExceeded") || out.stderr.contains("progress deadline"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Recent events"),
        "the error must carry the pods' events: {}",
        out.stderr
    );
    assert!(
        started.elapsed().as_secs() < 60,
        "it must fail on the deadline, not the 10m timeout"
    );
    let plan = work.terraform(["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(
        plan.code,
        Some(2),
        "the failed change must still be pending: {}",
        plan.stdout
    );
    work.set_config(&w.config(4, &good)).unwrap();
    work.terraform(["destroy", "-auto-approve"]).ok().unwrap();
}

#[test]
fn restart_engines_deletes_this_servers_driver_pods() {
    let w = World::start();
    let dbt = server("dbt", "kyuubi-dbt", "  restart_engines = true\n");
    w.case()
        .step(Step::config(w.config(4, &dbt)))
        .step(
            Step::config(w.config(5, &dbt))
                .pre_config(|_| {
                    w.cluster.create_pod(
                        "kyuubi",
                        "driver-mine",
                        &[
                            ("konoha.io/kyuubi-server", "kyuubi-dbt"),
                            ("spark-role", "driver"),
                        ],
                    );
                    w.cluster.create_pod(
                        "kyuubi",
                        "driver-other",
                        &[
                            ("konoha.io/kyuubi-server", "someone-else"),
                            ("spark-role", "driver"),
                        ],
                    );
                    Ok(())
                })
                .check(|_| {
                    let mine = w.cluster.get("/api/v1/namespaces/kyuubi/pods/driver-mine");
                    let other = w.cluster.get("/api/v1/namespaces/kyuubi/pods/driver-other");
                    let gone = mine.is_none()
                        || mine
                            .unwrap()
                            .pointer("/metadata/deletionTimestamp")
                            .is_some();
                    match (gone, other.is_some()) {
                        (true, true) => Ok(()),
                        _ => Err(
                            "restart_engines must delete this server's drivers and only those"
                                .into(),
                        ),
                    }
                }),
        )
        .run_or_panic();
}

#[test]
fn a_profile_change_warns_that_shared_engines_keep_old_settings() {
    let w = World::start();
    let work = &w.work;
    let dbt = server("dbt", "kyuubi-dbt", "");
    work.set_config(&w.config(4, &dbt)).unwrap();
    work.terraform(["apply", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    work.set_config(&w.config(5, &dbt)).unwrap();
    let out = work
        .terraform(["apply", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("Running Spark engines keep their old settings"),
        "{text}"
    );
    assert!(
        text.contains("restart_engines"),
        "the warning must say how to avoid it: {text}"
    );
    work.terraform(["destroy", "-auto-approve"]).ok().unwrap();
}

#[test]
fn a_rollout_that_outlasts_the_timeout_fails_and_is_not_recorded() {
    let w = World::start();
    let work = &w.work;
    let dbt = server(
        "dbt",
        "kyuubi-dbt",
        "  timeouts {\n    update = \"2s\"\n  }\n",
    );
    work.set_config(&w.config(4, &dbt)).unwrap();
    work.terraform(["apply", "-auto-approve", "-no-color"])
        .ok()
        .unwrap();
    w.cluster.set_never_ready("kyuubi", "kyuubi-dbt", true);
    work.set_config(&w.config(5, &dbt)).unwrap();
    let started = std::time::Instant::now();
    let out = work.terraform(["apply", "-auto-approve", "-no-color"]);
    assert!(!out.success());
    assert!(
        out.stderr.contains("Timed out waiting for the rollout"),
        "{}",
        out.stderr
    );
    assert!(
        started.elapsed().as_secs() < 60,
        "the 2s update timeout was not honoured"
    );
    let plan = work.terraform(["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(
        plan.code,
        Some(2),
        "the timed-out change must still be pending: {}",
        plan.stdout
    );
    w.cluster.set_never_ready("kyuubi", "kyuubi-dbt", false);
    work.terraform(["destroy", "-auto-approve"]).ok().unwrap();
}

#[test]
fn the_data_source_reads_urls_and_readiness() {
    let w = World::start();
    let dbt = server("dbt", "kyuubi-dbt", "  thrift_binary_port = 10012\n");
    let with_data = format!(
        "{dbt}\ndata \"konoha_kyuubi_server\" \"read\" {{\n  name      = \"kyuubi-dbt\"\n  namespace = \"kyuubi\"\n}}\n"
    );
    w.case()
        .step(Step::config(w.config(4, &dbt)))
        .step(Step::config(w.config(4, &with_data)).check(|state| {
            let a = "data.konoha_kyuubi_server.read";
            state.check_attr(
                a,
                "jdbc_url",
                "jdbc:kyuubi://kyuubi-dbt.kyuubi.svc.cluster.local:10012/",
            )?;
            state.check_attr(a, "ready_replicas", 1)?;
            state.check_attr(a, "share_level", "USER")?;
            state.check_attr(a, "image", IMAGE)
        }))
        .run_or_panic();
}

/// An empty name or namespace is refused at validate, at the argument, and nothing is asked of
/// the cluster (before, it failed only at read, with an error naming neither).
#[test]
fn the_data_source_refuses_an_empty_location_at_validate() {
    let w = World::start();
    let work = &w.work;
    w.cluster.clear_requests();
    let mut failures = Vec::new();
    for (name, namespace, line) in [
        ("", "kyuubi", "name      = \"\""),
        ("kyuubi-dbt", "", "namespace = \"\""),
    ] {
        let data = format!(
            "data \"konoha_kyuubi_server\" \"read\" {{\n  name      = \"{name}\"\n  namespace = \"{namespace}\"\n}}\n"
        );
        work.set_config(&w.config(4, &data)).unwrap();
        let out = work.terraform(["validate", "-no-color"]);
        if out.success() || !out.stderr.contains("is empty") || !out.stderr.contains(line) {
            failures.push(format!("--- {line}\n{}", out.stderr));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    if let Some(requests) = w.cluster.requests() {
        assert_eq!(requests, Vec::<(String, String)>::new());
    }
}

#[test]
fn plan_makes_no_call_to_the_cluster() {
    let w = World::start();
    let work = &w.work;
    work.set_config(&w.config(4, &server("dbt", "kyuubi-dbt", "")))
        .unwrap();
    w.cluster.clear_requests();
    work.terraform(["plan", "-no-color"]).ok().unwrap();
    // Only the double keeps a request log; a real control plane cannot answer this.
    if let Some(requests) = w.cluster.requests() {
        assert_eq!(requests, Vec::<(String, String)>::new());
    }
}

#[test]
fn the_secret_delivery_copies_the_checked_profile() {
    let w = World::start();
    let dbt = r#"
resource "konoha_kyuubi_server" "dbt" {
  name          = "kyuubi-dbt"
  image         = "apache/kyuubi:1.10.2-spark"
  spark_profile = konoha_spark_profile.p.ref
  delivery      = "kubernetes-secret"

  engine {
    image = "apache/spark:3.5.3"
  }
}
"#;
    w.case()
        .step(Step::config(w.config(4, dbt)).check(|state| {
            let secret = w
                .cluster
                .get("/api/v1/namespaces/kyuubi/secrets/kyuubi-dbt-spark-profile")
                .ok_or("no Secret")?;
            let encoded = secret
                .pointer("/data/spark.env")
                .and_then(Json::as_str)
                .ok_or("no spark.env")?;
            let rendered = state
                .attr("konoha_spark_profile.p", "rendered")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned();
            let decoded = base64_decode(encoded);
            if decoded != rendered {
                return Err(format!(
                    "Secret holds {decoded:?}, profile renders {rendered:?}"
                ));
            }
            Ok(())
        }))
        .run_or_panic();
}

/// Found by `tests/kyuubi_sequences.rs`: a server switched from `delivery =
/// "kubernetes-secret"` to the Vault Agent left its profile Secret (the profile, secret settings
/// included) in the cluster for good, and no refresh named it.
#[test]
fn regression_leaving_the_secret_delivery_removes_the_profile_secret() {
    const SECRET: &str = "/api/v1/namespaces/kyuubi/secrets/kyuubi-dbt-spark-profile";
    let w = World::start();
    let with_secret = format!(
        r#"
resource "konoha_kyuubi_server" "dbt" {{
  name          = "kyuubi-dbt"
  image         = "{IMAGE}"
  spark_profile = konoha_spark_profile.p.ref
  delivery      = "kubernetes-secret"

  engine {{
    image = "{ENGINE_IMAGE}"
  }}
}}
"#
    );
    let with_agent = server("dbt", "kyuubi-dbt", "");
    w.case()
        .step(
            Step::config(w.config(4, &with_secret))
                .check(|_| w.cluster.get(SECRET).map(|_| ()).ok_or("no Secret".into())),
        )
        .step(
            Step::config(w.config(4, &with_agent)).check(|_| match w.cluster.get(SECRET) {
                None => Ok(()),
                Some(_) => {
                    Err("the profile Secret is left after leaving the Secret delivery".into())
                }
            }),
        )
        .run_or_panic();
}

fn base64_decode(text: &str) -> String {
    use base64::Engine;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn validate_rejects_bad_servers_with_the_attribute_at_fault() {
    let w = World::start();
    let work = &w.work;
    let cases: &[(&str, &str)] = &[
        ("  share_level = \"TEAM\"\n", "share_level"),
        (
            "  thrift_binary_port = 10099\n",
            "already used by thrift_binary_port",
        ),
        ("  rest_port = 70000\n", "rest_port"),
        ("  replicas = 2\n", "replicas"),
        (
            "  kyuubi_conf = { \"kyuubi.engine.share.level\" = \"USER\" }\n",
            "kyuubi_conf",
        ),
        ("  kyuubi_conf = { \"spark.x\" = \"1\" }\n", "kyuubi_conf"),
        (
            "  timeouts {\n    create = \"ten minutes\"\n  }\n",
            "create",
        ),
    ];
    let mut failures = Vec::new();
    for (body, attribute) in cases {
        work.set_config(&w.config(4, &server("dbt", "kyuubi-dbt", body)))
            .unwrap();
        let out = work.terraform(["validate", "-no-color"]);
        if out.success() || !out.stderr.contains(attribute) {
            failures.push(format!("--- {body}{}", out.stderr));
        }
    }
    for (name, profile) in [
        ("Kyuubi_DBT", "konoha_spark_profile.p.ref"),
        ("kyuubi-dbt", "\"secret/spark/dbt\""),
    ] {
        let config = w.config(4, &format!(
            "resource \"konoha_kyuubi_server\" \"x\" {{\n  name = \"{name}\"\n  image = \"{IMAGE}\"\n  spark_profile = {profile}\n  vault_agent {{\n    role = \"k\"\n  }}\n  engine {{\n    image = \"{ENGINE_IMAGE}\"\n  }}\n}}\n"
        ));
        work.set_config(&config).unwrap();
        if work.terraform(["validate", "-no-color"]).success() {
            failures.push(format!(
                "--- name {name} / spark_profile {profile} was accepted"
            ));
        }
    }
    // Without an engine image Spark starts no driver: refused with or without the block.
    for (engine, expected) in [
        ("", "Spark on Kubernetes starts no engine without one"),
        (
            "  engine {\n    idle_timeout = \"PT30M\"\n  }\n",
            "The argument \"image\" is required",
        ),
    ] {
        let config = w.config(4, &format!(
            "resource \"konoha_kyuubi_server\" \"x\" {{\n  name = \"kyuubi-dbt\"\n  image = \"{IMAGE}\"\n  spark_profile = konoha_spark_profile.p.ref\n  vault_agent {{\n    role = \"k\"\n  }}\n{engine}}}\n"
        ));
        work.set_config(&config).unwrap();
        let out = work.terraform(["validate", "-no-color"]);
        if out.success() || !out.stderr.contains(expected) {
            failures.push(format!("--- engine {engine:?}: {}", out.stderr));
        }
    }
    assert!(
        failures.is_empty(),
        "validation gaps:\n{}",
        failures.join("\n")
    );
    assert!(
        w.cluster.writes().unwrap_or_default().is_empty(),
        "validate wrote to the cluster"
    );
}

/// Issue 6, "Small ones seen on a real API server": settings that say how the provider works
/// (`timeouts`, `wait_for_rollout`, `force_conflicts`) are not changes to the server. Changing
/// only them, or importing a server whose configuration sets them, plans no unknown status and
/// writes nothing to the cluster.
#[test]
fn regression_issue6_client_side_settings_change_nothing_in_the_cluster() {
    let w = World::start();
    let work = &w.work;
    let plain = server("dbt", "kyuubi-dbt", "");
    let with_timeouts = server(
        "dbt",
        "kyuubi-dbt",
        "  timeouts {\n    update = \"7m\"\n  }\n",
    );
    let all_three = server(
        "dbt",
        "kyuubi-dbt",
        "  wait_for_rollout = false\n  force_conflicts  = true\n  timeouts {\n    create = \"3m\"\n  }\n",
    );
    let apply = |hcl: &str| {
        work.set_config(&w.config(4, hcl)).unwrap();
        work.terraform(["apply", "-auto-approve", "-no-color"])
            .ok()
            .unwrap();
    };
    // The plan of the configuration as it stands: the server changes in place, only in
    // `changed`, and its status stays known.
    let check_plan = |changed: &[&str]| {
        work.terraform(["plan", "-no-color", "-out=tfplan"])
            .ok()
            .unwrap();
        let shown = work.terraform(["show", "-json", "-no-color", "tfplan"]);
        let plan = support::terraform::Plan::from_json(&shown.ok().unwrap().stdout).unwrap();
        plan.check_actions("konoha_kyuubi_server.dbt", &[Action::Update])
            .unwrap();
        let change = plan.change("konoha_kyuubi_server.dbt").unwrap();
        for status in ["observed_generation", "ready_replicas", "config_sha256"] {
            assert!(
                !change.is_unknown_after(status),
                "{status} planned unknown for a change of {changed:?} only"
            );
        }
        let before = support::terraform::flatten(&change.before);
        let after = support::terraform::flatten(&change.after);
        let differing: std::collections::BTreeSet<String> = before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| k.split('.').next().unwrap_or(k).to_owned())
            .collect();
        let expected: std::collections::BTreeSet<String> =
            changed.iter().map(|c| (*c).to_owned()).collect();
        assert_eq!(differing, expected, "the plan changes more than asked");
    };
    let apply_plan_without_writes = |what: &str| {
        w.cluster.clear_requests();
        work.terraform(["apply", "-no-color", "tfplan"])
            .ok()
            .unwrap();
        if let Some(writes) = w.cluster.writes() {
            assert_eq!(writes, Vec::<(String, String)>::new(), "{what} wrote");
        }
        let empty = work.terraform(["plan", "-no-color", "-detailed-exitcode"]);
        assert_eq!(empty.code, Some(0), "{what}: {}", empty.stdout);
    };

    apply(&plain);
    // Import, as after a lost state, with a configuration that has a `timeouts` block.
    work.set_config(&w.config(4, &with_timeouts)).unwrap();
    work.terraform(["state", "rm", "konoha_kyuubi_server.dbt"])
        .ok()
        .unwrap();
    work.terraform([
        "import",
        "-no-color",
        "konoha_kyuubi_server.dbt",
        "kyuubi/kyuubi-dbt",
    ])
    .ok()
    .unwrap();
    check_plan(&["timeouts"]);
    apply_plan_without_writes("applying the imported server's timeouts");

    // An update of only the three, from the imported state.
    work.set_config(&w.config(4, &all_three)).unwrap();
    check_plan(&["force_conflicts", "timeouts", "wait_for_rollout"]);
    apply_plan_without_writes("an update of only client-side settings");
    work.terraform(["destroy", "-auto-approve"]).ok().unwrap();
}

/// Creates `pod` (a pod spec with `name`) in `ns` as a server-side dry run, which Pod Security
/// admission judges like a real create: the created pod, or the refusal.
fn dry_run_pod(w: &World, ns: &str, name: &str, spec: Json) -> Result<Json, Json> {
    let pod = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "namespace": ns },
        "spec": spec,
    });
    w.cluster.apply_as(
        "psa-probe",
        &format!("/api/v1/namespaces/{ns}/pods/{name}?dryRun=All"),
        &pod,
        true,
    )
}

/// Pod Security admission is the real API server's: the double has none, so this runs only
/// on a real control plane and is reported as ignored elsewhere.
#[test]
#[cfg_attr(
    not(konoha_real_cluster),
    ignore = "not applicable on the API double (no Pod Security admission): needs KUBEBUILDER_ASSETS"
)]
fn a_restricted_namespace_admits_the_server_and_its_engines() {
    let w = World::start();
    let ns = "restricted";
    w.cluster.create_namespace(ns);
    w.cluster
        .apply_as(
            "psa-test",
            &format!("/api/v1/namespaces/{ns}"),
            &serde_json::json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "labels": {
                        "pod-security.kubernetes.io/enforce": "restricted",
                        "pod-security.kubernetes.io/enforce-version": "latest",
                    },
                },
            }),
            true,
        )
        .expect("namespace labelled");
    // The control: a plain pod is refused, so the label is enforced and what follows means
    // something.
    let plain = serde_json::json!({ "containers": [{ "name": "c", "image": IMAGE }] });
    let refusal = dry_run_pod(&w, ns, "plain", plain).expect_err("a plain pod is refused");
    assert!(
        refusal.to_string().contains("violates PodSecurity"),
        "unexpected refusal: {refusal}"
    );
    let dbt = server(
        "dbt",
        "kyuubi-dbt",
        &format!("  namespace = \"{ns}\"\n  delivery = \"kubernetes-secret\"\n"),
    )
    .replace("  vault_agent {\n    role = \"kyuubi\"\n  }\n", "");
    w.case()
        .step(Step::config(w.config(4, &dbt)).check(|state| {
            // The apply waited for the rollout: with the controller manager the ReplicaSet's
            // pods were admitted. Check the pod specs themselves too, which holds without it.
            state.check_attr("konoha_kyuubi_server.dbt", "ready_replicas", 1)?;
            let deployment = w
                .cluster
                .get(&format!(
                    "/apis/apps/v1/namespaces/{ns}/deployments/kyuubi-dbt"
                ))
                .ok_or("no Deployment")?;
            let server_spec = deployment["spec"]["template"]["spec"].clone();
            dry_run_pod(&w, ns, "server", server_spec)
                .map_err(|s| format!("server pod refused: {s}"))?;
            let config_map = w
                .cluster
                .get(&format!(
                    "/api/v1/namespaces/{ns}/configmaps/kyuubi-dbt-conf"
                ))
                .ok_or("no ConfigMap")?;
            for file in ["driver-pod-template.yaml", "executor-pod-template.yaml"] {
                let text = config_map["data"][file].as_str().ok_or("no template")?;
                let template: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
                // Spark fills in the image; the rest is the template's.
                let mut spec = template["spec"].clone();
                spec["containers"][0]["image"] = Json::from(ENGINE_IMAGE);
                dry_run_pod(&w, ns, "engine", spec).map_err(|s| format!("{file} refused: {s}"))?;
            }
            Ok(())
        }))
        .run_or_panic();
}
