//! The resources and data sources: each glues a schema, the domain rules and a client.
//!
//! - [`spark_profile`]: `konoha_spark_profile`, a workload's Spark settings in Vault KV v2;
//! - [`spark_profile_data`]: the `konoha_spark_profile` data source;
//! - [`profile_model`]: conversions between Terraform values and the Spark domain's types,
//!   shared by both;
//! - [`kyuubi_server`]: `konoha_kyuubi_server`, a Kyuubi server on Kubernetes, with
//!   [`kyuubi_schema`] (its schema), [`kyuubi_model`] (conversions, drift comparison) and [`rollout_wait`] (waiting on the
//!   cluster), and its data source [`kyuubi_server_data`]; `adoption` judges whether a create
//!   may take over objects already in the cluster;
//! - [`footprint_value`]: the `footprint` attribute both profile schemas carry;
//! - [`placement_model`]: the toleration block's schema and decoding, shared by both resources;
//! - [`value_readers`]: string and whole-number readers under all the model decoders;
//! - [`omitted`]: empty values a remote leaves out, read back as the form the state holds.

mod adoption;
pub mod footprint_value;
pub mod kyuubi_model;
pub mod kyuubi_schema;
pub mod kyuubi_server;
pub mod kyuubi_server_data;
pub mod omitted;
pub mod placement_model;
pub mod profile_model;
pub mod rollout_wait;
pub mod spark_profile;
pub mod spark_profile_data;
pub mod value_readers;

use crate::tf::{AttributePath, Diagnostic};
use crate::vault::{VaultClient, VaultError};

/// The diagnostic for a remote failure: what failed, the error chain, and whether retrying may help.
pub(crate) fn remote_error(summary: &str, err: &dyn std::error::Error) -> Diagnostic {
    Diagnostic::error(summary, crate::tf::error_chain(err))
}

/// The diagnostic for a domain rule the configuration breaks.
pub(crate) fn invalid_setting(path: AttributePath, message: String) -> Diagnostic {
    Diagnostic::error("Invalid Spark profile setting", message).at(path)
}

/// Refuses a profile mount that is not a KV version 2 secrets engine, before anything is read
/// from or written to it; the refusal points at `mount` and says what the mount is.
pub(crate) async fn require_kv2_mount(vault: &VaultClient, mount: &str) -> Result<(), Diagnostic> {
    vault.ensure_kv2(mount).await.map_err(|err| match err {
        VaultError::NotKv2 { .. } => Diagnostic::error("Not a KV version 2 mount", err.to_string())
            .at(AttributePath::attr("mount")),
        other => remote_error(
            &format!("Unable to look up the Vault mount {mount}"),
            &other,
        ),
    })
}
