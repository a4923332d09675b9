//! Conversions between Terraform values and the Spark domain's profile types.
//!
//! Decoding goes from a configuration or plan value to [`ProfileInput`] (unknowns kept, so that
//! validation can skip only what they feed). Encoding goes from the properties stored in Vault
//! back to attribute values, which is how drift and import show up in Terraform's own terms.

use std::collections::BTreeMap;

use crate::spark::{self, Field, ProfileInput};
use crate::tf::{AttributePath, PathStep, Value};

/// Reads a string attribute.
pub fn field_string(v: &Value) -> Field<String> {
    match v {
        Value::Unknown => Field::Unknown,
        Value::String(s) => Field::Set(s.clone()),
        _ => Field::Unset,
    }
}

/// Reads a whole-number attribute.
pub fn field_int(v: &Value) -> Field<i64> {
    match v {
        Value::Unknown => Field::Unknown,
        other => other.as_i64().map_or(Field::Unset, Field::Set),
    }
}

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
fn field_block<T>(v: &Value, read: impl FnOnce(&Value) -> T) -> Field<T> {
    match v {
        Value::Unknown => Field::Unknown,
        Value::Map(_) => Field::Set(read(v)),
        _ => Field::Unset,
    }
}

/// The domain's view of a profile configuration or plan.
pub fn profile_input(v: &Value) -> ProfileInput {
    ProfileInput {
        mount: field_string(v.attr("mount")),
        name: field_string(v.attr("name")),
        executor_instances: field_int(v.attr("executor_instances")),
        executor_memory: field_string(v.attr("executor_memory")),
        executor_memory_overhead: field_string(v.attr("executor_memory_overhead")),
        executor_cores: field_int(v.attr("executor_cores")),
        executor_request_cores: field_string(v.attr("executor_request_cores")),
        executor_limit_cores: field_string(v.attr("executor_limit_cores")),
        shuffle_partitions: field_int(v.attr("shuffle_partitions")),
        dynamic_allocation: field_block(v.attr("dynamic_allocation"), |b| {
            spark::DynamicAllocationInput {
                enabled: field_bool(b.attr("enabled")),
                min_executors: field_int(b.attr("min_executors")),
                initial_executors: field_int(b.attr("initial_executors")),
                max_executors: field_int(b.attr("max_executors")),
            }
        }),
        speculation: field_bool(v.attr("speculation")),
        gpu: field_block(v.attr("gpu"), |b| spark::GpuInput {
            amount: field_int(b.attr("amount")),
            vendor: field_string(b.attr("vendor")),
        }),
        extra_conf: field_string_map(v.attr("extra_conf")),
        custom_metadata: field_string_map(v.attr("custom_metadata")),
        max_versions: field_int(v.attr("max_versions")),
    }
}

/// A domain path as a Terraform attribute path. Single nested blocks are objects in this
/// provider's schemas, so the domain's list indexes for them are dropped.
pub fn attribute_path(segments: &[spark::PathSegment]) -> AttributePath {
    let mut path = AttributePath::root();
    for segment in segments {
        match segment {
            spark::PathSegment::Attr(name) => path.0.push(PathStep::Attribute(name.to_string())),
            spark::PathSegment::Key(key) => path.0.push(PathStep::ElementKeyString(key.clone())),
            spark::PathSegment::Index(_) => {}
        }
    }
    path
}
