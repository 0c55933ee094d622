//! Throughput of full training steps (augmentation, forward, loss, backward, optimiser).

use crate::data::synthetic::{self, SyntheticConfig};
use crate::data::Dataset;
use crate::model::resnet::Stem;
use crate::train::collective::{take_traffic, CollectiveBackend, Traffic};
use crate::train::config::PretrainConfig;
use crate::train::parallel::{peer_devices, run_peers, NodePlan, PeerPlan};
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
    /// Data-parallel peers the batch is split between.
    pub devices: usize,
    /// Bytes each peer puts into all-reduces per step (projections gathered and their
    /// gradients, the parameters' gradients, BatchNorm statistics when synchronised).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collective_bytes_per_step: Option<u64>,
    /// The share of peer 0's step time spent in collectives, waiting for the other peers
    /// included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collective_share: Option<f64>,
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
    /// Floating-point work of one step in GFLOP: convolutions and linear layers, forward
    /// and both gradients (BatchNorm, activations, augmentation and the optimiser are
    /// left out).
    pub step_gflop: f64,
    /// `step_gflop` over the median step time.
    pub step_gflops: f64,
    /// The machine's f32 matrix-product throughput on all threads (CPU backend only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gemm_gflops: Option<f64>,
    /// `step_gflops` as a fraction of `gemm_gflops`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_of_gemm: Option<f64>,
}

/// The CPU's f32 matrix-product throughput in GFLOP/s; `None` without the CPU backend.
pub fn gemm_gflops() -> Option<f64> {
    #[cfg(feature = "flex")]
    return Some(simclr_kernels::matmul::peak_gflops());
    #[cfg(not(feature = "flex"))]
    None
}

/// Multiply-adds × 2 of one training step: forward, input gradient and weight gradient
/// of every convolution and linear layer, for `views` images of `side` pixels.
pub fn step_gflop(config: &PretrainConfig, side: usize, views: usize) -> f64 {
    let width = config.width;
    let conv = |c_in: usize, c_out: usize, kernel: usize, out_side: usize| {
        2.0 * (c_in * c_out * kernel * kernel * out_side * out_side) as f64
    };
    let (mut flop, mut side) = match Stem::for_side(side) {
        Stem::Cifar => (conv(3, width, 3, side), side),
        Stem::Imagenet => {
            let out = side.div_ceil(2);
            (conv(3, width, 7, out), out.div_ceil(2))
        }
    };
    let mut c_in = width;
    for (scale, stride) in [(1, 1), (2, 2), (4, 2), (8, 2)] {
        let c_out = width * scale;
        side = side.div_ceil(stride);
        flop += conv(c_in, c_out, 3, side) + 3.0 * conv(c_out, c_out, 3, side);
        if stride != 1 || c_in != c_out {
            flop += conv(c_in, c_out, 1, side);
        }
        c_in = c_out;
    }
    let features = 8 * width;
    flop += 2.0 * (features * features + features * 128) as f64;
    // The backward pass costs two forward passes: input and weight gradients.
    3.0 * flop * views as f64 / 1e9
}

/// Each of `count` steps' seconds (synchronised by reading its loss back) and collective
/// traffic.
fn time_steps<B: AutodiffBackend>(
    trainer: &mut Trainer<B>,
    data: &Dataset,
    count: usize,
) -> Result<Vec<(f64, Traffic)>> {
    take_traffic();
    (0..count)
        .map(|_| {
            let start = Instant::now();
            let loss = trainer.step_on(&data.train)?.loss;
            crate::io::readback::floats(loss)?;
            Ok((start.elapsed().as_secs_f64(), take_traffic()))
        })
        .collect()
}

/// [`time_steps`] of this machine's first peer while the other peers (here and on the
/// other `node`s) take the same steps.
fn time_peers<B: CollectiveBackend>(
    trainer: &Trainer<B>,
    data: &Dataset,
    config: &PretrainConfig,
    count: usize,
    node: Option<NodePlan>,
    device: &B::Device,
) -> Result<Vec<(f64, Traffic)>> {
    let plan = PeerPlan {
        peers: config.devices,
        sync_batch_norm: config.sync_batch_norm,
        run_dir: None,
        settings: vec![
            ("width", config.width as u64),
            ("batch_size", config.batch_size as u64),
            ("devices", config.devices as u64),
        ],
        node,
    };
    let devices = peer_devices::<B>(device, config.devices);
    let replicas = plan.replicas(trainer, &devices)?;
    let mut timed = vec![];
    run_peers(
        &plan,
        replicas,
        &devices,
        |mut lead| {
            timed = time_steps(&mut lead, data, count)?;
            Ok(())
        },
        |mut peer| time_steps(&mut peer, data, count).map(|_| ()),
    )?;
    Ok(timed)
}

/// Times `steps` training steps after `warmup` untimed ones, on synthetic 32×32 images.
/// With `config.devices` peers, one per device (and on every `node`), each step's global
/// batch is split between them; this machine's first peer's steps are timed and its
/// collectives counted.
pub fn bench<B: CollectiveBackend>(
    config: &PretrainConfig,
    steps: usize,
    warmup: usize,
    node: Option<NodePlan>,
    device: &B::Device,
) -> Result<BenchReport> {
    let data = synthetic::load(SyntheticConfig {
        train_size: config.batch_size * 2,
        test_size: 0,
    });
    let mut trainer = Trainer::<B>::new(config, &data.train, data.normalization, device)?;
    let steps = steps.max(1);
    let peers = config.devices > 1 || node.is_some();
    let mut timed = if peers {
        time_peers(&trainer, &data, config, warmup + steps, node, device)?
    } else {
        time_steps(&mut trainer, &data, warmup + steps)?
    };
    let timed = timed.split_off(warmup.min(timed.len()));
    let bytes = timed.iter().map(|(_, t)| t.bytes).sum::<u64>() / timed.len() as u64;
    let collective_s = timed.iter().map(|(_, t)| t.seconds).sum::<f64>();
    let total_s = timed.iter().map(|(s, _)| s).sum::<f64>();
    let mut times: Vec<f64> = timed.iter().map(|(s, _)| *s).collect();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let side = data.train.height();
    let step_gflop = step_gflop(config, side, 2 * config.batch_size);
    let gemm = match config.backend {
        crate::backend::BackendKind::Cpu => gemm_gflops(),
        _ => None,
    };
    Ok(BenchReport {
        backend: config.backend.name().into(),
        devices: config.devices,
        collective_bytes_per_step: peers.then_some(bytes),
        collective_share: peers.then_some(collective_s / total_s),
        batch_size: config.batch_size,
        width: config.width,
        image_size: side,
        steps,
        warmup_steps: warmup,
        median_step_s: median,
        min_step_s: times[0],
        views_per_s: (2 * config.batch_size) as f64 / median,
        step_gflop,
        step_gflops: step_gflop / median,
        gemm_gflops: gemm,
        share_of_gemm: gemm.map(|peak| step_gflop / median / peak),
    })
}
