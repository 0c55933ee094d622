//! The augmentation on the host, view by view across rayon's threads, for the CPU
//! backend: the same arithmetic as the tensor path ([`super::AugmentConfig::apply`]),
//! which on `flex` runs ~60 single-threaded element-wise ops over the whole batch (a
//! sixth of the CPU samples of a width-16 step, while the other cores wait).
//!
//! Crop, resize and blur use the same matrices as the tensor path, applied to each row's
//! span of non-zero weights (two for a bilinear resize).

use super::geometry::{blur_kernel_size, blur_matrix, resize_matrix};
use super::{Jitter, ViewParams};
use crate::data::Normalization;
use burn::prelude::*;
use rayon::prelude::*;

/// Whether `B` computes on this machine's CPU (`flex`, plain or under autodiff), where
/// the views are made on the host.
pub fn runs_on_host<B: Backend>() -> bool {
    #[cfg(feature = "flex")]
    {
        use burn::backend::{Autodiff, Flex};
        use std::any::TypeId;
        let id = TypeId::of::<B>();
        id == TypeId::of::<Flex>() || id == TypeId::of::<Autodiff<Flex>>()
    }
    #[cfg(not(feature = "flex"))]
    {
        false
    }
}

/// The images and recipe one batch of views is made from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// `images × 3 × height × width` bytes.
    pub pixels: &'a [u8],
    /// Height and width of the source images.
    pub size: [usize; 2],
    /// Applied last.
    pub normalization: &'a Normalization,
}

/// View `v` of image `v % images` for every entry of `params`, as `[views, 3, side, side]`
/// values.
pub fn views(source: Source<'_>, params: &[ViewParams], side: usize) -> Vec<f32> {
    let per_image = 3 * source.size[0] * source.size[1];
    let images = (source.pixels.len() / per_image.max(1)).max(1);
    let per_view = 3 * side * side;
    let mut out = vec![0.0; params.len() * per_view];
    let any_jitter = params.iter().any(|p| p.jitter.is_some());
    out.par_chunks_mut(per_view.max(1))
        .zip(params.par_iter())
        .enumerate()
        .for_each(|(v, (view, p))| {
            let image = &source.pixels[(v % images) * per_image..][..per_image];
            make_view(source, image, p, side, any_jitter, view);
        });
    out
}

fn make_view(
    source: Source<'_>,
    image: &[u8],
    p: &ViewParams,
    side: usize,
    any_jitter: bool,
    out: &mut [f32],
) {
    let [h, w] = source.size;
    let unit: Vec<f32> = image.iter().map(|&b| b as f32 / 255.0).collect();
    let rows = resize_matrix(h, p.crop.top, p.crop.height, side, false);
    let cols = resize_matrix(w, p.crop.left, p.crop.width, side, p.flip);
    two_sided(&unit, [h, w], &rows, &cols, side, out);
    let plane = side * side;
    match p.jitter {
        Some(jitter) => jitter_view(out, plane, &jitter, side),
        // The tensor path blends every image when any is jittered (factor 1: a clamp).
        None if any_jitter => out.iter_mut().for_each(|x| *x = x.clamp(0.0, 1.0)),
        None => {}
    }
    if p.grayscale {
        for i in 0..plane {
            let gray = luma(out[i], out[plane + i], out[2 * plane + i]);
            for c in 0..3 {
                out[c * plane + i] = gray;
            }
        }
    }
    if let Some(sigma) = p.blur_sigma {
        let kernel = blur_kernel_size(side);
        let matrix = blur_matrix(side, kernel, sigma);
        let blurred = out.to_vec();
        two_sided(&blurred, [side, side], &matrix, &matrix, side, out);
    }
    let Normalization { mean, std } = *source.normalization;
    for (c, channel) in out.chunks_exact_mut(plane.max(1)).enumerate() {
        for x in channel {
            *x = (*x - mean[c]) / std[c];
        }
    }
}

/// `out[c] = rows · image[c] · colsᵀ` for each of the 3 channels, where `rows` is
/// `side × h` and `cols` is `side × w` (row-major), over each row's non-zero span.
fn two_sided(
    image: &[f32],
    [h, w]: [usize; 2],
    rows: &[f32],
    cols: &[f32],
    side: usize,
    out: &mut [f32],
) {
    let row_spans: Vec<_> = rows.chunks_exact(h).map(span).collect();
    let col_spans: Vec<_> = cols.chunks_exact(w).map(span).collect();
    let mut half = vec![0.0f32; side * w];
    for c in 0..3 {
        let channel = &image[c * h * w..][..h * w];
        for (i, &(first, end)) in row_spans.iter().enumerate() {
            let target = &mut half[i * w..][..w];
            target.fill(0.0);
            for y in first..end {
                let weight = rows[i * h + y];
                for (t, x) in target.iter_mut().zip(&channel[y * w..][..w]) {
                    *t += weight * x;
                }
            }
        }
        let plane = &mut out[c * side * side..][..side * side];
        for i in 0..side {
            let source = &half[i * w..][..w];
            for (j, &(first, end)) in col_spans.iter().enumerate() {
                let weights = &cols[j * w..][first..end];
                plane[i * side + j] = weights
                    .iter()
                    .zip(&source[first..end])
                    .map(|(a, b)| a * b)
                    .sum();
            }
        }
    }
}

/// First and one past the last non-zero index of a matrix row.
fn span(row: &[f32]) -> (usize, usize) {
    let first = row.iter().position(|&v| v != 0.0).unwrap_or(0);
    let end = row
        .iter()
        .rposition(|&v| v != 0.0)
        .map_or(first, |last| last + 1);
    (first, end)
}

/// Luma with the ITU-R 601 weights, in the tensor path's order of operations.
fn luma(r: f32, g: f32, b: f32) -> f32 {
    r * 0.299 + g * 0.587 + b * 0.114
}

/// torchvision's `_blend` toward `other` (per pixel or constant), clamped to [0, 1].
fn blend(x: &mut [f32], plane: usize, factor: f32, other: impl Fn(usize) -> f32) {
    let rest = -factor + 1.0;
    for (i, value) in x.iter_mut().enumerate() {
        *value = (*value * factor + other(i % plane) * rest).clamp(0.0, 1.0);
    }
}

/// The four jitter operations in the view's order.
fn jitter_view(x: &mut [f32], plane: usize, jitter: &Jitter, side: usize) {
    for &op in &jitter.order {
        match op {
            0 => blend(x, plane, jitter.brightness as f32, |_| 0.0),
            1 => {
                let mean = mean_luma(x, plane, side);
                blend(x, plane, jitter.contrast as f32, |_| mean);
            }
            2 => {
                let gray: Vec<f32> = (0..plane)
                    .map(|i| luma(x[i], x[plane + i], x[2 * plane + i]))
                    .collect();
                blend(x, plane, jitter.saturation as f32, |i| gray[i]);
            }
            _ => {
                x.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
                for i in 0..plane {
                    let rgb = [x[i], x[plane + i], x[2 * plane + i]];
                    let [r, g, b] = adjust_hue(rgb, jitter.hue as f32);
                    (x[i], x[plane + i], x[2 * plane + i]) = (r, g, b);
                }
            }
        }
    }
}

/// Mean luma as the tensor path takes it: over rows, then over columns.
fn mean_luma(x: &[f32], plane: usize, side: usize) -> f32 {
    let rows = (plane / side.max(1)).max(1);
    let mut total = 0.0f32;
    for column in 0..side {
        let mut sum = 0.0f32;
        for row in 0..rows {
            let i = row * side + column;
            sum += luma(x[i], x[plane + i], x[2 * plane + i]);
        }
        total += sum / rows as f32;
    }
    total / side.max(1) as f32
}

/// PyTorch's `remainder`: the sign of the divisor.
fn remainder(a: f32, b: f32) -> f32 {
    ((a % b) + b) % b
}

/// torchvision's `adjust_hue` on one pixel: RGB → HSV, hue shifted (mod 1), → RGB.
fn adjust_hue([r, g, b]: [f32; 3], shift: f32) -> [f32; 3] {
    let maxc = r.max(g).max(b);
    let minc = r.min(g).min(b);
    let equal = maxc == minc;
    let chroma = maxc - minc;
    let s = chroma / if equal { 1.0 } else { maxc };
    let divisor = if equal { 1.0 } else { chroma };
    let (rc, gc, bc) = (
        (maxc - r) / divisor,
        (maxc - g) / divisor,
        (maxc - b) / divisor,
    );
    let is_r = f32::from(u8::from(maxc == r));
    let is_g = f32::from(u8::from(maxc == g));
    let not_r = -is_r + 1.0;
    let hr = is_r * (bc - gc);
    let hg = is_g * not_r * (rc + 2.0 - bc);
    let hb = (-is_g + 1.0) * not_r * (gc + 4.0 - rc);
    let h = remainder((hr + hg + hb) / 6.0 + 1.0, 1.0);
    hsv_to_rgb(remainder(h + shift, 1.0), s, maxc)
}

fn hsv_to_rgb(h: f32, s: f32, v: f32) -> [f32; 3] {
    let sector = (h * 6.0).floor();
    let f = h * 6.0 - sector;
    let sector = remainder(sector, 6.0);
    if sector.is_nan() {
        return [0.0; 3];
    }
    let p = (v * (-s + 1.0)).clamp(0.0, 1.0);
    let q = (v * (-(s * f) + 1.0)).clamp(0.0, 1.0);
    let t = (v * (-(s * (-f + 1.0)) + 1.0)).clamp(0.0, 1.0);
    match sector as i32 {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        5 => [v, p, q],
        _ => [0.0; 3],
    }
}
