//! Terraform values: known, null or unknown, for every type a schema uses.
//!
//! Values are untyped trees; the [`Type`](super::Type) that goes with them comes from the schema
//! and drives the codecs. Lists, sets and tuples share [`Value::List`]; maps and objects share
//! [`Value::Map`].

use std::collections::BTreeMap;

use super::Number;

/// A value of some Terraform type.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Not known until apply.
    Unknown,
    /// Explicitly absent.
    #[default]
    Null,
    /// A string.
    String(String),
    /// A number.
    Number(Number),
    /// A bool.
    Bool(bool),
    /// A list, set or tuple. A set holds no duplicates; its order carries no meaning.
    List(Vec<Value>),
    /// A map or an object. An object holds every attribute of its type, null where unset.
    Map(BTreeMap<String, Value>),
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Self {
        Value::String(s.into())
    }

    /// An integer value.
    pub fn int(i: i64) -> Self {
        Value::Number(Number::Int(i))
    }

    /// An object (or map) from pairs.
    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Self {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string value, or null for `None`.
    pub fn opt_string(s: Option<impl Into<String>>) -> Self {
        s.map_or(Value::Null, |s| Value::String(s.into()))
    }

    /// An integer value, or null for `None`.
    pub fn opt_int(i: Option<i64>) -> Self {
        i.map_or(Value::Null, Value::int)
    }

    /// A bool value, or null for `None`.
    pub fn opt_bool(b: Option<bool>) -> Self {
        b.map_or(Value::Null, Value::Bool)
    }

    /// A map of strings, or null for `None`.
    pub fn opt_string_map(map: Option<&BTreeMap<String, String>>) -> Self {
        map.map_or(Value::Null, |m| {
            Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::string(v)))
                    .collect(),
            )
        })
    }

    /// A word for what this value holds, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Unknown => "an unknown value",
            Value::Null => "null",
            Value::String(_) => "a string",
            Value::Number(_) => "a number",
            Value::Bool(_) => "a bool",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// True for [`Value::Unknown`] at the top level.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// True when this value and everything inside it is known.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(items) => items.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// An attribute of an object; null when absent or when this is not an object.
    pub fn attr(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match self {
            Value::Map(m) => m.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// The attribute `name` of a single nested block stored as a list of at most one object, or
    /// as an object; null when the block is absent.
    pub fn block(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match self.attr(name) {
            Value::List(items) => items.first().unwrap_or(&NULL),
            other => other,
        }
    }

    /// Sets an object attribute; a value that is not an object becomes one first.
    pub fn set_attr(&mut self, name: &str, value: Value) {
        match self {
            Value::Map(m) => {
                m.insert(name.to_owned(), value);
            }
            other => *other = Value::object([(name, value)]),
        }
    }

    /// Mutable entries, when this is a known map or object.
    pub fn as_map_mut(&mut self) -> Option<&mut BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The string, when this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, when this is a known whole number.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The bool, when this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements, when this is a known list, set or tuple.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, when this is a known map or object.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// A known map of known strings; `None` when null, unknown, or any element is not a string.
    pub fn as_string_map(&self) -> Option<BTreeMap<String, String>> {
        self.as_map()?
            .iter()
            .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect()
    }

    /// The value at `path` (attribute and element steps), or null when any step is missing.
    pub fn at(&self, path: &super::AttributePath) -> &Value {
        use super::PathStep;
        static NULL: Value = Value::Null;
        let mut current = self;
        for step in &path.0 {
            current = match (step, current) {
                (PathStep::Attribute(name), Value::Map(m))
                | (PathStep::ElementKeyString(name), Value::Map(m)) => m.get(name).unwrap_or(&NULL),
                (PathStep::ElementKeyInt(i), Value::List(items)) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| items.get(i))
                    .unwrap_or(&NULL),
                _ => return &NULL,
            };
        }
        current
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::int(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tf::AttributePath;

    #[test]
    fn navigation_returns_null_for_missing_steps() {
        let v = Value::object([(
            "gpu",
            Value::List(vec![Value::object([("amount", Value::int(1))])]),
        )]);
        assert_eq!(v.block("gpu").attr("amount"), &Value::int(1));
        assert_eq!(
            v.at(&AttributePath::parse_dotted("gpu.0.amount")),
            &Value::int(1)
        );
        assert!(v.at(&AttributePath::parse_dotted("gpu.1.amount")).is_null());
        assert!(v.attr("missing").is_null());
    }

    #[test]
    fn wholly_known_looks_inside() {
        let v = Value::object([("a", Value::List(vec![Value::Unknown]))]);
        assert!(!v.is_wholly_known());
        assert!(Value::object([("a", Value::Null)]).is_wholly_known());
    }
}
