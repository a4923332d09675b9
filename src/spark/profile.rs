//! The Spark profile model: what a user may write ([`ProfileInput`]), Konoha's defaults, and the
//! concrete [`Profile`] that rendering works from.
//!
//! Rules live in [validation](mod@super::validate); turning a [`Profile`] into Spark properties
//! lives in [`super::render`]. Where the profile is stored (mount, name) and Vault metadata are
//! inputs here but not part of [`Profile`]: they do not change the rendered properties.

use std::collections::BTreeMap;

pub use super::decimal::Decimal;
pub use crate::placement::{Toleration, TolerationInput};
use crate::placement::{resolve_node_selector, resolve_tolerations};
pub use crate::rules::Field;

/// Executors when dynamic allocation is off.
pub const DEFAULT_EXECUTOR_INSTANCES: i64 = 4;
/// Heap per executor.
pub const DEFAULT_EXECUTOR_MEMORY: &str = "2g";
/// Task slots per executor.
pub const DEFAULT_EXECUTOR_CORES: i64 = 2;
/// CPU requested for each executor pod: a little under the cores, so executors fit on nodes
/// whose allocatable CPU is a bit below a whole number.
pub const DEFAULT_EXECUTOR_REQUEST_CORES: &str = "1.8";
/// Partitions for joins and aggregations (Spark's own default too).
pub const DEFAULT_SHUFFLE_PARTITIONS: i64 = 200;
/// Dynamic allocation is opt-in.
pub const DEFAULT_DYNAMIC_ALLOCATION_ENABLED: bool = false;
/// The GPU vendor domain when a `gpu` block names none (`nvidia.com/gpu` on Kubernetes).
pub const DEFAULT_GPU_VENDOR: &str = "nvidia.com";
/// The GPU discovery script when a `gpu` block names none: the example script the Apache Spark
/// image ships, which asks `nvidia-smi` for the GPUs the container sees.
pub const DEFAULT_GPU_DISCOVERY_SCRIPT: &str =
    "/opt/spark/examples/src/main/scripts/getGpusResources.sh";
/// GPUs each task takes when a `gpu` block says nothing: one whole GPU.
pub const DEFAULT_GPU_TASK_AMOUNT: Decimal = Decimal::ONE;

/// The `dynamic_allocation` block as written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DynamicAllocationInput {
    /// `spark.dynamicAllocation.enabled`; default false.
    pub enabled: Field<bool>,
    /// `spark.dynamicAllocation.minExecutors`.
    pub min_executors: Field<i64>,
    /// `spark.dynamicAllocation.initialExecutors`.
    pub initial_executors: Field<i64>,
    /// `spark.dynamicAllocation.maxExecutors`.
    pub max_executors: Field<i64>,
}

/// The `gpu` block as written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GpuInput {
    /// GPUs per executor; required in the block.
    pub amount: Field<i64>,
    /// Vendor domain; default [`DEFAULT_GPU_VENDOR`].
    pub vendor: Field<String>,
    /// The script an executor runs to find its GPUs; default [`DEFAULT_GPU_DISCOVERY_SCRIPT`].
    pub discovery_script: Field<String>,
    /// GPUs per task, whole or a share of one; default [`DEFAULT_GPU_TASK_AMOUNT`].
    pub task_amount: Field<Decimal>,
}

/// Everything a user can write in a `konoha_spark_profile`; any part may be unknown at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileInput {
    /// KV v2 mount.
    pub mount: Field<String>,
    /// Secret path under the mount.
    pub name: Field<String>,
    /// Executors with dynamic allocation off.
    pub executor_instances: Field<i64>,
    /// Heap per executor, a Spark memory size.
    pub executor_memory: Field<String>,
    /// Non-heap memory per executor, a Spark memory size.
    pub executor_memory_overhead: Field<String>,
    /// Task slots per executor.
    pub executor_cores: Field<i64>,
    /// CPU request of an executor pod, a Kubernetes quantity.
    pub executor_request_cores: Field<String>,
    /// CPU limit of an executor pod, a Kubernetes quantity.
    pub executor_limit_cores: Field<String>,
    /// `spark.sql.shuffle.partitions`.
    pub shuffle_partitions: Field<i64>,
    /// The `dynamic_allocation` block.
    pub dynamic_allocation: Field<DynamicAllocationInput>,
    /// `spark.speculation`.
    pub speculation: Field<bool>,
    /// The `gpu` block.
    pub gpu: Field<GpuInput>,
    /// Further Spark properties, written verbatim.
    pub extra_conf: Field<BTreeMap<String, Field<String>>>,
    /// Node labels executors need.
    pub executor_node_selector: Field<BTreeMap<String, Field<String>>>,
    /// Taints executors tolerate.
    pub executor_tolerations: Field<Vec<TolerationInput>>,
    /// Vault `custom_metadata` of the secret.
    pub custom_metadata: Field<BTreeMap<String, Field<String>>>,
    /// Vault `max_versions` of the secret.
    pub max_versions: Field<i64>,
}

/// Dynamic allocation with its default applied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DynamicAllocation {
    /// Whether Spark scales executors with load.
    pub enabled: bool,
    /// Lower bound, when written.
    pub min_executors: Option<i64>,
    /// Executors at start, when written.
    pub initial_executors: Option<i64>,
    /// Upper bound, when written.
    pub max_executors: Option<i64>,
}

/// GPUs per executor with the vendor default applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gpu {
    /// GPUs per executor.
    pub amount: i64,
    /// Vendor domain (`nvidia.com`).
    pub vendor: String,
    /// The executor's GPU discovery script, an absolute path in the executor image.
    pub discovery_script: String,
    /// GPUs per task.
    pub task_amount: Decimal,
}

/// A profile's executor settings, fully known, with Konoha's defaults applied. Strings are kept as
/// written (`"2G"` stays `"2G"`): the stored data is what the user wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Executors with dynamic allocation off.
    pub executor_instances: i64,
    /// Heap per executor.
    pub executor_memory: String,
    /// Non-heap memory per executor, when written.
    pub executor_memory_overhead: Option<String>,
    /// Task slots per executor.
    pub executor_cores: i64,
    /// CPU request of an executor pod.
    pub executor_request_cores: String,
    /// CPU limit of an executor pod, when written.
    pub executor_limit_cores: Option<String>,
    /// `spark.sql.shuffle.partitions`.
    pub shuffle_partitions: i64,
    /// Dynamic allocation.
    pub dynamic_allocation: DynamicAllocation,
    /// `spark.speculation`, when written.
    pub speculation: Option<bool>,
    /// GPUs, when the block is given.
    pub gpu: Option<Gpu>,
    /// Further properties.
    pub extra_conf: BTreeMap<String, String>,
    /// Node labels executors need (empty: any node).
    pub executor_node_selector: BTreeMap<String, String>,
    /// Taints executors tolerate (empty: none).
    pub executor_tolerations: Vec<Toleration>,
}

/// The concrete profile for `input`, or `None` when a value rendering needs is unknown (or is a
/// required value left null, which [`validate`](super::validate::validate) reports). Call it on
/// validated input: it applies defaults but checks nothing. Mount, name and Vault metadata are
/// not consulted, so their being unknown does not stop rendering.
pub fn resolve(input: &ProfileInput) -> Option<Profile> {
    Some(Profile {
        executor_instances: input
            .executor_instances
            .clone()
            .with_default(DEFAULT_EXECUTOR_INSTANCES)?,
        executor_memory: input
            .executor_memory
            .clone()
            .with_default(DEFAULT_EXECUTOR_MEMORY.to_owned())?,
        executor_memory_overhead: input.executor_memory_overhead.known()?.cloned(),
        executor_cores: input
            .executor_cores
            .clone()
            .with_default(DEFAULT_EXECUTOR_CORES)?,
        executor_request_cores: input
            .executor_request_cores
            .clone()
            .with_default(DEFAULT_EXECUTOR_REQUEST_CORES.to_owned())?,
        executor_limit_cores: input.executor_limit_cores.known()?.cloned(),
        shuffle_partitions: input
            .shuffle_partitions
            .clone()
            .with_default(DEFAULT_SHUFFLE_PARTITIONS)?,
        dynamic_allocation: match input.dynamic_allocation.known()? {
            None => DynamicAllocation::default(),
            Some(block) => DynamicAllocation {
                enabled: block
                    .enabled
                    .clone()
                    .with_default(DEFAULT_DYNAMIC_ALLOCATION_ENABLED)?,
                min_executors: block.min_executors.known()?.copied(),
                initial_executors: block.initial_executors.known()?.copied(),
                max_executors: block.max_executors.known()?.copied(),
            },
        },
        speculation: input.speculation.known()?.copied(),
        gpu: match input.gpu.known()? {
            None => None,
            Some(block) => Some(Gpu {
                amount: *block.amount.value()?,
                vendor: block
                    .vendor
                    .clone()
                    .with_default(DEFAULT_GPU_VENDOR.to_owned())?,
                discovery_script: block
                    .discovery_script
                    .clone()
                    .with_default(DEFAULT_GPU_DISCOVERY_SCRIPT.to_owned())?,
                task_amount: block
                    .task_amount
                    .clone()
                    .with_default(DEFAULT_GPU_TASK_AMOUNT)?,
            }),
        },
        extra_conf: match input.extra_conf.known()? {
            None => BTreeMap::new(),
            Some(entries) => entries
                .iter()
                .map(|(key, value)| Some((key.clone(), value.value()?.clone())))
                .collect::<Option<_>>()?,
        },
        executor_node_selector: resolve_node_selector(&input.executor_node_selector)?,
        executor_tolerations: resolve_tolerations(&input.executor_tolerations)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ProfileInput {
        ProfileInput {
            mount: Field::Set("secret".into()),
            name: Field::Set("etl".into()),
            ..ProfileInput::default()
        }
    }

    #[test]
    fn an_empty_profile_resolves_to_the_defaults() {
        let expected = Profile {
            executor_instances: 4,
            executor_memory: "2g".into(),
            executor_memory_overhead: None,
            executor_cores: 2,
            executor_request_cores: "1.8".into(),
            executor_limit_cores: None,
            shuffle_partitions: 200,
            dynamic_allocation: DynamicAllocation::default(),
            speculation: None,
            gpu: None,
            extra_conf: BTreeMap::new(),
            executor_node_selector: BTreeMap::new(),
            executor_tolerations: Vec::new(),
        };
        assert_eq!(resolve(&base()), Some(expected));
    }

    #[test]
    fn block_defaults_apply_inside_given_blocks() {
        let input = ProfileInput {
            dynamic_allocation: Field::Set(DynamicAllocationInput {
                max_executors: Field::Set(10),
                ..DynamicAllocationInput::default()
            }),
            gpu: Field::Set(GpuInput {
                amount: Field::Set(1),
                ..GpuInput::default()
            }),
            ..base()
        };
        let Some(profile) = resolve(&input) else {
            panic!("does not resolve")
        };
        assert_eq!(
            profile.dynamic_allocation,
            DynamicAllocation {
                enabled: false,
                max_executors: Some(10),
                ..DynamicAllocation::default()
            }
        );
        assert_eq!(
            profile.gpu,
            Some(Gpu {
                amount: 1,
                vendor: "nvidia.com".into(),
                discovery_script: "/opt/spark/examples/src/main/scripts/getGpusResources.sh".into(),
                task_amount: Decimal::ONE,
            })
        );
    }

    #[test]
    fn any_unknown_rendering_input_gives_none() {
        let unknown_value: BTreeMap<_, _> = [("spark.a".to_owned(), Field::Unknown)].into();
        let cases: Vec<(&str, ProfileInput)> = vec![
            (
                "executor_memory",
                ProfileInput {
                    executor_memory: Field::Unknown,
                    ..base()
                },
            ),
            (
                "executor_limit_cores",
                ProfileInput {
                    executor_limit_cores: Field::Unknown,
                    ..base()
                },
            ),
            (
                "dynamic_allocation",
                ProfileInput {
                    dynamic_allocation: Field::Unknown,
                    ..base()
                },
            ),
            (
                "dynamic_allocation.enabled",
                ProfileInput {
                    dynamic_allocation: Field::Set(DynamicAllocationInput {
                        enabled: Field::Unknown,
                        ..DynamicAllocationInput::default()
                    }),
                    ..base()
                },
            ),
            (
                "speculation",
                ProfileInput {
                    speculation: Field::Unknown,
                    ..base()
                },
            ),
            (
                "gpu.amount unset",
                ProfileInput {
                    gpu: Field::Set(GpuInput::default()),
                    ..base()
                },
            ),
            (
                "gpu.task_amount",
                ProfileInput {
                    gpu: Field::Set(GpuInput {
                        amount: Field::Set(1),
                        task_amount: Field::Unknown,
                        ..GpuInput::default()
                    }),
                    ..base()
                },
            ),
            (
                "gpu.discovery_script",
                ProfileInput {
                    gpu: Field::Set(GpuInput {
                        amount: Field::Set(1),
                        discovery_script: Field::Unknown,
                        ..GpuInput::default()
                    }),
                    ..base()
                },
            ),
            (
                "extra_conf",
                ProfileInput {
                    extra_conf: Field::Unknown,
                    ..base()
                },
            ),
            (
                "extra_conf value",
                ProfileInput {
                    extra_conf: Field::Set(unknown_value),
                    ..base()
                },
            ),
        ];
        for (what, input) in cases {
            assert_eq!(resolve(&input), None, "{what}");
        }
    }

    #[test]
    fn storage_and_metadata_do_not_block_rendering() {
        let input = ProfileInput {
            mount: Field::Unknown,
            name: Field::Unknown,
            custom_metadata: Field::Unknown,
            max_versions: Field::Unknown,
            ..ProfileInput::default()
        };
        assert!(resolve(&input).is_some());
    }
}
