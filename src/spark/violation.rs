//! A broken rule and where it is: [`Violation`] and [`PathSegment`], plus the range check the
//! rule modules share.
//!
//! The rules themselves live in [validation](mod@super::validate) and the modules it calls;
//! mapping paths to Terraform attribute paths is the resource's job.

use std::fmt;

use super::profile::Field;

/// Spark reads its counts as 32-bit integers.
pub(crate) const SPARK_INT_MAX: i64 = i32::MAX as i64;

/// One step of the path to the offending value. Nested blocks are lists of one, so a value in
/// `dynamic_allocation` is `[Attr("dynamic_allocation"), Index(0), Attr("min_executors")]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// An attribute or block name.
    Attr(&'static str),
    /// A map key.
    Key(String),
    /// A list element.
    Index(usize),
}

/// A broken rule: where, and a message that states the bad value, the rule and a way out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Path from the resource's root to the offending value.
    pub path: Vec<PathSegment>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Violation {
    pub(crate) fn new(path: Vec<PathSegment>, message: impl Into<String>) -> Self {
        Violation {
            path,
            message: message.into(),
        }
    }

    /// The path as Terraform prints it: `dynamic_allocation[0].min_executors`, `extra_conf["k"]`.
    pub fn path_string(&self) -> String {
        let mut text = String::new();
        for segment in &self.path {
            match segment {
                PathSegment::Attr(name) if text.is_empty() => text.push_str(name),
                PathSegment::Attr(name) => {
                    text.push('.');
                    text.push_str(name);
                }
                PathSegment::Key(key) => text.push_str(&format!("[{key:?}]")),
                PathSegment::Index(index) => text.push_str(&format!("[{index}]")),
            }
        }
        text
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path_string(), self.message)
    }
}

/// A path to a top-level attribute.
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
