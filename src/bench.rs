//! Throughput of full training steps (augmentation, forward, loss, backward, optimiser).

use crate::config::PretrainConfig;
use crate::data::synthetic::{self, SyntheticConfig};
use crate::model::SimclrModel;
use crate::optim::OptimizerTask;
use crate::train::Trainer;
use crate::Result;
use burn::optim::Optimizer;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;
use std::time::Instant;

/// Timings of a benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Backend name.
    pub backend: String,
    /// Images per batch.
    pub batch_size: usize,
    /// Encoder width.
    pub width: usize,
    /// Image side.
    pub image_size: usize,
    /// Timed steps.
    pub steps: usize,
    /// Untimed warm-up steps.
    pub warmup_steps: usize,
    /// Median wall time of a step, synchronised by reading its loss back.
    pub median_step_s: f64,
    /// Fastest step.
    pub min_step_s: f64,
    /// Augmented views per second at the median.
    pub views_per_s: f64,
}

/// Times `steps` training steps after `warmup` untimed ones, on synthetic 32×32 images.
pub fn bench<B: AutodiffBackend>(
    config: &PretrainConfig,
    steps: usize,
    warmup: usize,
    device: &B::Device,
) -> Result<BenchReport> {
    let data = synthetic::load(SyntheticConfig {
        train_size: config.batch_size * 2,
        test_size: 0,
    });
    config
        .optimizer
        .with_optimizer::<B, SimclrModel<B>, _>(Timed {
            config,
            data: &data,
            steps: steps.max(1),
            warmup,
            device,
        })
}

struct Timed<'a, B: AutodiffBackend> {
    config: &'a PretrainConfig,
    data: &'a crate::data::Dataset,
    steps: usize,
    warmup: usize,
    device: &'a B::Device,
}

impl<B: AutodiffBackend> OptimizerTask<B, SimclrModel<B>> for Timed<'_, B> {
    type Output = Result<BenchReport>;

    fn run<O: Optimizer<SimclrModel<B>, B> + 'static>(self, optim: O) -> Self::Output {
        let mut trainer = Trainer::<B, O>::new(
            self.config,
            &self.data.train,
            self.data.normalization,
            optim,
            self.device,
        )?;
        let mut times = vec![];
        for i in 0..self.warmup + self.steps {
            let start = Instant::now();
            let loss = trainer.step(&self.data.train).loss;
            crate::readback::floats(loss)?;
            if i >= self.warmup {
                times.push(start.elapsed().as_secs_f64());
            }
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        Ok(BenchReport {
            backend: self.config.backend.name().into(),
            batch_size: self.config.batch_size,
            width: self.config.width,
            image_size: self.data.train.height(),
            steps: self.steps,
            warmup_steps: self.warmup,
            median_step_s: median,
            min_step_s: times[0],
            views_per_s: (2 * self.config.batch_size) as f64 / median,
        })
    }
}
