//! The msgpack codec for `DynamicValue`s: the form Terraform sends in every request and expects
//! in every reply.
//!
//! Decoding follows the schema's [`Type`], since msgpack alone cannot tell a list from a set or
//! an object from a map. Refinements of unknown values (ext 12) are dropped: every extension
//! decodes to a plain [`Value::Unknown`], and unknowns are always written as ext 0. The JSON form
//! of stored state lives in [`super::json`].

use std::collections::BTreeMap;

use rmpv::Value as Mp;

use super::{CodecError, Number, PathStep, Type, Value};

/// The extension type of an unknown value without refinements.
const UNKNOWN_EXT: i8 = 0;

/// The deepest nesting of arrays and maps read. Schemas nest a handful of levels; rmpv's own
/// limit (1024) lets a hostile request overflow a 2 MiB thread stack in a debug build, and
/// serde_json stops JSON at the same 128.
const MAX_DEPTH: usize = 128;

/// Decodes a `DynamicValue`'s msgpack bytes as a value of type `ty`. Empty bytes are null, as
/// Terraform sends for an absent object.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let mut rest = bytes;
    let raw = rmpv::decode::read_value_with_max_depth(&mut rest, MAX_DEPTH)
        .map_err(|e| malformed(e.to_string()))?;
    let trailing = rest.len();
    if trailing > 0 {
        return Err(malformed(format!("{trailing} stray bytes after the value")));
    }
    from_msgpack(&raw, ty)
}

/// Encodes `value` as msgpack of type `ty`, the form Terraform accepts: every object attribute
/// present (null when unset), sets without duplicates, `dynamic` values as `[type JSON, value]`.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let raw = to_msgpack(value, ty)?;
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail, but an RPC path must not panic on it either.
    rmpv::encode::write_value(&mut bytes, &raw).map_err(|e| malformed(e.to_string()))?;
    Ok(bytes)
}

fn malformed(message: impl Into<String>) -> CodecError {
    CodecError::Malformed {
        format: "msgpack",
        path: super::AttributePath::root(),
        message: message.into(),
    }
}

fn from_msgpack(raw: &Mp, ty: &Type) -> Result<Value, CodecError> {
    let elements = |items: &[Mp], types: &mut dyn Iterator<Item = &Type>| {
        items
            .iter()
            .zip(types)
            .enumerate()
            .map(|(i, (item, t))| from_msgpack(item, t).map_err(|e| e.under_index(i)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List)
    };
    match (ty, raw) {
        (_, Mp::Nil) => Ok(Value::Null),
        (_, Mp::Ext(..)) => Ok(Value::Unknown),
        (Type::String, Mp::String(s)) => s
            .as_str()
            .map(Value::string)
            .ok_or_else(|| malformed("string is not UTF-8")),
        (Type::Number, _) => number(raw)
            .map(Value::Number)
            .ok_or_else(|| CodecError::found(ty, describe(raw))),
        (Type::Bool, Mp::Boolean(b)) => Ok(Value::Bool(*b)),
        (Type::List(e) | Type::Set(e), Mp::Array(items)) => {
            elements(items, &mut std::iter::repeat(&**e))
        }
        (Type::Tuple(types), Mp::Array(items)) if types.len() == items.len() => {
            elements(items, &mut types.iter())
        }
        (Type::Tuple(types), Mp::Array(items)) => {
            Err(CodecError::tuple_length(ty, types.len(), items.len()))
        }
        (Type::Map(e), Mp::Map(entries)) => entries
            .iter()
            .map(|(k, v)| {
                let key = map_key(k, ty)?;
                let value = from_msgpack(v, e)
                    .map_err(|err| err.under(PathStep::ElementKeyString(key.to_owned())))?;
                Ok((key.to_owned(), value))
            })
            .collect::<Result<_, _>>()
            .map(Value::Map),
        (Type::Object(attrs), Mp::Map(entries)) => {
            // Missing attributes are null: Terraform always sends them all, but tests and older
            // states need not.
            let mut object: BTreeMap<String, Value> =
                attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (k, v) in entries {
                let name = map_key(k, ty)?;
                let step = || PathStep::Attribute(name.to_owned());
                let attr_ty = attrs.get(name).ok_or_else(|| {
                    CodecError::mismatch(ty, "unsupported attribute").under(step())
                })?;
                let value = from_msgpack(v, attr_ty).map_err(|e| e.under(step()))?;
                object.insert(name.to_owned(), value);
            }
            Ok(Value::Map(object))
        }
        (Type::Dynamic, Mp::Array(pair)) if pair.len() == 2 => {
            let type_json = match &pair[0] {
                Mp::Binary(b) => b.as_slice(),
                Mp::String(s) => s.as_bytes(),
                _ => return Err(CodecError::mismatch(ty, "found a type that is not JSON")),
            };
            let actual = serde_json::from_slice(type_json)
                .ok()
                .and_then(|json| Type::from_json(&json))
                .ok_or_else(|| malformed("dynamic value has an invalid type"))?;
            from_msgpack(&pair[1], &actual)
        }
        _ => Err(CodecError::found(ty, describe(raw))),
    }
}

/// A number from a msgpack int, float or decimal string. A decimal that no float stands for,
/// and a `u64` beyond `i64` that no float holds, become [`Number::Inexact`], never the nearest
/// float: go-cty sends such numbers as text precisely because they have no exact float. A
/// float that is not exactly its shortest decimal becomes [`Number::Inexact`] too
/// ([`Number::from_float`]): Terraform may hold it as either.
fn number(raw: &Mp) -> Option<Number> {
    match raw {
        Mp::Integer(i) => match (i.as_i64(), i.as_u64()) {
            (Some(i), _) => Some(Number::Int(i)),
            (None, Some(u)) => Number::parse(&u.to_string()),
            (None, None) => None,
        },
        Mp::F32(f) => Some(Number::from_float(f64::from(*f))),
        Mp::F64(f) => Some(Number::from_float(*f)),
        Mp::String(s) => Number::parse(s.as_str()?),
        _ => None,
    }
}

fn map_key<'a>(key: &'a Mp, ty: &Type) -> Result<&'a str, CodecError> {
    match key {
        Mp::String(s) => s.as_str().ok_or_else(|| malformed("key is not UTF-8")),
        _ => Err(CodecError::mismatch(ty, "found a key that is not a string")),
    }
}

fn describe(raw: &Mp) -> &'static str {
    match raw {
        Mp::Nil => "nil",
        Mp::Boolean(_) => "a bool",
        Mp::Integer(_) => "an integer",
        Mp::F32(_) | Mp::F64(_) => "a float",
        Mp::String(_) => "a string",
        Mp::Binary(_) => "binary data",
        Mp::Array(_) => "an array",
        Mp::Map(_) => "a map",
        Mp::Ext(..) => "an extension",
    }
}

fn to_msgpack(value: &Value, ty: &Type) -> Result<Mp, CodecError> {
    let elements = |items: &[Value], types: &mut dyn Iterator<Item = &Type>| {
        items
            .iter()
            .zip(types)
            .enumerate()
            .map(|(i, (item, t))| to_msgpack(item, t).map_err(|e| e.under_index(i)))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(match (ty, value) {
        (_, Value::Null) => Mp::Nil,
        (_, Value::Unknown) => Mp::Ext(UNKNOWN_EXT, vec![0]),
        (Type::String, Value::String(s)) => Mp::from(s.as_str()),
        (Type::Number, Value::Number(n)) => match n.clone().canonical() {
            Number::Int(i) => Mp::from(i),
            // Terraform reads a float back at 53 bits and text at 512, and compares fractions
            // by their shortest text at that precision: a float that is exactly its shortest
            // decimal reads the same either way, any other one only as text.
            Number::Float(f) if matches!(Number::from_float(f), Number::Float(_)) => Mp::F64(f),
            Number::Float(f) => Mp::from(super::number::shortest_decimal(f)),
            // As go-cty writes it: Terraform reads the text back as the exact decimal.
            Number::Inexact { text, .. } => Mp::from(text.as_str()),
        },
        (Type::Bool, Value::Bool(b)) => Mp::Boolean(*b),
        (Type::List(e), Value::List(items)) => {
            Mp::Array(elements(items, &mut std::iter::repeat(&**e))?)
        }
        (Type::Set(e), Value::List(items)) => {
            let mut unique = Vec::with_capacity(items.len());
            for (item, raw) in items
                .iter()
                .zip(elements(items, &mut std::iter::repeat(&**e))?)
            {
                // Unknown elements may turn out different, so only known ones are duplicates.
                if !item.is_wholly_known() || !unique.contains(&raw) {
                    unique.push(raw);
                }
            }
            Mp::Array(unique)
        }
        (Type::Tuple(types), Value::List(items)) if types.len() == items.len() => {
            Mp::Array(elements(items, &mut types.iter())?)
        }
        (Type::Tuple(types), Value::List(items)) => {
            return Err(CodecError::tuple_length(ty, types.len(), items.len()));
        }
        (Type::Map(e), Value::Map(entries)) => Mp::Map(
            entries
                .iter()
                .map(|(k, v)| {
                    let raw = to_msgpack(v, e)
                        .map_err(|err| err.under(PathStep::ElementKeyString(k.clone())))?;
                    Ok((Mp::from(k.as_str()), raw))
                })
                .collect::<Result<_, CodecError>>()?,
        ),
        (Type::Object(attrs), Value::Map(entries)) => {
            if let Some(extra) = entries.keys().find(|k| !attrs.contains_key(*k)) {
                let err = CodecError::mismatch(ty, "unsupported attribute");
                return Err(err.under(PathStep::Attribute(extra.clone())));
            }
            Mp::Map(
                attrs
                    .iter()
                    .map(|(name, t)| {
                        let raw = to_msgpack(value.attr(name), t)
                            .map_err(|e| e.under(PathStep::Attribute(name.clone())))?;
                        Ok((Mp::from(name.as_str()), raw))
                    })
                    .collect::<Result<_, CodecError>>()?,
            )
        }
        (Type::Dynamic, _) => {
            let actual = Type::infer(value);
            let type_json = actual.to_json().to_string().into_bytes();
            Mp::Array(vec![Mp::Binary(type_json), to_msgpack(value, &actual)?])
        }
        _ => return Err(CodecError::found(ty, value.kind())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tf::AttributePath;

    fn bytes(hex: &str) -> Vec<u8> {
        crate::digest::from_hex(&hex.replace(' ', "")).unwrap_or_else(|| panic!("bad vector {hex}"))
    }

    fn float(f: f64) -> Value {
        Value::Number(Number::Float(f))
    }

    const TENTH_AND_MORE: &str = "0.10000000000000000001";
    /// The exact value of the float nearest 0.1, and its msgpack text (str 8, 57 bytes).
    const TENTH_EXACTLY: &str = "0.1000000000000000055511151231257827021181583404541015625";
    const TENTH_EXACTLY_TEXT: &str = "d9 39 302e31303030303030303030303030303030303535353131313531323331323537383237303231313831353833343034353431303135363235";

    fn inexact(text: &str, nearest: f64) -> Value {
        let text = text.to_owned();
        Value::Number(Number::Inexact { text, nearest })
    }

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

    /// A resource-like type: attributes of every kind and a list of nested blocks.
    fn resource_type() -> Type {
        let volume = object([("name", Type::String), ("size_gb", Type::Number)]);
        object([
            ("id", Type::String),
            ("cores", Type::Number),
            ("enabled", Type::Bool),
            ("extra_conf", Type::map(Type::String)),
            ("tags", Type::set(Type::String)),
            ("volume", Type::list(volume)),
        ])
    }

    fn volume(name: &str, size: Value) -> Value {
        Value::object([("name", Value::string(name)), ("size_gb", size)])
    }

    #[test]
    fn decodes_golden_vectors() {
        let big = "b7 3132333435363738393031323334353637383930313233"; // "123…0123" (23 digits)
        let u64_max = "cf ffffffffffffffff";
        let tenth_and_more = "b6 302e3130303030303030303030303030303030303031";
        let cases = [
            ("c0", Type::String, Value::Null),
            ("d4 00 00", Type::String, Value::Unknown),
            ("c7 03 0c 81 01 c2", Type::String, Value::Unknown), // refined: not null
            ("d5 05 ab cd", Type::list(Type::Bool), Value::Unknown),
            ("a3 616263", Type::String, Value::string("abc")),
            ("c3", Type::Bool, Value::Bool(true)),
            ("2a", Type::Number, Value::int(42)),
            ("d0 9c", Type::Number, Value::int(-100)),
            ("cb 3ff8000000000000", Type::Number, float(1.5)),
            ("cb 4045000000000000", Type::Number, Value::int(42)),
            ("a2 3137", Type::Number, Value::int(17)),
            (
                big,
                Type::Number,
                inexact("12345678901234567890123", 1.2345678901234568e22),
            ),
            (
                u64_max,
                Type::Number,
                inexact("18446744073709551615", 18446744073709551615.0),
            ),
            // 2^63: beyond i64, but a float holds it exactly.
            (
                "cf 8000000000000000",
                Type::Number,
                float(9.223372036854776e18),
            ),
            (
                "cb 43e0000000000000",
                Type::Number,
                float(9.223372036854776e18),
            ), // the same, as cty sends it
            ("a3 302e31", Type::Number, float(0.1)), // "0.1": the float 0.1 stands for it
            (
                "cb 3fb999999999999a",
                Type::Number,
                inexact(TENTH_EXACTLY, 0.1),
            ), // the float 0.1
            ("cb 3fd0000000000000", Type::Number, float(0.25)), // exactly its shortest decimal
            ("a4 302e3235", Type::Number, float(0.25)),
            ("a4 2d312e35", Type::Number, float(-1.5)),
            (tenth_and_more, Type::Number, inexact(TENTH_AND_MORE, 0.1)),
            ("92 a8 22737472696e6722 a2 6869", Type::Dynamic, "hi".into()), // type as str
        ];
        for (hex, ty, expected) in cases {
            assert_eq!(decode(&bytes(hex), &ty), Ok(expected), "{hex}");
        }
        assert_eq!(decode(&[], &resource_type()), Ok(Value::Null));
    }

    #[test]
    fn encodes_golden_vectors() {
        let set = Type::set(Type::String);
        let aba = Value::List(vec!["a".into(), "b".into(), "a".into()]);
        let unknowns = Value::List(vec![Value::Unknown, Value::Unknown]);
        let hi = "92 c4 08 22737472696e6722 a2 6869"; // [bin("\"string\""), "hi"]
        let tenth_and_more = "b6 302e3130303030303030303030303030303030303031";
        let cases = [
            (Value::Null, Type::Number, "c0"),
            (Value::Unknown, Type::Number, "d4 00 00"),
            (Value::int(42), Type::Number, "2a"),
            (float(3.0), Type::Number, "03"),
            (float(1.5), Type::Number, "cb 3ff8000000000000"),
            // 0.1 as text, which Terraform reads as the decimal 0.1, not as the float.
            (float(0.1), Type::Number, "a3 302e31"),
            (
                inexact(TENTH_EXACTLY, 0.1),
                Type::Number,
                TENTH_EXACTLY_TEXT,
            ),
            (inexact(TENTH_AND_MORE, 0.1), Type::Number, tenth_and_more),
            (Value::Bool(false), Type::Bool, "c2"),
            (aba, set.clone(), "92 a161 a162"),
            // Unknown elements may turn out different, so they are not duplicates.
            (unknowns, set, "92 d40000 d40000"),
            ("hi".into(), Type::Dynamic, hi),
        ];
        for (value, ty, hex) in cases {
            assert_eq!(encode(&value, &ty), Ok(bytes(hex)), "{value:?}");
        }
    }

    #[test]
    fn objects_hold_every_attribute_and_empty_blocks_are_arrays() {
        let block = Type::list(object([("x", Type::Number)]));
        let ty = object([("a", Type::String), ("b", block), ("c", Type::Number)]);
        let value = Value::object([("a", "v".into()), ("b", Value::List(vec![]))]);
        let wire = bytes("83 a161 a176 a162 90 a163 c0");
        assert_eq!(encode(&value, &ty), Ok(wire.clone()));
        let mut expected = value;
        expected.set_attr("c", Value::Null);
        assert_eq!(decode(&wire, &ty), Ok(expected.clone()));
        expected.set_attr("b", Value::Null); // decoding is lenient about missing attributes
        assert_eq!(decode(&bytes("81 a161 a176"), &ty), Ok(expected));
    }

    #[test]
    fn values_round_trip() {
        let extra_conf = Value::object([("a", "1".into()), ("b", Value::Unknown)]);
        let volumes = vec![volume("d", Value::int(10)), volume("l", Value::Null)];
        let resource = Value::object([
            ("id", Value::Unknown),
            ("cores", float(2.5)),
            ("enabled", Value::Bool(true)),
            ("extra_conf", extra_conf),
            ("tags", Value::List(vec!["x".into(), "y".into()])),
            ("volume", Value::List(volumes)),
        ]);
        let inner = Value::object([("k", Value::Bool(true)), ("n", Value::Null)]);
        let dynamic = Value::List(vec!["a".into(), Value::int(1), inner, Value::Unknown]);
        for (value, ty) in [(resource, resource_type()), (dynamic, Type::Dynamic)] {
            let round_trip = encode(&value, &ty).and_then(|wire| decode(&wire, &ty));
            assert_eq!(round_trip, Ok(value));
        }
    }

    #[test]
    fn mismatches_name_their_path() {
        let ty = resource_type();
        let wire = bytes("81 aa 65787472615f636f6e66 81 a178 01"); // {"extra_conf": {"x": 1}}
        let path = AttributePath::attr("extra_conf").push_key("x");
        let expected = Err(mismatch_at(path, "string", "found an integer"));
        assert_eq!(decode(&wire, &ty), expected);

        let volumes = vec![volume("a", Value::int(1)), volume("b", "big".into())];
        let value = Value::object([("volume", Value::List(volumes))]);
        let path = AttributePath::parse_dotted("volume.1.size_gb");
        let expected = Err(mismatch_at(path, "number", "found a string"));
        assert_eq!(encode(&value, &ty), expected);
    }

    #[test]
    fn unknown_attributes_and_bad_tuples_are_rejected() {
        let ty = object([("a", Type::String)]);
        let unsupported =
            || mismatch_at(AttributePath::attr("b"), "object", "unsupported attribute");
        assert_eq!(decode(&bytes("81 a162 c0"), &ty), Err(unsupported())); // {"b": nil}
        let value = Value::object([("b", Value::Null)]);
        assert_eq!(encode(&value, &ty), Err(unsupported()));

        let ty = Type::Tuple(vec![Type::String, Type::Number]);
        let short = || CodecError::tuple_length(&ty, 2, 1);
        assert_eq!(decode(&bytes("91 a161"), &ty), Err(short()));
        assert_eq!(encode(&Value::List(vec!["a".into()]), &ty), Err(short()));
    }

    #[test]
    fn malformed_bytes_are_reported() {
        let truncated = decode(&bytes("92 c0"), &Type::list(Type::String));
        assert!(matches!(truncated, Err(CodecError::Malformed { .. })));
        let trailing = decode(&bytes("c0 c0 c0"), &Type::String);
        assert_eq!(trailing, Err(malformed("2 stray bytes after the value")));
    }
}
