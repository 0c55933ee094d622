//! 2-D convolution and its two gradients on `f32` slices, as patch matrices times weight
//! matrices, split by images across rayon's threads (each product runs on one thread).
//!
//! Burn 0.21's `flex` computes the weight gradient as a convolution over swapped
//! dimensions (very skinny products) and the input gradient one image at a time on one
//! thread; here all three are products with a few hundred columns, and the weight
//! gradient sums per-thread partial products over the batch.

use super::channels_last;
use super::direct::{self, Pass};
use super::im2col::{col2im, im2col, ConvGeometry};
use super::matmul::{matmul, MatRef};
use rayon::prelude::*;

/// Scratch buffers of one thread.
#[derive(Default)]
struct Scratch {
    patches: Vec<f32>,
    gathered: Vec<f32>,
}

fn resized(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    buffer.resize(len, 0.0);
    &mut buffer[..len]
}

fn threads() -> usize {
    rayon::current_num_threads()
}

/// Patch matrix (`patch_len × images·out_plane`) of images `first..first + images`.
fn patches_of<'a>(
    geometry: &ConvGeometry,
    input: &[f32],
    first: usize,
    images: usize,
    buffer: &'a mut Vec<f32>,
) -> &'a [f32] {
    let (plane_in, plane_out) = (geometry.in_plane(), geometry.out_plane());
    let row_len = images * plane_out;
    let patches = resized(buffer, geometry.patch_len() * row_len);
    for i in 0..images {
        let image = &input[(first + i) * geometry.in_channels * plane_in..]
            [..geometry.in_channels * plane_in];
        im2col(geometry, image, patches, row_len, i * plane_out);
    }
    patches
}

/// Output gradients of images `first..first + images` as one `out_channels ×
/// images·out_plane` matrix (gathered into `buffer` when there are several).
fn gathered_outputs<'a>(
    geometry: &ConvGeometry,
    grad_output: &'a [f32],
    first: usize,
    images: usize,
    buffer: &'a mut Vec<f32>,
) -> &'a [f32] {
    let plane = geometry.out_plane();
    let per_image = geometry.out_channels * plane;
    let source = &grad_output[first * per_image..][..images * per_image];
    // One image's gradient is already an `out_channels × out_plane` matrix: no copy.
    if images == 1 {
        return source;
    }
    let row_len = images * plane;
    let gathered = resized(buffer, geometry.out_channels * row_len);
    for (i, image) in source.chunks_exact(per_image).enumerate() {
        for (o, channel) in image.chunks_exact(plane).enumerate() {
            gathered[o * row_len + i * plane..][..plane].copy_from_slice(channel);
        }
    }
    gathered
}

/// The convolution `x ⋆ weight`: [`direct::forward`] where it applies, else
/// [`channels_last::forward`] where it applies, else im2col on channel-first planes.
///
/// # Shapes
/// - `input`: `[batch, in_channels, in_h, in_w]`
/// - `weight`: `[out_channels, in_channels, kernel_h, kernel_w]`
/// - output: `[batch, out_channels, out_h, out_w]`
pub fn forward(geometry: &ConvGeometry, input: &[f32], weight: &[f32]) -> Vec<f32> {
    if direct::applies(geometry, Pass::Forward) {
        direct::forward(geometry, input, weight)
    } else if channels_last::applies(geometry) {
        channels_last::forward(geometry, input, weight)
    } else {
        forward_im2col(geometry, input, weight)
    }
}

/// Gradient of the loss with respect to the convolution's input, direct or im2col.
///
/// # Shapes
/// - `weight`: `[out_channels, in_channels, kernel_h, kernel_w]`
/// - `grad_output`: `[batch, out_channels, out_h, out_w]`
/// - output: `[batch, in_channels, in_h, in_w]`
pub fn input_grad(geometry: &ConvGeometry, weight: &[f32], grad_output: &[f32]) -> Vec<f32> {
    if direct::applies(geometry, Pass::InputGrad) {
        direct::input_grad(geometry, weight, grad_output)
    } else if channels_last::applies(geometry) {
        channels_last::input_grad(geometry, weight, grad_output)
    } else {
        input_grad_im2col(geometry, weight, grad_output)
    }
}

/// Gradient of the loss with respect to the weight, direct or im2col.
///
/// # Shapes
/// - `input`: `[batch, in_channels, in_h, in_w]`
/// - `grad_output`: `[batch, out_channels, out_h, out_w]`
/// - output: `[out_channels, in_channels, kernel_h, kernel_w]`
pub fn weight_grad(geometry: &ConvGeometry, input: &[f32], grad_output: &[f32]) -> Vec<f32> {
    if direct::applies(geometry, Pass::WeightGrad) {
        direct::weight_grad(geometry, input, grad_output)
    } else if channels_last::applies(geometry) {
        channels_last::weight_grad(geometry, input, grad_output)
    } else {
        weight_grad_im2col(geometry, input, grad_output)
    }
}

/// [`forward`] through the patch matrix, for any geometry.
pub fn forward_im2col(geometry: &ConvGeometry, input: &[f32], weight: &[f32]) -> Vec<f32> {
    let plane = geometry.out_plane();
    let per_image = geometry.out_channels * plane;
    let mut output = vec![0.0; geometry.batch * per_image];
    if output.is_empty() {
        return output;
    }
    let chunk = geometry.images_per_chunk(threads());
    let weights = MatRef::row_major(weight, geometry.out_channels, geometry.patch_len());
    output
        .par_chunks_mut(chunk * per_image)
        .enumerate()
        .for_each_init(Scratch::default, |scratch, (index, out)| {
            let images = out.len() / per_image.max(1);
            let patches = patches_of(geometry, input, index * chunk, images, &mut scratch.patches);
            let row_len = images * plane;
            let patches = MatRef::row_major(patches, geometry.patch_len(), row_len);
            if images == 1 {
                matmul(out, row_len, weights, patches, false);
                return;
            }
            let product = resized(&mut scratch.gathered, geometry.out_channels * row_len);
            matmul(product, row_len, weights, patches, false);
            for (i, image) in out.chunks_exact_mut(per_image).enumerate() {
                for (o, channel) in image.chunks_exact_mut(plane).enumerate() {
                    channel.copy_from_slice(&product[o * row_len + i * plane..][..plane]);
                }
            }
        });
    output
}

/// [`input_grad`] through the patch matrix, for any geometry.
pub fn input_grad_im2col(geometry: &ConvGeometry, weight: &[f32], grad_output: &[f32]) -> Vec<f32> {
    let per_image = geometry.in_channels * geometry.in_plane();
    let mut grad_input = vec![0.0; geometry.batch * per_image];
    if grad_input.is_empty() || geometry.out_plane() == 0 {
        return grad_input;
    }
    let chunk = geometry.images_per_chunk(threads());
    let plane = geometry.out_plane();
    let weights_t = MatRef::row_major(weight, geometry.out_channels, geometry.patch_len()).t();
    grad_input
        .par_chunks_mut(chunk * per_image)
        .enumerate()
        .for_each_init(Scratch::default, |scratch, (index, grad)| {
            let images = grad.len() / per_image.max(1);
            let row_len = images * plane;
            let grads = gathered_outputs(
                geometry,
                grad_output,
                index * chunk,
                images,
                &mut scratch.gathered,
            );
            let grads = MatRef::row_major(grads, geometry.out_channels, row_len);
            let patches = resized(&mut scratch.patches, geometry.patch_len() * row_len);
            matmul(patches, row_len, weights_t, grads, false);
            for (i, image) in grad.chunks_exact_mut(per_image).enumerate() {
                col2im(geometry, patches, row_len, i * plane, image);
            }
        });
    grad_input
}

/// [`weight_grad`] through the patch matrix, for any geometry: the sum over images of
/// output gradients times patch matrices, accumulated per thread and then added up.
pub fn weight_grad_im2col(geometry: &ConvGeometry, input: &[f32], grad_output: &[f32]) -> Vec<f32> {
    let len = geometry.out_channels * geometry.patch_len();
    if geometry.batch == 0 || geometry.out_plane() == 0 {
        return vec![0.0; len];
    }
    let chunk = geometry.images_per_chunk(threads());
    let chunks = geometry.batch.div_ceil(chunk.max(1));
    let workers = threads().clamp(1, chunks.max(1));
    let partials: Vec<Vec<f32>> = (0..workers)
        .into_par_iter()
        .map(|worker| {
            let mut sum = vec![0.0; len];
            let mut scratch = Scratch::default();
            for index in (worker..chunks).step_by(workers) {
                let first = index * chunk;
                let images = chunk.min(geometry.batch - first);
                accumulate_weight_grad(
                    geometry,
                    input,
                    grad_output,
                    first,
                    images,
                    &mut scratch,
                    &mut sum,
                );
            }
            sum
        })
        .collect();
    let mut partials = partials.into_iter();
    let mut total = partials.next().unwrap_or_else(|| vec![0.0; len]);
    for partial in partials {
        for (t, p) in total.iter_mut().zip(&partial) {
            *t += p;
        }
    }
    total
}

fn accumulate_weight_grad(
    geometry: &ConvGeometry,
    input: &[f32],
    grad_output: &[f32],
    first: usize,
    images: usize,
    scratch: &mut Scratch,
    sum: &mut [f32],
) {
    let row_len = images * geometry.out_plane();
    let patches = patches_of(geometry, input, first, images, &mut scratch.patches);
    let patches_t = MatRef::row_major(patches, geometry.patch_len(), row_len).t();
    let grads = gathered_outputs(geometry, grad_output, first, images, &mut scratch.gathered);
    let grads = MatRef::row_major(grads, geometry.out_channels, row_len);
    matmul(sum, geometry.patch_len(), grads, patches_t, true);
}
