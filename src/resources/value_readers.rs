//! Readers of the scalar attribute values every model decoder needs: strings, whole numbers
//! and exact decimals, with [`Ints`], which turns a bad number into a diagnostic at its path,
//! never into "not set".
//!
//! The bottom of `resources`: the model modules (`profile_model`, `kyuubi_model`,
//! `placement_model`) all read through it, and it imports none of them.

use crate::rules::Field;
use crate::spark::Decimal;
use crate::tf::number::exact_decimal;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Number, Value};

/// Reads a string attribute.
pub fn field_string(v: &Value) -> Field<String> {
    match v {
        Value::Unknown => Field::Unknown,
        Value::String(s) => Field::Set(s.clone()),
        _ => Field::Unset,
    }
}

/// Reads a whole-number attribute: unknown, null (unset) or a whole number. Anything else, a
/// fraction or a number too large for 64 bits, is an error and never "not set": read as unset
/// it would silently plan the default instead of what was written.
pub fn field_int(v: &Value) -> Result<Field<i64>, String> {
    match v {
        Value::Unknown => Ok(Field::Unknown),
        Value::Null => Ok(Field::Unset),
        Value::Number(n) => n
            .as_i64()
            .map(Field::Set)
            .ok_or_else(|| format!("a whole number, got {n}")),
        other => Err(format!("a whole number, got {}", other.kind())),
    }
}

/// Reads a fractional attribute as an exact decimal. A fractional float stands for the shortest
/// decimal that reads back as the same float (`0.1`, never `0.1000000000000000055…`): the text
/// Terraform itself compares and shows, and the text Spark parses back to the same double (the
/// codec makes any other float [`Number::Inexact`], see `tf::number`). A
/// decimal that no float stands for never gets here from configuration: validation refuses it
/// (`NumberKind::check`), so the tf layer is the one place that judges how many digits fit.
pub fn field_decimal(v: &Value) -> Result<Field<Decimal>, String> {
    match v {
        Value::Unknown => Ok(Field::Unknown),
        Value::Null => Ok(Field::Unset),
        Value::Number(Number::Int(i)) => Ok(Field::Set(Decimal::from_int(*i))),
        // A whole float stands for its exact value, since Terraform compares whole numbers
        // exactly (the float 1e23 is 99999999999999991611392); a fraction for its shortest form.
        Value::Number(Number::Float(f)) => {
            let text = match f.fract() {
                0.0 => exact_decimal(*f),
                _ => f.to_string(),
            };
            Decimal::parse(&text)
                .map(Field::Set)
                .ok_or_else(|| format!("a decimal of at most 30 digits, got {text}"))
        }
        // One read back from a drifted secret is taken as the decimal it is.
        Value::Number(Number::Inexact { text, .. }) => Decimal::parse(text)
            .map(Field::Set)
            .ok_or_else(|| format!("a decimal of at most 30 digits, got {text}")),
        other => Err(format!("a number, got {}", other.kind())),
    }
}

/// The number attributes read while decoding one model, and the problems found. The
/// framework refuses bad numbers at validation already; this keeps a value that reached a
/// resource some other way from being misread.
#[derive(Debug, Default)]
pub struct Ints {
    problems: Diagnostics,
}

impl Ints {
    /// Reads the whole-number attribute at `path` (dotted, e.g. `gpu.amount`) from `v`; a
    /// problem is kept for [`Ints::finish`] and reads as unknown meanwhile.
    pub fn read(&mut self, v: &Value, path: &str) -> Field<i64> {
        self.keep(field_int(v), path)
    }

    /// Reads the fractional attribute at `path` as an exact decimal, as [`Ints::read`] does a
    /// whole number.
    pub fn read_decimal(&mut self, v: &Value, path: &str) -> Field<Decimal> {
        self.keep(field_decimal(v), path)
    }

    fn keep<T>(&mut self, read: Result<Field<T>, String>, path: &str) -> Field<T> {
        read.unwrap_or_else(|expected| {
            self.problems.push(
                Diagnostic::error(
                    "Invalid attribute value",
                    format!("{path} must be {expected}."),
                )
                .at(AttributePath::parse_dotted(path)),
            );
            Field::Unknown
        })
    }

    /// `model` when every whole number read well, else the problems.
    pub fn finish<T>(self, model: T) -> Result<T, Diagnostics> {
        if self.problems.is_empty() {
            Ok(model)
        } else {
            Err(self.problems)
        }
    }
}
