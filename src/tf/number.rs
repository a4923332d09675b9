//! Terraform numbers as the provider holds them: an `i64`, an `f64`, or the text of a decimal
//! that neither holds as written.
//!
//! Terraform's numbers are arbitrary-precision decimals. go-cty's msgpack writes one as an
//! integer when an `int64` holds it exactly, as a float when a `float64` does, and otherwise as
//! its shortest decimal text (`0.1`, `0.10000000000000000001`, a 401-digit `1e400`). Terraform
//! compares numbers by that same text, so a float stands for a decimal exactly when the float's
//! shortest form reads as that decimal: `0.1` is the float 0.1, `0.10000000000000000001` is no
//! float at all. [`Number::parse`] makes that judgement; refusing an [`Number::Inexact`] is the
//! framework's job (`framework::schema::NumberKind::check`).

use std::fmt;

/// A Terraform number.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A float, standing for the decimal of its shortest form (the float 0.1 is `0.1`).
    Float(f64),
    /// A decimal that no `i64` or `f64` stands for, kept as the text it came as, so that
    /// validation can refuse it instead of rounding it.
    Inexact {
        /// The decimal, as sent.
        text: String,
        /// The closest float; infinite when the decimal is beyond the float range.
        nearest: f64,
    },
}

impl Number {
    /// The number as an `i64`, when it is a whole number in range.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Number::Int(i) => Some(i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            Number::Float(_) | Number::Inexact { .. } => None,
        }
    }

    /// The number as an `f64` (possibly rounded).
    pub fn as_f64(&self) -> f64 {
        match *self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
            Number::Inexact { nearest, .. } => nearest,
        }
    }

    /// True for a whole number, however it is held.
    pub fn is_whole(&self) -> bool {
        match self {
            Number::Int(_) => true,
            Number::Float(f) => f.is_finite() && f.fract() == 0.0,
            Number::Inexact { text, .. } => Digits::of(text).is_some_and(|d| d.exponent >= 0),
        }
    }

    /// Parses a decimal (`17`, `-0.5`, `1e400`): the form Terraform uses for a number that no
    /// msgpack integer or float holds exactly. Whole numbers that fit come back as
    /// [`Number::Int`], a decimal that is some float's shortest form as [`Number::Float`], and
    /// any other decimal as [`Number::Inexact`]. `None` for text that is not a decimal.
    pub fn parse(text: &str) -> Option<Self> {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Number::Int(i));
        }
        let digits = Digits::of(text)?;
        // Rust's parse rounds correctly, so this is the float nearest the decimal.
        let nearest: f64 = text.parse().ok()?;
        if nearest.is_finite() && Digits::of(&format!("{nearest:e}")) == Some(digits) {
            return Some(Number::Float(nearest).canonical());
        }
        Some(Number::Inexact {
            text: text.to_owned(),
            nearest,
        })
    }

    /// The same number in canonical form: whole floats become integers, so that values decoded
    /// from JSON and msgpack compare equal.
    pub fn canonical(self) -> Self {
        match self.as_i64() {
            Some(i) => Number::Int(i),
            None => self,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
            Number::Inexact { text, .. } => f.write_str(text),
        }
    }
}

/// A decimal's value in one form per number: sign, significant digits without leading or
/// trailing zeros, and the power of ten of the last digit. Zero has no digits and no sign.
#[derive(Debug, PartialEq)]
struct Digits {
    negative: bool,
    significant: String,
    exponent: i64,
}

impl Digits {
    /// `[-+]digits[.digits][e[-+]digits]`; `None` for anything else.
    fn of(text: &str) -> Option<Self> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
            Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().ok()?),
            None => (unsigned, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all = format!("{whole}{fraction}");
        if all.is_empty() || !all.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let without_trailing = all.trim_end_matches('0');
        let trailing = i64::try_from(all.len() - without_trailing.len()).ok()?;
        let significant = without_trailing.trim_start_matches('0');
        if significant.is_empty() {
            return Some(Digits {
                negative: false,
                significant: String::new(),
                exponent: 0,
            });
        }
        let fraction_len = i64::try_from(fraction.len()).ok()?;
        Some(Digits {
            negative,
            significant: significant.to_owned(),
            exponent: exponent.checked_sub(fraction_len)?.checked_add(trailing)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inexact(text: &str, nearest: f64) -> Number {
        Number::Inexact {
            text: text.to_owned(),
            nearest,
        }
    }

    #[test]
    fn whole_floats_are_canonical_ints() {
        assert_eq!(Number::Float(4.0).canonical(), Number::Int(4));
        assert_eq!(Number::Float(4.5).canonical(), Number::Float(4.5));
    }

    /// The texts go-cty sends, and what each one is.
    #[test]
    fn parses_a_decimal_as_the_float_whose_shortest_form_it_is_or_as_inexact() {
        let big = format!("1{}", "0".repeat(400));
        let cases = [
            ("17", Number::Int(17)),
            ("-9223372036854775808", Number::Int(i64::MIN)),
            ("0.1", Number::Float(0.1)),
            ("0.3", Number::Float(0.3)),
            ("0.10", Number::Float(0.1)),
            ("1e-1", Number::Float(0.1)),
            ("2.50", Number::Float(2.5)),
            ("4.0", Number::Int(4)),
            ("123456789012345.6", Number::Float(123456789012345.6)),
            ("0.30000000000000004", Number::Float(0.1 + 0.2)),
            ("1e-320", Number::Float(1e-320)),
            (
                "0.10000000000000000001",
                inexact("0.10000000000000000001", 0.1),
            ),
            ("0.30000000000000001", inexact("0.30000000000000001", 0.3)),
            (
                "12345678901234567890",
                inexact("12345678901234567890", 12345678901234567890.0),
            ),
            ("1e-400", inexact("1e-400", 0.0)),
            (big.as_str(), inexact(&big, f64::INFINITY)),
        ];
        for (text, expected) in cases {
            assert_eq!(Number::parse(text), Some(expected), "{text}");
        }
        for text in [
            "", "-", ".", "abc", "inf", "NaN", "1.2.3", "0x10", "1e", " 1",
        ] {
            assert_eq!(Number::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn inexact_numbers_show_as_sent_and_are_never_whole_i64s() {
        let n = inexact("12345678901234567890", 12345678901234567890.0);
        assert_eq!(n.to_string(), "12345678901234567890");
        assert_eq!(n.as_i64(), None);
        assert!(n.is_whole());
        assert!(!inexact("0.10000000000000000001", 0.1).is_whole());
        assert!(inexact("1e400", f64::INFINITY).is_whole());
        assert_eq!(n.clone().canonical(), n);
    }

    #[test]
    fn digits_are_one_form_per_value() {
        let d = |text: &str| Digits::of(text).unwrap_or_else(|| panic!("{text:?}"));
        assert_eq!(d("0.25"), d("2.5e-1"));
        assert_eq!(d("-0"), d("0.000"));
        assert_eq!(d("1200"), d("12e2"));
        assert_eq!(d("001.500"), d("1.5"));
        assert_ne!(d("1.5"), d("-1.5"));
        assert_eq!(d("1200").exponent, 2);
        assert_eq!(d("0.0625").exponent, -4);
    }
}
