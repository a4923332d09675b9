//! Faults a test switches on: the double answers chosen requests with a 429/5xx `Status` (with
//! `Retry-After` if asked), or never answers them, for a number of times or until cleared.
//!
//! Matched requests are still logged (a client's retries show in [`super::KubeDouble::requests`])
//! but, except with [`Answer::HandleThenHang`], never reach the store, so a faulted write changes
//! nothing, as on a real server that refused it. Leaves out faults mid-body (a reset after some bytes): kube-rs reads whole bodies,
//! so a hang covers what a client sees of them.

use serde_json::{Value, json};

/// What a matched request gets instead of its real answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A `Status` failure with this code (`429` is `TooManyRequests`, `5xx` `ServiceUnavailable`
    /// and kin), and a `Retry-After: <seconds>` header when given.
    Status {
        /// HTTP status code.
        code: u16,
        /// Seconds for the `Retry-After` header.
        retry_after: Option<u32>,
    },
    /// No answer ever: the connection stays open and silent until the double stops.
    Hang,
    /// The request is carried out (an apply is stored), then never answered: the server did
    /// the work and the client never learns it.
    HandleThenHang,
}

/// One fault: which requests, what they get, and how many more times.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    /// `GET`, `PATCH`, `DELETE`; `None` for any method.
    method: Option<String>,
    /// Matched against the path (no query); empty matches every path.
    path_contains: String,
    answer: Answer,
    /// `None`: until cleared.
    remaining: Option<u32>,
}

impl Fault {
    /// `answer` for every request with `method` (any when `None`) whose path contains
    /// `path_contains`, until cleared.
    pub(crate) fn new(method: Option<&str>, path_contains: &str, answer: Answer) -> Fault {
        Fault {
            method: method.map(str::to_owned),
            path_contains: path_contains.to_owned(),
            answer,
            remaining: None,
        }
    }

    /// Only for the next `n` matching requests.
    #[must_use]
    pub(crate) fn times(mut self, n: u32) -> Fault {
        self.remaining = Some(n);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.remaining != Some(0)
            && self.method.as_deref().is_none_or(|m| m == method)
            && path.contains(&self.path_contains)
    }
}

/// The faults in force, first match wins.
#[derive(Debug, Default)]
pub(crate) struct Faults(Vec<Fault>);

impl Faults {
    /// Adds a fault after those already set.
    pub(crate) fn push(&mut self, fault: Fault) {
        self.0.push(fault);
    }

    /// Removes every fault.
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// The answer for this request, if a fault matches it (counting it down).
    pub(crate) fn take(&mut self, method: &str, path: &str) -> Option<Answer> {
        let fault = self.0.iter_mut().find(|f| f.matches(method, path))?;
        if let Some(n) = &mut fault.remaining {
            *n -= 1;
        }
        Some(fault.answer)
    }
}

/// The body kube-apiserver sends with these codes.
pub(crate) fn status_body(code: u16, retry_after: Option<u32>) -> Value {
    let (reason, message) = match code {
        429 => (
            "TooManyRequests",
            "Too many requests, please try again later.",
        ),
        504 => (
            "Timeout",
            "the server was unable to return a response in the time allotted",
        ),
        _ => (
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ),
    };
    let mut body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    });
    if let Some(seconds) = retry_after {
        body["details"] = json!({"retryAfterSeconds": seconds});
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_counts_down_then_stops_matching() {
        let mut faults = Faults::default();
        let unavailable = Answer::Status {
            code: 503,
            retry_after: None,
        };
        faults.push(Fault::new(Some("PATCH"), "/deployments/", unavailable).times(2));
        faults.push(Fault::new(None, "", Answer::Hang).times(1));
        let path = "/apis/apps/v1/namespaces/kyuubi/deployments/kyuubi-dbt";
        assert_eq!(faults.take("PATCH", path), Some(unavailable));
        assert_eq!(faults.take("PATCH", path), Some(unavailable));
        assert_eq!(faults.take("PATCH", path), Some(Answer::Hang));
        assert_eq!(faults.take("PATCH", path), None);
        faults.push(Fault::new(Some("GET"), "", unavailable));
        assert_eq!(faults.take("PATCH", path), None);
        assert_eq!(faults.take("GET", path), Some(unavailable));
        faults.clear();
        assert_eq!(faults.take("GET", path), None);
    }
}
