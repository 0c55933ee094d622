//! SimCLR (Chen et al. 2020) with Burn: data, augmentation, ResNet-18, NT-Xent, training,
//! evaluation and checkpoints, shared by the native binary (the `simclr-cli` crate) and the
//! browser app (`simclr-web`).
//!
//! - [`data`] CIFAR-10, STL-10, image folders and the synthetic set, as u8 splits.
//! - [`augment`] SimCLR's augmentations as batched tensor maths, previews of them.
//! - [`model`] ResNet-18 with torchvision's names, the projection head, weights files.
//! - [`loss`] NT-Xent.
//! - [`train`] the configuration and preset table, the training session shared by every
//!   driver, the SimCLR step, optimisers and schedule, checkpoints and run folders.
//! - [`eval`] features, kNN monitor, linear/MLP probes, the supervised baseline, PCA and
//!   t-SNE.
//! - [`experiment`] the whole study with its report.
//! - [`io`] `.npy`, device read-backs, atomic writes; [`plot`]: SVG and PNG charts.

pub mod augment;
pub mod backend;
pub mod data;
pub mod error;
pub mod eval;
#[cfg(not(target_arch = "wasm32"))]
pub mod experiment;
pub mod io;
pub mod loss;
pub mod model;
pub mod plot;
pub mod rng;
pub mod train;

pub use error::{Error, Result};

#[cfg(test)]
mod golden_check;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(all(test, feature = "wgpu", feature = "flex"))]
mod wgpu_agreement;
