//! Convolutions of any stride through a patch matrix built from a channel-last copy of
//! each image: each patch row is `kernel_h` runs of `kernel_w · channels` contiguous
//! values (whole-run copies instead of im2col's short per-row gathers from channel-first
//! planes), and the matrix is laid out so that `gemm` reads it as it is instead of
//! packing it again.

use super::direct::{correlation, rearranged, summed_over_workers, Correlation};
use super::im2col::ConvGeometry;
use super::matmul::{matmul, MatRef};
use super::transpose::transpose;
use rayon::prelude::*;

/// Whether the channel-last patches beat im2col's on `geometry` (`cargo bench -p
/// simclr-kernels --bench conv -- --compare [WIDTH]`): kernels of at least 2×2 on at
/// least 16 input channels (1×1 kernels and the 3-channel stem lost), where the output
/// has at least 8×8 pixels or the patch rows at most 1,152 values (on 4×4 planes with
/// 256 or 512 channels im2col won: 210 vs 178 GFLOP/s forward).
pub fn applies(geometry: &ConvGeometry) -> bool {
    let plane = geometry.out_plane();
    geometry.kernel[0] >= 2
        && geometry.kernel[1] >= 2
        && geometry.in_channels >= 16
        && plane > 0
        && (plane >= 64 || geometry.patch_len() <= 1152)
}

/// Scratch buffers of one thread.
#[derive(Default)]
struct Scratch {
    padded: Vec<f32>,
    patches: Vec<f32>,
    grads: Vec<f32>,
}

fn resized(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    buffer.resize(len, 0.0);
    &mut buffer[..len]
}

/// Sizes of one geometry's matrices.
#[derive(Debug, Clone, Copy)]
struct Layout {
    geometry: ConvGeometry,
    image: Correlation,
    out_size: [usize; 2],
    /// Values per patch row.
    patch_len: usize,
    /// Images per matrix product.
    chunk: usize,
}

impl Layout {
    fn new(geometry: &ConvGeometry) -> Self {
        Self {
            geometry: *geometry,
            image: correlation(geometry),
            out_size: geometry.out_size().unwrap_or([0, 0]),
            patch_len: geometry.patch_len(),
            chunk: geometry.images_per_chunk(rayon::current_num_threads()),
        }
    }

    fn out_plane(&self) -> usize {
        self.out_size[0] * self.out_size[1]
    }

    fn per_in(&self) -> usize {
        self.geometry.in_channels * self.geometry.in_plane()
    }

    fn per_out(&self) -> usize {
        self.geometry.out_channels * self.out_plane()
    }

    /// Calls `f(patch_row, ky, start)` for every run: row `patch_row` of the patch matrix
    /// holds at `ky · kernel_w · channels` the run that starts at `start` in the padded
    /// channel-last image.
    fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize)) {
        let g = &self.geometry;
        let width = self.image.padded_width();
        let [out_h, out_w] = self.out_size;
        for oy in 0..out_h {
            for ox in 0..out_w {
                for ky in 0..g.kernel[0] {
                    let pixel = (oy * g.stride[0] + ky) * width + ox * g.stride[1];
                    f(oy * out_w + ox, ky, pixel * g.in_channels);
                }
            }
        }
    }

    fn run_len(&self) -> usize {
        self.geometry.kernel[1] * self.geometry.in_channels
    }

    /// Writes the patch rows of image `index` into `patches` (`out_plane × patch_len`).
    fn patches(&self, input: &[f32], index: usize, padded: &mut [f32], patches: &mut [f32]) {
        let per_in = self.per_in();
        self.image.pad(&input[index * per_in..][..per_in], padded);
        let (run, patch_len) = (self.run_len(), self.patch_len);
        self.for_each_run(|row, ky, start| {
            patches[row * patch_len + ky * run..][..run].copy_from_slice(&padded[start..][..run]);
        });
    }

    /// The patch matrix of images `first..first + images` (`images · out_plane` rows).
    fn patch_matrix<'a>(
        &self,
        input: &[f32],
        [first, images]: [usize; 2],
        [padded, patches]: [&'a mut Vec<f32>; 2],
    ) -> &'a mut [f32] {
        let padded = resized(padded, self.image.padded_len());
        let patches = resized(patches, images * self.out_plane() * self.patch_len);
        for (i, rows) in patches
            .chunks_exact_mut(self.out_plane() * self.patch_len)
            .enumerate()
        {
            self.patches(input, first + i, padded, rows);
        }
        patches
    }

    /// The output gradients of images `first..first + images` as `images · out_plane ×
    /// out_channels` rows.
    fn grad_matrix<'a>(
        &self,
        grad_output: &[f32],
        [first, images]: [usize; 2],
        buffer: &'a mut Vec<f32>,
    ) -> &'a mut [f32] {
        let (per_out, plane) = (self.per_out(), self.out_plane());
        let channels = self.geometry.out_channels;
        let grads = resized(buffer, images * plane * channels);
        for (i, rows) in grads.chunks_exact_mut(plane * channels).enumerate() {
            let image = &grad_output[(first + i) * per_out..][..per_out];
            transpose(image, [channels, plane], plane, rows, channels);
        }
        grads
    }

    /// Adds one image's patch-row gradients back onto its padded copy, then writes the
    /// inside of that copy channel-first into `grad_input`.
    fn scatter(&self, patch_grads: &[f32], padded: &mut [f32], grad_input: &mut [f32]) {
        padded.fill(0.0);
        let (run, patch_len) = (self.run_len(), self.patch_len);
        self.for_each_run(|row, ky, start| {
            let source = &patch_grads[row * patch_len + ky * run..][..run];
            for (target, value) in padded[start..][..run].iter_mut().zip(source) {
                *target += value;
            }
        });
        let ([h, w], [top, left]) = (self.geometry.in_size, self.geometry.padding);
        let (channels, width) = (self.geometry.in_channels, self.image.padded_width());
        for y in 0..h {
            let row = &padded[((y + top) * width + left) * channels..];
            transpose(
                row,
                [w, channels],
                channels,
                &mut grad_input[y * w..],
                h * w,
            );
        }
    }
}

/// The convolution `x ⋆ weight`.
///
/// # Shapes
/// - `input`: `[batch, in_channels, in_h, in_w]`
/// - `weight`: `[out_channels, in_channels, kernel_h, kernel_w]`
/// - output: `[batch, out_channels, out_h, out_w]`
pub fn forward(geometry: &ConvGeometry, input: &[f32], weight: &[f32]) -> Vec<f32> {
    let layout = Layout::new(geometry);
    let (per_out, plane, cout) = (layout.per_out(), layout.out_plane(), geometry.out_channels);
    let mut output = vec![0.0; geometry.batch * per_out];
    if per_out == 0 {
        return output;
    }
    let weights = rearranged(geometry, weight, false);
    let weights = MatRef::row_major(&weights, layout.patch_len, cout);
    output
        .par_chunks_mut(layout.chunk * per_out)
        .enumerate()
        .for_each_init(Scratch::default, |scratch, (index, out)| {
            let images = out.len() / per_out;
            let rows = images * plane;
            let product = resized(&mut scratch.grads, rows * cout);
            let buffers = [&mut scratch.padded, &mut scratch.patches];
            let patches = layout.patch_matrix(input, [index * layout.chunk, images], buffers);
            let patches = MatRef::row_major(patches, rows, layout.patch_len);
            matmul(product, cout, patches, weights, false);
            for (image, values) in out
                .chunks_exact_mut(per_out)
                .zip(product.chunks_exact(plane * cout))
            {
                transpose(values, [plane, cout], cout, image, plane);
            }
        });
    output
}

/// Gradient with respect to the input.
///
/// # Shapes
/// - `weight`: `[out_channels, in_channels, kernel_h, kernel_w]`
/// - `grad_output`: `[batch, out_channels, out_h, out_w]`
/// - output: `[batch, in_channels, in_h, in_w]`
pub fn input_grad(geometry: &ConvGeometry, weight: &[f32], grad_output: &[f32]) -> Vec<f32> {
    let layout = Layout::new(geometry);
    let (per_in, plane, cout) = (layout.per_in(), layout.out_plane(), geometry.out_channels);
    let mut grad_input = vec![0.0; geometry.batch * per_in];
    if per_in == 0 || plane == 0 {
        return grad_input;
    }
    let weights = rearranged(geometry, weight, false);
    let weights_t = MatRef::row_major(&weights, layout.patch_len, cout).t();
    grad_input
        .par_chunks_mut(layout.chunk * per_in)
        .enumerate()
        .for_each_init(Scratch::default, |scratch, (index, grad)| {
            let images = grad.len() / per_in;
            let rows = images * plane;
            let grads = layout.grad_matrix(
                grad_output,
                [index * layout.chunk, images],
                &mut scratch.grads,
            );
            let patch_grads = resized(&mut scratch.patches, rows * layout.patch_len);
            let grads = MatRef::row_major(grads, rows, cout);
            matmul(patch_grads, layout.patch_len, grads, weights_t, false);
            let padded = resized(&mut scratch.padded, layout.image.padded_len());
            let per_image = patch_grads.chunks_exact(plane * layout.patch_len);
            for (image, values) in grad.chunks_exact_mut(per_in).zip(per_image) {
                layout.scatter(values, padded, image);
            }
        });
    grad_input
}

/// Gradient with respect to the weight, summed over images per thread and then added up.
///
/// # Shapes
/// - `input`: `[batch, in_channels, in_h, in_w]`
/// - `grad_output`: `[batch, out_channels, out_h, out_w]`
/// - output: `[out_channels, in_channels, kernel_h, kernel_w]`
pub fn weight_grad(geometry: &ConvGeometry, input: &[f32], grad_output: &[f32]) -> Vec<f32> {
    let layout = Layout::new(geometry);
    let (plane, cout) = (layout.out_plane(), geometry.out_channels);
    let chunks = geometry.batch.div_ceil(layout.chunk.max(1));
    summed_over_workers(geometry, |worker, workers| {
        let mut sum = vec![0.0; layout.patch_len * cout];
        let mut scratch = Scratch::default();
        for index in (worker..chunks).step_by(workers) {
            let first = index * layout.chunk;
            let images = layout.chunk.min(geometry.batch - first);
            let rows = images * plane;
            let grads = layout.grad_matrix(grad_output, [first, images], &mut scratch.grads);
            let buffers = [&mut scratch.padded, &mut scratch.patches];
            let patches = layout.patch_matrix(input, [first, images], buffers);
            let patches = MatRef::row_major(patches, rows, layout.patch_len).t();
            matmul(
                &mut sum,
                cout,
                patches,
                MatRef::row_major(grads, rows, cout),
                true,
            );
        }
        sum
    })
}
