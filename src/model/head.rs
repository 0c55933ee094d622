//! Projection head `g`: the MLP that maps features `h` to the space of the loss.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// Configuration of the projection head Linear(d, hidden) → ReLU → Linear(hidden, out).
#[derive(Config, Debug)]
pub struct ProjectionHeadConfig {
    /// Size of the encoder's features `h`.
    pub input_dim: usize,
    /// Size of the hidden layer (the paper uses `input_dim`).
    pub hidden_dim: usize,
    /// Size of the projection `z`.
    #[config(default = 128)]
    pub output_dim: usize,
}

/// The 2-layer MLP projection head.
#[derive(Module, Debug)]
pub struct ProjectionHead<B: Backend> {
    /// First layer.
    pub fc1: Linear<B>,
    /// Second layer.
    pub fc2: Linear<B>,
}

impl ProjectionHeadConfig {
    /// A freshly initialised head.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ProjectionHead<B> {
        super::materialize(ProjectionHead {
            fc1: LinearConfig::new(self.input_dim, self.hidden_dim).init(device),
            fc2: LinearConfig::new(self.hidden_dim, self.output_dim).init(device),
        })
    }
}

impl<B: Backend> ProjectionHead<B> {
    /// # Shapes
    /// - `h`: `[N, input_dim]` → `[N, output_dim]`
    pub fn forward(&self, h: Tensor<B, 2>) -> Tensor<B, 2> {
        self.fc2.forward(relu(self.fc1.forward(h)))
    }
}
