//! Terraform values on the wire: types, known/null/unknown values, attribute paths, diagnostics,
//! and the msgpack and JSON codecs.
//!
//! This layer knows the plugin protocol's *data* format and nothing about resources, gRPC or
//! Konoha's domain. The framework above it gives the values meaning.

pub mod diagnostics;
pub mod json;
pub mod msgpack;
pub mod number;
pub mod path;
pub mod types;
pub mod value;

#[cfg(test)]
mod proptests;

pub use diagnostics::{Diagnostic, Diagnostics, Severity, error_chain};
pub use number::Number;
pub use path::{AttributePath, PathStep};
pub use types::Type;
pub use value::Value;

/// Why a value could not be decoded from, or encoded to, the wire.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CodecError {
    /// The bytes are not valid msgpack or JSON at all.
    #[error("malformed {format} at {path}: {message}")]
    Malformed {
        /// `msgpack` or `JSON`.
        format: &'static str,
        /// Where in the value the problem is.
        path: AttributePath,
        /// What the decoder expected.
        message: String,
    },
    /// The value does not fit the schema's type.
    #[error("value at {path} does not match type {expected}: {message}")]
    TypeMismatch {
        /// Where in the value the problem is.
        path: AttributePath,
        /// The type the schema declares.
        expected: String,
        /// What was found instead.
        message: String,
    },
}

impl CodecError {
    /// A [`CodecError::TypeMismatch`] at the root; codecs add the path with [`CodecError::under`]
    /// as the error travels out of the recursion, so decoding a good value builds no paths.
    pub(crate) fn mismatch(expected: &Type, message: impl Into<String>) -> Self {
        CodecError::TypeMismatch {
            path: AttributePath::root(),
            expected: expected.to_string(),
            message: message.into(),
        }
    }

    /// A [`CodecError::TypeMismatch`] for finding `kind` (e.g. "a string") where `expected` goes.
    pub(crate) fn found(expected: &Type, kind: &str) -> Self {
        Self::mismatch(expected, format!("found {kind}"))
    }

    /// A [`CodecError::TypeMismatch`] for a tuple of `found` elements where `expected` go.
    pub(crate) fn tuple_length(ty: &Type, expected: usize, found: usize) -> Self {
        Self::mismatch(ty, format!("expected {expected} elements, found {found}"))
    }

    /// [`CodecError::under`] the element at `index` of a list, set or tuple.
    pub(crate) fn under_index(self, index: usize) -> Self {
        // A slice index always fits in i64.
        self.under(PathStep::ElementKeyInt(index as i64))
    }

    /// The same error, seen from one step further out: `step` goes in front of its path.
    pub(crate) fn under(mut self, step: PathStep) -> Self {
        let (CodecError::Malformed { path, .. } | CodecError::TypeMismatch { path, .. }) =
            &mut self;
        path.0.insert(0, step);
        self
    }
}
