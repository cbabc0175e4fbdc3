//! `gavel serve`: the verifier daemon.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use gavel_daemon::ServeConfig;

#[derive(clap::Args)]
pub struct Args {
    /// The policy file (TOML); reloaded on SIGHUP.
    #[arg(long)]
    policy: PathBuf,
    /// Address to listen on; a non-loopback address needs --token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Bearer token required of clients (default: $GAVEL_TOKEN).
    #[arg(long, env = "GAVEL_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Requests scored at once (default: 2 × cores).
    #[arg(long)]
    max_in_flight: Option<usize>,
    /// Requests waiting for a slot; more are refused with 503.
    #[arg(long, default_value_t = 64)]
    max_queued: usize,
    /// Largest request body in bytes (413 above).
    #[arg(long, default_value_t = 32 << 20)]
    max_body_bytes: usize,
    /// Most samples per request (413 above).
    #[arg(long, default_value_t = 4096)]
    max_batch: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut config = ServeConfig::new(args.policy, args.listen);
    config.token = args.token.filter(|t| !t.is_empty());
    if let Some(n) = args.max_in_flight {
        config.max_in_flight = n;
    }
    config.max_queued = args.max_queued;
    config.max_body_bytes = args.max_body_bytes;
    config.max_batch = args.max_batch;
    let host = crate::plugins::new_host()?;
    let kinds = Arc::new(move || crate::source_kinds(host.clone()));
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(gavel_daemon::serve(config, kinds))?;
    Ok(())
}
