//! SimCLR (Chen et al. 2020) with Burn: data, augmentation, ResNet-18, NT-Xent, training,
//! checkpoints and weights, shared by the native binary and the browser app.

pub mod augment;
pub mod backend;
pub mod data;
pub mod error;
pub mod loss;
pub mod model;
pub mod rng;

pub use error::{Error, Result};

#[cfg(test)]
pub(crate) mod test_support;
