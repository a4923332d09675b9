//! `terraform-provider-konoha`: started by Terraform, or by hand with `--debug` or `--version`.
//!
//! Everything but argument handling and exit codes lives in the library, starting at
//! `konoha::plugin`.

use std::io::Write as _;
use std::process::ExitCode;

use konoha::plugin::handshake::{
    APP_PROTOCOL_MINOR_VERSION, APP_PROTOCOL_VERSION, HandshakeError, PluginEnv,
};
use konoha::plugin::{ProviderService, debug, logging, serve};
use konoha::provider::Konoha;

#[tokio::main]
async fn main() -> ExitCode {
    // Several dependencies link rustls; name the provider so none has to guess. aws-lc-rs is the
    // one that verifies Terraform's P-521 client certificate. Failure means one is already set.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    logging::init();
    let provider = ProviderService::new(Konoha::new());
    // `args_os`: `args` would panic on an argument that is not UTF-8.
    let argument = std::env::args_os().nth(1);
    let served = match argument
        .as_ref()
        .map(|arg| arg.to_string_lossy())
        .as_deref()
    {
        // Before the cookie check: a person asking for the version is not Terraform.
        Some("--version") => {
            // Not `println!`, which panics when the reader has gone (`--version | head -n 1`).
            let printed = writeln!(
                std::io::stdout(),
                "{} {}\nplugin protocol {APP_PROTOCOL_VERSION}.{APP_PROTOCOL_MINOR_VERSION}",
                env!("CARGO_PKG_NAME"),
                konoha::VERSION
            );
            return if printed.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Some("--debug") => {
            log_start("debug");
            debug::serve_debug(provider).await
        }
        None => match PluginEnv::from_env() {
            Ok(env) => {
                log_start("plugin");
                serve::serve_with_env(env, provider).await
            }
            // go-plugin's exact words, on stderr: the user ran the binary by hand.
            Err(HandshakeError::NotAPlugin) => {
                eprintln!("{}", HandshakeError::NotAPlugin);
                return ExitCode::FAILURE;
            }
            Err(err) => Err(err.into()),
        },
        Some(other) => {
            eprintln!("unknown argument {other:?}; expected --debug or --version");
            return ExitCode::from(2);
        }
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let mut chain = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                chain = format!("{chain}: {cause}");
                source = cause.source();
            }
            tracing::error!(error = %chain, "cannot serve the provider");
            ExitCode::FAILURE
        }
    }
}

/// The first log line of a serving process, so a bug report's log says which build it came from.
fn log_start(mode: &'static str) {
    tracing::info!(
        version = konoha::VERSION,
        protocol = %format_args!("{APP_PROTOCOL_VERSION}.{APP_PROTOCOL_MINOR_VERSION}"),
        mode,
        "starting {}",
        env!("CARGO_PKG_NAME")
    );
}
