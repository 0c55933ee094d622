//! `simclr finetune`: a pretrained encoder and a linear classifier trained end to end on a
//! fraction of the labels (SimCLR's semi-supervised protocol, `simclr::eval::finetune`).

use super::supervised::{train, ClassifierArgs};
use crate::exit::usage;
use crate::layering::finetune_config;
use anyhow::Result;
use clap::Args;
use simclr::train::run_dir::RunDir;
use std::path::PathBuf;

/// Options of `finetune`.
#[derive(Args, Debug, Clone)]
pub struct FinetuneArgs {
    /// The encoder to start from: a pretraining run folder (its last checkpoint)
    #[arg(long, value_name = "RUN", group = "start", required = true)]
    pub from_run: Option<PathBuf>,
    /// The encoder to start from: a safetensors file (`simclr export`, torchvision)
    #[arg(long, value_name = "FILE", group = "start")]
    pub weights: Option<PathBuf>,
    #[command(flatten)]
    pub training: ClassifierArgs,
}

/// Runs `simclr finetune`.
pub fn run(args: FinetuneArgs) -> Result<()> {
    let Some(start_from) = args.from_run.as_ref().or(args.weights.as_ref()) else {
        usage!("--from-run or --weights is required");
    };
    let run = RunDir::new(
        args.training
            .run_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs/finetune")),
    );
    let config = finetune_config(&args.training, start_from, &run)?;
    train(config, run, &args.training)
}
