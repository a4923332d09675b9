//! Kubernetes events reduced to what an error message needs: who, why, what, how often, when.
//!
//! Fetching them is in `client.rs`; choosing which to show a user is the resources' job.

use std::fmt;

use serde_json::Value;

/// One core `v1` Event, flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The object it is about: `Kind name` (e.g. `Pod kyuubi-dbt-5455d4b749-8l6bj`).
    pub object: String,
    /// Machine-readable reason, e.g. `FailedScheduling`, `BackOff`.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// `Normal` or `Warning`.
    pub type_: String,
    /// How many times it happened (at least 1).
    pub count: u32,
    /// When it last happened (RFC 3339), if the event says.
    pub last_seen: Option<String>,
}

impl Event {
    /// Reads an Event object. Events written through the newer `events.k8s.io` API appear in
    /// `v1` with `series` and `eventTime` instead of `count` and `lastTimestamp`; both are read.
    pub fn from_object(object: &Value) -> Event {
        let text = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let count = ["/count", "/series/count"]
            .iter()
            .find_map(|p| object.pointer(p).and_then(Value::as_u64))
            .map_or(1, |c| u32::try_from(c).unwrap_or(u32::MAX).max(1));
        let last_seen = [
            "/lastTimestamp",
            "/series/lastObservedTime",
            "/eventTime",
            "/metadata/creationTimestamp",
        ]
        .iter()
        .find_map(|p| text(p));
        Event {
            object: format!(
                "{} {}",
                text("/involvedObject/kind").unwrap_or_default(),
                text("/involvedObject/name").unwrap_or_default()
            ),
            reason: text("/reason").unwrap_or_default(),
            message: text("/message").unwrap_or_default(),
            type_: text("/type").unwrap_or_else(|| "Normal".to_owned()),
            count,
            last_seen,
        }
    }

    /// True for `Warning` events, the ones that explain a failed rollout.
    pub fn is_warning(&self) -> bool {
        self.type_ == "Warning"
    }
}

/// One line, as `kubectl get events` would show it:
/// `2026-11-25T01:02:12Z Warning BackOff Pod p: Back-off pulling image (7 times)`.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.last_seen {
            write!(f, "{at} ")?;
        }
        write!(f, "{} {} {}", self.type_, self.reason, self.object)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if self.count > 1 {
            write!(f, " ({} times)", self.count)?;
        }
        Ok(())
    }
}

/// Orders events oldest first, so the last lines of a message are the latest news. RFC 3339
/// strings in UTC sort as text; events without a time go first.
pub(crate) fn sort_events(events: &mut [Event]) {
    events.sort_by(|a, b| a.last_seen.cmp(&b.last_seen));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_recorded_controller_event() {
        // Recording 19, first item (managedFields dropped).
        let object = json!({
            "metadata": {"name": "kyuubi-dbt-5455d4b749.18eb241136c5e9d7", "namespace": "kyuubi",
                         "creationTimestamp": "2026-11-25T01:02:12Z"},
            "involvedObject": {"kind": "ReplicaSet", "namespace": "kyuubi",
                               "name": "kyuubi-dbt-5455d4b749", "apiVersion": "apps/v1"},
            "reason": "SuccessfulCreate",
            "message": "Created pod: kyuubi-dbt-5455d4b749-8l6bj",
            "source": {"component": "replicaset-controller"},
            "firstTimestamp": "2026-11-25T01:02:12Z",
            "lastTimestamp": "2026-11-25T01:02:12Z",
            "count": 1, "type": "Normal", "eventTime": null,
            "reportingComponent": "", "reportingInstance": ""
        });
        assert_eq!(
            Event::from_object(&object),
            Event {
                object: "ReplicaSet kyuubi-dbt-5455d4b749".into(),
                reason: "SuccessfulCreate".into(),
                message: "Created pod: kyuubi-dbt-5455d4b749-8l6bj".into(),
                type_: "Normal".into(),
                count: 1,
                last_seen: Some("2026-11-25T01:02:12Z".into()),
            }
        );
    }

    #[test]
    fn reads_series_style_events_and_sorts_oldest_first() {
        let newer = Event::from_object(&json!({
            "involvedObject": {"kind": "Pod", "name": "p"},
            "reason": "BackOff", "message": "Back-off pulling image", "type": "Warning",
            "eventTime": "2026-11-25T01:03:00.000000Z",
            "series": {"count": 7, "lastObservedTime": "2026-11-25T01:05:00.000000Z"}
        }));
        assert_eq!(newer.count, 7);
        assert_eq!(
            newer.last_seen.as_deref(),
            Some("2026-11-25T01:05:00.000000Z")
        );
        assert!(newer.is_warning());
        assert_eq!(
            newer.to_string(),
            "2026-11-25T01:05:00.000000Z Warning BackOff Pod p: Back-off pulling image (7 times)"
        );
        let older = Event::from_object(&json!({
            "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "Pulling",
            "lastTimestamp": "2026-11-25T01:02:00Z"
        }));
        assert_eq!((older.count, older.type_.as_str()), (1, "Normal"));
        assert_eq!(
            older.to_string(),
            "2026-11-25T01:02:00Z Normal Pulling Pod p"
        );
        let mut events = vec![newer.clone(), older.clone()];
        sort_events(&mut events);
        assert_eq!(events, vec![older, newer]);
    }
}
