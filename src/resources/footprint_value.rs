//! The `footprint` attribute both `konoha_spark_profile`s (resource and data source) carry:
//! [`crate::spark::footprint`]'s pod cost as a Terraform object of exact Kubernetes quantities.

use std::collections::BTreeMap;

use crate::framework::Attribute;
use crate::spark::footprint::{self, EngineTotal, PodCost, format_cpu, format_mib};
use crate::tf::{Type, Value};

/// The attribute's name.
pub const FOOTPRINT: &str = "footprint";

/// Describes each field with the Spark property it comes from; the generated docs show it.
const DESCRIPTION: &str = "What one engine run with this profile costs in Kubernetes, computed \
     from the stored Spark properties by Spark 3.5's rules; known at plan time when every \
     setting is, so a plan shows it before and after. Quantities are exact, as Kubernetes writes \
     them (`2432Mi`, CPU `1800m` or `2`). `executor` and `driver` each have `cpu_request` \
     (`spark.kubernetes.executor.request.cores` / `spark.kubernetes.driver.request.cores`, else \
     `spark.executor.cores` / `spark.driver.cores`, default 1), `cpu_limit` \
     (`spark.kubernetes.executor.limit.cores` / `spark.kubernetes.driver.limit.cores`, null when \
     unset), `memory` (the pod's memory request and limit: the heap `spark.executor.memory` / \
     `spark.driver.memory`, default `1g`, plus the overhead `spark.executor.memoryOverhead` / \
     `spark.driver.memoryOverhead` when set, otherwise the heap in MiB times the factor \
     `spark.executor.memoryOverheadFactor` / `spark.driver.memoryOverheadFactor`, else \
     `spark.kubernetes.memoryOverheadFactor`, else 0.1, truncated to whole MiB and at least 384 \
     MiB; the executor adds `spark.memory.offHeap.size` when `spark.memory.offHeap.enabled` is \
     true; `spark.executor.pyspark.memory` is never added, since a Kyuubi engine is a JVM \
     application) and `gpus` (`spark.executor.resource.gpu.amount` / \
     `spark.driver.resource.gpu.amount`, `\"0\"` when unset). `engine` is the driver plus \
     `spark.executor.instances` executors (default 2; with dynamic allocation, \
     `spark.dynamicAllocation.maxExecutors`): `pods`, `cpu_request`, `memory` and `gpus`, as a \
     `ResourceQuota` counts them. Every field is a string; null when dynamic allocation has no maximum.";

/// An object type whose attributes are all strings, as quantities are.
fn strings_object(names: &[&str]) -> Type {
    Type::Object(
        names
            .iter()
            .map(|name| ((*name).to_owned(), Type::String))
            .collect(),
    )
}

fn pod_type() -> Type {
    strings_object(&["cpu_request", "cpu_limit", "memory", "gpus"])
}

fn engine_type() -> Type {
    strings_object(&["pods", "cpu_request", "memory", "gpus"])
}

/// The computed `footprint` attribute.
pub fn attribute() -> Attribute {
    let ty = Type::Object(BTreeMap::from([
        ("executor".to_owned(), pod_type()),
        ("driver".to_owned(), pod_type()),
        ("engine".to_owned(), engine_type()),
    ]));
    Attribute::new(FOOTPRINT, ty)
        .computed()
        .description(DESCRIPTION)
}

/// Counts are strings like the other quantities, as a `ResourceQuota`'s `hard` map holds them
/// (and a number inside an object would carry no whole-number kind).
fn count(n: u64) -> Value {
    Value::String(n.to_string())
}

fn pod_value(pod: &PodCost) -> Value {
    Value::object([
        (
            "cpu_request",
            Value::String(format_cpu(pod.cpu_request_millis)),
        ),
        (
            "cpu_limit",
            Value::opt_string(pod.cpu_limit_millis.map(format_cpu)),
        ),
        ("memory", Value::String(format_mib(pod.memory_mib))),
        ("gpus", count(pod.gpu_count())),
    ])
}

fn engine_value(engine: Option<EngineTotal>) -> Value {
    engine.map_or(Value::Null, |engine| {
        Value::object([
            ("pods", count(engine.pods)),
            (
                "cpu_request",
                Value::String(format_cpu(engine.cpu_request_millis)),
            ),
            ("memory", Value::String(format_mib(engine.memory_mib))),
            ("gpus", count(engine.gpu_count())),
        ])
    })
}

/// The footprint of `properties`; null when they size no pod Spark would start (validation
/// refuses such a configuration, so only data changed in Vault gets here).
pub fn value(properties: &BTreeMap<String, String>) -> Value {
    match footprint::footprint(properties) {
        Ok(found) => Value::object([
            ("executor", pod_value(&found.executor)),
            ("driver", pod_value(&found.driver)),
            ("engine", engine_value(found.engine())),
        ]),
        Err(error) => {
            tracing::warn!(%error, "stored Spark properties give no footprint");
            Value::Null
        }
    }
}
