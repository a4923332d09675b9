//! Wall-clock timestamps in the API's RFC 3339 form, and the random-looking names the server and
//! controllers make up (uids, replica-set hashes, pod suffixes, event names).
//!
//! Leaves out real randomness: ids come from a hash of a per-double seed and a counter, so they
//! differ between doubles and never repeat inside one.

use aws_lc_rs::digest::{Context, SHA256, digest};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch; the API's timestamps have second resolution.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `2026-11-25T01:02:02Z` for `secs` since the epoch (UTC, proleptic Gregorian calendar).
pub(crate) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm): shift the era to start on 1 March.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The current time in RFC 3339 form.
pub(crate) fn now() -> String {
    rfc3339(now_secs())
}

/// Makes ids that look like the real server's and controllers'.
#[derive(Debug)]
pub(crate) struct Ids {
    seed: u128,
    counter: u64,
}

/// The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

impl Ids {
    /// A generator seeded from the clock, so two doubles do not hand out the same uids.
    pub(crate) fn new() -> Ids {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Ids { seed, counter: 0 }
    }

    /// 32 bytes no earlier call returned (the raw material of every id).
    pub(crate) fn next_bytes(&mut self) -> [u8; 32] {
        self.counter += 1;
        let mut h = Context::new(&SHA256);
        h.update(&self.seed.to_le_bytes());
        h.update(&self.counter.to_le_bytes());
        let mut bytes = [0; 32];
        bytes.copy_from_slice(h.finish().as_ref());
        bytes
    }

    /// A version-4-shaped uid.
    pub(crate) fn uid(&mut self) -> String {
        let b = self.next_bytes();
        let hex = hex(&b[..16]);
        format!(
            "{}-{}-4{}-a{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        )
    }

    /// `n` characters from the safe alphabet (pod name suffixes).
    pub(crate) fn suffix(&mut self, n: usize) -> String {
        self.next_bytes()
            .iter()
            .take(n)
            .map(|b| char::from(SAFE[usize::from(*b) % SAFE.len()]))
            .collect()
    }

    /// 16 hex digits, like the nanosecond stamp the event recorder appends to event names.
    pub(crate) fn event_suffix(&mut self) -> String {
        hex(&self.next_bytes()[..8])
    }
}

/// `bytes` as lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A stable 10-character hash of `text` in the safe alphabet (the `pod-template-hash`).
pub(crate) fn safe_hash(text: &str) -> String {
    digest(&SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .take(10)
        .map(|b| char::from(SAFE[usize::from(*b) % SAFE.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_568_522), "2026-11-25T01:02:02Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
