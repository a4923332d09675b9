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
mod tests {
    use serde_json::json;

    use super::*;

    fn toleration(key: Value, value: Value, effect: Value) -> Value {
        Value::object([
            ("key", key),
            ("operator", Value::string("Equal")),
            ("value", value),
            ("effect", effect),
        ])
    }

    #[test]
    fn an_empty_string_read_back_keeps_the_prior_form() {
        let empty = || Value::string("");
        let prior = Value::List(vec![toleration(Value::string("k"), empty(), Value::Null)]);
        // The line left the value out, and wrote no effect: the state keeps `""` and null.
        let read = Value::List(vec![toleration(Value::string("k"), Value::Null, empty())]);
        assert_eq!(keep_prior_empty(read, &prior), prior);
    }

    #[test]
    fn real_changes_and_new_items_are_taken_as_read() {
        let prior = Value::List(vec![toleration(
            Value::string("k"),
            Value::string(""),
            Value::Null,
        )]);
        let changed = Value::List(vec![
            toleration(Value::string("k"), Value::string("x"), Value::Null),
            toleration(Value::string("new"), Value::Null, Value::Null),
        ]);
        assert_eq!(keep_prior_empty(changed.clone(), &prior), changed);
        assert_eq!(
            keep_prior_empty(Value::Null, &Value::string("a")),
            Value::Null,
            "a removed non-empty value is a change"
        );
        let map = Value::object([("a", Value::string(""))]);
        assert_eq!(
            keep_prior_empty(Value::Map(Default::default()), &map),
            Value::Map(Default::default()),
            "a removed map entry is a change: only values are kept, never keys"
        );
    }

    #[test]
    fn only_empty_strings_and_lists_count_as_left_out() {
        for applied in [json!(""), json!([])] {
            assert!(left_out_when_empty(&applied), "{applied}");
        }
        for applied in [
            json!({}),
            json!(false),
            json!(0),
            json!(null),
            json!("x"),
            json!([1]),
        ] {
            assert!(!left_out_when_empty(&applied), "{applied}");
        }
    }
}
