//! Validation of executor counts and GPUs: executor instances, dynamic allocation, shuffle
//! partitions and the `gpu` block.
//!
//! Part of [validation](mod@super::validate), which runs these checks with the others; memory
//! and CPU rules live there.

use super::profile::{Field, ProfileInput};
use super::violation::{Violation, attr, check_count, in_block};

/// Checks `shuffle_partitions`, `executor_instances` (whose minimum depends on dynamic
/// allocation) and the `dynamic_allocation` bounds and their order.
pub(crate) fn check_counts(input: &ProfileInput, out: &mut Vec<Violation>) {
    check_count(
        out,
        attr("shuffle_partitions"),
        &input.shuffle_partitions,
        1,
        "Spark needs at least one partition; recommended_shuffle_partitions suggests a value",
    );
    let block = input.dynamic_allocation.value();
    let enabled = match &input.dynamic_allocation {
        Field::Unknown => None,
        Field::Unset => Some(false),
        Field::Set(block) => block.enabled.clone().with_default(false),
    };
    // Unknown whether dynamic allocation is on: only the rule both cases share applies.
    let (min_instances, why) = match enabled {
        Some(false) => (
            1,
            "with dynamic allocation off Spark runs exactly this many executors; enable \
             dynamic_allocation to scale from zero",
        ),
        _ => (0, "an executor count cannot be negative"),
    };
    check_count(
        out,
        attr("executor_instances"),
        &input.executor_instances,
        min_instances,
        why,
    );
    let Some(block) = block else { return };
    let path = |name| in_block("dynamic_allocation", name);
    let negative = "an executor count cannot be negative";
    check_count(
        out,
        path("min_executors"),
        &block.min_executors,
        0,
        negative,
    );
    check_count(
        out,
        path("initial_executors"),
        &block.initial_executors,
        0,
        negative,
    );
    check_count(
        out,
        path("max_executors"),
        &block.max_executors,
        1,
        "Spark requires a positive maximum",
    );
    let (min, initial, max) = (
        block.min_executors.value().copied(),
        block.initial_executors.value().copied(),
        block.max_executors.value().copied(),
    );
    let mut order = |at, lower: (&str, Option<i64>), upper: (&str, Option<i64>)| {
        if let ((lower_name, Some(low)), (upper_name, Some(high))) = (lower, upper)
            && low > high
        {
            out.push(Violation::new(
                path(at),
                format!(
                    "{lower_name} {low} is more than {upper_name} {high}: dynamic allocation \
                     needs min_executors ≤ initial_executors ≤ max_executors"
                ),
            ));
        }
    };
    order(
        "initial_executors",
        ("min_executors", min),
        ("initial_executors", initial),
    );
    order(
        "initial_executors",
        ("initial_executors", initial),
        ("max_executors", max),
    );
    // With a known initial count the two checks above already imply this one.
    if initial.is_none() {
        order(
            "min_executors",
            ("min_executors", min),
            ("max_executors", max),
        );
    }
}

/// Checks the `gpu` block: an amount of at least one and a vendor domain.
pub(crate) fn check_gpu(input: &ProfileInput, out: &mut Vec<Violation>) {
    let Some(gpu) = input.gpu.value() else { return };
    if matches!(gpu.amount, Field::Unset) {
        out.push(Violation::new(
            in_block("gpu", "amount"),
            "amount is required in a gpu block: set the GPUs per executor, or remove the block",
        ));
    }
    check_count(
        out,
        in_block("gpu", "amount"),
        &gpu.amount,
        1,
        "remove the gpu block to run executors without GPUs",
    );
    if let Some(vendor) = gpu.vendor.value()
        && !is_dns_subdomain(vendor)
    {
        out.push(Violation::new(
            in_block("gpu", "vendor"),
            format!(
                "{vendor:?} is not a vendor domain: Spark asks Kubernetes for \
                 \"<vendor>/gpu\", so use the vendor's lowercase domain, e.g. \"nvidia.com\" \
                 or \"amd.com\""
            ),
        ));
    }
}

/// A Kubernetes DNS-1123 subdomain: dot-separated labels of `a-z`, `0-9` and `-`, each starting
/// and ending alphanumeric, at most 63 characters per label and 253 in all.
pub(crate) fn is_dns_subdomain(text: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            let bytes = label.as_bytes();
            matches!((bytes.first(), bytes.last()), (Some(&f), Some(&l)) if alnum(f) && alnum(l))
                && bytes.len() <= 63
                && bytes.iter().all(|&b| alnum(b) || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spark::profile::{DynamicAllocationInput, GpuInput};
    use crate::spark::validate::validate;
    use crate::spark::violation::PathSegment;

    fn base() -> ProfileInput {
        ProfileInput {
            mount: Field::Set("secret".into()),
            name: Field::Set("etl".into()),
            ..ProfileInput::default()
        }
    }

    fn violations(input: ProfileInput) -> Vec<String> {
        validate(&input).iter().map(ToString::to_string).collect()
    }

    fn da(
        enabled: Field<bool>,
        min: Field<i64>,
        initial: Field<i64>,
        max: Field<i64>,
    ) -> Field<DynamicAllocationInput> {
        Field::Set(DynamicAllocationInput {
            enabled,
            min_executors: min,
            initial_executors: initial,
            max_executors: max,
        })
    }

    #[test]
    fn executor_instances_minimum_depends_on_dynamic_allocation() {
        use Field::{Set, Unknown, Unset};
        let off = "executor_instances: 0 is too small: it must be at least 1 (with dynamic allocation off Spark runs exactly this many executors; enable dynamic_allocation to scale from zero)";
        let negative = "executor_instances: -1 is too small: it must be at least 0 (an executor count cannot be negative)";
        let cases: Vec<(Field<DynamicAllocationInput>, i64, Vec<&str>)> = vec![
            (Unset, 1, vec![]),
            (Unset, 0, vec![off]),
            (da(Set(false), Unset, Unset, Unset), 0, vec![off]),
            (da(Unset, Unset, Unset, Unset), 0, vec![off]),
            (da(Set(true), Unset, Unset, Unset), 0, vec![]),
            (da(Set(true), Unset, Unset, Unset), -1, vec![negative]),
            // Unknown whether it is on: only the rule both cases share.
            (da(Unknown, Unset, Unset, Unset), 0, vec![]),
            (da(Unknown, Unset, Unset, Unset), -1, vec![negative]),
            (Unknown, 0, vec![]),
            (Unknown, -1, vec![negative]),
        ];
        for (allocation, instances, expected) in cases {
            let input = ProfileInput {
                executor_instances: Set(instances),
                dynamic_allocation: allocation.clone(),
                ..base()
            };
            assert_eq!(violations(input), expected, "{allocation:?} {instances}");
        }
    }

    #[test]
    fn dynamic_allocation_bounds_are_ordered() {
        use Field::{Set, Unknown, Unset};
        let on = || Set(true);
        let cases: Vec<(Field<DynamicAllocationInput>, Vec<&str>)> = vec![
            (da(on(), Set(0), Set(0), Set(1)), vec![]),
            (da(on(), Set(1), Set(2), Set(10)), vec![]),
            (da(on(), Set(2), Set(2), Set(2)), vec![]),
            (
                da(on(), Set(5), Unknown, Set(1)),
                vec![
                    "dynamic_allocation[0].min_executors: min_executors 5 is more than max_executors 1: dynamic allocation needs min_executors ≤ initial_executors ≤ max_executors",
                ],
            ),
            (da(on(), Unknown, Set(9), Unknown), vec![]),
            (
                da(on(), Set(3), Set(2), Set(10)),
                vec![
                    "dynamic_allocation[0].initial_executors: min_executors 3 is more than initial_executors 2: dynamic allocation needs min_executors ≤ initial_executors ≤ max_executors",
                ],
            ),
            (
                da(on(), Unset, Set(11), Set(10)),
                vec![
                    "dynamic_allocation[0].initial_executors: initial_executors 11 is more than max_executors 10: dynamic allocation needs min_executors ≤ initial_executors ≤ max_executors",
                ],
            ),
            (
                da(on(), Set(4), Unset, Set(3)),
                vec![
                    "dynamic_allocation[0].min_executors: min_executors 4 is more than max_executors 3: dynamic allocation needs min_executors ≤ initial_executors ≤ max_executors",
                ],
            ),
            (
                da(on(), Set(-1), Unset, Unset),
                vec![
                    "dynamic_allocation[0].min_executors: -1 is too small: it must be at least 0 (an executor count cannot be negative)",
                ],
            ),
            (
                da(on(), Unset, Set(-2), Unset),
                vec![
                    "dynamic_allocation[0].initial_executors: -2 is too small: it must be at least 0 (an executor count cannot be negative)",
                ],
            ),
            (
                da(on(), Unset, Unset, Set(0)),
                vec![
                    "dynamic_allocation[0].max_executors: 0 is too small: it must be at least 1 (Spark requires a positive maximum)",
                ],
            ),
            // The bounds are checked even while disabled: they are still the user's settings.
            (
                da(Set(false), Set(3), Unset, Set(2)),
                vec![
                    "dynamic_allocation[0].min_executors: min_executors 3 is more than max_executors 2: dynamic allocation needs min_executors ≤ initial_executors ≤ max_executors",
                ],
            ),
        ];
        for (allocation, expected) in cases {
            let input = ProfileInput {
                dynamic_allocation: allocation.clone(),
                ..base()
            };
            assert_eq!(violations(input), expected, "{allocation:?}");
        }
        let input = ProfileInput {
            dynamic_allocation: da(on(), Set(-1), Unset, Unset),
            ..base()
        };
        assert_eq!(
            validate(&input)[0].path,
            vec![
                PathSegment::Attr("dynamic_allocation"),
                PathSegment::Index(0),
                PathSegment::Attr("min_executors")
            ]
        );
    }

    #[test]
    fn shuffle_partitions_are_positive() {
        let with = |n| {
            violations(ProfileInput {
                shuffle_partitions: Field::Set(n),
                ..base()
            })
        };
        assert_eq!(with(1), Vec::<String>::new());
        assert_eq!(
            with(0),
            vec![
                "shuffle_partitions: 0 is too small: it must be at least 1 (Spark needs at least one partition; recommended_shuffle_partitions suggests a value)"
            ]
        );
    }

    #[test]
    fn gpu_needs_an_amount_and_a_vendor_domain() {
        use Field::{Set, Unknown, Unset};
        let gpu = |amount: Field<i64>, vendor: Field<&str>| ProfileInput {
            gpu: Set(GpuInput {
                amount,
                vendor: vendor.map(str::to_owned),
            }),
            ..base()
        };
        let fine = [
            gpu(Set(1), Unset),
            gpu(Set(2), Set("amd.com")),
            gpu(Set(1), Set("gpu.intel.com")),
            gpu(Unknown, Unknown),
        ];
        for input in fine {
            assert_eq!(
                violations(input.clone()),
                Vec::<String>::new(),
                "{:?}",
                input.gpu
            );
        }
        let vendor = |v: &str| {
            format!(
                "gpu[0].vendor: {v:?} is not a vendor domain: Spark asks Kubernetes for \"<vendor>/gpu\", so use the vendor's lowercase domain, e.g. \"nvidia.com\" or \"amd.com\""
            )
        };
        let cases: Vec<(ProfileInput, Vec<String>)> = vec![
            (gpu(Set(0), Unset), vec!["gpu[0].amount: 0 is too small: it must be at least 1 (remove the gpu block to run executors without GPUs)".into()]),
            (gpu(Unset, Unset), vec!["gpu[0].amount: amount is required in a gpu block: set the GPUs per executor, or remove the block".into()]),
            (gpu(Set(1), Set("")), vec![vendor("")]),
            (gpu(Set(1), Set("Nvidia.com")), vec![vendor("Nvidia.com")]),
            (gpu(Set(1), Set("nvidia.com/gpu")), vec![vendor("nvidia.com/gpu")]),
            (gpu(Set(1), Set("-nvidia.com")), vec![vendor("-nvidia.com")]),
            (gpu(Set(1), Set("nvidia..com")), vec![vendor("nvidia..com")]),
        ];
        for (input, expected) in cases {
            assert_eq!(violations(input.clone()), expected, "{:?}", input.gpu);
        }
    }
}
