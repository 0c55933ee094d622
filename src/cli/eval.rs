//! Options of the evaluation subcommands: probe, supervised, tsne, experiment.

use super::DataArgs;
use clap::Args;
use std::path::PathBuf;

/// The encoder under evaluation: trained, from a file, or freshly initialised.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false, id = "encoder_source")]
pub struct EvalEncoderArgs {
    /// A run folder (its last checkpoint)
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// An encoder in safetensors (from `simclr export` or torchvision)
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// A randomly initialised encoder, as pretraining initialises it (see --width, --stem,
    /// --seed)
    #[arg(long)]
    pub random_init: bool,
}

/// The shape and seed of a `--random-init` encoder.
#[derive(Args, Debug, Clone, Default)]
pub struct RandomInitArgs {
    /// Encoder base width of --random-init [default: 64]
    #[arg(long)]
    pub width: Option<usize>,
    /// Encoder stem of --random-init: cifar or imagenet [default: from the image size]
    #[arg(long)]
    pub stem: Option<String>,
    /// Seed of --random-init [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Options of `probe`.
#[derive(Args, Debug, Clone)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub encoder: EvalEncoderArgs,
    #[command(flatten)]
    pub random: RandomInitArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Label fractions, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.1,1")]
    pub label_fraction: Vec<f64>,
    /// Probe heads, comma-separated: linear, mlp
    #[arg(long, value_delimiter = ',', default_value = "linear")]
    pub head: Vec<String>,
    /// Label subsets per fraction (mean ± std over them)
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// L2 weight decay of the probe
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f64,
    /// Results file (JSON) [default: RUN/probe.json with --run-dir, else probe.json]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Compute backend: cpu, wgpu or cuda
    #[arg(long, default_value = "cpu")]
    pub backend: String,
}

/// Options of `supervised`.
#[derive(Args, Debug, Clone)]
pub struct SupervisedArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Share of the labelled training images to train on
    #[arg(long, default_value_t = 1.0)]
    pub label_fraction: f64,
    /// Epochs over the labelled subset
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// At least this many steps (more epochs for small subsets)
    #[arg(long, default_value_t = 0)]
    pub min_steps: usize,
    /// Images per batch
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Base learning rate of SGD, scaled by batch/256
    #[arg(long, default_value_t = 0.2)]
    pub lr: f64,
    /// Weight decay
    #[arg(long, default_value_t = 5e-4)]
    pub weight_decay: f64,
    /// Encoder base width
    #[arg(long, default_value_t = 64)]
    pub width: usize,
    /// Encoder stem: cifar or imagenet [default: from the image size]
    #[arg(long)]
    pub stem: Option<String>,
    /// Random seed
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run folder for supervised.json, metrics.csv, checkpoints and result.json
    #[arg(long, value_name = "DIR", default_value = "runs/supervised")]
    pub run_dir: PathBuf,
    /// Continue the run in --run-dir from its last checkpoint
    #[arg(long)]
    pub resume: bool,
    /// End this invocation after epoch N (continue later with --resume)
    #[arg(long, value_name = "N")]
    pub stop_after_epoch: Option<usize>,
    /// Compute backend: cpu, wgpu or cuda
    #[arg(long, default_value = "cpu")]
    pub backend: String,
}

/// Options of `tsne`.
#[derive(Args, Debug, Clone)]
pub struct TsneArgs {
    #[command(flatten)]
    pub encoder: EvalEncoderArgs,
    #[command(flatten)]
    pub random: RandomInitArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Split to embed: train or test
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Points (a stratified subset of the split's labelled images)
    #[arg(long, default_value_t = 2000)]
    pub points: usize,
    /// Perplexity
    #[arg(long, default_value_t = 30.0)]
    pub perplexity: f64,
    /// Barnes-Hut θ
    #[arg(long, default_value_t = 0.5)]
    pub theta: f64,
    /// Iterations
    #[arg(long, default_value_t = 1000)]
    pub iterations: usize,
    /// Output folder for tsne.csv, tsne.png and tsne.svg
    #[arg(long, value_name = "DIR", default_value = "tsne")]
    pub out: PathBuf,
    /// Compute backend: cpu, wgpu or cuda
    #[arg(long, default_value = "cpu")]
    pub backend: String,
}

/// Options of `experiment`.
#[derive(Args, Debug, Clone)]
pub struct ExperimentArgs {
    /// Study preset: synthetic, cifar10-small, cifar10-paper or stl10
    #[arg(long, default_value = "synthetic")]
    pub preset: String,
    /// Configuration file (TOML or JSON, the keys of experiment.json); flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Dataset path (CIFAR-10 or STL-10 folder, ...)
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Study folder [default: runs/experiment-PRESET]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Pretraining epochs
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Label fractions, comma-separated
    #[arg(long, value_delimiter = ',')]
    pub label_fraction: Option<Vec<f64>>,
    /// Label subsets per fraction for the probes
    #[arg(long)]
    pub probe_seeds: Option<usize>,
    /// Compute backend: cpu, wgpu or cuda
    #[arg(long)]
    pub backend: Option<String>,
}
