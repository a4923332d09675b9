//! KV v2 operations on [`VaultClient`]: read the current version, check-and-set write,
//! metadata read/write, soft delete and delete-all.
//!
//! Secrets are flat string maps here: Konoha stores every value as a JSON string. Absence is
//! a value: a missing, soft-deleted or destroyed secret reads as `None`, not as an error.
//! Listing, undelete and patch are left out: the provider does not use them.

use std::collections::BTreeMap;

use ::http::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::error::{Failure, classify};
use super::http::HttpError;
use super::{VaultClient, VaultError};

/// The largest check-and-set version Vault can be asked for: it holds versions as signed
/// 64-bit numbers.
const MAX_CAS: u64 = i64::MAX as u64;

/// Every KV v2 answer wraps what it says in `data`.
#[derive(Deserialize)]
struct Answer<T> {
    data: T,
}

/// `GET <mount>/data/<name>`.
#[derive(Deserialize)]
struct ReadAnswer {
    #[serde(default)]
    data: Value,
    metadata: VersionMetadata,
}

/// The metadata of one version, as a read returns it.
#[derive(Deserialize)]
struct VersionMetadata {
    version: u64,
    #[serde(default)]
    deletion_time: String,
    #[serde(default)]
    destroyed: bool,
    #[serde(default)]
    custom_metadata: Option<BTreeMap<String, String>>,
}

/// `POST <mount>/data/<name>`.
#[derive(Deserialize)]
struct WriteAnswer {
    version: u64,
}

/// `GET <mount>/metadata/<name>`.
#[derive(Deserialize)]
struct MetadataAnswer {
    current_version: u64,
    #[serde(default)]
    max_versions: u64,
    #[serde(default)]
    custom_metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    cas_required: bool,
}

/// The `data` of a 2xx answer, decoded as `T`.
fn decode<T: DeserializeOwned>(answer: Value) -> Result<T, HttpError> {
    serde_json::from_value::<Answer<T>>(answer)
        .map(|answer| answer.data)
        .map_err(HttpError::Decode)
}

/// The live current version of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVersion {
    /// The key/value pairs. Values Vault holds as non-strings (numbers, booleans, null,
    /// arrays, objects, e.g. written by hand) appear as their compact JSON text: `6`, `true`,
    /// `null`, `["a"]`.
    pub data: BTreeMap<String, String>,
    /// The KV version number of this data.
    pub version: u64,
    /// The secret's user-defined metadata, which Vault returns with the data: a reader that
    /// needs nothing else from the metadata endpoint can skip that second request.
    pub custom_metadata: BTreeMap<String, String>,
}

/// A secret's metadata: the part of KV v2 that is not versioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMetadata {
    /// The newest version number, deleted or not; 0 when only metadata was ever written.
    pub current_version: u64,
    /// How many versions Vault keeps for this secret; 0 means the mount's setting.
    pub max_versions: u64,
    /// User-defined metadata.
    pub custom_metadata: BTreeMap<String, String>,
    /// Whether every write to this secret must carry a check-and-set version.
    pub cas_required: bool,
}

impl VaultClient {
    /// Reads the current version of `<mount>/<name>`.
    ///
    /// `Ok(None)` when the secret never existed, its metadata was deleted, or its current
    /// version is soft-deleted or destroyed (Vault answers 404 for all of these; a 200 with a
    /// deletion time or `destroyed` is treated the same way, as older servers answered so).
    /// A missing mount also answers 404 and so reads as `None`.
    pub async fn read_opt(
        &self,
        mount: &str,
        name: &str,
    ) -> Result<Option<SecretVersion>, VaultError> {
        let path = checked_path(mount, name)?;
        tracing::debug!(%path, "Vault KV v2 read");
        let answer = self
            .http()
            .send(Method::GET, &format!("{mount}/data/{name}"), None)
            .await
            .and_then(decode::<ReadAnswer>);
        let response = match answer {
            Ok(response) => response,
            Err(source) if classify(&source) == Failure::NotFound => return Ok(None),
            Err(source) => {
                return Err(
                    self.fail("read", path, source, |path, source| VaultError::Read {
                        path,
                        source,
                    }),
                );
            }
        };
        let metadata = response.metadata;
        if !metadata.deletion_time.is_empty() || metadata.destroyed {
            return Ok(None);
        }
        let data = match response.data {
            Value::Object(map) => map
                .into_iter()
                .map(|(key, value)| (key, stringify(value)))
                .collect(),
            Value::Null => return Ok(None),
            _ => return Err(VaultError::MalformedData { path }),
        };
        Ok(Some(SecretVersion {
            data,
            version: metadata.version,
            custom_metadata: metadata.custom_metadata.unwrap_or_default(),
        }))
    }

    /// Reads the metadata of `<mount>/<name>`; `Ok(None)` when there is none (404).
    pub async fn read_metadata_opt(
        &self,
        mount: &str,
        name: &str,
    ) -> Result<Option<SecretMetadata>, VaultError> {
        let path = checked_path(mount, name)?;
        tracing::debug!(%path, "Vault KV v2 read metadata");
        let answer = self
            .http()
            .send(Method::GET, &format!("{mount}/metadata/{name}"), None)
            .await
            .and_then(decode::<MetadataAnswer>);
        match answer {
            Ok(response) => Ok(Some(SecretMetadata {
                current_version: response.current_version,
                max_versions: response.max_versions,
                custom_metadata: response.custom_metadata.unwrap_or_default(),
                cas_required: response.cas_required,
            })),
            Err(source) if classify(&source) == Failure::NotFound => Ok(None),
            Err(source) => Err(self.fail("read metadata of", path, source, |path, source| {
                VaultError::ReadMetadata { path, source }
            })),
        }
    }

    /// Writes `data` as a new version of `<mount>/<name>` if, and only if, the current version
    /// is `cas` (`0`: only if the secret does not exist, or has only metadata). Returns the new
    /// version number.
    ///
    /// A lost race is [`VaultError::CasMismatch`]. Note that after a soft delete Vault still
    /// counts the deleted version as current, so re-creating then needs `cas` = that version,
    /// not 0 (see [`SecretMetadata::current_version`]).
    pub async fn write_cas(
        &self,
        mount: &str,
        name: &str,
        data: &BTreeMap<String, String>,
        cas: u64,
    ) -> Result<u64, VaultError> {
        let path = checked_path(mount, name)?;
        if cas > MAX_CAS {
            return Err(VaultError::CasOutOfRange { path, cas });
        }
        tracing::debug!(%path, cas, keys = data.len(), "Vault KV v2 write");
        let body = json!({"data": data, "options": {"cas": cas}});
        let answer = self
            .http()
            .send(Method::POST, &format!("{mount}/data/{name}"), Some(&body))
            .await
            .and_then(decode::<WriteAnswer>);
        match answer {
            Ok(written) => Ok(written.version),
            Err(source) if classify(&source) == Failure::CasMismatch => {
                Err(VaultError::CasMismatch {
                    path,
                    expected: cas,
                })
            }
            Err(source) => {
                Err(
                    self.fail("write", path, source, |path, source| VaultError::Write {
                        path,
                        source,
                    }),
                )
            }
        }
    }

    /// Sets the metadata of `<mount>/<name>` without creating a version.
    ///
    /// `custom_metadata` replaces what is stored (an empty map clears it). `max_versions`
    /// `None` leaves the stored limit alone; to go back to the mount's default, pass `Some(0)`.
    pub async fn write_metadata(
        &self,
        mount: &str,
        name: &str,
        max_versions: Option<u64>,
        custom_metadata: &BTreeMap<String, String>,
    ) -> Result<(), VaultError> {
        let path = checked_path(mount, name)?;
        tracing::debug!(%path, ?max_versions, "Vault KV v2 write metadata");
        let mut body = Map::new();
        body.insert("custom_metadata".to_owned(), json!(custom_metadata));
        if let Some(max_versions) = max_versions {
            body.insert("max_versions".to_owned(), json!(max_versions));
        }
        let body = Value::Object(body);
        self.http()
            .send(
                Method::POST,
                &format!("{mount}/metadata/{name}"),
                Some(&body),
            )
            .await
            .map(drop)
            .map_err(|source| {
                self.fail("write metadata of", path, source, |path, source| {
                    VaultError::WriteMetadata { path, source }
                })
            })
    }

    /// Soft-deletes the latest version of `<mount>/<name>` (undoable; history and metadata
    /// stay). Succeeds when the secret does not exist.
    pub async fn delete_latest(&self, mount: &str, name: &str) -> Result<(), VaultError> {
        let path = checked_path(mount, name)?;
        tracing::debug!(%path, "Vault KV v2 delete latest");
        let answer = self
            .http()
            .send(Method::DELETE, &format!("{mount}/data/{name}"), None)
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(source) if classify(&source) == Failure::NotFound => Ok(()),
            Err(source) => Err(self.fail("delete", path, source, |path, source| {
                VaultError::DeleteLatest { path, source }
            })),
        }
    }

    /// Permanently deletes `<mount>/<name>`: metadata and every version. Succeeds when the
    /// secret does not exist.
    pub async fn delete_all(&self, mount: &str, name: &str) -> Result<(), VaultError> {
        let path = checked_path(mount, name)?;
        tracing::debug!(%path, "Vault KV v2 delete metadata and all versions");
        let answer = self
            .http()
            .send(Method::DELETE, &format!("{mount}/metadata/{name}"), None)
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(source) if classify(&source) == Failure::NotFound => Ok(()),
            Err(source) => Err(self.fail(
                "delete all versions of",
                path,
                source,
                |path, source| VaultError::DeleteAll { path, source },
            )),
        }
    }
}

/// `<mount>/<name>` after checking both are relative paths without empty, `.` or `..`
/// segments: the URL builder would otherwise quietly send the request somewhere else.
fn checked_path(mount: &str, name: &str) -> Result<String, VaultError> {
    let path = format!("{mount}/{name}");
    let invalid = |reason| VaultError::InvalidPath {
        path: path.clone(),
        reason,
    };
    for (part, what_empty) in [(mount, "the mount is empty"), (name, "the name is empty")] {
        if part.is_empty() {
            return Err(invalid(what_empty));
        }
        if part
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..")
        {
            return Err(invalid(
                "empty, \".\" or \"..\" segment (or a leading/trailing slash)",
            ));
        }
    }
    Ok(path)
}

/// A KV value as a string: strings as they are, anything else as compact JSON.
fn stringify(value: Value) -> String {
    match value {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stringifies_non_string_values_as_json() {
        let cases = [
            (Value::from("2g"), "2g"),
            (Value::from(6), "6"),
            (Value::from(1.5), "1.5"),
            (Value::from(true), "true"),
            (Value::Null, "null"),
            (serde_json::json!(["a", 1]), r#"["a",1]"#),
            (serde_json::json!({"b": "c"}), r#"{"b":"c"}"#),
        ];
        for (value, expected) in cases {
            assert_eq!(stringify(value), expected);
        }
    }

    #[test]
    fn checks_paths() {
        assert_eq!(
            checked_path("secret", "team/a").ok(),
            Some("secret/team/a".to_owned())
        );
        assert_eq!(
            checked_path("kv/nested", "a").ok(),
            Some("kv/nested/a".to_owned())
        );
        for (mount, name) in [
            ("", "a"),
            ("secret", ""),
            ("/secret", "a"),
            ("secret/", "a"),
            ("secret", "a//b"),
            ("secret", "a/"),
            ("secret", "../sys/policy"),
            ("secret", "a/./b"),
        ] {
            let result = checked_path(mount, name);
            assert!(
                matches!(result, Err(VaultError::InvalidPath { .. })),
                "{mount:?} {name:?}: {result:?}"
            );
        }
    }
}
