//! [`ProxyConnector`]: opens the TCP connection for a Vault request, directly or through the
//! HTTP proxy `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` name for it (`NO_PROXY` excepted), as
//! the HTTP client before ours did.
//!
//! Through a proxy, the connection is a `CONNECT` tunnel, for `http://` addresses too (the
//! client before ours forwarded those as absolute-form requests instead); TLS, when the address
//! is `https://`, runs inside it end to end (hyper-rustls wraps this connector). A proxy reached
//! over TLS itself (`https://` proxy URL) is refused when connecting. Sending requests is
//! [`super::http`]'s job.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::http::Uri;
use ::http::uri::{Authority, Scheme};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a proxy named in the environment cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("the proxy {proxy} is reached over TLS, which is not supported; use an http:// proxy URL")]
struct TlsProxyUnsupported {
    proxy: Uri,
}

/// Connects directly, or through the proxy the rules name for the destination.
#[derive(Clone)]
pub(super) struct ProxyConnector {
    direct: HttpConnector,
    proxies: Arc<Matcher>,
}

impl std::fmt::Debug for ProxyConnector {
    // The proxy rules may hold a proxy's password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyConnector").finish_non_exhaustive()
    }
}

impl ProxyConnector {
    /// A connector over `direct` that follows `proxies`.
    pub(super) fn new(direct: HttpConnector, proxies: Matcher) -> Self {
        Self {
            direct,
            proxies: Arc::new(proxies),
        }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.direct.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let Some(intercept) = self.proxies.intercept(&destination) else {
            let connecting = self.direct.call(destination);
            return Box::pin(async move { connecting.await.map_err(Into::into) });
        };
        let proxy = intercept.uri().clone();
        if proxy.scheme() != Some(&Scheme::HTTP) {
            return Box::pin(async move { Err(TlsProxyUnsupported { proxy }.into()) });
        }
        let mut tunnel = Tunnel::new(proxy, self.direct.clone());
        if let Some(auth) = intercept.basic_auth() {
            tunnel = tunnel.with_auth(auth.clone());
        }
        let destination = with_default_port(destination);
        Box::pin(async move {
            std::future::poll_fn(|cx| tunnel.poll_ready(cx)).await?;
            tunnel.call(destination).await.map_err(Into::into)
        })
    }
}

/// `destination` with its scheme's port written out: the tunnel would assume 443 for an
/// `http://` address without one.
fn with_default_port(destination: Uri) -> Uri {
    if destination.port().is_some() {
        return destination;
    }
    let port = if destination.scheme() == Some(&Scheme::HTTP) {
        80
    } else {
        443
    };
    let Some(host) = destination.host() else {
        return destination;
    };
    let Ok(authority) = format!("{host}:{port}").parse::<Authority>() else {
        return destination;
    };
    let unchanged = destination.clone();
    let mut parts = destination.into_parts();
    parts.authority = Some(authority);
    // Cannot fail: the parts came from a valid URI and the authority parsed.
    Uri::from_parts(parts).unwrap_or(unchanged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tunnel_is_told_the_schemes_port() {
        for (uri, expected) in [
            ("http://vault/v1/x", "http://vault:80/v1/x"),
            ("https://vault/v1/x", "https://vault:443/v1/x"),
            ("https://vault:8200/v1/x", "https://vault:8200/v1/x"),
            ("http://[::1]/v1/x", "http://[::1]:80/v1/x"),
        ] {
            let uri: Uri = uri.parse().unwrap_or_default();
            assert_eq!(with_default_port(uri).to_string(), expected);
        }
    }
}
