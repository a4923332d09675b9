//! Acceptance tests of input refusal (issue 6, "Inputs"): the real `terraform` CLI, a real
//! OpenBao, and the provider served in this process. A bad value stops `terraform validate` at
//! the attribute it is in, and nothing reaches Vault.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::openbao::OpenBao;
use support::provider::InProcessProvider;
use support::terraform::Workdir;

const IMAGE: &str = "apache/kyuubi:1.10.2-spark";

/// The provider block for `bao`.
fn providers(bao: &OpenBao) -> String {
    support::hcl::vault_provider_header(&bao.addr, &bao.token)
}

/// A profile `p` at `<mount>/<name>` with extra lines `body`.
fn profile(mount: &str, name: &str, body: &str) -> String {
    format!(
        r#"
resource "konoha_spark_profile" "p" {{
  mount = "{mount}"
  name  = "{name}"
{body}
}}
"#
    )
}

/// A Kyuubi server using profile `p`, with extra lines `body`.
fn server(body: &str) -> String {
    server_with_image(IMAGE, body)
}

/// [`server`] with another image.
fn server_with_image(image: &str, body: &str) -> String {
    format!(
        r#"
resource "konoha_kyuubi_server" "s" {{
  name          = "kyuubi-dbt"
  image         = "{image}"
  spark_profile = konoha_spark_profile.p.ref
  vault_agent {{
    role = "kyuubi"
  }}
{body}
}}
"#
    )
}

/// The profile data source for `<mount>/<name>`.
fn profile_data(mount: &str, name: &str) -> String {
    format!(
        r#"
data "konoha_spark_profile" "d" {{
  mount = "{mount}"
  name  = "{name}"
}}
"#
    )
}

/// The configuration of a validation case: provider, profile `p` at `secret/<name>` with
/// extra lines `profile`, and a server with extra lines `server` when given.
fn config(bao: &OpenBao, name: &str, profile_body: &str, server_body: Option<&str>) -> String {
    let server = server_body.map_or(String::new(), server);
    format!(
        "{}{}{server}",
        providers(bao),
        profile("secret", name, profile_body)
    )
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs `terraform validate` on each configuration and returns a report of every one that
/// passed, or failed without `expected` in the output. A domain rule's message does not repeat
/// the path, so its cases expect Terraform's source line of the attribute (`image = ""`) right
/// before the message.
fn refused_at_validate(work: &Workdir, cases: &[(String, &str)]) -> Vec<String> {
    let mut failures = Vec::new();
    for (hcl, expected) in cases {
        work.set_config(hcl).unwrap();
        let out = work.terraform(["validate", "-no-color"]);
        let text = format!("{}{}", out.stdout, out.stderr);
        // Terraform wraps long details; compare with the line breaks undone.
        if out.success() || !text.contains("Error:") || !one_line(&text).contains(expected) {
            failures.push(format!("--- wanted {expected:?}\n{hcl}\n{text}"));
        }
    }
    failures
}

/// Every whole-number attribute refuses a fraction, a number too large for it and a value out
/// of its range, naming the attribute, instead of reading it as "not set" (which planned the
/// default and then showed "No changes" forever).
#[test]
fn whole_number_attributes_refuse_fractions_and_out_of_range_values() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup()).unwrap();
    let name = "spark/numbers";
    let cases: [(&str, Option<&str>, &str); 13] = [
        (
            "  executor_instances = 2.5",
            None,
            "executor_instances must be a whole number, got 2.5.",
        ),
        // More digits than a float holds: Terraform sends the text, which used to be read as
        // the nearest float (2, accepted; 12345678901234567000 in the message).
        (
            "  executor_cores = 2.00000000000000000001",
            None,
            "executor_cores must be a whole number, got 2.00000000000000000001.",
        ),
        (
            "  executor_instances = 12345678901234567890",
            None,
            "executor_instances must be a whole number from -2147483648 to 2147483647, got \
             12345678901234567890.",
        ),
        (
            "  executor_instances = 1e20",
            None,
            "executor_instances must be a whole number from -2147483648 to 2147483647, got \
             100000000000000000000.",
        ),
        (
            "  shuffle_partitions = 2147483648",
            None,
            "shuffle_partitions must be a whole number from -2147483648 to 2147483647, got \
             2147483648.",
        ),
        (
            "  executor_cores = 0.5",
            None,
            "executor_cores must be a whole number, got 0.5.",
        ),
        (
            "  max_versions = 1.5",
            None,
            "max_versions must be a whole number, got 1.5.",
        ),
        (
            "  dynamic_allocation {\n    enabled = true\n    max_executors = 2.5\n  }",
            None,
            "dynamic_allocation.max_executors must be a whole number, got 2.5.",
        ),
        (
            "  gpu {\n    amount = 1.5\n  }",
            None,
            "gpu.amount must be a whole number, got 1.5.",
        ),
        (
            "",
            Some("  rest_port = 10099.5"),
            "rest_port must be a whole number, got 10099.5.",
        ),
        (
            "",
            Some("  metrics {\n    port = 70000\n  }"),
            "metrics.port must be a whole number from 1 to 65535, got 70000.",
        ),
        (
            "",
            Some("  replicas = 1.5"),
            "replicas must be a whole number, got 1.5.",
        ),
        (
            "",
            Some("  progress_deadline_seconds = 0"),
            "progress_deadline_seconds must be a whole number from 1 to 2147483647, got 0.",
        ),
    ];
    let cases: Vec<(String, &str)> = cases
        .iter()
        .map(|(profile, server, expected)| (config(&bao, name, profile, *server), *expected))
        .collect();
    let failures = refused_at_validate(&work, &cases);
    assert!(
        failures.is_empty(),
        "accepted or refused without naming the attribute:\n{}",
        failures.join("\n")
    );
    assert!(
        bao.kv_metadata("secret", name).is_none(),
        "validate wrote to Vault"
    );
}

/// The other refusals of issue 6 reach `terraform validate` at their attribute: memory sizes
/// that overflow, GPU vendors that are not lowercase domains, labels the provider owns or
/// Kubernetes would refuse, an empty image, empty `ha.addresses`, a bad `engine.namespace`.
#[test]
fn other_bad_inputs_are_refused_at_validate() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup()).unwrap();
    let name = "spark/inputs";
    let with_server = |body: &str| config(&bao, name, "", Some(body));
    let cases: Vec<(String, &str)> = vec![
        (
            config(
                &bao,
                name,
                "  executor_memory = \"9999999999999999999g\"",
                None,
            ),
            "executor_memory = \"9999999999999999999g\" \"9999999999999999999g\" is not a Spark \
             memory size: it is larger than Spark can count",
        ),
        // Spark reads pod memory settings as whole MiB: what it would truncate is refused.
        (
            config(&bao, name, "  executor_memory = \"2097153k\"", None),
            "\"2097153k\" is not a whole number of MiB: Spark reads it as 2048 MiB and drops \
             the rest",
        ),
        (
            config(
                &bao,
                name,
                "  extra_conf = { \"spark.driver.memory\" = \"1536k\" }",
                None,
            ),
            "the value \"1536k\" of \"spark.driver.memory\" is not a whole number of MiB: \
             Spark reads it as 1 MiB and drops the rest",
        ),
        (
            config(
                &bao,
                name,
                "  gpu {\n    amount = 1\n    vendor = \"NVIDIA.com\"\n  }",
                None,
            ),
            "\"NVIDIA.com\" is not a vendor domain",
        ),
        (
            config(&bao, name, "  max_versions = 0", None),
            "0 is too small: it must be at least 1 (leave max_versions out to keep the mount's \
             setting)",
        ),
        (
            with_server("  labels = { \"app.kubernetes.io/instance\" = \"other\" }"),
            "\"app.kubernetes.io/instance\" is set by the provider on every object",
        ),
        (
            with_server("  labels = { \"konoha.io/kyuubi-server\" = \"other\" }"),
            "\"konoha.io/kyuubi-server\" has the prefix \"konoha.io/\", which is the provider's",
        ),
        (
            with_server("  labels = { \"Example.com/tier\" = \"gold\" }"),
            "\"Example.com/tier\" is not a label key",
        ),
        (
            format!(
                "{}{}{}",
                providers(&bao),
                profile("secret", name, ""),
                server_with_image("", "")
            ),
            "image = \"\" \"\" is empty",
        ),
        (
            with_server("  ha {\n    addresses = \"\"\n  }"),
            "addresses = \"\" \"\" is not a comma-separated list of endpoints",
        ),
        (
            with_server(
                "  engine {\n    image     = \"apache/spark:3.5.3\"\n    namespace = \"Spark_Jobs\"\n  }",
            ),
            "namespace = \"Spark_Jobs\" \"Spark_Jobs\" may contain only lowercase letters, \
             digits and '-': a namespace is a DNS-1123 label",
        ),
    ];
    let failures = refused_at_validate(&work, &cases);
    assert!(
        failures.is_empty(),
        "accepted or refused without naming the attribute:\n{}",
        failures.join("\n")
    );
    assert!(
        bao.kv_metadata("secret", name).is_none(),
        "validate wrote to Vault"
    );
}

/// Issue 9, "GPU executors that start": task amounts that do not split the executor's GPUs into
/// whole tasks, fractions Spark would round or refuse, a relative discovery script and an
/// `extra_conf` key that repeats a GPU setting all stop `terraform validate` at the attribute,
/// and nothing reaches Vault.
#[test]
fn gpu_settings_are_refused_at_validate() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup()).unwrap();
    let name = "spark/gpu-inputs";
    let gpu = |lines: &str| config(&bao, name, &format!("  gpu {{\n{lines}\n  }}"), None);
    let cases: Vec<(String, &str)> = vec![
        (
            gpu("    amount = 1\n    task_amount = 0.3"),
            "task_amount = 0.3 1/0.3 is not a whole number of tasks per GPU, and Spark would \
             round it down",
        ),
        (
            gpu("    amount = 3\n    task_amount = 1.5"),
            "task_amount = 1.5 1.5 is a fraction above 1, which Spark refuses",
        ),
        (
            gpu("    amount = 1\n    task_amount = 0"),
            "task_amount = 0 0 is not more than 0",
        ),
        (
            gpu("    amount = 1\n    task_amount = -0.5"),
            "task_amount = -0.5 -0.5 is not more than 0",
        ),
        (
            gpu("    amount = 3\n    task_amount = 2"),
            "task_amount = 2 2 GPUs per task do not divide amount 3",
        ),
        (
            gpu("    amount = 1\n    discovery_script = \"getGpusResources.sh\""),
            "\"getGpusResources.sh\" is not an absolute path",
        ),
        (
            config(
                &bao,
                name,
                "  extra_conf = { \"spark.task.resource.gpu.amount\" = \"0.5\" }",
                None,
            ),
            "\"spark.task.resource.gpu.amount\" is rendered from a typed attribute: set \
             gpu.task_amount instead of repeating it in extra_conf",
        ),
        (
            config(
                &bao,
                name,
                "  extra_conf = { \"spark.executor.resource.gpu.discoveryScript\" = \"/x.sh\" }",
                None,
            ),
            "\"spark.executor.resource.gpu.discoveryScript\" is rendered from a typed \
             attribute: set gpu.discovery_script",
        ),
    ];
    let failures = refused_at_validate(&work, &cases);
    assert!(
        failures.is_empty(),
        "accepted or refused without naming the attribute:\n{}",
        failures.join("\n")
    );
    // More digits than a 64-bit float holds: refused at validate, where it used to be read as
    // 0.1 and then fail the plan with "Provider produced invalid plan".
    let held = "gpu.task_amount cannot be kept as written: the provider holds a number as a \
                64-bit float, so it takes a decimal of at most 15 significant digits";
    let cases: Vec<(String, String)> = vec![
        (
            gpu("    amount = 1\n    task_amount = 0.10000000000000000001"),
            held.to_owned(),
        ),
        (
            gpu("    amount = 1\n    task_amount = 0.10000000000000000001"),
            "Got 0.10000000000000000001, which a float would round to 0.1.".to_owned(),
        ),
        // Whole, and Terraform compares whole numbers exactly: the float nearest 1e23 is
        // 99999999999999991611392, which failed the plan the same way.
        (
            gpu("    amount = 1\n    task_amount = 1e23"),
            "Got 100000000000000000000000, which a float would round to \
             99999999999999991611392."
                .to_owned(),
        ),
        (
            gpu("    amount = 1\n    task_amount = 1e400"),
            format!(
                "Got 1{}, which is beyond the largest float",
                "0".repeat(400)
            ),
        ),
    ];
    let cases: Vec<(String, &str)> = cases.iter().map(|(c, e)| (c.clone(), e.as_str())).collect();
    let failures = refused_at_validate(&work, &cases);
    assert!(
        failures.is_empty(),
        "a task amount was rounded to fit a float:\n{}",
        failures.join("\n")
    );
    assert!(
        bao.kv_metadata("secret", name).is_none(),
        "validate wrote to Vault"
    );
}

/// A profile whose mount is not KV v2 — KV v1, another engine, no mount — is refused before
/// anything is written, by apply and by the data source, with an error naming the mount and
/// what it is. Before the check, a KV v1 mount took `kv1/data/<name>` as a plain key.
#[test]
fn mounts_that_are_not_kv_version_2_are_refused_before_any_write() {
    let bao = OpenBao::start();
    let mount = |path: &str, body: serde_json::Value| {
        let response = bao.call("POST", &format!("/v1/sys/mounts/{path}"), Some(body));
        assert_eq!(response.status, 204, "mounting {path}: {}", response.body);
    };
    mount(
        "kv1",
        serde_json::json!({"type": "kv", "options": {"version": "1"}}),
    );
    mount("transit", serde_json::json!({"type": "transit"}));
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup()).unwrap();
    let cases = [
        ("kv1", "is a KV version 1 secrets engine"),
        ("transit", "is a \"transit\" secrets engine, not KV"),
        (
            "nothere",
            "is not a mount this token can reach (there is no such mount, or no policy grants \
             access under it)",
        ),
    ];
    let mut failures = Vec::new();
    for (mount, what) in cases {
        let expected = format!(
            "the mount \"{mount}\" {what}; Spark profiles need a KV version 2 secrets engine"
        );
        let resource = format!("{}{}", providers(&bao), profile(mount, "spark/etl", ""));
        let data = format!("{}{}", providers(&bao), profile_data(mount, "spark/etl"));
        for (what, hcl, command) in [
            (
                "apply",
                &resource,
                vec!["apply", "-auto-approve", "-no-color"],
            ),
            ("data source", &data, vec!["plan", "-no-color"]),
        ] {
            work.set_config(hcl).unwrap();
            let out = work.terraform(command);
            let text = one_line(&format!("{}{}", out.stdout, out.stderr));
            if out.success() || !text.contains(&expected) {
                failures.push(format!(
                    "--- {what} on {mount}: wanted {expected:?}\n{text}"
                ));
            }
        }
        if mount == "kv1" {
            for path in ["/v1/kv1/data/spark/etl", "/v1/kv1/metadata/spark/etl"] {
                let stray = bao.call("GET", path, None);
                assert_eq!(stray.status, 404, "{path} was written: {}", stray.body);
            }
        }
    }
    assert!(failures.is_empty(), "not refused:\n{}", failures.join("\n"));
    let state = work.terraform(["state", "list"]);
    assert!(
        state.stdout.trim().is_empty(),
        "refused profiles reached the state: {}",
        state.stdout
    );
}

/// The exact value of the float nearest 0.1, written out in full. Terraform holds a literal as
/// a 512-bit number, sees that a float holds this one exactly and sends it as a msgpack float.
const TENTH_EXPANDED: &str = "0.1000000000000000055511151231257827021181583404541015625";

/// Numbers that reach the provider as a msgpack float rather than as text: whole numbers
/// written `2.0` and `2e0` plan, apply, store `2` and plan no change afterwards.
#[test]
fn whole_numbers_written_with_a_point_or_an_exponent_apply_as_written() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let name = "spark/whole-forms";
    let hcl = config(
        &bao,
        name,
        "  executor_instances = 2.0\n  executor_cores = 2e0\n  \
         gpu {\n    amount = 1e0\n    task_amount = 5e-1\n  }",
        None,
    );
    support::terraform::TestCase::new(provider.hookup())
        .step(support::terraform::Step::config(hcl).check(|state| {
            let p = "konoha_spark_profile.p";
            state.check_attr(p, "executor_instances", 2)?;
            state.check_attr(p, "executor_cores", 2)?;
            state.check_attr(p, "gpu.amount", 1)?;
            state.check_attr(p, "gpu.task_amount", 0.5)?;
            let stored = bao
                .kv_get("secret", name)
                .map(|(d, _)| d)
                .unwrap_or_default();
            for (key, want) in [
                ("spark.executor.instances", "2"),
                ("spark.executor.cores", "2"),
                ("spark.executor.resource.gpu.amount", "1"),
                ("spark.task.resource.gpu.amount", "0.5"),
            ] {
                if stored[key] != want {
                    return Err(format!("Vault holds {key}={}, wanted {want}", stored[key]));
                }
            }
            Ok(())
        }))
        .run_or_panic();
}

/// The full binary expansion of the float nearest 0.1 reaches the provider as that float, the
/// same bytes as `pow(10, -1)`, which Terraform holds as `0.1`. Answering the float failed the
/// plan with "Provider produced invalid plan" (planned cty.NumberFloatVal(0.1) does not match
/// config value cty.NumberFloatVal(0.1)); now validate refuses it at the attribute, pointing at
/// the decimal to write, and nothing reaches Vault.
#[test]
fn a_floats_full_binary_expansion_is_refused_at_validate() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup()).unwrap();
    let name = "spark/expanded";
    let gpu = |share: &str| {
        config(
            &bao,
            name,
            &format!("  gpu {{\n    amount = 1\n    task_amount = {share}\n  }}"),
            None,
        )
    };
    let held = format!(
        "gpu.task_amount cannot be kept as written: Terraform sent {TENTH_EXPANDED} as a binary \
         float, which is how it sends both that exact value and a float it computed (such as \
         pow(10, -1)), and it compares the two differently, so the provider cannot tell which to \
         give back. Write the decimal meant, such as 0.1."
    );
    // pow computes a float, which Terraform holds as 0.1 and sends as the same bytes.
    let computed = format!("Terraform sent {TENTH_EXPANDED} as a binary float");
    let cases = [
        (gpu(TENTH_EXPANDED), held.as_str()),
        (gpu("pow(10, -1)"), computed.as_str()),
    ];
    let failures = refused_at_validate(&work, &cases);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    work.set_config(&gpu(TENTH_EXPANDED)).unwrap();
    let out = work.terraform(["apply", "-auto-approve", "-no-color"]);
    assert!(!out.success(), "{}", out.stdout);
    assert_eq!(bao.kv_get("secret", name), None, "the profile was written");
}
