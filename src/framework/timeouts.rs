//! The `timeouts { create, update, delete }` block and Go-style duration strings (`"10m"`,
//! `"1h30m"`, `"45s"`), as Terraform users know them from HashiCorp's providers.

use std::time::Duration;

use super::schema::{Attribute, Block, NestedBlock};
use super::validators;
use crate::tf::Value;

/// The operations a timeout can bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Creating the resource.
    Create,
    /// Updating it in place.
    Update,
    /// Deleting it.
    Delete,
}

impl Operation {
    fn attribute(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

/// The `timeouts` block, each operation defaulting to `default` (as text, e.g. `"10m"`).
pub fn block(default: &str) -> NestedBlock {
    let attribute = |op: Operation| {
        Attribute::string(op.attribute())
            .optional()
            .validate(validators::check("a duration such as `10m`", |v| {
                parse_duration(v.as_str().unwrap_or_default()).map(|_| ())
            }))
            .description(format!(
                "How long to wait for the {} to finish, as a duration such as `30s`, `10m` or \
                 `1h30m`. Defaults to `{default}`.",
                op.attribute()
            ))
    };
    NestedBlock::single(
        "timeouts",
        Block::new("Time limits for the operations that wait on the remote system.")
            .attribute(attribute(Operation::Create))
            .attribute(attribute(Operation::Update))
            .attribute(attribute(Operation::Delete)),
    )
    // How long to wait is no part of the remote object.
    .client_side()
}

/// The timeout for `op` from a resource value holding a `timeouts` block, or `default`.
pub fn get(value: &Value, op: Operation, default: Duration) -> Duration {
    value
        .attr("timeouts")
        .attr(op.attribute())
        .as_str()
        .and_then(|s| parse_duration(s).ok())
        .unwrap_or(default)
}

/// Parses a Go duration: a sequence of decimal numbers, each with a unit (`ns`, `us`, `ms`, `s`,
/// `m`, `h`), such as `"1h30m"` or `"1.5s"`. Negative durations are refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!(
            "{text:?} is not a duration: use a number with a unit, e.g. \"10m\", \"90s\" or \"1h30m\""
        )
    };
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (number, tail) = rest.split_at(number_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let amount: f64 = number.parse().map_err(|_| invalid())?;
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        total += amount * seconds;
        rest = tail;
    }
    Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        let cases = [
            ("10m", 600.0),
            ("1h30m", 5400.0),
            ("45s", 45.0),
            ("1.5s", 1.5),
            ("500ms", 0.5),
            ("0", 0.0),
        ];
        for (text, secs) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs_f64(secs)),
                "{text}"
            );
        }
        for bad in ["", "10", "m", "10 m", "-5m", "1d", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn get_falls_back_to_the_default() {
        let value = Value::object([("timeouts", Value::object([("create", Value::string("2m"))]))]);
        let default = Duration::from_secs(600);
        assert_eq!(
            get(&value, Operation::Create, default),
            Duration::from_secs(120)
        );
        assert_eq!(get(&value, Operation::Delete, default), default);
        assert_eq!(get(&Value::Null, Operation::Update, default), default);
    }
}
