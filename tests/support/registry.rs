//! A provider registry on loopback: just enough of Terraform's provider registry protocol
//! (versions, one platform's download document with the signing key, and the files it points
//! at) over plain HTTP, so `terraform init` installs a release the way it does from a registry.
//!
//! Terraform reaches it through a CLI configuration `host` block that sends
//! `registry.terraform.io`'s provider API here ([`registry_cli_config`]); no network is needed.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use serde_json::json;

use super::release::{ARCH, OS, Release};

/// A read-only HTTP server answering GET and HEAD for a fixed set of paths, enough for
/// Terraform's provider registry protocol. Stops when dropped.
pub struct StaticServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl StaticServer {
    pub fn serve(files: BTreeMap<String, Vec<u8>>) -> StaticServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    // A client that hangs up early is its own problem.
                    let _ = answer(stream, &files);
                }
            }
        });
        StaticServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

fn answer(stream: TcpStream, files: &BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let mut stream = stream;
    match files.get(path) {
        Some(body) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            if method != "HEAD" {
                stream.write_all(body)?;
            }
        }
        None => write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?,
    }
    stream.flush()
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a registry hands Terraform for one release, with each file replaceable so a test can
/// serve a tampered one.
pub struct RegistryFiles {
    /// The platform's zip.
    pub zip: Vec<u8>,
    /// The checksum list.
    pub sums: Vec<u8>,
    /// Its detached signature.
    pub signature: Vec<u8>,
}

impl RegistryFiles {
    pub fn of(release: &Release) -> RegistryFiles {
        RegistryFiles {
            zip: fs::read(release.path(&release.zip_name())).unwrap(),
            sums: fs::read(release.path(&release.sums_name())).unwrap(),
            signature: fs::read(release.path(&format!("{}.sig", release.sums_name()))).unwrap(),
        }
    }

    /// Serves the provider registry protocol for `konoha/konoha` (versions, then one platform's
    /// download document with the signing key) and the files it points at.
    pub fn serve(self, release: &Release) -> StaticServer {
        let base = "/v1/providers/konoha/konoha";
        let public_key = fs::read_to_string(release.path("signing-key.asc")).unwrap();
        let key_id = &release.fingerprint[release.fingerprint.len() - 16..];
        let versions = json!({"versions": [{
            "version": release.version,
            "protocols": ["5.0"],
            "platforms": [{"os": OS, "arch": ARCH}],
        }]});
        let download = json!({
            "protocols": ["5.0"],
            "os": OS,
            "arch": ARCH,
            "filename": release.zip_name(),
            "download_url": format!("/files/{}", release.zip_name()),
            "shasums_url": format!("/files/{}", release.sums_name()),
            "shasums_signature_url": format!("/files/{}.sig", release.sums_name()),
            "shasum": release.sums()[&release.zip_name()],
            "signing_keys": {"gpg_public_keys": [{"key_id": key_id, "ascii_armor": public_key}]},
        });
        let files = BTreeMap::from([
            (
                format!("{base}/versions"),
                versions.to_string().into_bytes(),
            ),
            (
                format!("{base}/{}/download/{OS}/{ARCH}", release.version),
                download.to_string().into_bytes(),
            ),
            (format!("/files/{}", release.zip_name()), self.zip),
            (format!("/files/{}", release.sums_name()), self.sums),
            (
                format!("/files/{}.sig", release.sums_name()),
                self.signature,
            ),
        ]);
        StaticServer::serve(files)
    }
}

/// A CLI configuration sending `registry.terraform.io`'s provider API to `registry`, with
/// ordinary (`direct`) installation: what a private registry or a registry proxy looks like.
pub fn registry_cli_config(registry: &StaticServer) -> String {
    format!(
        "host \"registry.terraform.io\" {{\n  services = {{\n    \"providers.v1\" = \"http://{}/v1/providers/\"\n  }}\n}}\n\nprovider_installation {{\n  direct {{}}\n}}\n",
        registry.addr
    )
}
