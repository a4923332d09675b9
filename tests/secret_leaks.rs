//! Secrets never leak: with Terraform's and the provider's logs at trace, a Vault token, an
//! AppRole `secret_id` and a Kubernetes bearer token, each a fresh random string, appear in no
//! log, output, state file or plan JSON across apply, plan, import and destroy.
//!
//! Terraform launches the cargo-built binary itself (`dev_overrides`), so the provider's own
//! stderr reaches Terraform's log the way it does for users; an in-process provider would log
//! into this test's process instead. The secrets reach the provider the ways users pass them:
//! the token in `VAULT_TOKEN`, the other two read with `file()`. (A sensitive variable would not
//! do: Terraform itself writes variable values into a saved plan's JSON.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::path::Path;

use support::cluster::Cluster;
use support::openbao::OpenBao;
use support::terraform::{Output, ProviderHookup, Workdir};

const IMAGE: &str = "apache/kyuubi:1.10.2-spark";

/// A random string nothing else contains: 128 bits from the std hasher's random keys.
fn unique(prefix: &str) -> String {
    let mut parts = [0u64; 2];
    for part in &mut parts {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write(prefix.as_bytes());
        *part = hasher.finish();
    }
    format!("{prefix}{:016x}{:016x}", parts[0], parts[1])
}

fn config(vault_addr: &str, kube_host: Option<&str>, kubeconfig: &Path) -> String {
    let kubernetes = match kube_host {
        Some(host) => {
            format!("    host  = \"{host}\"\n    token = trimspace(file(\"kube-token\"))\n")
        }
        None => format!("    config_path = \"{}\"\n", kubeconfig.display()),
    };
    format!(
        r#"
terraform {{
  required_providers {{
    konoha = {{ source = "konoha/konoha" }}
  }}
}}

# Logs in with AppRole; the secret_id comes from a file.
provider "konoha" {{
  vault {{
    address = "{vault_addr}"
    auth_login_approle {{
      role_id   = trimspace(file("role-id"))
      secret_id = trimspace(file("secret-id"))
    }}
  }}
  kubernetes {{
{kubernetes}  }}
}}

# Uses the token in VAULT_TOKEN.
provider "konoha" {{
  alias = "by_token"
  vault {{
    address = "{vault_addr}"
  }}
}}

resource "konoha_spark_profile" "approle" {{
  mount              = "secret"
  name               = "spark/leak-approle"
  executor_instances = 2
}}

resource "konoha_spark_profile" "token" {{
  provider           = konoha.by_token
  mount              = "secret"
  name               = "spark/leak-token"
  executor_instances = 3
}}

resource "konoha_kyuubi_server" "s" {{
  name          = "kyuubi-leak"
  image         = "{IMAGE}"
  spark_profile = konoha_spark_profile.approle.ref

  vault_agent {{
    role = "kyuubi"
  }}
}}
"#
    )
}

/// Every place a secret could end up after a command: its output, the log file and the state.
struct Scan<'a> {
    dir: &'a Path,
    log: &'a Path,
    secrets: &'a [(&'static str, String)],
    /// Bytes scanned, so the test can show it looked at something.
    seen: usize,
}

impl Scan<'_> {
    fn text(&mut self, what: &str, text: &str) {
        self.seen += text.len();
        for (name, secret) in self.secrets {
            assert!(
                !text.contains(secret.as_str()),
                "the {name} leaked into {what}"
            );
        }
    }

    fn output(&mut self, output: &Output) {
        let command = output.command();
        self.text(&format!("stdout of {command}"), &output.stdout);
        self.text(&format!("stderr of {command}"), &output.stderr);
        for file in ["terraform.tfstate", "terraform.tfstate.backup"] {
            if let Ok(text) = std::fs::read_to_string(self.dir.join(file)) {
                self.text(&format!("{file} after {command}"), &text);
            }
        }
    }

    fn ok(&mut self, output: Output) -> Output {
        self.output(&output);
        assert!(
            output.success(),
            "{} failed:\n{}",
            output.command(),
            output.stderr
        );
        output
    }

    /// The log, once everything ran; it must hold the provider's own trace lines.
    fn log(&mut self) {
        let text = std::fs::read_to_string(self.log).unwrap_or_default();
        assert!(
            text.contains("\"@module\":\"konoha\"") || text.contains("@module=konoha"),
            "the provider's own log lines are missing from TF_LOG_PATH, so the scan proves nothing"
        );
        self.text("the TF_LOG_PATH log", &text);
    }
}

#[test]
fn no_secret_reaches_logs_state_or_plans() {
    let bao = OpenBao::start();
    bao.put_policy(
        "konoha",
        r#"path "secret/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "sys/internal/ui/mounts/*" { capabilities = ["read"] }"#,
    );
    let vault_token = bao.create_token(&["konoha"]);
    bao.enable_approle("approle");
    let (role_id, secret_id) = bao.create_approle("approle", "konoha", &["konoha"]);
    let kube = Cluster::start();
    kube.create_namespace("kyuubi");
    let kube_token = unique("kube-");
    let kube_host = kube.use_bearer_token(&kube_token);

    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("terraform.log");
    let work = Workdir::new(&ProviderHookup::cargo_binary())
        .unwrap()
        .with_env(&[
            ("TF_LOG".to_owned(), "trace".to_owned()),
            ("TF_LOG_PROVIDER".to_owned(), "trace".to_owned()),
            ("TF_LOG_PATH".to_owned(), log.display().to_string()),
            ("VAULT_TOKEN".to_owned(), vault_token.clone()),
        ]);
    let kubeconfig = kube.write_kubeconfig(logs.path());
    work.write_file("role-id", &role_id).unwrap();
    work.write_file("secret-id", &secret_id).unwrap();
    work.write_file("kube-token", &kube_token).unwrap();
    work.set_config(&config(&bao.addr, kube_host.as_deref(), &kubeconfig))
        .unwrap();

    let mut secrets = vec![
        ("Vault token", vault_token),
        ("AppRole secret_id", secret_id),
    ];
    if kube_host.is_some() {
        secrets.push(("Kubernetes bearer token", kube_token));
    }
    let mut scan = Scan {
        dir: work.path(),
        log: &log,
        secrets: &secrets,
        seen: 0,
    };

    scan.ok(work.terraform(["apply", "-auto-approve", "-no-color"]));
    scan.ok(work.terraform(["plan", "-no-color", "-detailed-exitcode"]));
    // Import both kinds of resource again, as after a lost state.
    for (address, id) in [
        ("konoha_spark_profile.approle", "secret/spark/leak-approle"),
        ("konoha_spark_profile.token", "secret/spark/leak-token"),
        ("konoha_kyuubi_server.s", "kyuubi/kyuubi-leak"),
    ] {
        scan.ok(work.terraform(["state", "rm", "-no-color", address]));
        scan.ok(work.terraform(["import", "-no-color", address, id]));
    }
    scan.ok(work.terraform(["plan", "-no-color", "-out=tfplan"]));
    let plan = scan.ok(work.terraform(["show", "-json", "-no-color", "tfplan"]));
    assert!(
        plan.stdout.contains("konoha_kyuubi_server"),
        "the plan JSON should describe the resources"
    );
    scan.ok(work.terraform(["show", "-json", "-no-color"]));
    scan.ok(work.terraform(["destroy", "-auto-approve", "-no-color"]));
    scan.log();
    assert!(scan.seen > 10_000, "only {} bytes scanned", scan.seen);
}
