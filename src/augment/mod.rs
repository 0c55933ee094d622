//! SimCLR's augmentation pipeline with torchvision's semantics, applied to a whole batch on
//! the compute device. Per-image parameters are sampled on the host (a few numbers per
//! image); every pixel operation runs as batched tensor maths:
//!
//! - random resized crop + horizontal flip: `R_y · image · R_xᵀ` with per-image bilinear
//!   interpolation matrices (exactly torchvision's bilinear resize of the cropped box);
//! - colour jitter: brightness, contrast, saturation and hue in a per-image random order;
//! - random grayscale; optional Gaussian blur (again as per-image matrices);
//! - mean/std normalisation.

use crate::data::Normalization;
use crate::rng::Rng;
use burn::prelude::*;
use std::ops::Range;

mod color;
pub mod crop;
mod geometry;
#[cfg(feature = "flex")]
mod host;
mod params;
pub mod preview;

pub use color::{adjust_hue, blend, grayscale};
pub use geometry::{blur_matrix, resize_matrix};
pub use params::{CropBox, Jitter, ViewParams};

/// The augmentation recipe. Defaults: the paper's CIFAR-10 recipe (appendix B.9):
/// jitter strength 0.5 and no blur.
#[derive(Config, Debug)]
pub struct AugmentConfig {
    /// Smallest crop area as a fraction of the image.
    #[config(default = 0.08)]
    pub crop_scale_min: f64,
    /// Largest crop area as a fraction of the image.
    #[config(default = 1.0)]
    pub crop_scale_max: f64,
    /// Smallest crop aspect ratio (width / height).
    #[config(default = 0.75)]
    pub crop_ratio_min: f64,
    /// Largest crop aspect ratio.
    #[config(default = 1.3333333333333333)]
    pub crop_ratio_max: f64,
    /// Probability of a horizontal flip.
    #[config(default = 0.5)]
    pub flip_prob: f64,
    /// Colour jitter strength `s`: brightness, contrast and saturation 0.8s, hue 0.2s.
    #[config(default = 0.5)]
    pub color_jitter_strength: f64,
    /// Probability that colour jitter is applied.
    #[config(default = 0.8)]
    pub color_jitter_prob: f64,
    /// Probability of converting to grayscale.
    #[config(default = 0.2)]
    pub grayscale_prob: f64,
    /// Whether Gaussian blur is part of the recipe (on for STL-10, off for CIFAR-10).
    #[config(default = false)]
    pub blur: bool,
    /// Probability of blurring, when blur is on.
    #[config(default = 0.5)]
    pub blur_prob: f64,
    /// Blur sigma range.
    #[config(default = 0.1)]
    pub blur_sigma_min: f64,
    /// Blur sigma range.
    #[config(default = 2.0)]
    pub blur_sigma_max: f64,
}

/// The random stream every image's keyed stream ([`AugmentConfig::sample_pairs`]) derives
/// from.
const PAIR_STREAM: u64 = 2;

/// Converts u8 images to floats in [0, 1] on `device`.
///
/// # Shapes
/// - `pixels`: `n × 3 × height × width` bytes
/// - output: `[n, 3, height, width]`
pub fn to_unit_tensor<B: Backend>(
    pixels: &[u8],
    n: usize,
    height: usize,
    width: usize,
    device: &B::Device,
) -> Tensor<B, 4> {
    let values: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
    Tensor::from_data(TensorData::new(values, [n, 3, height, width]), device)
}

/// `(x - mean) / std` per channel.
///
/// # Shapes
/// - `images`: `[N, 3, H, W]` → `[N, 3, H, W]`
pub fn normalize<B: Backend>(images: Tensor<B, 4>, normalization: &Normalization) -> Tensor<B, 4> {
    let device = images.device();
    let mean = Tensor::<B, 1>::from_floats(normalization.mean, &device).reshape([1, 3, 1, 1]);
    let std = Tensor::<B, 1>::from_floats(normalization.std, &device).reshape([1, 3, 1, 1]);
    (images - mean) / std
}

/// A per-image column `[N, 1, 1, 1]` of values.
fn column<B: Backend>(values: Vec<f32>, device: &B::Device) -> Tensor<B, 4> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n, 1, 1, 1]), device)
}

/// Applies per-image matrices on both sides: `left · images · right`.
///
/// # Shapes
/// - `images`: `[N, C, H, W]`, `left`: `n × H_out × H` values, `right`: `n × W × W_out`
/// - output: `[N, C, H_out, W_out]`
fn apply_matrices<B: Backend>(
    images: Tensor<B, 4>,
    left: Vec<f32>,
    right: Vec<f32>,
    out: [usize; 2],
) -> Tensor<B, 4> {
    let [n, _, h, w] = images.dims();
    let device = images.device();
    let left = Tensor::<B, 4>::from_data(TensorData::new(left, [n, 1, out[0], h]), &device);
    let right = Tensor::<B, 4>::from_data(TensorData::new(right, [n, 1, w, out[1]]), &device);
    left.matmul(images).matmul(right)
}

impl AugmentConfig {
    /// Samples the parameters of one view for each of `n` images of `height × width`.
    pub fn sample(&self, rng: &mut Rng, n: usize, height: usize, width: usize) -> Vec<ViewParams> {
        (0..n)
            .map(|_| params::sample(self, rng, height, width))
            .collect()
    }

    /// The parameters of both views of the images at positions `images` of step `step`'s
    /// batch, as `[first views…, second views…]`. Each image draws from its own stream,
    /// keyed by the seed, the step and its position in the (global) batch, so that its
    /// views do not depend on how the batch is split between data-parallel peers.
    pub fn sample_pairs(
        &self,
        seed: u64,
        step: usize,
        images: Range<usize>,
        [height, width]: [usize; 2],
    ) -> Vec<ViewParams> {
        let base = Rng::stream(seed, PAIR_STREAM).next_u64();
        let mut first = Vec::with_capacity(2 * images.len());
        let mut second = Vec::with_capacity(images.len());
        for position in images {
            let key = ((step as u64) << 24) ^ position as u64;
            let mut rng = Rng::stream(base, key);
            first.push(params::sample(self, &mut rng, height, width));
            second.push(params::sample(self, &mut rng, height, width));
        }
        first.append(&mut second);
        first
    }

    /// Augments images in [0, 1] with the given per-image parameters and normalises them.
    ///
    /// # Shapes
    /// - `images`: `[N, 3, H, W]`, `params`: `N` entries
    /// - output: `[N, 3, size, size]`
    pub fn apply<B: Backend>(
        &self,
        images: Tensor<B, 4>,
        params: &[ViewParams],
        size: usize,
        normalization: &Normalization,
    ) -> Tensor<B, 4> {
        let [_, _, h, w] = images.dims();
        let rows = params
            .iter()
            .flat_map(|p| resize_matrix(h, p.crop.top, p.crop.height, size, false));
        let cols = params.iter().flat_map(|p| {
            transpose(
                &resize_matrix(w, p.crop.left, p.crop.width, size, p.flip),
                size,
                w,
            )
        });
        let x = apply_matrices(images, rows.collect(), cols.collect(), [size, size]);
        let x = color::jitter(x, params);
        let x = color::random_grayscale(x, params);
        let x = self.blur(x, params);
        normalize(x, normalization)
    }

    fn blur<B: Backend>(&self, images: Tensor<B, 4>, params: &[ViewParams]) -> Tensor<B, 4> {
        if params.iter().all(|p| p.blur_sigma.is_none()) {
            return images;
        }
        let [_, _, h, w] = images.dims();
        let kernel = geometry::blur_kernel_size(h.max(w));
        let matrix = |len: usize, sigma: Option<f64>| match sigma {
            Some(s) => blur_matrix(len, kernel, s),
            None => geometry::identity(len),
        };
        let rows = params
            .iter()
            .flat_map(|p| matrix(h, p.blur_sigma))
            .collect();
        let cols = params
            .iter()
            .flat_map(|p| transpose(&matrix(w, p.blur_sigma), w, w))
            .collect();
        apply_matrices(images, rows, cols, [h, w])
    }

    /// Two augmented views of every image, stacked as `[view1; view2]`, with `params` from
    /// [`Self::sample_pairs`] (or any `2n` parameters in that order).
    ///
    /// # Shapes
    /// - `pixels`: `n × 3 × height × width` bytes, `params`: `2n` entries
    /// - output: `[2n, 3, size, size]`: rows `i` and `n + i` are the two views of image `i`
    ///
    /// # Panics
    /// When `pixels` does not hold `n` images of `3 × height × width` bytes or `params`
    /// does not hold `2n` entries.
    pub fn two_views<B: Backend>(
        &self,
        pixels: &[u8],
        [height, width]: [usize; 2],
        size: usize,
        normalization: &Normalization,
        params: &[ViewParams],
        device: &B::Device,
    ) -> Tensor<B, 4> {
        let n = params.len() / 2;
        assert!(
            params.len() == 2 * n && pixels.len() == n * 3 * height * width,
            "two_views: {n} images of 3 x {height} x {width} bytes and 2 parameters each expected"
        );
        #[cfg(feature = "flex")]
        if host::runs_on_host::<B>() {
            let source = host::Source {
                pixels,
                size: [height, width],
                normalization,
            };
            let values = host::views(source, params, size);
            return Tensor::from_data(TensorData::new(values, [2 * n, 3, size, size]), device);
        }
        let images = to_unit_tensor::<B>(pixels, n, height, width, device);
        let images = Tensor::cat(vec![images.clone(), images], 0);
        self.apply(images, params, size, normalization)
    }
}

fn transpose(matrix: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; matrix.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = matrix[r * cols + c];
        }
    }
    out
}

#[cfg(test)]
mod tests;
