//! Encoding images into features `h` with a frozen encoder.

use crate::augment::{normalize, to_unit_tensor};
use crate::data::{Normalization, Split};
use crate::model::ResNet;
use burn::prelude::*;

/// Features `h` of the images at `indices`, in that order, encoded `batch_size` at a time
/// with the encoder as given (pass `encoder.valid()` for running BatchNorm statistics).
///
/// # Shapes
/// - output: `[indices.len(), 8 × width]`
pub fn encode<B: Backend>(
    encoder: &ResNet<B>,
    split: &Split,
    indices: &[usize],
    normalization: &Normalization,
    batch_size: usize,
    device: &B::Device,
) -> Tensor<B, 2> {
    if indices.is_empty() {
        return Tensor::zeros([0, encoder.config().feature_dim()], device);
    }
    forward_images(
        split,
        indices,
        normalization,
        batch_size,
        device,
        |images| encoder.forward(images),
    )
}

/// `forward` applied to the normalised images at `indices`, `batch_size` at a time, the
/// outputs stacked in order. `indices` must not be empty.
///
/// # Shapes
/// - `forward`: `[n, 3, H, W]` → `[n, D]`; output: `[indices.len(), D]`
pub fn forward_images<B: Backend>(
    split: &Split,
    indices: &[usize],
    normalization: &Normalization,
    batch_size: usize,
    device: &B::Device,
    forward: impl Fn(Tensor<B, 4>) -> Tensor<B, 2>,
) -> Tensor<B, 2> {
    let chunks: Vec<Tensor<B, 2>> = indices
        .chunks(batch_size.max(1))
        .map(|chunk| {
            let pixels = split.batch_u8(chunk);
            let images =
                to_unit_tensor::<B>(&pixels, chunk.len(), split.height(), split.width(), device);
            forward(normalize(images, normalization))
        })
        .collect();
    Tensor::cat(chunks, 0)
}

/// Indices of the labelled images of a split, in file order.
pub fn labelled_indices(split: &Split) -> Vec<usize> {
    (0..split.len())
        .filter(|&i| split.label(i).is_some())
        .collect()
}
