//! `simclr tsne`: a t-SNE (or, with `--method umap`, UMAP) scatter of features h (CSV,
//! PNG, SVG).

use crate::args::{parse, pick_split, DataArgs, EvalEncoderArgs, RandomInitArgs};
use anyhow::Result;
use clap::Args;
use simclr::backend::{dispatch, BackendKind, BackendTask};
use simclr::data::DatasetSpec;
use simclr::eval::encoder_source::EncoderSource;
use simclr::eval::tsne::{check_points, TsneConfig};
use simclr::eval::umap::UmapConfig;
use simclr::experiment::maps::{map_of, write_map_files, MapMethod};
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
    /// Map method: tsne or umap
    #[arg(long, default_value = "tsne")]
    pub method: String,
    /// t-SNE perplexity
    #[arg(long, default_value_t = TsneConfig::default().perplexity)]
    pub perplexity: f64,
    /// t-SNE's Barnes-Hut θ
    #[arg(long, default_value_t = TsneConfig::default().theta)]
    pub theta: f64,
    /// t-SNE iterations
    #[arg(long, default_value_t = TsneConfig::default().iterations)]
    pub iterations: usize,
    /// UMAP neighbours
    #[arg(long, default_value_t = UmapConfig::default().n_neighbors)]
    pub neighbors: usize,
    /// UMAP minimum distance between points in the map
    #[arg(long, default_value_t = UmapConfig::default().min_dist)]
    pub min_dist: f64,
    /// UMAP optimisation epochs
    #[arg(long, default_value_t = UmapConfig::default().epochs)]
    pub umap_epochs: usize,
    /// Output folder for METHOD.csv, METHOD.png and METHOD.svg [default: tsne or umap]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Compute backend: cpu, wgpu or cuda
    #[arg(long, default_value = "cpu")]
    pub backend: String,
}

impl TsneArgs {
    fn method(&self) -> simclr::Result<MapMethod> {
        Ok(match MapMethod::named(&self.method)? {
            MapMethod::Tsne(defaults) => MapMethod::Tsne(TsneConfig {
                perplexity: self.perplexity,
                theta: self.theta,
                iterations: self.iterations,
                ..defaults
            }),
            MapMethod::Umap(defaults) => MapMethod::Umap(UmapConfig {
                n_neighbors: self.neighbors,
                min_dist: self.min_dist,
                epochs: self.umap_epochs,
                ..defaults
            }),
        })
    }

    fn out(&self, method: &MapMethod) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| PathBuf::from(method.stem()))
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
        let method = a.method()?;
        let norm = data.normalization;
        let result = map_of::<B>(split, norm, a.points, &method, &self.source, &device)?;
        write_map_files(&a.out(&method), method.stem(), &result, &data.classes)?;
        Ok((result.points.len(), result.nn_accuracy))
    }
}

/// Runs `simclr tsne`.
pub fn run(args: TsneArgs) -> Result<()> {
    // Before the encoder and the data are loaded.
    let method = args.method()?;
    method.validate()?;
    check_points(args.points)?;
    let source = args.encoder.source(&args.random)?;
    let spec = args.encoder.dataset(&args.data)?;
    let kind: BackendKind = parse(&args.backend)?;
    let out = args.out(&method);
    let start = Instant::now();
    let (points, nn) = dispatch(kind, TsneTask { source, spec, args })?;
    let stem = method.stem();
    eprintln!(
        "wrote {stem}.csv, {stem}.png and {stem}.svg to {} ({points} points, 2-D 1-NN accuracy {:.1}%, {:.0} s)",
        out.display(),
        100.0 * nn,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
