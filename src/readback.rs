//! Reading tensors back to the host, with failures as errors rather than empty data.
//!
//! These block until the device is done: keep them out of the training step.

use crate::{Error, Result};
use burn::prelude::*;

/// The values of a float tensor, row-major.
pub fn floats<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Result<Vec<f32>> {
    tensor
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| Error::Device(format!("{e:?}")))
}

/// The values of an integer tensor, row-major.
pub fn ints<B: Backend, const D: usize>(tensor: Tensor<B, D, Int>) -> Result<Vec<i64>> {
    tensor
        .into_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .map_err(|e| Error::Device(format!("{e:?}")))
}
