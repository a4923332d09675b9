//! What one engine costs in Kubernetes terms: the CPU, memory and GPUs Spark 3.5 writes into its
//! driver and executor pods, computed from the same Spark properties `spark.env` holds.
//!
//! The rules are Spark's own, from `BasicDriverFeatureStep`, `BasicExecutorFeatureStep` and
//! `ResourceProfile.getResourcesForClusterManager` (Spark 3.5, Kubernetes resource manager):
//!
//! - executor memory request (and limit) = heap + overhead + off-heap. The overhead is
//!   `spark.executor.memoryOverhead` when set, otherwise `max((factor × heapMiB).toInt, 384)`
//!   MiB, where the factor is `spark.executor.memoryOverheadFactor` when set, else
//!   `spark.kubernetes.memoryOverheadFactor`, else 0.1. Off-heap counts only with
//!   `spark.memory.offHeap.enabled=true`. `spark.executor.pyspark.memory` is added for Python
//!   applications only, and a Kyuubi engine is a JVM application (the Spark SQL engine jar), so
//!   it is never part of the pod.
//! - driver memory = `spark.driver.memory` (default 1g) + overhead by the same rule with
//!   `spark.driver.memoryOverhead` and `spark.driver.memoryOverheadFactor`.
//! - CPU request = `spark.kubernetes.{executor,driver}.request.cores`, else
//!   `spark.{executor,driver}.cores` (Spark's default 1); the limit is
//!   `spark.kubernetes.{executor,driver}.limit.cores` when set.
//! - GPUs = `spark.{executor,driver}.resource.gpu.amount`, as `<vendor>/gpu`.
//!
//! Spark reads these memory settings as whole MiB and drops the rest (`1536k` is 1 MiB), so a
//! setting that is not whole MiB is refused ([`value_problem`]) instead of being rounded here.
//! Pure: no I/O, no Terraform types.

use std::collections::BTreeMap;
use std::fmt;

use super::keys;
use super::memory::{MemoryError, parse_memory};
use super::quantity::parse_cpu_millis;

const MIB: u64 = 1024 * 1024;

/// Spark's smallest memory overhead (`ResourceProfile.MEMORY_OVERHEAD_MIN_MIB`), in MiB.
pub const MEMORY_OVERHEAD_MIN_MIB: i64 = 384;
/// The overhead factor when no property sets one.
pub const DEFAULT_OVERHEAD_FACTOR: f64 = 0.1;
/// `spark.driver.memory` when unset.
pub const DEFAULT_DRIVER_MEMORY_MIB: u64 = 1024;
/// `spark.driver.cores` and `spark.executor.cores` when unset.
pub const DEFAULT_SPARK_CORES: u64 = 1;

/// `spark.executor.memoryOverheadFactor`.
pub const EXECUTOR_MEMORY_OVERHEAD_FACTOR: &str = "spark.executor.memoryOverheadFactor";
/// `spark.kubernetes.memoryOverheadFactor`: the factor both pods fall back to.
pub const KUBERNETES_MEMORY_OVERHEAD_FACTOR: &str = "spark.kubernetes.memoryOverheadFactor";
/// `spark.memory.offHeap.enabled`.
pub const OFF_HEAP_ENABLED: &str = "spark.memory.offHeap.enabled";
/// `spark.memory.offHeap.size`, in bytes unless a unit says otherwise.
pub const OFF_HEAP_SIZE: &str = "spark.memory.offHeap.size";
/// `spark.driver.memory`.
pub const DRIVER_MEMORY: &str = "spark.driver.memory";
/// `spark.driver.memoryOverhead`.
pub const DRIVER_MEMORY_OVERHEAD: &str = "spark.driver.memoryOverhead";
/// `spark.driver.memoryOverheadFactor`.
pub const DRIVER_MEMORY_OVERHEAD_FACTOR: &str = "spark.driver.memoryOverheadFactor";
/// `spark.driver.cores`.
pub const DRIVER_CORES: &str = "spark.driver.cores";
/// `spark.kubernetes.driver.request.cores`.
pub const DRIVER_REQUEST_CORES: &str = "spark.kubernetes.driver.request.cores";
/// `spark.kubernetes.driver.limit.cores`.
pub const DRIVER_LIMIT_CORES: &str = "spark.kubernetes.driver.limit.cores";
/// `spark.driver.resource.gpu.amount`.
pub const DRIVER_GPU_AMOUNT: &str = "spark.driver.resource.gpu.amount";
/// `spark.driver.resource.gpu.vendor`.
pub const DRIVER_GPU_VENDOR: &str = "spark.driver.resource.gpu.vendor";

/// How Spark reads a property that changes a pod's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// A memory size Spark truncates to whole MiB.
    WholeMib,
    /// An overhead factor: a decimal above zero, or at least zero.
    Factor { zero_allowed: bool },
    /// A Kubernetes CPU quantity.
    Cpu,
    /// A whole number, at least 1.
    Count,
    /// `true` or `false`.
    Bool,
}

/// Every property the footprint reads beyond the typed attributes' keys, and how.
const FOOTPRINT_KEYS: [(&str, Reading); 11] = [
    (
        EXECUTOR_MEMORY_OVERHEAD_FACTOR,
        Reading::Factor {
            zero_allowed: false,
        },
    ),
    (
        KUBERNETES_MEMORY_OVERHEAD_FACTOR,
        Reading::Factor { zero_allowed: true },
    ),
    (OFF_HEAP_ENABLED, Reading::Bool),
    (OFF_HEAP_SIZE, Reading::WholeMib),
    (DRIVER_MEMORY, Reading::WholeMib),
    (DRIVER_MEMORY_OVERHEAD, Reading::WholeMib),
    (
        DRIVER_MEMORY_OVERHEAD_FACTOR,
        Reading::Factor {
            zero_allowed: false,
        },
    ),
    (DRIVER_CORES, Reading::Count),
    (DRIVER_REQUEST_CORES, Reading::Cpu),
    (DRIVER_LIMIT_CORES, Reading::Cpu),
    (DRIVER_GPU_AMOUNT, Reading::Count),
];

/// Whether `key` changes the size of an engine's pods (so its value must be exact, and it must
/// not be hidden in a secret setting, where the footprint cannot read it).
pub fn is_footprint_key(key: &str) -> bool {
    FOOTPRINT_KEYS.iter().any(|(k, _)| *k == key)
}

/// What is wrong with `value` as the property `key`, when `key` sizes a pod; completes
/// "the value … of … ". `None` for a good value and for keys the footprint does not read.
pub fn value_problem(key: &str, value: &str) -> Option<String> {
    let (_, reading) = FOOTPRINT_KEYS.iter().find(|(k, _)| *k == key)?;
    match reading {
        Reading::WholeMib => mib_problem(value),
        Reading::Factor { zero_allowed } => parse_factor(value, *zero_allowed).err(),
        Reading::Cpu => match parse_cpu_millis(value) {
            Ok(0) => Some("is zero: a pod needs some CPU, e.g. \"500m\" or \"1\"".to_owned()),
            Ok(_) => None,
            Err(error) => Some(format!(
                "is not a CPU quantity: {error}; write CPUs (\"2\", \"1.5\") or millicores (\"500m\")"
            )),
        },
        Reading::Count => parse_count(value).err(),
        Reading::Bool => parse_bool(value).err(),
    }
}

/// Why a memory setting is not an exact whole number of MiB, as Spark needs it.
fn mib_problem(value: &str) -> Option<String> {
    parse_mib(value).err()
}

/// A memory setting in MiB, refusing what Spark would truncate.
fn parse_mib(value: &str) -> Result<u64, String> {
    let bytes = parse_memory(value).map_err(|error| {
        let suggestion = match &error {
            MemoryError::MissingUnit { digits } => format!("{digits}m"),
            other => other.suggestion(),
        };
        format!(
            "is not a Spark memory size: {error}; use a whole number with a unit \
             (b, k, m, g, t, p), e.g. {suggestion:?}"
        )
    })?;
    if bytes == 0 {
        return Err("is zero: memory must be more than zero".to_owned());
    }
    if !bytes.is_multiple_of(MIB) {
        let below = bytes / MIB;
        // Zero MiB is refused too, so below one MiB the only suggestion is one MiB.
        let suggestion = match below {
            0 => "\"1m\"".to_owned(),
            _ => format!("\"{below}m\" or \"{}m\"", below + 1),
        };
        return Err(format!(
            "is not a whole number of MiB: Spark reads it as {below} MiB and drops the rest, so \
             the pod would not be the size written; write {suggestion}"
        ));
    }
    Ok(bytes / MIB)
}

/// Spark reads a factor with Java's `toDouble`; only plain decimals are taken here, so the
/// text means one number to everyone who reads it.
fn parse_factor(value: &str, zero_allowed: bool) -> Result<f64, String> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, "0"));
    let plain = !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    let parsed = plain.then(|| value.parse::<f64>().ok()).flatten();
    match parsed {
        None => Err("is not a plain decimal such as \"0.1\" or \"0.25\"".to_owned()),
        Some(f) if !f.is_finite() => Err("is too large".to_owned()),
        Some(f) if f == 0.0 && !zero_allowed => {
            Err("is zero: Spark requires an overhead factor above 0".to_owned())
        }
        Some(f) => Ok(f),
    }
}

fn parse_count(value: &str) -> Result<u64, String> {
    match value.parse::<i32>() {
        Ok(n) if n >= 1 => Ok(n as u64),
        Ok(_) => Err("is too small: it must be at least 1".to_owned()),
        Err(_) if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() => {
            Err("is too large: Spark reads it as a 32-bit integer".to_owned())
        }
        Err(_) => Err("is not a whole number".to_owned()),
    }
}

/// Spark's boolean settings take `true` or `false` in any case.
fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("is not \"true\" or \"false\"".to_owned()),
    }
}

/// What Kubernetes reserves for one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodCost {
    /// `resources.requests.cpu`, in millicores.
    pub cpu_request_millis: u64,
    /// `resources.limits.cpu`, when Spark sets one.
    pub cpu_limit_millis: Option<u64>,
    /// `resources.requests.memory` (Spark sets the limit to the same), in MiB.
    pub memory_mib: u64,
    /// GPUs by Kubernetes resource name (`nvidia.com/gpu`).
    pub gpus: BTreeMap<String, u64>,
}

impl PodCost {
    /// Every GPU of the pod, whatever the vendor.
    pub fn gpu_count(&self) -> u64 {
        self.gpus.values().sum()
    }
}

/// One engine's pods: a driver and, while dynamic allocation is off or bounded, a known
/// number of executors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footprint {
    /// The driver pod.
    pub driver: PodCost,
    /// Each executor pod.
    pub executor: PodCost,
    /// How many executors an engine runs at most; `None` when dynamic allocation has no
    /// upper bound.
    pub executors: Option<u64>,
}

/// The sum of an engine's pods, as a `ResourceQuota` counts them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EngineTotal {
    /// Pods: the driver and its executors.
    pub pods: u64,
    /// `requests.cpu`, in millicores.
    pub cpu_request_millis: u64,
    /// `requests.memory`, in MiB.
    pub memory_mib: u64,
    /// `requests.<vendor>/gpu`, by resource name.
    pub gpus: BTreeMap<String, u64>,
}

/// Why stored properties give no footprint: the property at fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FootprintError {
    /// The Spark property.
    pub key: String,
    /// Completes "the value … of … ".
    pub problem: String,
}

impl fmt::Display for FootprintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the value of {:?} {}", self.key, self.problem)
    }
}

/// The footprint of an engine run with `properties` (a profile's rendered properties, or what
/// Vault holds). Properties the footprint does not read are ignored.
pub fn footprint(properties: &BTreeMap<String, String>) -> Result<Footprint, FootprintError> {
    let get = |key: &str| properties.get(key).map(String::as_str);
    let fail = |key: &str, problem: String| FootprintError {
        key: key.to_owned(),
        problem,
    };
    // Every sizing property is checked, read or not (off-heap size while off-heap is off), so
    // the footprint refuses exactly what validation refuses.
    for (key, _) in FOOTPRINT_KEYS {
        if let Some(problem) = get(key).and_then(|text| value_problem(key, text)) {
            return Err(fail(key, problem));
        }
    }
    let mib = |key: &str, default: Option<u64>| -> Result<Option<u64>, FootprintError> {
        match get(key) {
            None => Ok(default),
            Some(text) => parse_mib(text).map(Some).map_err(|p| fail(key, p)),
        }
    };
    let factor = |key: &str, zero_allowed: bool| -> Result<Option<f64>, FootprintError> {
        get(key)
            .map(|text| parse_factor(text, zero_allowed).map_err(|p| fail(key, p)))
            .transpose()
    };
    let cpu = |key: &str| -> Result<Option<u64>, FootprintError> {
        get(key)
            .map(|text| match value_problem(key, text) {
                Some(problem) => Err(fail(key, problem)),
                None => parse_cpu_millis(text).map_err(|e| fail(key, e.to_string())),
            })
            .transpose()
    };
    let count = |key: &str| -> Result<Option<u64>, FootprintError> {
        get(key)
            .map(|text| parse_count(text).map_err(|p| fail(key, p)))
            .transpose()
    };

    // The factor both pods fall back to: the driver hands its own to the executors.
    let kubernetes_factor =
        factor(KUBERNETES_MEMORY_OVERHEAD_FACTOR, true)?.unwrap_or(DEFAULT_OVERHEAD_FACTOR);

    let heap = mib(keys::EXECUTOR_MEMORY, Some(DEFAULT_DRIVER_MEMORY_MIB))?.unwrap_or_default();
    let overhead = mib(keys::EXECUTOR_MEMORY_OVERHEAD, None)?;
    let executor_factor =
        factor(EXECUTOR_MEMORY_OVERHEAD_FACTOR, false)?.unwrap_or(kubernetes_factor);
    let off_heap_enabled = match get(OFF_HEAP_ENABLED) {
        None => false,
        Some(text) => parse_bool(text).map_err(|p| fail(OFF_HEAP_ENABLED, p))?,
    };
    let off_heap = if off_heap_enabled {
        mib(OFF_HEAP_SIZE, None)?.ok_or_else(|| {
            fail(
                OFF_HEAP_ENABLED,
                format!("is true, but {OFF_HEAP_SIZE} is not set: Spark requires a size above 0"),
            )
        })?
    } else {
        0
    };
    let executor_memory = heap
        .checked_add(overhead_mib(overhead, heap, executor_factor))
        .and_then(|m| m.checked_add(off_heap))
        .ok_or_else(|| fail(keys::EXECUTOR_MEMORY, "is too large".to_owned()))?;
    let executor_cores = count(keys::EXECUTOR_CORES)?.unwrap_or(DEFAULT_SPARK_CORES);
    let executor = PodCost {
        cpu_request_millis: cpu(keys::EXECUTOR_REQUEST_CORES)?
            .unwrap_or(executor_cores.saturating_mul(1000)),
        cpu_limit_millis: cpu(keys::EXECUTOR_LIMIT_CORES)?,
        memory_mib: executor_memory,
        gpus: gpus(
            get(keys::GPU_AMOUNT),
            get(keys::GPU_VENDOR),
            keys::GPU_AMOUNT,
        )?,
    };

    let driver_heap = mib(DRIVER_MEMORY, Some(DEFAULT_DRIVER_MEMORY_MIB))?.unwrap_or_default();
    let driver_overhead = mib(DRIVER_MEMORY_OVERHEAD, None)?;
    let driver_factor = factor(DRIVER_MEMORY_OVERHEAD_FACTOR, false)?.unwrap_or(kubernetes_factor);
    let driver_cores = count(DRIVER_CORES)?.unwrap_or(DEFAULT_SPARK_CORES);
    let driver = PodCost {
        cpu_request_millis: cpu(DRIVER_REQUEST_CORES)?.unwrap_or(driver_cores.saturating_mul(1000)),
        cpu_limit_millis: cpu(DRIVER_LIMIT_CORES)?,
        memory_mib: driver_heap
            .checked_add(overhead_mib(driver_overhead, driver_heap, driver_factor))
            .ok_or_else(|| fail(DRIVER_MEMORY, "is too large".to_owned()))?,
        gpus: gpus(
            get(DRIVER_GPU_AMOUNT),
            get(DRIVER_GPU_VENDOR),
            DRIVER_GPU_AMOUNT,
        )?,
    };

    let dynamic = match get(keys::DA_ENABLED) {
        None => false,
        Some(text) => parse_bool(text).map_err(|p| fail(keys::DA_ENABLED, p))?,
    };
    let executors = if dynamic {
        count(keys::DA_MAX_EXECUTORS)?
    } else {
        // Spark starts 2 executors when `spark.executor.instances` is unset.
        match get(keys::EXECUTOR_INSTANCES) {
            None => Some(2),
            Some(text) => Some(match text.parse::<i32>() {
                Ok(n) if n >= 0 => n as u64,
                _ => {
                    return Err(fail(
                        keys::EXECUTOR_INSTANCES,
                        "is not a whole number of at least 0".to_owned(),
                    ));
                }
            }),
        }
    };
    Ok(Footprint {
        driver,
        executor,
        executors,
    })
}

/// Spark's overhead: the setting, or the factor times the heap (truncated to an `Int`, as the
/// JVM's `toInt` does: towards zero, saturating) and at least 384 MiB.
fn overhead_mib(setting: Option<u64>, heap_mib: u64, factor: f64) -> u64 {
    setting.unwrap_or_else(|| {
        // Rust's float-to-int `as` truncates towards zero and saturates, like the JVM's d2i.
        let scaled = (factor * heap_mib as f64) as i32;
        i64::from(scaled).max(MEMORY_OVERHEAD_MIN_MIB) as u64
    })
}

/// A pod's GPUs: `amount` of `<vendor>/gpu`. Spark refuses an amount without a vendor on
/// Kubernetes; the typed `gpu` block always writes one.
fn gpus(
    amount: Option<&str>,
    vendor: Option<&str>,
    key: &str,
) -> Result<BTreeMap<String, u64>, FootprintError> {
    let Some(amount) = amount else {
        return Ok(BTreeMap::new());
    };
    let count = amount.parse::<u64>().map_err(|_| FootprintError {
        key: key.to_owned(),
        problem: "is not a whole number".to_owned(),
    })?;
    let vendor = vendor.ok_or_else(|| FootprintError {
        key: key.to_owned(),
        problem: "is set without a vendor, which Spark on Kubernetes requires".to_owned(),
    })?;
    Ok([(format!("{vendor}/gpu"), count)].into())
}

impl Footprint {
    /// The engine's total: the driver plus each executor. `None` when the executors are
    /// unbounded or the sum does not fit 64 bits.
    pub fn engine(&self) -> Option<EngineTotal> {
        let executors = self.executors?;
        let times = |per_pod: u64| per_pod.checked_mul(executors);
        let mut gpus = self.driver.gpus.clone();
        for (name, count) in &self.executor.gpus {
            let total = times(*count)?.checked_add(gpus.get(name).copied().unwrap_or(0))?;
            gpus.insert(name.clone(), total);
        }
        gpus.retain(|_, count| *count > 0);
        Some(EngineTotal {
            pods: executors.checked_add(1)?,
            cpu_request_millis: times(self.executor.cpu_request_millis)?
                .checked_add(self.driver.cpu_request_millis)?,
            memory_mib: times(self.executor.memory_mib)?.checked_add(self.driver.memory_mib)?,
            gpus,
        })
    }
}

/// A CPU amount as Kubernetes writes it back: whole CPUs bare (`"2"`), else millicores
/// (`"1800m"`).
pub fn format_cpu(millis: u64) -> String {
    if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

/// A memory amount as Kubernetes writes it back: the largest binary unit that holds it exactly
/// (`"2432Mi"`, `"13Gi"`), never a rounded one.
pub fn format_mib(mib: u64) -> String {
    let units = [("Pi", 1u64 << 30), ("Ti", 1 << 20), ("Gi", 1 << 10)];
    units
        .iter()
        .find(|(_, size)| mib != 0 && mib.is_multiple_of(*size))
        .map_or_else(
            || format!("{mib}Mi"),
            |(unit, size)| format!("{}{unit}", mib / size),
        )
}

/// The `ResourceQuota` resource name for `pods`, CPU and memory requests.
pub const QUOTA_PODS: &str = "pods";
/// `requests.cpu`.
pub const QUOTA_CPU: &str = "requests.cpu";
/// `requests.memory`.
pub const QUOTA_MEMORY: &str = "requests.memory";
/// The prefix of an extended resource's quota name (`requests.nvidia.com/gpu`).
pub const QUOTA_REQUESTS_PREFIX: &str = "requests.";

impl EngineTotal {
    /// The quota's `hard` entries for this total, by quota resource name, in Kubernetes'
    /// canonical forms.
    pub fn quota_entries(&self) -> BTreeMap<String, String> {
        let mut entries: BTreeMap<String, String> = [
            (QUOTA_PODS.to_owned(), self.pods.to_string()),
            (QUOTA_CPU.to_owned(), format_cpu(self.cpu_request_millis)),
            (QUOTA_MEMORY.to_owned(), format_mib(self.memory_mib)),
        ]
        .into();
        for (name, count) in &self.gpus {
            entries.insert(format!("{QUOTA_REQUESTS_PREFIX}{name}"), count.to_string());
        }
        entries
    }

    /// `max_engines` engines of this size; `None` past 64 bits.
    pub fn times(&self, engines: u64) -> Option<EngineTotal> {
        Some(EngineTotal {
            pods: self.pods.checked_mul(engines)?,
            cpu_request_millis: self.cpu_request_millis.checked_mul(engines)?,
            memory_mib: self.memory_mib.checked_mul(engines)?,
            gpus: self
                .gpus
                .iter()
                .map(|(name, count)| Some((name.clone(), count.checked_mul(engines)?)))
                .collect::<Option<_>>()?,
        })
    }

    /// Every GPU of the engine, whatever the vendor.
    pub fn gpu_count(&self) -> u64 {
        self.gpus.values().sum()
    }

    /// The engine as one line a `konoha_kyuubi_server` budget reads back with [`Self::parse`]:
    /// its quota entries, `pods=5,requests.cpu=8200m,requests.memory=11136Mi`.
    pub fn to_line(&self) -> String {
        self.quota_entries()
            .iter()
            // `pods` first, as people read a footprint: the entries are otherwise sorted.
            .map(|(k, v)| (k != QUOTA_PODS, k, v))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|(_, k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads a line made by [`Self::to_line`]; `None` for anything else.
    pub fn parse(line: &str) -> Option<EngineTotal> {
        let mut total = EngineTotal::default();
        let (mut pods, mut cpu, mut memory) = (false, false, false);
        for entry in line.split(',') {
            let (name, value) = entry.split_once('=')?;
            match name {
                QUOTA_PODS if !pods => {
                    total.pods = parse_plain_count(value)?;
                    pods = true;
                }
                QUOTA_CPU if !cpu => {
                    total.cpu_request_millis = parse_cpu_millis(value).ok()?;
                    cpu = true;
                }
                QUOTA_MEMORY if !memory => {
                    total.memory_mib = parse_quantity_mib(value)?;
                    memory = true;
                }
                _ => {
                    let resource = name.strip_prefix(QUOTA_REQUESTS_PREFIX)?;
                    if !resource.ends_with("/gpu") || total.gpus.contains_key(resource) {
                        return None;
                    }
                    total
                        .gpus
                        .insert(resource.to_owned(), parse_plain_count(value)?);
                }
            }
        }
        (pods && cpu && memory && total.to_line() == line).then_some(total)
    }
}

fn parse_plain_count(text: &str) -> Option<u64> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// A memory quantity in binary units of at least MiB (`2432Mi`, `13Gi`) as MiB.
pub fn parse_quantity_mib(text: &str) -> Option<u64> {
    let units = [
        ("Mi", 1u64),
        ("Gi", 1 << 10),
        ("Ti", 1 << 20),
        ("Pi", 1 << 30),
    ];
    units
        .iter()
        .find_map(|(unit, size)| parse_plain_count(text.strip_suffix(unit)?)?.checked_mul(*size))
}

#[cfg(test)]
mod tests;
