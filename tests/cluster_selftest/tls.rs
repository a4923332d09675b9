//! The generated PKI and kubeconfig as a real cluster would use them: a TLS-terminating proxy
//! serving the generated certificate forwards to the in-process double, and both the control
//! client and the provider's own Kubernetes client (through the generated kubeconfig) must
//! reach it, by IP and by `localhost`; a client trusting another CA must not.

use std::sync::Arc;

use konoha::kube::{Kind, KubeClient, KubeSettings, ObjectRef};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;

use crate::support::envtest::config::kubeconfig_text;
use crate::support::envtest::http::ApiClient;
use crate::support::envtest::pki::Pki;
use crate::support::kube_double::KubeDouble;

/// Starts a proxy on a free port terminating TLS with `pki`'s serving certificate and
/// forwarding each connection to `backend` (`host:port`); returns the port. It runs on its own
/// thread for the rest of the test process.
fn tls_proxy(pki: &Pki, backend: String) -> u16 {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pki.serving_cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_slice(pki.serving_key_pem.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                let backend = backend.clone();
                tokio::spawn(async move {
                    // A client that gives up on the handshake (the wrong-CA case) ends here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut upstream = tokio::net::TcpStream::connect(backend).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
    });
    port
}

#[test]
fn the_generated_certificate_and_kubeconfig_serve_both_clients_over_tls() {
    let double = KubeDouble::start_background();
    double.create_namespace("tls");
    let pki = Pki::generate();
    let port = tls_proxy(&pki, double.url().trim_start_matches("http://").to_owned());
    let path = "/api/v1/namespaces/tls/configmaps/c";
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "c", "namespace": "tls"}, "data": {"k": "v"}});

    for host in ["127.0.0.1", "localhost"] {
        let client = ApiClient::new(
            &format!("https://{host}:{port}"),
            "double-token",
            Some(&pki.ca_pem),
        );
        client.apply_as("konoha", path, &body, false).unwrap();
        assert_eq!(client.get(path).unwrap()["data"]["k"], "v", "via {host}");
    }

    let stranger = ApiClient::new(
        &format!("https://127.0.0.1:{port}"),
        "double-token",
        Some(&Pki::generate().ca_pem),
    );
    let refused = stranger.send("GET", path, None, None);
    assert!(
        refused.is_err(),
        "a certificate from another CA must be refused"
    );

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let server = format!("https://127.0.0.1:{port}");
    std::fs::write(
        &kubeconfig,
        kubeconfig_text(&server, &pki.ca_pem, "double-token"),
    )
    .unwrap();
    let settings = KubeSettings {
        config_path: Some(kubeconfig),
        ..KubeSettings::default()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let live = runtime.block_on(async {
        let client = KubeClient::connect(&settings).await.unwrap();
        assert_eq!(client.host().trim_end_matches('/'), server);
        client
            .get_opt(&ObjectRef::new(Kind::ConfigMap, "tls", "c"))
            .await
            .unwrap()
    });
    assert_eq!(live.unwrap()["data"]["k"], "v");
}
