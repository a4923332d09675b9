//! Serving the provider to Terraform: bind, announce, accept over mutual TLS, serve until Shutdown.
//!
//! The order follows go-plugin's servers: the listener is bound before the handshake line goes
//! out (so Terraform can connect the moment it reads it), the line is the only thing this process
//! ever writes to stdout, SIGINT is ignored (Terraform handles Ctrl-C and sends `Stop`), and
//! Shutdown ends the process within a second. Reading the environment lives in
//! [`super::handshake`], the certificates in [`super::tls`], reattach mode in [`super::debug`].

use std::convert::Infallible;
use std::future::Future;
use std::io::{self, Write as _};
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::Stream;
use tonic::transport::Server;
use tonic::transport::server::{Connected, Router, TcpConnectInfo};
use tonic_health::ServingStatus;

use super::controller::{self, Controller, ShutdownSignal, ShutdownTrigger};
use super::handshake::{self, HandshakeError, PluginEnv, PortRange};
use super::pb::plugin::grpc_controller_server::GrpcControllerServer;
use super::pb::tfplugin5::provider_server::{Provider, ProviderServer};
use super::tls::{self, ServerIdentity, TlsError};

/// Largest gRPC message in either direction, as terraform-plugin-go allows (tonic's default
/// decoding limit of 4 MiB is too small for big states or schemas).
const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// How long a client may take to finish the TLS handshake before its connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a failed `accept`, so running out of file descriptors does not spin a core.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// After Shutdown, how long connections may drain before the process exits regardless. Terraform
/// kills the process after two seconds.
const FORCED_EXIT_AFTER: Duration = Duration::from_secs(1);

/// The name go-plugin's health check asks about.
const HEALTH_SERVICE: &str = "plugin";

/// Serving the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The plugin environment cannot be served.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// No port in the allowed range could be bound.
    #[error("cannot listen on 127.0.0.1, ports {ports:?}")]
    Bind {
        /// The ports tried.
        ports: RangeInclusive<u16>,
        /// The error for the last port tried.
        #[source]
        source: io::Error,
    },
    /// The bound listener has no readable address.
    #[error("cannot read the listening address")]
    LocalAddr(#[source] io::Error),
    /// The TLS material cannot be built.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The handshake line (or debug banner) could not be written to stdout.
    #[error("cannot write the handshake to stdout")]
    Announce(#[source] io::Error),
    /// The gRPC server stopped with an error.
    #[error("the gRPC server failed")]
    Transport(#[source] tonic::transport::Error),
    /// The task running an in-process server panicked or was cancelled.
    #[error("the in-process server task ended abnormally")]
    ServerTask(#[source] tokio::task::JoinError),
}

/// Serves `provider` to the Terraform that started this process; see [`serve_with_env`].
pub async fn serve<P: Provider>(provider: P) -> Result<(), ServeError> {
    serve_with_env(PluginEnv::from_env()?, provider).await
}

/// Serves `provider` as go-plugin's environment asks, until Terraform calls Shutdown.
///
/// Binds 127.0.0.1 on the first free port of the range, prints the handshake line, and serves
/// mutual TLS (or plaintext when Terraform sent no client certificate). Returns once Shutdown
/// was called and open connections drained; if they do not drain within a second the process
/// exits on its own, since Terraform kills it a second later anyway.
pub async fn serve_with_env<P: Provider>(env: PluginEnv, provider: P) -> Result<(), ServeError> {
    let listener = bind(env.ports).await?;
    let addr = listener.local_addr().map_err(ServeError::LocalAddr)?;
    let (trigger, signal) = controller::shutdown_channel();
    ignore_interrupts();
    exit_soon_after(signal.clone());
    let router = routes(provider, trigger).await;
    match env.client_cert_pem {
        Some(pem) => {
            let client_cert = tls::client_cert_from_pem(&pem)?;
            let identity = ServerIdentity::generate()?;
            let acceptor = TlsAcceptor::from(tls::server_config(&identity, client_cert)?);
            announce(&handshake::handshake_line(addr, Some(identity.cert_der())))?;
            tracing::debug!(%addr, "serving tfplugin5 over mutual TLS");
            serve_tls(router, listener, acceptor, signal).await
        }
        None => {
            announce(&handshake::handshake_line(addr, None))?;
            tracing::debug!(%addr, "serving tfplugin5 in plaintext: no PLUGIN_CLIENT_CERT");
            serve_plaintext(router, listener, signal).await
        }
    }
}

/// Binds 127.0.0.1 on the first port of `ports` that is free, as go-plugin does.
pub(crate) async fn bind(ports: PortRange) -> Result<TcpListener, ServeError> {
    let mut last_error = io::Error::new(io::ErrorKind::AddrNotAvailable, "empty port range");
    for port in ports.ports() {
        match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            Ok(listener) => return Ok(listener),
            Err(err) => last_error = err,
        }
    }
    Err(ServeError::Bind {
        ports: ports.ports(),
        source: last_error,
    })
}

/// Writes `text` and a newline to stdout and flushes, so Terraform sees it at once.
pub(crate) fn announce(text: &str) -> Result<(), ServeError> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(ServeError::Announce)
}

/// The gRPC services: the provider, go-plugin's controller, and the health check go-plugin's
/// documentation asks for. `GRPCStdio` and `GRPCBroker` are left out: unknown services answer
/// Unimplemented, which go-plugin's client handles.
///
/// Each call runs in a debug-level `rpc` span named by its gRPC path; the logger writes the
/// span's duration when it closes, so `TF_LOG_PROVIDER=debug` shows what every RPC cost here.
pub(crate) async fn routes<P: Provider>(provider: P, trigger: ShutdownTrigger) -> Router {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status(HEALTH_SERVICE, ServingStatus::Serving)
        .await;
    let provider = ProviderServer::new(provider)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    Server::builder()
        .trace_fn(|request| tracing::debug_span!("rpc", rpc = request.uri().path()))
        .add_service(provider)
        .add_service(GrpcControllerServer::new(Controller::new(trigger)))
        .add_service(health)
}

/// Serves plaintext connections from `listener` until `signal` fires and connections drain.
pub(crate) async fn serve_plaintext(
    router: Router,
    listener: TcpListener,
    signal: ShutdownSignal,
) -> Result<(), ServeError> {
    let (incoming, acceptor) = accept_loop(listener, |stream| async move { Some(stream) });
    finish(router, incoming, acceptor, signal).await
}

/// Serves TLS connections from `listener` until `signal` fires and connections drain. Each TLS
/// handshake runs in its own task, so one slow or failing client cannot hold up the others.
async fn serve_tls(
    router: Router,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    signal: ShutdownSignal,
) -> Result<(), ServeError> {
    let (incoming, accept_task) = accept_loop(listener, move |stream| {
        let acceptor = acceptor.clone();
        async move {
            let peer = stream.peer_addr().ok();
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => Some(TlsConnection(tls)),
                Ok(Err(err)) => {
                    tracing::debug!(?peer, error = %err, "TLS handshake failed; dropping the connection");
                    None
                }
                Err(_elapsed) => {
                    tracing::debug!(?peer, "TLS handshake timed out; dropping the connection");
                    None
                }
            }
        }
    });
    finish(router, incoming, accept_task, signal).await
}

async fn finish<IO>(
    router: Router,
    incoming: Incoming<IO>,
    accept_task: JoinHandle<()>,
    signal: ShutdownSignal,
) -> Result<(), ServeError>
where
    IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
{
    let served = router
        .serve_with_incoming_shutdown(incoming, signal.wait())
        .await;
    // tonic dropped `incoming` when the signal fired; stop accepting, and wait until the listener
    // is dropped so the port is free once this returns.
    accept_task.abort();
    let _ = accept_task.await;
    served.map_err(ServeError::Transport)
}

/// Accepted connections, ready for tonic, in the order their handshakes completed.
struct Incoming<IO>(mpsc::Receiver<IO>);

impl<IO> Stream for Incoming<IO> {
    type Item = Result<IO, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .0
            .poll_recv(cx)
            .map(|connection| connection.map(Ok))
    }
}

/// Accepts TCP connections and passes each through `upgrade` in its own task; connections it
/// turns into `None` are dropped. Accept errors are logged and do not stop the loop.
///
/// Every accepted socket gets `TCP_NODELAY`, as tonic's own listener sets it: gRPC writes a
/// small HEADERS frame and then the DATA frame, and with Nagle's algorithm on the second write
/// waits for the peer's delayed ACK (up to 40 ms on Linux) whenever the first is unacknowledged.
fn accept_loop<IO, F, Fut>(listener: TcpListener, upgrade: F) -> (Incoming<IO>, JoinHandle<()>)
where
    IO: Send + 'static,
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = Option<IO>> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(16);
    let task = tokio::spawn(async move {
        while !sender.is_closed() {
            let stream = match listener.accept().await {
                Ok((stream, _peer)) => {
                    if let Err(err) = stream.set_nodelay(true) {
                        tracing::debug!(error = %err, "cannot set TCP_NODELAY; serving the connection anyway");
                    }
                    stream
                }
                Err(err) => {
                    tracing::debug!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            let sender = sender.clone();
            let upgraded = upgrade(stream);
            tokio::spawn(async move {
                if let Some(connection) = upgraded.await {
                    // A send error means the server is shutting down; the connection just closes.
                    let _ = sender.send(connection).await;
                }
            });
        }
    });
    (Incoming(receiver), task)
}

/// A server-side TLS stream that tonic can serve: ours, so that tonic's TLS features (which
/// bring their own acceptor and config) stay off.
struct TlsConnection(TlsStream<TcpStream>);

impl Connected for TlsConnection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.0.get_ref().0.connect_info()
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// Keeps Ctrl-C from killing the provider mid-apply, as go-plugin servers do: the terminal sends
/// SIGINT to Terraform and its providers alike, and Terraform cancels work through `Stop`.
///
/// The handler is registered before this returns, so no interrupt after the handshake line can
/// slip through to the default action.
fn ignore_interrupts() {
    #[cfg(unix)]
    let registered = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    #[cfg(windows)]
    let registered = tokio::signal::windows::ctrl_c();
    match registered {
        Ok(mut interrupts) => {
            tokio::spawn(async move {
                while interrupts.recv().await.is_some() {
                    tracing::debug!("ignoring an interrupt: Terraform stops providers with Stop");
                }
            });
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot ignore interrupts; Ctrl-C may stop the provider mid-operation");
        }
    }
}

/// Once `signal` fires, exits the process after [`FORCED_EXIT_AFTER`] even if connections are
/// still open. A plain thread, so a busy or wedged runtime cannot delay it.
fn exit_soon_after(signal: ShutdownSignal) {
    tokio::spawn(async move {
        signal.wait().await;
        std::thread::spawn(|| {
            std::thread::sleep(FORCED_EXIT_AFTER);
            tracing::debug!("connections did not drain after Shutdown; exiting anyway");
            std::process::exit(0);
        });
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bind_takes_the_first_free_port_of_the_range() {
        let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let first = taken.local_addr().unwrap().port();
        let Some(last) = first.checked_add(20) else {
            return;
        };
        let ports = PortRange::parse(Some(&first.to_string()), Some(&last.to_string())).unwrap();

        let listener = bind(ports).await.unwrap();

        let port = listener.local_addr().unwrap().port();
        assert!(
            port > first && port <= last,
            "{port} not in {}..={last}",
            first + 1
        );
    }

    #[tokio::test]
    async fn accepted_connections_have_nagle_switched_off() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The upgrade step sees the socket exactly as the TLS acceptor or tonic would.
        let (incoming, task) = accept_loop(listener, |stream| async move { stream.nodelay().ok() });
        let mut incoming = incoming.0;

        let _client = TcpStream::connect(addr).await.unwrap();
        let nodelay = incoming.recv().await;

        task.abort();
        assert_eq!(nodelay, Some(true), "TCP_NODELAY on the accepted socket");
    }

    #[tokio::test]
    async fn bind_fails_when_every_port_is_taken() {
        let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = taken.local_addr().unwrap().port().to_string();
        let ports = PortRange::parse(Some(&port), Some(&port)).unwrap();

        let err = bind(ports).await.unwrap_err();

        assert!(matches!(err, ServeError::Bind { .. }), "{err:?}");
    }
}
