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

use burn::module::{AutodiffModule, Module, ModuleMapper};
use burn::tensor::backend::{AutodiffBackend, Backend};

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

/// `encoder` on the autodiff backend `B` with every parameter trainable.
///
/// `from_inner` alone keeps each parameter's require-grad state, and an encoder read for
/// inference (a weights file loaded on the inner backend) has none: fine-tuning it would
/// train the classifier alone. Loading its weights into a fresh `B` network keeps the
/// fresh network's state (trainable) and draws no random numbers.
pub fn trainable_encoder<B: AutodiffBackend>(
    encoder: ResNet<B::InnerBackend>,
    device: &B::Device,
) -> ResNet<B> {
    let config = encoder.config();
    let record = ResNet::<B>::from_inner(encoder).into_record();
    config.init::<B>(device).load_record(record)
}
