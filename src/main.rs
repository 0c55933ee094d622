//! The `simclr` command-line tool.

mod cli;
mod commands;
mod progress;

use clap::Parser;
use cli::{Cli, Command};

fn run() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Pretrain(args) => commands::pretrain_command(*args),
        Command::Export(args) => commands::export_command(args),
        Command::Embed(args) => commands::embed_command(args),
        Command::AugmentPreview(args) => commands::preview_command(args),
        Command::Bench(args) => commands::bench_command(args),
        Command::Probe(args) => commands::probe_command(args),
        Command::Supervised(args) => commands::supervised_command(*args),
        Command::Tsne(args) => commands::tsne_command(args),
        Command::Experiment(args) => commands::experiment_command(args),
    }
}

fn main() {
    if let Err(error) = run() {
        eprintln!("error: {error}");
        for cause in error.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}
