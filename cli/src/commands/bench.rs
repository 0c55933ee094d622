//! `simclr bench`: full training steps timed, one JSON line.

use crate::args::{parse, NodeArgs};
use anyhow::Result;
use clap::Args;
use simclr::backend::{dispatch, BackendTask};
use simclr::train::collective::CollectiveBackend;
use simclr::train::config::{Preset, PretrainConfig};
use simclr::train::parallel::NodePlan;

/// Options of `bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Compute backend: cpu, wgpu or cuda
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Images per batch
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Encoder base width
    #[arg(long, default_value_t = 64)]
    pub width: usize,
    /// Timed steps
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Untimed warm-up steps
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Optimizer: lars, sgd, adam or adamw
    #[arg(long, default_value = "lars")]
    pub optimizer: String,
    /// Data-parallel peers, one per device, splitting the batch (CPU peers share the CPU)
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub devices: usize,
    /// BatchNorm with the whole batch's statistics over the devices (bare flag = true)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub sync_bn: Option<bool>,
    #[command(flatten)]
    pub node: NodeArgs,
    /// Only measure the CPU's f32 matrix-product throughput (GFLOP/s on all threads)
    #[arg(long)]
    pub gemm_only: bool,
}

struct BenchTask {
    config: PretrainConfig,
    steps: usize,
    warmup: usize,
    node: Option<NodePlan>,
}

impl BackendTask for BenchTask {
    type Output = simclr::train::bench::BenchReport;
    fn run<B: CollectiveBackend>(self, device: B::Device) -> simclr::Result<Self::Output> {
        let BenchTask {
            config,
            steps,
            warmup,
            node,
        } = self;
        simclr::train::bench::bench::<B>(&config, steps, warmup, node, &device)
    }
}

/// Runs `simclr bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    if args.gemm_only {
        let gflops = simclr::train::bench::gemm_gflops().ok_or_else(|| simclr::Error::Backend {
            backend: "cpu".into(),
            message: "this binary was built without it".into(),
        })?;
        println!("{}", serde_json::json!({ "gemm_gflops": gflops }));
        return Ok(());
    }
    let mut config = PretrainConfig::preset(Preset::Paper);
    config.backend = parse(&args.backend)?;
    config.batch_size = args.batch_size;
    config.width = args.width;
    config.optimizer.kind = parse(&args.optimizer)?;
    config.devices = args.devices;
    config.sync_batch_norm = args.sync_bn.unwrap_or(false);
    config.validate()?;
    let kind = config.backend;
    let report = dispatch(
        kind,
        BenchTask {
            config,
            steps: args.steps,
            warmup: args.warmup,
            node: args.node.plan()?,
        },
    )?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
