//! [`VaultError`]: every way a Vault call can fail, and the classification of transport
//! failures ([`HttpError`]: unreachable, timed out, forbidden, check-and-set conflict) behind it.
//!
//! Messages name the secret path (`<mount>/<name>`) and the action, never a token. Turning
//! these into Terraform diagnostics is left to the resources.

use std::path::PathBuf;
use std::time::Duration;

use super::http::HttpError;
use super::tls::TlsSetupError;

/// The text Vault (and OpenBao) answer with, status 400, when `options.cas` does not match.
const CAS_MISMATCH_MESSAGE: &str = "check-and-set parameter did not match";

/// Why a Vault operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The configured address is not an `http://` or `https://` URL.
    #[error("invalid Vault address {address:?}: {reason}")]
    InvalidAddress {
        /// The address as configured.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither a token nor an AppRole login is configured.
    #[error(
        "no Vault credentials: set a token (VAULT_TOKEN or the provider's vault.token) or a \
         login (AppRole, JWT or Kubernetes)"
    )]
    MissingCredentials,
    /// The token or namespace holds characters an HTTP header cannot carry (often a trailing
    /// newline from a file).
    #[error(
        "the Vault {what} contains characters an HTTP header cannot carry (a trailing newline?)"
    )]
    InvalidHeaderValue {
        /// `token` or `namespace`; never the value.
        what: &'static str,
    },
    /// The HTTP client could not be built (typically an unreadable or invalid CA file).
    #[error("building the HTTP client for Vault at {address}")]
    BuildClient {
        /// The Vault address.
        address: String,
        /// What is wrong with the TLS settings.
        #[source]
        source: TlsSetupError,
    },
    /// Vault refused or failed the AppRole login.
    #[error("AppRole login at auth/{mount}/login failed{}", server_said(source))]
    AppRoleLogin {
        /// The AppRole auth mount.
        mount: String,
        /// What the request got.
        #[source]
        source: Box<HttpError>,
    },
    /// Vault refused or failed a JWT or Kubernetes login.
    #[error("{method} login at auth/{mount}/login failed{}", server_said(source))]
    Login {
        /// `JWT` or `Kubernetes`.
        method: &'static str,
        /// The auth mount.
        mount: String,
        /// What the request got.
        #[source]
        source: Box<HttpError>,
    },
    /// Vault refused to renew the token.
    #[error("renewing the Vault token failed{}", server_said(source))]
    RenewToken {
        /// What the request got.
        #[source]
        source: Box<HttpError>,
    },
    /// The service-account token file for a Kubernetes login cannot be read.
    #[error("reading the service-account token {path:?} for the Vault Kubernetes login")]
    ReadJwtFile {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        #[source]
        source: std::io::Error,
    },
    /// The mount or name is not a usable KV v2 path.
    #[error("invalid secret path {path:?}: {reason}")]
    InvalidPath {
        /// `<mount>/<name>` as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No connection could be made to Vault (refused, no route, DNS, TLS handshake).
    #[error("Vault is unreachable at {address} (while trying to {action} {path})")]
    Unreachable {
        /// The Vault address.
        address: String,
        /// What was being done, e.g. `write`.
        action: &'static str,
        /// `<mount>/<name>`, or the login path.
        path: String,
        /// The transport error.
        #[source]
        source: Box<HttpError>,
    },
    /// Vault did not answer within the request timeout.
    #[error(
        "Vault at {address} did not answer within {timeout:?} (while trying to {action} {path})"
    )]
    TimedOut {
        /// The Vault address.
        address: String,
        /// What was being done.
        action: &'static str,
        /// `<mount>/<name>`, or the login path.
        path: String,
        /// The configured request timeout.
        timeout: Duration,
        /// The transport error.
        #[source]
        source: Box<HttpError>,
    },
    /// Vault answered 403: the token's policies do not allow this action on this path.
    #[error("the Vault token lacks permission to {action} {path}")]
    PermissionDenied {
        /// What was being done.
        action: &'static str,
        /// `<mount>/<name>`.
        path: String,
        /// The 403 response.
        #[source]
        source: Box<HttpError>,
    },
    /// A check-and-set write lost: the secret's current version is no longer `expected`
    /// (someone else wrote or deleted it concurrently), or it exists although `expected` is 0.
    #[error(
        "check-and-set write to {path} refused: its current version is no longer {expected}; \
         someone changed it concurrently"
    )]
    CasMismatch {
        /// `<mount>/<name>`.
        path: String,
        /// The version the write was conditioned on (0 = must not exist).
        expected: u64,
    },
    /// The check-and-set version is larger than any version Vault can hold (a signed 64-bit
    /// number).
    #[error("check-and-set version {cas} for {path} is too large to send")]
    CasOutOfRange {
        /// `<mount>/<name>`.
        path: String,
        /// The version asked for.
        cas: u64,
    },
    /// Reading the secret's current version failed.
    #[error("reading secret {path}{}", server_said(source))]
    Read {
        /// `<mount>/<name>`.
        path: String,
        /// What the request got.
        #[source]
        source: Box<HttpError>,
    },
    /// The secret's data is not a JSON object.
    #[error("secret {path} holds data that is not a JSON object")]
    MalformedData {
        /// `<mount>/<name>`.
        path: String,
    },
    /// Reading the secret's metadata failed.
    #[error("reading metadata of secret {path}{}", server_said(source))]
    ReadMetadata {
        /// `<mount>/<name>`.
        path: String,
        /// What the request got.
        #[source]
        source: Box<HttpError>,
    },
    /// Writing a new version failed.
    #[error("writing secret {path}{}", server_said(source))]
    Write {
        /// `<mount>/<name>`.
        path: String,
        /// What the request got.
        #[source]
        source: Box<HttpError>,
    },
    /// Writing the secret's metadata failed.
    #[error("writing metadata of secret {path}{}", server_said(source))]
    WriteMetadata {
        /// `<mount>/<name>`.
        path: String,
        /// What the request got.
        #[source]
        source: Box<HttpError>,
    },
    /// Soft-deleting the latest version failed.
    #[error("deleting the latest version of secret {path}{}", server_said(source))]
    DeleteLatest {
        /// `<mount>/<name>`.
        path: String,
        /// What the request got.
        #[source]
        source: Box<HttpError>,
    },
    /// Asking Vault what is mounted at a profile's mount failed.
    #[error("looking up the mount {mount:?}{}", server_said(source))]
    MountLookup {
        /// The mount path.
        mount: String,
        /// What the request got.
        #[source]
        source: Box<HttpError>,
    },
    /// The mount is not a KV version 2 secrets engine, so nothing was read or written there.
    #[error("the mount {mount:?} is {found}; Spark profiles need a KV version 2 secrets engine")]
    NotKv2 {
        /// The mount path.
        mount: String,
        /// What Vault has there.
        found: super::MountKind,
    },
    /// Deleting the metadata and all versions failed.
    #[error("deleting all versions of secret {path}{}", server_said(source))]
    DeleteAll {
        /// `<mount>/<name>`.
        path: String,
        /// What the request got.
        #[source]
        source: Box<HttpError>,
    },
}

impl VaultError {
    /// The HTTP status Vault answered with, when the failure came from an answer at all.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::AppRoleLogin { source, .. }
            | Self::Login { source, .. }
            | Self::RenewToken { source, .. }
            | Self::Unreachable { source, .. }
            | Self::TimedOut { source, .. }
            | Self::PermissionDenied { source, .. }
            | Self::Read { source, .. }
            | Self::ReadMetadata { source, .. }
            | Self::Write { source, .. }
            | Self::WriteMetadata { source, .. }
            | Self::DeleteLatest { source, .. }
            | Self::DeleteAll { source, .. }
            | Self::MountLookup { source, .. } => source.status(),
            Self::CasMismatch { .. } => Some(400),
            Self::InvalidAddress { .. }
            | Self::BuildClient { .. }
            | Self::MissingCredentials
            | Self::ReadJwtFile { .. }
            | Self::InvalidHeaderValue { .. }
            | Self::InvalidPath { .. }
            | Self::CasOutOfRange { .. }
            | Self::MalformedData { .. }
            | Self::NotKv2 { .. } => None,
        }
    }

    /// Whether retrying the same call later may succeed (Vault down, slow, sealed or
    /// overloaded), as opposed to a problem with the input, the permissions or a conflict.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::TimedOut { .. } => true,
            _ => matches!(self.status(), Some(429 | 500..=599)),
        }
    }
}

/// How a raw failure reads, so each operation can pick its variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// No TCP/TLS connection could be made.
    Unreachable,
    /// The request ran past its timeout.
    TimedOut,
    /// 403.
    Forbidden,
    /// 404, with or without a body (a soft-deleted version answers 404 with metadata).
    NotFound,
    /// 400 with Vault's check-and-set message.
    CasMismatch,
    /// Anything else.
    Other,
}

/// Sorts a transport failure into the cases the operations treat differently.
pub(super) fn classify(error: &HttpError) -> Failure {
    match error {
        HttpError::Connect(_) => Failure::Unreachable,
        HttpError::TimedOut(_) => Failure::TimedOut,
        HttpError::Status { status: 403, .. } => Failure::Forbidden,
        HttpError::Status { status: 404, .. } => Failure::NotFound,
        HttpError::Status {
            status: 400,
            errors,
        } if errors.iter().any(|m| m.contains(CAS_MISMATCH_MESSAGE)) => Failure::CasMismatch,
        _ => Failure::Other,
    }
}

/// `": Vault said \"<Vault's messages>\""` when Vault gave any, for the end of a message.
fn server_said(error: &HttpError) -> String {
    let messages = error.server_messages();
    if messages.is_empty() {
        String::new()
    } else {
        format!(": Vault said \"{}\"", messages.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, errors: &[&str]) -> HttpError {
        HttpError::Status {
            status,
            errors: errors.iter().map(|e| (*e).to_owned()).collect(),
        }
    }

    #[test]
    fn classifies_answers() {
        let cases = [
            (api(403, &["permission denied"]), Failure::Forbidden),
            (api(404, &[]), Failure::NotFound),
            (
                api(
                    400,
                    &["check-and-set parameter did not match the current version"],
                ),
                Failure::CasMismatch,
            ),
            (
                api(400, &["check-and-set parameter required for this call"]),
                Failure::Other,
            ),
            (api(500, &["internal error"]), Failure::Other),
            (
                HttpError::Connect(Box::new(std::io::Error::from(
                    std::io::ErrorKind::ConnectionRefused,
                ))),
                Failure::Unreachable,
            ),
            (
                HttpError::TimedOut(std::time::Duration::from_secs(1)),
                Failure::TimedOut,
            ),
            (HttpError::TooLarge { limit: 1 }, Failure::Other),
        ];
        for (error, expected) in cases {
            assert_eq!(classify(&error), expected, "{error:?}");
        }
    }

    #[test]
    fn messages_carry_vaults_words_and_path() {
        let error = VaultError::Write {
            path: "kv/team/a".to_owned(),
            source: Box::new(api(500, &["storage is down", "try later"])),
        };
        assert_eq!(
            error.to_string(),
            "writing secret kv/team/a: Vault said \"storage is down; try later\""
        );
        assert_eq!(error.status(), Some(500));
        assert!(error.is_transient());

        let gone = VaultError::Read {
            path: "kv/x".to_owned(),
            source: Box::new(api(503, &[])),
        };
        assert_eq!(gone.to_string(), "reading secret kv/x");
        assert_eq!(
            std::error::Error::source(&gone).map(ToString::to_string),
            Some("Vault answered with HTTP status 503".to_owned())
        );
        assert_eq!(gone.status(), Some(503));
    }

    #[test]
    fn conflicts_and_permissions_are_not_transient() {
        let cas = VaultError::CasMismatch {
            path: "kv/x".to_owned(),
            expected: 3,
        };
        assert!(!cas.is_transient());
        let denied = VaultError::PermissionDenied {
            action: "write",
            path: "kv/x".to_owned(),
            source: Box::new(api(403, &["permission denied"])),
        };
        assert_eq!(
            denied.to_string(),
            "the Vault token lacks permission to write kv/x"
        );
        assert!(!denied.is_transient());
    }
}
