//! The placement arguments both resources share: the repeated toleration block's schema and its
//! decoding into [`crate::placement::TolerationInput`]s, and the node-selector attribute.
//!
//! One schema and one decoder, so `tolerations` on the server and `executor_tolerations` on the
//! profile cannot drift apart. The rules themselves are [`crate::placement`]'s.

use super::profile_model::{Ints, field_string};
use crate::framework::{Attribute, Block, NestedBlock};
use crate::placement::TolerationInput;
use crate::rules::Field;
use crate::tf::Value;

/// The repeated block `name` of tolerations for `pods` (e.g. "the server pods"), in
/// Kubernetes' own terms.
pub fn tolerations_block(name: &str, pods: &str) -> NestedBlock {
    NestedBlock::list(
        name,
        Block::new(format!(
            "A toleration for {pods}: lets them run on nodes with a matching taint (Kubernetes' \
             `tolerations`). Repeat the block for each taint."
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
}
