//! Syntax checks for the values a server takes: ISO-8601 durations (as Java's `Duration.parse`
//! reads them) and Kubernetes resource quantities. Kubernetes names and labels are
//! [`crate::names`]'s, re-exported here for the server's rules.
//!
//! Each check returns what is wrong, completing "`<value>` …", or `None`. Which attribute a rule
//! applies to is [`mod@super::validate`]'s business.

pub use crate::names::{
    dns1035_label_problem, dns1123_label_problem, dns1123_subdomain_problem, label_key_problem,
    label_value_problem,
};

/// An ISO-8601 duration as Kyuubi reads it (Java's `Duration.parse`), restricted to the
/// unsigned, upper-case form: `P[nD][T[nH][nM][n[.f]S]]` with at least one part, e.g. `PT30M`,
/// `PT1H`, `PT45S`, `P1DT12H`, `PT0.5S`.
pub fn iso_duration_problem(text: &str) -> Option<&'static str> {
    const SHAPE: &str = "is not an ISO-8601 duration like \"PT30M\", \"PT1H\", \"PT45S\" or \
                         \"P1DT12H\" (upper case, no sign)";
    let Some(rest) = text.strip_prefix('P') else {
        return Some(SHAPE);
    };
    let (days, time) = match rest.split_once('T') {
        Some((days, time)) => (days, Some(time)),
        None => (rest, None),
    };
    let mut parts = 0;
    if !days.is_empty() {
        match days.strip_suffix('D') {
            Some(number) if is_digits(number) => parts += 1,
            _ => return Some(SHAPE),
        }
    }
    if let Some(time) = time {
        if time.is_empty() {
            return Some(SHAPE);
        }
        let mut rest = time;
        // Units must come in this order, each at most once.
        for unit in ['H', 'M', 'S'] {
            if let Some(at) = rest.find(unit) {
                let number = &rest[..at];
                let valid = if unit == 'S' {
                    match number.split_once('.') {
                        Some((whole, fraction)) => {
                            is_digits(whole) && is_digits(fraction) && fraction.len() <= 9
                        }
                        None => is_digits(number),
                    }
                } else {
                    is_digits(number)
                };
                if !valid {
                    return Some(SHAPE);
                }
                parts += 1;
                rest = &rest[at + 1..];
            }
        }
        if !rest.is_empty() {
            return Some(SHAPE);
        }
    }
    (parts == 0).then_some(SHAPE)
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Why a text is not a Kubernetes quantity.
const QUANTITY_SHAPE: &str = "is not a Kubernetes quantity: write a non-negative number with an \
    optional suffix, e.g. \"500m\", \"2\", \"512Mi\", \"4Gi\", \"1e3\"";

/// Parses a non-negative Kubernetes quantity (`<number><suffix>`, suffix one of
/// `Ki Mi Gi Ti Pi Ei`, `n u m k M G T P E`, or `e<exp>`/`E<exp>`) into billionths of a unit,
/// rounding up below that (as Kubernetes does), so quantities compare exactly: `0.5` = `500m`.
pub fn parse_quantity_nanos(text: &str) -> Result<u128, &'static str> {
    let text = text.strip_prefix('+').unwrap_or(text);
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(QUANTITY_SHAPE);
    }
    // value = digits × 10^exp10 × 2^exp2, with digits = whole ++ fraction.
    let (mut exp10, exp2): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E']).ok_or(QUANTITY_SHAPE)?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if !is_digits(digits) || digits.len() > 3 {
                return Err(QUANTITY_SHAPE);
            }
            (exponent.parse::<i32>().map_err(|_| QUANTITY_SHAPE)?, 0)
        }
    };
    const TOO_LARGE: &str = "is too large for a resource quantity";
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    exp10 -= i32::try_from(fraction.len()).map_err(|_| TOO_LARGE)?;
    // Work in nanos: shift by 9, then apply exp10; round up what falls below a nano.
    exp10 += 9;
    let mut value: u128 = 0;
    let mut dropped_nonzero = false;
    let keep = if exp10 >= 0 {
        digits.len()
    } else {
        digits.len().saturating_sub(exp10.unsigned_abs() as usize)
    };
    for (i, digit) in digits.bytes().enumerate() {
        let digit = u128::from(digit - b'0');
        if i < keep {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(digit))
                .ok_or(TOO_LARGE)?;
        } else if digit != 0 {
            dropped_nonzero = true;
        }
    }
    if exp10 > 0 {
        let scale = 10u128.checked_pow(exp10.unsigned_abs()).ok_or(TOO_LARGE)?;
        value = value.checked_mul(scale).ok_or(TOO_LARGE)?;
    }
    value = value.checked_mul(1u128 << exp2).ok_or(TOO_LARGE)?;
    if dropped_nonzero {
        value += 1;
    }
    // Kubernetes keeps quantities in 63 bits of milli-units at most; beyond that is not a size.
    if value / 1_000_000 > i64::MAX as u128 {
        return Err(TOO_LARGE);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations() {
        for ok in [
            "PT30M",
            "PT1H",
            "PT45S",
            "P1D",
            "P1DT12H",
            "PT1H30M",
            "PT0.5S",
            "PT1H2M3.25S",
            "PT0S",
        ] {
            assert_eq!(iso_duration_problem(ok), None, "{ok}");
        }
        for bad in [
            "", "30m", "P", "PT", "pt30m", "PT30", "PT-30M", "-PT30M", "PT30M1H", "PT1H1H", "P1H",
            "PT1.5M", "PT.5S", "P1W", "PT1M ", "1800000",
        ] {
            assert!(iso_duration_problem(bad).is_some(), "{bad:?} accepted");
        }
    }

    #[test]
    fn quantities_compare_exactly() {
        let nanos = |t: &str| parse_quantity_nanos(t);
        assert_eq!(nanos("500m"), Ok(500_000_000));
        assert_eq!(nanos("0.5"), nanos("500m"));
        assert_eq!(nanos(".5"), nanos("500m"));
        assert_eq!(nanos("2"), Ok(2_000_000_000));
        assert_eq!(nanos("1Ki"), Ok(1024 * 1_000_000_000));
        assert_eq!(nanos("1Gi"), nanos("1073741824"));
        assert_eq!(nanos("1k"), nanos("1e3"));
        assert_eq!(nanos("1E3"), nanos("1000"));
        assert_eq!(nanos("1.5Gi"), Ok(1_610_612_736 * 1_000_000_000));
        assert_eq!(nanos("1n"), Ok(1));
        // Below a nano rounds up, as the API server does.
        assert_eq!(nanos("0.0000000001"), Ok(1));
        assert_eq!(nanos("+1"), Ok(1_000_000_000));
        for bad in [
            "", "m", "-1", "1.2.3", "1mi", "1KB", "1 Gi", "1e", "1e1000", "two", "1Gi1",
        ] {
            assert!(nanos(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            nanos("100000Ei"),
            Err("is too large for a resource quantity")
        );
    }
}
