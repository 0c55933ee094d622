//! A bounds-checked door to the `gemm` crate's strided f32 matrix product, the same
//! kernels Burn's `flex` backend uses.

/// A read-only strided view of an `rows × cols` matrix inside a slice: element `(r, c)` is
/// `data[r * row_stride + c * col_stride]`. Strides of a transposed view are swapped.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a> {
    /// The storage.
    pub data: &'a [f32],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Distance between rows.
    pub row_stride: usize,
    /// Distance between columns.
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` matrix at the start of `data`.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The same storage read as the transpose.
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    fn fits(&self) -> bool {
        fits(
            self.data.len(),
            self.rows,
            self.cols,
            self.row_stride,
            self.col_stride,
        )
    }
}

fn fits(len: usize, rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    let last = (rows - 1).checked_mul(row_stride).and_then(|r| {
        (cols - 1)
            .checked_mul(col_stride)
            .and_then(|c| r.checked_add(c))
    });
    matches!(last, Some(last) if last < len) && isize::try_from(len).is_ok()
}

/// `dst = lhs × rhs`, or `dst += lhs × rhs` with `accumulate`, where `dst` is row-major
/// with `dst_row_stride` between rows. Runs on the calling thread: callers split work
/// across threads themselves, so that small machines are not oversubscribed.
///
/// # Panics
/// If the shapes disagree or a view reaches past its slice.
pub fn matmul(
    dst: &mut [f32],
    dst_row_stride: usize,
    lhs: MatRef<'_>,
    rhs: MatRef<'_>,
    accumulate: bool,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "matmul: inner dimensions differ");
    assert!(
        lhs.fits() && rhs.fits() && fits(dst.len(), m, n, dst_row_stride, 1),
        "matmul: a view reaches past its storage"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for row in 0..m {
                dst[row * dst_row_stride..][..n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: every element `gemm` reads or writes lies inside the slices: `fits` checked
    // the largest offset of each view against its length (and that lengths fit `isize`),
    // and `dst` is borrowed mutably, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The machine's f32 matrix-product throughput as the convolution kernels use it: every
/// rayon thread multiplying its own 512×512 matrices on one thread, in GFLOP/s (best of a
/// few rounds of about a tenth of a second).
pub fn peak_gflops() -> f64 {
    use rayon::prelude::*;
    const SIDE: usize = 512;
    let threads = rayon::current_num_threads();
    let a: Vec<f32> = (0..SIDE * SIDE).map(|i| (i % 7) as f32 * 0.25).collect();
    let a = MatRef::row_major(&a, SIDE, SIDE);
    let flop_per_product = 2.0 * (SIDE * SIDE * SIDE) as f64;
    let mut best: f64 = 0.0;
    for _ in 0..4 {
        let repeats = 4;
        let start = web_time::Instant::now();
        (0..threads).into_par_iter().for_each(|_| {
            let mut dst = vec![0.0; SIDE * SIDE];
            for _ in 0..repeats {
                matmul(&mut dst, SIDE, a, a, false);
            }
        });
        let seconds = start.elapsed().as_secs_f64();
        best = best.max(flop_per_product * (threads * repeats) as f64 / seconds / 1e9);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &MatRef<'_>, b: &MatRef<'_>) -> Vec<f32> {
        let mut out = vec![0.0; a.rows * b.cols];
        for r in 0..a.rows {
            for c in 0..b.cols {
                out[r * b.cols + c] = (0..a.cols)
                    .map(|i| {
                        a.data[r * a.row_stride + i * a.col_stride]
                            * b.data[i * b.row_stride + c * b.col_stride]
                    })
                    .sum();
            }
        }
        out
    }

    #[test]
    fn matches_naive_product_with_transposed_views_and_accumulation() {
        let a: Vec<f32> = (0..35).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..77).map(|i| (i as f32 * 0.11).cos()).collect();
        // a is 5×7 read as its 7×5 transpose; b is 7×11 (row-major) read as is.
        let lhs = MatRef::row_major(&a, 5, 7).t();
        let rhs = MatRef::row_major(&b[..35], 5, 7);
        let expected = naive(&lhs, &rhs);
        let mut dst = vec![1.0; 49];
        matmul(&mut dst, 7, lhs, rhs, true);
        for (got, want) in dst.iter().zip(&expected) {
            assert!((got - (want + 1.0)).abs() < 1e-5, "{got} vs {want} + 1");
        }
        matmul(&mut dst, 7, lhs, rhs, false);
        for (got, want) in dst.iter().zip(&expected) {
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
    }

    #[test]
    #[should_panic(expected = "past its storage")]
    fn refuses_a_view_past_its_slice() {
        let a = vec![0.0; 6];
        let mut dst = vec![0.0; 9];
        let view = MatRef::row_major(&a, 3, 3);
        matmul(&mut dst, 3, view, view, false);
    }
}
