//! A broken rule and where it is: [`Violation`] and [`PathSegment`], plus the range check the
//! rule modules share.
//!
//! The rules themselves live in [validation](mod@super::validate) and the modules it calls;
//! mapping paths to Terraform attribute paths is the resource's job.

use super::profile::Field;

/// Spark reads its counts as 32-bit integers.
pub(crate) const SPARK_INT_MAX: i64 = i32::MAX as i64;

pub use crate::rules::{PathSegment, Violation};

pub(crate) fn attr(name: &'static str) -> Vec<PathSegment> {
    vec![PathSegment::Attr(name)]
}

/// A path to an attribute of a nested block (a list of one).
pub(crate) fn in_block(block: &'static str, name: &'static str) -> Vec<PathSegment> {
    vec![
        PathSegment::Attr(block),
        PathSegment::Index(0),
        PathSegment::Attr(name),
    ]
}

/// Reports `value` outside `min..=SPARK_INT_MAX`; `why` explains the minimum.
pub(crate) fn check_count(
    out: &mut Vec<Violation>,
    path: Vec<PathSegment>,
    value: &Field<i64>,
    min: i64,
    why: &str,
) {
    match value.value() {
        Some(&v) if v < min => out.push(Violation::new(
            path,
            format!("{v} is too small: it must be at least {min} ({why})"),
        )),
        Some(&v) if v > SPARK_INT_MAX => out.push(Violation::new(
            path,
            format!(
                "{v} is too large: Spark reads it as a 32-bit integer, at most {SPARK_INT_MAX}"
            ),
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_as_terraform_prints_them() {
        let nested = Violation::new(in_block("dynamic_allocation", "min_executors"), "m");
        assert_eq!(nested.to_string(), "dynamic_allocation[0].min_executors: m");
        let keyed = Violation::new(
            vec![
                PathSegment::Attr("extra_conf"),
                PathSegment::Key("spark.a".into()),
            ],
            "m",
        );
        assert_eq!(keyed.to_string(), "extra_conf[\"spark.a\"]: m");
    }

    #[test]
    fn counts_must_fit_a_spark_integer() {
        let check = |value: Field<i64>| {
            let mut out = Vec::new();
            check_count(&mut out, attr("n"), &value, 1, "why");
            out.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        assert_eq!(check(Field::Set(1)), Vec::<String>::new());
        assert_eq!(check(Field::Set(2_147_483_647)), Vec::<String>::new());
        assert_eq!(check(Field::Unknown), Vec::<String>::new());
        assert_eq!(check(Field::Unset), Vec::<String>::new());
        assert_eq!(
            check(Field::Set(0)),
            vec!["n: 0 is too small: it must be at least 1 (why)"]
        );
        assert_eq!(
            check(Field::Set(2_147_483_648)),
            vec![
                "n: 2147483648 is too large: Spark reads it as a 32-bit integer, at most 2147483647"
            ]
        );
    }
}
