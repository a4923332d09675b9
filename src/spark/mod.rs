//! The Spark domain: a `konoha_spark_profile`'s settings, their rules and their rendering into
//! Spark properties and the `spark.env` file.
//!
//! Pure functions only: no I/O, and no Terraform types (nothing here imports `crate::tf` or
//! `crate::framework`); the resource maps [`Field`]s and [`Violation`]s to and from Terraform
//! values and diagnostics. Start at [`profile`] for the model, then [`mod@validate`] and
//! [`render`]. Vault access lives in `crate::vault`.

pub mod allocation;
pub mod decimal;
pub mod footprint;
pub mod keys;
pub mod memory;
pub mod profile;
pub mod quantity;
pub mod render;
pub mod secrets;
pub mod storage;
pub mod validate;
pub mod violation;

pub use decimal::Decimal;
pub use keys::{is_rendered_key, server_owned_keys, typed_keys};
pub use profile::{
    DynamicAllocation, DynamicAllocationInput, Field, Gpu, GpuInput, Profile, ProfileInput, resolve,
};
pub use render::{
    ProfileRef, content_sha256, parse_profile_ref, profile_ref, recommended_shuffle_partitions,
    render_env_file, render_properties,
};
pub use validate::validate;
pub use violation::{PathSegment, Violation};
