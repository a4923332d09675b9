//! A scripted plain-HTTP server for the client's unit tests: answers each connection with the
//! next canned response and records what it was asked, so tests can assert every request.
//!
//! Test-only; behaviour tests against a real-like API server are in `tests/kube_client.rs`.

use serde_json::Value;

/// One request as the scripted server saw it.
#[derive(Debug)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Seen {
    pub(crate) fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// Query pairs as sent (still percent-encoded), sorted; kube-rs leaves empty pairs
    /// (`?&a=b`), which servers ignore, so they are dropped here.
    pub(crate) fn query(&self) -> Vec<&str> {
        let mut pairs: Vec<&str> = self
            .target
            .split_once('?')
            .map(|(_, q)| q.split('&').filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        pairs.sort_unstable();
        pairs
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A plain-HTTP server answering each connection with the next scripted response, then
/// returning what it was asked. Every answer closes the connection, so each request of the
/// client arrives on its own connection, in order.
pub(crate) async fn scripted(
    answers: Vec<(u16, Value)>,
) -> (String, tokio::task::JoinHandle<Vec<Seen>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let mut seen = Vec::new();
        for (code, answer) in answers {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            let head_end = loop {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "client closed before sending a request");
                raw.extend_from_slice(&buf[..n]);
                if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head = String::from_utf8(raw[..head_end].to_vec()).unwrap();
            let mut lines = head.split("\r\n");
            let mut request_line = lines.next().unwrap().split(' ');
            let method = request_line.next().unwrap().to_owned();
            let target = request_line.next().unwrap().to_owned();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(": "))
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
                .collect();
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            while raw.len() < head_end + length {
                let n = socket.read(&mut buf).await.unwrap();
                raw.extend_from_slice(&buf[..n]);
            }
            let body = String::from_utf8(raw[head_end..head_end + length].to_vec()).unwrap();
            seen.push(Seen {
                method,
                target,
                headers,
                body,
            });
            let answer = answer.to_string();
            let response = format!(
                "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
        }
        seen
    });
    (url, server)
}
