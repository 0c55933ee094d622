//! `simclr supervised`: the supervised baseline, end to end on a fraction of the labels.

use crate::args::DataArgs;
use crate::layering::supervised_config;
use crate::progress::Bar;
use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use simclr::backend::{dispatch, BackendTask};
use simclr::eval::supervised::{train_supervised, SupervisedConfig, SupervisedResult};
use simclr::train::driver::PretrainOptions;
use simclr::train::run_dir::RunDir;
use std::path::PathBuf;

/// Options of `supervised`.
#[derive(Args, Debug, Clone)]
pub struct SupervisedArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Share of the labelled training images to train on
    #[arg(long, default_value_t = SupervisedConfig::default().label_fraction)]
    pub label_fraction: f64,
    /// Epochs over the labelled subset
    #[arg(long, default_value_t = SupervisedConfig::default().epochs)]
    pub epochs: usize,
    /// At least this many steps (more epochs for small subsets)
    #[arg(long, default_value_t = SupervisedConfig::default().min_steps)]
    pub min_steps: usize,
    /// Images per batch
    #[arg(long, default_value_t = SupervisedConfig::default().batch_size)]
    pub batch_size: usize,
    /// Base learning rate of SGD, scaled by batch/256
    #[arg(long, default_value_t = SupervisedConfig::default().lr)]
    pub lr: f64,
    /// Weight decay
    #[arg(long, default_value_t = SupervisedConfig::default().weight_decay)]
    pub weight_decay: f64,
    /// Encoder base width
    #[arg(long, default_value_t = SupervisedConfig::default().width)]
    pub width: usize,
    /// Encoder stem: cifar or imagenet [default: from the image size]
    #[arg(long)]
    pub stem: Option<String>,
    /// Random seed
    #[arg(long, default_value_t = SupervisedConfig::default().seed)]
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

struct SupervisedTask {
    config: SupervisedConfig,
    run: RunDir,
    resume: bool,
    stop_after_epoch: Option<usize>,
}

impl BackendTask for SupervisedTask {
    type Output = Option<SupervisedResult>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> simclr::Result<Self::Output> {
        let data = self.config.dataset.load()?;
        eprintln!(
            "supervised baseline on {}% of the labels of {} ({} training images); run folder {}",
            100.0 * self.config.label_fraction,
            data.name,
            data.train.len(),
            self.run.root().display()
        );
        let options = PretrainOptions {
            run_dir: Some(&self.run),
            resume: self.resume,
            stop_after_epoch: self.stop_after_epoch,
        };
        let mut bar = Bar::new(self.config.planned_epochs(&data)?);
        train_supervised::<B>(&self.config, &data, &options, &mut bar, &device)
    }
}

/// Runs `simclr supervised`.
pub fn run(args: SupervisedArgs) -> Result<()> {
    let run = RunDir::new(&args.run_dir);
    let config = supervised_config(&args, &run)?;
    let kind = config.backend;
    let task = SupervisedTask {
        config,
        run,
        resume: args.resume,
        stop_after_epoch: args.stop_after_epoch,
    };
    match dispatch(kind, task)? {
        Some(result) => println!(
            "{}",
            serde_json::json!({
                "label_fraction": result.label_fraction,
                "train_examples": result.train_examples,
                "steps": result.steps,
                "top1": result.report.top1,
                "top5": result.report.top5,
            })
        ),
        None => eprintln!("stopped early; continue with --resume"),
    }
    Ok(())
}
