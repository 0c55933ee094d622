//! Colour operations on `[N, 3, H, W]` batches in [0, 1], torchvision's formulas.

use super::{column, ViewParams};
use burn::prelude::*;

/// Luma with the ITU-R 601 weights (0.299, 0.587, 0.114).
///
/// # Shapes
/// - `images`: `[N, 3, H, W]` → `[N, 1, H, W]`
pub fn grayscale<B: Backend>(images: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, _, h, w] = images.dims();
    let r = images.clone().narrow(1, 0, 1);
    let g = images.clone().narrow(1, 1, 1);
    let b = images.narrow(1, 2, 1);
    let gray = r * 0.299 + g * 0.587 + b * 0.114;
    gray.reshape([n, 1, h, w])
}

/// torchvision's `_blend`: `clamp(factor · images + (1 - factor) · other, 0, 1)` with a
/// per-image factor.
///
/// # Shapes
/// - `images`: `[N, 3, H, W]`; `other`: broadcastable to it; `factor`: `[N, 1, 1, 1]`
pub fn blend<B: Backend>(
    images: Tensor<B, 4>,
    other: Tensor<B, 4>,
    factor: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let rest = factor.clone().neg().add_scalar(1.0);
    (images * factor + other * rest).clamp(0.0, 1.0)
}

/// torchvision's `adjust_hue`: RGB → HSV, hue shifted by `shift` turns (mod 1), → RGB.
///
/// # Shapes
/// - `images`: `[N, 3, H, W]`; `shift`: `[N, 1, 1, 1]`
pub fn adjust_hue<B: Backend>(images: Tensor<B, 4>, shift: Tensor<B, 4>) -> Tensor<B, 4> {
    let r = images.clone().narrow(1, 0, 1);
    let g = images.clone().narrow(1, 1, 1);
    let b = images.narrow(1, 2, 1);
    let maxc = r.clone().max_pair(g.clone()).max_pair(b.clone());
    let minc = r.clone().min_pair(g.clone()).min_pair(b.clone());
    let equal = maxc.clone().equal(minc.clone());
    let ones = maxc.ones_like();
    let chroma = maxc.clone() - minc;
    let s = chroma.clone() / maxc.clone().mask_where(equal.clone(), ones.clone());
    let divisor = chroma.mask_where(equal, ones);
    let rc = (maxc.clone() - r.clone()) / divisor.clone();
    let gc = (maxc.clone() - g.clone()) / divisor.clone();
    let bc = (maxc.clone() - b) / divisor;
    let is_r = maxc.clone().equal(r).float();
    let is_g = maxc.clone().equal(g).float();
    let not_r = is_r.clone().neg().add_scalar(1.0);
    let hr = is_r * (bc.clone() - gc.clone());
    let hg = is_g.clone() * not_r.clone() * (rc.clone() + 2.0 - bc);
    let hb = is_g.neg().add_scalar(1.0) * not_r * (gc + 4.0 - rc);
    let h = ((hr + hg + hb) / 6.0 + 1.0).remainder_scalar(1.0);
    let h = (h + shift).remainder_scalar(1.0);
    hsv_to_rgb(h, s, maxc)
}

fn hsv_to_rgb<B: Backend>(h: Tensor<B, 4>, s: Tensor<B, 4>, v: Tensor<B, 4>) -> Tensor<B, 4> {
    let sector = (h.clone() * 6.0).floor();
    let f = h * 6.0 - sector.clone();
    let sector = sector.remainder_scalar(6.0);
    let p = (v.clone() * (s.clone().neg() + 1.0)).clamp(0.0, 1.0);
    let q = (v.clone() * ((s.clone() * f.clone()).neg() + 1.0)).clamp(0.0, 1.0);
    let t = (v.clone() * ((s * (f.neg() + 1.0)).neg() + 1.0)).clamp(0.0, 1.0);
    let masks: Vec<Tensor<B, 4>> = (0..6)
        .map(|k| sector.clone().equal_elem(k as f32).float())
        .collect();
    let pick = |values: [&Tensor<B, 4>; 6]| {
        values
            .iter()
            .zip(&masks)
            .fold(v.zeros_like(), |sum, (value, mask)| {
                sum + (*value).clone() * mask.clone()
            })
    };
    let red = pick([&v, &q, &p, &p, &t, &v]);
    let green = pick([&t, &v, &v, &q, &p, &p]);
    let blue = pick([&p, &p, &t, &v, &v, &q]);
    Tensor::cat(vec![red, green, blue], 1)
}

/// Colour jitter with per-image factors and order; images without jitter pass unchanged.
///
/// At each of the four positions every image gets the operation its order puts there.
/// Brightness, contrast and saturation are all blends (with black, the mean gray level, and
/// the gray image), so one blend per position serves all three.
pub fn jitter<B: Backend>(images: Tensor<B, 4>, params: &[ViewParams]) -> Tensor<B, 4> {
    if params.iter().all(|p| p.jitter.is_none()) {
        return images;
    }
    let device = images.device();
    let mut x = images;
    for position in 0..4 {
        let op = |p: &ViewParams| p.jitter.map(|j| (j.order[position], j));
        let factor = params.iter().map(|p| match op(p) {
            Some((0, j)) => j.brightness as f32,
            Some((1, j)) => j.contrast as f32,
            Some((2, j)) => j.saturation as f32,
            _ => 1.0,
        });
        let is = |wanted: usize| -> Vec<f32> {
            params
                .iter()
                .map(|p| f32::from(op(p).is_some_and(|(o, _)| o == wanted)))
                .collect()
        };
        let gray = grayscale(x.clone());
        let mean_gray = gray.clone().mean_dim(2).mean_dim(3);
        let target = mean_gray * column::<B>(is(1), &device) + gray * column::<B>(is(2), &device);
        x = blend(x, target, column(factor.collect(), &device));
        let hue_on = is(3);
        if hue_on.iter().any(|&h| h > 0.0) {
            let shift = params.iter().map(|p| match op(p) {
                Some((3, j)) => j.hue as f32,
                _ => 0.0,
            });
            let hue_on = column::<B>(hue_on, &device);
            let shifted = adjust_hue(x.clone(), column(shift.collect(), &device));
            x = shifted * hue_on.clone() + x * hue_on.neg().add_scalar(1.0);
        }
    }
    x
}

/// Grayscale (replicated to three channels) for the images whose parameters ask for it.
pub fn random_grayscale<B: Backend>(images: Tensor<B, 4>, params: &[ViewParams]) -> Tensor<B, 4> {
    if params.iter().all(|p| !p.grayscale) {
        return images;
    }
    let mask = column::<B>(
        params.iter().map(|p| f32::from(p.grayscale)).collect(),
        &images.device(),
    );
    let gray = grayscale(images.clone());
    gray * mask.clone() + images * mask.neg().add_scalar(1.0)
}
