//! The supervised baseline's settings and their validation.

use crate::backend::BackendKind;
use crate::data::DatasetSpec;
use crate::error::{non_negative, positive};
use crate::model::Stem;
use crate::train::config::{MAX_BATCH, MAX_EPOCHS, MAX_WIDTH};
use crate::train::optim::{OptimizerConfig, OptimizerKind};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Everything that defines a supervised run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SupervisedConfig {
    /// The data.
    pub dataset: DatasetSpec,
    /// Encoder base width.
    pub width: usize,
    /// Encoder stem; from the image size when absent.
    pub stem: Option<Stem>,
    /// Share of the labelled training images to train on (stratified, seeded).
    pub label_fraction: f64,
    /// Seed of the label subset (the probes' subset seed 0 is the same subset).
    pub subset_seed: u64,
    /// Epochs over the labelled subset.
    pub epochs: usize,
    /// At least this many steps: small subsets get more epochs.
    pub min_steps: usize,
    /// Images per batch (fewer when the subset is smaller).
    pub batch_size: usize,
    /// Base learning rate, scaled by batch / 256.
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Seed of initialisation, batch order and augmentation.
    pub seed: u64,
    /// Compute backend.
    pub backend: BackendKind,
    /// The encoder to start from (fine-tuning, [`SupervisedConfig::finetune`]): a run
    /// folder (its last checkpoint) or a safetensors file; a fresh, seeded encoder when
    /// absent (the supervised baseline). `width` and `stem` must be the encoder's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_from: Option<std::path::PathBuf>,
}

impl Default for SupervisedConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetSpec::default(),
            width: 64,
            stem: None,
            label_fraction: 1.0,
            subset_seed: 0,
            epochs: 30,
            min_steps: 0,
            batch_size: 128,
            lr: 0.2,
            momentum: 0.9,
            weight_decay: 5e-4,
            seed: 0,
            backend: BackendKind::Cpu,
            start_from: None,
        }
    }
}

impl SupervisedConfig {
    /// SGD with the baseline's settings.
    pub(crate) fn optimizer(&self) -> OptimizerConfig {
        OptimizerConfig {
            kind: OptimizerKind::Sgd,
            lr: self.lr,
            weight_decay: self.weight_decay,
            momentum: self.momentum,
            warmup_epochs: 0.0,
            ..OptimizerConfig::paper()
        }
    }

    /// Rejects what cannot run, by setting name, before any work.
    pub fn validate(&self) -> Result<()> {
        Error::first_invalid([
            (
                (1..=MAX_WIDTH).contains(&self.width),
                "width",
                format!("must be between 1 and {MAX_WIDTH}"),
            ),
            (
                (1..=MAX_EPOCHS).contains(&self.epochs),
                "epochs",
                format!("must be between 1 and {MAX_EPOCHS}"),
            ),
            (
                self.min_steps <= MAX_EPOCHS,
                "min_steps",
                format!("must be at most {MAX_EPOCHS}"),
            ),
            (
                (2..=MAX_BATCH).contains(&self.batch_size),
                "batch_size",
                format!("must be between 2 and {MAX_BATCH}"),
            ),
            (
                self.label_fraction > 0.0 && self.label_fraction <= 1.0,
                "label_fraction",
                "must be in (0, 1]".into(),
            ),
            (positive(self.lr), "lr", "must be a positive number".into()),
            (
                (0.0..1.0).contains(&self.momentum),
                "momentum",
                "must be in [0, 1)".into(),
            ),
            (
                non_negative(self.weight_decay),
                "weight_decay",
                "must be a non-negative number".into(),
            ),
        ])?;
        self.dataset.validate()
    }
}
