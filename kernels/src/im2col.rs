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

/// Writes the patch matrix of one image into columns `[column, column + out_plane)` of
/// `patches`, a row-major matrix with `row_len` columns and `patch_len` rows.
///
/// Plain loops over whole output rows rather than a per-element visitor: at width 16 a
/// row is 32 values, and per-row call overhead made this a fifth of the step.
pub fn im2col(
    geometry: &ConvGeometry,
    image: &[f32],
    patches: &mut [f32],
    row_len: usize,
    column: usize,
) {
    let Some([out_h, out_w]) = geometry.out_size() else {
        return;
    };
    for_each_patch_row(geometry, |patch_row, channel, [kh, kw]| {
        let dst = &mut patches[patch_row * row_len + column..][..out_h * out_w];
        let src = &image[channel * geometry.in_plane()..][..geometry.in_plane()];
        let (first_oh, end_oh) = geometry.valid_outputs(0, kh, out_h);
        let (first_ow, end_ow) = geometry.valid_outputs(1, kw, out_w);
        dst[..first_oh * out_w].fill(0.0);
        dst[end_oh * out_w..].fill(0.0);
        for oh in first_oh..end_oh {
            let out_row = &mut dst[oh * out_w..][..out_w];
            zero_borders(out_row, first_ow, end_ow);
            if first_ow < end_ow {
                let in_row = input_row(geometry, src, oh, kh);
                let start = first_ow * geometry.stride[1] + kw - geometry.padding[1];
                let valid = &mut out_row[first_ow..end_ow];
                if geometry.stride[1] == 1 {
                    valid.copy_from_slice(&in_row[start..start + valid.len()]);
                } else {
                    let strided = in_row[start..].iter().step_by(geometry.stride[1]);
                    for (value, &input) in valid.iter_mut().zip(strided) {
                        *value = input;
                    }
                }
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
    let Some([out_h, out_w]) = geometry.out_size() else {
        return;
    };
    let plane = geometry.in_plane();
    for_each_patch_row(geometry, |patch_row, channel, [kh, kw]| {
        let src = &patches[patch_row * row_len + column..][..out_h * out_w];
        let dst = &mut image[channel * plane..][..plane];
        let (first_oh, end_oh) = geometry.valid_outputs(0, kh, out_h);
        let (first_ow, end_ow) = geometry.valid_outputs(1, kw, out_w);
        if first_ow >= end_ow {
            return;
        }
        for oh in first_oh..end_oh {
            let ih = oh * geometry.stride[0] + kh - geometry.padding[0];
            let in_row = &mut dst[ih * geometry.in_size[1]..][..geometry.in_size[1]];
            let start = first_ow * geometry.stride[1] + kw - geometry.padding[1];
            let values = &src[oh * out_w + first_ow..oh * out_w + end_ow];
            if geometry.stride[1] == 1 {
                for (target, value) in in_row[start..start + values.len()].iter_mut().zip(values) {
                    *target += value;
                }
            } else {
                let strided = in_row[start..].iter_mut().step_by(geometry.stride[1]);
                for (target, value) in strided.zip(values) {
                    *target += value;
                }
            }
        }
    });
}

/// Calls `f(patch_row, input_channel, [kh, kw])` for every row of the patch matrix.
fn for_each_patch_row(geometry: &ConvGeometry, mut f: impl FnMut(usize, usize, [usize; 2])) {
    let [kernel_h, kernel_w] = geometry.kernel;
    for channel in 0..geometry.in_channels {
        for kh in 0..kernel_h {
            for kw in 0..kernel_w {
                f((channel * kernel_h + kh) * kernel_w + kw, channel, [kh, kw]);
            }
        }
    }
}

/// Input row read by output row `oh` at kernel row `kh` (inside the valid range).
fn input_row<'a>(geometry: &ConvGeometry, plane: &'a [f32], oh: usize, kh: usize) -> &'a [f32] {
    let ih = oh * geometry.stride[0] + kh - geometry.padding[0];
    &plane[ih * geometry.in_size[1]..][..geometry.in_size[1]]
}

/// Zeroes the padding reads at both ends of an output row (at most a few values, so a
/// loop rather than `fill`'s call).
fn zero_borders(row: &mut [f32], first: usize, end: usize) {
    let end = end.max(first);
    for value in &mut row[..first] {
        *value = 0.0;
    }
    for value in &mut row[end..] {
        *value = 0.0;
    }
}
