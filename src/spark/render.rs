//! Rendering a [`Profile`]: the Spark properties stored in Vault, the `spark.env` text, its hash,
//! and the `ref` a Kyuubi server points at.
//!
//! Pure and infallible: it expects input that [validation](mod@super::validate) accepted and
//! [`super::profile::resolve`] made concrete. Writing to Vault is the resource's job.

use std::collections::BTreeMap;

use super::keys;
use super::profile::{DEFAULT_EXECUTOR_INSTANCES, Profile};
use super::storage::location_problem;
use super::violation::SPARK_INT_MAX;
use crate::placement::tolerations_json;

/// Separates a profile's location from its content hash in a `ref`.
const REF_HASH_MARK: &str = "@sha256:";

/// The Spark properties a profile stores (the KV v2 data), keyed by property name.
///
/// - `spark.executor.instances` only with dynamic allocation off: with it on, Spark starts with
///   the largest of it, `minExecutors` and `initialExecutors`, so the default of 4 would quietly
///   become the starting count. Use `dynamic_allocation.initial_executors` instead.
/// - With dynamic allocation on, `spark.dynamicAllocation.shuffleTracking.enabled=true` is written
///   explicitly: Kubernetes has no external shuffle service, and before Spark 3.4 the default was
///   false, which makes Spark refuse to start dynamic allocation.
/// - Optional settings appear only when written, so Spark's own defaults keep applying.
/// - A `gpu` block writes all four GPU keys, defaults included: without a discovery script an
///   executor on Kubernetes cannot learn its GPUs' addresses and fails to start, and without a
///   task amount no task is given a GPU.
/// - `executor_node_selector` becomes `spark.kubernetes.executor.node.selector.<label>` lines,
///   and `executor_tolerations` one `konoha.executor.tolerations` line (see [`keys`]).
/// - `extra_conf` entries are copied verbatim; validation keeps them off the typed keys.
pub fn render_properties(profile: &Profile) -> BTreeMap<String, String> {
    let mut properties = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        properties.insert(key.to_owned(), value);
    };
    let allocation = &profile.dynamic_allocation;
    if !allocation.enabled {
        put(
            keys::EXECUTOR_INSTANCES,
            profile.executor_instances.to_string(),
        );
    }
    put(keys::EXECUTOR_MEMORY, profile.executor_memory.clone());
    if let Some(overhead) = &profile.executor_memory_overhead {
        put(keys::EXECUTOR_MEMORY_OVERHEAD, overhead.clone());
    }
    put(keys::EXECUTOR_CORES, profile.executor_cores.to_string());
    put(
        keys::EXECUTOR_REQUEST_CORES,
        profile.executor_request_cores.clone(),
    );
    if let Some(limit) = &profile.executor_limit_cores {
        put(keys::EXECUTOR_LIMIT_CORES, limit.clone());
    }
    put(
        keys::SHUFFLE_PARTITIONS,
        profile.shuffle_partitions.to_string(),
    );
    put(keys::DA_ENABLED, allocation.enabled.to_string());
    if allocation.enabled {
        let counts = [
            (keys::DA_MIN_EXECUTORS, allocation.min_executors),
            (keys::DA_INITIAL_EXECUTORS, allocation.initial_executors),
            (keys::DA_MAX_EXECUTORS, allocation.max_executors),
        ];
        for (key, count) in counts {
            if let Some(count) = count {
                put(key, count.to_string());
            }
        }
        put(keys::DA_SHUFFLE_TRACKING, true.to_string());
    }
    if let Some(speculation) = profile.speculation {
        put(keys::SPECULATION, speculation.to_string());
    }
    if let Some(gpu) = &profile.gpu {
        put(keys::GPU_AMOUNT, gpu.amount.to_string());
        put(keys::GPU_VENDOR, gpu.vendor.clone());
        put(keys::GPU_DISCOVERY_SCRIPT, gpu.discovery_script.clone());
        // Exact decimal text: `0.25` is written as `0.25`, which Spark parses to the same double.
        put(keys::TASK_GPU_AMOUNT, gpu.task_amount.to_string());
    }
    for (label, value) in &profile.executor_node_selector {
        put(
            &format!("{}{label}", keys::EXECUTOR_NODE_SELECTOR_PREFIX),
            value.clone(),
        );
    }
    // Compact JSON with sorted keys (serde_json's map is ordered): the same tolerations always
    // give the same line, so `rendered` and `content_sha256` stay deterministic.
    if !profile.executor_tolerations.is_empty() {
        put(
            keys::EXECUTOR_TOLERATIONS,
            tolerations_json(&profile.executor_tolerations).to_string(),
        );
    }
    for (key, value) in &profile.extra_conf {
        put(key, value.clone());
    }
    properties
}

/// The `spark.env` file: one `key=value` line per property, sorted by key, each ending in `\n`.
/// Read as a Java properties file (Spark's `spark-defaults.conf` format); validation keeps keys
/// and values free of characters that format would alter.
pub fn render_env_file(properties: &BTreeMap<String, String>) -> String {
    properties
        .iter()
        .map(|(key, value)| format!("{key}={value}\n"))
        .collect()
}

/// The SHA-256 of the rendered file, as 64 lowercase hex digits.
pub fn content_sha256(rendered: &str) -> String {
    crate::digest::sha256_hex(rendered.as_bytes())
}

/// A profile's reference, `<mount>/<name>@sha256:<hex>`: where it lives and exactly which content
/// it holds, so a server referencing it changes exactly when the content does.
pub fn profile_ref(mount: &str, name: &str, sha256_hex: &str) -> String {
    format!("{mount}/{name}{REF_HASH_MARK}{sha256_hex}")
}

/// A profile reference taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRef {
    /// KV v2 mount (one path segment).
    pub mount: String,
    /// Secret path under the mount.
    pub name: String,
    /// Content hash, 64 lowercase hex digits.
    pub sha256: String,
}

impl ProfileRef {
    /// The KV v2 read path, `<mount>/data/<name>`, as the injector and the Vault API want it.
    pub fn data_path(&self) -> String {
        format!("{}/data/{}", self.mount, self.name)
    }
}

/// Parses a string made by [`profile_ref`]; `None` unless the mount and name are valid profile
/// locations and the hash is 64 lowercase hex digits. The mount is the first path segment,
/// since validation allows no other.
pub fn parse_profile_ref(text: &str) -> Option<ProfileRef> {
    let (location, sha256) = text.rsplit_once(REF_HASH_MARK)?;
    let is_hash = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let (mount, name) = location.split_once('/')?;
    let valid = is_hash
        && location_problem(mount, false).is_none()
        && location_problem(name, true).is_none();
    valid.then(|| ProfileRef {
        mount: mount.to_owned(),
        name: name.to_owned(),
        sha256: sha256.to_owned(),
    })
}

/// Shuffle partitions worth starting from: four per task slot across the executors
/// (`instances × cores × 4`), at least 4 and at most what Spark reads.
pub fn recommended_shuffle_partitions(instances: i64, cores: i64) -> i64 {
    instances
        .max(1)
        .saturating_mul(cores.max(1))
        .saturating_mul(4)
        .min(SPARK_INT_MAX)
}

impl Profile {
    /// [`recommended_shuffle_partitions`] for the executors this profile can run. With dynamic
    /// allocation off, `executor_instances`. With it on, `max_executors`, the count it can grow
    /// to; when that is unbounded (Spark's default), the larger of `initial_executors` and
    /// `min_executors`, else the default executor count.
    pub fn recommended_shuffle_partitions(&self) -> i64 {
        let allocation = &self.dynamic_allocation;
        let executors = if allocation.enabled {
            allocation
                .max_executors
                .or(allocation.initial_executors.max(allocation.min_executors))
                .unwrap_or(DEFAULT_EXECUTOR_INSTANCES)
        } else {
            self.executor_instances
        };
        recommended_shuffle_partitions(executors, self.executor_cores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spark::profile::{Decimal, DynamicAllocation, Gpu, ProfileInput, resolve};

    fn decimal(text: &str) -> Decimal {
        Decimal::parse(text).unwrap_or_else(|| panic!("{text:?} is not a decimal"))
    }

    fn default_profile() -> Profile {
        let Some(profile) = resolve(&ProfileInput::default()) else {
            panic!("defaults do not resolve")
        };
        profile
    }

    fn full_profile() -> Profile {
        Profile {
            executor_instances: 6,
            executor_memory: "4g".into(),
            executor_memory_overhead: Some("1g".into()),
            executor_cores: 4,
            executor_request_cores: "3500m".into(),
            executor_limit_cores: Some("4".into()),
            shuffle_partitions: 400,
            dynamic_allocation: DynamicAllocation {
                enabled: true,
                min_executors: Some(1),
                initial_executors: Some(2),
                max_executors: Some(10),
            },
            speculation: Some(true),
            gpu: Some(Gpu {
                amount: 2,
                vendor: "nvidia.com".into(),
                discovery_script: "/opt/gpu/discover.sh".into(),
                task_amount: decimal("0.25"),
            }),
            extra_conf: [("spark.sql.adaptive.enabled".to_owned(), "true".to_owned())].into(),
            executor_node_selector: BTreeMap::new(),
            executor_tolerations: Vec::new(),
        }
    }

    #[test]
    fn a_full_input_validates_and_resolves_to_the_full_profile() {
        use crate::spark::profile::{DynamicAllocationInput, Field::Set, GpuInput};
        let input = ProfileInput {
            mount: Set("secret".into()),
            name: Set("team/etl".into()),
            executor_instances: Set(6),
            executor_memory: Set("4g".into()),
            executor_memory_overhead: Set("1g".into()),
            executor_cores: Set(4),
            executor_request_cores: Set("3500m".into()),
            executor_limit_cores: Set("4".into()),
            shuffle_partitions: Set(400),
            dynamic_allocation: Set(DynamicAllocationInput {
                enabled: Set(true),
                min_executors: Set(1),
                initial_executors: Set(2),
                max_executors: Set(10),
            }),
            speculation: Set(true),
            gpu: Set(GpuInput {
                amount: Set(2),
                vendor: Set("nvidia.com".into()),
                discovery_script: Set("/opt/gpu/discover.sh".into()),
                task_amount: Set(decimal("0.25")),
            }),
            extra_conf: Set([("spark.sql.adaptive.enabled".into(), Set("true".into()))].into()),
            executor_node_selector: Set(BTreeMap::new()),
            executor_tolerations: Set(Vec::new()),
            custom_metadata: Set([("owner".into(), Set("data".into()))].into()),
            max_versions: Set(5),
        };
        assert_eq!(crate::spark::validate(&input), vec![]);
        assert_eq!(resolve(&input), Some(full_profile()));
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const DEFAULT_ENV: &str = "\
spark.dynamicAllocation.enabled=false
spark.executor.cores=2
spark.executor.instances=4
spark.executor.memory=2g
spark.kubernetes.executor.request.cores=1.8
spark.sql.shuffle.partitions=200
";

    #[test]
    fn default_profile_renders_konohas_defaults() {
        let properties = render_properties(&default_profile());
        assert_eq!(
            properties,
            map(&[
                ("spark.dynamicAllocation.enabled", "false"),
                ("spark.executor.cores", "2"),
                ("spark.executor.instances", "4"),
                ("spark.executor.memory", "2g"),
                ("spark.kubernetes.executor.request.cores", "1.8"),
                ("spark.sql.shuffle.partitions", "200"),
            ])
        );
        assert_eq!(render_env_file(&properties), DEFAULT_ENV);
        assert_eq!(
            content_sha256(DEFAULT_ENV),
            "54b1d88aaa263fd2be3b2b63aae74c922632c1a7d20a46886eef1e3e3f278df3"
        );
    }

    #[test]
    fn full_profile_renders_every_setting() {
        assert_eq!(
            render_properties(&full_profile()),
            map(&[
                ("spark.dynamicAllocation.enabled", "true"),
                ("spark.dynamicAllocation.initialExecutors", "2"),
                ("spark.dynamicAllocation.maxExecutors", "10"),
                ("spark.dynamicAllocation.minExecutors", "1"),
                ("spark.dynamicAllocation.shuffleTracking.enabled", "true"),
                ("spark.executor.cores", "4"),
                ("spark.executor.memory", "4g"),
                ("spark.executor.memoryOverhead", "1g"),
                ("spark.executor.resource.gpu.amount", "2"),
                (
                    "spark.executor.resource.gpu.discoveryScript",
                    "/opt/gpu/discover.sh"
                ),
                ("spark.executor.resource.gpu.vendor", "nvidia.com"),
                ("spark.kubernetes.executor.limit.cores", "4"),
                ("spark.kubernetes.executor.request.cores", "3500m"),
                ("spark.speculation", "true"),
                ("spark.sql.adaptive.enabled", "true"),
                ("spark.sql.shuffle.partitions", "400"),
                ("spark.task.resource.gpu.amount", "0.25"),
            ])
        );
    }

    #[test]
    fn a_gpu_block_renders_every_gpu_key_with_its_defaults() {
        use crate::spark::profile::{Field, Field::Set, GpuInput};
        let with = |task_amount: &str| {
            let input = ProfileInput {
                gpu: Set(GpuInput {
                    amount: Set(2),
                    task_amount: Set(decimal(task_amount)),
                    ..GpuInput::default()
                }),
                ..ProfileInput::default()
            };
            let Some(profile) = resolve(&input) else {
                panic!("{task_amount} does not resolve")
            };
            let mut gpu_lines = render_properties(&profile);
            gpu_lines.retain(|k, _| k.contains(".resource.gpu."));
            gpu_lines
        };
        let script = "/opt/spark/examples/src/main/scripts/getGpusResources.sh";
        let expected = |task: &str| {
            map(&[
                ("spark.executor.resource.gpu.amount", "2"),
                ("spark.executor.resource.gpu.discoveryScript", script),
                ("spark.executor.resource.gpu.vendor", "nvidia.com"),
                ("spark.task.resource.gpu.amount", task),
            ])
        };
        // No float noise either way: each share is written as the decimal it is.
        for (written, shown) in [
            ("1", "1"),
            ("2", "2"),
            ("0.5", "0.5"),
            ("0.25", "0.25"),
            ("0.2", "0.2"),
            ("0.1", "0.1"),
            ("0.0625", "0.0625"),
        ] {
            assert_eq!(with(written), expected(shown), "{written}");
        }
        let mut no_task_amount = ProfileInput {
            gpu: Set(GpuInput {
                amount: Set(1),
                ..GpuInput::default()
            }),
            ..ProfileInput::default()
        };
        let Some(profile) = resolve(&no_task_amount) else {
            panic!("defaults do not resolve")
        };
        assert_eq!(
            render_properties(&profile).get("spark.task.resource.gpu.amount"),
            Some(&"1".to_owned())
        );
        no_task_amount.gpu = Field::Unset;
        let Some(profile) = resolve(&no_task_amount) else {
            panic!("defaults do not resolve")
        };
        assert!(
            !render_properties(&profile)
                .keys()
                .any(|k| k.contains(".resource.gpu.")),
            "no gpu block, no GPU keys"
        );
    }

    #[test]
    fn typed_keys_are_exactly_the_keys_typed_attributes_render() {
        let mut without_da = full_profile();
        without_da.dynamic_allocation.enabled = false;
        without_da.extra_conf.clear();
        let mut with_da = full_profile();
        with_da.extra_conf.clear();
        let mut rendered: Vec<String> = render_properties(&without_da)
            .into_keys()
            .chain(render_properties(&with_da).into_keys())
            .collect();
        rendered.sort();
        rendered.dedup();
        let mut typed: Vec<String> = keys::typed_keys().iter().map(|k| k.to_string()).collect();
        typed.sort();
        assert_eq!(rendered, typed);
    }

    #[test]
    fn env_file_is_sorted_lines() {
        let properties = map(&[("spark.b", "2"), ("spark.a", "x=y")]);
        assert_eq!(render_env_file(&properties), "spark.a=x=y\nspark.b=2\n");
        assert_eq!(render_env_file(&BTreeMap::new()), "");
    }

    #[test]
    fn refs_round_trip_and_reject_malformed_text() {
        let sha = content_sha256(DEFAULT_ENV);
        let text = profile_ref("secret", "team/etl", &sha);
        assert_eq!(text, format!("secret/team/etl@sha256:{sha}"));
        assert_eq!(
            parse_profile_ref(&text),
            Some(ProfileRef {
                mount: "secret".into(),
                name: "team/etl".into(),
                sha256: sha.clone()
            })
        );
        let bad = [
            format!("secret/etl@sha256:{}", sha.to_uppercase()),
            format!("secret/etl@sha256:{}", &sha[1..]),
            format!("secret/etl@sha1:{sha}"),
            format!("secret@sha256:{sha}"),
            format!("/etl@sha256:{sha}"),
            format!("secret/@sha256:{sha}"),
            format!("secret/a//b@sha256:{sha}"),
            "secret/etl".to_owned(),
            String::new(),
        ];
        for text in bad {
            assert_eq!(parse_profile_ref(&text), None, "{text}");
        }
    }

    #[test]
    fn recommends_four_partitions_per_task_slot() {
        assert_eq!(recommended_shuffle_partitions(4, 2), 32);
        assert_eq!(recommended_shuffle_partitions(0, 2), 8);
        assert_eq!(recommended_shuffle_partitions(i64::MAX, 2), 2_147_483_647);
        assert_eq!(default_profile().recommended_shuffle_partitions(), 32);
        let mut profile = full_profile();
        assert_eq!(profile.recommended_shuffle_partitions(), 10 * 4 * 4);
        profile.dynamic_allocation.max_executors = None;
        assert_eq!(profile.recommended_shuffle_partitions(), 2 * 4 * 4);
        profile.dynamic_allocation.initial_executors = None;
        profile.dynamic_allocation.min_executors = None;
        assert_eq!(profile.recommended_shuffle_partitions(), 4 * 4 * 4);
    }

    #[test]
    fn executor_placement_renders_selector_lines_and_one_tolerations_line() {
        use crate::placement::TolerationInput;
        use crate::spark::profile::Field::Set;
        let input = ProfileInput {
            executor_node_selector: Set(BTreeMap::from([
                ("nvidia.com/gpu.present".to_owned(), Set("true".to_owned())),
                ("pool".to_owned(), Set("gpu".to_owned())),
            ])),
            executor_tolerations: Set(vec![
                TolerationInput {
                    key: Set("nvidia.com/gpu".to_owned()),
                    operator: Set("Exists".to_owned()),
                    effect: Set("NoSchedule".to_owned()),
                    ..TolerationInput::default()
                },
                TolerationInput {
                    key: Set("spot".to_owned()),
                    value: Set("true".to_owned()),
                    effect: Set("NoExecute".to_owned()),
                    toleration_seconds: Set(30),
                    ..TolerationInput::default()
                },
            ]),
            ..ProfileInput::default()
        };
        assert_eq!(crate::spark::validate(&input), Vec::new());
        let profile = resolve(&input).expect("resolves");
        let properties = render_properties(&profile);
        let placement: Vec<(&str, &str)> = properties
            .iter()
            .filter(|(k, _)| k.contains("node.selector") || k.starts_with("konoha."))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            placement,
            [
                (
                    "konoha.executor.tolerations",
                    r#"[{"effect":"NoSchedule","key":"nvidia.com/gpu","operator":"Exists"},{"effect":"NoExecute","key":"spot","operator":"Equal","tolerationSeconds":30,"value":"true"}]"#,
                ),
                (
                    "spark.kubernetes.executor.node.selector.nvidia.com/gpu.present",
                    "true"
                ),
                ("spark.kubernetes.executor.node.selector.pool", "gpu"),
            ]
        );
        for key in properties.keys() {
            assert!(
                keys::is_rendered_key(key) || key.starts_with("spark.executor.instances"),
                "{key} would read back as extra_conf"
            );
        }
        // Deterministic: the same input renders the same file and hash.
        let again = render_env_file(&render_properties(&resolve(&input).expect("resolves")));
        assert_eq!(render_env_file(&properties), again);
        assert_eq!(
            content_sha256(&render_env_file(&properties)),
            content_sha256(&again)
        );
        // Without placement no such line appears.
        assert!(
            render_properties(&default_profile())
                .keys()
                .all(|k| !k.contains("node.selector") && !k.starts_with("konoha."))
        );
    }
}
