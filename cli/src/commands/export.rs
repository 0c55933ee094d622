//! `simclr export`: a run's encoder as safetensors with torchvision's names.

use anyhow::Result;
use clap::Args;
use simclr::eval::encoder_source;
use simclr::train::run_dir::RunDir;
use std::path::PathBuf;

/// Options of `export`.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// The run folder
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
    /// Output file
    #[arg(long, value_name = "FILE", default_value = "encoder.safetensors")]
    pub out: PathBuf,
    /// Replace the output file if it exists
    #[arg(long)]
    pub force: bool,
}

/// Runs `simclr export`.
pub fn run(args: ExportArgs) -> Result<()> {
    crate::output::check_out(&args.out, args.force)?;
    let _owner = crate::output::claim(&args.out)?;
    let run = RunDir::new(&args.run_dir);
    let device = Default::default();
    let trained = encoder_source::from_run_dir::<simclr::backend::Cpu>(&run, &device)?;
    let normalization = trained
        .normalization
        .unwrap_or_else(simclr::data::Normalization::imagenet);
    let bytes =
        simclr::model::weights::encoder_to_bytes(&trained.encoder, &normalization, trained.steps)?;
    simclr::io::atomic::write_atomic(&args.out, &bytes)?;
    eprintln!("wrote {} ({} bytes)", args.out.display(), bytes.len());
    Ok(())
}
