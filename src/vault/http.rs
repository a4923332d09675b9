//! The transport under [`super::VaultClient`]: one request to Vault's `/v1/` API, answered with
//! a JSON body or a classified [`HttpError`].
//!
//! It is hyper-util's pooled client (the HTTP stack `kube` already brings) over hyper-rustls,
//! so clones share keep-alive connections. It knows Vault's conventions (the `/v1/` prefix, the
//! `X-Vault-Token` and `X-Vault-Namespace` headers, the `errors` list of an error answer) and
//! nothing of KV or logins, which are [`super::kv2`], [`super::mounts`] and [`super::client`].
//! Request bodies are never logged: a login's carries its secret.

use std::fmt;
use std::time::Duration;

use ::http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION};
use ::http::{Method, Request, Response, StatusCode, Uri};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::address::Address;
use super::proxy::ProxyConnector;
use super::tls::{self, TlsSetupError};

/// The largest answer body read, in bytes. Vault refuses requests over 32 MiB by default
/// (`max_request_size`), so no secret it stores is larger; anything bigger is a misbehaving
/// server, and reading stops there instead of allocating without bound.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

const TOKEN_HEADER: HeaderName = HeaderName::from_static("x-vault-token");
const NAMESPACE_HEADER: HeaderName = HeaderName::from_static("x-vault-namespace");
/// Sent by Vault's own CLI; marks the request as an API call rather than a browser's.
const REQUEST_HEADER: HeaderName = HeaderName::from_static("x-vault-request");

/// How many 307/308 redirects one request follows (a standby node names the active one, which
/// answers itself, so one is the norm).
const MAX_REDIRECTS: usize = 5;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request got no usable answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// No TCP or TLS connection could be made (refused, no route, DNS, handshake).
    #[error("no connection could be made")]
    Connect(#[source] BoxError),
    /// The request, connection and answer included, took longer than the timeout.
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    /// Vault answered with a status other than 2xx.
    #[error("Vault answered with HTTP status {status}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// Vault's own messages, from the body's `errors` list; empty when the body had none
        /// (or was not JSON, as from a proxy in front of Vault).
        errors: Vec<String>,
    },
    /// The answer's body was larger than [`MAX_RESPONSE_BYTES`].
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
    /// A 2xx answer whose body is not the JSON expected.
    #[error("the answer is not the JSON expected")]
    Decode(#[source] serde_json::Error),
    /// The request failed after connecting (connection reset, malformed answer).
    #[error("the request failed")]
    Request(#[source] BoxError),
}

impl HttpError {
    /// The HTTP status, when Vault answered at all.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Vault's own messages, when it gave any.
    pub fn server_messages(&self) -> &[String] {
        match self {
            Self::Status { errors, .. } => errors,
            _ => &[],
        }
    }
}

/// A header value that never shows in `Debug` (hyper's and ours).
pub(super) fn sensitive_header(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Sends requests to one Vault server. Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub(super) struct Transport {
    client: Client<HttpsConnector<ProxyConnector>, Full<Bytes>>,
    address: Address,
    /// The namespace and, once known, the token.
    headers: HeaderMap,
    timeout: Duration,
    body_limit: usize,
}

impl fmt::Debug for Transport {
    // The headers hold the token: only the address and limits are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("address", &self.address.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// A transport for `address`, sending `namespace` (already a header value) on every
    /// request, connecting through the proxies `proxies` names (`Matcher::from_env()` in use)
    /// and waiting at most `timeout` for each request.
    pub(super) fn new(
        address: Address,
        namespace: Option<HeaderValue>,
        tls: &TlsSettings<'_>,
        proxies: Matcher,
        timeout: Duration,
    ) -> Result<Self, TlsSetupError> {
        let mut http = HttpConnector::new();
        // The scheme is checked by `Address`; hyper-rustls picks TLS by it.
        http.enforce_http(false);
        // Requests are small and answered at once: Nagle's algorithm would hold a request's
        // last segment for the previous one's ACK (the stall the gRPC listener once had).
        http.set_nodelay(true);
        let tls_config = if address.https {
            tls::client_config(tls.ca_file, tls.skip_verify)?
        } else {
            // An http:// address makes no TLS connection (redirects keep the scheme), so no
            // roots are loaded, and a TLS connection made by mistake would trust nothing.
            tls::trusting_nothing()?
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config)
            .https_or_http()
            .enable_http1()
            .wrap_connector(ProxyConnector::new(http, proxies));
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_HEADER, HeaderValue::from_static("true"));
        if let Some(namespace) = namespace {
            headers.insert(NAMESPACE_HEADER, namespace);
        }
        Ok(Self {
            client,
            address,
            headers,
            timeout,
            body_limit: MAX_RESPONSE_BYTES,
        })
    }

    /// The same transport, sharing its pool, that sends `token` (a sensitive header value).
    pub(super) fn with_token(&self, token: HeaderValue) -> Self {
        let mut with = self.clone();
        with.headers.insert(TOKEN_HEADER, token);
        with
    }

    /// The configured request timeout.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `method /v1/<path>` with `body` as JSON, and returns the answer's JSON body
    /// (`Value::Null` for an empty one, as in a 204).
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, HttpError> {
        tokio::time::timeout(self.timeout, self.exchange(method, path, body))
            .await
            .unwrap_or(Err(HttpError::TimedOut(self.timeout)))
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, HttpError> {
        let body = body.map(|json| Bytes::from(json.to_string()));
        let mut uri = self
            .address
            .api(path)
            .map_err(|e| HttpError::Request(Box::new(e)))?;
        let mut redirects = 0;
        loop {
            let response = self
                .request(method.clone(), uri.clone(), body.clone())
                .await?;
            // A standby Vault node that does not forward requests answers 307 with the active
            // node's address; the request goes there as it was, token included, as Vault's own
            // client does.
            if redirects < MAX_REDIRECTS
                && let Some(next) = redirect_target(&uri, &response)
            {
                redirects += 1;
                uri = next;
                continue;
            }
            return self.read(response).await;
        }
    }

    async fn request(
        &self,
        method: Method,
        uri: Uri,
        body: Option<Bytes>,
    ) -> Result<Response<Incoming>, HttpError> {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(headers) = request.headers_mut() {
            headers.extend(self.headers.clone());
            if body.is_some() {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| HttpError::Request(Box::new(e)))?;
        self.client.request(request).await.map_err(|e| {
            if e.is_connect() {
                HttpError::Connect(Box::new(e))
            } else {
                HttpError::Request(Box::new(e))
            }
        })
    }

    /// The answer's JSON body, read up to the cap, or the error its status stands for.
    async fn read(&self, response: Response<Incoming>) -> Result<Value, HttpError> {
        let status = response.status();
        let body = Limited::new(response.into_body(), self.body_limit)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<LengthLimitError>() {
                    HttpError::TooLarge {
                        limit: self.body_limit,
                    }
                } else {
                    HttpError::Request(e)
                }
            })?
            .to_bytes();
        if !status.is_success() {
            return Err(HttpError::Status {
                status: status.as_u16(),
                errors: error_messages(&body),
            });
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(HttpError::Decode)
    }
}

/// Where a 307 or 308 answer sends the request: its `Location`, absolute or from the root, as
/// long as the scheme stays the same (a token never moves from `https` to plain `http`, and a
/// plain-`http` client trusts no certificate). Anything else is answered as the status it is.
fn redirect_target(current: &Uri, response: &Response<Incoming>) -> Option<Uri> {
    if !matches!(
        response.status(),
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
    ) {
        return None;
    }
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    let next: Uri = if location.starts_with('/') && !location.starts_with("//") {
        format!("{}://{}{location}", current.scheme()?, current.authority()?)
            .parse()
            .ok()?
    } else {
        location.parse().ok()?
    };
    (next.scheme() == current.scheme() && next.authority().is_some()).then_some(next)
}

/// The CA file and verification switch, for an `https://` address.
#[derive(Debug, Clone, Copy)]
pub(super) struct TlsSettings<'a> {
    /// PEM certificates to trust besides the system's.
    pub(super) ca_file: Option<&'a std::path::Path>,
    /// Accept any certificate.
    pub(super) skip_verify: bool,
}

/// The strings of an error body's `errors` list; none when the body is not such JSON.
fn error_messages(body: &[u8]) -> Vec<String> {
    let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    match fields.remove("errors") {
        Some(Value::Array(errors)) => errors
            .into_iter()
            .filter_map(|e| match e {
                Value::String(text) => Some(text),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::Full;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use serde_json::json;
    use tokio::net::TcpListener;

    use super::*;

    const TEST_LIMIT: usize = 1024;

    /// Answers by path: `/v1/big` a 200 one byte over [`TEST_LIMIT`], `/v1/proxy` a 502 with
    /// an HTML body, `/v1/refused` Vault's 400 with two messages, `/v1/empty` a 204, and
    /// anything else a 200 echoing the method, path and the Vault headers received.
    async fn answer(
        request: ::http::Request<Incoming>,
    ) -> Result<::http::Response<Full<Bytes>>, Infallible> {
        let respond = |status: u16, body: String| {
            let mut response = ::http::Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() = ::http::StatusCode::from_u16(status).unwrap();
            Ok(response)
        };
        let redirect = |location: &str| {
            let mut response = ::http::Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
            response
                .headers_mut()
                .insert(LOCATION, HeaderValue::from_str(location).unwrap());
            Ok(response)
        };
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        match request.uri().path() {
            "/v1/big" => respond(200, format!("\"{}\"", "x".repeat(TEST_LIMIT - 1))),
            "/v1/proxy" => respond(502, "<html>Bad Gateway</html>".to_owned()),
            "/v1/refused" => respond(400, json!({"errors": ["one", "two"]}).to_string()),
            "/v1/empty" => respond(204, String::new()),
            "/v1/moved" => redirect("/v1/target"),
            "/v1/loop" => redirect("/v1/loop"),
            "/v1/to-https" => redirect("https://127.0.0.1:1/v1/target"),
            path => respond(
                200,
                json!({
                    "method": request.method().as_str(),
                    "path": path,
                    "token": header("x-vault-token"),
                    "namespace": header("x-vault-namespace"),
                    "request": header("x-vault-request"),
                })
                .to_string(),
            ),
        }
    }

    /// Serves [`answer`] on a loopback port until the test's runtime ends.
    async fn scripted_server() -> SocketAddr {
        counted_server().await.0
    }

    /// [`scripted_server`], with the number of connections it accepted so far.
    async fn counted_server() -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service_fn(answer)),
                );
            }
        });
        (addr, accepted)
    }

    fn transport(addr: SocketAddr, timeout: Duration) -> Transport {
        through(addr, Matcher::builder().build(), timeout)
    }

    fn through(addr: SocketAddr, proxies: Matcher, timeout: Duration) -> Transport {
        let address = Address::parse(&format!("http://{addr}")).unwrap();
        let tls = TlsSettings {
            ca_file: None,
            skip_verify: false,
        };
        let namespace = HeaderValue::from_static("team");
        let mut transport =
            Transport::new(address, Some(namespace), &tls, proxies, timeout).unwrap();
        transport.body_limit = TEST_LIMIT;
        transport
    }

    #[tokio::test]
    async fn sends_vaults_headers_and_reads_json() {
        let addr = scripted_server().await;
        let anonymous = transport(addr, Duration::from_secs(30));
        let with_token = anonymous.with_token(sensitive_header("s.token").unwrap());
        let echoed = with_token
            .send(Method::POST, "kv/data/a b", Some(&json!({"k": "v"})))
            .await
            .unwrap();
        assert_eq!(
            echoed,
            json!({
                "method": "POST",
                "path": "/v1/kv/data/a%20b",
                "token": "s.token",
                "namespace": "team",
                "request": "true",
            })
        );
        let echoed = anonymous.send(Method::GET, "x", None).await.unwrap();
        assert_eq!(echoed["token"], Value::Null, "no token before one is set");
        let empty = anonymous.send(Method::DELETE, "empty", None).await.unwrap();
        assert_eq!(empty, Value::Null);
    }

    #[tokio::test]
    async fn follows_redirects_that_keep_the_scheme_a_few_times() {
        let addr = scripted_server().await;
        let transport = transport(addr, Duration::from_secs(30))
            .with_token(sensitive_header("s.token").unwrap());
        let moved = transport
            .send(Method::POST, "moved", Some(&json!({})))
            .await
            .unwrap();
        assert_eq!(
            (&moved["method"], &moved["path"], &moved["token"]),
            (&json!("POST"), &json!("/v1/target"), &json!("s.token")),
            "{moved}"
        );
        for path in ["loop", "to-https"] {
            let err = transport.send(Method::GET, path, None).await.unwrap_err();
            assert_eq!(err.status(), Some(307), "{path}: {err:?}");
        }
    }

    /// A `CONNECT` proxy on a loopback port: reads one request head, records it, answers 200
    /// and splices the connection to the destination it names.
    async fn tunnelling_proxy() -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (heads, seen) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    let mut byte = [0u8];
                    if client.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8(head).unwrap();
                let target = head.split(' ').nth(1).unwrap().to_owned();
                let _ = heads.send(head);
                let mut upstream = tokio::net::TcpStream::connect(target).await.unwrap();
                client.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
                tokio::spawn(async move {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        (addr, seen)
    }

    #[tokio::test]
    async fn a_proxy_in_the_rules_carries_the_request_through_a_tunnel() {
        let vault = scripted_server().await;
        let (proxy, mut seen) = tunnelling_proxy().await;
        let proxies = Matcher::builder()
            .http(format!("http://user:pass@{proxy}"))
            .build();
        let echoed = through(vault, proxies, Duration::from_secs(30))
            .send(Method::GET, "x", None)
            .await
            .unwrap();
        assert_eq!(echoed["path"], "/v1/x");
        let head = seen.recv().await.unwrap();
        assert!(
            head.starts_with(&format!("CONNECT {vault} HTTP/1.1\r\n")),
            "{head}"
        );
        assert!(
            head.contains("Basic dXNlcjpwYXNz"),
            "the proxy's credentials: {head}"
        );

        // NO_PROXY-style exceptions connect directly.
        let excepted = Matcher::builder()
            .http(format!("http://{proxy}"))
            .no("127.0.0.1")
            .build();
        through(vault, excepted, Duration::from_secs(30))
            .send(Method::GET, "x", None)
            .await
            .unwrap();
        assert!(seen.try_recv().is_err(), "no second tunnel");
    }

    #[tokio::test]
    async fn clones_share_one_keep_alive_connection() {
        let (addr, accepted) = counted_server().await;
        let first = transport(addr, Duration::from_secs(30));
        let clone = first.with_token(sensitive_header("s.token").unwrap());
        for transport in [&first, &clone, &first, &clone] {
            transport.send(Method::GET, "x", None).await.unwrap();
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_token_header_is_sensitive_and_never_in_debug() {
        let token = sensitive_header("s.secret-token").unwrap();
        assert!(token.is_sensitive());
        let mut headers = HeaderMap::new();
        headers.insert(TOKEN_HEADER, token);
        assert!(!format!("{headers:?}").contains("secret-token"));
        assert!(sensitive_header("s.token\n").is_none());
    }

    #[tokio::test]
    async fn a_body_over_the_cap_is_refused() {
        let addr = scripted_server().await;
        let err = transport(addr, Duration::from_secs(30))
            .send(Method::GET, "big", None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, HttpError::TooLarge { limit: TEST_LIMIT }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn error_answers_keep_the_status_and_vaults_messages() {
        let addr = scripted_server().await;
        let transport = transport(addr, Duration::from_secs(30));
        let proxy = transport
            .send(Method::GET, "proxy", None)
            .await
            .unwrap_err();
        assert!(
            matches!(&proxy, HttpError::Status { status: 502, errors } if errors.is_empty()),
            "{proxy:?}"
        );
        assert_eq!(proxy.to_string(), "Vault answered with HTTP status 502");
        let refused = transport
            .send(Method::GET, "refused", None)
            .await
            .unwrap_err();
        assert_eq!(refused.status(), Some(400));
        assert_eq!(refused.server_messages(), ["one", "two"]);
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (accepted, was_accepted) = tokio::sync::oneshot::channel();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = accepted.send(());
            // Holds the connection open, reading nothing and answering nothing.
            std::future::pending::<()>().await;
            drop(stream);
        });
        let timeout = Duration::from_millis(200);
        let err = transport(addr, timeout)
            .send(Method::GET, "x", None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, HttpError::TimedOut(t) if t == timeout),
            "{err:?}"
        );
        was_accepted.await.expect("the connection was accepted");
        server.abort();
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connect_failure() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let err = transport(addr, Duration::from_secs(30))
            .send(Method::GET, "x", None)
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Connect(_)), "{err:?}");
    }
}
