//! Bench only (`scripts/bench.sh`): the Kubernetes API double from `tests/support` served on a
//! loopback port, so that Terraform with konoha and `kubectl apply --server-side` can be timed
//! against the same API server. Not part of the provider.
//!
//! In front of the double sits [`discovery`], which answers the API discovery kubectl needs.
//!
//!   bench-kube-double DIR    writes DIR/kubeconfig, prints its path, then answers stdin:
//!                            `count` → "<requests> <writes>" since the last `clear`;
//!                            `clear` → empties the request log and prints "ok".
//!
//! It stops when stdin closes.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod discovery;
#[path = "../../tests/support/kube_double/mod.rs"]
mod kube_double;

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;

use kube_double::KubeDouble;

/// The namespace the bench's servers go into.
const NAMESPACE: &str = "kyuubi";

fn main() {
    let dir = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .expect("usage: bench-kube-double DIR"),
    );
    let double = KubeDouble::start_background();
    double.create_namespace(NAMESPACE);
    let kubeconfig = double.write_kubeconfig(&dir);
    let upstream = double.url();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let front = runtime.block_on(discovery::start(
        upstream.trim_start_matches("http://").parse().unwrap(),
    ));
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    std::fs::write(&kubeconfig, text.replace(&upstream, &front)).unwrap();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", kubeconfig.display()).unwrap();
    stdout.flush().unwrap();
    for line in std::io::stdin().lock().lines() {
        let answer = match line.unwrap().trim() {
            "count" => format!("{} {}", double.requests().len(), double.writes().len()),
            "clear" => {
                double.clear_requests();
                "ok".to_owned()
            }
            other => format!("unknown command {other:?}"),
        };
        writeln!(stdout, "{answer}").unwrap();
        stdout.flush().unwrap();
    }
}
