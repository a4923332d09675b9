//! The JSON codec for values: the form of Terraform's stored state (`RawState.json` in
//! `UpgradeResourceState`).
//!
//! JSON has no unknown values, so encoding one fails. Like Terraform's own reader, decoding
//! accepts numbers and bools where a string is expected and numeric or `"true"`/`"false"` strings
//! where a number or bool is, since stored state may predate a schema change. Wire values are
//! msgpack and live in [`super::msgpack`].

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value as J;

use super::number::exact_decimal;
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
    let json: J = serde_json::from_slice(&quote_inexact_numbers(bytes)).map_err(|e| {
        CodecError::Malformed {
            format: "JSON",
            path: super::AttributePath::root(),
            message: e.to_string(),
        }
    })?;
    from_json(&json, ty, extra)
}

/// The JSON text with every number literal that no `i64` or `f64` stands for
/// ([`Number::Inexact`]) turned into a string of the same text, which [`from_json`] reads back
/// exactly; serde_json would read it as its nearest float. Such numbers reach stored state when a
/// refresh reads one from a hand-edited secret (`0.10000000000000000001`) and Terraform writes it
/// as a JSON number. Narrower than serde_json's `arbitrary_precision`, which would change number
/// handling for every crate in the build. Borrowed when no literal needs quoting, as usual.
fn quote_inexact_numbers(bytes: &[u8]) -> Cow<'_, [u8]> {
    let mut quoted: Option<Vec<u8>> = None;
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'-' || b.is_ascii_digit() {
            let end = bytes[i..]
                .iter()
                .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .map_or(bytes.len(), |n| i + n);
            let literal = &bytes[i..end];
            let inexact = std::str::from_utf8(literal)
                .ok()
                .and_then(Number::parse)
                .is_some_and(|n| matches!(n, Number::Inexact { .. }));
            if inexact {
                let out = quoted.get_or_insert_with(|| bytes[..i].to_vec());
                out.push(b'"');
                out.extend_from_slice(literal);
                out.push(b'"');
            } else if let Some(out) = quoted.as_mut() {
                out.extend_from_slice(literal);
            }
            i = end;
            continue;
        }
        if let Some(out) = quoted.as_mut() {
            out.push(b);
        }
        i += 1;
    }
    quoted.map_or(Cow::Borrowed(bytes), Cow::Owned)
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

/// A JSON number from stored state, one that an `i64` or `f64` stands for: any other was
/// turned into a string by [`quote_inexact_numbers`] and read exactly by [`Number::parse`].
///
/// Integers are exact (a `u64` beyond `i64` goes through [`Number::parse`], as in msgpack).
/// serde_json reads any other number as its nearest float (correctly rounded, with
/// `float_roundtrip`), which is the float the literal stands for.
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
            // A whole float beyond an i64 stands for its exact value, which serde_json would
            // write as the float's shortest form (1e23); a string keeps every digit.
            Number::Float(f) if f.is_finite() && f.fract() == 0.0 => J::String(exact_decimal(f)),
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

    /// Terraform writes a number it holds as a JSON number, however many digits it has.
    #[test]
    fn state_numbers_no_float_stands_for_are_read_exactly() {
        let ty = object([
            ("n", Type::Number),
            ("s", Type::String),
            ("l", Type::list(Type::Number)),
        ]);
        let long_whole = "12345678901234567890123";
        let json = format!(
            r#"{{"n": {TENTH_AND_MORE}, "s": 1e23, "l": [1, -{long_whole}, 0.1, 1e23, 2.5e-1]}}"#
        );
        let inexact = |text: &str, nearest: f64| {
            Value::Number(Number::Inexact {
                text: text.to_owned(),
                nearest,
            })
        };
        let expected = Value::object([
            ("n", inexact(TENTH_AND_MORE, 0.1)),
            ("s", Value::string("1e23")),
            (
                "l",
                Value::List(vec![
                    Value::int(1),
                    inexact(&format!("-{long_whole}"), -1.2345678901234568e22),
                    Value::Number(Number::Float(0.1)),
                    inexact("1e23", 1e23),
                    Value::Number(Number::Float(0.25)),
                ]),
            ),
        ]);
        assert_eq!(decode(json.as_bytes(), &ty), Ok(expected));
        // Digits inside strings, escaped quotes included, are left alone.
        let text = r#"{"s": "a \"0.10000000000000000001\" 1e23"}"#;
        let want = Value::object([
            ("s", Value::string(r#"a "0.10000000000000000001" 1e23"#)),
            ("n", Value::Null),
            ("l", Value::Null),
        ]);
        assert_eq!(decode(text.as_bytes(), &ty), Ok(want));
        assert!(matches!(
            quote_inexact_numbers(br#"{"n": 0.1}"#),
            Cow::Borrowed(_)
        ));
    }

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
            // More digits than a float holds: read exactly (`quote_inexact_numbers`).
            (big, Type::Number, inexact(big, 1.2345678901234568e22)),
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
            (TENTH_AND_MORE, Type::Number, inexact(TENTH_AND_MORE, 0.1)), // read exactly
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
