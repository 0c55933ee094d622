//! Per-image random parameters, drawn as torchvision draws them.

use super::AugmentConfig;
use crate::rng::Rng;

/// A crop window in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    /// First row.
    pub top: usize,
    /// First column.
    pub left: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

/// Colour jitter factors and the order of the four operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jitter {
    /// Brightness factor (1 = unchanged).
    pub brightness: f64,
    /// Contrast factor (1 = unchanged).
    pub contrast: f64,
    /// Saturation factor (1 = unchanged).
    pub saturation: f64,
    /// Hue shift in turns, in [-0.5, 0.5] (0 = unchanged).
    pub hue: f64,
    /// Operation order: 0 brightness, 1 contrast, 2 saturation, 3 hue.
    pub order: [usize; 4],
}

impl Jitter {
    /// Factors that change nothing.
    pub fn identity() -> Self {
        Self {
            brightness: 1.0,
            contrast: 1.0,
            saturation: 1.0,
            hue: 0.0,
            order: [0, 1, 2, 3],
        }
    }
}

/// Everything random about one augmented view of one image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewParams {
    /// The window that is cropped and resized.
    pub crop: CropBox,
    /// Horizontal flip.
    pub flip: bool,
    /// Colour jitter, when applied.
    pub jitter: Option<Jitter>,
    /// Conversion to grayscale.
    pub grayscale: bool,
    /// Gaussian blur sigma, when applied.
    pub blur_sigma: Option<f64>,
}

/// torchvision's `RandomResizedCrop.get_params`: ten tries, then a central fallback.
pub fn sample_crop(config: &AugmentConfig, rng: &mut Rng, height: usize, width: usize) -> CropBox {
    let area = (height * width) as f64;
    let (log_min, log_max) = (config.crop_ratio_min.ln(), config.crop_ratio_max.ln());
    for _ in 0..10 {
        let target = area * rng.uniform_range(config.crop_scale_min, config.crop_scale_max);
        let ratio = rng.uniform_range(log_min, log_max).exp();
        let w = (target * ratio).sqrt().round() as usize;
        let h = (target / ratio).sqrt().round() as usize;
        if w > 0 && w <= width && h > 0 && h <= height {
            let top = rng.below(height - h + 1);
            let left = rng.below(width - w + 1);
            return CropBox {
                top,
                left,
                height: h,
                width: w,
            };
        }
    }
    let in_ratio = width as f64 / height as f64;
    let (h, w) = if in_ratio < config.crop_ratio_min {
        (
            (width as f64 / config.crop_ratio_min).round() as usize,
            width,
        )
    } else if in_ratio > config.crop_ratio_max {
        (
            height,
            (height as f64 * config.crop_ratio_max).round() as usize,
        )
    } else {
        (height, width)
    };
    CropBox {
        top: (height - h) / 2,
        left: (width - w) / 2,
        height: h,
        width: w,
    }
}

fn sample_jitter(strength: f64, rng: &mut Rng) -> Jitter {
    let mut order = [0, 1, 2, 3];
    rng.shuffle(&mut order);
    let amount = 0.8 * strength;
    let mut factor = || rng.uniform_range((1.0 - amount).max(0.0), 1.0 + amount);
    let (brightness, contrast, saturation) = (factor(), factor(), factor());
    let hue_amount = (0.2 * strength).min(0.5);
    Jitter {
        brightness,
        contrast,
        saturation,
        hue: rng.uniform_range(-hue_amount, hue_amount),
        order,
    }
}

/// All parameters of one view.
pub fn sample(config: &AugmentConfig, rng: &mut Rng, height: usize, width: usize) -> ViewParams {
    let crop = sample_crop(config, rng, height, width);
    let flip = rng.bernoulli(config.flip_prob);
    let jitter = rng
        .bernoulli(config.color_jitter_prob)
        .then(|| sample_jitter(config.color_jitter_strength, rng));
    let grayscale = rng.bernoulli(config.grayscale_prob);
    let blur_sigma = (config.blur && rng.bernoulli(config.blur_prob))
        .then(|| rng.uniform_range(config.blur_sigma_min, config.blur_sigma_max));
    ViewParams {
        crop,
        flip,
        jitter,
        grayscale,
        blur_sigma,
    }
}
