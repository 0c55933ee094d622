//! `simclr probe`: linear or MLP probes on frozen features at several label fractions.

use crate::args::{parse, DataArgs, EvalEncoderArgs, RandomInitArgs};
use anyhow::Result;
use clap::Args;
use simclr::backend::{dispatch, BackendKind, BackendTask};
use simclr::data::DatasetSpec;
use simclr::eval::encoder_source::EncoderSource;
use simclr::eval::head::{HeadKind, ProbeConfig};
use simclr::eval::probing::{check_fraction, extract, probe, ProbeResult};
use simclr::train::collective::CollectiveBackend;
use std::path::PathBuf;

/// Options of `probe`.
#[derive(Args, Debug, Clone)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub encoder: EvalEncoderArgs,
    #[command(flatten)]
    pub random: RandomInitArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Label fractions, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.1,1")]
    pub label_fraction: Vec<f64>,
    /// Probe heads, comma-separated: linear, mlp
    #[arg(long, value_delimiter = ',', default_value = "linear")]
    pub head: Vec<String>,
    /// Label subsets per fraction (mean ± std over them)
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// L2 weight decay of the probe
    #[arg(long, default_value_t = ProbeConfig::default().weight_decay)]
    pub weight_decay: f64,
    /// Results file (JSON) [default: RUN/probe.json with --run-dir, else probe.json]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Compute backend: cpu, wgpu or cuda
    #[arg(long, default_value = "cpu")]
    pub backend: String,
}

struct ProbeTask {
    source: EncoderSource,
    spec: DatasetSpec,
    heads: Vec<HeadKind>,
    args: ProbeArgs,
}

impl BackendTask for ProbeTask {
    type Output = Vec<ProbeResult>;

    fn run<B: CollectiveBackend>(self, device: B::Device) -> simclr::Result<Self::Output> {
        let data = self.spec.load()?;
        let side = data.train.height();
        let (encoder, norm) = self.source.frozen::<B>(side, data.normalization, &device)?;
        eprintln!(
            "encoding {} training and {} test images of {} with the {} encoder",
            data.train.len(),
            data.test.len(),
            data.name,
            self.source.name()
        );
        let features = extract(&encoder, &data, &norm, &device)?;
        let base = ProbeConfig {
            weight_decay: self.args.weight_decay,
            ..ProbeConfig::default()
        };
        let mut results = vec![];
        for &fraction in &self.args.label_fraction {
            for &head in &self.heads {
                let name = self.source.name();
                let seeds = self.args.seeds;
                let result = probe::<B>(&features, &name, head, fraction, seeds, &base, &device)?;
                println!(
                    "{}",
                    serde_json::to_string(&result)
                        .map_err(|e| simclr::Error::encode("probe result", e))?
                );
                results.push(result);
            }
        }
        Ok(results)
    }
}

/// Runs `simclr probe`.
pub fn run(args: ProbeArgs) -> Result<()> {
    for &fraction in &args.label_fraction {
        check_fraction(fraction)?;
    }
    let heads = args
        .head
        .iter()
        .map(|h| match h.as_str() {
            "linear" => Ok(HeadKind::Linear),
            "mlp" => Ok(HeadKind::Mlp),
            other => Err(simclr::Error::UnknownName {
                what: "probe head",
                given: other.into(),
                expected: "linear or mlp".into(),
            }
            .into()),
        })
        .collect::<Result<Vec<_>>>()?;
    let source = args.encoder.source(&args.random)?;
    let spec = args.encoder.dataset(&args.data)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| match &args.encoder.run_dir {
            Some(run) => run.join("probe.json"),
            None => PathBuf::from("probe.json"),
        });
    let kind: BackendKind = parse(&args.backend)?;
    let results = dispatch(
        kind,
        ProbeTask {
            source,
            spec,
            heads,
            args,
        },
    )?;
    let json = serde_json::to_vec_pretty(&results)?;
    simclr::io::atomic::write_atomic(&out, &json)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
