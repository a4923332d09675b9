//! Terraform (cty) types, and their JSON form in schemas.

use std::collections::BTreeMap;
use std::fmt;

use super::Value;

/// A cty type, as far as schemas use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// `"string"`.
    String,
    /// `"number"`: arbitrary precision in Terraform; integers and floats here.
    Number,
    /// `"bool"`.
    Bool,
    /// `["list", T]`.
    List(Box<Type>),
    /// `["set", T]`.
    Set(Box<Type>),
    /// `["map", T]`.
    Map(Box<Type>),
    /// `["object", {name: T}]`.
    Object(BTreeMap<String, Type>),
    /// `["tuple", [T...]]`.
    Tuple(Vec<Type>),
    /// `"dynamic"`: the value carries its own type on the wire.
    Dynamic,
}

impl Type {
    /// `list(element)`.
    pub fn list(element: Type) -> Self {
        Self::List(Box::new(element))
    }

    /// `set(element)`.
    pub fn set(element: Type) -> Self {
        Self::Set(Box::new(element))
    }

    /// `map(element)`.
    pub fn map(element: Type) -> Self {
        Self::Map(Box::new(element))
    }

    /// The type a `dynamic` attribute's value is sent with, since the wire needs one and a value
    /// alone cannot tell a list from a set or tuple, or a map from an object: lists become tuples
    /// and maps become objects, the most exact choice. Null and unknown are `dynamic`.
    pub fn infer(value: &Value) -> Self {
        match value {
            Value::Unknown | Value::Null => Type::Dynamic,
            Value::String(_) => Type::String,
            Value::Number(_) => Type::Number,
            Value::Bool(_) => Type::Bool,
            Value::List(items) => Type::Tuple(items.iter().map(Type::infer).collect()),
            Value::Map(attrs) => Type::Object(
                attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), Type::infer(v)))
                    .collect(),
            ),
        }
    }

    /// The type constraint as JSON, the form `Schema.Attribute.type` carries.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Value as J, json};
        match self {
            Type::String => J::from("string"),
            Type::Number => J::from("number"),
            Type::Bool => J::from("bool"),
            Type::Dynamic => J::from("dynamic"),
            Type::List(e) => json!(["list", e.to_json()]),
            Type::Set(e) => json!(["set", e.to_json()]),
            Type::Map(e) => json!(["map", e.to_json()]),
            Type::Object(attrs) => {
                let attrs: serde_json::Map<String, J> = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                json!(["object", attrs])
            }
            Type::Tuple(elems) => {
                json!(["tuple", elems.iter().map(Type::to_json).collect::<Vec<_>>()])
            }
        }
    }

    /// Parses a JSON type constraint, the inverse of [`Type::to_json`].
    pub fn from_json(json: &serde_json::Value) -> Option<Self> {
        use serde_json::Value as J;
        match json {
            J::String(s) => match s.as_str() {
                "string" => Some(Type::String),
                "number" => Some(Type::Number),
                "bool" => Some(Type::Bool),
                "dynamic" => Some(Type::Dynamic),
                _ => None,
            },
            J::Array(parts) => match (parts.first().and_then(J::as_str), parts.get(1)) {
                (Some("list"), Some(e)) => Some(Type::list(Type::from_json(e)?)),
                (Some("set"), Some(e)) => Some(Type::set(Type::from_json(e)?)),
                (Some("map"), Some(e)) => Some(Type::map(Type::from_json(e)?)),
                (Some("object"), Some(J::Object(attrs))) => Some(Type::Object(
                    attrs
                        .iter()
                        .map(|(k, v)| Some((k.clone(), Type::from_json(v)?)))
                        .collect::<Option<_>>()?,
                )),
                (Some("tuple"), Some(J::Array(elems))) => Some(Type::Tuple(
                    elems.iter().map(Type::from_json).collect::<Option<_>>()?,
                )),
                _ => None,
            },
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::Dynamic => f.write_str("dynamic"),
            Type::List(e) => write!(f, "list({e})"),
            Type::Set(e) => write!(f, "set({e})"),
            Type::Map(e) => write!(f, "map({e})"),
            Type::Object(_) => f.write_str("object"),
            Type::Tuple(_) => f.write_str("tuple"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let ty = Type::Object(BTreeMap::from([
            ("a".to_owned(), Type::list(Type::String)),
            ("b".to_owned(), Type::map(Type::Number)),
            ("c".to_owned(), Type::Tuple(vec![Type::Bool, Type::Dynamic])),
            ("d".to_owned(), Type::set(Type::String)),
        ]));
        let json = ty.to_json();
        assert_eq!(
            json.to_string(),
            r#"["object",{"a":["list","string"],"b":["map","number"],"c":["tuple",["bool","dynamic"]],"d":["set","string"]}]"#
        );
        assert_eq!(Type::from_json(&json), Some(ty));
    }
}
