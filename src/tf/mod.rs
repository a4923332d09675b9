//! Terraform values on the wire: types, known/null/unknown values, attribute paths, diagnostics,
//! and the msgpack and JSON codecs.
//!
//! This layer knows the plugin protocol's *data* format and nothing about resources, gRPC or
//! Konoha's domain. The framework above it gives the values meaning.

pub mod diagnostics;
pub mod json;
pub mod msgpack;
pub mod path;
pub mod types;
pub mod value;

pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use path::{AttributePath, PathStep};
pub use types::Type;
pub use value::{Number, Value};

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
