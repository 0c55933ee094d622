//! The networks: ResNet-18 encoder, projection head, the supervised classifier, and
//! their weight files.

pub(crate) mod batch_norm;
pub mod classifier;
pub(crate) mod conv;
pub mod head;
pub(crate) mod layout;
pub mod resnet;
pub mod simclr;
pub mod weights;

pub use classifier::Classifier;
pub use head::{ProjectionHead, ProjectionHeadConfig};
pub use resnet::{ResNet, ResNetConfig, Stem};
pub use simclr::{SimclrModel, SimclrModelConfig};

use burn::module::{Module, ModuleMapper};
use burn::tensor::backend::Backend;

struct Materialize;
impl<B: Backend> ModuleMapper<B> for Materialize {}

/// Initialises every lazily-initialised parameter now, in field order.
///
/// Burn draws a parameter's random values at its first use, and a clone of an untouched
/// module draws its own: materialising right after `init` makes a seeded model the same
/// however it is used or cloned later.
pub fn materialize<B: Backend, M: Module<B>>(module: M) -> M {
    module.map(&mut Materialize)
}
