//! What a mount is: [`VaultClient::ensure_kv2`] checks that a profile's mount is a KV version 2
//! secrets engine before anything is read from or written to it, once per mount for the life of
//! the client.
//!
//! The answer comes from `sys/internal/ui/mounts/<mount>`, which Vault and OpenBao serve to any
//! token that may use something under the path, so it needs no `sys/mounts` permission. Without
//! the check a KV v1 mount takes the KV v2 data path as a plain key: a write "succeeds", leaving
//! a stray `<mount>/data/<name>` secret, and the answer fails to parse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ::http::Method;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use super::error::{Failure, classify};
use super::http::HttpError;
use super::{MountKind, VaultClient, VaultError};

/// Vault's message when the token may use nothing under the path, which is also how it answers
/// for a path with no mount (it will not tell the two apart).
const NOTHING_REACHABLE_MESSAGE: &str = "preflight capability check returned 403";

/// The mount lookups of one client: a cell per mount, so that concurrent first uses of a mount
/// make one request and later uses none. A failed lookup leaves its cell empty for a retry.
#[derive(Debug, Default)]
pub(super) struct MountCache {
    cells: Mutex<HashMap<String, Arc<OnceCell<MountKind>>>>,
}

impl MountCache {
    fn cell(&self, mount: &str) -> Arc<OnceCell<MountKind>> {
        // A poisoned lock only means another lookup panicked; the map itself is still whole.
        let mut cells = self
            .cells
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cells.entry(mount.to_owned()).or_default().clone()
    }
}

/// The part of the answer the check reads.
#[derive(Debug, Deserialize)]
struct MountInfo {
    #[serde(rename = "type")]
    engine: String,
    #[serde(default)]
    options: Option<Map<String, Value>>,
}

/// `GET sys/internal/ui/mounts/<mount>` answers with the mount's description in `data`.
#[derive(Debug, Deserialize)]
struct MountAnswer {
    data: MountInfo,
}

/// What an answer says the mount is.
fn kind_of(info: &MountInfo) -> MountKind {
    if info.engine != "kv" {
        return MountKind::Other(info.engine.clone());
    }
    // A KV mount without a version option is version 1, as Vault itself reads it.
    let version = info
        .options
        .as_ref()
        .and_then(|options| options.get("version"))
        .and_then(Value::as_str);
    match version {
        Some("2") => MountKind::Kv2,
        _ => MountKind::Kv1,
    }
}

/// Whether a failed lookup means "nothing reachable here" rather than a failure to ask.
fn nothing_reachable(error: &HttpError) -> bool {
    match classify(error) {
        Failure::NotFound => true,
        Failure::Forbidden => error
            .server_messages()
            .iter()
            .any(|message| message.contains(NOTHING_REACHABLE_MESSAGE)),
        _ => false,
    }
}

impl VaultClient {
    /// What is mounted at `mount`, asked once per mount for the life of this client (clones
    /// share the answers).
    pub async fn mount_kind(&self, mount: &str) -> Result<MountKind, VaultError> {
        let cell = self.mounts().cell(mount);
        let kind = cell
            .get_or_try_init(|| async {
                tracing::debug!(%mount, "Vault mount lookup");
                let answer = self
                    .http()
                    .send(
                        Method::GET,
                        &format!("sys/internal/ui/mounts/{mount}"),
                        None,
                    )
                    .await
                    .and_then(|answer| {
                        serde_json::from_value::<MountAnswer>(answer).map_err(HttpError::Decode)
                    });
                match answer {
                    Ok(answer) => Ok(kind_of(&answer.data)),
                    Err(source) if nothing_reachable(&source) => Ok(MountKind::Unreachable),
                    Err(source) => Err(self.fail(
                        "look up the mount",
                        mount.to_owned(),
                        source,
                        |mount, source| VaultError::MountLookup { mount, source },
                    )),
                }
            })
            .await?;
        Ok(kind.clone())
    }

    /// Fails with [`VaultError::NotKv2`], naming the mount and what it is, unless `mount` is a
    /// KV version 2 secrets engine.
    pub async fn ensure_kv2(&self, mount: &str) -> Result<(), VaultError> {
        match self.mount_kind(mount).await? {
            MountKind::Kv2 => Ok(()),
            found => Err(VaultError::NotKv2 {
                mount: mount.to_owned(),
                found,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(engine: &str, options: Value) -> MountInfo {
        MountInfo {
            engine: engine.to_owned(),
            options: options.as_object().cloned(),
        }
    }

    #[test]
    fn answers_read_as_kinds() {
        use serde_json::json;
        assert_eq!(
            kind_of(&info("kv", json!({"version": "2"}))),
            MountKind::Kv2
        );
        assert_eq!(
            kind_of(&info("kv", json!({"version": "1"}))),
            MountKind::Kv1
        );
        assert_eq!(kind_of(&info("kv", Value::Null)), MountKind::Kv1);
        assert_eq!(
            kind_of(&info("transit", Value::Null)),
            MountKind::Other("transit".to_owned())
        );
    }

    #[test]
    fn only_the_preflight_refusal_and_404_mean_nothing_reachable() {
        let api = |status: u16, message: &str| HttpError::Status {
            status,
            errors: vec![message.to_owned()],
        };
        assert!(nothing_reachable(&api(
            403,
            "preflight capability check returned 403, please ensure client's policies grant \
             access to path \"nothere/\""
        )));
        assert!(nothing_reachable(&api(404, "")));
        assert!(!nothing_reachable(&api(403, "permission denied")));
        assert!(!nothing_reachable(&api(500, "internal error")));
    }

    #[test]
    fn kinds_say_what_the_mount_is() {
        let error = VaultError::NotKv2 {
            mount: "kv1".to_owned(),
            found: MountKind::Kv1,
        };
        assert_eq!(
            error.to_string(),
            "the mount \"kv1\" is a KV version 1 secrets engine; Spark profiles need a KV \
             version 2 secrets engine"
        );
    }
}
