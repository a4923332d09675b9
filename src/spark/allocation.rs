//! Validation of executor counts and GPUs: executor instances, dynamic allocation, shuffle
//! partitions and the `gpu` block.
//!
//! Part of [validation](mod@super::validate), which runs these checks with the others; memory
//! and CPU rules live there.

use super::keys::value_problem;
use super::profile::{Decimal, Field, GpuInput, ProfileInput};
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

/// Checks the `gpu` block: an amount of at least one, a vendor domain, an absolute discovery
/// script and a task amount that splits the executor's GPUs into whole tasks.
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
    if let Some(script) = gpu.discovery_script.value()
        && let Some(problem) = discovery_script_problem(script)
    {
        out.push(Violation::new(in_block("gpu", "discovery_script"), problem));
    }
    if let Some(task_amount) = gpu.task_amount.value()
        && let Some(problem) = task_amount_problem(gpu, task_amount)
    {
        out.push(Violation::new(in_block("gpu", "task_amount"), problem));
    }
}

/// What is wrong with a discovery script path. The executor runs it directly (no shell), in its
/// own container, so a relative path would depend on the working directory there.
fn discovery_script_problem(script: &str) -> Option<String> {
    if !script.starts_with('/') {
        return Some(format!(
            "{script:?} is not an absolute path: the executor runs the script from its own \
             container's file system; the Apache Spark image ships \
             \"/opt/spark/examples/src/main/scripts/getGpusResources.sh\""
        ));
    }
    if script.ends_with('/') {
        return Some(format!(
            "{script:?} names a directory: give the path of the script file"
        ));
    }
    value_problem(script).map(|problem| format!("the path {script:?} {problem}"))
}

/// What is wrong with `task_amount` for this block.
///
/// Spark 3.5 takes a task amount that is a whole number or a fraction of at most 0.5, and floors
/// `1 / amount` to count the tasks that share one GPU: "Fractional amounts must be less than or
/// equal to 0.5 … fractional amounts are floored in order to assign resource slots"
/// (`spark.task.resource.{resourceName}.amount` in
/// https://spark.apache.org/docs/3.5.1/configuration.html). So that nothing is floored, a
/// fraction must be exactly 1/n, which also keeps it at most 0.5; a whole amount must divide the
/// executor's GPUs, or the rest would sit idle.
fn task_amount_problem(gpu: &GpuInput, task_amount: &Decimal) -> Option<String> {
    let hint = "a task takes whole GPUs (a divisor of amount) or an exact share of one \
                (1/n: 0.5, 0.25, 0.2, 0.125, 0.1, …)";
    if !task_amount.is_positive() {
        return Some(format!("{task_amount} is not more than 0: {hint}"));
    }
    if let Some(whole) = task_amount.whole() {
        return match gpu.amount.value() {
            Some(&amount) if amount >= 1 && task_amount.quotient_of(amount).is_none() => Some(
                format!("{whole} GPUs per task do not divide amount {amount}: {hint}"),
            ),
            _ => None,
        };
    }
    if task_amount.exceeds_one() {
        return Some(format!(
            "{task_amount} is a fraction above 1, which Spark refuses: {hint}"
        ));
    }
    let Some(tasks_per_gpu) = task_amount.reciprocal_whole() else {
        return Some(format!(
            "1/{task_amount} is not a whole number of tasks per GPU, and Spark would round it \
             down: {hint}"
        ));
    };
    // Spark divides in doubles, and for some exact shares (1/3125 = 0.00032) the quotient lands
    // just below n, which the floor turns into n - 1.
    let spark_tasks_per_gpu = (1.0 / task_amount.to_f64()).floor();
    if spark_tasks_per_gpu != tasks_per_gpu as f64 {
        return Some(format!(
            "Spark computes 1/{task_amount} in floating point and gets \
             {spark_tasks_per_gpu} tasks per GPU, not {tasks_per_gpu}: {hint}"
        ));
    }
    None
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
                ..GpuInput::default()
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

    fn gpu_with(amount: Field<i64>, task_amount: &str, script: Field<&str>) -> ProfileInput {
        let Some(task_amount) = Decimal::parse(task_amount) else {
            panic!("{task_amount:?} is not a decimal")
        };
        ProfileInput {
            gpu: Field::Set(GpuInput {
                amount,
                task_amount: Field::Set(task_amount),
                discovery_script: script.map(str::to_owned),
                ..GpuInput::default()
            }),
            ..base()
        }
    }

    #[test]
    fn task_amount_splits_the_gpus_into_whole_tasks() {
        use Field::{Set, Unknown, Unset};
        let fine = [
            (Set(1), "1"),
            (Set(1), "0.5"),
            (Set(1), "0.25"),
            (Set(1), "0.2"),
            (Set(1), "0.125"),
            (Set(1), "0.1"),
            (Set(1), "0.0016"),
            (Set(3), "0.5"),
            (Set(4), "2"),
            (Set(4), "4"),
            (Set(6), "3"),
            // Until amount is known only the rules of task_amount alone apply.
            (Unknown, "3"),
        ];
        for (amount, task) in fine {
            let input = gpu_with(amount.clone(), task, Unset);
            assert_eq!(
                violations(input),
                Vec::<String>::new(),
                "{amount:?} / {task}"
            );
        }
        let hint = "a task takes whole GPUs (a divisor of amount) or an exact share of one (1/n: 0.5, 0.25, 0.2, 0.125, 0.1, …)";
        let refused = [
            (
                1,
                "0.3",
                format!(
                    "1/0.3 is not a whole number of tasks per GPU, and Spark would round it down: {hint}"
                ),
            ),
            (
                1,
                "0.75",
                format!(
                    "1/0.75 is not a whole number of tasks per GPU, and Spark would round it down: {hint}"
                ),
            ),
            (
                1,
                "0.3333333333333333",
                format!(
                    "1/0.3333333333333333 is not a whole number of tasks per GPU, and Spark would round it down: {hint}"
                ),
            ),
            (
                3,
                "1.5",
                format!("1.5 is a fraction above 1, which Spark refuses: {hint}"),
            ),
            (
                1,
                "1.5",
                format!("1.5 is a fraction above 1, which Spark refuses: {hint}"),
            ),
            (
                1,
                "0.00032",
                format!(
                    "Spark computes 1/0.00032 in floating point and gets 3124 tasks per GPU, not 3125: {hint}"
                ),
            ),
            (1, "0", format!("0 is not more than 0: {hint}")),
            (1, "-1", format!("-1 is not more than 0: {hint}")),
            (1, "-0.5", format!("-0.5 is not more than 0: {hint}")),
            (
                3,
                "2",
                format!("2 GPUs per task do not divide amount 3: {hint}"),
            ),
            (
                1,
                "2",
                format!("2 GPUs per task do not divide amount 1: {hint}"),
            ),
        ];
        for (amount, task, message) in refused {
            let input = gpu_with(Set(amount), task, Unset);
            assert_eq!(
                violations(input),
                vec![format!("gpu[0].task_amount: {message}")],
                "{amount} / {task}"
            );
        }
        let input = gpu_with(Set(1), "0.3", Unset);
        assert_eq!(
            validate(&input)[0].path,
            vec![
                PathSegment::Attr("gpu"),
                PathSegment::Index(0),
                PathSegment::Attr("task_amount")
            ]
        );
    }

    #[test]
    fn discovery_script_is_an_absolute_file_path() {
        use Field::{Set, Unknown};
        for fine in [
            "/opt/spark/examples/src/main/scripts/getGpusResources.sh",
            "/usr/local/bin/find gpus.sh",
            "/x",
        ] {
            let input = gpu_with(Set(1), "1", Set(fine));
            assert_eq!(violations(input), Vec::<String>::new(), "{fine:?}");
        }
        assert_eq!(
            violations(gpu_with(Set(1), "1", Unknown)),
            Vec::<String>::new()
        );
        let relative = |p: &str| {
            format!(
                "gpu[0].discovery_script: {p:?} is not an absolute path: the executor runs the script from its own container's file system; the Apache Spark image ships \"/opt/spark/examples/src/main/scripts/getGpusResources.sh\""
            )
        };
        let refused = [
            ("getGpusResources.sh", relative("getGpusResources.sh")),
            ("./getGpusResources.sh", relative("./getGpusResources.sh")),
            ("", relative("")),
            (" /opt/x.sh", relative(" /opt/x.sh")),
            ("/opt/scripts/", "gpu[0].discovery_script: \"/opt/scripts/\" names a directory: give the path of the script file".to_owned()),
            ("/opt/x.sh\n", "gpu[0].discovery_script: the path \"/opt/x.sh\\n\" is not a single printable line: line breaks and control characters would break the spark.env file".to_owned()),
            ("/opt/x.sh ", "gpu[0].discovery_script: the path \"/opt/x.sh \" has leading or trailing whitespace, which Spark trims: remove it".to_owned()),
            ("/opt\\x.sh", "gpu[0].discovery_script: the path \"/opt\\\\x.sh\" contains '\\', which the Java properties reader takes as an escape: write the value without it".to_owned()),
        ];
        for (script, message) in refused {
            let input = gpu_with(Set(1), "1", Set(script));
            assert_eq!(violations(input), vec![message], "{script:?}");
        }
    }
}
