//! The settings of a browser run and the core configuration they stand for. Presets are
//! the core's table ([`Preset`]): a name means the same run on the page and on the command
//! line.

use serde::{Deserialize, Serialize};
pub use simclr::train::config::Preset;
use simclr::train::config::PretrainConfig;
use simclr::train::optim::OptimizerKind;
use simclr::train::settings::PretrainOverlay;

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

/// Everything the page lets the user set for a run: a preset and the changes laid over
/// it by the core's one rule ([`PretrainOverlay::apply`]), so that a preset with the same
/// changes is the same run here and on the command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// The preset the run starts from.
    pub preset: Preset,
    /// The settings changed on the page, as `simclr pretrain`'s flags would change them.
    pub changes: PretrainOverlay,
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
    /// The settings of a preset, unchanged.
    pub fn preset(preset: Preset) -> Self {
        let config = PretrainConfig::preset(preset);
        Self {
            preset,
            changes: PretrainOverlay::default(),
            train_images: config
                .dataset
                .train_images
                .unwrap_or(config.dataset.synthetic_train_size),
            test_images: config.dataset.synthetic_test_size,
            compute: ComputeChoice::Auto,
            start_from_loaded: false,
        }
    }

    /// The preset these settings are, if the changes leave it as it was.
    pub fn matching_preset(&self) -> Option<Preset> {
        let unchanged = Self {
            compute: self.compute,
            start_from_loaded: self.start_from_loaded,
            ..Self::preset(self.preset)
        };
        let same_run = unchanged.pretrain_config() == self.pretrain_config()
            && (unchanged.train_images, unchanged.test_images)
                == (self.train_images, self.test_images);
        same_run.then_some(self.preset)
    }

    /// Another optimiser, as `--optimizer` alone would choose it: the rate field goes back
    /// to that family's usual rate (the core's switching rule) rather than carrying over a
    /// rate tuned for the previous one.
    pub fn choose_optimizer(&mut self, kind: OptimizerKind) {
        self.changes.optimizer = Some(kind);
        self.changes.lr = None;
    }

    /// Synthetic images to generate for the training and test splits.
    pub fn synthetic_sizes(&self) -> (usize, usize) {
        let or = |n: usize, default: usize| if n == 0 { default } else { n };
        (or(self.train_images, 5000), or(self.test_images, 1000))
    }

    /// The core configuration of the run: the preset's with the changes laid over it.
    pub fn pretrain_config(&self) -> PretrainConfig {
        self.changes.apply(PretrainConfig::preset(self.preset))
    }
}
