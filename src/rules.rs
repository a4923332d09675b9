//! What the domain modules (`spark`, `kyuubi`) share: [`Field`], a setting as the
//! configuration gives it at plan time, and [`Violation`], a broken rule with the path of the
//! argument at fault.
//!
//! Deliberately not Terraform's types: the domain needs only these, and the resources convert
//! Terraform values and attribute paths to and from them.

use std::fmt;

/// A setting as the configuration gives it at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Field<T> {
    /// Known only after apply (it depends on something not yet created).
    Unknown,
    /// Not written (null); a default may apply.
    #[default]
    Unset,
    /// Written, with this value.
    Set(T),
}

impl<T> Field<T> {
    /// Whether the value is known only after apply.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Field::Unknown)
    }

    /// Whether a value was written.
    pub fn is_set(&self) -> bool {
        matches!(self, Field::Set(_))
    }

    /// The value when written and known, `None` otherwise.
    pub fn value(&self) -> Option<&T> {
        match self {
            Field::Set(value) => Some(value),
            Field::Unknown | Field::Unset => None,
        }
    }

    /// `None` when unknown, else whether and what was written.
    pub fn known(&self) -> Option<Option<&T>> {
        match self {
            Field::Unknown => None,
            Field::Unset => Some(None),
            Field::Set(value) => Some(Some(value)),
        }
    }

    /// The field borrowing its value.
    pub fn as_ref(&self) -> Field<&T> {
        match self {
            Field::Unknown => Field::Unknown,
            Field::Unset => Field::Unset,
            Field::Set(value) => Field::Set(value),
        }
    }

    /// The field with `f` applied to a written value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Unknown => Field::Unknown,
            Field::Unset => Field::Unset,
            Field::Set(value) => Field::Set(f(value)),
        }
    }

    /// The value (cloned), or `default` when unset; `None` while unknown.
    pub fn or(&self, default: T) -> Option<T>
    where
        T: Clone,
    {
        match self {
            Field::Unknown => None,
            Field::Unset => Some(default),
            Field::Set(value) => Some(value.clone()),
        }
    }

    /// The written value, or `default` when unset; `None` when unknown.
    pub fn with_default(self, default: T) -> Option<T> {
        match self {
            Field::Unknown => None,
            Field::Unset => Some(default),
            Field::Set(value) => Some(value),
        }
    }
}

impl<T: Clone> Field<&T> {
    /// The field owning a copy of its value.
    pub fn cloned(self) -> Field<T> {
        self.map(T::clone)
    }
}

/// One step of the path to the offending value. Nested blocks are lists of one, so a value in
/// `dynamic_allocation` is `[Attr("dynamic_allocation"), Index(0), Attr("min_executors")]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// An attribute or block name.
    Attr(&'static str),
    /// A map key.
    Key(String),
    /// The single element of a nested block the domain models as a list of one (the Spark
    /// profile's blocks); Terraform addresses such a block without an index.
    Index(usize),
    /// An element of a repeated block (`tolerations`), which Terraform addresses by index.
    Item(usize),
}

/// A broken rule: where, and a message that states the bad value, the rule and a way out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Path from the resource's root to the offending value.
    pub path: Vec<PathSegment>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Violation {
    pub(crate) fn new(path: Vec<PathSegment>, message: impl Into<String>) -> Self {
        Violation {
            path,
            message: message.into(),
        }
    }

    /// The path as Terraform prints it: `dynamic_allocation[0].min_executors`, `extra_conf["k"]`.
    pub fn path_string(&self) -> String {
        let mut text = String::new();
        for segment in &self.path {
            match segment {
                PathSegment::Attr(name) if text.is_empty() => text.push_str(name),
                PathSegment::Attr(name) => {
                    text.push('.');
                    text.push_str(name);
                }
                PathSegment::Key(key) => text.push_str(&format!("[{key:?}]")),
                PathSegment::Index(index) | PathSegment::Item(index) => {
                    text.push_str(&format!("[{index}]"));
                }
            }
        }
        text
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path_string(), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_keep_the_three_states_apart() {
        let set = Field::Set(3);
        assert_eq!(set.known(), Some(Some(&3)));
        assert_eq!(Field::<i64>::Unset.known(), Some(None));
        assert_eq!(Field::<i64>::Unknown.known(), None);
        assert_eq!(set.clone().map(|v| v * 2), Field::Set(6));
        assert_eq!(set.as_ref().cloned(), set);
        assert_eq!(Field::Unset.with_default(7), Some(7));
        assert_eq!(Field::Unknown.with_default(7), None);
        assert!(Field::<i64>::Unknown.is_unknown() && set.is_set());
        assert_eq!(set.value(), Some(&3));
    }
}
