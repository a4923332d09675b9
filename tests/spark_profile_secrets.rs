//! Acceptance tests of a profile's secret settings (`sensitive_conf`, `sensitive_conf_wo`): the
//! real `terraform` CLI (1.11 or later, for write-only arguments), a real OpenBao, and the
//! Kubernetes API double for a server with Secret delivery.
//!
//! The first test goes through the built binary so that Terraform's own `TF_LOG=trace` log
//! holds the provider's log too; it then searches that log, the state file, `terraform show
//! -json` and the plans for the secret values.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};
use support::cluster::Cluster;
use support::openbao::OpenBao;
use support::provider::InProcessProvider;
use support::terraform::{Action, ProviderHookup, Step, TestCase, Workdir};

/// A `sensitive_conf` value: kept in state (marked sensitive), never in logs or plans.
const ACCESS_KEY: &str = "AKIA-konoha-access-7f3a";
/// Write-only values: never in state, plans or logs.
const SECRET_V1: &str = "wo-secret-first-91c2e4";
const SECRET_V2: &str = "wo-secret-second-5d8b10";
/// A write-only value changed without a version bump: not written.
const SECRET_UNBUMPED: &str = "wo-secret-unbumped-33aa";

const ACCESS_PROP: &str = "spark.hadoop.fs.s3a.access.key";
const SECRET_PROP: &str = "spark.hadoop.fs.s3a.secret.key";
const SECRET_PATH: &str = "/api/v1/namespaces/kyuubi/secrets/kyuubi-etl-spark-profile";

fn providers(vault: &str, kubeconfig: Option<&Path>) -> String {
    let kubernetes = kubeconfig.map_or(String::new(), |path| {
        format!(
            "\n  kubernetes {{\n    config_path = \"{}\"\n  }}\n",
            path.display()
        )
    });
    format!(
        r#"
terraform {{
  required_providers {{
    konoha = {{ source = "konoha/konoha" }}
  }}
}}

provider "konoha" {{{vault}{kubernetes}}}
"#
    )
}

fn vault_block(bao: &OpenBao) -> String {
    format!(
        "\n  vault {{\n    address = \"{}\"\n    token   = \"{}\"\n  }}\n",
        bao.addr, bao.token
    )
}

/// A profile with one sensitive and one write-only S3A key.
fn profile(name: &str, secret: &str, version: u32) -> String {
    format!(
        r#"
resource "konoha_spark_profile" "p" {{
  mount                     = "secret"
  name                      = "{name}"
  executor_instances        = 2
  sensitive_conf            = {{ "{ACCESS_PROP}" = "{ACCESS_KEY}" }}
  sensitive_conf_wo         = {{ "{SECRET_PROP}" = "{secret}" }}
  sensitive_conf_wo_version = {version}
}}
"#
    )
}

const SERVER: &str = r#"
resource "konoha_kyuubi_server" "etl" {
  name          = "kyuubi-etl"
  image         = "apache/kyuubi:1.10.2-spark"
  spark_profile = konoha_spark_profile.p.ref
  delivery      = "kubernetes-secret"

  engine {
    image = "apache/spark:3.5.3"
  }
}
"#;

fn stored(bao: &OpenBao, name: &str) -> Json {
    bao.kv_get("secret", name)
        .map(|(d, _)| d)
        .unwrap_or(Json::Null)
}

fn delivered_env(kube: &Cluster) -> Result<String, String> {
    use base64::Engine;
    let secret = kube.get(SECRET_PATH).ok_or("no Secret")?;
    let encoded = secret
        .pointer("/data/spark.env")
        .and_then(Json::as_str)
        .ok_or("no spark.env in the Secret")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

fn profile_hash_on_pods(kube: &Cluster) -> Option<String> {
    kube.get("/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-etl")?
        .pointer("/spec/template/metadata/annotations/konoha.io~1spark-profile-sha256")?
        .as_str()
        .map(str::to_owned)
}

/// A plan's JSON without its `configuration` section, which echoes the configuration's literal
/// expressions (this test's secrets are literals in `main.tf`; real ones come from variables).
fn without_configuration(plan: &Json) -> String {
    let mut plan = plan.clone();
    if let Some(object) = plan.as_object_mut() {
        object.remove("configuration");
    }
    plan.to_string()
}

/// Fails when any of `secrets` occurs in `text`, naming `what` was searched.
fn absent(what: &str, text: &str, secrets: &[&str]) -> Result<(), String> {
    match secrets.iter().find(|s| text.contains(*s)) {
        Some(found) => Err(format!("{what} contains the secret value {found:?}")),
        None => Ok(()),
    }
}

#[test]
fn write_only_s3_key_reaches_vault_and_the_secret_only_and_a_version_bump_restarts() {
    let bao = OpenBao::start();
    let kube = Cluster::start();
    kube.create_namespace("kyuubi");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kube.write_kubeconfig(dir.path());
    let log_path = dir.path().join("terraform-trace.log");
    let name = "spark/etl";
    let config = |secret: &str, version: u32| {
        format!(
            "{}{}{SERVER}",
            providers("", Some(&kubeconfig)),
            profile(name, secret, version)
        )
    };
    let workdir: RefCell<Option<PathBuf>> = RefCell::new(None);
    let first_hash = RefCell::new(String::new());
    let state_file_checked = |path: &Path| {
        *workdir.borrow_mut() = Some(path.to_path_buf());
        let text = std::fs::read_to_string(path.join("terraform.tfstate")).unwrap_or_default();
        if !text.contains("konoha_spark_profile") {
            return Err(format!("no profile in the state file: {text}"));
        }
        absent(
            "the state file",
            &text,
            &[SECRET_V1, SECRET_V2, SECRET_UNBUMPED],
        )
    };
    let mut case = TestCase::new(ProviderHookup::cargo_binary())
        .env("TF_LOG", "trace")
        .env("TF_LOG_PATH", log_path.display().to_string());
    for (k, v) in bao.env() {
        case = case.env(k, v);
    }
    case.step(Step::config(config(SECRET_V1, 1)).check(|state| {
        let data = stored(&bao, name);
        if data.get(SECRET_PROP) != Some(&json!(SECRET_V1))
            || data.get(ACCESS_PROP) != Some(&json!(ACCESS_KEY))
        {
            return Err(format!("Vault holds {data}"));
        }
        let env = delivered_env(&kube)?;
        for line in [
            format!("{SECRET_PROP}={SECRET_V1}\n"),
            format!("{ACCESS_PROP}={ACCESS_KEY}\n"),
        ] {
            if !env.contains(&line) {
                return Err(format!("the delivered spark.env lacks {line:?}: {env:?}"));
            }
        }
        let rendered = state
            .attr("konoha_spark_profile.p", "rendered")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let expected = format!(
            "spark.dynamicAllocation.enabled=false\nspark.executor.cores=2\n\
             spark.executor.instances=2\nspark.executor.memory=2g\n\
             {ACCESS_PROP}=<sensitive>\n{SECRET_PROP}=<sensitive>\n\
             spark.kubernetes.executor.request.cores=1.8\nspark.sql.shuffle.partitions=200\n"
        );
        if rendered != expected {
            return Err(format!("rendered {rendered:?}, expected {expected:?}"));
        }
        if !state
            .resource("konoha_spark_profile.p")
            .unwrap()
            .is_sensitive("sensitive_conf")
        {
            return Err("sensitive_conf is not marked sensitive in state".into());
        }
        state.check_no_attr("konoha_spark_profile.p", "sensitive_conf_wo")?;
        absent(
            "terraform show -json",
            &state.raw().to_string(),
            &[SECRET_V1],
        )?;
        *first_hash.borrow_mut() = profile_hash_on_pods(&kube).ok_or("no profile hash on pods")?;
        Ok(())
    }))
    // A rotated write-only key with a bumped version: written, delivered, and the server rolls.
    .step(
        Step::config(config(SECRET_V2, 2))
            .pre_config(state_file_checked)
            .plan_check(|plan| {
                plan.check_actions("konoha_spark_profile.p", &[Action::Update])?;
                plan.check_actions("konoha_kyuubi_server.etl", &[Action::Update])?;
                absent(
                    "the plan",
                    &without_configuration(plan.raw()),
                    &[SECRET_V1, SECRET_V2],
                )
            })
            .check(|_| {
                if stored(&bao, name).get(SECRET_PROP) != Some(&json!(SECRET_V2)) {
                    return Err("the new write-only value did not reach Vault".into());
                }
                let env = delivered_env(&kube)?;
                if !env.contains(&format!("{SECRET_PROP}={SECRET_V2}\n")) {
                    return Err(format!("the Secret was not updated: {env:?}"));
                }
                let now = profile_hash_on_pods(&kube).unwrap_or_default();
                if now == *first_hash.borrow() {
                    return Err("the server did not restart with the rotated key".into());
                }
                Ok(())
            }),
    )
    // A changed write-only value without a version bump is not seen, so nothing is written.
    .step(
        Step::config(config(SECRET_UNBUMPED, 2))
            .pre_config(state_file_checked)
            .plan_check(|plan| {
                if plan.has_changes() {
                    return Err("an unbumped write-only value planned a change".into());
                }
                Ok(())
            })
            .check(|_| {
                if stored(&bao, name).get(SECRET_PROP) != Some(&json!(SECRET_V2)) {
                    return Err("an unbumped write-only value was written".into());
                }
                Ok(())
            }),
    )
    .step(Step::refresh())
    .check_destroy(|| {
        // After destroy: the state file and its backup (the last state with the profile in it).
        let path = workdir.borrow().clone().ok_or("no working dir seen")?;
        let backup = std::fs::read_to_string(path.join("terraform.tfstate.backup"))
            .map_err(|e| format!("no state backup: {e}"))?;
        if !backup.contains("konoha_spark_profile") {
            return Err("the state backup does not hold the profile".into());
        }
        absent(
            "the state backup",
            &backup,
            &[SECRET_V1, SECRET_V2, SECRET_UNBUMPED],
        )?;
        let gone = bao.kv_get("secret", name).is_none();
        let seal_gone = bao.kv_get("secret", "spark/etl.konoha-seal").is_none();
        if gone && seal_gone {
            Ok(())
        } else {
            Err("the profile or its seal is still live".into())
        }
    })
    .run_or_panic();

    let log = std::fs::read_to_string(&log_path).unwrap();
    // Terraform logs each command's arguments: the log covers plan, apply, refresh and destroy.
    for args in ["\"plan\"", "\"apply\"", "\"-refresh-only\"", "\"destroy\""] {
        assert!(
            log.lines()
                .any(|l| l.contains("CLI args:") && l.contains(args)),
            "the trace log has no terraform command with {args}"
        );
    }
    assert!(
        log.contains("wrote Spark profile"),
        "the trace log holds no provider log lines"
    );
    absent(
        "the TF_LOG=trace log",
        &log,
        &[ACCESS_KEY, SECRET_V1, SECRET_V2, SECRET_UNBUMPED],
    )
    .unwrap();
}

/// Edits in Vault by hand, of a sensitive value and of a write-only value, show as drift (by
/// keyed hash, never by value) and the next apply writes the configured values back.
#[test]
fn a_secret_edited_in_vault_is_drift_and_is_written_back() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let name = "spark/drift";
    let config = format!(
        "{}{}",
        providers(&vault_block(&bao), None),
        profile(name, SECRET_V1, 1)
    );
    let edit = |key: &str, value: &str| {
        let mut data = stored(&bao, name);
        data[key] = json!(value);
        bao.kv_put("secret", name, data);
        Ok(())
    };
    TestCase::new(provider.hookup())
        .step(Step::config(config.clone()))
        .step(
            Step::config(config.clone())
                .pre_config(|_| edit(ACCESS_PROP, "edited-by-hand"))
                .plan_check(|plan| plan.check_actions("konoha_spark_profile.p", &[Action::Update]))
                .check(|_| {
                    if stored(&bao, name).get(ACCESS_PROP) != Some(&json!(ACCESS_KEY)) {
                        return Err("the sensitive value was not written back".into());
                    }
                    Ok(())
                }),
        )
        .step(
            Step::config(config)
                .pre_config(|_| edit(SECRET_PROP, "edited-by-hand"))
                .plan_check(|plan| {
                    plan.check_actions("konoha_spark_profile.p", &[Action::Update])?;
                    let change = plan.change("konoha_spark_profile.p").unwrap();
                    let before = change
                        .before_attr("rendered")
                        .and_then(Json::as_str)
                        .unwrap_or_default();
                    if !before.contains(&format!("{SECRET_PROP}=<sensitive, changed in Vault>")) {
                        return Err(format!("the drift is not named in rendered: {before:?}"));
                    }
                    absent(
                        "the plan",
                        &without_configuration(plan.raw()),
                        &["edited-by-hand", SECRET_V1],
                    )
                })
                .check(|_| {
                    if stored(&bao, name).get(SECRET_PROP) != Some(&json!(SECRET_V1)) {
                        return Err("the write-only value was not written back".into());
                    }
                    Ok(())
                }),
        )
        .run_or_panic();
}

/// The data source shows the same redacted `rendered` and hash as the resource.
#[test]
fn the_data_source_redacts_secret_values() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let name = "spark/read";
    let config = format!(
        r#"{}{}
data "konoha_spark_profile" "read" {{
  mount = "secret"
  name  = konoha_spark_profile.p.name
  depends_on = [konoha_spark_profile.p]
}}
"#,
        providers(&vault_block(&bao), None),
        profile(name, SECRET_V1, 1)
    );
    TestCase::new(provider.hookup())
        .step(Step::config(config).check(|state| {
            for attribute in ["rendered", "content_sha256", "ref"] {
                let resource = state.attr("konoha_spark_profile.p", attribute);
                let data = state.attr("data.konoha_spark_profile.read", attribute);
                if resource.is_none() || resource != data {
                    return Err(format!("{attribute}: resource {resource:?}, data {data:?}"));
                }
            }
            absent("the data source", &state.raw().to_string(), &[SECRET_V1])?;
            let properties = state
                .attr("data.konoha_spark_profile.read", "properties")
                .cloned()
                .unwrap_or_default();
            if properties.get(ACCESS_PROP).is_some() || properties.get(SECRET_PROP).is_some() {
                return Err(format!("secret keys among the properties: {properties}"));
            }
            Ok(())
        }))
        .run_or_panic();
}

/// The key rules refuse clashes and bad secret keys at `terraform validate`, naming the
/// attribute, and nothing reaches Vault.
#[test]
fn validate_refuses_clashes_between_the_three_maps() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup()).unwrap();
    // Each case: the configuration, then what the error must say (Terraform points at the
    // offending line, so the attribute shows as that line).
    let cases: &[(&str, &[&str])] = &[
        (
            "  extra_conf = { \"spark.a\" = \"1\" }\n  sensitive_conf = { \"spark.a\" = \"s\" }\n",
            &["  sensitive_conf = {", "\"spark.a\" is also in extra_conf"],
        ),
        (
            "  sensitive_conf = { \"spark.a\" = \"s\" }\n  sensitive_conf_wo = { \"spark.a\" = \"w\" }\n  sensitive_conf_wo_version = 1\n",
            &[
                "  sensitive_conf_wo = {",
                "\"spark.a\" is also in sensitive_conf",
            ],
        ),
        (
            "  extra_conf = { \"spark.b\" = \"1\" }\n  sensitive_conf_wo = { \"spark.b\" = \"w\" }\n  sensitive_conf_wo_version = 1\n",
            &[
                "  sensitive_conf_wo = {",
                "\"spark.b\" is also in extra_conf",
            ],
        ),
        (
            "  sensitive_conf_wo = { \"spark.c\" = \"w\" }\n",
            &["sensitive_conf_wo_version is required with sensitive_conf_wo"],
        ),
        (
            "  sensitive_conf = { \"fs.s3a.secret.key\" = \"s\" }\n",
            &["  sensitive_conf = {", "sensitive_conf keys start with"],
        ),
        (
            "  sensitive_conf_wo = { \"spark.master\" = \"local\" }\n  sensitive_conf_wo_version = 1\n",
            &["  sensitive_conf_wo = {", "set by the Kyuubi server"],
        ),
    ];
    let mut failures = Vec::new();
    for (body, expected) in cases {
        let config = format!(
            r#"{}
resource "konoha_spark_profile" "p" {{
  mount = "secret"
  name  = "spark/invalid"
{body}}}
"#,
            providers(&vault_block(&bao), None)
        );
        work.set_config(&config).unwrap();
        let out = work.terraform(["validate", "-no-color"]);
        let text = format!("{}{}", out.stdout, out.stderr);
        let said = expected.iter().all(|e| text.contains(e));
        if out.success() || !text.contains("Error:") || !said {
            failures.push(format!("--- {body}{text}"));
        }
    }
    assert!(
        failures.is_empty(),
        "validation gaps:\n{}",
        failures.join("\n")
    );
    assert!(
        bao.kv_metadata("secret", "spark/invalid").is_none(),
        "validate wrote to Vault"
    );
}
