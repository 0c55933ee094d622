//! The settings of a browser run, its presets, and the core configuration they stand for.

use serde::{Deserialize, Serialize};
use simclr::config::{Preset as CorePreset, PretrainConfig};
use simclr::knn::KnnConfig;
use simclr::model::Stem;
use simclr::optim::{OptimizerConfig, OptimizerKind};

/// Named starting points on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Preset {
    /// Width 4, batch 16, 512 images, 2 epochs: seconds on a GPU, minutes on a software one.
    Tiny,
    /// Width 16, batch 64, 2,000 images, 5 epochs: minutes on a laptop GPU.
    Small,
    /// ResNet-18 proper (width 64), batch 256, LARS, 100 epochs: for a real GPU.
    Full,
}

impl Preset {
    /// Every preset, in the order the page lists them.
    pub const ALL: [Preset; 3] = [Preset::Tiny, Preset::Small, Preset::Full];

    /// The label on the page.
    pub fn label(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny (works everywhere)",
            Preset::Small => "small",
            Preset::Full => "ResNet-18 full",
        }
    }

    /// A short key (for `<select>` values).
    pub fn key(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::Small => "small",
            Preset::Full => "full",
        }
    }

    /// The preset with this key.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == key)
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
    /// Use the CPU backend even where WebGPU exists.
    pub force_cpu: bool,
    /// Start from the loaded encoder's weights instead of a random initialisation.
    pub start_from_loaded: bool,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self::preset(Preset::Tiny)
    }
}

impl RunSettings {
    /// The settings of a preset.
    pub fn preset(preset: Preset) -> Self {
        let tiny = Self {
            width: 4,
            stem: None,
            image_size: None,
            batch_size: 16,
            epochs: 2,
            max_steps: 0,
            optimizer: OptimizerKind::Adam,
            lr: 1e-3,
            temperature: 0.5,
            color_jitter_strength: 0.5,
            seed: 0,
            train_images: 512,
            test_images: 256,
            force_cpu: false,
            start_from_loaded: false,
        };
        match preset {
            Preset::Tiny => tiny,
            Preset::Small => Self {
                width: 16,
                batch_size: 64,
                epochs: 5,
                train_images: 2000,
                test_images: 500,
                ..tiny
            },
            Preset::Full => {
                let paper = PretrainConfig::preset(CorePreset::Paper);
                Self {
                    width: paper.width,
                    batch_size: 256,
                    epochs: paper.epochs,
                    optimizer: paper.optimizer.kind,
                    lr: paper.optimizer.lr,
                    temperature: paper.temperature,
                    color_jitter_strength: paper.color_jitter_strength,
                    train_images: 0,
                    test_images: 1000,
                    ..tiny
                }
            }
        }
    }

    /// The preset these settings are, if any.
    pub fn matching_preset(&self) -> Option<Preset> {
        Preset::ALL.into_iter().find(|&p| {
            let preset = Self {
                force_cpu: self.force_cpu,
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

    /// The core configuration of the run.
    pub fn pretrain_config(&self) -> PretrainConfig {
        let base = PretrainConfig::preset(CorePreset::Tiny);
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
            temperature: self.temperature,
            color_jitter_strength: self.color_jitter_strength,
            seed: self.seed,
            optimizer,
            knn: KnnConfig {
                k: 20,
                train_samples: 5000,
                test_samples: 0,
                ..KnnConfig::default()
            },
            ..base
        }
    }

    /// Steps the run takes with `train` training images.
    pub fn planned_steps(&self, train: usize) -> usize {
        let all = train / self.batch_size.max(1) * self.epochs;
        if self.max_steps > 0 {
            all.min(self.max_steps)
        } else {
            all
        }
    }
}
