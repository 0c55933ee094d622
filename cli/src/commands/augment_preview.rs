//! `simclr augment-preview`: originals beside two augmented views, as a PNG.

use crate::args::DataArgs;
use anyhow::Result;
use clap::Args;
use simclr::data::DatasetSpec;
use simclr::train::config::PretrainConfig;
use std::path::PathBuf;

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

/// Runs `simclr augment-preview`.
pub fn run(args: PreviewArgs) -> Result<()> {
    let mut spec = DatasetSpec::default();
    args.data.apply(&mut spec)?;
    let data = spec.load()?;
    let config = PretrainConfig {
        dataset: spec,
        color_jitter_strength: args.color_jitter,
        blur: args.blur,
        ..PretrainConfig::default()
    };
    let augment = config.augment()?;
    simclr::augment::preview::write_pairs_png::<simclr::backend::Cpu>(
        &args.out,
        &data.train,
        &augment,
        args.count,
        args.seed,
        &Default::default(),
    )?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
