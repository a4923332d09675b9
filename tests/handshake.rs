//! The go-plugin handshake, checked through the built binary the way Terraform drives it: the
//! magic cookie, protocol choice, port range, the handshake line, mutual TLS pinned to the
//! client certificate, Shutdown, and `--debug`. The last test serves in this process through
//! `serve_in_process`, as acceptance tests do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hyper_util::rt::TokioIo;
use konoha::plugin::ProviderService;
use konoha::plugin::debug::serve_in_process;
use konoha::plugin::pb::plugin::Empty;
use konoha::plugin::pb::tfplugin5::get_provider_schema;
use konoha::provider::Konoha;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P521_SHA512,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint, Uri};

const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-konoha");
const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const NOT_A_PLUGIN: &str = "This binary is a plugin. These are not meant to be executed directly.\n\
     Please execute the program that consumes these plugins, which will\n\
     load any plugins automatically\n";
/// Generous, for a loaded CI machine; the happy paths take milliseconds.
const STARTUP: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A provider process and the lines of its stdout, read on a thread so waits can have deadlines.
struct Plugin {
    child: Child,
    stdout: mpsc::Receiver<String>,
}

impl Plugin {
    /// Starts the binary with exactly `env` (plus nothing inherited) and `args`.
    fn start(env: &[(&str, &str)], args: &[&str]) -> Self {
        let mut child = Command::new(BINARY)
            .args(args)
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdout: receiver,
        }
    }

    /// Starts the binary as Terraform would, with mutual TLS.
    fn start_tls(client: &ClientIdentity, min_port: u16, max_port: u16) -> Self {
        Self::start(
            &[
                ("TF_PLUGIN_MAGIC_COOKIE", COOKIE),
                ("PLUGIN_PROTOCOL_VERSIONS", "6,5"),
                ("PLUGIN_MIN_PORT", &min_port.to_string()),
                ("PLUGIN_MAX_PORT", &max_port.to_string()),
                ("PLUGIN_CLIENT_CERT", &client.pem),
            ],
            &[],
        )
    }

    fn next_line(&self) -> String {
        match self.stdout.recv_timeout(STARTUP) {
            Ok(line) => line,
            Err(err) => panic!("no line on stdout within {STARTUP:?}: {err}"),
        }
    }

    /// Waits for the process to exit, polling until `deadline` from now.
    fn exit_within(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + deadline;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::yield_now();
        }
    }

    /// Everything else the process wrote to stdout, once it has exited.
    fn rest_of_stdout(&self) -> Vec<String> {
        self.stdout.iter().collect()
    }

    fn stderr(&mut self) -> String {
        let mut text = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client certificate like go-plugin's: self-signed ECDSA P-521, CA:true, localhost.
struct ClientIdentity {
    der: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    pem: String,
}

impl ClientIdentity {
    fn generate() -> Self {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P521_SHA512).unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "HashiCorp");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let cert = params.self_signed(&key).unwrap();
        Self {
            der: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
            pem: cert.pem(),
        }
    }
}

/// The handshake line's fields.
struct Handshake {
    addr: SocketAddr,
    server_cert: Vec<u8>,
}

fn parse_handshake(line: &str) -> Handshake {
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(fields.len(), 6, "{line}");
    assert_eq!(fields[..3], ["1", "5", "tcp"], "{line}");
    assert_eq!(fields[4], "grpc", "{line}");
    assert!(
        !fields[5].contains('='),
        "cert must be unpadded base64: {line}"
    );
    Handshake {
        addr: fields[3].parse().unwrap(),
        server_cert: STANDARD_NO_PAD.decode(fields[5]).unwrap(),
    }
}

/// A port range whose first port is held by the returned listener, so the server must skip it.
fn port_range_with_first_taken() -> (TcpListener, u16, u16) {
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let first = taken.local_addr().unwrap().port();
    let last = first.saturating_add(50);
    (taken, first, last)
}

/// Trusts exactly the certificate from the handshake line, as go-plugin's client does (its root
/// pool holds only that certificate). WebPKI would refuse it as a CA used as an end entity.
#[derive(Debug)]
struct PinnedServer {
    der: Vec<u8>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        assert_eq!(server_name.to_str(), "localhost");
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "unexpected server certificate".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS client config trusting `server_cert`, presenting `client` (or no certificate).
fn client_config(server_cert: &[u8], client: Option<&ClientIdentity>) -> Arc<ClientConfig> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier = PinnedServer {
        der: server_cert.to_vec(),
        provider: provider.clone(),
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match client {
        Some(client) => builder
            .with_client_auth_cert(
                vec![client.der.clone()],
                PrivateKeyDer::Pkcs8(client.key.clone_key()),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

async fn connect_tls(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

/// Whether the server speaks to us after the handshake: an accepted client gets the HTTP/2
/// server's SETTINGS frame; a rejected one gets an alert or a closed connection. (In TLS 1.3 the
/// client finishes its handshake before the server has judged its certificate.)
async fn server_talks(stream: &mut TlsStream<TcpStream>) -> bool {
    let mut byte = [0_u8; 1];
    let read = tokio::time::timeout(STARTUP, stream.read(&mut byte)).await;
    matches!(read, Ok(Ok(1)))
}

async fn tls_channel(addr: SocketAddr, config: Arc<ClientConfig>) -> Channel {
    let connector = tower::service_fn(move |_: Uri| {
        let config = config.clone();
        async move { connect_tls(addr, config).await.map(TokioIo::new) }
    });
    Endpoint::from_static("http://localhost")
        .connect_with_connector(connector)
        .await
        .unwrap()
}

async fn call_shutdown(channel: Channel) -> Result<tonic::Response<Empty>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = PathAndQuery::from_static("/plugin.GRPCController/Shutdown");
    grpc.unary(
        tonic::Request::new(Empty {}),
        path,
        tonic_prost::ProstCodec::default(),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Refusing to start
// ---------------------------------------------------------------------------------------------

#[test]
fn without_the_magic_cookie_it_prints_go_plugins_message_and_exits_1() {
    for env in [vec![], vec![("TF_PLUGIN_MAGIC_COOKIE", "wrong")]] {
        let mut plugin = Plugin::start(&env, &[]);
        let status = plugin.exit_within(STARTUP).expect("the binary should exit");
        assert_eq!(status.code(), Some(1), "{env:?}");
        assert_eq!(plugin.stderr(), NOT_A_PLUGIN, "{env:?}");
        assert!(plugin.rest_of_stdout().is_empty(), "{env:?}");
    }
}

#[test]
fn without_protocol_5_on_offer_it_exits_with_an_error() {
    let mut plugin = Plugin::start(
        &[
            ("TF_PLUGIN_MAGIC_COOKIE", COOKIE),
            ("PLUGIN_PROTOCOL_VERSIONS", "6"),
        ],
        &[],
    );
    let status = plugin.exit_within(STARTUP).expect("the binary should exit");
    assert!(!status.success());
    assert!(plugin.rest_of_stdout().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Handshake and mutual TLS
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn handshake_line_announces_a_port_in_range_and_the_server_cert() {
    let client = ClientIdentity::generate();
    let (_taken, first, last) = port_range_with_first_taken();
    let plugin = Plugin::start_tls(&client, first, last);

    let handshake = parse_handshake(&plugin.next_line());

    assert_eq!(handshake.addr.ip(), Ipv4Addr::LOCALHOST);
    let port = handshake.addr.port();
    assert!(
        port > first && port <= last,
        "port {port} outside {}..={last}",
        first + 1
    );
    let (rest, cert) = x509_parser::parse_x509_certificate(&handshake.server_cert).unwrap();
    assert!(rest.is_empty());
    let san = cert.subject_alternative_name().unwrap().unwrap();
    assert_eq!(
        format!("{:?}", san.value.general_names),
        r#"[DNSName("localhost")]"#
    );
    assert!(
        cert.extended_key_usage()
            .unwrap()
            .unwrap()
            .value
            .server_auth
    );
}

#[tokio::test]
async fn the_pinned_p521_client_cert_gets_tls_with_h2() {
    let client = ClientIdentity::generate();
    let (_taken, first, last) = port_range_with_first_taken();
    let plugin = Plugin::start_tls(&client, first, last);
    let handshake = parse_handshake(&plugin.next_line());

    let config = client_config(&handshake.server_cert, Some(&client));
    let mut stream = connect_tls(handshake.addr, config).await.unwrap();

    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    assert!(
        server_talks(&mut stream).await,
        "the server should accept the pinned client"
    );
}

#[tokio::test]
async fn other_client_certs_and_no_cert_are_rejected_without_stopping_the_server() {
    let client = ClientIdentity::generate();
    let stranger = ClientIdentity::generate();
    let (_taken, first, last) = port_range_with_first_taken();
    let mut plugin = Plugin::start_tls(&client, first, last);
    let handshake = parse_handshake(&plugin.next_line());

    for presented in [Some(&stranger), None] {
        let config = client_config(&handshake.server_cert, presented);
        let rejected = match connect_tls(handshake.addr, config).await {
            Err(_) => true,
            Ok(mut stream) => !server_talks(&mut stream).await,
        };
        assert!(
            rejected,
            "presenting {:?} must fail",
            presented.map(|c| c.der.len())
        );
    }

    // The failed handshakes cost nothing: the right client still gets in.
    let config = client_config(&handshake.server_cert, Some(&client));
    let mut stream = connect_tls(handshake.addr, config).await.unwrap();
    assert!(server_talks(&mut stream).await);
    assert!(plugin.child.try_wait().unwrap().is_none());
}

/// A TLS channel that may fail to connect, for clients the server should refuse.
async fn try_tls_channel(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> Result<Channel, tonic::transport::Error> {
    let connector = tower::service_fn(move |_: Uri| {
        let config = config.clone();
        async move { connect_tls(addr, config).await.map(TokioIo::new) }
    });
    Endpoint::from_static("http://localhost")
        .connect_timeout(STARTUP)
        .connect_with_connector(connector)
        .await
}

/// `Shutdown` over a channel that may not even connect; `Ok` only when the call got through.
async fn try_shutdown(channel: Result<Channel, tonic::transport::Error>) -> Result<(), String> {
    let channel = channel.map_err(|e| format!("connect: {e}"))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| format!("ready: {e}"))?;
    let path = PathAndQuery::from_static("/plugin.GRPCController/Shutdown");
    let call = grpc.unary(
        tonic::Request::new(Empty {}),
        path,
        tonic_prost::ProstCodec::<Empty, Empty>::default(),
    );
    match tokio::time::timeout(STARTUP, call).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(status)) => Err(format!("status: {status}")),
        Err(_) => Err("timed out".to_owned()),
    }
}

/// The most dangerous call a stranger could make is `Shutdown`: made without the pinned client
/// certificate (another one, none, or no TLS at all) it never reaches the service, and the
/// provider goes on serving the client Terraform started it for.
#[tokio::test(flavor = "multi_thread")]
async fn grpc_calls_without_the_pinned_client_cert_are_refused() {
    let client = ClientIdentity::generate();
    let stranger = ClientIdentity::generate();
    let (_taken, first, last) = port_range_with_first_taken();
    let mut plugin = Plugin::start_tls(&client, first, last);
    let handshake = parse_handshake(&plugin.next_line());

    for (who, presented) in [
        ("another certificate", Some(&stranger)),
        ("no certificate", None),
    ] {
        let config = client_config(&handshake.server_cert, presented);
        let result = try_shutdown(try_tls_channel(handshake.addr, config).await).await;
        assert!(result.is_err(), "a Shutdown call with {who} got through");
        assert!(
            plugin.child.try_wait().unwrap().is_none(),
            "the provider stopped after a Shutdown call with {who}"
        );
    }
    let plaintext = Endpoint::from_shared(format!("http://{}", handshake.addr))
        .unwrap()
        .connect_timeout(STARTUP)
        .connect()
        .await;
    assert!(
        try_shutdown(plaintext).await.is_err(),
        "a plaintext Shutdown call got through"
    );
    assert!(plugin.child.try_wait().unwrap().is_none());

    // The pinned client still gets its call through, and that one does stop the provider.
    let channel = try_tls_channel(
        handshake.addr,
        client_config(&handshake.server_cert, Some(&client)),
    )
    .await;
    try_shutdown(channel).await.unwrap();
    let status = tokio::task::block_in_place(|| plugin.exit_within(STARTUP))
        .expect("the provider should exit after the pinned client's Shutdown");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_over_mutual_tls_ends_the_process_promptly() {
    let client = ClientIdentity::generate();
    let (_taken, first, last) = port_range_with_first_taken();
    let mut plugin = Plugin::start_tls(&client, first, last);
    let handshake = parse_handshake(&plugin.next_line());
    let channel = tls_channel(
        handshake.addr,
        client_config(&handshake.server_cert, Some(&client)),
    )
    .await;

    call_shutdown(channel).await.unwrap();

    // Terraform kills a provider still running 2 s after Shutdown.
    let status = tokio::task::block_in_place(|| plugin.exit_within(Duration::from_secs(2)))
        .expect("the provider should exit within 2 s of Shutdown");
    assert!(status.success(), "{status:?}");
    assert!(
        plugin.rest_of_stdout().is_empty(),
        "only the handshake line may reach stdout"
    );
}

// ---------------------------------------------------------------------------------------------
// Reattach mode
// ---------------------------------------------------------------------------------------------

fn reattach_addr(config: &str, pid: u32) -> SocketAddr {
    let config: serde_json::Value = serde_json::from_str(config).unwrap();
    let provider = &config["registry.terraform.io/konoha/konoha"];
    assert_eq!(provider["Protocol"], "grpc");
    assert_eq!(provider["ProtocolVersion"], 5);
    assert_eq!(provider["Pid"], pid);
    assert_eq!(provider["Test"], true);
    assert_eq!(provider["Addr"]["Network"], "tcp");
    provider["Addr"]["String"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn plaintext_channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_mode_prints_the_reattach_line_and_serves_plaintext() {
    let mut plugin = Plugin::start(&[], &["--debug"]);

    assert_eq!(
        plugin.next_line(),
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment \
         variable with the following:"
    );
    assert_eq!(plugin.next_line(), "");
    let line = plugin.next_line();
    let config = line
        .strip_prefix("\tTF_REATTACH_PROVIDERS='")
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap_or_else(|| panic!("not a reattach line: {line:?}"));
    let addr = reattach_addr(config, plugin.child.id());

    call_shutdown(plaintext_channel(addr).await).await.unwrap();
    let status = tokio::task::block_in_place(|| plugin.exit_within(STARTUP))
        .expect("Shutdown should end debug mode too");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn in_process_server_serves_provider_and_health_until_shut_down() {
    let server = serve_in_process(ProviderService::new(Konoha::new()))
        .await
        .unwrap();
    let addr = reattach_addr(&server.reattach_env(), std::process::id());
    assert_eq!(addr, server.addr());
    let mut grpc = tonic::client::Grpc::new(plaintext_channel(addr).await);
    grpc.ready().await.unwrap();

    let schema: Result<tonic::Response<get_provider_schema::Response>, _> = grpc
        .unary(
            tonic::Request::new(get_provider_schema::Request {}),
            PathAndQuery::from_static("/tfplugin5.Provider/GetSchema"),
            tonic_prost::ProstCodec::default(),
        )
        .await;
    let schema = schema.unwrap().into_inner();
    assert!(
        schema.provider.is_some(),
        "GetSchema must carry the provider schema"
    );
    assert!(schema.resource_schemas.contains_key("konoha_spark_profile"));
    assert!(
        schema
            .server_capabilities
            .is_some_and(|c| c.get_provider_schema_optional)
    );

    grpc.ready().await.unwrap();
    let health: tonic::Response<tonic_health::pb::HealthCheckResponse> = grpc
        .unary(
            tonic::Request::new(tonic_health::pb::HealthCheckRequest {
                service: "plugin".into(),
            }),
            PathAndQuery::from_static("/grpc.health.v1.Health/Check"),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        health.into_inner().status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );

    drop(grpc);
    tokio::time::timeout(STARTUP, server.shutdown())
        .await
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the port should be closed after shutdown"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn interrupts_are_ignored_like_go_plugin_servers_do() {
    let client = ClientIdentity::generate();
    let (_taken, first, last) = port_range_with_first_taken();
    let mut plugin = Plugin::start_tls(&client, first, last);
    let handshake = parse_handshake(&plugin.next_line());

    let pid = plugin.child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());

    // Still serving after the interrupt, and it ends on Shutdown with success, not by a signal.
    let channel = tls_channel(
        handshake.addr,
        client_config(&handshake.server_cert, Some(&client)),
    )
    .await;
    call_shutdown(channel).await.unwrap();
    let status = tokio::task::block_in_place(|| plugin.exit_within(STARTUP)).unwrap();
    assert!(status.success(), "{status:?}");
}
