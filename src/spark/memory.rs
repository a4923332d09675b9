//! Spark memory sizes (`"2g"`, `"512m"`): parse what Spark's `JavaUtils.byteStringAs` accepts,
//! to bytes.
//!
//! Deliberately stricter than Spark: a unit is required (Spark reads a bare number as MiB for
//! executor memory, a silent trap) and whitespace is refused (Spark trims it, so the stored text
//! would not be the value in use). Range rules (more than zero, Spark's executor minimum) belong
//! to [validation](mod@super::validate).

use thiserror::Error;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// Spark's smallest executor heap, in bytes: `UnifiedMemoryManager` reserves 300 MiB and refuses
/// an executor with less than 1.5 times that (SPARK-12759), i.e. 450 MiB.
pub const MIN_EXECUTOR_MEMORY_BYTES: u64 = 450 * MIB;

/// The binary units Spark knows, smallest first (`b`, `k`/`kb`, … `p`/`pb`, any case).
const UNITS: [(&str, u64); 6] = [
    ("b", 1),
    ("k", KIB),
    ("m", MIB),
    ("g", 1024 * MIB),
    ("t", 1024 * 1024 * MIB),
    ("p", 1024 * 1024 * 1024 * MIB),
];

/// Why a string is not a Spark memory size. Each message completes
/// "… is not a Spark memory size: ".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MemoryError {
    /// Nothing was given.
    #[error("it is empty")]
    Empty,
    /// Spaces anywhere, including around the value.
    #[error("it contains whitespace")]
    Whitespace,
    /// A whole number without a unit.
    #[error("it has no unit, and Spark would read a bare number as MiB")]
    MissingUnit {
        /// The number as written, to build a suggestion from.
        digits: String,
    },
    /// `2.5g`: Spark refuses fractions outright.
    #[error("Spark does not accept fractions")]
    Fraction {
        /// The same size as a whole number of a smaller unit, when there is one (`"2560m"`).
        exact: Option<String>,
    },
    /// A suffix Spark does not know.
    #[error("{0:?} is not a unit (use b, k, m, g, t or p)")]
    UnknownUnit(String),
    /// No leading whole number: `"g"`, `"-1g"`, `".5g"`.
    #[error("it does not start with a whole number")]
    NotANumber,
    /// More bytes than Spark's 64-bit counters hold.
    #[error("it is larger than Spark can count")]
    TooLarge,
}

impl MemoryError {
    /// A valid size to offer in the message: the exact equivalent of a fraction, the MiB Spark
    /// would have assumed for a bare number, or a plain example.
    pub fn suggestion(&self) -> String {
        match self {
            MemoryError::MissingUnit { digits } => format!("{digits}m"),
            MemoryError::Fraction { exact: Some(exact) } => exact.clone(),
            _ => "2g".to_owned(),
        }
    }
}

/// Parses a Spark memory size with a unit and returns it in bytes. Zero parses (`"0g"` is
/// grammatical); whether it is allowed is validation's call.
pub fn parse_memory(text: &str) -> Result<u64, MemoryError> {
    if text.is_empty() {
        return Err(MemoryError::Empty);
    }
    if text.chars().any(char::is_whitespace) {
        return Err(MemoryError::Whitespace);
    }
    let lower = text.to_ascii_lowercase();
    let (digits, rest) = split_digits(&lower);
    if digits.is_empty() {
        return Err(MemoryError::NotANumber);
    }
    if let Some(after_point) = rest.strip_prefix('.') {
        let (fraction, unit) = split_digits(after_point);
        if !fraction.is_empty() {
            return Err(MemoryError::Fraction {
                exact: exact_whole(digits, fraction, unit),
            });
        }
    }
    if rest.is_empty() {
        return Err(MemoryError::MissingUnit {
            digits: digits.to_owned(),
        });
    }
    let multiplier = unit_bytes(rest).ok_or_else(|| {
        // Report the suffix as the user wrote it, not lower-cased.
        MemoryError::UnknownUnit(text[digits.len()..].to_owned())
    })?;
    let value: u64 = digits.parse().map_err(|_| MemoryError::TooLarge)?;
    value
        .checked_mul(multiplier)
        // Spark holds sizes in a Java long.
        .filter(|bytes| i64::try_from(*bytes).is_ok())
        .ok_or(MemoryError::TooLarge)
}

/// Formats a byte count the way a person would write it back to Spark: the largest unit that
/// divides it exactly (`471859200` → `"450m"`).
pub fn format_bytes(bytes: u64) -> String {
    let (suffix, size) = UNITS
        .iter()
        .rev()
        .find(|(_, size)| bytes != 0 && bytes.is_multiple_of(*size))
        .copied()
        .unwrap_or(UNITS[0]);
    format!("{}{suffix}", bytes / size)
}

/// Splits off the leading ASCII digits.
fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

/// Bytes per unit for a lower-cased suffix; `kb` and `k` are the same binary unit in Spark.
fn unit_bytes(suffix: &str) -> Option<u64> {
    UNITS
        .iter()
        .find(|(name, _)| suffix == *name || (*name != "b" && suffix == format!("{name}b")))
        .map(|(_, size)| *size)
}

/// `2.5` of `g` written as a whole number of the largest smaller unit that holds it exactly
/// (`"2560m"`), or `None` when no unit does or the unit is missing or unknown.
fn exact_whole(whole: &str, fraction: &str, unit: &str) -> Option<String> {
    let multiplier = unit_bytes(unit)?;
    let scale = 10u128.checked_pow(u32::try_from(fraction.len()).ok()?)?;
    let scaled: u128 = format!("{whole}{fraction}").parse().ok()?;
    UNITS
        .iter()
        .rev()
        .filter(|(_, size)| *size < multiplier)
        .find_map(|(suffix, size)| {
            let numerator = scaled.checked_mul(u128::from(multiplier / size))?;
            (numerator % scale == 0).then(|| format!("{}{suffix}", numerator / scale))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spark_sizes_in_any_case() {
        let cases: &[(&str, u64)] = &[
            ("2g", 2 * 1024 * MIB),
            ("512m", 512 * MIB),
            ("1024k", MIB),
            ("2G", 2 * 1024 * MIB),
            ("4096mb", 4096 * MIB),
            ("4096MB", 4096 * MIB),
            ("1Gb", 1024 * MIB),
            ("10b", 10),
            ("1t", 1024 * 1024 * MIB),
            ("1pb", 1024 * 1024 * 1024 * MIB),
            ("0g", 0),
            ("007m", 7 * MIB),
            ("450m", MIN_EXECUTOR_MEMORY_BYTES),
        ];
        for (text, bytes) in cases {
            assert_eq!(parse_memory(text), Ok(*bytes), "{text}");
        }
        assert_eq!(MIN_EXECUTOR_MEMORY_BYTES, 471_859_200);
    }

    #[test]
    fn refuses_what_spark_refuses_and_bare_numbers() {
        let missing = |d: &str| MemoryError::MissingUnit { digits: d.into() };
        let cases: &[(&str, MemoryError)] = &[
            ("", MemoryError::Empty),
            ("2", missing("2")),
            (
                "2.5g",
                MemoryError::Fraction {
                    exact: Some("2560m".into()),
                },
            ),
            (
                "0.5k",
                MemoryError::Fraction {
                    exact: Some("512b".into()),
                },
            ),
            ("1.3g", MemoryError::Fraction { exact: None }),
            ("2.5", MemoryError::Fraction { exact: None }),
            ("g", MemoryError::NotANumber),
            ("-1g", MemoryError::NotANumber),
            (".5g", MemoryError::NotANumber),
            ("2 g", MemoryError::Whitespace),
            (" 2g", MemoryError::Whitespace),
            ("2g\n", MemoryError::Whitespace),
            ("2gib", MemoryError::UnknownUnit("gib".into())),
            ("2Gi", MemoryError::UnknownUnit("Gi".into())),
            ("2x", MemoryError::UnknownUnit("x".into())),
            ("2bb", MemoryError::UnknownUnit("bb".into())),
            ("2.g", MemoryError::UnknownUnit(".g".into())),
            ("8192p", MemoryError::TooLarge),
            ("99999999999999999999b", MemoryError::TooLarge),
            // Fits 64 bits as a number, overflows once multiplied by the unit (issue 6).
            ("9999999999999999999g", MemoryError::TooLarge),
        ];
        for (text, error) in cases {
            assert_eq!(parse_memory(text).as_ref(), Err(error), "{text:?}");
        }
    }

    #[test]
    fn suggestions_are_valid_sizes_of_the_same_amount_when_possible() {
        for (text, suggestion) in [("2.5g", "2560m"), ("2", "2m"), ("1.3g", "2g"), ("g", "2g")] {
            let Err(error) = parse_memory(text) else {
                panic!("{text} parsed")
            };
            assert_eq!(error.suggestion(), suggestion, "{text}");
            assert!(parse_memory(&error.suggestion()).is_ok());
        }
        assert_eq!(
            parse_memory("2560m"),
            Ok(5 * 512 * MIB),
            "2.5g and its suggestion are the same size"
        );
    }

    #[test]
    fn formats_bytes_with_the_largest_exact_unit() {
        assert_eq!(format_bytes(MIN_EXECUTOR_MEMORY_BYTES), "450m");
        assert_eq!(format_bytes(2 * 1024 * MIB), "2g");
        assert_eq!(format_bytes(1536), "1536b");
        assert_eq!(format_bytes(0), "0b");
    }
}
