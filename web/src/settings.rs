//! The settings of a browser run and the core configuration they stand for. Presets are
//! the core's table ([`Preset`]): a name means the same run on the page and on the command
//! line.

use serde::{Deserialize, Serialize};
use simclr::model::Stem;
pub use simclr::train::config::Preset;
use simclr::train::config::PretrainConfig;
use simclr::train::optim::{OptimizerConfig, OptimizerKind};

/// Where the worker computes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComputeChoice {
    /// WebGPU on a hardware adapter; the CPU where there is no adapter or only a software
    /// one (SwiftShader, llvmpipe), which is many times slower than the CPU path.
    #[default]
    Auto,
    /// The CPU path even where WebGPU exists.
    Cpu,
    /// WebGPU on whatever adapter the browser gives, software ones included.
    WebGpu,
}

impl ComputeChoice {
    /// Every choice, in the order the page lists them.
    pub const ALL: [ComputeChoice; 3] = [Self::Auto, Self::Cpu, Self::WebGpu];

    /// The value in the page's menu.
    pub fn key(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::WebGpu => "webgpu",
        }
    }

    /// The choice in words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Auto => "automatic (WebGPU on a real GPU, else the CPU)",
            Self::Cpu => "the CPU",
            Self::WebGpu => "WebGPU, even on a software adapter",
        }
    }

    /// The choice of a menu value.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// Everything the page lets the user set for a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// Encoder base width (64 is ResNet-18 proper).
    pub width: usize,
    /// Encoder stem; from the view size when absent.
    pub stem: Option<Stem>,
    /// Side of the augmented views; the images' own when absent.
    pub image_size: Option<usize>,
    /// Images per batch.
    pub batch_size: usize,
    /// Epochs over the training images.
    pub epochs: usize,
    /// Stop after this many steps (0 = run every epoch).
    pub max_steps: usize,
    /// Optimiser.
    pub optimizer: OptimizerKind,
    /// Base learning rate (scaled by batch / 256 for LARS and SGD).
    pub lr: f64,
    /// NT-Xent temperature τ.
    pub temperature: f64,
    /// Colour jitter strength `s`.
    pub color_jitter_strength: f64,
    /// Seed of every random stream.
    pub seed: u64,
    /// Training images used (0 = all; the synthetic set's size).
    pub train_images: usize,
    /// Test images used for kNN, probes and t-SNE (0 = all; the synthetic set's size).
    pub test_images: usize,
    /// Where to compute: WebGPU, the CPU, or chosen from the browser's adapter.
    pub compute: ComputeChoice,
    /// Start from the loaded encoder's weights instead of a random initialisation.
    pub start_from_loaded: bool,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self::preset(Preset::Micro)
    }
}

impl RunSettings {
    /// The settings of a preset.
    pub fn preset(preset: Preset) -> Self {
        let config = PretrainConfig::preset(preset);
        Self {
            width: config.width,
            stem: config.stem,
            image_size: config.image_size,
            batch_size: config.batch_size,
            epochs: config.epochs,
            max_steps: config.max_steps.unwrap_or(0),
            optimizer: config.optimizer.kind,
            lr: config.optimizer.lr,
            temperature: config.temperature,
            color_jitter_strength: config.color_jitter_strength,
            seed: config.seed,
            train_images: config
                .dataset
                .train_images
                .unwrap_or(config.dataset.synthetic_train_size),
            test_images: config.dataset.synthetic_test_size,
            compute: ComputeChoice::Auto,
            start_from_loaded: false,
        }
    }

    /// The preset these settings are, if any.
    pub fn matching_preset(&self) -> Option<Preset> {
        Preset::ALL.into_iter().find(|&p| {
            let preset = Self {
                compute: self.compute,
                start_from_loaded: self.start_from_loaded,
                ..Self::preset(p)
            };
            preset == *self
        })
    }

    /// Synthetic images to generate for the training and test splits.
    pub fn synthetic_sizes(&self) -> (usize, usize) {
        let or = |n: usize, default: usize| if n == 0 { default } else { n };
        (or(self.train_images, 5000), or(self.test_images, 1000))
    }

    /// The core configuration of the run: the matching preset's (the micro preset's for
    /// custom settings), with the page's settings.
    pub fn pretrain_config(&self) -> PretrainConfig {
        let base = PretrainConfig::preset(self.matching_preset().unwrap_or(Preset::Micro));
        let optimizer = OptimizerConfig {
            kind: self.optimizer,
            lr: self.lr,
            ..if self.optimizer == OptimizerKind::Lars {
                OptimizerConfig::paper()
            } else {
                OptimizerConfig::small()
            }
        };
        PretrainConfig {
            width: self.width,
            stem: self.stem,
            image_size: self.image_size,
            batch_size: self.batch_size,
            epochs: self.epochs,
            max_steps: (self.max_steps > 0).then_some(self.max_steps),
            temperature: self.temperature,
            color_jitter_strength: self.color_jitter_strength,
            seed: self.seed,
            optimizer,
            ..base
        }
    }
}
