//! Messages between the page and the training worker.

use serde::{Deserialize, Serialize};

/// What the page asks of the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Train with these settings (the worker picks the backend).
    Start(RunSettings),
    /// End training after the current step; the model is kept.
    Stop,
}

/// The settings of a browser run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// Encoder base width.
    pub width: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// Epochs over the synthetic training images.
    pub epochs: usize,
    /// Synthetic training images.
    pub train_images: usize,
    /// Seed.
    pub seed: u64,
    /// Use the CPU backend even where WebGPU exists.
    pub force_cpu: bool,
}

impl Default for RunSettings {
    /// The "tiny (works everywhere)" preset.
    fn default() -> Self {
        Self {
            width: 4,
            batch_size: 16,
            epochs: 2,
            train_images: 256,
            seed: 0,
            force_cpu: false,
        }
    }
}

/// What the worker reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The compute backend in use, in words (e.g. "WebGPU: SwiftShader").
    Backend(String),
    /// Mean loss of the steps since the last report.
    Progress {
        /// Steps done.
        step: usize,
        /// Steps in the run.
        total: usize,
        /// Mean loss.
        loss: f64,
        /// Augmented views per second.
        views_per_s: f64,
    },
    /// Training ended (finished or stopped).
    Done,
    /// Training failed.
    Error(String),
}
