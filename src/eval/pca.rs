//! Principal component analysis by subspace iteration: enough to reduce encoder features to
//! the ~50 dimensions that t-SNE usually starts from, with no LAPACK.

use crate::rng::Rng;

/// Subspace iterations; the leading components converge geometrically, and t-SNE only
/// needs the subspace, not exact eigenvectors.
const ITERATIONS: usize = 60;

/// The rows of `values` (`dim` columns) centred and projected onto their top `k` principal
/// directions; with `dim <= k` the centred rows themselves. Returns the values and the
/// number of columns.
pub fn project(values: &[f32], dim: usize, k: usize, seed: u64) -> (Vec<f64>, usize) {
    let rows = values.len() / dim.max(1);
    let centred = centre(values, dim);
    if dim <= k || rows == 0 {
        return (centred, dim);
    }
    let covariance = covariance(&centred, dim);
    let basis = top_subspace(&covariance, dim, k, seed);
    let mut out = vec![0f64; rows * k];
    for (row, target) in centred.chunks_exact(dim).zip(out.chunks_exact_mut(k)) {
        for (j, t) in target.iter_mut().enumerate() {
            *t = (0..dim).map(|i| row[i] * basis[i * k + j]).sum();
        }
    }
    (out, k)
}

fn centre(values: &[f32], dim: usize) -> Vec<f64> {
    let rows = (values.len() / dim.max(1)).max(1) as f64;
    let mut mean = vec![0f64; dim];
    for row in values.chunks_exact(dim) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64 / rows;
        }
    }
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| v as f64 - mean[i % dim])
        .collect()
}

fn covariance(centred: &[f64], dim: usize) -> Vec<f64> {
    let mut cov = vec![0f64; dim * dim];
    for row in centred.chunks_exact(dim) {
        for (i, &a) in row.iter().enumerate() {
            let line = &mut cov[i * dim..(i + 1) * dim];
            for (c, &b) in line.iter_mut().zip(row) {
                *c += a * b;
            }
        }
    }
    cov
}

/// An orthonormal `dim × k` basis (row-major) of the dominant eigenspace of `matrix`.
fn top_subspace(matrix: &[f64], dim: usize, k: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let mut basis: Vec<f64> = (0..dim * k).map(|_| rng.normal()).collect();
    orthonormalise(&mut basis, dim, k);
    for _ in 0..ITERATIONS {
        let mut next = vec![0f64; dim * k];
        for i in 0..dim {
            let row = &matrix[i * dim..(i + 1) * dim];
            for (l, &m) in row.iter().enumerate() {
                if m != 0.0 {
                    for j in 0..k {
                        next[i * k + j] += m * basis[l * k + j];
                    }
                }
            }
        }
        orthonormalise(&mut next, dim, k);
        basis = next;
    }
    basis
}

/// Modified Gram-Schmidt on the columns of a row-major `dim × k` matrix.
fn orthonormalise(m: &mut [f64], dim: usize, k: usize) {
    for j in 0..k {
        for p in 0..j {
            let dot: f64 = (0..dim).map(|i| m[i * k + j] * m[i * k + p]).sum();
            for i in 0..dim {
                m[i * k + j] -= dot * m[i * k + p];
            }
        }
        let norm = (0..dim).map(|i| m[i * k + j].powi(2)).sum::<f64>().sqrt();
        // A column that vanished (rank-deficient data) stays zero rather than NaN.
        let scale = if norm > 1e-12 { 1.0 / norm } else { 0.0 };
        for i in 0..dim {
            m[i * k + j] *= scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_directions_of_largest_variance() {
        // Variance 100 along (1,1,0,0)/√2, 25 along e3, tiny elsewhere.
        let mut rng = Rng::new(3);
        let mut values = vec![];
        for _ in 0..500 {
            let (a, b) = (10.0 * rng.normal(), 5.0 * rng.normal());
            let noise: Vec<f64> = (0..4).map(|_| 0.01 * rng.normal()).collect();
            let s = std::f64::consts::FRAC_1_SQRT_2;
            values.extend([a * s + noise[0], a * s + noise[1], b + noise[2], noise[3]]);
        }
        let values: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        let (projected, cols) = project(&values, 4, 2, 1);
        assert_eq!(cols, 2);
        let variance = |j: usize| -> f64 {
            projected.chunks_exact(2).map(|r| r[j] * r[j]).sum::<f64>() / 500.0
        };
        let total: f64 = variance(0) + variance(1);
        assert!((total - 125.0).abs() < 15.0, "kept variance {total}");
        let (_, cols) = project(&values, 4, 8, 1);
        assert_eq!(cols, 4, "nothing to reduce");
    }
}
