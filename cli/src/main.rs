//! The `simclr` command-line tool: SimCLR pretraining, evaluation and the study on top of
//! the `simclr` library.

mod args;
mod commands;
mod exit;
mod layering;
mod output;
mod progress;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Large freed buffers kept for the next training step instead of going back to the
/// kernel (fresh pages cost a page fault each: see `simclr_kernels::BlockCache`).
#[cfg(feature = "flex")]
#[global_allocator]
static ALLOCATOR: simclr_kernels::BlockCache = simclr_kernels::BlockCache::new();

/// SimCLR self-supervised learning: pretrain a ResNet-18 without labels, export and
/// embed with it.
#[derive(Parser, Debug)]
#[command(name = "simclr", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Pretrain an encoder with SimCLR (writes a run folder).
    Pretrain(Box<commands::pretrain::PretrainArgs>),
    /// Write a run's encoder as safetensors with torchvision's names.
    Export(commands::export::ExportArgs),
    /// Write features h of a dataset split as .npy (and labels beside them).
    Embed(commands::embed::EmbedArgs),
    /// Write a PNG grid of images and two augmented views of each.
    AugmentPreview(commands::augment_preview::PreviewArgs),
    /// Time full training steps and print one JSON line.
    Bench(commands::bench::BenchArgs),
    /// Linear or MLP probes on frozen features at one or more label fractions.
    Probe(commands::probe::ProbeArgs),
    /// Train the supervised baseline (ResNet-18 + linear) on a fraction of the labels.
    Supervised(Box<commands::supervised::SupervisedArgs>),
    /// Fine-tune a pretrained encoder with a linear classifier on a fraction of the labels.
    Finetune(Box<commands::finetune::FinetuneArgs>),
    /// t-SNE scatter of features h (CSV, PNG and SVG).
    Tsne(commands::tsne::TsneArgs),
    /// The whole study: pretrain, probes, baselines, fine-tuning, t-SNE and UMAP maps, an HTML report.
    Experiment(commands::experiment::ExperimentArgs),
    /// Coordinate the machines of a `pretrain --nodes` run (runs until stopped).
    Coordinator(commands::coordinator::CoordinatorArgs),
}

/// `--version`: the version and the compute backends this binary was built with, so that
/// a script (scripts/gpu_check.py) can tell what a prebuilt binary runs on.
fn long_version() -> &'static str {
    let text = format!(
        "{} (backends: {})",
        env!("CARGO_PKG_VERSION"),
        simclr::backend::BackendKind::compiled_names()
    );
    // Built once per process; clap keeps a `&'static str`.
    Box::leak(text.into_boxed_str())
}

fn run() -> anyhow::Result<()> {
    let matches = Cli::command().long_version(long_version()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.command {
        Command::Pretrain(args) => commands::pretrain::run(*args),
        Command::Export(args) => commands::export::run(args),
        Command::Embed(args) => commands::embed::run(args),
        Command::AugmentPreview(args) => commands::augment_preview::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Probe(args) => commands::probe::run(args),
        Command::Supervised(args) => commands::supervised::run(*args),
        Command::Finetune(args) => commands::finetune::run(*args),
        Command::Tsne(args) => commands::tsne::run(args),
        Command::Experiment(args) => commands::experiment::run(args),
        Command::Coordinator(args) => commands::coordinator::run(args),
    }
}

fn main() {
    // burn-collective's servers log every connection at INFO on standard output, where
    // `bench` prints its JSON, unless a logger already exists: warnings and errors only,
    // on standard error.
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_writer(std::io::stderr)
        .try_init();
    if let Err(error) = run() {
        // One write: standard error is unbuffered, so a formatted line goes out piece by
        // piece, and a panic on another thread (burn-communication's, when a peer hangs
        // up) is printed without the lock, in between the pieces.
        let mut text = format!("error: {error}\n");
        for cause in error.chain().skip(1) {
            text.push_str(&format!("  caused by: {cause}\n"));
        }
        eprint!("{text}");
        std::process::exit(exit::code(&error));
    }
}
