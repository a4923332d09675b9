//! Conversions between Terraform values and the Spark domain's profile types.
//!
//! Decoding goes from a configuration or plan value to [`ProfileInput`] (unknowns kept, so that
//! validation can skip only what they feed). Encoding goes from the properties stored in Vault
//! back to attribute values, which is how drift and import show up in Terraform's own terms.

use std::collections::BTreeMap;

use super::placement_model::{tolerations_input, tolerations_state};
pub use super::value_readers::{Ints, field_decimal, field_int, field_string};
use crate::spark::{self, Decimal, Field, ProfileInput};
use crate::tf::{AttributePath, Diagnostics, Number, PathStep, Value};

/// Reads a bool attribute.
pub fn field_bool(v: &Value) -> Field<bool> {
    match v {
        Value::Unknown => Field::Unknown,
        other => other.as_bool().map_or(Field::Unset, Field::Set),
    }
}

/// Reads a `map(string)` attribute; single entries may be unknown.
pub fn field_string_map(v: &Value) -> Field<BTreeMap<String, Field<String>>> {
    match v {
        Value::Unknown => Field::Unknown,
        Value::Map(entries) => Field::Set(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), field_string(v)))
                .collect(),
        ),
        _ => Field::Unset,
    }
}

/// Reads a single nested block with `read`.
pub fn field_block<T>(v: &Value, read: impl FnOnce(&Value) -> T) -> Field<T> {
    match v {
        Value::Unknown => Field::Unknown,
        Value::Map(_) => Field::Set(read(v)),
        _ => Field::Unset,
    }
}

/// The domain's view of a profile configuration or plan; an error when a whole-number
/// attribute holds something else.
pub fn profile_input(v: &Value) -> Result<ProfileInput, Diagnostics> {
    let mut ints = Ints::default();
    let input = ProfileInput {
        mount: field_string(v.attr("mount")),
        name: field_string(v.attr("name")),
        executor_instances: ints.read(v.attr("executor_instances"), "executor_instances"),
        executor_memory: field_string(v.attr("executor_memory")),
        executor_memory_overhead: field_string(v.attr("executor_memory_overhead")),
        executor_cores: ints.read(v.attr("executor_cores"), "executor_cores"),
        executor_request_cores: field_string(v.attr("executor_request_cores")),
        executor_limit_cores: field_string(v.attr("executor_limit_cores")),
        shuffle_partitions: ints.read(v.attr("shuffle_partitions"), "shuffle_partitions"),
        dynamic_allocation: field_block(v.attr("dynamic_allocation"), |b| {
            spark::DynamicAllocationInput {
                enabled: field_bool(b.attr("enabled")),
                min_executors: ints
                    .read(b.attr("min_executors"), "dynamic_allocation.min_executors"),
                initial_executors: ints.read(
                    b.attr("initial_executors"),
                    "dynamic_allocation.initial_executors",
                ),
                max_executors: ints
                    .read(b.attr("max_executors"), "dynamic_allocation.max_executors"),
            }
        }),
        speculation: field_bool(v.attr("speculation")),
        gpu: field_block(v.attr("gpu"), |b| spark::GpuInput {
            amount: ints.read(b.attr("amount"), "gpu.amount"),
            vendor: field_string(b.attr("vendor")),
            discovery_script: field_string(b.attr("discovery_script")),
            task_amount: ints.read_decimal(b.attr("task_amount"), "gpu.task_amount"),
        }),
        extra_conf: field_string_map(v.attr("extra_conf")),
        executor_node_selector: field_string_map(v.attr("executor_node_selector")),
        executor_tolerations: tolerations_input(
            v.attr("executor_tolerations"),
            "executor_tolerations",
            &mut ints,
        ),
        custom_metadata: field_string_map(v.attr("custom_metadata")),
        max_versions: ints.read(v.attr("max_versions"), "max_versions"),
    };
    ints.finish(input)
}

/// The secret settings: `sensitive_conf` and the version from `value` (a configuration or
/// plan), the write-only values from `config`, the only place Terraform ever sends them.
pub fn secrets_input(
    value: &Value,
    config: &Value,
) -> Result<spark::secrets::SecretsInput, Diagnostics> {
    let mut ints = Ints::default();
    let write_only_version = ints.read(
        value.attr("sensitive_conf_wo_version"),
        "sensitive_conf_wo_version",
    );
    ints.finish(spark::secrets::SecretsInput {
        sensitive_conf: field_string_map(value.attr("sensitive_conf")),
        write_only: field_string_map(config.attr("sensitive_conf_wo")),
        write_only_version,
    })
}

/// True when `state` records secret settings, so reading it needs the profile's seal.
pub fn has_secrets(state: &Value) -> bool {
    let sensitive = state
        .attr("sensitive_conf")
        .as_string_map()
        .is_some_and(|m| !m.is_empty());
    sensitive || !state.attr("sensitive_conf_wo_version").is_null()
}

/// A domain path as a Terraform attribute path. Single nested blocks are objects in this
/// provider's schemas, so the domain's list-of-one indexes for them are dropped; repeated
/// blocks keep their element's index.
pub fn attribute_path(segments: &[spark::PathSegment]) -> AttributePath {
    let mut path = AttributePath::root();
    for segment in segments {
        match segment {
            spark::PathSegment::Attr(name) => path.0.push(PathStep::Attribute(name.to_string())),
            spark::PathSegment::Key(key) => path.0.push(PathStep::ElementKeyString(key.clone())),
            spark::PathSegment::Index(_) => {}
            spark::PathSegment::Item(index) => path.0.push(PathStep::ElementKeyInt(
                i64::try_from(*index).unwrap_or(i64::MAX),
            )),
        }
    }
    path
}

/// A value of `block`'s type with every attribute null and no nested blocks: the start of an
/// imported state, which `read` then fills in.
pub fn empty_state(block: &crate::framework::Block) -> Value {
    let mut entries: BTreeMap<String, Value> = block
        .attributes
        .iter()
        .map(|a| (a.name.clone(), Value::Null))
        .collect();
    for nested in &block.blocks {
        let empty = match nested.nesting {
            crate::framework::Nesting::Single => Value::Null,
            _ => Value::List(Vec::new()),
        };
        entries.insert(nested.name.clone(), empty);
    }
    Value::Map(entries)
}

/// The state that stands for `properties` as found in Vault, starting from `base` (the state
/// Terraform holds, or an import's empty state). Used only when the stored data differs from
/// what `base` rendered, so that the plan shows the out-of-band change in the attributes it
/// belongs to: a changed key changes its attribute, a removed key nulls it, an unknown key
/// appears in `extra_conf`.
pub fn state_from_properties(base: &Value, properties: &BTreeMap<String, String>) -> Value {
    use crate::spark::keys;
    let mut state = base.clone();
    let text = |key: &str| Value::opt_string(properties.get(key).cloned());
    let int = |key: &str| Value::opt_int(properties.get(key).and_then(|v| v.parse().ok()));
    let flag = |key: &str| Value::opt_bool(properties.get(key).and_then(|v| v.parse().ok()));

    let da_enabled = properties.get(keys::DA_ENABLED).map(String::as_str) == Some("true");
    // With dynamic allocation on, the instance count is not written: keep what Terraform had.
    if !da_enabled {
        state.set_attr("executor_instances", int(keys::EXECUTOR_INSTANCES));
    } else if state.attr("executor_instances").is_null() {
        state.set_attr(
            "executor_instances",
            Value::int(crate::spark::profile::DEFAULT_EXECUTOR_INSTANCES),
        );
    }
    state.set_attr("executor_memory", text(keys::EXECUTOR_MEMORY));
    state.set_attr(
        "executor_memory_overhead",
        text(keys::EXECUTOR_MEMORY_OVERHEAD),
    );
    state.set_attr("executor_cores", int(keys::EXECUTOR_CORES));
    state.set_attr("executor_request_cores", text(keys::EXECUTOR_REQUEST_CORES));
    state.set_attr("executor_limit_cores", text(keys::EXECUTOR_LIMIT_CORES));
    state.set_attr("shuffle_partitions", int(keys::SHUFFLE_PARTITIONS));
    state.set_attr("speculation", flag(keys::SPECULATION));

    let da_keys = [
        keys::DA_MIN_EXECUTORS,
        keys::DA_INITIAL_EXECUTORS,
        keys::DA_MAX_EXECUTORS,
    ];
    let da_present = da_enabled || da_keys.iter().any(|k| properties.contains_key(*k));
    let dynamic_allocation = if da_present || !base.attr("dynamic_allocation").is_null() {
        Value::object([
            ("enabled", flag(keys::DA_ENABLED)),
            ("min_executors", int(keys::DA_MIN_EXECUTORS)),
            ("initial_executors", int(keys::DA_INITIAL_EXECUTORS)),
            ("max_executors", int(keys::DA_MAX_EXECUTORS)),
        ])
    } else {
        Value::Null
    };
    state.set_attr("dynamic_allocation", dynamic_allocation);

    // A stored task amount reads back only as the plain decimal it was written as.
    let decimal = |key: &str| {
        properties
            .get(key)
            .filter(|text| Decimal::parse(text).is_some())
            .and_then(|text| Number::parse(text))
            .map_or(Value::Null, Value::Number)
    };
    let gpu_keys = [
        keys::GPU_AMOUNT,
        keys::GPU_VENDOR,
        keys::GPU_DISCOVERY_SCRIPT,
        keys::TASK_GPU_AMOUNT,
    ];
    let gpu = if gpu_keys.iter().any(|k| properties.contains_key(*k)) {
        Value::object([
            ("amount", int(keys::GPU_AMOUNT)),
            ("vendor", text(keys::GPU_VENDOR)),
            ("discovery_script", text(keys::GPU_DISCOVERY_SCRIPT)),
            ("task_amount", decimal(keys::TASK_GPU_AMOUNT)),
        ])
    } else {
        Value::Null
    };
    state.set_attr("gpu", gpu);

    let selector: BTreeMap<String, String> = properties
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(keys::EXECUTOR_NODE_SELECTOR_PREFIX)
                .map(|label| (label.to_owned(), v.clone()))
        })
        .collect();
    let node_selector = if selector.is_empty() && base.attr("executor_node_selector").is_null() {
        Value::Null
    } else {
        Value::opt_string_map(Some(&selector))
    };
    state.set_attr("executor_node_selector", node_selector);
    // A tolerations line that is not one (edited by hand into something else) reads as an
    // unknown key, so the plan still shows it going.
    let tolerations = properties
        .get(keys::EXECUTOR_TOLERATIONS)
        .map(|text| tolerations_state(text, base.attr("executor_tolerations")));
    let tolerations_foreign = matches!(tolerations, Some(None));
    state.set_attr(
        "executor_tolerations",
        tolerations.flatten().unwrap_or(Value::List(Vec::new())),
    );

    let extra: BTreeMap<String, String> = properties
        .iter()
        .filter(|(k, _)| {
            !crate::spark::is_rendered_key(k)
                || (k.as_str() == keys::EXECUTOR_TOLERATIONS && tolerations_foreign)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let extra_conf = if extra.is_empty() && base.attr("extra_conf").is_null() {
        Value::Null
    } else {
        Value::opt_string_map(Some(&extra))
    };
    state.set_attr("extra_conf", extra_conf);

    let rendered = crate::spark::render_env_file(properties);
    let sha256 = crate::spark::content_sha256(&rendered);
    if let (Some(mount), Some(name)) = (state.attr("mount").as_str(), state.attr("name").as_str()) {
        let reference = crate::spark::profile_ref(mount, name, &sha256);
        state.set_attr("ref", Value::String(reference));
    }
    state.set_attr("rendered", Value::String(rendered));
    state.set_attr("content_sha256", Value::String(sha256));
    let recommended = profile_input(&state)
        .ok()
        .and_then(|input| crate::spark::resolve(&input))
        .map_or(Value::Null, |p| {
            Value::int(p.recommended_shuffle_partitions())
        });
    state.set_attr("recommended_shuffle_partitions", recommended);
    state
}

/// Brings the metadata attributes in line with Vault's, keeping null where the configuration
/// leaves them unset and Vault holds nothing (an empty map, or 0 versions meaning "the mount's
/// setting").
pub fn apply_metadata(state: &mut Value, max_versions: u64, custom: &BTreeMap<String, String>) {
    let max_versions = match (max_versions, state.attr("max_versions").is_null()) {
        (0, true) => Value::Null,
        (n, _) => Value::int(i64::try_from(n).unwrap_or(i64::MAX)),
    };
    state.set_attr("max_versions", max_versions);
    let custom = if custom.is_empty() && state.attr("custom_metadata").is_null() {
        Value::Null
    } else {
        Value::opt_string_map(Some(custom))
    };
    state.set_attr("custom_metadata", custom);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn base() -> Value {
        Value::object([
            ("mount", Value::string("secret")),
            ("name", Value::string("spark/a")),
            ("dynamic_allocation", Value::Null),
            ("extra_conf", Value::Null),
        ])
    }

    #[test]
    fn properties_map_back_to_the_attributes_they_came_from() {
        let state = state_from_properties(
            &base(),
            &props(&[
                ("spark.executor.instances", "6"),
                ("spark.executor.memory", "4g"),
                ("spark.dynamicAllocation.enabled", "false"),
                ("spark.sql.adaptive.enabled", "true"),
            ]),
        );
        assert_eq!(state.attr("executor_instances"), &Value::int(6));
        assert_eq!(state.attr("executor_memory"), &Value::string("4g"));
        assert!(
            state.attr("executor_cores").is_null(),
            "a removed key reads as null"
        );
        assert!(
            state.attr("dynamic_allocation").is_null(),
            "a default-off block stays absent"
        );
        assert_eq!(
            state.attr("extra_conf"),
            &Value::object([("spark.sql.adaptive.enabled", Value::string("true"))])
        );
        assert!(
            state
                .attr("ref")
                .as_str()
                .is_some_and(|r| r.starts_with("secret/spark/a@sha256:"))
        );
    }

    #[test]
    fn bad_numbers_are_errors_at_their_path_never_unset() {
        let config = Value::object([
            (
                "executor_instances",
                Value::Number(crate::tf::Number::Float(2.5)),
            ),
            (
                "executor_cores",
                Value::Number(crate::tf::Number::Float(1e20)),
            ),
            (
                "gpu",
                Value::object([("amount", Value::Number(crate::tf::Number::Float(0.5)))]),
            ),
        ]);
        let Err(problems) = profile_input(&config) else {
            panic!("bad numbers decoded");
        };
        let found: Vec<(String, String)> = problems
            .into_iter()
            .map(|d| {
                (
                    d.attribute.map(|p| p.to_string()).unwrap_or_default(),
                    d.detail,
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "executor_instances",
                    "executor_instances must be a whole number, got 2.5."
                ),
                (
                    "executor_cores",
                    "executor_cores must be a whole number, got 100000000000000000000."
                ),
                ("gpu.amount", "gpu.amount must be a whole number, got 0.5."),
            ]
            .map(|(p, d)| (p.to_owned(), d.to_owned()))
        );
        assert_eq!(field_int(&Value::Null), Ok(Field::Unset));
        assert_eq!(field_int(&Value::Unknown), Ok(Field::Unknown));
        assert_eq!(field_int(&Value::int(3)), Ok(Field::Set(3)));
        assert!(field_int(&Value::string("3")).is_err());
    }

    #[test]
    fn fractional_numbers_decode_to_the_decimal_terraform_shows() {
        let float = |f: f64| Value::Number(Number::Float(f));
        let decoded = |v: Value| field_decimal(&v).map(|f| f.value().map(ToString::to_string));
        assert_eq!(decoded(float(0.25)), Ok(Some("0.25".into())));
        assert_eq!(decoded(float(0.1)), Ok(Some("0.1".into())));
        assert_eq!(decoded(float(0.2)), Ok(Some("0.2".into())));
        assert_eq!(decoded(float(-0.5)), Ok(Some("-0.5".into())));
        assert_eq!(decoded(Value::int(2)), Ok(Some("2".into())));
        assert_eq!(field_decimal(&Value::Null), Ok(Field::Unset));
        assert_eq!(field_decimal(&Value::Unknown), Ok(Field::Unknown));
        assert!(field_decimal(&Value::string("0.5")).is_err());
        assert!(
            field_decimal(&float(1e-300)).is_err(),
            "too many digits to hold"
        );
        let config = Value::object([(
            "gpu",
            Value::object([("amount", Value::int(1)), ("task_amount", float(1e-300))]),
        )]);
        let Err(problems) = profile_input(&config) else {
            panic!("a tiny task amount decoded");
        };
        let paths: Vec<String> = problems
            .into_iter()
            .filter_map(|d| d.attribute.map(|p| p.to_string()))
            .collect();
        assert_eq!(paths, ["gpu.task_amount"]);
    }

    #[test]
    fn gpu_keys_map_back_to_the_gpu_block() {
        let gpu_props = |task: &str, script: &str| {
            props(&[
                ("spark.dynamicAllocation.enabled", "false"),
                ("spark.executor.resource.gpu.amount", "2"),
                ("spark.executor.resource.gpu.vendor", "nvidia.com"),
                ("spark.executor.resource.gpu.discoveryScript", script),
                ("spark.task.resource.gpu.amount", task),
            ])
        };
        let state = state_from_properties(&base(), &gpu_props("0.25", "/opt/find-gpus.sh"));
        assert_eq!(
            state.attr("gpu"),
            &Value::object([
                ("amount", Value::int(2)),
                ("vendor", Value::string("nvidia.com")),
                ("discovery_script", Value::string("/opt/find-gpus.sh")),
                ("task_amount", Value::Number(Number::Float(0.25))),
            ])
        );
        assert!(state.attr("extra_conf").is_null(), "no GPU key is extra");
        let whole = state_from_properties(&base(), &gpu_props("1", "/x.sh"));
        assert_eq!(whole.block("gpu").attr("task_amount"), &Value::int(1));
        // A value that is not a plain decimal reads as removed, so the plan writes it again.
        let edited = state_from_properties(&base(), &gpu_props("1e0", "/x.sh"));
        assert!(edited.block("gpu").attr("task_amount").is_null());
        let only_task = state_from_properties(
            &base(),
            &props(&[("spark.task.resource.gpu.amount", "0.5")]),
        );
        assert!(
            !only_task.attr("gpu").is_null(),
            "any GPU key shows the block"
        );
    }

    #[test]
    fn metadata_keeps_null_for_unset_defaults() {
        let mut state = Value::object([
            ("max_versions", Value::Null),
            ("custom_metadata", Value::Null),
        ]);
        apply_metadata(&mut state, 0, &BTreeMap::new());
        assert!(state.attr("max_versions").is_null());
        assert!(state.attr("custom_metadata").is_null());
        apply_metadata(&mut state, 5, &props(&[("owner", "x")]));
        assert_eq!(state.attr("max_versions"), &Value::int(5));
        assert_eq!(
            state.attr("custom_metadata"),
            &Value::object([("owner", Value::string("x"))])
        );
    }

    #[test]
    fn executor_placement_maps_back_and_a_foreign_tolerations_line_stays_visible() {
        let tolerations = r#"[{"effect":"NoSchedule","key":"nvidia.com/gpu","operator":"Exists"}]"#;
        let state = state_from_properties(
            &base(),
            &props(&[
                ("spark.kubernetes.executor.node.selector.pool", "gpu"),
                ("konoha.executor.tolerations", tolerations),
            ]),
        );
        assert_eq!(
            state.attr("executor_node_selector"),
            &Value::object([("pool", Value::string("gpu"))])
        );
        assert_eq!(
            state.attr("executor_tolerations"),
            &Value::List(vec![Value::object([
                ("key", Value::string("nvidia.com/gpu")),
                ("operator", Value::string("Exists")),
                ("value", Value::Null),
                ("effect", Value::string("NoSchedule")),
                ("toleration_seconds", Value::Null),
            ])])
        );
        assert!(
            state.attr("extra_conf").is_null(),
            "{:?}",
            state.attr("extra_conf")
        );
        // Decoded again, the state renders the same lines: a read-back is no diff.
        let input = profile_input(&state).expect("decodes");
        let rendered =
            crate::spark::render_properties(&crate::spark::resolve(&input).expect("resolves"));
        assert_eq!(
            rendered
                .get("konoha.executor.tolerations")
                .map(String::as_str),
            Some(tolerations)
        );
        let foreign =
            state_from_properties(&base(), &props(&[("konoha.executor.tolerations", "oops")]));
        assert_eq!(
            foreign.attr("executor_tolerations"),
            &Value::List(Vec::new())
        );
        assert_eq!(
            foreign.attr("extra_conf"),
            &Value::object([("konoha.executor.tolerations", Value::string("oops"))])
        );
    }
}
