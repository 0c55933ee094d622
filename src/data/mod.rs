//! Datasets: images kept as u8 on the host, copied to the device one batch at a time.

pub mod archive;
pub mod cifar;
pub mod folder;
pub mod source;
pub mod split;
pub mod stl10;
pub mod synthetic;
pub mod upload;

pub use source::{DatasetKind, DatasetSpec};
pub use split::{Pixels, Split};

use serde::{Deserialize, Serialize};

/// Per-channel normalisation `(x - mean) / std` of images scaled to [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Channel means (R, G, B).
    pub mean: [f32; 3],
    /// Channel standard deviations (R, G, B).
    pub std: [f32; 3],
}

impl Normalization {
    /// CIFAR-10's training-set statistics.
    pub fn cifar10() -> Self {
        Self {
            mean: [0.4914, 0.4822, 0.4465],
            std: [0.2470, 0.2435, 0.2616],
        }
    }

    /// STL-10's statistics.
    pub fn stl10() -> Self {
        Self {
            mean: [0.4408, 0.4279, 0.3867],
            std: [0.2682, 0.2610, 0.2686],
        }
    }

    /// ImageNet's statistics, for images of unknown origin.
    pub fn imagenet() -> Self {
        Self {
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        }
    }

    /// Statistics measured on (up to the first 2,000 images of) a split.
    pub fn measure(split: &Split) -> Self {
        let count = split.len().min(2000);
        if count == 0 {
            return Self::imagenet();
        }
        let pixels = split.batch_u8(&(0..count).collect::<Vec<_>>());
        let plane = split.height() * split.width();
        let mut sum = [0f64; 3];
        let mut sum_sq = [0f64; 3];
        for image in pixels.chunks_exact(3 * plane) {
            for (c, channel) in image.chunks_exact(plane).enumerate() {
                for &p in channel {
                    let v = p as f64 / 255.0;
                    sum[c] += v;
                    sum_sq[c] += v * v;
                }
            }
        }
        let n = (count * plane) as f64;
        let mean = sum.map(|s| s / n);
        let std: Vec<f64> = (0..3)
            .map(|c| (sum_sq[c] / n - mean[c] * mean[c]).max(1e-6).sqrt())
            .collect();
        Self {
            mean: mean.map(|m| m as f32),
            std: [std[0] as f32, std[1] as f32, std[2] as f32],
        }
    }
}

/// A dataset: a training split, a test split (possibly empty) and class names.
#[derive(Debug)]
pub struct Dataset {
    /// Short name (`cifar10`, `stl10`, `folder`, `synthetic`).
    pub name: String,
    /// Images for pretraining (labelled or not).
    pub train: Split,
    /// Labelled images for evaluation.
    pub test: Split,
    /// Class names, indexed by label.
    pub classes: Vec<String>,
    /// The normalisation to train and evaluate with.
    pub normalization: Normalization,
}

impl Dataset {
    /// Keeps the first `n` training images (file order).
    pub fn truncate_train(&mut self, n: usize) {
        self.train.truncate(n);
    }
}
