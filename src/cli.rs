//! Command-line interface definitions (clap derive).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

mod eval;
pub use eval::*;

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
    Pretrain(Box<PretrainArgs>),
    /// Write a run's encoder as safetensors with torchvision's names.
    Export(ExportArgs),
    /// Write features h of a dataset split as .npy (and labels beside them).
    Embed(EmbedArgs),
    /// Write a PNG grid of images and two augmented views of each.
    AugmentPreview(PreviewArgs),
    /// Time full training steps and print one JSON line.
    Bench(BenchArgs),
    /// Linear or MLP probes on frozen features at one or more label fractions.
    Probe(ProbeArgs),
    /// Train the supervised baseline (ResNet-18 + linear) on a fraction of the labels.
    Supervised(Box<SupervisedArgs>),
    /// t-SNE scatter of features h (CSV, PNG and SVG).
    Tsne(TsneArgs),
    /// The whole study: pretrain, probes, baselines, t-SNE and an HTML report.
    Experiment(ExperimentArgs),
}

/// Which data to read.
#[derive(Args, Debug, Clone, Default)]
pub struct DataArgs {
    /// Dataset format: cifar10, stl10, folder or synthetic [default: inferred from --data,
    /// synthetic without it]
    #[arg(long)]
    pub dataset: Option<String>,
    /// Dataset path: CIFAR-10 folder, .tar.gz or .bin; STL-10 folder; image folder
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use only the first N training images [default: all]
    #[arg(long, value_name = "N")]
    pub train_images: Option<usize>,
    /// Side length that folder images are resized to [default: 32]
    #[arg(long, value_name = "PX")]
    pub image_size: Option<usize>,
    /// Training images of the synthetic dataset [default: 5000; 1000 with --preset tiny]
    #[arg(long, value_name = "N")]
    pub synthetic_train: Option<usize>,
    /// Test images of the synthetic dataset [default: 1000; 500 with --preset tiny]
    #[arg(long, value_name = "N")]
    pub synthetic_test: Option<usize>,
}

/// Options of `pretrain`.
#[derive(Args, Debug, Clone, Default)]
pub struct PretrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Run folder for config.json, metrics.csv and checkpoints [default: runs/simclr]
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Continue the run in --run-dir from its last checkpoint
    #[arg(long)]
    pub resume: bool,
    /// Starting configuration: paper, small or tiny [default: paper]
    #[arg(long)]
    pub preset: Option<String>,
    /// Configuration file (TOML or JSON); flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Epochs [default: 100 (paper), 5 (small, tiny)]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// End this invocation after epoch N (continue later with --resume)
    #[arg(long, value_name = "N")]
    pub stop_after_epoch: Option<usize>,
    /// Images per batch [default: 512 (paper), 128 (small), 32 (tiny)]
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Encoder base width [default: 64 (paper), 16 (small), 8 (tiny)]
    #[arg(long)]
    pub width: Option<usize>,
    /// Encoder stem: cifar or imagenet [default: cifar up to 64 px, else imagenet]
    #[arg(long)]
    pub stem: Option<String>,
    /// Optimizer: lars, sgd, adam or adamw [default: lars (paper), adam (small, tiny)]
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Base learning rate; LARS/SGD scale it by batch/256 [default: 1.0 (lars), 1e-3 (adam)]
    #[arg(long)]
    pub lr: Option<f64>,
    /// Weight decay [default: 1e-6]
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Linear warm-up epochs [default: 10 (paper), 1 (small, tiny)]
    #[arg(long)]
    pub warmup_epochs: Option<f64>,
    /// NT-Xent temperature [default: 0.5]
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Colour jitter strength s [default: 0.5]
    #[arg(long)]
    pub color_jitter: Option<f64>,
    /// Gaussian blur on or off [default: on for STL-10, off otherwise]
    #[arg(long)]
    pub blur: Option<bool>,
    /// Random seed [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
    /// kNN monitor every N epochs, 0 = off [default: 1]
    #[arg(long, value_name = "N")]
    pub knn_every: Option<usize>,
    /// Keep a checkpoint copy every N epochs, 0 = only last [default: 10 (paper), 0 (small)]
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
    /// Compute backend: cpu, wgpu or cuda [default: cpu]
    #[arg(long)]
    pub backend: Option<String>,
}

/// Options of `export`.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// The run folder
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
    /// Output file
    #[arg(long, value_name = "FILE", default_value = "encoder.safetensors")]
    pub out: PathBuf,
}

/// Options of `embed`.
#[derive(Args, Debug, Clone)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub encoder: EvalEncoderArgs,
    #[command(flatten)]
    pub random: RandomInitArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Split to encode: train or test
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Output .npy file (labels go to NAME.labels.npy)
    #[arg(long, value_name = "FILE", default_value = "h.npy")]
    pub out: PathBuf,
    /// Images per forward pass
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Compute backend: cpu, wgpu or cuda
    #[arg(long, default_value = "cpu")]
    pub backend: String,
}

/// Options of `augment-preview`.
#[derive(Args, Debug, Clone)]
pub struct PreviewArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Output PNG
    #[arg(long, value_name = "FILE", default_value = "pairs.png")]
    pub out: PathBuf,
    /// Images (rows) to show
    #[arg(long, default_value_t = 8)]
    pub count: usize,
    /// Colour jitter strength s
    #[arg(long, default_value_t = 0.5)]
    pub color_jitter: f64,
    /// Gaussian blur on or off [default: on for STL-10, off otherwise]
    #[arg(long)]
    pub blur: Option<bool>,
    /// Random seed
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Options of `bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Compute backend: cpu, wgpu or cuda
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Images per batch
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Encoder base width
    #[arg(long, default_value_t = 64)]
    pub width: usize,
    /// Timed steps
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Untimed warm-up steps
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Optimizer: lars, sgd, adam or adamw
    #[arg(long, default_value = "lars")]
    pub optimizer: String,
}
