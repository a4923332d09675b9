//! Empty values a remote leaves out, and the one rule for them: an empty value read back is the
//! same as the form the state already holds.
//!
//! Kubernetes drops empty strings, lists and maps from the objects it returns (Go's
//! `omitempty`), and the profile's tolerations line is rendered the same way, so neither can
//! tell `value = ""` from no value. [`keep_prior_empty`] keeps the state's form when such a
//! read-back is mapped into state; [`left_out_when_empty`] lets a drift comparison take a
//! missing live field for the empty one applied. Which reads are lossy is the callers'
//! knowledge (`placement_model`, `kyuubi_model`); the tests at the bottom walk both resources'
//! schemas and check that every string attribute either survives its read-back or is refused
//! at validate, so an attribute added later cannot forget.

use serde_json::Value as Json;

use crate::tf::Value;

/// True for a string Terraform treats as "empty": `""`.
fn is_empty_string(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.is_empty())
}

/// `read`, a value mapped back from a remote that leaves empty strings out, with the form of
/// `prior` (the state Terraform holds) kept wherever the two differ only as `""` against null:
/// the remote holds the same thing either way, so the state must not change. Lists are matched
/// by position, objects and maps by key; a value anywhere else is taken as read, so a real
/// change still shows.
pub fn keep_prior_empty(read: Value, prior: &Value) -> Value {
    match (read, prior) {
        (Value::Null, prior) if is_empty_string(prior) => prior.clone(),
        (read, Value::Null) if is_empty_string(&read) => Value::Null,
        (Value::List(items), Value::List(prior_items)) => Value::List(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match prior_items.get(i) {
                    Some(p) => keep_prior_empty(item, p),
                    None => item,
                })
                .collect(),
        ),
        (Value::Map(entries), Value::Map(prior_entries)) => Value::Map(
            entries
                .into_iter()
                .map(|(key, item)| {
                    let kept = match prior_entries.get(&key) {
                        Some(p) => keep_prior_empty(item, p),
                        None => item,
                    };
                    (key, kept)
                })
                .collect(),
        ),
        (read, _) => read,
    }
}

/// True when the API server leaves `applied` out of the object it returns: an empty string or
/// list (Go's `omitempty`; every string and slice field of the pod and workload types has it).
/// A drift comparison takes such a field missing from the live object as unchanged. An empty
/// object is not counted: `emptyDir: {}` and other pointers to structs come back as `{}`, and
/// one missing is a real change. Nor are `false` and `0`: konoha applies them only to pointer
/// fields, which the API server keeps.
pub fn left_out_when_empty(applied: &Json) -> bool {
    match applied {
        Json::String(s) => s.is_empty(),
        Json::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
