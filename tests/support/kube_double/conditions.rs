//! Pure arithmetic of the Deployment controller: the pod-template hash, condition updates and
//! the rolling-update availability threshold.
//!
//! Leaves out surge: the double starts every new pod at once.

use super::clock;
use serde_json::{Value, json};

/// Canonical JSON (sorted keys) so the template hash does not depend on key order.
pub(crate) fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", json!(k), canonical(&m[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Adds or replaces condition `new` the way the controllers do: an unchanged status and reason
/// is left alone; a changed one moves to the end, keeping its transition time if status stayed.
pub(crate) fn set_condition(
    conds: &mut Vec<Value>,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
) {
    let pos = conds.iter().position(|c| c["type"] == kind);
    let old = pos.map(|i| conds.remove(i));
    if let Some(old) = &old
        && old["status"] == status
        && old["reason"] == reason
    {
        conds.insert(pos.unwrap_or(conds.len()), old.clone());
        return;
    }
    let now = clock::now();
    let transition = match &old {
        Some(o) if o["status"] == status => o["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    conds.push(
        json!({"type": kind, "status": status, "lastUpdateTime": now,
                      "lastTransitionTime": transition, "reason": reason, "message": message}),
    );
}

/// How many pods may be unavailable: `maxUnavailable`, a count or a percentage rounded down.
pub(crate) fn max_unavailable(d: &Value, replicas: usize) -> usize {
    match d.pointer("/spec/strategy/rollingUpdate/maxUnavailable") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0) as usize,
        Some(Value::String(p)) => {
            let pct: usize = p.trim_end_matches('%').parse().unwrap_or(25);
            replicas * pct / 100
        }
        _ => 0,
    }
}
