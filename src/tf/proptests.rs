//! Property tests of the msgpack and JSON codecs: whatever bytes arrive, decoding returns a
//! value or an error and never panics; every value of every type a schema can declare
//! survives an encode and a decode unchanged; and every number Terraform writes into stored
//! state reads back exactly.
//!
//! Case-by-case vectors (Terraform's exact bytes) live beside each codec; this module covers the
//! space between them.

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use rmpv::Value as Mp;

use super::number::{exact_decimal, same_decimal, shortest_decimal};
use super::{Number, Type, Value, json, msgpack};

/// Cases per property: enough to walk nested types, few enough for a loaded CI machine.
const CASES: u32 = 512;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        ..ProptestConfig::default()
    }
}

/// Any type a schema can declare, nested a few levels deep.
fn any_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::String),
        Just(Type::Number),
        Just(Type::Bool),
        Just(Type::Dynamic),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            btree_map("[a-z_]{1,6}", inner.clone(), 0..4).prop_map(Type::Object),
            vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
}

/// A number in the canonical form decoding gives: whole floats below 2^53 are integers, and a
/// decimal with more digits than a float holds is [`Number::Inexact`].
fn any_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Number::Float(f).canonical()),
        too_many_digits().prop_filter_map("a float's shortest form", |text| {
            Number::parse(&text).filter(|n| matches!(n, Number::Inexact { .. }))
        }),
    ]
}

/// A plain decimal of 18 to 40 significant digits, as go-cty writes one that no float holds.
fn too_many_digits() -> impl Strategy<Value = String> {
    ("-?", "[1-9][0-9]{0,20}", "[0-9]{0,18}[1-9]")
        .prop_filter("18 digits or more", |(_, whole, fraction)| {
            whole.len() + fraction.len() >= 18
        })
        .prop_map(|(sign, whole, fraction)| format!("{sign}{whole}.{fraction}"))
}

/// A known value of exactly `ty`, whose parts may be null or (when `unknowns`) unknown.
fn value_of(ty: &Type, unknowns: bool) -> BoxedStrategy<Value> {
    let known = known_value_of(ty, unknowns);
    if unknowns {
        prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known].boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 6 => known].boxed()
    }
}

fn known_value_of(ty: &Type, unknowns: bool) -> BoxedStrategy<Value> {
    match ty {
        Type::String => any::<String>().prop_map(Value::String).boxed(),
        Type::Number => any_number().prop_map(Value::Number).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::List(element) => vec(value_of(element, unknowns), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(element) => vec(value_of(element, unknowns), 0..4)
            .prop_map(|items| Value::List(without_known_duplicates(items)))
            .boxed(),
        Type::Map(element) => btree_map(any::<String>(), value_of(element, unknowns), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Object(attributes) => {
            let parts: Vec<BoxedStrategy<(String, Value)>> = attributes
                .iter()
                .map(|(name, t)| {
                    let name = name.clone();
                    value_of(t, unknowns)
                        .prop_map(move |v| (name.clone(), v))
                        .boxed()
                })
                .collect();
            parts
                .prop_map(|pairs| Value::Map(pairs.into_iter().collect::<BTreeMap<_, _>>()))
                .boxed()
        }
        Type::Tuple(types) => {
            let parts: Vec<BoxedStrategy<Value>> =
                types.iter().map(|t| value_of(t, unknowns)).collect();
            parts.prop_map(Value::List).boxed()
        }
        // A dynamic value carries its own type: any type, then a value of it.
        Type::Dynamic => any_type()
            .prop_flat_map(move |t| known_value_of(&t, unknowns))
            .boxed(),
    }
}

/// A set as the codecs write it: a wholly known element equal to an earlier one is dropped,
/// while elements holding unknowns stay, since they may turn out different.
fn without_known_duplicates(items: Vec<Value>) -> Vec<Value> {
    let mut kept: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !item.is_wholly_known() || !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

/// A type and a value of it.
fn typed_value(unknowns: bool) -> impl Strategy<Value = (Type, Value)> {
    any_type().prop_flat_map(move |t| {
        let value = value_of(&t, unknowns);
        (Just(t), value)
    })
}

/// Any msgpack value, of any shape, including extensions and non-UTF-8 strings.
fn any_msgpack() -> impl Strategy<Value = Mp> {
    let leaf = prop_oneof![
        Just(Mp::Nil),
        any::<bool>().prop_map(Mp::Boolean),
        any::<i64>().prop_map(Mp::from),
        any::<u64>().prop_map(Mp::from),
        any::<f32>().prop_map(Mp::F32),
        any::<f64>().prop_map(Mp::F64),
        any::<String>().prop_map(Mp::from),
        vec(any::<u8>(), 0..8).prop_map(|b| str_of_bytes(&b)),
        vec(any::<u8>(), 0..8).prop_map(Mp::Binary),
        (any::<i8>(), vec(any::<u8>(), 0..8)).prop_map(|(t, b)| Mp::Ext(t, b)),
        // A dynamic value's type, sometimes well-formed.
        any_type().prop_map(|t| Mp::Binary(t.to_json().to_string().into_bytes())),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Mp::Array),
            vec((inner.clone(), inner), 0..4).prop_map(Mp::Map),
        ]
    })
}

/// Any JSON value, of any shape.
fn any_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        any::<f64>().prop_map(J::from),
        any::<String>().prop_map(J::String),
        any_type().prop_map(|t| t.to_json()),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(J::Array),
            btree_map("[a-z_]{1,6}|type|value", inner, 0..4)
                .prop_map(|m| J::Object(m.into_iter().collect())),
        ]
    })
}

/// A msgpack string holding `bytes`, which need not be UTF-8 (rmpv builds those only by
/// reading them).
fn str_of_bytes(bytes: &[u8]) -> Mp {
    let mut encoded = vec![0xd9, bytes.len() as u8];
    encoded.extend_from_slice(bytes);
    rmpv::decode::read_value(&mut encoded.as_slice()).unwrap_or(Mp::Nil)
}

fn to_bytes(raw: &Mp) -> Vec<u8> {
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, raw).unwrap_or_else(|e| panic!("writing a Vec: {e}"));
    bytes
}

/// Every plain unknown (ext 0) in `raw` replaced by a refined one (ext 12) with `payload`, as
/// Terraform sends an unknown that it knows something about (not null, a string prefix, …).
fn refine_unknowns(raw: Mp, payload: &[u8]) -> Mp {
    match raw {
        Mp::Ext(0, _) => Mp::Ext(12, payload.to_vec()),
        Mp::Array(items) => Mp::Array(
            items
                .into_iter()
                .map(|i| refine_unknowns(i, payload))
                .collect(),
        ),
        Mp::Map(entries) => Mp::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k, refine_unknowns(v, payload)))
                .collect(),
        ),
        other => other,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn msgpack_decoding_arbitrary_bytes_never_panics(
        bytes in vec(any::<u8>(), 0..64),
        ty in any_type(),
    ) {
        let _ = msgpack::decode(&bytes, &ty);
    }

    #[test]
    fn msgpack_decoding_arbitrary_structures_never_panics(raw in any_msgpack(), ty in any_type()) {
        let _ = msgpack::decode(&to_bytes(&raw), &ty);
    }

    #[test]
    fn json_decoding_arbitrary_bytes_never_panics(
        bytes in vec(any::<u8>(), 0..64),
        ty in any_type(),
    ) {
        let _ = json::decode(&bytes, &ty);
        let _ = json::decode_lenient(&bytes, &ty);
    }

    #[test]
    fn json_decoding_arbitrary_structures_never_panics(raw in any_json(), ty in any_type()) {
        let bytes = raw.to_string().into_bytes();
        let _ = json::decode(&bytes, &ty);
        let _ = json::decode_lenient(&bytes, &ty);
        let _ = Type::from_json(&raw);
    }

    #[test]
    fn encoding_a_value_of_the_wrong_type_never_panics(
        (_, value) in typed_value(true),
        ty in any_type(),
    ) {
        let _ = msgpack::encode(&value, &ty);
        let _ = json::encode(&value, &ty);
    }

    #[test]
    fn every_value_round_trips_through_msgpack((ty, value) in typed_value(true)) {
        let bytes = msgpack::encode(&value, &ty)
            .map_err(|e| TestCaseError::fail(format!("encode: {e}")))?;
        prop_assert_eq!(msgpack::decode(&bytes, &ty), Ok(value));
    }

    #[test]
    fn refined_unknowns_decode_as_unknown(
        (ty, value) in typed_value(true),
        payload in vec(any::<u8>(), 0..8),
    ) {
        let bytes = msgpack::encode(&value, &ty)
            .map_err(|e| TestCaseError::fail(format!("encode: {e}")))?;
        let mut rest = bytes.as_slice();
        let raw = rmpv::decode::read_value(&mut rest)
            .map_err(|e| TestCaseError::fail(format!("re-read: {e}")))?;
        let refined = to_bytes(&refine_unknowns(raw, &payload));
        prop_assert_eq!(msgpack::decode(&refined, &ty), Ok(value));
    }

    #[test]
    fn every_known_value_round_trips_through_json((ty, value) in typed_value(false)) {
        let encoded = json::encode(&value, &ty)
            .map_err(|e| TestCaseError::fail(format!("encode: {e}")))?;
        let bytes = encoded.to_string().into_bytes();
        prop_assert_eq!(json::decode(&bytes, &ty), Ok(value.clone()));
        prop_assert_eq!(json::decode_lenient(&bytes, &ty), Ok(value));
    }

    /// Terraform writes every number of a state as a JSON number: the decimal it holds, which
    /// for a number the provider wrote is the provider's own (a fraction's shortest form, a
    /// whole float's exact value, an inexact decimal's text). Each one reads back as itself.
    #[test]
    fn every_number_terraform_writes_into_state_reads_back_as_itself(n in any_number()) {
        let literal = match &n {
            Number::Int(i) => i.to_string(),
            Number::Float(f) if f.fract() == 0.0 => exact_decimal(*f),
            Number::Float(f) => f.to_string(),
            Number::Inexact { text, .. } => text.clone(),
        };
        let state = format!(r#"{{"n": {literal}, "l": [{literal}]}}"#);
        let ty = Type::Object(BTreeMap::from([
            ("n".to_owned(), Type::Number),
            ("l".to_owned(), Type::list(Type::Number)),
        ]));
        let number = Value::Number(n);
        let want = Value::object([("n", number.clone()), ("l", Value::List(vec![number]))]);
        prop_assert_eq!(json::decode(state.as_bytes(), &ty), Ok(want));
    }

    #[test]
    fn a_floats_shortest_form_parses_as_that_float(f in any::<f64>()) {
        // Both forms go-cty and serde might write: plain (`0.1`) and with an exponent. A whole
        // float stands for its exact value instead, since Terraform compares whole numbers
        // exactly (the float 1e23 is 99999999999999991611392). A whole one of up to 19 digits
        // is an `i64` as well, and parses as one.
        prop_assume!(f.is_finite());
        // Rust's own `{}` agrees with Go's shortest form except for a float exactly halfway
        // between two (Rust takes the odd digit, Go the even): its forms are tried only where
        // they agree.
        let forms = if f.fract() == 0.0 {
            vec![exact_decimal(f)]
        } else if same_decimal(&format!("{f}"), &shortest_decimal(f)) {
            vec![format!("{f}"), format!("{f:e}")]
        } else {
            vec![shortest_decimal(f)]
        };
        for text in forms {
            let parsed = Number::parse(&text);
            let same = match parsed {
                Some(Number::Float(g)) => g == f,
                Some(Number::Int(i)) => i as f64 == f && f.fract() == 0.0,
                _ => false,
            };
            prop_assert!(same, "{} parsed as {:?}", text, parsed);
        }
    }

    #[test]
    fn a_whole_decimal_beyond_a_floats_precision_is_a_float_only_when_exact(
        digits in "[1-9][0-9]{15,25}",
        exponent in 0i32..20,
    ) {
        let text = format!("{digits}e{exponent}");
        let nearest: f64 = text.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let exact = same_decimal(&exact_decimal(nearest), &text);
        match Number::parse(&text) {
            Some(Number::Float(f)) => prop_assert!(exact && f == nearest, "{}", text),
            Some(Number::Int(i)) => prop_assert!(exact && i as f64 == nearest, "{}", text),
            Some(Number::Inexact { .. }) => prop_assert!(!exact, "{}", text),
            None => prop_assert!(false, "{} does not parse", text),
        }
    }

    #[test]
    fn a_decimal_of_at_most_15_significant_digits_is_never_inexact(
        digits in "[1-9][0-9]{0,14}",
        exponent in -290i32..290,
        negative in any::<bool>(),
    ) {
        // Below 10^15 a float holds every whole number exactly; above, whole numbers compare
        // exactly and most such decimals are no float's exact value (1e23). So a positive
        // exponent is folded into the room the digits leave below 10^15 (folded, not filtered:
        // filtering rejected half the cases and aborted long runs).
        let room = 15 - i32::try_from(digits.len()).unwrap_or(15);
        let exponent = if exponent < 0 { exponent } else { exponent % (room + 1) };
        let sign = if negative { "-" } else { "" };
        let text = format!("{sign}{digits}e{exponent}");
        let parsed = Number::parse(&text);
        prop_assert!(
            matches!(parsed, Some(Number::Int(_) | Number::Float(_))),
            "{} parsed as {:?}", text, parsed
        );
    }

    #[test]
    fn a_decimal_no_float_stands_for_keeps_its_text(text in too_many_digits()) {
        match Number::parse(&text) {
            Some(Number::Inexact { text: kept, nearest }) => {
                prop_assert_eq!(&kept, &text);
                prop_assert_eq!(Some(nearest), text.parse::<f64>().ok());
            }
            // Some long decimals are a float's shortest form after all: trailing digits
            // within the float's own precision.
            Some(Number::Float(f)) => prop_assert_eq!(Some(f), text.parse::<f64>().ok()),
            other => prop_assert!(false, "{} parsed as {:?}", text, other),
        }
    }

    #[test]
    fn json_encodes_exactly_the_wholly_known_values((ty, value) in typed_value(true)) {
        // JSON has no unknowns: refusing them beats writing them as something else.
        prop_assert_eq!(json::encode(&value, &ty).is_ok(), value.is_wholly_known());
    }
}

const DEEP: usize = 100_000;

/// Arrays nested far deeper than any schema: an error, not a stack overflow.
#[test]
fn deeply_nested_msgpack_is_refused() {
    let mut arrays = vec![0x91u8; DEEP];
    arrays.push(0xc0);
    let mut deep_list = Type::String;
    for _ in 0..64 {
        deep_list = Type::list(deep_list);
    }
    for ty in [Type::Dynamic, Type::String, deep_list] {
        assert!(msgpack::decode(&arrays, &ty).is_err());
    }
}

#[test]
fn deeply_nested_json_is_refused() {
    let text = format!("{}null{}", "[".repeat(DEEP), "]".repeat(DEEP));
    assert!(json::decode(text.as_bytes(), &Type::Dynamic).is_err());
    assert!(json::decode(text.as_bytes(), &Type::list(Type::String)).is_err());
}

#[test]
fn a_deeply_nested_dynamic_type_is_refused() {
    let type_json = format!(
        "{}\"string\"{}",
        "[\"list\",".repeat(DEEP),
        "]".repeat(DEEP)
    );
    let raw = Mp::Array(vec![Mp::Binary(type_json.into_bytes()), Mp::Nil]);
    assert!(msgpack::decode(&to_bytes(&raw), &Type::Dynamic).is_err());
}

/// Dynamic values inside dynamic values, each level a `[type, value]` pair.
#[test]
fn deeply_nested_dynamic_values_are_refused() {
    let mut nested = Mp::Nil;
    for _ in 0..600 {
        nested = Mp::Array(vec![Mp::Binary(b"\"dynamic\"".to_vec()), nested]);
    }
    assert!(msgpack::decode(&to_bytes(&nested), &Type::Dynamic).is_err());
}
