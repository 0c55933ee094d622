//! `simclr pretrain`: SimCLR pretraining into a run folder.

use crate::args::{parse, DataArgs, NodeArgs};
use crate::layering::{by_preset, pretrain_config, DEFAULT_PRESET};
use crate::progress::{Bar, Watchdog};
use anyhow::Result;
use clap::Args;
use simclr::backend::{dispatch, BackendTask};
use simclr::train::collective::CollectiveBackend;
use simclr::train::config::{Preset, PretrainConfig};
use simclr::train::driver::{pretrain, pretrain_on_nodes, PretrainOptions};
use simclr::train::parallel::NodePlan;
use simclr::train::run_dir::RunDir;
use simclr::train::settings::{advisories, PretrainOverlay};
use std::path::PathBuf;
use std::time::Duration;

/// Options of `pretrain`.
#[derive(Args, Debug, Clone)]
pub struct PretrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Run folder for config.json, metrics.csv and checkpoints [default: runs/simclr]
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Continue the run in --run-dir from its last checkpoint
    #[arg(long)]
    pub resume: bool,
    /// Starting configuration (the preset table)
    #[arg(long, help = preset_help())]
    pub preset: Option<String>,
    /// Configuration file (TOML or JSON); flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Epochs
    #[arg(long, help = by_preset("Epochs", |c| c.epochs.to_string()))]
    pub epochs: Option<usize>,
    /// End this invocation after epoch N (continue later with --resume)
    #[arg(long, value_name = "N")]
    pub stop_after_epoch: Option<usize>,
    /// Stop after N steps; the learning-rate schedule ends there; 0 = every epoch's
    /// [default: every epoch's]
    #[arg(long, value_name = "N")]
    pub max_steps: Option<usize>,
    /// Images per batch
    #[arg(long, help = by_preset("Images per batch", |c| c.batch_size.to_string()))]
    pub batch_size: Option<usize>,
    /// Encoder base width
    #[arg(long, help = by_preset("Encoder base width", |c| c.width.to_string()))]
    pub width: Option<usize>,
    /// Encoder stem: cifar or imagenet [default: cifar up to 64 px, else imagenet]
    #[arg(long)]
    pub stem: Option<String>,
    /// Optimizer: lars, sgd, adam or adamw
    #[arg(long, help = by_preset("Optimizer: lars, sgd, adam or adamw; another family than the preset's starts from its usual rate, weight decay and warm-up", |c| c.optimizer.kind.to_string()))]
    pub optimizer: Option<String>,
    /// Base learning rate; LARS/SGD scale it by batch/256
    #[arg(long, help = by_preset("Base learning rate; LARS and SGD scale it by batch/256", |c| c.optimizer.lr.to_string()))]
    pub lr: Option<f64>,
    /// Weight decay
    #[arg(long, help = by_preset("Weight decay", |c| c.optimizer.weight_decay.to_string()))]
    pub weight_decay: Option<f64>,
    /// Linear warm-up epochs
    #[arg(long, help = by_preset("Linear warm-up epochs", |c| c.optimizer.warmup_epochs.to_string()))]
    pub warmup_epochs: Option<f64>,
    /// NT-Xent temperature
    #[arg(long, help = by_preset("NT-Xent temperature", |c| c.temperature.to_string()))]
    pub temperature: Option<f64>,
    /// Colour jitter strength s
    #[arg(long, help = by_preset("Colour jitter strength s", |c| c.color_jitter_strength.to_string()))]
    pub color_jitter: Option<f64>,
    /// Gaussian blur on or off [default: on for STL-10, off otherwise]
    #[arg(long)]
    pub blur: Option<bool>,
    /// Random seed
    #[arg(long, help = by_preset("Random seed", |c| c.seed.to_string()))]
    pub seed: Option<u64>,
    /// kNN monitor every N epochs, 0 = off
    #[arg(long, value_name = "N", help = by_preset("kNN monitor every N epochs, 0 = off", |c| c.knn_every.to_string()))]
    pub knn_every: Option<usize>,
    /// Keep a checkpoint copy every N epochs, 0 = only the latest
    #[arg(long, value_name = "N", help = by_preset("Keep a checkpoint copy every N epochs, 0 = only the latest", |c| c.checkpoint_every.to_string()))]
    pub checkpoint_every: Option<usize>,
    /// Compute backend: cpu, wgpu or cuda [default: cpu]
    #[arg(long)]
    pub backend: Option<String>,
    /// Data-parallel peers, one per device (cuda:0…N-1, wgpu adapters; CPU peers share the
    /// CPU), each taking batch/N images of every batch [default: 1]
    #[arg(long, value_name = "N")]
    pub devices: Option<usize>,
    /// BatchNorm with the statistics of the whole batch over every device (bare flag = true)
    /// [default: false: each device's own]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub sync_bn: Option<bool>,
    #[command(flatten)]
    pub node: NodeArgs,
}

impl PretrainArgs {
    /// The settings these flags change, in the library's one language for them.
    pub fn overlay(&self) -> Result<PretrainOverlay> {
        Ok(PretrainOverlay {
            optimizer: self.optimizer.as_deref().map(parse).transpose()?,
            lr: self.lr,
            weight_decay: self.weight_decay,
            warmup_epochs: self.warmup_epochs,
            epochs: self.epochs,
            max_steps: self.max_steps,
            batch_size: self.batch_size,
            width: self.width,
            stem: self.stem.as_deref().map(parse).transpose()?,
            image_size: None,
            temperature: self.temperature,
            color_jitter_strength: self.color_jitter,
            blur: self.blur,
            seed: self.seed,
            knn_every: self.knn_every,
            checkpoint_every: self.checkpoint_every,
            backend: self.backend.as_deref().map(parse).transpose()?,
            devices: self.devices,
            sync_batch_norm: self.sync_bn,
        })
    }
}

struct PretrainTask {
    config: PretrainConfig,
    run: RunDir,
    args: PretrainArgs,
    node: Option<NodePlan>,
}

impl BackendTask for PretrainTask {
    type Output = ();

    fn run<B: CollectiveBackend>(self, device: B::Device) -> simclr::Result<()> {
        let data = self.config.dataset.load()?;
        eprintln!(
            "{}: {} training / {} test images of {}x{}; backend {}{}; run folder {}",
            data.name,
            data.train.len(),
            data.test.len(),
            data.train.height(),
            data.train.width(),
            self.config.backend,
            peers_summary::<B>(&self.config, &device),
            self.run.root().display()
        );
        let options = PretrainOptions {
            run_dir: Some(&self.run),
            resume: self.args.resume,
            stop_after_epoch: self.args.stop_after_epoch,
        };
        let mut bar = Bar::new(self.config.epochs);
        match self.node {
            None => pretrain::<B>(&self.config, &data, &options, &mut bar, &device)?,
            Some(node) => {
                eprintln!(
                    "node {} of {}: coordinator {}, reached by the others at {}",
                    node.rank, node.nodes, node.coordinator, node.node_address
                );
                let timeout = Duration::from_secs(self.args.node.peer_timeout);
                let mut watched = Watchdog::new(&mut bar, timeout);
                let node = Some(node);
                pretrain_on_nodes::<B>(&self.config, &data, &options, node, &mut watched, &device)?
            }
        };
        bar.finish();
        Ok(())
    }
}

/// ", 2 peers × 16 images on 1 device, BatchNorm per peer" where peers train together.
pub fn peers_summary<B: CollectiveBackend>(config: &PretrainConfig, device: &B::Device) -> String {
    if config.devices <= 1 {
        return String::new();
    }
    let devices = simclr::train::parallel::peer_devices::<B>(device, config.devices);
    // Peers share devices in turn where there are fewer: count each device once.
    let distinct = (0..devices.len())
        .filter(|&i| !devices[..i].contains(&devices[i]))
        .count();
    let batch_norm = match config.sync_batch_norm {
        true => "synchronised",
        false => "per peer",
    };
    format!(
        ", {} peers × {} images on {} device{}, BatchNorm {batch_norm}",
        config.devices,
        config.batch_size / config.devices,
        distinct,
        if distinct == 1 { "" } else { "s" }
    )
}

/// `--preset`'s help: every preset of the table with what it is for.
fn preset_help() -> String {
    crate::layering::preset_list(
        &format!("Starting configuration [default: {DEFAULT_PRESET}]"),
        Preset::ALL.iter().map(|p| (p.name(), p.summary())),
    )
}

/// Runs `simclr pretrain`.
pub fn run(args: PretrainArgs) -> Result<()> {
    let run = RunDir::new(
        args.run_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs/simclr")),
    );
    let node = args.node.plan()?;
    let writes = node.as_ref().is_none_or(|n| n.rank == 0);
    let config = pretrain_config(&args, &run)?;
    if writes {
        for advice in advisories(&config) {
            eprintln!("warning: {advice}");
        }
    }
    let kind = config.backend;
    dispatch(
        kind,
        PretrainTask {
            config,
            run,
            args,
            node,
        },
    )?;
    Ok(())
}
