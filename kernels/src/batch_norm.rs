//! Training-mode BatchNorm over NCHW `f32` slices in two parallel passes each way, where
//! the same maths as Burn tensor ops takes about 15 single-threaded passes (flex runs
//! element-wise ops on one thread).

use rayon::prelude::*;

/// The extent of a BatchNorm input: images, channels, pixels per channel plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormShape {
    /// Images.
    pub batch: usize,
    /// Channels.
    pub channels: usize,
    /// Pixels of one plane.
    pub plane: usize,
}

impl NormShape {
    fn count(&self) -> usize {
        self.batch * self.plane
    }

    /// Planes per parallel job: a few thousand values, so that 4×4 planes do not make
    /// one job each.
    fn planes_per_job(&self) -> usize {
        (4096 / self.plane.max(1)).max(1)
    }

    /// Calls `f(plane)` for every plane of channel `c`.
    fn channel_planes<'a>(&self, data: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> {
        let (plane, stride) = (self.plane, self.channels * self.plane);
        (0..self.batch).map(move |n| &data[n * stride + c * plane..][..plane])
    }
}

/// Per-channel batch statistics: means and biased variances.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStats {
    /// Means.
    pub mean: Vec<f32>,
    /// Biased variances (divided by the count).
    pub var: Vec<f32>,
}

impl BatchStats {
    /// `1 / sqrt(var + epsilon)` per channel.
    pub fn inv_std(&self, epsilon: f64) -> Vec<f32> {
        self.var
            .iter()
            .map(|&v| (1.0 / (v as f64 + epsilon).sqrt()) as f32)
            .collect()
    }
}

/// The batch statistics of `x` (sums in f64, so large planes lose no precision).
pub fn stats(shape: NormShape, x: &[f32]) -> BatchStats {
    let count = shape.count().max(1) as f64;
    let (mean, var) = (0..shape.channels)
        .into_par_iter()
        .map(|c| {
            let (mut sum, mut squares) = (0.0f64, 0.0f64);
            for plane in shape.channel_planes(x, c) {
                let (s, q) = plane
                    .iter()
                    .fold((0.0f32, 0.0f32), |(s, q), &v| (s + v, q + v * v));
                sum += s as f64;
                squares += q as f64;
            }
            let mean = sum / count;
            (mean as f32, (squares / count - mean * mean).max(0.0) as f32)
        })
        .unzip();
    BatchStats { mean, var }
}

/// What follows the normalisation in the same pass.
#[derive(Debug, Clone, Copy, Default)]
pub struct Epilogue<'a> {
    /// A tensor of the input's shape added to the output (a residual connection).
    pub residual: Option<&'a [f32]>,
    /// Whether a ReLU follows.
    pub relu: bool,
}

/// `y = relu?((x - mean) · inv_std · gamma + beta + residual?)` per channel.
///
/// # Shapes
/// - `x`, `residual`, output: `[batch, channels, plane]`; `gamma`, `beta`: `[channels]`
pub fn normalize(
    shape: NormShape,
    x: &[f32],
    stats: &BatchStats,
    inv_std: &[f32],
    [gamma, beta]: [&[f32]; 2],
    epilogue: Epilogue<'_>,
) -> Vec<f32> {
    let scale: Vec<f32> = (0..shape.channels).map(|c| gamma[c] * inv_std[c]).collect();
    let shift: Vec<f32> = (0..shape.channels)
        .map(|c| beta[c] - stats.mean[c] * scale[c])
        .collect();
    let plane = shape.plane.max(1);
    let mut y = vec![0.0; x.len()];
    y.par_chunks_mut(plane)
        .zip(x.par_chunks(plane))
        .with_min_len(shape.planes_per_job())
        .enumerate()
        .for_each(|(i, (out, input))| {
            let c = i % shape.channels;
            let (a, b) = (scale[c], shift[c]);
            for (o, &v) in out.iter_mut().zip(input) {
                *o = v * a + b;
            }
            if let Some(residual) = epilogue.residual {
                let len = out.len();
                for (o, &r) in out.iter_mut().zip(&residual[i * plane..][..len]) {
                    *o += r;
                }
            }
            if epilogue.relu {
                for o in out.iter_mut() {
                    *o = o.max(0.0);
                }
            }
        });
    y
}

/// The gradient that reaches the normalisation (and the residual) through a ReLU whose
/// output was `y`.
pub fn relu_backward(grad: &[f32], y: &[f32]) -> Vec<f32> {
    let mut masked = vec![0.0; grad.len()];
    masked
        .par_chunks_mut(4096)
        .zip(grad.par_chunks(4096).zip(y.par_chunks(4096)))
        .for_each(|(out, (g, y))| {
            for ((o, &g), &y) in out.iter_mut().zip(g).zip(y) {
                *o = if y > 0.0 { g } else { 0.0 };
            }
        });
    masked
}

/// Gradients of training-mode BatchNorm: `(dx, dgamma, dbeta)`.
///
/// # Shapes
/// - `x`, `grad`, `dx`: `[batch, channels, plane]`; the rest `[channels]`
pub fn backward(
    shape: NormShape,
    x: &[f32],
    grad: &[f32],
    stats: &BatchStats,
    inv_std: &[f32],
    gamma: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (dgamma, dbeta): (Vec<f32>, Vec<f32>) = (0..shape.channels)
        .into_par_iter()
        .map(|c| {
            let (mean, inv) = (stats.mean[c], inv_std[c]);
            let (mut dg, mut db) = (0.0f64, 0.0f64);
            for (xs, gs) in shape
                .channel_planes(x, c)
                .zip(shape.channel_planes(grad, c))
            {
                let (g, b) = xs
                    .iter()
                    .zip(gs)
                    .fold((0.0f32, 0.0f32), |(g, b), (&v, &d)| {
                        (g + d * (v - mean) * inv, b + d)
                    });
                dg += g as f64;
                db += b as f64;
            }
            (dg as f32, db as f32)
        })
        .unzip();
    let count = shape.count().max(1) as f32;
    let mut dx = vec![0.0; x.len()];
    dx.par_chunks_mut(shape.plane.max(1))
        .zip(
            x.par_chunks(shape.plane.max(1))
                .zip(grad.par_chunks(shape.plane.max(1))),
        )
        .with_min_len(shape.planes_per_job())
        .enumerate()
        .for_each(|(i, (out, (xs, gs)))| {
            let c = i % shape.channels;
            let (mean, inv) = (stats.mean[c], inv_std[c]);
            let k = gamma[c] * inv;
            let (mean_db, mean_dg) = (dbeta[c] / count, dgamma[c] / count);
            for ((o, &v), &d) in out.iter_mut().zip(xs).zip(gs) {
                *o = k * (d - mean_db - (v - mean) * inv * mean_dg);
            }
        });
    (dx, dgamma, dbeta)
}
