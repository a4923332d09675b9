//! go-plugin's handshake: the environment Terraform sets for a provider, and the line we answer.
//!
//! Everything here is pure: the environment comes in through a lookup function and the handshake
//! line goes out as a `String`. Binding the port and printing the line are [`super::serve`]'s job;
//! the TLS material is [`super::tls`]'s.

use std::net::SocketAddr;
use std::num::ParseIntError;
use std::ops::RangeInclusive;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// Environment variable carrying go-plugin's magic cookie.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";

/// The cookie value Terraform sets for its providers.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// go-plugin's text for a binary started without the cookie, without its final newline.
pub const NOT_A_PLUGIN_MESSAGE: &str = "This binary is a plugin. These are not meant to be executed directly.\n\
     Please execute the program that consumes these plugins, which will\n\
     load any plugins automatically";

/// go-plugin's own protocol version, the first field of the handshake line.
pub const CORE_PROTOCOL_VERSION: u32 = 1;

/// The Terraform plugin protocol major version this provider speaks.
pub const APP_PROTOCOL_VERSION: u32 = 5;

/// The minor version of protocol 5 that `proto/tfplugin5.proto` follows. Minor versions only add
/// fields and RPCs, so it is not negotiated: an older Terraform ignores what it does not know.
pub const APP_PROTOCOL_MINOR_VERSION: u32 = 8;

/// Environment variable listing the protocol versions Terraform accepts, e.g. `5,6` or `6,5`.
pub const PROTOCOL_VERSIONS_KEY: &str = "PLUGIN_PROTOCOL_VERSIONS";
/// Environment variable with the lowest port the provider may listen on.
pub const MIN_PORT_KEY: &str = "PLUGIN_MIN_PORT";
/// Environment variable with the highest port the provider may listen on.
pub const MAX_PORT_KEY: &str = "PLUGIN_MAX_PORT";
/// Environment variable with Terraform's client certificate (PEM) for mutual TLS.
pub const CLIENT_CERT_KEY: &str = "PLUGIN_CLIENT_CERT";

/// A handshake environment that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The magic cookie is missing or wrong: a person, not Terraform, started the binary.
    #[error("{}", NOT_A_PLUGIN_MESSAGE)]
    NotAPlugin,
    /// Terraform does not accept protocol 5.
    #[error(
        "this provider speaks plugin protocol {APP_PROTOCOL_VERSION}, \
         but {PROTOCOL_VERSIONS_KEY} offers only {offered:?}"
    )]
    ProtocolVersion {
        /// The raw value of `PLUGIN_PROTOCOL_VERSIONS`.
        offered: String,
    },
    /// A port variable is not a port number.
    #[error("{key} is not a port number: {value:?}")]
    PortNumber {
        /// The variable's name.
        key: &'static str,
        /// Its value.
        value: String,
        /// Why it did not parse.
        #[source]
        source: ParseIntError,
    },
    /// The port range is empty.
    #[error("{MIN_PORT_KEY} {min} is greater than {MAX_PORT_KEY} {max}")]
    EmptyPortRange {
        /// The lower bound.
        min: u16,
        /// The upper bound.
        max: u16,
    },
}

/// The ports the provider may listen on, both ends included.
///
/// A range starting at 0 lets the system choose a free port on the first try, which is what
/// happens when neither variable is set (debug mode, tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    min: u16,
    max: u16,
}

impl PortRange {
    /// Any free port, chosen by the system.
    pub const ANY: PortRange = PortRange { min: 0, max: 0 };

    /// Reads `PLUGIN_MIN_PORT` and `PLUGIN_MAX_PORT` the way go-plugin does: an unset or empty
    /// variable counts as 0.
    pub fn parse(min: Option<&str>, max: Option<&str>) -> Result<Self, HandshakeError> {
        let min = parse_port(MIN_PORT_KEY, min)?;
        let max = parse_port(MAX_PORT_KEY, max)?;
        if min > max {
            return Err(HandshakeError::EmptyPortRange { min, max });
        }
        Ok(Self { min, max })
    }

    /// The ports to try, lowest first.
    pub fn ports(&self) -> RangeInclusive<u16> {
        self.min..=self.max
    }
}

fn parse_port(key: &'static str, value: Option<&str>) -> Result<u16, HandshakeError> {
    match value.map(str::trim) {
        None | Some("") => Ok(0),
        Some(value) => value.parse().map_err(|source| HandshakeError::PortNumber {
            key,
            value: value.to_owned(),
            source,
        }),
    }
}

/// Picks protocol 5 from the comma-separated versions Terraform offers.
///
/// The list is a set: Terraform builds it from a Go map, so `5,6` and `6,5` both occur. Entries
/// that are not numbers are skipped, as go-plugin does. An unset or empty list means Terraform
/// did not say, and 5 is assumed.
pub fn negotiate_protocol(offered: Option<&str>) -> Result<u32, HandshakeError> {
    let Some(offered) = offered.filter(|offered| !offered.trim().is_empty()) else {
        return Ok(APP_PROTOCOL_VERSION);
    };
    let accepts_ours = offered
        .split(',')
        .filter_map(|version| version.trim().parse::<u32>().ok())
        .any(|version| version == APP_PROTOCOL_VERSION);
    if accepts_ours {
        Ok(APP_PROTOCOL_VERSION)
    } else {
        Err(HandshakeError::ProtocolVersion {
            offered: offered.to_owned(),
        })
    }
}

/// What Terraform asked of this process, read from go-plugin's environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginEnv {
    /// Where the server may listen.
    pub ports: PortRange,
    /// Terraform's client certificate (PEM). `None` means serve plaintext: Terraform sets it
    /// unless `TF_DISABLE_PLUGIN_TLS` is set.
    pub client_cert_pem: Option<String>,
}

impl PluginEnv {
    /// Reads the process environment; see [`PluginEnv::from_lookup`].
    pub fn from_env() -> Result<Self, HandshakeError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Checks the magic cookie first (as go-plugin does, so a person running the binary sees the
    /// "This binary is a plugin" text whatever else is set), then the protocol version, then
    /// reads the port range and client certificate.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, HandshakeError> {
        if lookup(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
            return Err(HandshakeError::NotAPlugin);
        }
        negotiate_protocol(lookup(PROTOCOL_VERSIONS_KEY).as_deref())?;
        let ports = PortRange::parse(
            lookup(MIN_PORT_KEY).as_deref(),
            lookup(MAX_PORT_KEY).as_deref(),
        )?;
        let client_cert_pem = lookup(CLIENT_CERT_KEY).filter(|pem| !pem.trim().is_empty());
        Ok(Self {
            ports,
            client_cert_pem,
        })
    }
}

/// The handshake line, without its newline:
/// `1|5|tcp|127.0.0.1:PORT|grpc` plus `|CERT` when serving TLS.
///
/// CERT is the server certificate's DER in base64 *without* padding: go-plugin decodes it with
/// `RawStdEncoding` and fails on `=` whenever the DER length is not a multiple of 3.
pub fn handshake_line(addr: SocketAddr, server_cert_der: Option<&[u8]>) -> String {
    let mut line = format!("{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|tcp|{addr}|grpc");
    if let Some(der) = server_cert_der {
        line.push('|');
        line.push_str(&STANDARD_NO_PAD.encode(der));
    }
    line
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |key| map.get(key).cloned()
    }

    #[test]
    fn cookie_is_checked_before_anything_else() {
        for cookie in [None, Some(""), Some("d602bf8f"), Some(" d602")] {
            let mut pairs = vec![(PROTOCOL_VERSIONS_KEY, "6"), (MIN_PORT_KEY, "x")];
            if let Some(cookie) = cookie {
                pairs.push((MAGIC_COOKIE_KEY, cookie));
            }
            let err = PluginEnv::from_lookup(env(&pairs)).unwrap_err();
            assert!(
                matches!(err, HandshakeError::NotAPlugin),
                "{cookie:?}: {err:?}"
            );
        }
    }

    #[test]
    fn not_a_plugin_message_is_go_plugins_text() {
        assert_eq!(
            HandshakeError::NotAPlugin.to_string(),
            "This binary is a plugin. These are not meant to be executed directly.\n\
             Please execute the program that consumes these plugins, which will\n\
             load any plugins automatically"
        );
    }

    #[test]
    fn protocol_5_is_chosen_from_a_set_in_any_order() {
        for offered in [
            None,
            Some(""),
            Some("5"),
            Some("5,6"),
            Some("6,5"),
            Some(" 6 , 5 "),
            Some("x,5"),
        ] {
            assert_eq!(negotiate_protocol(offered).unwrap(), 5, "{offered:?}");
        }
        for offered in ["6", "4,6", "55", "x"] {
            let err = negotiate_protocol(Some(offered)).unwrap_err();
            assert!(
                matches!(&err, HandshakeError::ProtocolVersion { offered: o } if o == offered),
                "{offered}: {err:?}"
            );
        }
    }

    #[test]
    fn port_range_follows_go_plugin() {
        assert_eq!(PortRange::parse(None, None).unwrap(), PortRange::ANY);
        assert_eq!(PortRange::parse(Some(""), Some("")).unwrap().ports(), 0..=0);
        assert_eq!(
            PortRange::parse(Some("10000"), Some("25000"))
                .unwrap()
                .ports(),
            10000..=25000
        );
        assert_eq!(PortRange::parse(None, Some("30")).unwrap().ports(), 0..=30);
        assert!(matches!(
            PortRange::parse(Some("20"), Some("10")),
            Err(HandshakeError::EmptyPortRange { min: 20, max: 10 })
        ));
        assert!(matches!(
            PortRange::parse(Some("70000"), None),
            Err(HandshakeError::PortNumber {
                key: MIN_PORT_KEY,
                ..
            })
        ));
        assert!(matches!(
            PortRange::parse(Some("1"), Some("ten")),
            Err(HandshakeError::PortNumber {
                key: MAX_PORT_KEY,
                ..
            })
        ));
    }

    #[test]
    fn plugin_env_reads_terraforms_variables() {
        let read = PluginEnv::from_lookup(env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            (PROTOCOL_VERSIONS_KEY, "6,5"),
            (MIN_PORT_KEY, "10000"),
            (MAX_PORT_KEY, "25000"),
            (CLIENT_CERT_KEY, "-----BEGIN CERTIFICATE-----\n..."),
        ]))
        .unwrap();
        assert_eq!(
            read,
            PluginEnv {
                ports: PortRange::parse(Some("10000"), Some("25000")).unwrap(),
                client_cert_pem: Some("-----BEGIN CERTIFICATE-----\n...".to_owned()),
            }
        );

        let plaintext = PluginEnv::from_lookup(env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            (CLIENT_CERT_KEY, ""),
        ]))
        .unwrap();
        assert_eq!(
            plaintext,
            PluginEnv {
                ports: PortRange::ANY,
                client_cert_pem: None
            }
        );

        let wrong_protocol = PluginEnv::from_lookup(env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            (PROTOCOL_VERSIONS_KEY, "6"),
        ]));
        assert!(matches!(
            wrong_protocol,
            Err(HandshakeError::ProtocolVersion { .. })
        ));
    }

    #[test]
    fn handshake_line_has_unpadded_cert_only_with_tls() {
        let addr: SocketAddr = "127.0.0.1:10000".parse().unwrap();
        assert_eq!(handshake_line(addr, None), "1|5|tcp|127.0.0.1:10000|grpc");
        // One and two bytes would be padded to "AQ==" and "AQI=" by the padded encoding.
        assert_eq!(
            handshake_line(addr, Some(&[1])),
            "1|5|tcp|127.0.0.1:10000|grpc|AQ"
        );
        assert_eq!(
            handshake_line(addr, Some(&[1, 2])),
            "1|5|tcp|127.0.0.1:10000|grpc|AQI"
        );
        assert_eq!(
            handshake_line(addr, Some(&[1, 2, 3])),
            "1|5|tcp|127.0.0.1:10000|grpc|AQID"
        );
    }
}
