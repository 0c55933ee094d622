//! A model's shape signature: every parameter's path and shape, in visiting order. A
//! checkpoint carries the signature of the model it saved, so that loading it into a
//! model of another shape is an error before any record is read. And a fingerprint of its
//! weights, which data-parallel peers compare.

use crate::error::CheckpointProblem;
use crate::{Error, Result};
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use std::path::Path;

/// "encoder.conv1.weight [64, 3, 3, 3]" for each parameter of `model`.
pub fn shape_signature<B: Backend, M: Module<B>>(model: &M) -> Vec<String> {
    let mut visitor = Shapes {
        path: vec![],
        out: vec![],
    };
    model.visit(&mut visitor);
    visitor.out
}

/// Refuses a checkpoint at `path` whose signature `saved` is not `expected`'s, naming
/// the first parameter that differs.
pub fn check_signature(saved: &[String], expected: &[String], path: &Path) -> Result<()> {
    if saved == expected {
        return Ok(());
    }
    let first = saved
        .iter()
        .zip(expected)
        .find(|(a, b)| a != b)
        .map(|(a, b)| format!("{a} in the file, {b} for this run's settings"))
        .unwrap_or_else(|| {
            format!(
                "{} parameters in the file, {} for this run's settings",
                saved.len(),
                expected.len()
            )
        });
    Err(Error::checkpoint(
        path,
        CheckpointProblem::ForeignModel { difference: first },
    ))
}

/// A CRC-32 of every float parameter's values in visiting order: equal weights, equal
/// hashes. BatchNorm's running statistics (visited like parameters, but state that peers
/// with their own batch statistics legitimately differ in) are left out.
#[cfg(not(target_arch = "wasm32"))]
pub fn weight_hash<B: Backend, M: Module<B>>(model: &M) -> u32 {
    let mut visitor = Hasher {
        hash: crc32fast::Hasher::new(),
        path: vec![],
    };
    model.visit(&mut visitor);
    visitor.hash.finalize()
}

#[cfg(not(target_arch = "wasm32"))]
struct Hasher {
    hash: crc32fast::Hasher,
    path: Vec<String>,
}

#[cfg(not(target_arch = "wasm32"))]
impl<B: Backend> ModuleVisitor<B> for Hasher {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if self
            .path
            .last()
            .is_some_and(|name| name.starts_with("running_"))
        {
            return;
        }
        let data = param.val().into_data();
        self.hash.update(&data.bytes);
    }
}

struct Shapes {
    path: Vec<String>,
    out: Vec<String>,
}

impl Shapes {
    fn push(&mut self, dims: &[usize]) {
        self.out.push(format!("{} {dims:?}", self.path.join(".")));
    }
}

impl<B: Backend> ModuleVisitor<B> for Shapes {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.push(&param.val().dims());
    }

    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<B, D, Int>>) {
        self.push(&param.val().dims());
    }

    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<B, D, Bool>>) {
        self.push(&param.val().dims());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use crate::model::{ResNetConfig, SimclrModelConfig};

    #[test]
    fn signatures_name_every_parameter_and_tell_widths_apart() {
        let device = Default::default();
        let model = |width| {
            SimclrModelConfig::new(ResNetConfig::new().with_width(width))
                .with_projection_dim(8)
                .init::<Cpu>(&device)
        };
        let four = shape_signature::<Cpu, _>(&model(4));
        assert!(
            four.iter()
                .any(|s| s == "encoder.conv1.weight [4, 3, 3, 3]"),
            "{four:?}"
        );
        assert!(
            four.iter()
                .any(|s| s.starts_with("encoder.layer2.0.downsample")),
            "{four:?}"
        );
        assert_eq!(four, shape_signature::<Cpu, _>(&model(4)));
        let eight = shape_signature::<Cpu, _>(&model(8));
        let err = check_signature(&four, &eight, Path::new("last.ckpt")).unwrap_err();
        assert!(
            err.to_string().contains(
                "encoder.conv1.weight [4, 3, 3, 3] in the file, \
                 encoder.conv1.weight [8, 3, 3, 3] for this run's settings"
            ),
            "{err}"
        );
        assert!(check_signature(&four, &four, Path::new("last.ckpt")).is_ok());
        let err = check_signature(&four[1..], &four, Path::new("x")).unwrap_err();
        assert!(err.to_string().contains("another shape"), "{err}");
    }

    #[test]
    fn weight_hashes_tell_one_changed_value_apart() {
        let device = Default::default();
        let model = SimclrModelConfig::new(ResNetConfig::new().with_width(2))
            .with_projection_dim(4)
            .init::<Cpu>(&device);
        let copy = model.clone().load_record(model.clone().into_record());
        assert_eq!(weight_hash::<Cpu, _>(&model), weight_hash::<Cpu, _>(&copy));
        let mut changed = copy;
        changed.projection.fc2.weight = changed.projection.fc2.weight.map(|w| {
            w.clone()
                .slice_assign([0..1, 0..1], w.slice([0..1, 0..1]) + 1e-6)
        });
        assert_ne!(
            weight_hash::<Cpu, _>(&model),
            weight_hash::<Cpu, _>(&changed)
        );
        // Running statistics are state, not weights: peers with their own BatchNorm
        // statistics differ in them and still hold the same weights.
        let mut restated = model.clone().load_record(model.clone().into_record());
        let stem = &mut restated.encoder.bn1;
        stem.running_mean = burn::module::RunningState::new(stem.running_mean.value() + 1.0);
        assert_eq!(
            weight_hash::<Cpu, _>(&model),
            weight_hash::<Cpu, _>(&restated)
        );
    }
}
