//! Throughput of full training steps (augmentation, forward, loss, backward, optimiser).

use crate::data::synthetic::{self, SyntheticConfig};
use crate::train::config::PretrainConfig;
use crate::train::step::Trainer;
use crate::Result;
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
    let mut trainer = Trainer::<B>::new(config, &data.train, data.normalization, device)?;
    let steps = steps.max(1);
    let mut times = vec![];
    for i in 0..warmup + steps {
        let start = Instant::now();
        let loss = trainer.step_on(&data.train).loss;
        crate::io::readback::floats(loss)?;
        if i >= warmup {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    Ok(BenchReport {
        backend: config.backend.name().into(),
        batch_size: config.batch_size,
        width: config.width,
        image_size: data.train.height(),
        steps,
        warmup_steps: warmup,
        median_step_s: median,
        min_step_s: times[0],
        views_per_s: (2 * config.batch_size) as f64 / median,
    })
}
