//! The JSON codec for values: the form of Terraform's stored state (`RawState.json` in
//! `UpgradeResourceState`).
//!
//! JSON has no unknown values, so encoding one fails. Like Terraform's own reader, decoding
//! accepts numbers and bools where a string is expected and numeric or `"true"`/`"false"` strings
//! where a number or bool is, since stored state may predate a schema change. Wire values are
//! msgpack and live in [`super::msgpack`].

use std::collections::BTreeMap;

use serde_json::Value as J;

use super::{CodecError, Number, PathStep, Type, Value};

/// What to do with an object attribute the type does not have.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Extra {
    Reject,
    Drop,
}

/// Decodes stored-state JSON as a value of type `ty`. Missing attributes are null; an attribute
/// the type lacks is a [`CodecError::TypeMismatch`], which tells the caller the state was written
/// with another schema. Empty bytes are null.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    decode_with(bytes, ty, Extra::Reject)
}

/// Decodes like [`decode`], but drops attributes the type lacks instead of failing: for state
/// whose removed attributes the caller has decided to forget.
pub fn decode_lenient(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    decode_with(bytes, ty, Extra::Drop)
}

/// Encodes `value` as JSON of type `ty`: every object attribute present (null when unset), sets
/// without duplicates, `dynamic` values as `{"value": …, "type": …}`. Unknown values and
/// non-finite numbers are a [`CodecError::TypeMismatch`], since JSON cannot hold them.
pub fn encode(value: &Value, ty: &Type) -> Result<J, CodecError> {
    to_json(value, ty)
}

fn decode_with(bytes: &[u8], ty: &Type, extra: Extra) -> Result<Value, CodecError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let json: J = serde_json::from_slice(bytes).map_err(|e| CodecError::Malformed {
        format: "JSON",
        path: super::AttributePath::root(),
        message: e.to_string(),
    })?;
    from_json(&json, ty, extra)
}

fn from_json(json: &J, ty: &Type, extra: Extra) -> Result<Value, CodecError> {
    let elements = |items: &[J], types: &mut dyn Iterator<Item = &Type>| {
        items
            .iter()
            .zip(types)
            .enumerate()
            .map(|(i, (item, t))| from_json(item, t, extra).map_err(|e| e.under_index(i)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List)
    };
    let mismatch = || CodecError::found(ty, describe(json));
    match (ty, json) {
        (_, J::Null) => Ok(Value::Null),
        (Type::String, J::String(s)) => Ok(Value::string(s)),
        (Type::String, J::Number(n)) => Ok(Value::string(n.to_string())),
        (Type::String, J::Bool(b)) => Ok(Value::string(b.to_string())),
        (Type::Number, J::Number(n)) => number(n).map(Value::Number).ok_or_else(mismatch),
        (Type::Number, J::String(s)) => Number::parse(s).map(Value::Number).ok_or_else(mismatch),
        (Type::Bool, J::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::Bool, J::String(s)) => s.parse().map(Value::Bool).map_err(|_| mismatch()),
        (Type::List(e) | Type::Set(e), J::Array(items)) => {
            elements(items, &mut std::iter::repeat(&**e))
        }
        (Type::Tuple(types), J::Array(items)) if types.len() == items.len() => {
            elements(items, &mut types.iter())
        }
        (Type::Tuple(types), J::Array(items)) => {
            Err(CodecError::tuple_length(ty, types.len(), items.len()))
        }
        (Type::Map(e), J::Object(entries)) => entries
            .iter()
            .map(|(k, v)| {
                let value = from_json(v, e, extra)
                    .map_err(|err| err.under(PathStep::ElementKeyString(k.clone())))?;
                Ok((k.clone(), value))
            })
            .collect::<Result<_, _>>()
            .map(Value::Map),
        (Type::Object(attrs), J::Object(entries)) => {
            let mut object: BTreeMap<String, Value> =
                attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (name, v) in entries {
                let step = || PathStep::Attribute(name.clone());
                let attr_ty = match (attrs.get(name), extra) {
                    (Some(attr_ty), _) => attr_ty,
                    (None, Extra::Drop) => continue,
                    (None, Extra::Reject) => {
                        let err = CodecError::mismatch(ty, "unsupported attribute");
                        return Err(err.under(step()));
                    }
                };
                let value = from_json(v, attr_ty, extra).map_err(|e| e.under(step()))?;
                object.insert(name.clone(), value);
            }
            Ok(Value::Map(object))
        }
        (Type::Dynamic, J::Object(pair)) => {
            let actual = pair
                .get("type")
                .and_then(Type::from_json)
                .ok_or_else(|| CodecError::mismatch(ty, "dynamic value has no valid type"))?;
            from_json(pair.get("value").unwrap_or(&J::Null), &actual, extra)
        }
        _ => Err(mismatch()),
    }
}

/// A JSON number from stored state.
///
/// Integers are exact (a `u64` beyond `i64` that no float holds becomes [`Number::Inexact`], as
/// in msgpack). Any other number serde_json reads as its nearest float, without the text, so a
/// state number with more digits than a float holds would be rounded here unseen. That is
/// accepted, not refused: Terraform writes state JSON from the values this provider returned,
/// and go-cty writes a float as its shortest decimal (and an [`Number::Inexact`] as its text,
/// which arrives as a JSON string and stays exact), so every number the provider wrote reads
/// back as itself. Only a hand-edited state can hold such a number, and refusing it would make
/// every plan of the resource fail, destroy included; the next plan compares the state with
/// the configuration, which validation has checked. Keeping the text would take serde_json's
/// `arbitrary_precision`, which changes number handling for every crate in the build.
fn number(n: &serde_json::Number) -> Option<Number> {
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => Some(Number::Int(i)),
        (None, Some(u)) => Number::parse(&u.to_string()),
        (None, None) => n.as_f64().map(|f| Number::Float(f).canonical()),
    }
}

fn describe(json: &J) -> &'static str {
    match json {
        J::Null => "null",
        J::Bool(_) => "a bool",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "an array",
        J::Object(_) => "an object",
    }
}

fn to_json(value: &Value, ty: &Type) -> Result<J, CodecError> {
    let elements = |items: &[Value], types: &mut dyn Iterator<Item = &Type>| {
        items
            .iter()
            .zip(types)
            .enumerate()
            .map(|(i, (item, t))| to_json(item, t).map_err(|e| e.under_index(i)))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(match (ty, value) {
        (_, Value::Null) => J::Null,
        (_, Value::Unknown) => {
            return Err(CodecError::mismatch(ty, "unknown values have no JSON form"));
        }
        (Type::String, Value::String(s)) => J::from(s.as_str()),
        (Type::Number, Value::Number(n)) => match n.clone().canonical() {
            Number::Int(i) => J::from(i),
            Number::Float(f) => serde_json::Number::from_f64(f)
                .map(J::Number)
                .ok_or_else(|| CodecError::mismatch(ty, format!("{f} has no JSON form")))?,
            // A string, which both decoders read back exactly; a JSON number would be rounded.
            Number::Inexact { text, .. } => J::String(text),
        },
        (Type::Bool, Value::Bool(b)) => J::Bool(*b),
        (Type::List(e), Value::List(items)) => {
            J::Array(elements(items, &mut std::iter::repeat(&**e))?)
        }
        (Type::Set(e), Value::List(items)) => {
            let mut unique = Vec::with_capacity(items.len());
            for json in elements(items, &mut std::iter::repeat(&**e))? {
                if !unique.contains(&json) {
                    unique.push(json);
                }
            }
            J::Array(unique)
        }
        (Type::Tuple(types), Value::List(items)) if types.len() == items.len() => {
            J::Array(elements(items, &mut types.iter())?)
        }
        (Type::Tuple(types), Value::List(items)) => {
            return Err(CodecError::tuple_length(ty, types.len(), items.len()));
        }
        (Type::Map(e), Value::Map(entries)) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let json = to_json(v, e)
                        .map_err(|err| err.under(PathStep::ElementKeyString(k.clone())))?;
                    Ok((k.clone(), json))
                })
                .collect::<Result<_, CodecError>>()?,
        ),
        (Type::Object(attrs), Value::Map(entries)) => {
            if let Some(extra) = entries.keys().find(|k| !attrs.contains_key(*k)) {
                let err = CodecError::mismatch(ty, "unsupported attribute");
                return Err(err.under(PathStep::Attribute(extra.clone())));
            }
            J::Object(
                attrs
                    .iter()
                    .map(|(name, t)| {
                        let json = to_json(value.attr(name), t)
                            .map_err(|e| e.under(PathStep::Attribute(name.clone())))?;
                        Ok((name.clone(), json))
                    })
                    .collect::<Result<_, CodecError>>()?,
            )
        }
        (Type::Dynamic, _) => {
            let actual = Type::infer(value);
            serde_json::json!({ "value": to_json(value, &actual)?, "type": actual.to_json() })
        }
        _ => return Err(CodecError::found(ty, value.kind())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tf::AttributePath;
    use serde_json::json;

    fn object<const N: usize>(attrs: [(&str, Type); N]) -> Type {
        Type::Object(attrs.map(|(k, t)| (k.to_owned(), t)).into())
    }

    fn mismatch_at(path: AttributePath, expected: &str, message: &str) -> CodecError {
        let (expected, message) = (expected.to_owned(), message.to_owned());
        CodecError::TypeMismatch {
            path,
            expected,
            message,
        }
    }

    const TENTH_AND_MORE: &str = "0.10000000000000000001";

    #[test]
    fn inexact_numbers_are_written_as_strings_and_read_back_exactly() {
        let text = TENTH_AND_MORE.to_owned();
        let value = Value::Number(Number::Inexact { text, nearest: 0.1 });
        let json = encode(&value, &Type::Number);
        assert_eq!(json, Ok(json!(TENTH_AND_MORE)));
        let bytes = json.map(|j| j.to_string()).unwrap_or_default();
        assert_eq!(decode(bytes.as_bytes(), &Type::Number), Ok(value));
    }

    fn resource_type() -> Type {
        let volume = object([("name", Type::String), ("size_gb", Type::Number)]);
        object([
            ("id", Type::String),
            ("memory", Type::Number),
            ("enabled", Type::Bool),
            ("extra_conf", Type::map(Type::String)),
            ("tags", Type::set(Type::String)),
            ("volume", Type::list(volume)),
        ])
    }

    #[test]
    fn decodes_scalars_leniently_typed() {
        let float = |f| Value::Number(Number::Float(f));
        let inexact = |text: &str, nearest| {
            let text = text.to_owned();
            Value::Number(Number::Inexact { text, nearest })
        };
        let (big, u64_max) = ("12345678901234567890123", "18446744073709551615");
        let tenth_and_more = format!("{TENTH_AND_MORE:?}"); // as a JSON string
        let cases = [
            ("null", Type::Number, Value::Null),
            (r#""abc""#, Type::String, "abc".into()),
            ("12", Type::String, "12".into()),
            ("true", Type::String, "true".into()),
            ("-7", Type::Number, Value::int(-7)),
            ("1.5", Type::Number, float(1.5)),
            ("42.0", Type::Number, Value::int(42)),
            (r#""17""#, Type::Number, Value::int(17)),
            // Rounded to the nearest float: see `number`.
            (big, Type::Number, float(1.2345678901234568e22)),
            (
                u64_max,
                Type::Number,
                inexact(u64_max, 18446744073709551615.0),
            ),
            // 2^63: beyond i64, but a float holds it exactly (whole numbers compare exactly).
            (
                "9223372036854775808",
                Type::Number,
                float(9.223372036854776e18),
            ),
            ("0.1", Type::Number, float(0.1)),
            (r#""0.1""#, Type::Number, float(0.1)),
            (
                tenth_and_more.as_str(),
                Type::Number,
                inexact(TENTH_AND_MORE, 0.1),
            ),
            (TENTH_AND_MORE, Type::Number, float(0.1)), // a JSON number: rounded, see `number`
            ("false", Type::Bool, Value::Bool(false)),
            (r#""true""#, Type::Bool, Value::Bool(true)),
        ];
        for (text, ty, expected) in cases {
            assert_eq!(decode(text.as_bytes(), &ty), Ok(expected), "{text}");
        }
        assert_eq!(decode(b"", &resource_type()), Ok(Value::Null));
        let many = Err(mismatch_at(
            AttributePath::root(),
            "number",
            "found a string",
        ));
        assert_eq!(decode(br#""many""#, &Type::Number), many);
    }

    #[test]
    fn strict_rejects_extra_attributes_lenient_drops_them() {
        let ty = object([("id", Type::String), ("size", Type::Number)]);
        let state = br#"{"id": "x", "old": 1}"#;
        let old = mismatch_at(
            AttributePath::attr("old"),
            "object",
            "unsupported attribute",
        );
        assert_eq!(decode(state, &ty), Err(old));
        let expected = Value::object([("id", "x".into()), ("size", Value::Null)]);
        assert_eq!(decode_lenient(state, &ty), Ok(expected));
    }

    #[test]
    fn resource_round_trips() {
        let ty = resource_type();
        let volume = |name: &str, size| Value::object([("name", name.into()), ("size_gb", size)]);
        let tags = |items: &[&str]| Value::List(items.iter().map(|&t| t.into()).collect());
        let volumes = vec![volume("d", Value::int(10)), volume("l", Value::Null)];
        let mut value = Value::object([
            ("id", "p1".into()),
            ("memory", Value::Number(Number::Float(2.5))),
            ("enabled", Value::Bool(true)),
            ("extra_conf", Value::object([("a", "1".into())])),
            ("tags", tags(&["x", "y", "x"])),
            ("volume", Value::List(volumes)),
        ]);
        let expected = json!({
            "id": "p1", "memory": 2.5, "enabled": true, "extra_conf": {"a": "1"},
            "tags": ["x", "y"],
            "volume": [{"name": "d", "size_gb": 10}, {"name": "l", "size_gb": null}],
        });
        assert_eq!(encode(&value, &ty), Ok(expected.clone()));
        value.set_attr("tags", tags(&["x", "y"]));
        assert_eq!(decode(expected.to_string().as_bytes(), &ty), Ok(value));
    }

    #[test]
    fn errors_name_their_path() {
        let ty = resource_type();
        let value = Value::object([("extra_conf", Value::object([("x", Value::Unknown)]))]);
        let path = AttributePath::attr("extra_conf").push_key("x");
        let unknown = mismatch_at(path, "string", "unknown values have no JSON form");
        assert_eq!(encode(&value, &ty), Err(unknown));

        let state = br#"{"volume": [{"name": "a"}, {"name": ["b"]}]}"#;
        let path = AttributePath::parse_dotted("volume.1.name");
        assert_eq!(
            decode(state, &ty),
            Err(mismatch_at(path, "string", "found an array"))
        );

        let tuple = Type::Tuple(vec![Type::String]);
        let long = mismatch_at(
            AttributePath::root(),
            "tuple",
            "expected 1 elements, found 2",
        );
        assert_eq!(decode(br#"["a", "b"]"#, &tuple), Err(long));
        let truncated = decode(b"{", &ty);
        assert!(matches!(
            truncated,
            Err(CodecError::Malformed { format: "JSON", .. })
        ));
    }

    #[test]
    fn dynamic_values_carry_their_type() {
        let inner = Value::object([("n", Value::int(1)), ("z", Value::Null)]);
        let value = Value::List(vec!["a".into(), inner]);
        let expected = json!({
            "value": ["a", {"n": 1, "z": null}],
            "type": ["tuple", ["string", ["object", {"n": "number", "z": "dynamic"}]]],
        });
        assert_eq!(encode(&value, &Type::Dynamic), Ok(expected.clone()));
        let decoded = decode(expected.to_string().as_bytes(), &Type::Dynamic);
        assert_eq!(decoded, Ok(value));
    }
}
