//! Secret Spark settings: `sensitive_conf` (hidden, kept in state) and `sensitive_conf_wo`
//! (write-only, never in state), their rules, the redacted `spark.env` that `rendered` shows, and
//! the keyed hash that makes `content_sha256` change with a secret value without revealing it.
//!
//! The secret values live in the profile's own KV v2 secret with every other property, so they
//! reach `spark.env` unchanged. Beside it, at [`seal_name`], konoha keeps a *seal*: the HMAC key,
//! which keys are secret, and the keyed hash of the write-only values as last written. The key
//! lives in Vault rather than in Terraform state or private state because a state reader could
//! otherwise test guesses of a secret against `content_sha256`; Vault is also where the
//! `konoha_kyuubi_server` (Secret delivery) and the data source can find it to recompute the hash.
//! Reading and writing the seal is the resource's job; this module is pure.

use std::collections::{BTreeMap, BTreeSet};

use crate::digest::{from_hex, hmac_sha256_hex, sha256_hex, to_hex};

use super::footprint;
use super::keys::{ValueShown, check_conf_map};
use super::profile::Field;
use super::violation::{PathSegment, Violation, attr, check_count};

/// What `rendered` shows in place of a secret value.
pub const REDACTED: &str = "<sensitive>";

/// What `rendered` shows, after a refresh, for a write-only value found changed in Vault.
pub const CHANGED_IN_VAULT: &str = "<sensitive, changed in Vault>";

/// Appended to a profile's name for its seal's name.
pub const SEAL_SUFFIX: &str = ".konoha-seal";

/// The seal's data keys.
const SEAL_HMAC_KEY: &str = "hmac_key";
const SEAL_SENSITIVE_KEYS: &str = "sensitive_keys";
const SEAL_WRITE_ONLY_KEYS: &str = "write_only_keys";
const SEAL_WRITE_ONLY_VERSION: &str = "write_only_version";
const SEAL_WRITE_ONLY_HMAC: &str = "write_only_hmac";

type Entries = BTreeMap<String, Field<String>>;

/// The secret settings as written; any part may be unknown at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretsInput {
    /// `sensitive_conf`.
    pub sensitive_conf: Field<Entries>,
    /// `sensitive_conf_wo` (present in configuration only).
    pub write_only: Field<Entries>,
    /// `sensitive_conf_wo_version`.
    pub write_only_version: Field<i64>,
}

/// Checks the secret maps with the `extra_conf` key rules, keeps each key in one of the three
/// maps, and asks for a version with write-only values. Messages never quote a secret value.
pub fn validate(
    name: &Field<String>,
    extra_conf: &Field<Entries>,
    input: &SecretsInput,
) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Some(name) = name.value()
        && name.ends_with(SEAL_SUFFIX)
    {
        out.push(Violation::new(
            attr("name"),
            format!(
                "{name:?} ends in {SEAL_SUFFIX:?}, which konoha uses for the secret beside each \
                 profile that keeps its secret settings' hash key: choose another name"
            ),
        ));
    }
    check_conf_map(
        "sensitive_conf",
        &input.sensitive_conf,
        ValueShown::No,
        &mut out,
    );
    check_conf_map(
        "sensitive_conf_wo",
        &input.write_only,
        ValueShown::No,
        &mut out,
    );
    let keys = |f: &Field<Entries>| -> BTreeSet<String> {
        f.value()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let (extra, sensitive, write_only) = (
        keys(extra_conf),
        keys(&input.sensitive_conf),
        keys(&input.write_only),
    );
    let mut clash = |attribute: &'static str, key: &String, other: &str| {
        out.push(Violation::new(
            vec![PathSegment::Attr(attribute), PathSegment::Key(key.clone())],
            format!(
                "{key:?} is also in {other}: a key may appear in only one of extra_conf, \
                 sensitive_conf and sensitive_conf_wo"
            ),
        ));
    };
    for key in sensitive.intersection(&extra) {
        clash("sensitive_conf", key, "extra_conf");
    }
    for key in &write_only {
        if extra.contains(key) {
            clash("sensitive_conf_wo", key, "extra_conf");
        } else if sensitive.contains(key) {
            clash("sensitive_conf_wo", key, "sensitive_conf");
        }
    }
    // The footprint is computed at plan from the properties it can read; a secret value is
    // hashed, never read, so a setting that sizes the pods has to stay in the open.
    let hidden = [
        ("sensitive_conf", &sensitive),
        ("sensitive_conf_wo", &write_only),
    ];
    for (attribute, keys) in hidden {
        for key in keys.iter().filter(|k| footprint::is_footprint_key(k)) {
            out.push(Violation::new(
                vec![PathSegment::Attr(attribute), PathSegment::Key(key.clone())],
                format!(
                    "{key:?} sets the size of the engine's pods, which the footprint must read: \
                     put it in extra_conf"
                ),
            ));
        }
    }
    let write_only_given = matches!(input.write_only, Field::Unknown)
        || input.write_only.value().is_some_and(|m| !m.is_empty());
    if write_only_given && matches!(input.write_only_version, Field::Unset) {
        out.push(Violation::new(
            attr("sensitive_conf_wo_version"),
            "sensitive_conf_wo_version is required with sensitive_conf_wo: Terraform cannot see write-only values change, \
             so the values are written again only when this number changes",
        ));
    }
    check_count(
        &mut out,
        attr("sensitive_conf_wo_version"),
        &input.write_only_version,
        1,
        "a version counts up from 1",
    );
    out
}

/// The secret settings, fully known.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secrets {
    /// `sensitive_conf`.
    pub sensitive: BTreeMap<String, String>,
    /// `sensitive_conf_wo`.
    pub write_only: BTreeMap<String, String>,
    /// `sensitive_conf_wo_version`.
    pub write_only_version: Option<i64>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("sensitive", &self.sensitive.keys().collect::<Vec<_>>())
            .field("write_only", &self.write_only.keys().collect::<Vec<_>>())
            .field("write_only_version", &self.write_only_version)
            .finish()
    }
}

fn known_map(field: &Field<Entries>) -> Option<BTreeMap<String, String>> {
    match field.known()? {
        None => Some(BTreeMap::new()),
        Some(entries) => entries
            .iter()
            .map(|(k, v)| Some((k.clone(), v.value()?.clone())))
            .collect(),
    }
}

impl Secrets {
    /// The known secrets of `input`; `None` while a value is unknown.
    pub fn resolve(input: &SecretsInput) -> Option<Self> {
        Some(Self {
            sensitive: known_map(&input.sensitive_conf)?,
            write_only: known_map(&input.write_only)?,
            write_only_version: input.write_only_version.known()?.copied(),
        })
    }

    /// True when there are no secret settings at all.
    pub fn is_empty(&self) -> bool {
        self.sensitive.is_empty() && self.write_only.is_empty()
    }

    /// Every secret key with its value, for the KV v2 data.
    pub fn values(&self) -> BTreeMap<String, String> {
        let mut all = self.sensitive.clone();
        all.extend(self.write_only.clone());
        all
    }
}

/// The secret keys of `input`, known at plan time even when values are not; `None` while a map
/// itself is unknown.
pub fn secret_keys(input: &SecretsInput) -> Option<BTreeSet<String>> {
    let mut keys = BTreeSet::new();
    for field in [&input.sensitive_conf, &input.write_only] {
        if let Some(entries) = field.known()? {
            keys.extend(entries.keys().cloned());
        }
    }
    Some(keys)
}

/// The `spark.env` text with each secret key's value replaced by `marker`, sorted as
/// [`super::render_env_file`] sorts.
pub fn render_redacted<'a>(
    public: &'a BTreeMap<String, String>,
    secret_keys: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut lines: BTreeMap<&str, &str> = public
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    lines.extend(secret_keys);
    lines
        .into_iter()
        .map(|(key, value)| format!("{key}={value}\n"))
        .collect()
}

/// HMAC-SHA256, keyed with the seal's key, of the secret values and the write-only version.
pub fn keyed_digest(key: &[u8], values: &BTreeMap<String, String>, version: Option<i64>) -> String {
    let mut message = super::render_env_file(values);
    if let Some(version) = version {
        message.push_str(&format!("#sensitive_conf_wo_version={version}\n"));
    }
    hmac_sha256_hex(key, message.as_bytes())
}

/// HMAC-SHA256 of the write-only values alone: what a refresh compares to find them changed.
pub fn write_only_digest(key: &[u8], values: &BTreeMap<String, String>) -> String {
    hmac_sha256_hex(key, super::render_env_file(values).as_bytes())
}

/// `content_sha256` of a profile with secret settings: the SHA-256 of the redacted text followed
/// by the keyed digest, so it changes with any secret value and reveals none.
pub fn keyed_content_sha256(redacted: &str, digest: &str) -> String {
    sha256_hex(format!("{redacted}#hmac-sha256={digest}\n").as_bytes())
}

/// The name of the seal kept beside the profile `name`.
pub fn seal_name(name: &str) -> String {
    format!("{name}{SEAL_SUFFIX}")
}

/// A profile's seal: the HMAC key and what was last written.
#[derive(Clone, PartialEq, Eq)]
pub struct Seal {
    /// The HMAC key, random per profile.
    pub key: Vec<u8>,
    /// Keys set by `sensitive_conf`.
    pub sensitive_keys: BTreeSet<String>,
    /// Keys set by `sensitive_conf_wo`.
    pub write_only_keys: BTreeSet<String>,
    /// `sensitive_conf_wo_version` as last written.
    pub write_only_version: Option<i64>,
    /// [`write_only_digest`] of the write-only values as last written.
    pub write_only_hmac: String,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seal")
            .field("key", &"<redacted>")
            .field("sensitive_keys", &self.sensitive_keys)
            .field("write_only_keys", &self.write_only_keys)
            .field("write_only_version", &self.write_only_version)
            .finish_non_exhaustive()
    }
}

fn key_list(keys: &BTreeSet<String>) -> String {
    keys.iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_key_list(text: Option<&String>) -> BTreeSet<String> {
    text.map(|t| {
        t.lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

impl Seal {
    /// The seal written for `secrets` with `key`.
    pub fn new(key: Vec<u8>, secrets: &Secrets) -> Self {
        let write_only_hmac = write_only_digest(&key, &secrets.write_only);
        Self {
            sensitive_keys: secrets.sensitive.keys().cloned().collect(),
            write_only_keys: secrets.write_only.keys().cloned().collect(),
            write_only_version: secrets.write_only_version,
            write_only_hmac,
            key,
        }
    }

    /// The seal as KV v2 data (keys one per line, since Spark property names hold no line breaks).
    pub fn to_data(&self) -> BTreeMap<String, String> {
        let mut data = BTreeMap::from([
            (SEAL_HMAC_KEY.to_owned(), to_hex(&self.key)),
            (
                SEAL_SENSITIVE_KEYS.to_owned(),
                key_list(&self.sensitive_keys),
            ),
            (
                SEAL_WRITE_ONLY_KEYS.to_owned(),
                key_list(&self.write_only_keys),
            ),
            (
                SEAL_WRITE_ONLY_HMAC.to_owned(),
                self.write_only_hmac.clone(),
            ),
        ]);
        if let Some(version) = self.write_only_version {
            data.insert(SEAL_WRITE_ONLY_VERSION.to_owned(), version.to_string());
        }
        data
    }

    /// A seal read back; `None` when the data is not one (no usable key).
    pub fn from_data(data: &BTreeMap<String, String>) -> Option<Self> {
        let key = from_hex(data.get(SEAL_HMAC_KEY)?).filter(|k| !k.is_empty())?;
        Some(Self {
            key,
            sensitive_keys: parse_key_list(data.get(SEAL_SENSITIVE_KEYS)),
            write_only_keys: parse_key_list(data.get(SEAL_WRITE_ONLY_KEYS)),
            write_only_version: data
                .get(SEAL_WRITE_ONLY_VERSION)
                .and_then(|v| v.parse().ok()),
            write_only_hmac: data.get(SEAL_WRITE_ONLY_HMAC).cloned().unwrap_or_default(),
        })
    }

    /// True when the seal names any secret key.
    pub fn has_secrets(&self) -> bool {
        !self.sensitive_keys.is_empty() || !self.write_only_keys.is_empty()
    }
}

/// What a profile's stored data shows, judged with its seal.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredView {
    /// The non-secret properties.
    pub public: BTreeMap<String, String>,
    /// The `sensitive_conf` entries found in Vault.
    pub sensitive: BTreeMap<String, String>,
    /// `rendered`: secret values redacted, write-only ones found changed marked so.
    pub rendered: String,
    /// `content_sha256` of the data as stored.
    pub content_sha256: String,
    /// True when the write-only values differ from what konoha last wrote.
    pub write_only_changed: bool,
}

impl std::fmt::Debug for StoredView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredView")
            .field("public", &self.public)
            .field("sensitive", &self.sensitive.keys().collect::<Vec<_>>())
            .field("rendered", &self.rendered)
            .field("content_sha256", &self.content_sha256)
            .field("write_only_changed", &self.write_only_changed)
            .finish()
    }
}

/// Judges stored `data` with its seal (when there is one). Without secret keys this is the
/// plain `spark.env` and its SHA-256, exactly as for a profile that never had secrets.
pub fn stored_view(data: &BTreeMap<String, String>, seal: Option<&Seal>) -> StoredView {
    let Some(seal) = seal.filter(|s| s.has_secrets()) else {
        let rendered = super::render_env_file(data);
        return StoredView {
            content_sha256: super::content_sha256(&rendered),
            public: data.clone(),
            sensitive: BTreeMap::new(),
            rendered,
            write_only_changed: false,
        };
    };
    let is_secret =
        |k: &String| seal.sensitive_keys.contains(k) || seal.write_only_keys.contains(k);
    let pick = |keys: &BTreeSet<String>| -> BTreeMap<String, String> {
        data.iter()
            .filter(|(k, _)| keys.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let public: BTreeMap<String, String> = data
        .iter()
        .filter(|(k, _)| !is_secret(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let sensitive = pick(&seal.sensitive_keys);
    let write_only = pick(&seal.write_only_keys);
    let write_only_changed = write_only_digest(&seal.key, &write_only) != seal.write_only_hmac;
    let secret_values: BTreeMap<String, String> = data
        .iter()
        .filter(|(k, _)| is_secret(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let redacted = render_redacted(
        &public,
        secret_values.keys().map(|k| (k.as_str(), REDACTED)),
    );
    let digest = keyed_digest(&seal.key, &secret_values, seal.write_only_version);
    let marker = |k: &String| {
        if write_only_changed && seal.write_only_keys.contains(k) {
            CHANGED_IN_VAULT
        } else {
            REDACTED
        }
    };
    let rendered = render_redacted(
        &public,
        secret_values.keys().map(|k| (k.as_str(), marker(k))),
    );
    StoredView {
        content_sha256: keyed_content_sha256(&redacted, &digest),
        public,
        sensitive,
        rendered,
        write_only_changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn entries(pairs: &[(&str, &str)]) -> Field<Entries> {
        Field::Set(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Field::Set((*v).to_owned())))
                .collect(),
        )
    }

    fn messages(name: &str, extra: &[(&str, &str)], input: &SecretsInput) -> Vec<String> {
        validate(&Field::Set(name.to_owned()), &entries(extra), input)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn settings_that_size_the_pods_are_not_secret() {
        let input = SecretsInput {
            sensitive_conf: entries(&[("spark.driver.memory", "4g"), ("spark.a", "s1")]),
            write_only: entries(&[("spark.memory.offHeap.size", "1g")]),
            write_only_version: Field::Set(1),
        };
        assert_eq!(
            messages("spark/x", &[], &input),
            [
                "sensitive_conf[\"spark.driver.memory\"]: \"spark.driver.memory\" sets the size \
                 of the engine's pods, which the footprint must read: put it in extra_conf",
                "sensitive_conf_wo[\"spark.memory.offHeap.size\"]: \"spark.memory.offHeap.size\" \
                 sets the size of the engine's pods, which the footprint must read: put it in \
                 extra_conf",
            ]
        );
    }

    #[test]
    fn a_key_lives_in_one_map_and_values_are_never_quoted() {
        let input = SecretsInput {
            sensitive_conf: entries(&[("spark.a", "s1"), ("spark.b", " padded-secret")]),
            write_only: entries(&[("spark.a", "w1"), ("spark.c", "w2"), ("spark.d", "w3")]),
            write_only_version: Field::Set(1),
        };
        let found = messages("spark/x", &[("spark.c", "plain")], &input);
        assert_eq!(
            found,
            [
                "sensitive_conf[\"spark.b\"]: the value of \"spark.b\" has leading or trailing \
                 whitespace, which Spark trims: remove it",
                "sensitive_conf_wo[\"spark.a\"]: \"spark.a\" is also in sensitive_conf: a key may \
                 appear in only one of extra_conf, sensitive_conf and sensitive_conf_wo",
                "sensitive_conf_wo[\"spark.c\"]: \"spark.c\" is also in extra_conf: a key may \
                 appear in only one of extra_conf, sensitive_conf and sensitive_conf_wo",
            ]
        );
        assert!(found.iter().all(|m| !m.contains("padded-secret")));
    }

    #[test]
    fn write_only_values_need_a_version_and_keys_follow_extra_conf_rules() {
        let input = SecretsInput {
            sensitive_conf: entries(&[("fs.s3a.secret.key", "s")]),
            write_only: entries(&[("spark.executor.memory", "4g")]),
            write_only_version: Field::Unset,
        };
        let found = messages("spark/x.konoha-seal", &[], &input);
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0].starts_with("name: \"spark/x.konoha-seal\" ends in"));
        assert!(found[1].starts_with("sensitive_conf[\"fs.s3a.secret.key\"]: \"fs.s3a.secret.key\" is not a Spark property: sensitive_conf keys"));
        assert!(
            found[2].contains("set executor_memory instead of repeating it in sensitive_conf_wo")
        );
        assert!(
            found[3].starts_with("sensitive_conf_wo_version: sensitive_conf_wo_version is required with sensitive_conf_wo")
        );
    }

    #[test]
    fn the_seal_round_trips_and_hides_its_key() {
        let secrets = Secrets {
            sensitive: map(&[("spark.s", "v")]),
            write_only: map(&[("spark.w", "x"), ("spark.w2", "y")]),
            write_only_version: Some(3),
        };
        let seal = Seal::new(vec![7; 32], &secrets);
        assert_eq!(Seal::from_data(&seal.to_data()), Some(seal.clone()));
        assert!(!format!("{seal:?}").contains(&to_hex(&[7u8; 32])));
        assert!(!format!("{secrets:?}").contains("\"x\""));
        assert_eq!(Seal::from_data(&map(&[("hmac_key", "")])), None);
    }

    #[test]
    fn stored_view_redacts_hashes_with_the_key_and_spots_changed_write_only_values() {
        let secrets = Secrets {
            sensitive: map(&[("spark.s", "sv")]),
            write_only: map(&[("spark.w", "wv")]),
            write_only_version: Some(1),
        };
        let seal = Seal::new(vec![1; 32], &secrets);
        let mut data = map(&[("spark.a", "1")]);
        data.extend(secrets.values());
        let view = stored_view(&data, Some(&seal));
        assert_eq!(
            view.rendered,
            "spark.a=1\nspark.s=<sensitive>\nspark.w=<sensitive>\n"
        );
        assert_eq!(view.public, map(&[("spark.a", "1")]));
        assert_eq!(view.sensitive, map(&[("spark.s", "sv")]));
        assert!(!view.write_only_changed);
        let expected = keyed_content_sha256(
            &view.rendered,
            &keyed_digest(&seal.key, &secrets.values(), Some(1)),
        );
        assert_eq!(view.content_sha256, expected);

        let other_key = Seal::new(vec![2; 32], &secrets);
        assert_ne!(
            stored_view(&data, Some(&other_key)).content_sha256,
            view.content_sha256
        );
        let bumped = Seal::new(
            vec![1; 32],
            &Secrets {
                write_only_version: Some(2),
                ..secrets.clone()
            },
        );
        assert_ne!(
            stored_view(&data, Some(&bumped)).content_sha256,
            view.content_sha256
        );

        data.insert("spark.w".to_owned(), "edited".to_owned());
        let edited = stored_view(&data, Some(&seal));
        assert!(edited.write_only_changed);
        assert_eq!(
            edited.rendered,
            "spark.a=1\nspark.s=<sensitive>\nspark.w=<sensitive, changed in Vault>\n"
        );
        assert_ne!(edited.content_sha256, view.content_sha256);
        assert!(!format!("{edited:?}").contains("edited\""));
    }

    #[test]
    fn without_secrets_the_hash_is_the_plain_one() {
        let data = map(&[("spark.a", "1")]);
        let view = stored_view(&data, None);
        assert_eq!(view.rendered, "spark.a=1\n");
        assert_eq!(
            view.content_sha256,
            super::super::content_sha256("spark.a=1\n")
        );
    }
}
