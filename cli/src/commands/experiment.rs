//! `simclr experiment`: the whole study (pretraining, probes, baselines, t-SNE, report).

use crate::layering::experiment_config;
use crate::progress::Bar;
use anyhow::{Context, Result};
use clap::Args;
use simclr::backend::{dispatch, BackendTask};
use simclr::experiment::{run_experiment, ExperimentConfig, ExperimentPreset, ExperimentProgress};
use simclr::train::collective::CollectiveBackend;
use simclr::train::driver::Progress;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `experiment`.
#[derive(Args, Debug, Clone)]
pub struct ExperimentArgs {
    #[arg(long, default_value = "synthetic", help = preset_help())]
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

/// `--preset`'s help: every study with what it costs.
fn preset_help() -> String {
    crate::layering::preset_list(
        "Study preset",
        ExperimentPreset::ALL
            .iter()
            .map(|p| (p.name(), p.summary())),
    )
}

/// Phase lines on stderr, a progress bar per training run.
struct ExperimentBar {
    start: Instant,
}

impl ExperimentProgress for ExperimentBar {
    fn phase(&mut self, message: &str) {
        let s = self.start.elapsed().as_secs();
        eprintln!(
            "[{:02}:{:02}:{:02}] {message}",
            s / 3600,
            s / 60 % 60,
            s % 60
        );
    }

    fn training(&mut self, epochs: usize) -> Box<dyn Progress> {
        Box::new(Bar::new(epochs))
    }
}

struct ExperimentTask {
    config: ExperimentConfig,
    out: PathBuf,
}

impl BackendTask for ExperimentTask {
    type Output = simclr::experiment::ExperimentResults;

    fn run<B: CollectiveBackend>(self, device: B::Device) -> simclr::Result<Self::Output> {
        let mut progress = ExperimentBar {
            start: Instant::now(),
        };
        run_experiment::<B>(&self.config, &self.out, &mut progress, &device)
    }
}

/// Runs `simclr experiment`.
pub fn run(args: ExperimentArgs) -> Result<()> {
    let config = experiment_config(&args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/experiment-{}", config.preset)));
    let kind = config.pretrain.backend;
    let results = dispatch(
        kind,
        ExperimentTask {
            config,
            out: out.clone(),
        },
    )
    .map_err(anyhow::Error::from)
    .with_context(|| format!("the study in {} stopped", out.display()))?;
    println!(
        "{}",
        simclr::experiment::report::accuracy_table_md(&results)
    );
    eprintln!("report: {}", out.join("report.html").display());
    Ok(())
}
