//! The supervised baseline's network: the ResNet encoder and a linear classifier on `h`.

use super::ResNet;
use burn::nn::Linear;
use burn::prelude::*;

/// ResNet encoder and linear classifier.
#[derive(Module, Debug)]
pub struct Classifier<B: Backend> {
    /// The encoder.
    pub encoder: ResNet<B>,
    /// The classifier on `h`.
    pub fc: Linear<B>,
}

impl<B: Backend> Classifier<B> {
    /// # Shapes
    /// - `images`: `[N, 3, H, W]` → logits `[N, classes]`
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.fc.forward(self.encoder.forward(images))
    }
}
