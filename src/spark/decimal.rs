//! Exact decimal numbers, for the Spark settings that take a fraction
//! (`spark.task.resource.gpu.amount`).
//!
//! A value is kept as digits and a count of decimal places, so `0.25` renders as `0.25` and
//! never as a binary float's nearest neighbour, and the rules can ask exact questions ("is
//! `1 / 0.2` whole?") without rounding. Only plain decimals parse (`"2"`, `"-0.5"`, `"0.125"`):
//! no exponents, no bare points. Turning a Terraform number into this text is the resource's job.

use std::fmt;

/// The most digits a [`Decimal`] holds; far more than a 64-bit float's 17 significant ones, and
/// few enough that `units × 10^scale` arithmetic stays inside `i128`.
const MAX_DIGITS: usize = 30;

/// A decimal number: `units / 10^scale`, with no trailing zero after the point (so equal
/// numbers are equal values, and `2.50` is `2.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    /// One.
    pub const ONE: Decimal = Decimal { units: 1, scale: 0 };

    /// A whole number.
    pub fn from_int(value: i64) -> Self {
        Decimal {
            units: i128::from(value),
            scale: 0,
        }
    }

    /// Parses a plain decimal: an optional `-`, digits, then optionally `.` and more digits. `None`
    /// for anything else, and for more than 30 digits.
    pub fn parse(text: &str) -> Option<Self> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let fraction = fraction.trim_end_matches('0');
        if whole.is_empty()
            || !digits_only(whole)
            || !digits_only(fraction)
            || (unsigned.contains('.') && unsigned.ends_with('.'))
        {
            return None;
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() + fraction.len() > MAX_DIGITS {
            return None;
        }
        let units: i128 = format!("0{whole}{fraction}").parse().ok()?;
        let scale = u32::try_from(fraction.len()).ok()?;
        Some(Decimal {
            units: if negative { -units } else { units },
            scale,
        })
    }

    /// True when more than zero.
    pub fn is_positive(&self) -> bool {
        self.units > 0
    }

    /// The number as an `i64` when it is whole and fits.
    pub fn whole(&self) -> Option<i64> {
        if self.scale == 0 {
            i64::try_from(self.units).ok()
        } else {
            None
        }
    }

    /// True when more than one.
    pub fn exceeds_one(&self) -> bool {
        self.units > self.ten_to_scale()
    }

    /// `1 / self` when it is a whole number: `Some(4)` for `0.25`, `None` for `0.3` or `2`.
    pub fn reciprocal_whole(&self) -> Option<i64> {
        self.quotient_of(1)
    }

    /// `dividend / self` when it is a whole number: `Some(4)` for `2 / 0.5`, `None` for `3 / 2`.
    pub fn quotient_of(&self, dividend: i64) -> Option<i64> {
        if self.units == 0 {
            return None;
        }
        let scaled = i128::from(dividend).checked_mul(self.ten_to_scale())?;
        (scaled % self.units == 0)
            .then(|| scaled / self.units)
            .and_then(|q| i64::try_from(q).ok())
    }

    /// The nearest 64-bit float, as Java's `Double.parseDouble` reads the text: both round
    /// correctly, so Rust's parse gives the same double Spark computes with.
    pub fn to_f64(&self) -> f64 {
        // Display always writes a plain decimal, which parses; NaN cannot come back.
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    fn ten_to_scale(&self) -> i128 {
        // The scale is at most MAX_DIGITS, and 10^30 fits in an i128.
        10i128.pow(self.scale)
    }
}

impl fmt::Display for Decimal {
    /// The plain decimal form Spark reads (`0.25`, `2`, `-1.5`), with no exponent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let magnitude = self.units.unsigned_abs();
        let ten = self.ten_to_scale().unsigned_abs();
        let (whole, fraction) = (magnitude / ten, magnitude % ten);
        if self.scale == 0 {
            write!(f, "{sign}{whole}")
        } else {
            let width = self.scale as usize;
            write!(f, "{sign}{whole}.{fraction:0width$}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Decimal {
        Decimal::parse(text).unwrap_or_else(|| panic!("{text:?} does not parse"))
    }

    #[test]
    fn parses_plain_decimals_and_renders_them_back_exactly() {
        let cases = [
            ("0.25", "0.25"),
            ("0.5", "0.5"),
            ("0.1", "0.1"),
            ("0.0625", "0.0625"),
            ("2", "2"),
            ("2.50", "2.5"),
            ("1.0", "1"),
            ("007", "7"),
            ("0", "0"),
            ("-0.5", "-0.5"),
            (
                "0.000000000000000000000000000001",
                "0.000000000000000000000000000001",
            ),
        ];
        for (text, shown) in cases {
            assert_eq!(parsed(text).to_string(), shown, "{text}");
        }
        assert_eq!(parsed("1.00"), Decimal::ONE);
        assert_eq!(parsed("3"), Decimal::from_int(3));
    }

    #[test]
    fn refuses_anything_but_plain_decimals() {
        let bad = [
            "",
            "-",
            ".5",
            "5.",
            "1e3",
            "1.5e-1",
            "+1",
            "0x10",
            "1.2.3",
            " 1",
            "1 ",
            "1,5",
            "NaN",
            "inf",
            // 31 digits: more than is held exactly.
            "0.0000000000000000000000000000001",
        ];
        for text in bad {
            assert_eq!(Decimal::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn answers_divisibility_exactly() {
        assert_eq!(parsed("0.25").reciprocal_whole(), Some(4));
        assert_eq!(parsed("0.5").reciprocal_whole(), Some(2));
        assert_eq!(parsed("0.2").reciprocal_whole(), Some(5));
        assert_eq!(parsed("1").reciprocal_whole(), Some(1));
        assert_eq!(parsed("0.3").reciprocal_whole(), None);
        assert_eq!(parsed("0.75").reciprocal_whole(), None);
        assert_eq!(parsed("2").reciprocal_whole(), None);
        assert_eq!(parsed("0").reciprocal_whole(), None);
        assert_eq!(parsed("0.5").quotient_of(3), Some(6));
        assert_eq!(parsed("2").quotient_of(4), Some(2));
        assert_eq!(parsed("2").quotient_of(3), None);
        assert_eq!(parsed("1.5").quotient_of(3), Some(2));
        assert_eq!(Decimal::from_int(i64::MAX).quotient_of(i64::MAX), Some(1));
        assert_eq!(parsed("0.5").quotient_of(i64::MAX), None, "overflows i64");
    }

    #[test]
    fn converts_to_the_nearest_float() {
        assert_eq!(parsed("0.25").to_f64(), 0.25);
        assert_eq!(parsed("0.1").to_f64(), 0.1);
        assert_eq!(parsed("-2").to_f64(), -2.0);
    }

    #[test]
    fn compares_with_one_and_zero() {
        assert!(parsed("1.5").exceeds_one());
        assert!(parsed("2").exceeds_one());
        assert!(!parsed("1").exceeds_one());
        assert!(!parsed("0.5").exceeds_one());
        assert!(parsed("0.5").is_positive());
        assert!(!parsed("0").is_positive());
        assert!(!parsed("-0.5").is_positive());
        assert_eq!(parsed("2").whole(), Some(2));
        assert_eq!(parsed("0.5").whole(), None);
    }
}
