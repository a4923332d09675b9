//! The provider's Kubernetes client: server-side apply, get, delete, list and events over
//! kube-rs, with objects as dynamic JSON, plus the managed-fields projection used to compare
//! only what konoha owns.
//!
//! Nothing here knows Terraform or Kyuubi: rendering the objects is `kyuubi`'s job, waiting for
//! rollouts and turning errors into diagnostics are the resources'. Connection settings are
//! resolved in two steps, pure ([`resolve_source`]) then I/O ([`KubeClient::connect`]).
//!
//! - `settings.rs`: [`KubeSettings`], [`Secret`] and the order of precedence;
//! - `config.rs`: loading the chosen source into a kube-rs `Config`;
//! - `client.rs`: [`KubeClient`] and its requests;
//! - `object.rs`: the [`Kind`] table and [`ObjectRef`] paths;
//! - `fields.rs`: [`owned_fields`] and [`project_owned`];
//! - `ownership.rs`: [`taken_fields`], what another manager took from the applier;
//! - `retry.rs`: [`retry::RetryPolicy`], when a failed request is sent again;
//! - `events.rs`: [`Event`];
//! - `error.rs`: [`KubeError`] and the server's [`ApiStatus`].

mod client;
mod config;
mod error;
mod events;
mod fields;
mod object;
mod ownership;
pub mod retry;
mod settings;
#[cfg(test)]
mod test_server;

pub use client::KubeClient;
pub use error::{Action, ApiStatus, FieldConflict, KubeError, StatusCause};
pub use events::Event;
pub use fields::{owned_fields, project_owned};
pub use object::{Kind, ObjectRef};
pub use ownership::{TakenField, taken_fields};
pub use settings::{ConfigSource, KubeSettings, KubeconfigOrigin, Secret, resolve_source};
