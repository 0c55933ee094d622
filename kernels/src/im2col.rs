//! Convolution geometry and the patch matrix ("im2col") that turns a convolution into one
//! matrix product, with its adjoint ("col2im") for the input gradient.

/// A 2-D convolution on contiguous NCHW `f32` tensors with one group and no dilation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Images.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Input height and width.
    pub in_size: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width (non-zero).
    pub stride: [usize; 2],
    /// Zero padding on both sides of height and width.
    pub padding: [usize; 2],
}

impl ConvGeometry {
    /// Output height and width; `None` where the kernel does not fit the padded input or
    /// a stride is zero.
    pub fn out_size(&self) -> Option<[usize; 2]> {
        let side = |d: usize| {
            let padded = self.in_size[d] + 2 * self.padding[d];
            (self.stride[d] > 0 && self.kernel[d] > 0 && padded >= self.kernel[d])
                .then(|| (padded - self.kernel[d]) / self.stride[d] + 1)
        };
        Some([side(0)?, side(1)?])
    }

    /// Pixels of one input plane.
    pub fn in_plane(&self) -> usize {
        self.in_size[0] * self.in_size[1]
    }

    /// Pixels of one output plane (zero for a geometry without output).
    pub fn out_plane(&self) -> usize {
        self.out_size().map_or(0, |[h, w]| h * w)
    }

    /// Rows of the patch matrix: one per (input channel, kernel row, kernel column).
    pub fn patch_len(&self) -> usize {
        self.in_channels * self.kernel[0] * self.kernel[1]
    }

    /// Images per matrix product: enough that the product has a few hundred columns
    /// (late layers have 4×4 planes), few enough that every thread gets a share.
    pub fn images_per_chunk(&self, threads: usize) -> usize {
        const TARGET_COLUMNS: usize = 512;
        let wanted = TARGET_COLUMNS.div_ceil(self.out_plane().max(1));
        let fair_share = self.batch.div_ceil(threads.max(1)).max(1);
        wanted.clamp(1, fair_share)
    }

    /// For kernel offset `k` along dimension `d`: the output positions whose input
    /// position `o * stride + k - padding` lies inside the image, as a range.
    fn valid_outputs(&self, d: usize, k: usize, out: usize) -> (usize, usize) {
        let (stride, pad, size) = (self.stride[d], self.padding[d], self.in_size[d]);
        let first = pad.saturating_sub(k).div_ceil(stride).min(out);
        let end = if size + pad > k {
            (size + pad - k).div_ceil(stride).min(out)
        } else {
            0
        };
        (first, end.max(first))
    }
}

/// One output row's reads for one patch row: output columns `first..end` read the input
/// at `input_start`, `input_start + stride`, ...; the other columns read padding.
#[derive(Debug, Clone, Copy)]
struct RowReads {
    patch_row: usize,
    out_start: usize,
    input_start: usize,
    stride: usize,
    first: usize,
    end: usize,
}

/// Writes the patch matrix of one image into columns `[column, column + out_plane)` of
/// `patches`, a row-major matrix with `row_len` columns and `patch_len` rows.
pub fn im2col(
    geometry: &ConvGeometry,
    image: &[f32],
    patches: &mut [f32],
    row_len: usize,
    column: usize,
) {
    let out_w = geometry.out_size().map_or(0, |[_, w]| w);
    visit(geometry, |reads| {
        let dst = &mut patches[reads.patch_row * row_len + column + reads.out_start..][..out_w];
        let (first, end) = (reads.first, reads.end);
        dst[..first].fill(0.0);
        dst[end..].fill(0.0);
        let source = &image[reads.input_start..];
        if reads.stride == 1 {
            dst[first..end].copy_from_slice(&source[..end - first]);
        } else {
            for (o, value) in dst[first..end].iter_mut().enumerate() {
                *value = source[o * reads.stride];
            }
        }
    });
}

/// The adjoint of [`im2col`]: adds columns `[column, column + out_plane)` of `patches`
/// back onto the input positions they were read from.
pub fn col2im(
    geometry: &ConvGeometry,
    patches: &[f32],
    row_len: usize,
    column: usize,
    image: &mut [f32],
) {
    visit(geometry, |reads| {
        let values = &patches[reads.patch_row * row_len + column + reads.out_start..]
            [reads.first..reads.end];
        let target = &mut image[reads.input_start..];
        if reads.stride == 1 {
            for (t, v) in target.iter_mut().zip(values) {
                *t += v;
            }
        } else {
            for (o, v) in values.iter().enumerate() {
                target[o * reads.stride] += v;
            }
        }
    });
}

/// Calls `f` for every (patch row, output row) pair.
fn visit(geometry: &ConvGeometry, mut f: impl FnMut(RowReads)) {
    let Some([out_h, out_w]) = geometry.out_size() else {
        return;
    };
    let [kernel_h, kernel_w] = geometry.kernel;
    let [in_h, in_w] = geometry.in_size;
    for c in 0..geometry.in_channels {
        for kh in 0..kernel_h {
            let (first_oh, end_oh) = geometry.valid_outputs(0, kh, out_h);
            for kw in 0..kernel_w {
                let patch_row = (c * kernel_h + kh) * kernel_w + kw;
                let (first_ow, end_ow) = geometry.valid_outputs(1, kw, out_w);
                for oh in 0..out_h {
                    let inside = (first_oh..end_oh).contains(&oh) && first_ow < end_ow;
                    let mut reads = RowReads {
                        patch_row,
                        out_start: oh * out_w,
                        input_start: 0,
                        stride: geometry.stride[1],
                        first: 0,
                        end: 0,
                    };
                    if inside {
                        // Both sums are non-negative inside the valid ranges.
                        let ih = oh * geometry.stride[0] + kh - geometry.padding[0];
                        let iw = first_ow * geometry.stride[1] + kw - geometry.padding[1];
                        reads.input_start = (c * in_h + ih) * in_w + iw;
                        reads.first = first_ow;
                        reads.end = end_ow;
                    }
                    f(reads);
                }
            }
        }
    }
}
