//! Loading a trained encoder from a run folder or a safetensors file.

use crate::checkpoint::record_from_bytes;
use crate::data::Normalization;
use crate::model::weights::encoder_from_bytes;
use crate::model::{ResNet, SimclrModel};
use crate::run_dir::RunDir;
use crate::{Error, Result};
use burn::module::Module;
use burn::prelude::*;
use std::path::Path;

/// An encoder and the normalisation it was trained with (when known).
pub struct TrainedEncoder<B: Backend> {
    /// The encoder `f`.
    pub encoder: ResNet<B>,
    /// Input normalisation from training, if recorded.
    pub normalization: Option<Normalization>,
}

/// The encoder of the last checkpoint in a run folder.
pub fn from_run_dir<B: Backend>(run: &RunDir, device: &B::Device) -> Result<TrainedEncoder<B>> {
    let config = run.load_config()?;
    let checkpoint = run.load_checkpoint()?;
    let side = config.image_size.ok_or_else(|| {
        Error::format(
            run.config_path(),
            "has no image_size; was the run started by this version?",
        )
    })?;
    let model: SimclrModel<B> = config.model(side).init(device);
    let record = record_from_bytes::<B, _>(checkpoint.model, device, &run.last_checkpoint())?;
    Ok(TrainedEncoder {
        encoder: model.load_record(record).encoder,
        normalization: config.normalization,
    })
}

/// An encoder from a safetensors file (as written by `simclr export` or converted from
/// torchvision).
pub fn from_safetensors<B: Backend>(path: &Path, device: &B::Device) -> Result<TrainedEncoder<B>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (encoder, normalization) = encoder_from_bytes(&bytes, path, device)?;
    Ok(TrainedEncoder {
        encoder,
        normalization,
    })
}
