//! Terraform numbers as the provider holds them: an `i64`, an `f64`, or the text of a decimal
//! that neither holds as written.
//!
//! Terraform's numbers are arbitrary-precision (`big.Float`). go-cty's msgpack writes one as an
//! integer when an `int64` holds it exactly, as a float when a `float64` does, and otherwise as
//! the shortest decimal text that reads back as it (`0.1`, `0.10000000000000000001`, a 401-digit
//! `1e400`). Reading a reply, it takes text at 512 bits and a float at the float's own 53 bits,
//! and it compares two fractions by that shortest text at each one's own precision
//! (`rawNumberEqual`; whole numbers compare exactly). So the float 0.1 and the decimal `0.1`
//! are equal to Terraform, while the float 0.1 and the 512-bit
//! `0.1000000000000000055511151231257827021181583404541015625` (the float's exact value) are not.
//!
//! Hence one rule: a fractional [`Number::Float`] stands for the decimal of its shortest form,
//! and it is written back so that Terraform reads that decimal (`tf::msgpack`); a whole one
//! stands for its exact value, so decimal text such as `1e23` (whose float is
//! 99999999999999991611392) is [`Number::Inexact`] although it is the float's shortest form.
//!
//! A float on the wire that is not exactly its shortest decimal is ambiguous: Terraform sends
//! the config literal
//! `0.1000000000000000055511151231257827021181583404541015625` and the result of
//! `pow(10, -1)` as the same bytes, yet holds the first as its exact value and the second as
//! `0.1`, so no reply equals both. Such a float becomes [`Number::Inexact`] with its exact value
//! as text, and is refused like any other number the provider cannot keep as written:
//! refusing an [`Number::Inexact`] is the framework's job
//! (`framework::schema::NumberKind::check`).

use std::fmt;

/// A Terraform number.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A float: a fraction stands for the decimal of its shortest form (the float 0.1 is
    /// `0.1`), a whole float for its exact value (the float 1e23 is 99999999999999991611392).
    Float(f64),
    /// A decimal that no `i64` or `f64` stands for, kept as the text it came as, or a float sent
    /// as a float that is not exactly its shortest decimal, kept as its exact value (see the
    /// module doc); validation refuses either instead of rounding it.
    Inexact {
        /// The decimal, as sent or as the float's exact value.
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
        // Terraform compares whole numbers exactly and fractions by their shortest text, so a
        // whole decimal is a float only when it is the float's exact value.
        let float_form = |f: f64| match digits.exponent {
            0.. => exact_decimal(f),
            _ => shortest_decimal(f),
        };
        if nearest.is_finite() && Digits::of(&float_form(nearest)).as_ref() == Some(&digits) {
            return Some(Number::Float(nearest).canonical());
        }
        Some(Number::Inexact {
            text: text.to_owned(),
            nearest,
        })
    }

    /// A float as msgpack carries it. A whole or non-finite float, and one that is exactly its
    /// shortest decimal (`0.5`, `2.25`), is [`Number::Float`]; any other, such as the float
    /// nearest 0.1, is [`Number::Inexact`] with its exact value as text, since Terraform may
    /// hold it either as that value or as its shortest decimal (see the module doc).
    pub fn from_float(f: f64) -> Self {
        if !f.is_finite() || f.fract() == 0.0 {
            return Number::Float(f).canonical();
        }
        // A fraction's exact value reads as the float itself only when it is the shortest form.
        Number::parse(&exact_decimal(f)).unwrap_or(Number::Float(f))
    }

    /// For a [`Number::Inexact`] whose text is exactly a float's value (as [`Number::from_float`]
    /// makes one), that float.
    pub fn exact_float(&self) -> Option<f64> {
        match self {
            Number::Inexact { text, nearest } if nearest.is_finite() => {
                (Digits::of(text) == Digits::of(&exact_decimal(*nearest))).then_some(*nearest)
            }
            _ => None,
        }
    }

    /// The same number in canonical form: whole floats that an `i64` holds become integers, so
    /// that values decoded from JSON and msgpack compare equal (JSON has one syntax for a whole
    /// number, and go-cty's msgpack sends every whole `int64` as an integer). Exact: a whole
    /// float in that range is an integer, whatever its size.
    pub fn canonical(self) -> Self {
        const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
        match self {
            Number::Float(f) if f.fract() == 0.0 && (-TWO_TO_63..TWO_TO_63).contains(&f) => {
                Number::Int(f as i64)
            }
            other => other,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            // Rust's own form (whole floats written out, no exponent), but for a float halfway
            // between two shortest decimals, where Go's even-digit one is the float's text.
            Number::Float(x) if same_decimal(&format!("{x}"), &shortest_decimal(*x)) => {
                write!(f, "{x}")
            }
            Number::Float(x) => f.write_str(&shortest_decimal(*x)),
            Number::Inexact { text, .. } => f.write_str(text),
        }
    }
}

/// The shortest decimal that reads back as `f`, and of two such, the nearer; a float exactly
/// halfway between two (`-688642842786972.25`) takes the one with the even last digit (`.2`),
/// as Go's `strconv` and `math/big` do, so Terraform finds this text equal to the float. Rust's
/// own `{}` picks the odd one (`.3`) there. serde_json writes the same text into JSON.
pub fn shortest_decimal(f: f64) -> String {
    serde_json::Number::from_f64(f).map_or_else(|| format!("{f}"), |n| n.to_string())
}

/// The exact decimal value of a finite float, every digit written out: the float nearest 0.1 is
/// `0.1000000000000000055511151231257827021181583404541015625`. A float is `mantissa × 2^e`,
/// which for a negative `e` is `mantissa × 5^-e / 10^-e`, so the digits come from repeated
/// small multiplications, at most 1074 of them for the smallest subnormal.
pub fn exact_decimal(f: f64) -> String {
    let bits = f.abs().to_bits();
    let biased = i64::try_from(bits >> 52).unwrap_or(0);
    let fraction = bits & ((1 << 52) - 1);
    let (mut mantissa, mut exponent) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | (1 << 52), biased - 1075),
    };
    if mantissa == 0 {
        return "0".to_owned();
    }
    while mantissa % 2 == 0 {
        mantissa /= 2;
        exponent += 1;
    }
    // Decimal digits, least significant first.
    let mut digits: Vec<u8> = mantissa
        .to_string()
        .bytes()
        .rev()
        .map(|b| b - b'0')
        .collect();
    let (factor, times) = if exponent < 0 {
        (5, -exponent)
    } else {
        (2, exponent)
    };
    for _ in 0..times {
        let mut carry = 0;
        for digit in &mut digits {
            let product = *digit * factor + carry;
            *digit = product % 10;
            carry = product / 10;
        }
        if carry > 0 {
            digits.push(carry);
        }
    }
    let places = usize::try_from(-exponent).unwrap_or(0);
    if digits.len() <= places {
        digits.resize(places + 1, 0);
    }
    let mut text: String = digits.iter().rev().map(|d| char::from(b'0' + d)).collect();
    if places > 0 {
        text.insert(text.len() - places, '.');
    }
    if f.is_sign_negative() {
        text.insert(0, '-');
    }
    text
}

/// Whether two decimal texts (`0.10`, `1e-1`) are the same number; false when either is not a
/// decimal.
pub fn same_decimal(a: &str, b: &str) -> bool {
    Digits::of(a).is_some_and(|a| Digits::of(b) == Some(a))
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
    fn a_float_halfway_between_two_shortest_decimals_takes_the_even_one() {
        // Exactly -688642842786972.25 (found by the JSON round-trip property test).
        let f = -688_642_842_786_972.2_f64;
        assert_eq!(exact_decimal(f), "-688642842786972.25");
        assert_eq!(shortest_decimal(f), "-688642842786972.2");
        assert_eq!(Number::parse("-688642842786972.2"), Some(Number::Float(f)));
        assert!(matches!(
            Number::parse("-688642842786972.3"),
            Some(Number::Inexact { .. })
        ));
        assert_eq!(Number::Float(f).to_string(), "-688642842786972.2");
        assert_eq!(shortest_decimal(0.1), "0.1");
        assert_eq!(shortest_decimal(2.5), "2.5");
    }

    #[test]
    fn whole_floats_are_canonical_ints() {
        assert_eq!(Number::Float(4.0).canonical(), Number::Int(4));
        assert_eq!(Number::Float(4.5).canonical(), Number::Float(4.5));
        // Beyond 2^53 but inside i64 (found by the JSON round-trip property test).
        assert_eq!(
            Number::Float(-4.701614160152372e16).canonical(),
            Number::Int(-47_016_141_601_523_720)
        );
        let two_to_63 = 2f64.powi(63);
        assert_eq!(Number::Float(-two_to_63).canonical(), Number::Int(i64::MIN));
        assert_eq!(
            Number::Float(two_to_63).canonical(),
            Number::Float(two_to_63)
        );
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
            ("1e20", Number::Float(1e20)),
            ("9223372036854775808", Number::Float(9223372036854775808.0)),
            // The float's shortest form, but whole, and Terraform compares whole numbers
            // exactly: the float is 10000000009999998976.
            (
                "10000000010000000000",
                inexact("10000000010000000000", 10000000009999998976.0),
            ),
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

    /// A float's exact value, checked against Python's `Decimal(f)`.
    #[test]
    fn a_floats_exact_decimal_has_every_digit() {
        let cases = [
            (
                0.1,
                "0.1000000000000000055511151231257827021181583404541015625",
            ),
            (
                1.0 / 3.0,
                "0.333333333333333314829616256247390992939472198486328125",
            ),
            (-2.25, "-2.25"),
            (0.5, "0.5"),
            (1e23, "99999999999999991611392"),
            (0.0, "0"),
        ];
        for (f, want) in cases {
            assert_eq!(exact_decimal(f), want, "{f:e}");
        }
        // The smallest subnormal, 2^-1074: 1074 places, ending in the digits of 5^1074.
        let smallest = exact_decimal(5e-324);
        assert_eq!(smallest.len(), 1076);
        assert!(smallest.starts_with(&format!("0.{}494065645841246", "0".repeat(323))));
        assert!(smallest.ends_with("265533447265625"));
        assert_eq!(smallest.parse::<f64>(), Ok(5e-324));
    }

    /// Floats as msgpack carries them: only those that are exactly their shortest decimal
    /// stand for it; any other keeps its exact value, which [`Number::exact_float`] recognises.
    #[test]
    fn a_float_is_its_shortest_decimal_only_when_exactly_so() {
        let tenth = "0.1000000000000000055511151231257827021181583404541015625";
        let cases = [
            (0.25, Number::Float(0.25)),
            (-2.25, Number::Float(-2.25)),
            (2.0, Number::Int(2)),
            (-0.0, Number::Int(0)),
            (1e20, Number::Float(1e20)),
            (f64::INFINITY, Number::Float(f64::INFINITY)),
            (0.1, inexact(tenth, 0.1)),
            (-0.1, inexact(&format!("-{tenth}"), -0.1)),
        ];
        for (f, want) in cases {
            assert_eq!(Number::from_float(f), want, "{f:e}");
        }
        assert!(matches!(Number::from_float(5e-324), Number::Inexact { .. }));
        assert_eq!(Number::from_float(0.1).exact_float(), Some(0.1));
        assert_eq!(Number::parse(tenth), Some(inexact(tenth, 0.1)));
        assert_eq!(
            Number::parse(tenth).and_then(|n| n.exact_float()),
            Some(0.1)
        );
        let longer = inexact("0.10000000000000000001", 0.1);
        assert_eq!(longer.exact_float(), None);
        assert_eq!(Number::Float(0.1).exact_float(), None);
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
