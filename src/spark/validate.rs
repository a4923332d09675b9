//! Validation of a [`ProfileInput`]: every rule, each reported at the attribute it concerns.
//!
//! A value not yet known skips only the checks it feeds. Memory and CPU rules are here; counts
//! and GPUs live in [`super::allocation`], `extra_conf` rules in [`super::keys`], storage
//! location and Vault metadata rules in [`super::storage`]. Turning violations into Terraform
//! diagnostics is the resource's job.

use super::allocation::{check_counts, check_gpu};
use super::footprint;
use super::keys::check_extra_conf;
use super::memory::{MIN_EXECUTOR_MEMORY_BYTES, format_bytes, parse_memory};
use super::profile::{DEFAULT_EXECUTOR_REQUEST_CORES, Field, ProfileInput};
use super::quantity::{format_millis, parse_cpu_millis};
use super::storage::{check_metadata, check_storage};
use super::violation::{Violation, attr, check_count};
use crate::placement::{check_node_selector, check_tolerations};

/// Checks every rule and returns all violations, in attribute order; empty means valid.
pub fn validate(input: &ProfileInput) -> Vec<Violation> {
    let mut out = Vec::new();
    check_storage(input, &mut out);
    check_memory(input, &mut out);
    check_cpu(input, &mut out);
    check_counts(input, &mut out);
    check_gpu(input, &mut out);
    check_extra_conf(&input.extra_conf, &mut out);
    check_pod_sizing_conf(input, &mut out);
    check_node_selector(
        "executor_node_selector",
        &input.executor_node_selector,
        &mut out,
    );
    check_tolerations(
        "executor_tolerations",
        &input.executor_tolerations,
        &mut out,
    );
    check_metadata(input, &mut out);
    out
}

const MIB: u64 = 1024 * 1024;

/// An `extra_conf` property that sizes a pod (`spark.driver.memory`, an overhead factor, …) must
/// mean one exact size to Spark, or the footprint would not be the pod's.
fn check_pod_sizing_conf(input: &ProfileInput, out: &mut Vec<Violation>) {
    let Some(entries) = input.extra_conf.value() else {
        return;
    };
    for (key, value) in entries {
        let Some(text) = value.value() else { continue };
        if let Some(problem) = footprint::value_problem(key, text) {
            out.push(Violation::new(
                vec![
                    super::PathSegment::Attr("extra_conf"),
                    super::PathSegment::Key(key.clone()),
                ],
                format!("the value {text:?} of {key:?} {problem}"),
            ));
        }
    }
}

fn check_memory(input: &ProfileInput, out: &mut Vec<Violation>) {
    let sizes = [
        (
            "executor_memory",
            &input.executor_memory,
            MIN_EXECUTOR_MEMORY_BYTES,
        ),
        (
            "executor_memory_overhead",
            &input.executor_memory_overhead,
            1,
        ),
    ];
    for (name, field, min) in sizes {
        let Some(text) = field.value() else { continue };
        let message = match parse_memory(text) {
            Err(error) => format!(
                "{text:?} is not a Spark memory size: {error}; use a whole number with a unit \
                 (b, k, m, g, t, p), e.g. {:?}",
                error.suggestion()
            ),
            Ok(0) => format!("{text:?} is zero: memory must be more than zero"),
            // Only the executor heap has a minimum above one byte.
            Ok(bytes) if bytes < min => format!(
                "{text:?} is below {:?}, the smallest executor heap Spark accepts (it reserves \
                 300 MiB and requires 1.5 times that); use at least {:?}",
                format_bytes(min),
                format_bytes(min)
            ),
            // Spark reads these as whole MiB and drops the rest: the pod would be smaller.
            Ok(bytes) if !bytes.is_multiple_of(MIB) => {
                let below = bytes / MIB;
                let suggestion = match below {
                    0 => "\"1m\"".to_owned(),
                    _ => format!("\"{below}m\" or \"{}m\"", below + 1),
                };
                format!(
                    "{text:?} is not a whole number of MiB: Spark reads it as {below} MiB and \
                     drops the rest; write {suggestion}"
                )
            }
            Ok(_) => continue,
        };
        out.push(Violation::new(attr(name), message));
    }
}

fn check_cpu(input: &ProfileInput, out: &mut Vec<Violation>) {
    check_count(
        out,
        attr("executor_cores"),
        &input.executor_cores,
        1,
        "each executor needs a task slot; for a fractional CPU request use executor_request_cores",
    );
    let request = cpu_millis(out, "executor_request_cores", &input.executor_request_cores);
    let limit = cpu_millis(out, "executor_limit_cores", &input.executor_limit_cores);
    // An unset request means the default; the comparison needs both sides known and valid.
    let request = match input.executor_request_cores {
        Field::Unset => parse_cpu_millis(DEFAULT_EXECUTOR_REQUEST_CORES)
            .ok()
            .map(|m| (m, DEFAULT_EXECUTOR_REQUEST_CORES)),
        _ => request,
    };
    if let (Some((request, request_text)), Some((limit, limit_text))) = (request, limit)
        && request > limit
    {
        // Point at what the user wrote: the request, or the limit when the request is default.
        let (at, request_words) = if input.executor_request_cores.is_set() {
            ("executor_request_cores", "the CPU request")
        } else {
            ("executor_limit_cores", "the default CPU request")
        };
        out.push(Violation::new(
            attr(at),
            format!(
                "{request_words} {request_text:?} ({}) is above the CPU limit {limit_text:?} \
                 ({}): Kubernetes would reject every executor pod; make executor_request_cores \
                 at most executor_limit_cores",
                format_millis(request),
                format_millis(limit)
            ),
        ));
    }
}

/// Parses a written CPU quantity, reporting it when invalid or zero; the millicores when valid.
fn cpu_millis<'a>(
    out: &mut Vec<Violation>,
    name: &'static str,
    field: &'a Field<String>,
) -> Option<(u64, &'a str)> {
    let text = field.value()?;
    let message = match parse_cpu_millis(text) {
        Ok(0) => format!("{text:?} is zero: an executor needs some CPU, e.g. \"500m\" or \"1\""),
        Ok(millis) => return Some((millis, text)),
        Err(error) => format!(
            "{text:?} is not a CPU quantity: {error}; write CPUs (\"2\", \"1.5\") or \
             millicores (\"500m\")"
        ),
    };
    out.push(Violation::new(attr(name), message));
    None
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn set(text: &str) -> Field<String> {
        Field::Set(text.to_owned())
    }

    #[test]
    fn defaults_and_unknowns_are_valid() {
        assert_eq!(violations(base()), Vec::<String>::new());
        let unknown = ProfileInput {
            mount: Field::Unknown,
            name: Field::Unknown,
            executor_instances: Field::Unknown,
            executor_memory: Field::Unknown,
            executor_memory_overhead: Field::Unknown,
            executor_cores: Field::Unknown,
            executor_request_cores: Field::Unknown,
            executor_limit_cores: Field::Unknown,
            shuffle_partitions: Field::Unknown,
            dynamic_allocation: Field::Unknown,
            speculation: Field::Unknown,
            gpu: Field::Unknown,
            extra_conf: Field::Unknown,
            executor_node_selector: Field::Unknown,
            executor_tolerations: Field::Unknown,
            custom_metadata: Field::Unknown,
            max_versions: Field::Unknown,
        };
        assert_eq!(violations(unknown), Vec::<String>::new());
    }

    #[test]
    fn executor_memory_follows_spark_grammar_and_minimum() {
        let with = |text: &str| {
            violations(ProfileInput {
                executor_memory: set(text),
                ..base()
            })
        };
        for ok in [
            "2g",
            "512m",
            "460800k",
            "2G",
            "4096mb",
            "450m",
            "471859200b",
        ] {
            assert_eq!(with(ok), Vec::<String>::new(), "{ok}");
        }
        let cases: &[(&str, &str)] = &[
            (
                "2.5g",
                "executor_memory: \"2.5g\" is not a Spark memory size: Spark does not accept fractions; use a whole number with a unit (b, k, m, g, t, p), e.g. \"2560m\"",
            ),
            (
                "2",
                "executor_memory: \"2\" is not a Spark memory size: it has no unit, and Spark would read a bare number as MiB; use a whole number with a unit (b, k, m, g, t, p), e.g. \"2m\"",
            ),
            (
                "g",
                "executor_memory: \"g\" is not a Spark memory size: it does not start with a whole number; use a whole number with a unit (b, k, m, g, t, p), e.g. \"2g\"",
            ),
            (
                "-1g",
                "executor_memory: \"-1g\" is not a Spark memory size: it does not start with a whole number; use a whole number with a unit (b, k, m, g, t, p), e.g. \"2g\"",
            ),
            (
                "2 g",
                "executor_memory: \"2 g\" is not a Spark memory size: it contains whitespace; use a whole number with a unit (b, k, m, g, t, p), e.g. \"2g\"",
            ),
            (
                "2Gi",
                "executor_memory: \"2Gi\" is not a Spark memory size: \"Gi\" is not a unit (use b, k, m, g, t or p); use a whole number with a unit (b, k, m, g, t, p), e.g. \"2g\"",
            ),
            (
                "0g",
                "executor_memory: \"0g\" is zero: memory must be more than zero",
            ),
            (
                "449m",
                "executor_memory: \"449m\" is below \"450m\", the smallest executor heap Spark accepts (it reserves 300 MiB and requires 1.5 times that); use at least \"450m\"",
            ),
            (
                "2097153k",
                "executor_memory: \"2097153k\" is not a whole number of MiB: Spark reads it as 2048 MiB and drops the rest; write \"2048m\" or \"2049m\"",
            ),
            (
                "471859199b",
                "executor_memory: \"471859199b\" is below \"450m\", the smallest executor heap Spark accepts (it reserves 300 MiB and requires 1.5 times that); use at least \"450m\"",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(with(text), vec![message.to_string()], "{text}");
        }
    }

    #[test]
    fn memory_overhead_needs_grammar_and_more_than_zero_only() {
        let with = |text: &str| {
            violations(ProfileInput {
                executor_memory_overhead: set(text),
                ..base()
            })
        };
        assert_eq!(with("384m"), Vec::<String>::new());
        assert_eq!(
            with("1b"),
            vec![
                "executor_memory_overhead: \"1b\" is not a whole number of MiB: Spark reads it as 0 MiB and drops the rest; write \"1m\""
            ]
        );
        assert_eq!(
            with("1536k"),
            vec![
                "executor_memory_overhead: \"1536k\" is not a whole number of MiB: Spark reads it as 1 MiB and drops the rest; write \"1m\" or \"2m\""
            ]
        );
        assert_eq!(
            with("0m"),
            vec!["executor_memory_overhead: \"0m\" is zero: memory must be more than zero"]
        );
        assert_eq!(
            with("1.5g"),
            vec![
                "executor_memory_overhead: \"1.5g\" is not a Spark memory size: Spark does not accept fractions; use a whole number with a unit (b, k, m, g, t, p), e.g. \"1536m\""
            ]
        );
    }

    #[test]
    fn executor_cores_are_whole_and_positive() {
        let with = |cores| {
            violations(ProfileInput {
                executor_cores: Field::Set(cores),
                ..base()
            })
        };
        assert_eq!(with(1), Vec::<String>::new());
        assert_eq!(
            with(0),
            vec![
                "executor_cores: 0 is too small: it must be at least 1 (each executor needs a task slot; for a fractional CPU request use executor_request_cores)"
            ]
        );
        assert_eq!(
            with(1 << 31),
            vec![
                "executor_cores: 2147483648 is too large: Spark reads it as a 32-bit integer, at most 2147483647"
            ]
        );
    }

    #[test]
    fn cpu_quantities_parse_and_request_stays_within_limit() {
        let with = |request: Field<String>, limit: Field<String>| {
            violations(ProfileInput {
                executor_request_cores: request,
                executor_limit_cores: limit,
                ..base()
            })
        };
        let fine = [
            (set("1.8"), set("2")),
            (set("500m"), set("0.5")),
            (set("2"), set("2000m")),
            (Field::Unset, set("1.8")),
            (Field::Unknown, set("1")),
            (set("4"), Field::Unknown),
            (set("4"), Field::Unset),
            (set("0.001"), Field::Unset),
        ];
        for (request, limit) in fine {
            assert_eq!(
                with(request.clone(), limit.clone()),
                Vec::<String>::new(),
                "{request:?} {limit:?}"
            );
        }
        let cases: Vec<(Field<String>, Field<String>, &str)> = vec![
            (
                set("2"),
                set("1"),
                "executor_request_cores: the CPU request \"2\" (2000m) is above the CPU limit \"1\" (1000m): Kubernetes would reject every executor pod; make executor_request_cores at most executor_limit_cores",
            ),
            (
                set("1001m"),
                set("1"),
                "executor_request_cores: the CPU request \"1001m\" (1001m) is above the CPU limit \"1\" (1000m): Kubernetes would reject every executor pod; make executor_request_cores at most executor_limit_cores",
            ),
            (
                Field::Unset,
                set("1"),
                "executor_limit_cores: the default CPU request \"1.8\" (1800m) is above the CPU limit \"1\" (1000m): Kubernetes would reject every executor pod; make executor_request_cores at most executor_limit_cores",
            ),
            (
                set("abc"),
                Field::Unset,
                "executor_request_cores: \"abc\" is not a CPU quantity: it is not a plain number; write CPUs (\"2\", \"1.5\") or millicores (\"500m\")",
            ),
            (
                set("-1"),
                Field::Unset,
                "executor_request_cores: \"-1\" is not a CPU quantity: CPU cannot be negative; write CPUs (\"2\", \"1.5\") or millicores (\"500m\")",
            ),
            (
                set("1.8"),
                set("1e3"),
                "executor_limit_cores: \"1e3\" is not a CPU quantity: exponents are not accepted; write CPUs (\"2\", \"1.5\") or millicores (\"500m\")",
            ),
            (
                set("0.0001"),
                Field::Unset,
                "executor_request_cores: \"0.0001\" is not a CPU quantity: Kubernetes does not allow CPU precision finer than 1m; write CPUs (\"2\", \"1.5\") or millicores (\"500m\")",
            ),
            (
                set("0"),
                Field::Unset,
                "executor_request_cores: \"0\" is zero: an executor needs some CPU, e.g. \"500m\" or \"1\"",
            ),
            (
                set("1"),
                set("0m"),
                "executor_limit_cores: \"0m\" is zero: an executor needs some CPU, e.g. \"500m\" or \"1\"",
            ),
        ];
        for (request, limit, message) in cases {
            assert_eq!(
                with(request.clone(), limit.clone()),
                vec![message.to_string()],
                "{request:?} {limit:?}"
            );
        }
    }

    #[test]
    fn violations_carry_structured_paths() {
        let input = ProfileInput {
            executor_memory: set("1"),
            ..base()
        };
        let found = validate(&input);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, vec![PathSegment::Attr("executor_memory")]);
    }
}
