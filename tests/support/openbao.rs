//! A real OpenBao dev server per test, plus raw HTTP helpers for out-of-band edits (what an
//! operator would do by hand) that do not go through the code under test.
//!
//! The server runs in memory from `bao server -dev` on a free loopback port and is killed when
//! the [`OpenBao`] value drops, so tests stay independent and can run in parallel. The binary
//! comes from `KONOHA_BAO_BIN` or `<repo>/.venv/bin/bao` (`scripts/install-openbao.sh`).
//! The raw client is a deliberately tiny blocking HTTP/1.1 client over `std::net` (and rustls
//! for `start_tls`), usable from sync and async tests alike; it is not a general HTTP client.
// Each test crate uses a different subset of the helpers; test support may panic.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// How long a dev server may take to answer after being spawned.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// Pause between readiness polls.
const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// A free port can be taken by someone else between our probe and the server's bind (the dev
/// server also binds port + 1 for its cluster listener); a server that exits early is retried.
const START_ATTEMPTS: usize = 5;
/// Per-request socket timeout of the raw client.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// The audit log in the server's directory: one JSON line per request and per response.
const AUDIT_LOG: &str = "audit.log";

/// One running OpenBao dev server.
pub(crate) struct OpenBao {
    /// Base URL, e.g. `http://127.0.0.1:40123` (`https://` for [`OpenBao::start_tls`]).
    pub(crate) addr: String,
    /// The root token.
    pub(crate) token: String,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
    ca_cert: Option<PathBuf>,
    child: Child,
    dir: tempfile::TempDir,
}

/// A raw HTTP answer: status and JSON body (`Value::Null` when the body is empty).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Response {
    /// HTTP status code.
    pub(crate) status: u16,
    /// Parsed JSON body.
    pub(crate) body: Value,
}

/// One request as the server's audit log recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuditedRequest {
    /// `read`, `update`, `delete`, `list`, …
    pub(crate) operation: String,
    /// The API path without `/v1/`, e.g. `secret/data/spark/a`.
    pub(crate) path: String,
    /// The client's source port: requests sharing one came over one connection.
    pub(crate) remote_port: u64,
}

/// One version of a secret as the metadata endpoint describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KvVersion {
    /// Version number.
    pub(crate) version: u64,
    /// Soft-deleted (has a deletion time).
    pub(crate) deleted: bool,
    /// Destroyed.
    pub(crate) destroyed: bool,
}

impl OpenBao {
    /// Starts a plain-HTTP dev server with KV v2 at `secret/` and waits until it serves.
    pub(crate) fn start() -> Self {
        Self::launch(false)
    }

    /// Starts a dev server with TLS (a generated CA, see [`OpenBao::ca_cert_file`]).
    pub(crate) fn start_tls() -> Self {
        Self::launch(true)
    }

    fn launch(tls: bool) -> Self {
        let bin = bao_binary();
        let mut last_log = String::new();
        for _ in 0..START_ATTEMPTS {
            let dir = tempfile::tempdir().expect("temp dir for OpenBao");
            let port = free_port();
            let token = random_token();
            let log = std::fs::File::create(dir.path().join("bao.log")).expect("bao.log");
            // OpenBao enables audit devices from configuration only; one file device per
            // server lets a test count the requests the code under test made.
            let audit_config = dir.path().join("audit.hcl");
            std::fs::write(
                &audit_config,
                format!(
                    "audit \"file\" \"requests\" {{\n  options {{\n    file_path = {:?}\n  }}\n}}\n",
                    dir.path().join(AUDIT_LOG).display().to_string()
                ),
            )
            .expect("audit.hcl");
            let mut command = Command::new(&bin);
            command
                .arg("server")
                .arg("-dev")
                .arg(format!("-config={}", audit_config.display()))
                .arg(format!("-dev-root-token-id={token}"))
                .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
                .arg("-dev-no-store-token")
                .current_dir(dir.path())
                .env("HOME", dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("bao.log handle"))
                .stderr(log);
            if tls {
                command
                    .arg("-dev-tls")
                    .arg(format!("-dev-tls-cert-dir={}", dir.path().display()));
            }
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("spawning {}: {e}", bin.display()));
            let scheme = if tls { "https" } else { "http" };
            let mut bao = OpenBao {
                addr: format!("{scheme}://127.0.0.1:{port}"),
                token,
                port,
                tls: None,
                ca_cert: tls.then(|| dir.path().join("vault-ca.pem")),
                child,
                dir,
            };
            if bao.wait_ready() {
                return bao;
            }
            last_log = bao.log();
        }
        panic!("OpenBao did not start after {START_ATTEMPTS} attempts; last log:\n{last_log}");
    }

    /// Polls until the server answers as unsealed and `secret/` is a KV v2 mount; false when
    /// the process exited first (e.g. its port was taken), panics at the deadline.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + START_DEADLINE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if self.tls.is_none()
                && let Some(ca) = &self.ca_cert
            {
                // The CA file appears (and may be half-written) shortly after start.
                self.tls = tls_config(ca);
                if self.tls.is_none() {
                    std::thread::sleep(POLL_INTERVAL);
                    continue;
                }
            }
            let health = self.send(None, "GET", "/v1/sys/health", None, None);
            if matches!(health, Ok(ref r) if r.status == 200) {
                let token = self.token.clone();
                let kv = self.send(Some(&token), "GET", "/v1/secret/config", None, None);
                if matches!(kv, Ok(ref r) if r.status == 200) {
                    return true;
                }
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        panic!(
            "OpenBao at {} not ready within {START_DEADLINE:?}; log:\n{}",
            self.addr,
            self.log()
        );
    }

    /// The server's log so far, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bao.log")).unwrap_or_default()
    }

    /// Every request the server has received so far, oldest first, from its audit log
    /// (written before the request is handled, so nothing answered is missing).
    pub(crate) fn audited_requests(&self) -> Vec<AuditedRequest> {
        let text = std::fs::read_to_string(self.dir.path().join(AUDIT_LOG)).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|entry| entry["type"] == "request")
            .map(|entry| {
                let request = &entry["request"];
                AuditedRequest {
                    operation: request["operation"].as_str().unwrap_or_default().to_owned(),
                    path: request["path"].as_str().unwrap_or_default().to_owned(),
                    remote_port: request["remote_port"].as_u64().unwrap_or_default(),
                }
            })
            .collect()
    }

    /// The CA certificate (PEM) of a [`OpenBao::start_tls`] server.
    pub(crate) fn ca_cert_file(&self) -> Option<&Path> {
        self.ca_cert.as_deref()
    }

    /// The port the API listens on.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Environment for a child process (e.g. `terraform`) to reach this server as root.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("VAULT_ADDR".to_owned(), self.addr.clone()),
            ("VAULT_TOKEN".to_owned(), self.token.clone()),
        ];
        if let Some(ca) = &self.ca_cert {
            env.push(("VAULT_CACERT".to_owned(), ca.display().to_string()));
        }
        env
    }

    /// A raw API call with the root token; `path` starts with `/v1/`. Panics on transport
    /// errors, not on error statuses.
    pub(crate) fn call(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        self.call_as(&self.token, method, path, body)
    }

    /// A raw API call with the given token.
    pub(crate) fn call_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        self.send(Some(token), method, path, None, body.as_ref())
            .unwrap_or_else(|e| panic!("{method} {path} on {}: {e}", self.addr))
    }

    /// A raw API call with the root token inside a namespace (`X-Vault-Namespace`).
    pub(crate) fn call_in(
        &self,
        namespace: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        self.send(
            Some(&self.token),
            method,
            path,
            Some(namespace),
            body.as_ref(),
        )
        .unwrap_or_else(|e| panic!("{method} {path} in {namespace} on {}: {e}", self.addr))
    }

    /// Like [`OpenBao::call`], but the status must be one of `ok`.
    fn expect(&self, ok: &[u16], method: &str, path: &str, body: Option<Value>) -> Value {
        let response = self.call(method, path, body);
        assert!(
            ok.contains(&response.status),
            "{method} {path}: status {} body {}",
            response.status,
            response.body
        );
        response.body
    }

    /// Mounts a KV v2 engine at `mount` and waits until it accepts requests.
    pub(crate) fn enable_kv2(&self, mount: &str) {
        self.expect(
            &[204],
            "POST",
            &format!("/v1/sys/mounts/{mount}"),
            Some(json!({"type": "kv", "options": {"version": "2"}})),
        );
        let deadline = Instant::now() + START_DEADLINE;
        while self
            .call("GET", &format!("/v1/{mount}/config"), None)
            .status
            != 200
        {
            assert!(
                Instant::now() < deadline,
                "KV v2 at {mount} never became ready"
            );
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Writes a new version (no check-and-set) and returns its number.
    pub(crate) fn kv_put(&self, mount: &str, name: &str, data: Value) -> u64 {
        let body = self.expect(
            &[200],
            "POST",
            &format!("/v1/{mount}/data/{name}"),
            Some(json!({"data": data})),
        );
        body["data"]["version"]
            .as_u64()
            .expect("version in write response")
    }

    /// The current version's data and number; `None` when absent, soft-deleted or destroyed.
    pub(crate) fn kv_get(&self, mount: &str, name: &str) -> Option<(Value, u64)> {
        let response = self.call("GET", &format!("/v1/{mount}/data/{name}"), None);
        match response.status {
            404 => None,
            200 if response.body["data"]["data"].is_null() => None,
            200 => {
                let version = response.body["data"]["metadata"]["version"]
                    .as_u64()
                    .expect("version in read response");
                Some((response.body["data"]["data"].clone(), version))
            }
            other => panic!(
                "reading {mount}/{name}: status {other} body {}",
                response.body
            ),
        }
    }

    /// The raw metadata (`data` of the metadata endpoint); `None` on 404.
    pub(crate) fn kv_metadata(&self, mount: &str, name: &str) -> Option<Value> {
        let response = self.call("GET", &format!("/v1/{mount}/metadata/{name}"), None);
        match response.status {
            404 => None,
            200 => Some(response.body["data"].clone()),
            other => panic!(
                "metadata of {mount}/{name}: status {other} body {}",
                response.body
            ),
        }
    }

    /// Every version Vault still knows, oldest first; empty when there is no metadata.
    pub(crate) fn kv_versions(&self, mount: &str, name: &str) -> Vec<KvVersion> {
        let Some(metadata) = self.kv_metadata(mount, name) else {
            return Vec::new();
        };
        let mut versions: Vec<KvVersion> = metadata["versions"]
            .as_object()
            .expect("versions object")
            .iter()
            .map(|(number, info)| KvVersion {
                version: number.parse().expect("numeric version key"),
                deleted: !info["deletion_time"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty(),
                destroyed: info["destroyed"].as_bool().unwrap_or_default(),
            })
            .collect();
        versions.sort_by_key(|v| v.version);
        versions
    }

    /// Soft-deletes the latest version.
    pub(crate) fn soft_delete(&self, mount: &str, name: &str) {
        self.expect(&[204], "DELETE", &format!("/v1/{mount}/data/{name}"), None);
    }

    /// Permanently destroys the given versions (metadata stays).
    pub(crate) fn destroy_versions(&self, mount: &str, name: &str, versions: &[u64]) {
        self.expect(
            &[204],
            "POST",
            &format!("/v1/{mount}/destroy/{name}"),
            Some(json!({"versions": versions})),
        );
    }

    /// Deletes metadata and every version.
    pub(crate) fn destroy_all(&self, mount: &str, name: &str) {
        self.expect(
            &[204],
            "DELETE",
            &format!("/v1/{mount}/metadata/{name}"),
            None,
        );
    }

    /// Creates or replaces an ACL policy.
    pub(crate) fn put_policy(&self, name: &str, hcl: &str) {
        self.expect(
            &[200, 204],
            "PUT",
            &format!("/v1/sys/policies/acl/{name}"),
            Some(json!({"policy": hcl})),
        );
    }

    /// Creates a token with exactly these policies (plus `default`) and returns it.
    pub(crate) fn create_token(&self, policies: &[&str]) -> String {
        let body = self.expect(
            &[200],
            "POST",
            "/v1/auth/token/create",
            Some(json!({"policies": policies, "ttl": "1h"})),
        );
        body["auth"]["client_token"]
            .as_str()
            .expect("client_token")
            .to_owned()
    }

    /// Enables the AppRole auth method at `auth/<mount>`.
    pub(crate) fn enable_approle(&self, mount: &str) {
        self.expect(
            &[204],
            "POST",
            &format!("/v1/sys/auth/{mount}"),
            Some(json!({"type": "approle"})),
        );
    }

    /// Creates an AppRole role with these token policies; returns `(role_id, secret_id)`.
    pub(crate) fn create_approle(
        &self,
        mount: &str,
        role: &str,
        policies: &[&str],
    ) -> (String, String) {
        self.expect(
            &[204],
            "POST",
            &format!("/v1/auth/{mount}/role/{role}"),
            Some(json!({"token_policies": policies, "token_ttl": "1h"})),
        );
        let role_id = self.expect(
            &[200],
            "GET",
            &format!("/v1/auth/{mount}/role/{role}/role-id"),
            None,
        )["data"]["role_id"]
            .as_str()
            .expect("role_id")
            .to_owned();
        let secret_id = self.expect(
            &[200],
            "POST",
            &format!("/v1/auth/{mount}/role/{role}/secret-id"),
            None,
        )["data"]["secret_id"]
            .as_str()
            .expect("secret_id")
            .to_owned();
        (role_id, secret_id)
    }

    /// Creates a namespace (OpenBao namespaces, like Vault Enterprise's).
    pub(crate) fn create_namespace(&self, namespace: &str) {
        self.expect(
            &[200, 204],
            "POST",
            &format!("/v1/sys/namespaces/{namespace}"),
            None,
        );
    }

    fn send(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        namespace: Option<&str>,
        body: Option<&Value>,
    ) -> io::Result<Response> {
        let payload = body.map(Value::to_string).unwrap_or_default();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n",
            self.port,
            payload.len()
        );
        if let Some(token) = token {
            request.push_str(&format!("X-Vault-Token: {token}\r\n"));
        }
        if let Some(namespace) = namespace {
            request.push_str(&format!("X-Vault-Namespace: {namespace}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&payload);

        let stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        let raw = match &self.tls {
            Some(config) => {
                let name =
                    rustls_pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
                let connection = rustls::ClientConnection::new(config.clone(), name)
                    .map_err(io::Error::other)?;
                exchange(rustls::StreamOwned::new(connection, stream), &request)?
            }
            None => exchange(stream, &request)?,
        };
        parse_response(&raw)
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        // Killing the process is all the cleanup there is: storage is in memory.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `bao` binary: `KONOHA_BAO_BIN`, else the project venv's.
pub(crate) fn bao_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("KONOHA_BAO_BIN") {
        return PathBuf::from(bin);
    }
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/bao");
    assert!(
        bin.exists(),
        "OpenBao not found at {}: run `make test` or scripts/install-openbao.sh (or set \
         KONOHA_BAO_BIN)",
        bin.display()
    );
    bin
}

/// A loopback port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// 128 unpredictable-enough bits for a throwaway root token, without a rand dependency.
fn random_token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut parts = [0u64; 2];
    for part in &mut parts {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_u32(std::process::id());
        *part = hasher.finish();
    }
    format!("root-{:016x}{:016x}", parts[0], parts[1])
}

/// A rustls client config trusting the PEM CA at `ca`; `None` until the file is complete.
fn tls_config(ca: &Path) -> Option<Arc<rustls::ClientConfig>> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let certs: Vec<_> = CertificateDer::pem_file_iter(ca)
        .ok()?
        .collect::<Result<_, _>>()
        .ok()?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots.add(cert).ok()?;
    }
    if roots.is_empty() {
        return None;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some(Arc::new(config))
}

/// Sends the request and reads until the server closes (we asked for `Connection: close`).
fn exchange(mut stream: impl Read + Write, request: &str) -> io::Result<Vec<u8>> {
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => Ok(raw),
        // A TLS peer that closes without close_notify: the body is complete anyway.
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !raw.is_empty() => Ok(raw),
        Err(e) => Err(e),
    }
}

/// Parses status line, headers and a plain or chunked body.
fn parse_response(raw: &[u8]) -> io::Result<Response> {
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
    let chunked = lines.any(|line| {
        let lower = line.to_ascii_lowercase();
        lower.starts_with("transfer-encoding:") && lower.contains("chunked")
    });
    if chunked {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    }
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| bad(&format!("body is not JSON: {e}")))?
    };
    Ok(Response { status, body })
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
