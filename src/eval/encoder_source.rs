//! Loading a trained encoder from a run folder or a safetensors file.

use crate::data::Normalization;
use crate::model::weights::{batches_tracked, encoder_from_bytes};
use crate::model::{ResNet, SimclrModel};
use crate::train::checkpoint::load_model;
use crate::train::run_dir::RunDir;
use crate::{Error, Result};
use burn::prelude::*;
use std::path::Path;

/// An encoder and the normalisation it was trained with (when known).
pub struct TrainedEncoder<B: Backend> {
    /// The encoder `f`.
    pub encoder: ResNet<B>,
    /// Input normalisation from training, if recorded.
    pub normalization: Option<Normalization>,
    /// Training steps behind the weights (0 for a random or unrecorded encoder).
    pub steps: u64,
}

/// Only the step count of a checkpoint's training state: reading it does not depend on the
/// training task that wrote the state.
#[derive(serde::Deserialize)]
struct StepsDone {
    step: u64,
}

/// The encoder of the last checkpoint in a run folder.
pub fn from_run_dir<B: Backend>(run: &RunDir, device: &B::Device) -> Result<TrainedEncoder<B>> {
    let config = run.load_config()?;
    let checkpoint = run.load_checkpoint()?;
    let side = trained_side(run, &config)?;
    let model: SimclrModel<B> = config.model(side).init(device);
    let path = run.last_checkpoint();
    let steps = serde_json::from_slice::<StepsDone>(&checkpoint.state)
        .map_err(|e| crate::train::checkpoint::unreadable(&path, "training state", e))?
        .step;
    let model = load_model(
        model,
        checkpoint.model,
        &checkpoint.signature,
        device,
        &path,
    )?;
    Ok(TrainedEncoder {
        encoder: model.encoder,
        normalization: config.normalization,
        steps,
    })
}

/// The view side a run trained on (its saved configuration records it when it starts).
pub fn trained_side(run: &RunDir, config: &crate::train::config::PretrainConfig) -> Result<usize> {
    config.image_size.ok_or_else(|| {
        Error::format(
            run.config_path(),
            "has no image_size; was the run started by this version?",
        )
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
        steps: batches_tracked(&bytes),
    })
}

/// Where the encoder under evaluation comes from.
#[derive(Debug, Clone)]
pub enum EncoderSource {
    /// The last checkpoint of a run folder.
    RunDir(std::path::PathBuf),
    /// A safetensors file.
    Weights(std::path::PathBuf),
    /// A fresh encoder, initialised exactly as pretraining with this configuration
    /// initialises it: the random-embedding baseline.
    RandomInit(Box<crate::train::config::PretrainConfig>),
}

impl EncoderSource {
    /// A short name for reports: `simclr`, `random` or the weights file's stem.
    pub fn name(&self) -> String {
        match self {
            EncoderSource::RunDir(_) => "simclr".into(),
            EncoderSource::RandomInit(_) => "random".into(),
            EncoderSource::Weights(path) => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "weights".into()),
        }
    }

    /// The encoder in inference mode (running BatchNorm statistics, no autodiff) for images
    /// of `side` pixels, and the normalisation to feed it: its own, else `fallback`.
    pub fn frozen<B: burn::tensor::backend::AutodiffBackend>(
        &self,
        side: usize,
        fallback: Normalization,
        device: &B::Device,
    ) -> Result<(ResNet<B::InnerBackend>, Normalization)> {
        use burn::module::AutodiffModule;
        let trained = self.load::<B>(side, device)?;
        Ok((
            trained.encoder.valid(),
            trained.normalization.unwrap_or(fallback),
        ))
    }

    /// Loads (or initialises) the encoder for images of `side` pixels.
    pub fn load<B: Backend>(&self, side: usize, device: &B::Device) -> Result<TrainedEncoder<B>> {
        match self {
            EncoderSource::RunDir(dir) => from_run_dir(&RunDir::new(dir), device),
            EncoderSource::Weights(path) => from_safetensors(path, device),
            EncoderSource::RandomInit(config) => {
                // The same seed and init order as `Trainer::new`.
                B::seed(device, config.seed);
                let model: SimclrModel<B> = config.model(side).init(device);
                Ok(TrainedEncoder {
                    encoder: model.encoder,
                    normalization: config.normalization,
                    steps: 0,
                })
            }
        }
    }
}
