//! [`Field`]: a configuration value at plan time, which may be unknown, unset or set.
//!
//! Deliberately not Terraform's value type: the domain needs only these three states, and the
//! resource converts its Terraform values into them.

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
