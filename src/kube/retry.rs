//! When to send a failed Kubernetes request again, and after how long: a pure policy, decided
//! from the request as sent and what came back, with no clock and no randomness of its own.
//!
//! Only requests that do the same thing however often they arrive are retried: GET (reads and
//! lists), DELETE (a second delete of a gone object is a 404, read as "gone"), and server-side
//! apply (a PATCH of `application/apply-patch+yaml` states the whole intent, so applying it twice
//! is applying it once). Anything else, a POST above all, could be done twice and is never
//! retried. Retried are the answers that say "not now" (429, 500, 502, 503, 504) and failures
//! to get any answer (refused, reset, timed out). The pause doubles from [`RetryPolicy::first_pause`]
//! up to [`RetryPolicy::longest_pause`], with jitter so that parallel callers spread out; a
//! `Retry-After` from the server replaces it. No pause may end past the operation's deadline.
//!
//! Sending, sleeping and drawing the jitter are the client's (`client.rs`).

use std::time::Duration;

/// What a failed attempt came back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure<'a> {
    /// The server answered with this HTTP status and, maybe, a `Retry-After` header.
    Answered {
        /// The HTTP status code.
        code: u16,
        /// The raw `Retry-After` header, if the answer had one.
        retry_after: Option<&'a str>,
    },
    /// No answer: the connection was refused, reset or timed out.
    NoAnswer,
    /// Anything else (an undecodable answer, a TLS or credentials problem): it would fail the
    /// same way again.
    Other,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then send the request again.
    RetryAfter(Duration),
    /// Stop and report the failure.
    GiveUp(GiveUp),
}

/// Why no further attempt is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// The failure is an answer that another attempt would not change (404, 409, 422, …), or
    /// the request is not safe to repeat.
    NotRetryable,
    /// Every attempt the policy allows has been made.
    AttemptsExhausted,
    /// The pause before the next attempt would end past the operation's deadline.
    DeadlineTooClose,
}

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GiveUp::NotRetryable => "the failure is not one a retry can fix",
            GiveUp::AttemptsExhausted => "the retries ran out",
            GiveUp::DeadlineTooClose => "the operation's timeout would pass before the next try",
        })
    }
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    /// The pause after the first failure, before jitter.
    pub first_pause: Duration,
    /// The longest pause backoff grows to, before jitter.
    pub longest_pause: Duration,
    /// The longest `Retry-After` honoured as given; a longer one is cut to this.
    pub longest_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Five attempts, pausing about 0.2 s, 0.4 s, 0.8 s and 1.6 s: a restarting API server or a
    /// throttled burst gets some three seconds to recover, and a Terraform run never waits long
    /// on a server that is really down.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            first_pause: Duration::from_millis(200),
            longest_pause: Duration::from_secs(5),
            longest_retry_after: Duration::from_secs(10),
        }
    }
}

/// Whether sending the request twice does no more than sending it once: GET, HEAD, DELETE and
/// server-side apply PATCH. `content_type` is the request's `Content-Type`, if any.
pub fn is_idempotent(method: &str, content_type: Option<&str>) -> bool {
    match method {
        "GET" | "HEAD" | "DELETE" => true,
        "PATCH" => content_type
            .and_then(|c| c.split(';').next())
            .is_some_and(|c| {
                c.trim()
                    .eq_ignore_ascii_case("application/apply-patch+yaml")
            }),
        _ => false,
    }
}

/// Whether an answer with this status says "try again later" rather than "no".
pub fn is_retryable_status(code: u16) -> bool {
    matches!(code, 429 | 500 | 502 | 503 | 504)
}

/// A `Retry-After` header's delay. Only the delta-seconds form: the API server sends nothing
/// else, and an HTTP date would need a clock.
pub fn parse_retry_after(header: &str) -> Option<Duration> {
    header.trim().parse::<u64>().ok().map(Duration::from_secs)
}

impl RetryPolicy {
    /// The decision after attempt number `attempts_made` (1 for the first) of a request failed
    /// with `failure`. `idempotent` says whether the request may be repeated (see
    /// [`is_idempotent`]); `time_left` is what remains until the operation's deadline (`None`:
    /// no deadline); `jitter` is a number in `[0, 1)` the caller draws at random.
    pub fn decide(
        &self,
        idempotent: bool,
        failure: Failure<'_>,
        attempts_made: u32,
        time_left: Option<Duration>,
        jitter: f64,
    ) -> Decision {
        let retryable = match failure {
            Failure::Answered { code, .. } => is_retryable_status(code),
            Failure::NoAnswer => true,
            Failure::Other => false,
        };
        if !idempotent || !retryable {
            return Decision::GiveUp(GiveUp::NotRetryable);
        }
        if attempts_made >= self.max_attempts {
            return Decision::GiveUp(GiveUp::AttemptsExhausted);
        }
        let server_says = match failure {
            Failure::Answered {
                retry_after: Some(header),
                ..
            } => parse_retry_after(header).map(|d| d.min(self.longest_retry_after)),
            _ => None,
        };
        let pause = server_says.unwrap_or_else(|| self.backoff(attempts_made, jitter));
        match time_left {
            Some(left) if pause >= left => Decision::GiveUp(GiveUp::DeadlineTooClose),
            _ => Decision::RetryAfter(pause),
        }
    }

    /// The pause after `attempts_made` failures: doubling from `first_pause`, capped at
    /// `longest_pause`, then scaled into `[½, 1)` of itself by `jitter` ("equal jitter"), so a
    /// pause never shrinks to nothing and parallel callers do not retry in step.
    pub fn backoff(&self, attempts_made: u32, jitter: f64) -> Duration {
        let doublings = attempts_made.saturating_sub(1).min(31);
        let full = self
            .first_pause
            .saturating_mul(1u32 << doublings)
            .min(self.longest_pause);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        full.mul_f64(0.5 + jitter / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SSA: Option<&str> = Some("application/apply-patch+yaml");

    fn unavailable() -> Failure<'static> {
        Failure::Answered {
            code: 503,
            retry_after: None,
        }
    }

    #[test]
    fn only_requests_safe_to_repeat_are_idempotent() {
        let cases = [
            ("GET", None, true),
            ("DELETE", None, true),
            ("PATCH", SSA, true),
            (
                "PATCH",
                Some("application/apply-patch+yaml; charset=utf-8"),
                true,
            ),
            ("PATCH", Some("application/merge-patch+json"), false),
            ("PATCH", Some("application/json-patch+json"), false),
            ("PATCH", None, false),
            ("POST", Some("application/json"), false),
            ("PUT", Some("application/json"), false),
        ];
        for (method, content_type, expected) in cases {
            assert_eq!(
                is_idempotent(method, content_type),
                expected,
                "{method} {content_type:?}"
            );
        }
    }

    #[test]
    fn not_now_answers_and_silence_are_retried_refusals_are_not() {
        let policy = RetryPolicy::default();
        for code in [429, 500, 502, 503, 504] {
            let failure = Failure::Answered {
                code,
                retry_after: None,
            };
            assert!(
                matches!(
                    policy.decide(true, failure, 1, None, 0.0),
                    Decision::RetryAfter(_)
                ),
                "{code}"
            );
        }
        assert!(matches!(
            policy.decide(true, Failure::NoAnswer, 1, None, 0.0),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            policy.decide(true, Failure::Other, 1, None, 0.0),
            Decision::GiveUp(GiveUp::NotRetryable)
        );
        for code in [400, 401, 403, 404, 409, 422, 501] {
            let failure = Failure::Answered {
                code,
                retry_after: None,
            };
            assert_eq!(
                policy.decide(true, failure, 1, None, 0.0),
                Decision::GiveUp(GiveUp::NotRetryable),
                "{code}"
            );
        }
    }

    #[test]
    fn a_request_that_is_not_idempotent_is_never_retried() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.decide(false, unavailable(), 1, None, 0.0),
            Decision::GiveUp(GiveUp::NotRetryable)
        );
        assert_eq!(
            policy.decide(false, Failure::NoAnswer, 1, None, 0.0),
            Decision::GiveUp(GiveUp::NotRetryable)
        );
    }

    #[test]
    fn pauses_double_up_to_the_cap_and_attempts_are_bounded() {
        let policy = RetryPolicy {
            max_attempts: 6,
            first_pause: Duration::from_millis(100),
            longest_pause: Duration::from_millis(500),
            longest_retry_after: Duration::from_secs(10),
        };
        // jitter just under 1 gives (almost) the full pause; 0 gives half of it.
        let pauses: Vec<Decision> = (1..=6)
            .map(|attempt| policy.decide(true, unavailable(), attempt, None, 0.0))
            .collect();
        let ms = |n| Decision::RetryAfter(Duration::from_millis(n));
        assert_eq!(
            pauses,
            [
                ms(50),
                ms(100),
                ms(200),
                ms(250),
                ms(250),
                Decision::GiveUp(GiveUp::AttemptsExhausted)
            ]
        );
        assert_eq!(policy.backoff(3, 0.5), Duration::from_millis(300));
    }

    #[test]
    fn jitter_stays_within_half_and_all_of_the_pause() {
        let policy = RetryPolicy::default();
        for jitter in [0.0, 0.25, 0.999, 1.0, -3.0, 7.0, f64::NAN, f64::INFINITY] {
            let pause = policy.backoff(2, jitter);
            assert!(
                pause >= Duration::from_millis(200) && pause <= Duration::from_millis(400),
                "{jitter}: {pause:?}"
            );
        }
        // Huge attempt counts neither overflow nor pass the cap.
        assert_eq!(policy.backoff(u32::MAX, 1.0), Duration::from_secs(5));
    }

    #[test]
    fn retry_after_replaces_the_backoff_within_bounds() {
        let policy = RetryPolicy::default();
        let answer = |header| Failure::Answered {
            code: 429,
            retry_after: Some(header),
        };
        assert_eq!(
            policy.decide(true, answer("2"), 1, None, 0.0),
            Decision::RetryAfter(Duration::from_secs(2))
        );
        assert_eq!(
            policy.decide(true, answer(" 0 "), 1, None, 0.9),
            Decision::RetryAfter(Duration::ZERO)
        );
        assert_eq!(
            policy.decide(true, answer("3600"), 1, None, 0.0),
            Decision::RetryAfter(Duration::from_secs(10)),
            "an hour is cut to the longest honoured wait"
        );
        // A date (or nonsense) falls back to the backoff.
        assert_eq!(
            policy.decide(true, answer("Wed, 21 Oct 2026 07:28:00 GMT"), 1, None, 0.0),
            Decision::RetryAfter(Duration::from_millis(100))
        );
    }

    #[test]
    fn no_pause_ends_past_the_deadline() {
        let policy = RetryPolicy::default();
        let retry_after_5 = Failure::Answered {
            code: 503,
            retry_after: Some("5"),
        };
        assert_eq!(
            policy.decide(true, retry_after_5, 1, Some(Duration::from_secs(4)), 0.0),
            Decision::GiveUp(GiveUp::DeadlineTooClose)
        );
        assert_eq!(
            policy.decide(true, retry_after_5, 1, Some(Duration::from_secs(6)), 0.0),
            Decision::RetryAfter(Duration::from_secs(5))
        );
        assert_eq!(
            policy.decide(true, unavailable(), 1, Some(Duration::from_millis(50)), 0.0),
            Decision::GiveUp(GiveUp::DeadlineTooClose)
        );
        assert_eq!(
            policy.decide(true, unavailable(), 1, Some(Duration::ZERO), 0.0),
            Decision::GiveUp(GiveUp::DeadlineTooClose)
        );
    }
}
