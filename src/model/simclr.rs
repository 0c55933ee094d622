//! The SimCLR network: encoder `f` and projection head `g`.

use super::head::{ProjectionHead, ProjectionHeadConfig};
use super::resnet::{ResNet, ResNetConfig};
use burn::prelude::*;

/// Configuration of encoder and projection head.
#[derive(Config, Debug)]
pub struct SimclrModelConfig {
    /// The encoder.
    pub encoder: ResNetConfig,
    /// Size of the projection `z`.
    #[config(default = 128)]
    pub projection_dim: usize,
}

/// Encoder `f` followed by projection head `g`.
#[derive(Module, Debug)]
pub struct SimclrModel<B: Backend> {
    /// The ResNet-18 encoder.
    pub encoder: ResNet<B>,
    /// The MLP projection head.
    pub projection: ProjectionHead<B>,
}

impl SimclrModelConfig {
    /// A freshly initialised model.
    pub fn init<B: Backend>(&self, device: &B::Device) -> SimclrModel<B> {
        let d = self.encoder.feature_dim();
        SimclrModel {
            encoder: self.encoder.init(device),
            projection: ProjectionHeadConfig::new(d, d)
                .with_output_dim(self.projection_dim)
                .init(device),
        }
    }
}

impl<B: Backend> SimclrModel<B> {
    /// Projections `z = g(f(x))`.
    ///
    /// # Shapes
    /// - `images`: `[N, 3, H, W]`
    /// - output: `[N, projection_dim]`
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.projection.forward(self.encoder.forward(images))
    }
}
