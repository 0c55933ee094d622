//! Stride-1 convolutions as "implicit" matrix products on a channel-last copy of each
//! image, with no patch matrix.
//!
//! With the image stored channel-last inside zero borders (`rows × padded_width` pixels
//! of `channels` values), the inputs read by kernel row `ky` for every output position
//! `p = y · padded_width + x` form one strided matrix: row `p` starts at pixel
//! `p + ky · padded_width` and its `kernel_w · channels` values are contiguous. So a
//! convolution is `kernel_h` products with the weights, without the 9× copy that
//! im2col writes and `gemm` packs again; the `padded_width − out_w` columns computed
//! past each output row are discarded (6% extra work on 32×32 planes, 12% on 16×16,
//! which is why smaller planes keep the im2col path). The input gradient is the same
//! correlation of the output gradient with the flipped kernel, and the weight
//! gradient the same strided matrix times the output gradient.

use super::im2col::ConvGeometry;
use super::matmul::{matmul, MatRef};
use super::transpose::transpose;
use rayon::prelude::*;

/// One of the three products of a convolution layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The convolution itself.
    Forward,
    /// Gradient with respect to the input.
    InputGrad,
    /// Gradient with respect to the weight.
    WeightGrad,
}

/// Smallest output side where the direct path beat im2col (`cargo bench -p
/// simclr-kernels --bench conv -- --compare`): on 8×8 planes the discarded columns cost
/// more than the copies saved.
const MIN_SIDE: usize = 16;

/// Whether the direct path takes `pass` of `geometry`: stride 1, padding smaller than
/// the kernel, planes of at least 16×16, and enough channels in the products' shared
/// dimension: the forward and input-gradient products sum over `kernel_w` times the
/// input's (resp. output's) channels and lost to im2col at 16 channels (93 vs 118
/// GFLOP/s), the weight gradient sums over pixels and won at 16 (115 vs 48).
pub fn applies(geometry: &ConvGeometry, pass: Pass) -> bool {
    let Some([out_h, out_w]) = geometry.out_size() else {
        return false;
    };
    let (cin, cout) = (geometry.in_channels, geometry.out_channels);
    let channels_ok = match pass {
        Pass::Forward => cin >= 32 && cout >= 16,
        Pass::InputGrad => cout >= 32 && cin >= 16,
        Pass::WeightGrad => cin.min(cout) >= 16,
    };
    geometry.stride == [1, 1]
        && geometry.padding[0] < geometry.kernel[0]
        && geometry.padding[1] < geometry.kernel[1]
        && out_h.min(out_w) >= MIN_SIDE
        && channels_ok
}

/// A correlation of channel-first images with a kernel whose weights are laid out
/// `[kernel_h][kernel_w][channels][out_channels]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Correlation {
    batch: usize,
    channels: usize,
    out_channels: usize,
    size: [usize; 2],
    padding: [usize; 2],
    kernel: [usize; 2],
}

impl Correlation {
    pub(crate) fn padded_width(&self) -> usize {
        self.size[1] + 2 * self.padding[1]
    }

    fn out_size(&self) -> [usize; 2] {
        let side = |d: usize| self.size[d] + 2 * self.padding[d] + 1 - self.kernel[d];
        [side(0), side(1)]
    }

    /// Length of one padded channel-last image, with `kernel_w − 1` pixels of slack for
    /// the reads of the discarded columns after the last row.
    pub(crate) fn padded_len(&self) -> usize {
        let rows = self.size[0] + 2 * self.padding[0];
        (rows * self.padded_width() + self.kernel[1] - 1) * self.channels
    }

    /// Copies one channel-first image inside the zero borders of `padded` (whose borders
    /// are never written, so they stay zero from one image to the next).
    pub(crate) fn pad(&self, image: &[f32], padded: &mut [f32]) {
        let ([h, w], [top, left]) = (self.size, self.padding);
        let width = self.padded_width();
        for y in 0..h {
            let row = &mut padded[((y + top) * width + left) * self.channels..];
            transpose(
                &image[y * w..],
                [self.channels, w],
                h * w,
                row,
                self.channels,
            );
        }
    }

    /// The inputs read by kernel row `ky` for every output position (padded-width rows).
    fn rows_for<'a>(&self, padded: &'a [f32], ky: usize) -> MatRef<'a> {
        let [out_h, _] = self.out_size();
        MatRef {
            data: &padded[ky * self.padded_width() * self.channels..],
            rows: out_h * self.padded_width(),
            cols: self.kernel[1] * self.channels,
            row_stride: self.channels,
            col_stride: 1,
        }
    }

    /// Channel-first output of every image.
    fn run(&self, input: &[f32], weights: &[f32]) -> Vec<f32> {
        let [out_h, out_w] = self.out_size();
        let (width, per_in) = (
            self.padded_width(),
            self.channels * self.size[0] * self.size[1],
        );
        let per_out = self.out_channels * out_h * out_w;
        let taps = self.kernel[1] * self.channels * self.out_channels;
        let mut output = vec![0.0; self.batch * per_out];
        if per_out == 0 {
            return output;
        }
        let scratch = || {
            let product = vec![0.0; out_h * width * self.out_channels];
            (vec![0.0; self.padded_len()], product)
        };
        output.par_chunks_mut(per_out).enumerate().for_each_init(
            scratch,
            |(padded, product), (index, out)| {
                self.pad(&input[index * per_in..][..per_in], padded);
                for ky in 0..self.kernel[0] {
                    let weights = MatRef::row_major(
                        &weights[ky * taps..][..taps],
                        self.kernel[1] * self.channels,
                        self.out_channels,
                    );
                    matmul(
                        product,
                        self.out_channels,
                        self.rows_for(padded, ky),
                        weights,
                        ky > 0,
                    );
                }
                for y in 0..out_h {
                    let row = &product[y * width * self.out_channels..];
                    let dims = [out_w, self.out_channels];
                    transpose(
                        row,
                        dims,
                        self.out_channels,
                        &mut out[y * out_w..],
                        out_h * out_w,
                    );
                }
            },
        );
        output
    }
}

pub(crate) fn correlation(geometry: &ConvGeometry) -> Correlation {
    Correlation {
        batch: geometry.batch,
        channels: geometry.in_channels,
        out_channels: geometry.out_channels,
        size: geometry.in_size,
        padding: geometry.padding,
        kernel: geometry.kernel,
    }
}

/// `[out][in][ky][kx]` weights as `[ky][kx][in][out]`, flipped in both kernel axes for the
/// input gradient (which then reads `[ky][kx][out][in]`).
pub(crate) fn rearranged(geometry: &ConvGeometry, weight: &[f32], flipped: bool) -> Vec<f32> {
    let (cin, cout, [kh, kw]) = (geometry.in_channels, geometry.out_channels, geometry.kernel);
    let mut out = vec![0.0; weight.len()];
    for (index, value) in weight.iter().enumerate() {
        let (kx, rest) = (index % kw, index / kw);
        let (ky, rest) = (rest % kh, rest / kh);
        let (i, o) = (rest % cin, rest / cin);
        let target = if flipped {
            (((kh - 1 - ky) * kw + (kw - 1 - kx)) * cout + o) * cin + i
        } else {
            ((ky * kw + kx) * cin + i) * cout + o
        };
        out[target] = *value;
    }
    out
}

/// The convolution `x ⋆ weight` (where [`applies`] holds).
///
/// # Shapes
/// - `input`: `[batch, in_channels, in_h, in_w]`
/// - `weight`: `[out_channels, in_channels, kernel_h, kernel_w]`
/// - output: `[batch, out_channels, out_h, out_w]`
pub fn forward(geometry: &ConvGeometry, input: &[f32], weight: &[f32]) -> Vec<f32> {
    correlation(geometry).run(input, &rearranged(geometry, weight, false))
}

/// Gradient with respect to the input: the output gradient, padded by `kernel − 1 −
/// padding`, correlated with the flipped kernel.
///
/// # Shapes
/// - `weight`: `[out_channels, in_channels, kernel_h, kernel_w]`
/// - `grad_output`: `[batch, out_channels, out_h, out_w]`
/// - output: `[batch, in_channels, in_h, in_w]`
pub fn input_grad(geometry: &ConvGeometry, weight: &[f32], grad_output: &[f32]) -> Vec<f32> {
    let [kh, kw] = geometry.kernel;
    let backward = Correlation {
        batch: geometry.batch,
        channels: geometry.out_channels,
        out_channels: geometry.in_channels,
        size: geometry.out_size().unwrap_or([0, 0]),
        padding: [kh - 1 - geometry.padding[0], kw - 1 - geometry.padding[1]],
        kernel: geometry.kernel,
    };
    backward.run(grad_output, &rearranged(geometry, weight, true))
}

/// Gradient with respect to the weight, summed over images per thread and then added up.
///
/// # Shapes
/// - `input`: `[batch, in_channels, in_h, in_w]`
/// - `grad_output`: `[batch, out_channels, out_h, out_w]`
/// - output: `[out_channels, in_channels, kernel_h, kernel_w]`
pub fn weight_grad(geometry: &ConvGeometry, input: &[f32], grad_output: &[f32]) -> Vec<f32> {
    summed_over_workers(geometry, |worker, workers| {
        weight_grad_of(geometry, input, grad_output, worker, workers)
    })
}

/// The sum of `partial(worker, workers)` over one worker per thread, each a weight
/// gradient laid out `[ky][kx][in][out]`, returned as `[out][in][ky][kx]`.
pub(crate) fn summed_over_workers(
    geometry: &ConvGeometry,
    partial: impl Fn(usize, usize) -> Vec<f32> + Sync,
) -> Vec<f32> {
    let len = geometry.out_channels * geometry.patch_len();
    let workers = rayon::current_num_threads().clamp(1, geometry.batch.max(1));
    let partials: Vec<Vec<f32>> = (0..workers)
        .into_par_iter()
        .map(|worker| partial(worker, workers))
        .collect();
    let mut partials = partials.into_iter();
    let mut total = partials.next().unwrap_or_else(|| vec![0.0; len]);
    for partial in partials {
        for (sum, value) in total.iter_mut().zip(&partial) {
            *sum += value;
        }
    }
    let (cin, cout, taps) = (
        geometry.in_channels,
        geometry.out_channels,
        geometry.kernel[0] * geometry.kernel[1],
    );
    let mut weight = vec![0.0; len];
    for (index, value) in total.iter().enumerate() {
        let (o, rest) = (index % cout, index / cout);
        let (i, tap) = (rest % cin, rest / cin);
        weight[(o * cin + i) * taps + tap] = *value;
    }
    weight
}

/// The weight gradient of images `worker, worker + workers, …`, laid out `[ky][kx][in][out]`.
fn weight_grad_of(
    geometry: &ConvGeometry,
    input: &[f32],
    grad_output: &[f32],
    worker: usize,
    workers: usize,
) -> Vec<f32> {
    let forward = correlation(geometry);
    let ([out_h, out_w], width) = (forward.out_size(), forward.padded_width());
    let (cin, cout) = (geometry.in_channels, geometry.out_channels);
    let (per_in, per_out) = (cin * geometry.in_plane(), cout * out_h * out_w);
    let taps = geometry.kernel[1] * cin * cout;
    let mut sum = vec![0.0; geometry.kernel[0] * taps];
    let mut padded = vec![0.0; forward.padded_len()];
    // The output gradient on padded-width rows; the extra columns stay zero, so the
    // inputs they meet add nothing.
    let mut spread = vec![0.0; out_h * width * cout];
    for index in (worker..geometry.batch).step_by(workers) {
        forward.pad(&input[index * per_in..][..per_in], &mut padded);
        let grad = &grad_output[index * per_out..][..per_out];
        for y in 0..out_h {
            let row = &mut spread[y * width * cout..];
            transpose(&grad[y * out_w..], [cout, out_w], out_h * out_w, row, cout);
        }
        let grads = MatRef::row_major(&spread, out_h * width, cout);
        for ky in 0..geometry.kernel[0] {
            let inputs = forward.rows_for(&padded, ky).t();
            matmul(&mut sum[ky * taps..][..taps], cout, inputs, grads, true);
        }
    }
    sum
}
