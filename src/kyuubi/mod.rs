//! The Kyuubi domain: a `konoha_kyuubi_server`'s settings, their rules, its configuration file,
//! its Kubernetes objects, and the judgement of a Deployment rollout.
//!
//! Pure functions only: no I/O, no Kubernetes client, and no Terraform types (nothing here
//! imports `crate::tf` or `crate::framework`). The resource decodes Terraform values into a
//! [`ServerInput`], maps [`Violation`]s to diagnostics, applies the [`Object`]s and polls
//! [`judge`]. Objects are `serde_json::Value` bodies for server-side apply holding exactly the
//! fields konoha owns (field manager [`constants::FIELD_MANAGER`]).
//!
//! Reading order: [`settings`] (model, defaults, [`resolve`]) → [`validate()`] → [`conf`] →
//! [`object`] → [`manifests`] (with [`rbac`] and [`deployment`]) → [`rollout`].
//!
//! # How a Spark profile reaches the engines
//!
//! The ConfigMap `<name>-conf` holds `kyuubi-defaults.conf` ([`render_kyuubi_defaults`]), mounted
//! at `/opt/kyuubi/conf-template`. The container runs `/bin/bash -c` [`START_SCRIPT`], which
//! writes that file followed by `/etc/kyuubi/spark.env` (the profile's `rendered` text, sorted
//! `key=value` lines) into `$KYUUBI_CONF_DIR/kyuubi-defaults.conf` (an emptyDir) and `exec`s
//! `bin/kyuubi run`. Kyuubi passes every `spark.*` entry of that file to each engine's
//! `spark-submit` as `--conf`, so each new engine gets the profile.
//!
//! `/etc/kyuubi/spark.env` comes from one of two deliveries:
//! - `vault-agent`: pod annotations (prefix `vault.hashicorp.com` or `openbao.openbao.org`) make
//!   the Agent Injector log in with `vault_agent.role` as the server's ServiceAccount (named like
//!   the server), read `<mount>/data/<name>` and render it with a template that prints
//!   `key=value` lines from `.Data.data`. Go templates range over maps in sorted key order, so
//!   the file equals the profile's `rendered` text.
//! - `kubernetes-secret`: the resource reads the profile from Vault itself and passes the text to
//!   [`render_objects`], which puts it in the Secret `<name>-spark-profile` (key `spark.env`),
//!   mounted at `/etc/kyuubi`.
//!
//! Either way the pod template carries `konoha.io/spark-profile-sha256` (from the ref) and
//! `konoha.io/config-sha256` ([`config_sha256`]), so a changed profile or configuration rolls
//! the pods, and an unchanged one leaves the Deployment as it is.
//!
//! # Pod security
//!
//! Every pod meets the Pod Security Standards `restricted` profile ([`pod_security`]): the
//! server's through its Deployment, the engines' through the driver and executor pod templates
//! the ConfigMap also holds, which `kyuubi-defaults.conf` points Spark at.

pub mod conf;
pub mod constants;
pub mod deployment;
pub mod manifests;
pub mod object;
pub mod pod_security;
pub mod rbac;
pub mod rollout;
pub mod settings;
pub mod syntax;
pub mod validate;

pub use conf::{START_SCRIPT, config_sha256, render_kyuubi_defaults, sha256_hex};
pub use manifests::render_objects;
pub use object::{Object, driver_pod_selector};
pub use pod_security::PodIdentity;
pub use rollout::{Rollout, judge};
pub use settings::{
    Delivery, Engine, EngineInput, Field, Ha, HaInput, Metrics, MetricsInput, PodSecurityInput,
    ProfileRef, Resources, ResourcesInput, ServerInput, ServerSettings, ServiceType, ShareLevel,
    VaultAgent, VaultAgentInput, jdbc_url, parse_profile_ref, resolve, rest_url,
};
pub use validate::{PathSegment, Violation, validate};
