//! Random valid profiles applied one after another to one profile: each plan's `rendered` is
//! exactly what lands in Vault, and the plan after each apply is empty.
//!
//! The hand-written acceptance tests check one setting at a time; this walks combinations and,
//! because every step updates the previous one, the transitions between them (a block removed,
//! a map emptied, dynamic allocation switched on under a fixed executor count, a secret setting
//! added beside a toleration). What it asserts is independent of the renderer: Vault's data,
//! written out as sorted `key=value` lines with secret values hidden, must equal the planned
//! `rendered` and the stored one; the settings the configuration names must be in Vault as
//! written; metadata and `version` must match Vault's; the data source must read the same. Now and then a step imports the profile
//! into a fresh state, which must read back attribute for attribute as the apply stored it.
//!
//! The walk is deterministic: `KONOHA_SEQUENCE_SEED=<n>` picks another (a failure prints its
//! seed), `KONOHA_SEQUENCE_STEPS=<n>` another length.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use serde_json::Value as Json;
use support::hcl::vault_provider_header;
use support::openbao::OpenBao;
use support::provider::InProcessProvider;
use support::terraform::{Step, TestCase};
use support::walk::{Rng, seed_and_steps};

const ADDRESS: &str = "konoha_spark_profile.p";
const DATA_ADDRESS: &str = "data.konoha_spark_profile.read";
const NAME: &str = "spark/sequence";
const DEFAULT_SEED: u64 = 3;
const DEFAULT_STEPS: usize = 24;

struct DynamicAllocation {
    enabled: bool,
    min: u64,
    initial: u64,
    max: u64,
}

struct Gpu {
    amount: u64,
    task_amount: &'static str,
}

/// One valid profile configuration. `None` leaves an argument out.
#[derive(Default)]
struct Profile {
    executor_instances: Option<u64>,
    executor_memory: Option<&'static str>,
    executor_memory_overhead: Option<&'static str>,
    executor_cores: Option<u64>,
    request_and_limit: (Option<&'static str>, Option<&'static str>),
    shuffle_partitions: Option<u64>,
    speculation: Option<bool>,
    extra_conf: Vec<(&'static str, &'static str)>,
    sensitive_conf: Vec<(&'static str, String)>,
    node_selector: Vec<(&'static str, &'static str)>,
    tolerations: Vec<&'static str>,
    dynamic_allocation: Option<DynamicAllocation>,
    gpu: Option<Gpu>,
    custom_metadata: Vec<(&'static str, &'static str)>,
    max_versions: Option<u64>,
}

const CPUS: [&str; 5] = ["500m", "1", "1.8", "2", "3"];
const EXTRA_CONF: [(&str, &str); 4] = [
    ("spark.sql.adaptive.enabled", "true"),
    ("spark.network.timeout", "300s"),
    ("spark.sql.autoBroadcastJoinThreshold", "10485760"),
    ("spark.ui.enabled", "false"),
];
const NODE_SELECTOR: [(&str, &str); 2] = [
    ("node.kubernetes.io/instance-type", "m5.2xlarge"),
    ("konoha.io/pool", "spark"),
];
const TOLERATIONS: [&str; 3] = [
    "key = \"dedicated\"\n    value = \"spark\"\n    effect = \"NoSchedule\"",
    "key = \"spot\"\n    operator = \"Exists\"\n    effect = \"NoExecute\"\n    toleration_seconds = 300",
    "operator = \"Exists\"",
];
const METADATA: [(&str, &str); 2] = [("team", "data"), ("tier", "gold")];

impl Profile {
    fn random(rng: &mut Rng, step: usize) -> Profile {
        let dynamic_allocation = rng.one_in(3).then(|| {
            let min = rng.between(0, 2);
            let initial = rng.between(min, min + 2);
            DynamicAllocation {
                enabled: !rng.one_in(4),
                min,
                initial,
                max: rng.between(initial.max(1), initial + 4),
            }
        });
        // The limit is at least the request, which is 1.8 (`CPUS[2]`) when left out.
        let request = (!rng.one_in(3)).then(|| rng.between(0, CPUS.len() as u64 - 1) as usize);
        let limit = rng.between(request.unwrap_or(2) as u64, CPUS.len() as u64 - 1) as usize;
        Profile {
            executor_instances: (!rng.one_in(4)).then(|| rng.between(1, 64)),
            executor_memory: (!rng.one_in(4))
                .then(|| rng.pick(&["450m", "1g", "1536m", "4g", "16g"])),
            executor_memory_overhead: rng.one_in(3).then(|| rng.pick(&["384m", "1g"])),
            executor_cores: (!rng.one_in(4)).then(|| rng.between(1, 8)),
            request_and_limit: (
                request.map(|i| CPUS[i]),
                rng.one_in(2).then_some(CPUS[limit]),
            ),
            shuffle_partitions: rng.one_in(2).then(|| rng.between(1, 1000)),
            speculation: rng.one_in(3).then(|| rng.one_in(2)),
            extra_conf: rng.some_of(&EXTRA_CONF),
            // A new value at every step that has one, so the write-through of secret values is
            // exercised, not only their first write.
            sensitive_conf: if rng.one_in(3) {
                vec![("spark.hadoop.fs.s3a.secret.key", format!("s3cr3t-{step}"))]
            } else {
                Vec::new()
            },
            node_selector: rng.some_of(&NODE_SELECTOR),
            tolerations: rng.some_of(&TOLERATIONS),
            dynamic_allocation,
            gpu: rng.one_in(4).then(|| {
                let amount = rng.pick(&[1, 2, 4]);
                let task_amount = rng.pick(&["1", "0.5", "0.25"]);
                Gpu {
                    amount,
                    task_amount,
                }
            }),
            custom_metadata: rng.some_of(&METADATA),
            max_versions: rng.one_in(3).then(|| rng.between(1, 20)),
        }
    }

    fn dynamic_allocation_on(&self) -> bool {
        self.dynamic_allocation.as_ref().is_some_and(|d| d.enabled)
    }

    /// The resource block.
    fn hcl(&self) -> String {
        let mut out = format!(
            "resource \"konoha_spark_profile\" \"p\" {{\n  mount = \"secret\"\n  name  = \"{NAME}\"\n"
        );
        let mut line = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                writeln!(out, "  {name} = {value}").unwrap();
            }
        };
        let quoted = |s: &str| format!("\"{s}\"");
        line(
            "executor_instances",
            self.executor_instances.map(|n| n.to_string()),
        );
        line("executor_memory", self.executor_memory.map(quoted));
        line(
            "executor_memory_overhead",
            self.executor_memory_overhead.map(quoted),
        );
        line("executor_cores", self.executor_cores.map(|n| n.to_string()));
        line(
            "executor_request_cores",
            self.request_and_limit.0.map(quoted),
        );
        line("executor_limit_cores", self.request_and_limit.1.map(quoted));
        line(
            "shuffle_partitions",
            self.shuffle_partitions.map(|n| n.to_string()),
        );
        line("speculation", self.speculation.map(|b| b.to_string()));
        line("max_versions", self.max_versions.map(|n| n.to_string()));
        let map = |entries: Vec<(&str, &str)>| {
            (!entries.is_empty()).then(|| {
                let body: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("    \"{k}\" = \"{v}\""))
                    .collect();
                format!("{{\n{}\n  }}", body.join("\n"))
            })
        };
        line("extra_conf", map(self.extra_conf.clone()));
        line(
            "sensitive_conf",
            map(self
                .sensitive_conf
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect()),
        );
        line("executor_node_selector", map(self.node_selector.clone()));
        line("custom_metadata", map(self.custom_metadata.clone()));
        for toleration in &self.tolerations {
            writeln!(out, "  executor_tolerations {{\n    {toleration}\n  }}").unwrap();
        }
        if let Some(d) = &self.dynamic_allocation {
            writeln!(
                out,
                "  dynamic_allocation {{\n    enabled = {}\n    min_executors = {}\n    \
                 initial_executors = {}\n    max_executors = {}\n  }}",
                d.enabled, d.min, d.initial, d.max
            )
            .unwrap();
        }
        if let Some(gpu) = &self.gpu {
            writeln!(
                out,
                "  gpu {{\n    amount = {}\n    task_amount = {}\n  }}",
                gpu.amount, gpu.task_amount
            )
            .unwrap();
        }
        out.push_str("}\n");
        // The data source reads the same secret once the resource is written.
        write!(
            out,
            "\ndata \"konoha_spark_profile\" \"read\" {{\n  mount      = \"secret\"\n  \
             name       = \"{NAME}\"\n  depends_on = [{ADDRESS}]\n}}\n"
        )
        .unwrap();
        out
    }

    /// Properties the configuration names, as Vault must hold them.
    fn expected_properties(&self) -> Vec<(String, String)> {
        let mut expected = Vec::new();
        let mut put = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                expected.push((key.to_owned(), value));
            }
        };
        if !self.dynamic_allocation_on() {
            put(
                "spark.executor.instances",
                self.executor_instances.map(|n| n.to_string()),
            );
        }
        put(
            "spark.executor.memory",
            self.executor_memory.map(str::to_owned),
        );
        put(
            "spark.executor.memoryOverhead",
            self.executor_memory_overhead.map(str::to_owned),
        );
        put(
            "spark.executor.cores",
            self.executor_cores.map(|n| n.to_string()),
        );
        put(
            "spark.kubernetes.executor.request.cores",
            self.request_and_limit.0.map(str::to_owned),
        );
        put(
            "spark.kubernetes.executor.limit.cores",
            self.request_and_limit.1.map(str::to_owned),
        );
        put(
            "spark.sql.shuffle.partitions",
            self.shuffle_partitions.map(|n| n.to_string()),
        );
        put("spark.speculation", self.speculation.map(|b| b.to_string()));
        for (key, value) in &self.extra_conf {
            put(key, Some((*value).to_owned()));
        }
        for (key, value) in &self.sensitive_conf {
            put(key, Some(value.clone()));
        }
        for (label, value) in &self.node_selector {
            put(
                &format!("spark.kubernetes.executor.node.selector.{label}"),
                Some((*value).to_owned()),
            );
        }
        if let Some(d) = self.dynamic_allocation.as_ref().filter(|d| d.enabled) {
            put("spark.dynamicAllocation.enabled", Some("true".to_owned()));
            put(
                "spark.dynamicAllocation.minExecutors",
                Some(d.min.to_string()),
            );
            put(
                "spark.dynamicAllocation.initialExecutors",
                Some(d.initial.to_string()),
            );
            put(
                "spark.dynamicAllocation.maxExecutors",
                Some(d.max.to_string()),
            );
        }
        if let Some(gpu) = &self.gpu {
            put(
                "spark.executor.resource.gpu.amount",
                Some(gpu.amount.to_string()),
            );
            put(
                "spark.task.resource.gpu.amount",
                Some(gpu.task_amount.to_owned()),
            );
        }
        expected
    }

    /// Properties that must not be in Vault.
    fn absent_properties(&self) -> Vec<&'static str> {
        let mut absent = Vec::new();
        if self.dynamic_allocation_on() {
            absent.push("spark.executor.instances");
        }
        if self.executor_memory_overhead.is_none() {
            absent.push("spark.executor.memoryOverhead");
        }
        if self.request_and_limit.1.is_none() {
            absent.push("spark.kubernetes.executor.limit.cores");
        }
        if self.gpu.is_none() {
            absent.push("spark.executor.resource.gpu.amount");
        }
        if self.tolerations.is_empty() {
            absent.push("konoha.executor.tolerations");
        }
        for (key, _) in &EXTRA_CONF {
            if !self.extra_conf.iter().any(|(k, _)| k == key) {
                absent.push(key);
            }
        }
        absent
    }
}

/// Vault's data as `rendered` shows it: sorted `key=value` lines, secret values hidden.
fn rendered_from_vault(data: &serde_json::Map<String, Json>, secret_keys: &[&str]) -> String {
    let sorted: BTreeMap<&str, &str> = data
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("<not a string>")))
        .collect();
    sorted
        .into_iter()
        .map(|(key, value)| {
            if secret_keys.contains(&key) {
                format!("{key}=<sensitive>\n")
            } else {
                format!("{key}={value}\n")
            }
        })
        .collect()
}

/// What Vault holds, held against the configuration and the state.
fn check_landed(
    bao: &OpenBao,
    profile: &Profile,
    planned: Option<&str>,
    state: &support::terraform::State,
) -> Result<(), String> {
    let (data, version) = bao.kv_get("secret", NAME).ok_or("no secret in Vault")?;
    let data = data
        .as_object()
        .ok_or("the secret's data is not an object")?;
    let secret_keys: Vec<&str> = profile.sensitive_conf.iter().map(|(k, _)| *k).collect();
    let landed = rendered_from_vault(data, &secret_keys);
    let stored = state
        .attr(ADDRESS, "rendered")
        .and_then(Json::as_str)
        .ok_or("no rendered in state")?;
    if let Some(planned) = planned
        && planned != landed
    {
        return Err(format!(
            "the plan showed\n{planned}\nbut Vault holds\n{landed}"
        ));
    }
    if stored != landed {
        return Err(format!(
            "the state holds\n{stored}\nbut Vault holds\n{landed}"
        ));
    }
    for (key, value) in profile.expected_properties() {
        if data.get(&key).and_then(Json::as_str) != Some(value.as_str()) {
            return Err(format!(
                "{key} should be {value:?} in Vault, found {:?}",
                data.get(&key)
            ));
        }
    }
    for key in profile.absent_properties() {
        if data.contains_key(key) {
            return Err(format!("{key} should not be in Vault: {:?}", data.get(key)));
        }
    }
    for attribute in ["rendered", "content_sha256", "ref", "version"] {
        let resource = state.attr(ADDRESS, attribute);
        let read = state.attr(DATA_ADDRESS, attribute);
        if resource != read {
            return Err(format!(
                "{attribute}: the resource holds {resource:?}, the data source read {read:?}"
            ));
        }
    }
    let properties = state
        .attr(DATA_ADDRESS, "properties")
        .and_then(Json::as_object)
        .ok_or("the data source has no properties")?;
    let shown: BTreeMap<&str, &Json> = data
        .iter()
        .filter(|(key, _)| !secret_keys.contains(&key.as_str()))
        .map(|(key, value)| (key.as_str(), value))
        .collect();
    let read: BTreeMap<&str, &Json> = properties.iter().map(|(k, v)| (k.as_str(), v)).collect();
    if shown != read {
        return Err(format!(
            "the data source's properties {read:?} are not Vault's non-secret data {shown:?}"
        ));
    }
    let state_version = state.attr(ADDRESS, "version").and_then(Json::as_u64);
    if state_version != Some(version) {
        return Err(format!(
            "state version {state_version:?}, Vault's current version {version}"
        ));
    }
    let metadata = bao
        .kv_metadata("secret", NAME)
        .ok_or("no metadata in Vault")?;
    if !profile.custom_metadata.is_empty() {
        let want: serde_json::Map<String, Json> = profile
            .custom_metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Json::String((*v).to_owned())))
            .collect();
        if metadata.get("custom_metadata") != Some(&Json::Object(want.clone())) {
            return Err(format!(
                "custom_metadata should be {want:?}, Vault has {:?}",
                metadata.get("custom_metadata")
            ));
        }
    }
    if let Some(max_versions) = profile.max_versions
        && metadata.get("max_versions").and_then(Json::as_u64) != Some(max_versions)
    {
        return Err(format!(
            "max_versions should be {max_versions}, Vault has {:?}",
            metadata.get("max_versions")
        ));
    }
    Ok(())
}

#[test]
fn every_plan_in_a_random_walk_of_profiles_is_what_lands_in_vault() {
    let (seed, steps) = seed_and_steps(DEFAULT_SEED, DEFAULT_STEPS);
    eprintln!("seed {seed} (KONOHA_SEQUENCE_SEED), {steps} steps");
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let header = vault_provider_header(&bao.addr, &bao.token);
    let mut rng = Rng::new(seed);
    let mut case = TestCase::new(provider.hookup());
    for step in 0..steps {
        let profile = Rc::new(Profile::random(&mut rng, step));
        let config = format!("{header}\n{}", profile.hcl());
        let planned = Rc::new(RefCell::new(None::<String>));
        let (plan_seen, state_seen) = (Rc::clone(&planned), Rc::clone(&planned));
        let configured = Rc::clone(&profile);
        let bao = &bao;
        let shown = config.clone();
        case = case.step(
            Step::config(config)
                .plan_check(move |plan| {
                    let change = plan.change(ADDRESS).ok_or("no change for the profile")?;
                    if change.is_unknown_after("rendered") {
                        return Err("rendered unknown at plan time".to_owned());
                    }
                    *plan_seen.borrow_mut() = change
                        .after_attr("rendered")
                        .and_then(Json::as_str)
                        .map(str::to_owned);
                    Ok(())
                })
                .check(move |state| {
                    check_landed(bao, &configured, state_seen.borrow().as_deref(), state).map_err(
                        |e| format!("seed {seed}, step {step}: {e}\nconfiguration:\n{shown}"),
                    )
                }),
        );
        // Now and then, import what this step left into a fresh state: every attribute must
        // read back as the apply stored it.
        if rng.one_in(4) {
            let mut import = Step::import(ADDRESS).import_state_verify();
            // What Vault does not hold cannot come back (the resource's docs, "Import"): the
            // executor count while dynamic allocation is on, and a block that turns it off.
            if profile.dynamic_allocation_on() && profile.executor_instances.is_some() {
                import = import.verify_ignore(["executor_instances"]);
            }
            if profile
                .dynamic_allocation
                .as_ref()
                .is_some_and(|d| !d.enabled)
            {
                import = import.verify_ignore(["dynamic_allocation"]);
            }
            case = case.step(import);
        }
    }
    case.run_or_panic();
}

#[test]
fn the_walk_generates_valid_variety() {
    // The generator reaches the combinations the walk is for, at the seed the walk uses.
    let mut rng = Rng::new(seed_and_steps(DEFAULT_SEED, DEFAULT_STEPS).0);
    let profiles: Vec<Profile> = (0..DEFAULT_STEPS)
        .map(|step| Profile::random(&mut rng, step))
        .collect();
    let count = |f: &dyn Fn(&Profile) -> bool| profiles.iter().filter(|p| f(p)).count();
    assert!(count(&|p| p.dynamic_allocation_on()) >= 1);
    assert!(count(&|p| !p.dynamic_allocation_on()) >= 1);
    assert!(count(&|p| !p.tolerations.is_empty()) >= 1);
    assert!(count(&|p| p.tolerations.is_empty()) >= 1);
    assert!(count(&|p| !p.sensitive_conf.is_empty()) >= 1);
    assert!(count(&|p| p.gpu.is_some()) >= 1);
    assert!(count(&|p| p.extra_conf.is_empty()) >= 1);
    assert!(count(&|p| p.extra_conf.len() > 1) >= 1);
    assert!(count(&|p| p.max_versions.is_some()) >= 1);
    assert!(count(&|p| p.max_versions.is_none()) >= 1);
    assert!(count(&|p| p.dynamic_allocation.as_ref().is_some_and(|d| !d.enabled)) >= 1);
    assert!(count(&|p| !p.custom_metadata.is_empty()) >= 1);
    assert!(count(&|p| p.custom_metadata.is_empty()) >= 1);
    for profile in &profiles {
        let hcl = profile.hcl();
        assert!(
            hcl.starts_with("resource \"konoha_spark_profile\""),
            "{hcl}"
        );
        if let Some(d) = &profile.dynamic_allocation {
            assert!(d.min <= d.initial && d.initial <= d.max && d.max >= 1);
        }
    }
}
