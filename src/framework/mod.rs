//! The provider framework: schemas, the resource traits and Terraform's planning rules.
//!
//! Resources implement [`Resource`] (or [`DataSource`]) and the provider [`Provider`];
//! [`Server`] wraps them in the protocol's rules. Nothing here knows about gRPC (that is
//! `plugin`) or about Spark and Kyuubi (that is the resources).

pub mod docs;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod server;
pub mod timeouts;
pub mod validators;

pub use resource::{
    Applied, ApplyError, ConfigureRequest, Context, CreateRequest, DataReadRequest, DataSource,
    DeleteRequest, PlanRequest, Provider, ReadRequest, Refreshed, Resource, UpdateRequest,
};
pub use schema::{Attribute, Block, NestedBlock, Nesting, NumberKind, Schema};
pub use server::{AppliedChange, PlannedChange, Schemas, Server};
