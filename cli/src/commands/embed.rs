//! `simclr embed`: features h of a split as `.npy`, labels beside them.

use crate::args::{parse, pick_split, DataArgs, EvalEncoderArgs, RandomInitArgs};
use anyhow::Result;
use clap::Args;
use simclr::backend::{dispatch, BackendKind, BackendTask};
use simclr::data::DatasetSpec;
use simclr::eval::encoder_source::EncoderSource;
use simclr::train::collective::CollectiveBackend;
use std::path::{Path, PathBuf};

/// Options of `embed`.
#[derive(Args, Debug, Clone)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub encoder: EvalEncoderArgs,
    #[command(flatten)]
    pub random: RandomInitArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Split to encode: train or test
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Output .npy file (labels go to NAME.labels.npy)
    #[arg(long, value_name = "FILE", default_value = "h.npy")]
    pub out: PathBuf,
    /// Replace the output files if they exist
    #[arg(long)]
    pub force: bool,
    /// Images per forward pass
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Compute backend: cpu, wgpu or cuda
    #[arg(long, default_value = "cpu")]
    pub backend: String,
}

struct EmbedTask {
    args: EmbedArgs,
    source: EncoderSource,
    spec: DatasetSpec,
}

fn labels_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!("{stem}.labels.npy"))
}

impl BackendTask for EmbedTask {
    type Output = (usize, usize);

    fn run<B: CollectiveBackend>(self, device: B::Device) -> simclr::Result<(usize, usize)> {
        let a = &self.args;
        let data = self.spec.load()?;
        let split = pick_split(&data, &a.split)?;
        if split.is_empty() {
            return Err(simclr::Error::UnsuitableData(format!(
                "the {} split of {} is empty",
                a.split, data.name
            )));
        }
        let (encoder, normalization) =
            self.source
                .frozen::<B>(split.height(), data.normalization, &device)?;
        let indices: Vec<usize> = (0..split.len()).collect();
        let h = simclr::eval::features::encode(
            &encoder,
            split,
            &indices,
            &normalization,
            a.batch_size,
            &device,
        );
        let [rows, cols] = h.dims();
        let values = simclr::io::readback::floats(h)?;
        simclr::io::npy::write(&a.out, &simclr::io::npy::f32_matrix(&values, rows, cols)?)?;
        if let Some(labels) = split.labels() {
            let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
            simclr::io::npy::write(&labels_path(&a.out), &simclr::io::npy::i64_vector(&labels)?)?;
        }
        Ok((rows, cols))
    }
}

/// Runs `simclr embed`.
pub fn run(args: EmbedArgs) -> Result<()> {
    // Both files, before any work (the labels file is written only for labelled splits).
    for path in [args.out.clone(), labels_path(&args.out)] {
        crate::output::check_out(&path, args.force)?;
    }
    // Both files go to one folder.
    let _owner = crate::output::claim(&args.out)?;
    let kind: BackendKind = parse(&args.backend)?;
    let out = args.out.clone();
    let source = args.encoder.source(&args.random)?;
    let spec = args.encoder.dataset(&args.data)?;
    let (rows, cols) = dispatch(kind, EmbedTask { args, source, spec })?;
    eprintln!("wrote {} ({rows} x {cols})", out.display());
    Ok(())
}
