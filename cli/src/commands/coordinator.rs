//! `simclr coordinator`: the meeting point of the machines of a `pretrain --nodes` run.

use anyhow::{Context, Result};
use clap::Args;

/// Options of `coordinator`.
#[derive(Args, Debug, Clone)]
pub struct CoordinatorArgs {
    /// Port to listen on (every address of this machine, 127.0.0.1 included)
    #[arg(long)]
    pub port: u16,
}

/// Runs `simclr coordinator` until it is stopped (Ctrl-C or SIGTERM).
pub fn run(args: CoordinatorArgs) -> Result<()> {
    eprintln!(
        "coordinator listening on port {} (start each node with --coordinator HOST:{})",
        args.port, args.port
    );
    simclr::train::parallel::run_coordinator(args.port)
        .with_context(|| format!("cannot run the coordinator on port {}", args.port))
}
