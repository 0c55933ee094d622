//! `simclr supervised`: the supervised baseline, end to end on a fraction of the labels.

use crate::args::DataArgs;
use crate::layering::supervised_config;
use crate::progress::Bar;
use anyhow::Result;
use clap::Args;
use simclr::backend::{dispatch, BackendTask};
use simclr::eval::supervised::{train_supervised, SupervisedConfig, SupervisedResult};
use simclr::train::collective::CollectiveBackend;
use simclr::train::driver::PretrainOptions;
use simclr::train::run_dir::RunDir;
use std::path::PathBuf;

/// The training flags of `supervised` and `finetune`: both train a classifier end to end
/// on a label subset, from a fresh encoder or a pretrained one.
#[derive(Args, Debug, Clone, Default)]
pub struct ClassifierArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Share of the labelled training images to train on
    #[arg(long, help = defaults("Share of the labelled training images to train on", |c| c.label_fraction))]
    pub label_fraction: Option<f64>,
    /// Epochs over the labelled subset
    #[arg(long, help = defaults("Epochs over the labelled subset", |c| c.epochs))]
    pub epochs: Option<usize>,
    /// At least this many steps (more epochs for small subsets)
    #[arg(long, help = defaults("At least this many steps (more epochs for small subsets)", |c| c.min_steps))]
    pub min_steps: Option<usize>,
    /// Images per batch
    #[arg(long, help = defaults("Images per batch", |c| c.batch_size))]
    pub batch_size: Option<usize>,
    /// Base learning rate of SGD, scaled by batch/256
    #[arg(long, help = defaults("Base learning rate of SGD, scaled by batch/256", |c| c.lr))]
    pub lr: Option<f64>,
    /// Weight decay
    #[arg(long, help = defaults("Weight decay", |c| c.weight_decay))]
    pub weight_decay: Option<f64>,
    /// Random seed
    #[arg(long, help = defaults("Random seed", |c| c.seed))]
    pub seed: Option<u64>,
    /// Run folder for supervised.json, metrics.csv, checkpoints and result.json
    /// [default: runs/supervised, runs/finetune]
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Continue the run in --run-dir from its last checkpoint
    #[arg(long)]
    pub resume: bool,
    /// End this invocation after epoch N (continue later with --resume)
    #[arg(long, value_name = "N")]
    pub stop_after_epoch: Option<usize>,
    /// Compute backend: cpu, wgpu or cuda [default: cpu]; the one setting that may change
    /// on resume
    #[arg(long)]
    pub backend: Option<String>,
}

/// Options of `supervised`.
#[derive(Args, Debug, Clone, Default)]
pub struct SupervisedArgs {
    #[command(flatten)]
    pub training: ClassifierArgs,
    /// Encoder base width
    #[arg(long, help = format!("Encoder base width [default: {}]", SupervisedConfig::default().width))]
    pub width: Option<usize>,
    /// Encoder stem: cifar or imagenet [default: from the image size]
    #[arg(long)]
    pub stem: Option<String>,
}

/// Flag help with the value used when the flag is not given, by the baseline and by
/// fine-tuning when they differ.
fn defaults<T: std::fmt::Display + PartialEq>(
    help: &str,
    value: fn(&SupervisedConfig) -> T,
) -> String {
    let (baseline, tuned) = (
        value(&SupervisedConfig::default()),
        value(&SupervisedConfig::finetune_recipe()),
    );
    if baseline == tuned {
        format!("{help} [default: {baseline}]")
    } else {
        format!("{help} [default: {baseline} (supervised), {tuned} (finetune)]")
    }
}

struct SupervisedTask {
    config: SupervisedConfig,
    run: RunDir,
    resume: bool,
    stop_after_epoch: Option<usize>,
}

impl BackendTask for SupervisedTask {
    type Output = Option<SupervisedResult>;

    fn run<B: CollectiveBackend>(self, device: B::Device) -> simclr::Result<Self::Output> {
        let data = self.config.dataset.load()?;
        let what = match &self.config.start_from {
            Some(encoder) => format!("fine-tuning {}", encoder.display()),
            None => "supervised baseline".into(),
        };
        eprintln!(
            "{what} on {}% of the labels of {} ({} training images); run folder {}",
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
    let run = RunDir::new(
        args.training
            .run_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs/supervised")),
    );
    let config = supervised_config(&args, &run)?;
    train(config, run, &args.training)
}

/// Trains the classifier `config` describes into `run` and prints its result line.
pub fn train(config: SupervisedConfig, run: RunDir, args: &ClassifierArgs) -> Result<()> {
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
