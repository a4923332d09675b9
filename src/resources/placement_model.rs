//! The placement arguments both resources share: the repeated toleration block's schema and its
//! decoding into [`crate::placement::TolerationInput`]s, and the node-selector attribute.
//!
//! One schema and one decoder, so `tolerations` on the server and `executor_tolerations` on the
//! profile cannot drift apart. The rules themselves are [`crate::placement`]'s.

use super::omitted::keep_prior_empty;
use super::value_readers::{Ints, field_string};
use crate::framework::{Attribute, Block, NestedBlock};
use crate::placement::TolerationInput;
use crate::rules::Field;
use crate::tf::Value;

/// The repeated block `name` of tolerations for `pods` (e.g. "the server pods"), in
/// Kubernetes' own terms; `how` ends the block's description (how they reach the pods).
pub fn tolerations_block(name: &str, pods: &str, how: &str) -> NestedBlock {
    NestedBlock::list(
        name,
        Block::new(format!(
            "A toleration for {pods}: lets them run on nodes with a matching taint (Kubernetes' \
             `tolerations`). Repeat the block for each taint.{how}"
        ))
        .attribute(Attribute::string("key").optional().description(
            "The taint key, a qualified name such as `nvidia.com/gpu`. Leave it unset, with \
             `operator = \"Exists\"`, to tolerate every taint.",
        ))
        .attribute(Attribute::string("operator").default("Equal").description(
            "`Equal` (the taint's value must equal `value`) or `Exists` (any value; no \
             `value` allowed).",
        ))
        .attribute(
            Attribute::string("value").optional().description(
                "The taint value to match with `operator = \"Equal\"`; a label value.",
            ),
        )
        .attribute(Attribute::string("effect").optional().description(
            "The taint effect to match: `NoSchedule`, `PreferNoSchedule` or `NoExecute`; \
             every effect when unset or empty.",
        ))
        .attribute(
            Attribute::int("toleration_seconds")
                .range(0, i32::MAX.into())
                .optional()
                .description(
                    "With `effect = \"NoExecute\"` only: how long the pods stay on a node after \
                     the taint appears; forever when unset.",
                ),
        ),
    )
}

/// Reads the repeated toleration block at `block` (its name, for error paths); a whole list or
/// element not yet known reads as unknown.
pub fn tolerations_input(v: &Value, block: &str, ints: &mut Ints) -> Field<Vec<TolerationInput>> {
    match v {
        Value::Unknown => Field::Unknown,
        Value::List(items) => Field::Set(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| toleration_input(item, &format!("{block}.{index}"), ints))
                .collect(),
        ),
        _ => Field::Unset,
    }
}

fn toleration_input(item: &Value, at: &str, ints: &mut Ints) -> TolerationInput {
    if matches!(item, Value::Unknown) {
        return TolerationInput {
            key: Field::Unknown,
            operator: Field::Unknown,
            value: Field::Unknown,
            effect: Field::Unknown,
            toleration_seconds: Field::Unknown,
        };
    }
    TolerationInput {
        key: field_string(item.attr("key")),
        operator: field_string(item.attr("operator")),
        value: field_string(item.attr("value")),
        effect: field_string(item.attr("effect")),
        toleration_seconds: ints.read(
            item.attr("toleration_seconds"),
            &format!("{at}.toleration_seconds"),
        ),
    }
}

/// The `executor_tolerations` blocks for a stored tolerations line (a JSON array of Kubernetes
/// tolerations, as [`crate::placement::tolerations_json`] writes it); `None` when the line is
/// not one, so that refresh can show it as a foreign key instead.
///
/// The line leaves empty strings out, as the API server does, so a `""` in `prior` (the blocks
/// the state holds) stays `""` where the line has nothing ([`keep_prior_empty`]).
pub fn tolerations_state(text: &str, prior: &Value) -> Option<Value> {
    const FIELDS: [&str; 5] = ["key", "operator", "value", "effect", "tolerationSeconds"];
    let items: Vec<serde_json::Value> = serde_json::from_str(text).ok()?;
    items
        .iter()
        .map(|item| {
            let map = item.as_object()?;
            if map.keys().any(|k| !FIELDS.contains(&k.as_str())) {
                return None;
            }
            let text = |name: &str| match map.get(name) {
                None => Some(Value::Null),
                Some(serde_json::Value::String(s)) => Some(Value::string(s)),
                Some(_) => None,
            };
            let seconds = match map.get("tolerationSeconds") {
                None => Value::Null,
                Some(n) => Value::int(n.as_i64()?),
            };
            Some(Value::object([
                ("key", text("key")?),
                ("operator", text("operator")?),
                ("value", text("value")?),
                ("effect", text("effect")?),
                ("toleration_seconds", seconds),
            ]))
        })
        .collect::<Option<Vec<_>>>()
        .map(|items| keep_prior_empty(Value::List(items), prior))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::profile_model::attribute_path;

    fn config(tolerations: Value) -> Value {
        Value::object([("tolerations", tolerations)])
    }

    #[test]
    fn blocks_decode_in_order_and_errors_point_at_the_element() {
        let value = config(Value::List(vec![
            Value::object([
                ("key", Value::string("nvidia.com/gpu")),
                ("operator", Value::string("Exists")),
                ("value", Value::Null),
                ("effect", Value::string("NoSchedule")),
                ("toleration_seconds", Value::Null),
            ]),
            Value::object([
                ("key", Value::string("dedicated")),
                ("operator", Value::string("Equal")),
                ("value", Value::string("spark")),
                ("effect", Value::string("NoSchedule")),
                ("toleration_seconds", Value::int(30)),
            ]),
        ]));
        let mut ints = Ints::default();
        let input = tolerations_input(value.attr("tolerations"), "tolerations", &mut ints);
        let Field::Set(items) = &input else {
            panic!("not decoded: {input:?}");
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].key, Field::Set("nvidia.com/gpu".to_owned()));
        assert_eq!(items[0].value, Field::Unset);
        assert_eq!(items[1].toleration_seconds, Field::Set(30));
        let mut violations = Vec::new();
        crate::placement::check_tolerations("tolerations", &input, &mut violations);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(
            attribute_path(&violations[0].path).to_string(),
            "tolerations[1].toleration_seconds"
        );
    }

    #[test]
    fn unknown_and_absent_lists_stay_apart() {
        let mut ints = Ints::default();
        assert_eq!(
            tolerations_input(&Value::Unknown, "tolerations", &mut ints),
            Field::Unknown
        );
        assert_eq!(
            tolerations_input(&Value::Null, "tolerations", &mut ints),
            Field::Unset
        );
        let one_unknown =
            tolerations_input(&Value::List(vec![Value::Unknown]), "tolerations", &mut ints);
        assert_eq!(
            crate::placement::resolve_tolerations(&one_unknown),
            None,
            "an unknown element is not an empty toleration"
        );
    }

    #[test]
    fn a_stored_tolerations_line_reads_back_as_the_blocks_that_render_it() {
        let text = r#"[{"effect":"NoSchedule","key":"nvidia.com/gpu","operator":"Exists"},{"key":"spot","operator":"Equal","tolerationSeconds":30,"value":"true","effect":"NoExecute"}]"#;
        let state = tolerations_state(text, &Value::Null).expect("a tolerations line");
        let mut ints = Ints::default();
        let input = tolerations_input(&state, "executor_tolerations", &mut ints);
        let resolved = crate::placement::resolve_tolerations(&input).expect("known");
        let again: serde_json::Value = serde_json::from_str(text).expect("JSON");
        assert_eq!(crate::placement::tolerations_json(&resolved), again);
        for foreign in [
            "",
            "{}",
            "[1]",
            r#"[{"key":"a","weight":1}]"#,
            r#"[{"key":1}]"#,
        ] {
            assert_eq!(tolerations_state(foreign, &Value::Null), None, "{foreign}");
        }
        assert_eq!(
            tolerations_state("[]", &Value::Null),
            Some(Value::List(Vec::new()))
        );
    }
}
