//! `simclr tsne`: a t-SNE scatter of features h (CSV, PNG, SVG).

use crate::args::{parse, pick_split, DataArgs, EvalEncoderArgs, RandomInitArgs};
use anyhow::Result;
use clap::Args;
use simclr::backend::{dispatch, BackendKind, BackendTask};
use simclr::data::DatasetSpec;
use simclr::eval::encoder_source::EncoderSource;
use simclr::eval::tsne::{check_points, TsneConfig};
use simclr::experiment::phases::{tsne_of, write_tsne_files};
use simclr::train::collective::CollectiveBackend;
use std::path::PathBuf;
use std::time::Instant;

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
    #[arg(long, default_value_t = TsneConfig::default().perplexity)]
    pub perplexity: f64,
    /// Barnes-Hut θ
    #[arg(long, default_value_t = TsneConfig::default().theta)]
    pub theta: f64,
    /// Iterations
    #[arg(long, default_value_t = TsneConfig::default().iterations)]
    pub iterations: usize,
    /// Output folder for tsne.csv, tsne.png and tsne.svg
    #[arg(long, value_name = "DIR", default_value = "tsne")]
    pub out: PathBuf,
    /// Compute backend: cpu, wgpu or cuda
    #[arg(long, default_value = "cpu")]
    pub backend: String,
}

impl TsneArgs {
    fn config(&self) -> TsneConfig {
        TsneConfig {
            perplexity: self.perplexity,
            theta: self.theta,
            iterations: self.iterations,
            ..TsneConfig::default()
        }
    }
}

struct TsneTask {
    source: EncoderSource,
    spec: DatasetSpec,
    args: TsneArgs,
}

impl BackendTask for TsneTask {
    type Output = (usize, f64);

    fn run<B: CollectiveBackend>(self, device: B::Device) -> simclr::Result<Self::Output> {
        let a = &self.args;
        let data = self.spec.load()?;
        let split = pick_split(&data, &a.split)?;
        let config = a.config();
        let norm = data.normalization;
        let result = tsne_of::<B>(split, norm, a.points, &config, &self.source, &device)?;
        write_tsne_files(&a.out, "tsne", &result, &data.classes)?;
        Ok((result.points.len(), result.nn_accuracy))
    }
}

/// Runs `simclr tsne`.
pub fn run(args: TsneArgs) -> Result<()> {
    // Before the encoder and the data are loaded.
    args.config().validate()?;
    check_points(args.points)?;
    let source = args.encoder.source(&args.random)?;
    let spec = args.encoder.dataset(&args.data)?;
    let kind: BackendKind = parse(&args.backend)?;
    let out = args.out.clone();
    let start = Instant::now();
    let (points, nn) = dispatch(kind, TsneTask { source, spec, args })?;
    eprintln!(
        "wrote tsne.csv, tsne.png and tsne.svg to {} ({points} points, 2-D 1-NN accuracy {:.1}%, {:.0} s)",
        out.display(),
        100.0 * nn,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
