//! Reading tensors back to the host, with failures as errors rather than empty data.
//!
//! The plain functions block until the device is done: keep them out of the training
//! step. In a browser a WebGPU device cannot block: use the `_async` ones there.

use crate::{Error, Result};
use burn::prelude::*;
use burn::tensor::{BasicOps, TensorData};

fn to_vec<T: burn::tensor::Element>(data: TensorData) -> Result<Vec<T>> {
    data.convert::<T>()
        .to_vec::<T>()
        .map_err(|e| Error::Device(format!("{e:?}")))
}

/// The values of a float tensor, row-major.
pub fn floats<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Result<Vec<f32>> {
    to_vec(tensor.into_data())
}

/// The values of an integer tensor, row-major.
pub fn ints<B: Backend, const D: usize>(tensor: Tensor<B, D, Int>) -> Result<Vec<i64>> {
    to_vec(tensor.into_data())
}

/// [`floats`] without blocking.
pub async fn floats_async<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Result<Vec<f32>> {
    to_vec(data_async(tensor).await?)
}

/// [`ints`] without blocking.
pub async fn ints_async<B: Backend, const D: usize>(tensor: Tensor<B, D, Int>) -> Result<Vec<i64>> {
    to_vec(data_async(tensor).await?)
}

async fn data_async<B: Backend, const D: usize, K: BasicOps<B>>(
    tensor: Tensor<B, D, K>,
) -> Result<TensorData> {
    tensor
        .into_data_async()
        .await
        .map_err(|e| Error::Device(format!("{e:?}")))
}
