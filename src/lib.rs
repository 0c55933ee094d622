//! SimCLR (Chen et al. 2020) with Burn: data, augmentation, ResNet-18, NT-Xent, training,
//! checkpoints and weights, shared by the native binary and the browser app.

pub mod augment;
pub mod backend;
#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod encoder;
pub mod error;
pub mod evaluation;
pub mod features;
pub mod knn;
pub mod loss;
pub mod model;
pub mod npy;
pub mod optim;
pub mod pca;
pub mod plot;
#[cfg(not(target_arch = "wasm32"))]
pub mod pretrain;
pub mod preview;
pub mod probe;
pub mod readback;
pub mod rng;
pub mod run_dir;
#[cfg(not(target_arch = "wasm32"))]
pub mod study;
#[cfg(not(target_arch = "wasm32"))]
pub mod supervised;
pub mod train;
pub mod tsne;

pub use error::{Error, Result};

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod golden_check;
