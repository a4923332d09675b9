//! Attribute validators: small values behind one trait, made by plain functions.
//!
//! The framework calls a validator only for a known, non-null value, so validators never deal
//! with unknowns. Checks that span several attributes belong in `Resource::validate_config`.
//! The check a number attribute's kind implies (`NumberKind::check`) runs before them.

use crate::tf::{AttributePath, Diagnostic, Value};

/// A check on one configured value.
pub trait Validator: Send + Sync {
    /// What a valid value looks like, phrased to complete "The value must …"-style docs.
    fn description(&self) -> String;

    /// Checks `value`; a problem comes back as an error at `path`.
    fn validate(&self, value: &Value, path: &AttributePath) -> Option<Diagnostic>;
}

fn invalid(path: &AttributePath, detail: String) -> Diagnostic {
    Diagnostic::error("Invalid attribute value", detail).at(path.clone())
}

struct AtLeast(i64);

impl Validator for AtLeast {
    fn description(&self) -> String {
        format!("at least {}", self.0)
    }

    fn validate(&self, value: &Value, path: &AttributePath) -> Option<Diagnostic> {
        match value.as_i64() {
            Some(n) if n >= self.0 => None,
            Some(n) => Some(invalid(
                path,
                format!("{path} must be at least {}, got {n}.", self.0),
            )),
            None => Some(invalid(path, format!("{path} must be a whole number."))),
        }
    }
}

/// A whole number no smaller than `min`.
pub fn at_least(min: i64) -> impl Validator {
    AtLeast(min)
}

struct Between(i64, i64);

impl Validator for Between {
    fn description(&self) -> String {
        format!("between {} and {}", self.0, self.1)
    }

    fn validate(&self, value: &Value, path: &AttributePath) -> Option<Diagnostic> {
        match value.as_i64() {
            Some(n) if (self.0..=self.1).contains(&n) => None,
            Some(n) => Some(invalid(
                path,
                format!("{path} must be between {} and {}, got {n}.", self.0, self.1),
            )),
            None => Some(invalid(path, format!("{path} must be a whole number."))),
        }
    }
}

/// A whole number in `min..=max`.
pub fn between(min: i64, max: i64) -> impl Validator {
    Between(min, max)
}

struct OneOf(Vec<&'static str>);

impl Validator for OneOf {
    fn description(&self) -> String {
        let quoted: Vec<String> = self.0.iter().map(|s| format!("`{s}`")).collect();
        format!("one of {}", quoted.join(", "))
    }

    fn validate(&self, value: &Value, path: &AttributePath) -> Option<Diagnostic> {
        let s = value.as_str().unwrap_or_default();
        if self.0.contains(&s) {
            return None;
        }
        Some(invalid(
            path,
            format!("{path} must be {}, got {s:?}.", self.description()),
        ))
    }
}

/// A string equal to one of `choices`.
pub fn one_of(choices: &[&'static str]) -> impl Validator {
    OneOf(choices.to_vec())
}

struct Check<F> {
    description: &'static str,
    check: F,
}

impl<F> Validator for Check<F>
where
    F: Fn(&Value) -> Result<(), String> + Send + Sync,
{
    fn description(&self) -> String {
        self.description.to_owned()
    }

    fn validate(&self, value: &Value, path: &AttributePath) -> Option<Diagnostic> {
        (self.check)(value)
            .err()
            .map(|message| invalid(path, format!("{path}: {message}")))
    }
}

/// A validator from a closure returning the problem as a sentence.
pub fn check<F>(description: &'static str, check: F) -> impl Validator
where
    F: Fn(&Value) -> Result<(), String> + Send + Sync,
{
    Check { description, check }
}

/// Runs `validators` over `value` when it is known and not null.
pub fn run(
    validators: &[std::sync::Arc<dyn Validator>],
    value: &Value,
    path: &AttributePath,
) -> Vec<Diagnostic> {
    if value.is_null() || value.is_unknown() {
        return Vec::new();
    }
    validators
        .iter()
        .filter_map(|v| v.validate(value, path))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_reports_path_and_value() {
        let path = AttributePath::attr("executor_cores");
        let d = at_least(1)
            .validate(&Value::int(0), &path)
            .expect("an error");
        assert_eq!(d.attribute, Some(path));
        assert_eq!(d.detail, "executor_cores must be at least 1, got 0.");
        assert!(
            at_least(1)
                .validate(&Value::int(1), &AttributePath::root())
                .is_none()
        );
    }

    #[test]
    fn one_of_lists_the_choices() {
        let path = AttributePath::attr("share_level");
        let d = one_of(&["USER", "SERVER"]).validate(&Value::string("x"), &path);
        assert_eq!(
            d.map(|d| d.detail),
            Some("share_level must be one of `USER`, `SERVER`, got \"x\".".to_owned())
        );
    }

    #[test]
    fn run_skips_null_and_unknown() {
        let v: Vec<std::sync::Arc<dyn Validator>> = vec![std::sync::Arc::new(at_least(5))];
        assert!(run(&v, &Value::Null, &AttributePath::root()).is_empty());
        assert!(run(&v, &Value::Unknown, &AttributePath::root()).is_empty());
        assert_eq!(run(&v, &Value::int(1), &AttributePath::root()).len(), 1);
    }
}
