//! Interpolation and blur as matrices, so that they run as batched matmuls on the device.

/// Row-major `out_len × in_len` matrix that bilinearly resizes the window
/// `[start, start + len)` of a line of `in_len` pixels to `out_len` pixels, optionally
/// mirrored. Same arithmetic as PyTorch's `interpolate(mode="bilinear",
/// align_corners=False)` applied to the cropped window (source coordinates clamped to it).
pub fn resize_matrix(
    in_len: usize,
    start: usize,
    len: usize,
    out_len: usize,
    flip: bool,
) -> Vec<f32> {
    let mut m = vec![0f32; out_len * in_len];
    let scale = len as f64 / out_len as f64;
    for o in 0..out_len {
        let src = ((o as f64 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(len - 1);
        let i1 = (i0 + 1).min(len - 1);
        let frac = (src - i0 as f64) as f32;
        let row = if flip { out_len - 1 - o } else { o };
        m[row * in_len + start + i0] += 1.0 - frac;
        m[row * in_len + start + i1] += frac;
    }
    m
}

/// The identity as a row-major `len × len` matrix.
pub fn identity(len: usize) -> Vec<f32> {
    let mut m = vec![0f32; len * len];
    for i in 0..len {
        m[i * len + i] = 1.0;
    }
    m
}

/// An odd kernel size of about 10% of the image side (SimCLR's choice), at least 3.
pub fn blur_kernel_size(side: usize) -> usize {
    ((side as f64 * 0.1).round() as usize).max(3) | 1
}

/// Row-major `len × len` matrix of a 1-D Gaussian blur with `kernel` taps and `sigma`,
/// reflect-padded at the borders like torchvision's `gaussian_blur`.
pub fn blur_matrix(len: usize, kernel: usize, sigma: f64) -> Vec<f32> {
    let half = (kernel / 2) as isize;
    let weights: Vec<f64> = (-half..=half)
        .map(|x| (-0.5 * (x as f64 / sigma).powi(2)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut m = vec![0f32; len * len];
    let last = len as isize - 1;
    for i in 0..len as isize {
        for (t, w) in (-half..=half).zip(&weights) {
            let mut j = i + t;
            if j < 0 {
                j = -j;
            }
            if j > last {
                j = 2 * last - j;
            }
            let j = j.clamp(0, last);
            m[(i * len as isize + j) as usize] += (w / total) as f32;
        }
    }
    m
}
