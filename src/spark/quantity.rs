//! Kubernetes CPU quantities (`"2"`, `"1.8"`, `"500m"`): parse to exact millicores, integers only.
//!
//! Accepts the forms people write for CPU: whole or decimal CPUs (`"2"`, `"0.5"`, `"1.8"`) and
//! whole millicores (`"500m"`). Refused although Kubernetes' full quantity grammar has them:
//! signs, exponents (`"1e3"`), other suffixes (`"1k"`, `"1Ki"`) and the bare-point forms `".5"` and
//! `"5."`. Spark passes the text untouched into every executor pod, so keeping to the common
//! forms keeps the stored value readable and equal to what the pods show; nothing of value is
//! lost, since any CPU amount has a plain decimal spelling. Precision finer than 1m is refused,
//! as Kubernetes does for CPU. Range rules (more than zero, request ≤ limit) are validation's.

use thiserror::Error;

/// Millicores per CPU.
const MILLIS_PER_CPU: u64 = 1000;

/// Why a string is not a CPU quantity. Each message completes "… is not a CPU quantity: ".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuantityError {
    /// Nothing was given.
    #[error("it is empty")]
    Empty,
    /// Spaces anywhere, including around the value.
    #[error("it contains whitespace")]
    Whitespace,
    /// A leading `-`.
    #[error("CPU cannot be negative")]
    Negative,
    /// A leading `+`.
    #[error("write it without a sign")]
    Sign,
    /// `1e3`: valid for Kubernetes, refused here (see the module docs).
    #[error("exponents are not accepted")]
    Exponent,
    /// A suffix other than `m`.
    #[error("the suffix {0:?} is not used for CPU")]
    Suffix(String),
    /// More than three decimals, or a fraction of a millicore.
    #[error("Kubernetes does not allow CPU precision finer than 1m")]
    TooPrecise,
    /// Anything else that is not a number: `"abc"`, `"1.8.1"`, `".5"`.
    #[error("it is not a plain number")]
    Malformed,
    /// More millicores than a 64-bit integer holds.
    #[error("it is too large")]
    TooLarge,
}

/// Parses a CPU quantity to millicores: `"1.8"` → 1800, `"500m"` → 500, `"0.001"` → 1.
/// Zero parses; whether it is allowed is validation's call.
pub fn parse_cpu_millis(text: &str) -> Result<u64, QuantityError> {
    if text.is_empty() {
        return Err(QuantityError::Empty);
    }
    if text.chars().any(char::is_whitespace) {
        return Err(QuantityError::Whitespace);
    }
    if text.starts_with('-') {
        return Err(QuantityError::Negative);
    }
    if text.starts_with('+') {
        return Err(QuantityError::Sign);
    }
    let (whole, rest) = split_digits(text);
    let (fraction, suffix) = match rest.strip_prefix('.') {
        Some(after_point) => {
            let (fraction, suffix) = split_digits(after_point);
            if fraction.is_empty() {
                return Err(QuantityError::Malformed);
            }
            (Some(fraction), suffix)
        }
        None => (None, rest),
    };
    if whole.is_empty() {
        return Err(QuantityError::Malformed);
    }
    let whole: u64 = whole.parse().map_err(|_| QuantityError::TooLarge)?;
    match suffix {
        "" => {
            let millis = fraction.map_or(Ok(0), fraction_millis)?;
            whole
                .checked_mul(MILLIS_PER_CPU)
                .and_then(|m| m.checked_add(millis))
                .ok_or(QuantityError::TooLarge)
        }
        // `1.5m` would be a fraction of a millicore.
        "m" if fraction.is_some() => Err(QuantityError::TooPrecise),
        "m" => Ok(whole),
        _ if is_exponent(suffix) => Err(QuantityError::Exponent),
        _ if suffix.chars().all(|c| c.is_ascii_alphabetic()) => {
            Err(QuantityError::Suffix(suffix.to_owned()))
        }
        _ => Err(QuantityError::Malformed),
    }
}

/// Formats millicores for messages, in the unit Kubernetes shows for CPU: `1800` → `"1800m"`.
pub fn format_millis(millis: u64) -> String {
    format!("{millis}m")
}

/// The millicores in the decimals after the point: `"8"` → 800, `"0010"` → 1. Digits after the
/// third must be zeros.
fn fraction_millis(fraction: &str) -> Result<u64, QuantityError> {
    let (kept, beyond) = fraction.split_at(fraction.len().min(3));
    if beyond.bytes().any(|b| b != b'0') {
        return Err(QuantityError::TooPrecise);
    }
    // Pad to three digits so "8" means 800, not 8; `kept` holds at most 3 ASCII digits.
    format!("{kept:0<3}")
        .parse()
        .map_err(|_| QuantityError::Malformed)
}

/// `e3`, `E-2`, `e+1`: Kubernetes' decimal exponent form. (`E` alone is the exa suffix.)
fn is_exponent(suffix: &str) -> bool {
    let mut chars = suffix.chars();
    matches!(chars.next(), Some('e' | 'E'))
        && matches!(chars.next(), Some(c) if c.is_ascii_digit() || c == '+' || c == '-')
}

/// Splits off the leading ASCII digits.
fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpus_and_millicores_exactly() {
        let cases: &[(&str, u64)] = &[
            ("2", 2000),
            ("1.8", 1800),
            ("500m", 500),
            ("0.5", 500),
            ("0.001", 1),
            ("0.0010", 1),
            ("1.250", 1250),
            ("0", 0),
            ("0m", 0),
            ("1000m", 1000),
            ("64", 64_000),
            ("007", 7000),
        ];
        for (text, millis) in cases {
            assert_eq!(parse_cpu_millis(text), Ok(*millis), "{text}");
        }
        assert_eq!(
            parse_cpu_millis("0.5"),
            parse_cpu_millis("500m"),
            "equal amounts compare equal whatever the spelling"
        );
    }

    #[test]
    fn refuses_everything_else_with_the_reason() {
        let cases: &[(&str, QuantityError)] = &[
            ("", QuantityError::Empty),
            ("abc", QuantityError::Malformed),
            ("-1", QuantityError::Negative),
            ("+1", QuantityError::Sign),
            ("1.8.1", QuantityError::Malformed),
            (".5", QuantityError::Malformed),
            ("5.", QuantityError::Malformed),
            ("1e3", QuantityError::Exponent),
            ("1E-2", QuantityError::Exponent),
            ("1E", QuantityError::Suffix("E".into())),
            ("1k", QuantityError::Suffix("k".into())),
            ("1Ki", QuantityError::Suffix("Ki".into())),
            ("100M", QuantityError::Suffix("M".into())),
            ("0.0001", QuantityError::TooPrecise),
            ("1.5m", QuantityError::TooPrecise),
            ("1 ", QuantityError::Whitespace),
            ("1 m", QuantityError::Whitespace),
            ("1m5", QuantityError::Malformed),
            ("99999999999999999999", QuantityError::TooLarge),
            ("18446744073709552", QuantityError::TooLarge),
        ];
        for (text, error) in cases {
            assert_eq!(parse_cpu_millis(text).as_ref(), Err(error), "{text:?}");
        }
    }

    #[test]
    fn formats_millicores() {
        assert_eq!(format_millis(1800), "1800m");
    }
}
