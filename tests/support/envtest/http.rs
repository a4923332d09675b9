//! A tiny blocking HTTP/1.1 client for the Kubernetes API: plain `http://` (the in-process
//! double) or `https://` trusting exactly one CA (a real kube-apiserver), a bearer token, JSON
//! in and out. Blocking so that sync tests, which wait on `terraform` child processes, and the
//! stand-in threads can use it without a runtime.
//!
//! Leaves out keep-alive, redirects, HTTP/2, client certificates and proxies: every request is
//! one connection with `Connection: close`, which is all a test's control calls need.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

/// Socket read/write timeout per request; a real API server answers in milliseconds.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// An API server endpoint plus the credentials to talk to it. Cheap to clone.
#[derive(Clone)]
pub struct ApiClient {
    url: String,
    host: String,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
    token: String,
}

impl fmt::Debug for ApiClient {
    // The token never reaches test output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("url", &self.url)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// One answer: HTTP status and body (JSON; a non-JSON body comes as a JSON string, an empty
/// one as `Null`).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Value,
}

impl ApiClient {
    /// A client for `url` (`http://HOST:PORT` or `https://HOST:PORT`, no path) sending
    /// `Authorization: Bearer <token>`. `ca_pem` is required for `https` and is the only root
    /// trusted. Panics on a malformed URL or CA: that is broken test setup.
    pub fn new(url: &str, token: &str, ca_pem: Option<&str>) -> ApiClient {
        let (https, host, port) =
            parse_url(url).unwrap_or_else(|| panic!("api client: cannot parse URL {url:?}"));
        let tls = match (https, ca_pem) {
            (false, _) => None,
            (true, Some(pem)) => Some(
                tls_config(pem).unwrap_or_else(|e| panic!("api client: bad CA for {url}: {e}")),
            ),
            (true, None) => panic!("api client: {url} is https but no CA was given"),
        };
        ApiClient {
            url: url.trim_end_matches('/').to_owned(),
            host,
            port,
            tls,
            token: token.to_owned(),
        }
    }

    /// The base URL, e.g. `https://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one request; `target` is the path with an optional query. Errors are transport
    /// failures only; any HTTP status is a [`Reply`].
    pub fn send(
        &self,
        method: &str,
        target: &str,
        content_type: Option<&str>,
        body: Option<&Value>,
    ) -> io::Result<Reply> {
        let payload = body.map(Value::to_string).unwrap_or_default();
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\n\
             Accept: application/json\r\nUser-Agent: konoha-tests\r\nContent-Length: {}\r\n",
            self.host,
            self.port,
            payload.len()
        );
        // An empty token (etcd's health check) means no credentials at all.
        if !self.token.is_empty() {
            head.push_str(&format!("Authorization: Bearer {}\r\n", self.token));
        }
        if let Some(content_type) = content_type {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        head.push_str("\r\n");
        let request = [head.as_bytes(), payload.as_bytes()].concat();
        let stream = TcpStream::connect((self.host.as_str(), self.port))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        let raw = match &self.tls {
            None => exchange(stream, &request)?,
            Some(config) => {
                let name = server_name(&self.host)?;
                let connection = rustls::ClientConnection::new(config.clone(), name)
                    .map_err(io::Error::other)?;
                exchange(rustls::StreamOwned::new(connection, stream), &request)?
            }
        };
        parse_reply(&raw)
    }

    /// Like [`ApiClient::send`], but a transport failure is a panic naming the request.
    pub fn call(
        &self,
        method: &str,
        target: &str,
        content_type: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        self.send(method, target, content_type, body)
            .unwrap_or_else(|e| panic!("{method} {}{target}: {e}", self.url))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for query values such as
/// label selectors (`a/b=c` → `a%2Fb%3Dc`).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `(https, host, port)` of `scheme://host:port`.
fn parse_url(url: &str) -> Option<(bool, String, u16)> {
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else {
        (false, url.strip_prefix("http://")?)
    };
    let authority = rest.trim_end_matches('/');
    let (host, port) = authority.rsplit_once(':')?;
    if host.is_empty() || authority.contains('/') {
        return None;
    }
    Some((https, host.to_owned(), port.parse().ok()?))
}

fn server_name(host: &str) -> io::Result<rustls_pki_types::ServerName<'static>> {
    match host.parse::<IpAddr>() {
        Ok(ip) => Ok(rustls_pki_types::ServerName::IpAddress(ip.into())),
        Err(_) => rustls_pki_types::ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e)),
    }
}

/// A client config trusting only the certificates in `ca_pem`.
fn tls_config(ca_pem: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("unreadable PEM: {e}"))?;
        roots.add(cert).map_err(|e| format!("unusable CA: {e}"))?;
    }
    if roots.is_empty() {
        return Err("no certificate in the PEM".to_owned());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Writes the request and reads until the server closes (we sent `Connection: close`).
fn exchange(mut stream: impl Read + Write, request: &[u8]) -> io::Result<Vec<u8>> {
    stream.write_all(request)?;
    stream.flush()?;
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => Ok(raw),
        // A TLS peer closing without close_notify after a complete response.
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !raw.is_empty() => Ok(raw),
        Err(e) => Err(e),
    }
}

/// Status line, headers, and a plain, `Content-Length` or chunked body.
pub fn parse_reply(raw: &[u8]) -> io::Result<Reply> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| bad("non-UTF-8 headers"))?;
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    } else if let Some(length) = header("content-length").and_then(|v| v.parse().ok()) {
        body.truncate(length);
    }
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    Ok(Reply { status, body })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
