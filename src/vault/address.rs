//! [`Address`]: a Vault address parsed and checked up front (`http` or `https`, a host, a valid
//! port, no credentials, query or fragment), so that no request can fail on it, and the `/v1/`
//! URIs built from it.
//!
//! Sending requests is [`super::http`]'s job.

use ::http::Uri;
use ::http::uri::InvalidUri;

/// Where `/v1/` is: the address as parsed, checked up front so that no request can fail on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Address {
    /// `scheme://authority[/prefix]`, without a trailing slash.
    base: String,
    /// Whether the scheme is `https`.
    pub(super) https: bool,
}

impl Address {
    /// Parses `http(s)://host[:port][/prefix]`; the reason it is refused otherwise.
    pub(super) fn parse(address: &str) -> Result<Self, String> {
        let Some((scheme, rest)) = address.split_once("://") else {
            return Err(match address.split_once(':') {
                Some((scheme, _)) if is_scheme(scheme) => {
                    format!("scheme {scheme:?} is not http or https")
                }
                _ => "not a URL: expected http://host:port or https://host:port".to_owned(),
            });
        };
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(format!("scheme {scheme:?} is not http or https")),
        };
        if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
            return Err("no host".to_owned());
        }
        let uri: Uri = address
            .parse()
            .map_err(|e: ::http::uri::InvalidUri| format!("not a URL: {e}"))?;
        if uri.host().is_none_or(str::is_empty) {
            return Err("no host".to_owned());
        }
        let authority = uri.authority().map_or("", |a| a.as_str());
        if authority.contains('@') {
            return Err("credentials cannot be part of the address".to_owned());
        }
        // hyper would only find a bad port when connecting; an IPv6 host has colons of its own.
        let after_host = authority.rsplit(']').next().unwrap_or(authority);
        if let Some((_, port)) = after_host.rsplit_once(':')
            && port.parse::<u16>().is_err()
        {
            return Err(format!("port {port:?} is not a number from 0 to 65535"));
        }
        if uri.query().is_some() || rest.contains('#') {
            return Err("a query or fragment cannot be part of the address".to_owned());
        }
        Ok(Self {
            base: address.trim_end_matches('/').to_owned(),
            https,
        })
    }

    /// The URI of `/v1/<path>`, each character outside the URL-safe set percent-encoded.
    pub(super) fn api(&self, path: &str) -> Result<Uri, InvalidUri> {
        let mut uri = format!("{}/v1/", self.base);
        for byte in path.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
                uri.push(char::from(byte));
            } else {
                uri.push_str(&format!("%{byte:02X}"));
            }
        }
        uri.parse()
    }
}

/// RFC 3986: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

impl Address {
    /// The address as given, without a trailing slash.
    pub(super) fn as_str(&self) -> &str {
        &self.base
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn addresses_are_checked_up_front() {
        for (address, reason) in [
            ("vault:8200", "scheme \"vault\" is not http or https"),
            ("ftp://vault", "scheme \"ftp\" is not http or https"),
            (
                "not a url",
                "not a URL: expected http://host:port or https://host:port",
            ),
            ("http://", "no host"),
            ("https:///v1", "no host"),
            (
                "http://vault:port",
                "port \"port\" is not a number from 0 to 65535",
            ),
            (
                "http://user:pw@vault",
                "credentials cannot be part of the address",
            ),
            (
                "http://vault?x=1",
                "a query or fragment cannot be part of the address",
            ),
        ] {
            assert_eq!(Address::parse(address), Err(reason.to_owned()), "{address}");
        }
        let prefixed = Address::parse("https://vault.example:8200/proxy/").unwrap();
        assert!(prefixed.https);
        assert_eq!(
            prefixed.api("secret/data/a").unwrap().to_string(),
            "https://vault.example:8200/proxy/v1/secret/data/a"
        );
        assert!(!Address::parse("HTTP://127.0.0.1:8200").unwrap().https);
        assert!(Address::parse("http://[::1]:8200").is_ok());
    }
}
