//! A loopback HTTP/1.1 proxy in front of a plain-HTTP server (OpenBao in dev mode) that a test
//! can make misbehave for chosen requests: close the connection unanswered ("unreachable"),
//! answer a status such as 503, never answer, or pass the request on and then never deliver
//! the answer (the server did the work; the client never learns it).
//!
//! A rule can wait to be armed by another request: "once the profile write has been answered,
//! fail everything" puts a fault exactly between two steps of one apply, with no timing. Every
//! request is logged with what happened to it, so a test can poll for "the write went through"
//! and act then.
//!
//! Leaves out TLS, HTTP/2 and streaming bodies (each body is read whole before it is passed on).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// What a matched request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehave {
    /// The connection is closed without an answer.
    Close,
    /// This status, with a small JSON error body as Vault writes one.
    Status(u16),
    /// No answer ever; the connection stays open.
    Hang,
    /// Passed on to the server, whose answer is then never delivered.
    ForwardThenHang,
}

/// Which requests a rule takes: a method (any when `None`) and a path fragment (`""`: all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    method: Option<String>,
    path_contains: String,
}

impl Matcher {
    /// Requests with `method` (any when `None`) whose path contains `path_contains`.
    pub fn new(method: Option<&str>, path_contains: &str) -> Matcher {
        Matcher {
            method: method.map(str::to_owned),
            path_contains: path_contains.to_owned(),
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method) && path.contains(&self.path_contains)
    }
}

/// One rule: which requests, what they get, and what arms it.
#[derive(Debug, Clone)]
pub struct Rule {
    matcher: Matcher,
    misbehave: Misbehave,
    /// Inactive until a request this matches has been answered 2xx by the server.
    armed_by: Option<Matcher>,
    armed: bool,
}

impl Rule {
    /// `misbehave` for the requests `matcher` takes, from now on.
    pub fn new(matcher: Matcher, misbehave: Misbehave) -> Rule {
        Rule {
            matcher,
            misbehave,
            armed_by: None,
            armed: true,
        }
    }

    /// Only once a request `trigger` takes has been answered with success (that request itself
    /// passes normally).
    #[must_use]
    pub fn once_answered(mut self, trigger: Matcher) -> Rule {
        self.armed_by = Some(trigger);
        self.armed = false;
        self
    }
}

/// One request as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without query.
    pub path: String,
    /// What the server answered, when the request reached it.
    pub answered: Option<u16>,
    /// The rule's doing, when one matched.
    pub misbehaved: Option<Misbehave>,
}

#[derive(Debug, Default)]
struct Shared {
    rules: Vec<Rule>,
    log: Vec<Seen>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running proxy; dropping it stops it (and ends every connection, hung ones included).
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FaultProxy {
    /// Starts a proxy on a free port of 127.0.0.1, on a thread of its own, forwarding to
    /// `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| {
                panic!("fault proxy: upstream {upstream:?} is not 127.0.0.1:PORT: {e}")
            });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("fault proxy: bind");
        listener
            .set_nonblocking(true)
            .expect("fault proxy: nonblocking");
        let addr = listener.local_addr().expect("fault proxy: local address");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread_shared = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("fault proxy: runtime");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("fault proxy: listener");
                let serve = tokio::spawn(serve(listener, upstream, thread_shared));
                let _ = stopped.await;
                serve.abort();
            });
        });
        FaultProxy {
            addr,
            shared,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:PORT`: give this to the client instead of the server's address.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds a rule after those already set (the first matching armed rule wins).
    pub fn add(&self, rule: Rule) {
        lock(&self.shared).rules.push(rule);
    }

    /// Removes every rule: the proxy passes everything on again.
    pub fn heal(&self) {
        lock(&self.shared).rules.clear();
    }

    /// Every request so far, in arrival order.
    pub fn log(&self) -> Vec<Seen> {
        lock(&self.shared).log.clone()
    }

    /// Polls the log every 20 ms until `done` holds or `timeout` passes; true if it held.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&[Seen]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&lock(&self.shared).log) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    upstream: SocketAddr,
    shared: Arc<Mutex<Shared>>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { handle(req, upstream, &shared).await }
            });
            // A closed connection (ours or the client's) ends this task; nothing to report.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

/// The error that makes hyper close the connection without an answer.
#[derive(Debug)]
struct Closed;

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("closed by the fault proxy")
    }
}

impl std::error::Error for Closed {}

async fn handle(
    req: Request<Incoming>,
    upstream: SocketAddr,
    shared: &Mutex<Shared>,
) -> Result<Response<Full<Bytes>>, Closed> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let misbehave = {
        let guard = lock(shared);
        guard
            .rules
            .iter()
            .find(|r| r.armed && r.matcher.matches(&method, &path))
            .map(|r| r.misbehave)
    };
    let index = {
        let mut guard = lock(shared);
        guard.log.push(Seen {
            method: method.clone(),
            path: path.clone(),
            answered: None,
            misbehaved: misbehave,
        });
        guard.log.len() - 1
    };
    match misbehave {
        Some(Misbehave::Close) => return Err(Closed),
        Some(Misbehave::Hang) => return std::future::pending().await,
        Some(Misbehave::Status(code)) => {
            let body = format!("{{\"errors\":[\"fault proxy: answered {code}\"]}}");
            let mut response = Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            return Ok(response);
        }
        Some(Misbehave::ForwardThenHang) | None => {}
    }
    let response = forward(req, upstream).await.map_err(|_| Closed)?;
    let code = response.status().as_u16();
    {
        let mut guard = lock(shared);
        guard.log[index].answered = Some(code);
        if (200..300).contains(&code) {
            for rule in &mut guard.rules {
                if rule
                    .armed_by
                    .as_ref()
                    .is_some_and(|t| t.matches(&method, &path))
                {
                    rule.armed = true;
                }
            }
        }
    }
    if misbehave == Some(Misbehave::ForwardThenHang) {
        return std::future::pending().await;
    }
    Ok(response)
}

/// Sends `req` to `upstream` on a fresh connection and reads the whole answer.
async fn forward(
    req: Request<Incoming>,
    upstream: SocketAddr,
) -> Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let stream = tokio::net::TcpStream::connect(upstream).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}
