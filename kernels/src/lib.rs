//! CPU kernels for Burn's `flex` backend where Burn 0.21's own are a training step's
//! bottleneck: 2-D convolution forward, input gradient and weight gradient as large matrix
//! products (im2col + `gemm`), split by images across rayon's threads, with a custom
//! autodiff op (Burn's backend-extension mechanism) for `Autodiff<Flex>`.
//!
//! [`conv2d()`] takes a `Conv2d` module on any backend and answers `None` where these
//! kernels do not apply (another backend; groups, dilation, bias, asymmetric padding,
//! another float type), so that callers fall back to `Conv2d::forward`.

use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::prelude::*;

pub mod batch_norm;
mod block_cache;
pub mod channels_last;
pub mod conv2d;
pub mod direct;
mod flex;
pub mod im2col;
pub mod matmul;
mod norm_op;
#[cfg(test)]
mod tests;
pub mod transpose;

pub use block_cache::{BlockCache, MIN_BLOCK};

/// `conv.forward(x)` on these kernels, or `None` where they do not apply.
///
/// # Shapes
/// - `x`: `[N, C_in, H, W]` → `[N, C_out, H_out, W_out]`
pub fn conv2d<B: Backend>(conv: &Conv2d<B>, x: &Tensor<B, 4>) -> Option<Tensor<B, 4>> {
    fast::conv2d(conv, x)
}

/// A training-mode BatchNorm: input, affine parameters, and what follows it in the
/// same op (`relu?(bn(x) + residual?)`).
#[derive(Debug, Clone, Copy)]
pub struct NormCall<'a, B: Backend> {
    /// Input.
    pub x: &'a Tensor<B, 4>,
    /// Scale per channel.
    pub gamma: &'a Tensor<B, 1>,
    /// Shift per channel.
    pub beta: &'a Tensor<B, 1>,
    /// Added to the variance.
    pub epsilon: f64,
    /// Added to the normalised output (a residual connection).
    pub residual: Option<&'a Tensor<B, 4>>,
    /// Whether a ReLU follows.
    pub relu: bool,
}

/// Training-mode BatchNorm on these kernels, on `Autodiff<Flex>` only: the output
/// (gradients flow to `x`, `gamma`, `beta` and the residual) and the batch means and
/// biased variances (untracked), or `None` where the kernels do not apply.
///
/// # Shapes
/// - `x`, `residual`: `[N, C, H, W]` → `[N, C, H, W]`; `gamma`, `beta`, statistics: `[C]`
pub fn batch_norm_train<B: Backend>(
    call: NormCall<'_, B>,
) -> Option<(Tensor<B, 4>, Tensor<B, 1>, Tensor<B, 1>)> {
    fast::batch_norm_train(call)
}

/// Symmetric explicit padding, the only kind the kernels take.
fn symmetric_padding(padding: &PaddingConfig2d) -> Option<[usize; 2]> {
    match *padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            Some([top, left])
        }
        PaddingConfig2d::Valid => Some([0, 0]),
        _ => None,
    }
}

/// Runtime specialisation: the model code stays generic over `Backend`, and where `B`
/// is `Flex` or `Autodiff<Flex>` (same `TypeId`) the tensors are viewed as that type.
mod fast {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::ops::FloatTensor;
    use burn::tensor::TensorPrimitive;
    use std::any::Any;

    type Kernel<K> =
        fn(&Tensor<K, 4>, &Tensor<K, 4>, [usize; 2], [usize; 2]) -> Option<Tensor<K, 4>>;

    /// The kernels' result, or `None` where they do not apply to `B` or to this conv.
    pub fn conv2d<B: Backend>(conv: &Conv2d<B>, x: &Tensor<B, 4>) -> Option<Tensor<B, 4>> {
        let padding = symmetric_padding(&conv.padding)?;
        if conv.bias.is_some() || conv.groups != 1 || conv.dilation != [1, 1] {
            return None;
        }
        specialised::<B, Autodiff<Flex>>(conv, x, padding, tracked)
            .or_else(|| specialised::<B, Flex>(conv, x, padding, plain))
    }

    /// `value` as type `U`, where `T` is `U`.
    fn view<T: 'static, U: 'static>(value: &T) -> Option<&U> {
        (value as &dyn Any).downcast_ref::<U>()
    }

    /// An owned `T` back as type `U`, where `T` is `U`.
    fn back<T: 'static, U: 'static>(value: T) -> Option<U> {
        let boxed: Box<dyn Any> = Box::new(value);
        boxed.downcast::<U>().ok().map(|value| *value)
    }

    pub fn batch_norm_train<B: Backend>(
        call: NormCall<'_, B>,
    ) -> Option<(Tensor<B, 4>, Tensor<B, 1>, Tensor<B, 1>)> {
        type Ad = Autodiff<Flex>;
        fn tracked<T: 'static, const D: usize>(tensor: &T) -> Option<FloatTensor<Autodiff<Flex>>> {
            let tensor = view::<T, Tensor<Autodiff<Flex>, D>>(tensor)?.clone();
            Some(tensor.into_primitive().tensor())
        }
        let x = tracked::<_, 4>(call.x)?;
        let gamma = tracked::<_, 1>(call.gamma)?;
        let beta = tracked::<_, 1>(call.beta)?;
        let residual = match call.residual {
            Some(residual) => Some(tracked::<_, 4>(residual)?),
            None => None,
        };
        let forward = super::norm_op::forward([x, gamma, beta], residual, call.relu, call.epsilon);
        let (y, stats) = forward?;
        let y = Tensor::<Ad, 4>::from_primitive(TensorPrimitive::Float(y));
        let device = y.device();
        let untracked = |values: Vec<f32>| {
            let len = values.len();
            Tensor::<Ad, 1>::from_data(TensorData::new(values, [len]), &device)
        };
        Some((
            back(y)?,
            back(untracked(stats.mean))?,
            back(untracked(stats.var))?,
        ))
    }

    fn specialised<B: Backend, K: Backend>(
        conv: &Conv2d<B>,
        x: &Tensor<B, 4>,
        padding: [usize; 2],
        kernel: Kernel<K>,
    ) -> Option<Tensor<B, 4>> {
        let x = view::<_, Tensor<K, 4>>(x)?;
        let weight = conv.weight.val();
        let weight = view::<_, Tensor<K, 4>>(&weight)?;
        back(kernel(x, weight, conv.stride, padding)?)
    }

    fn plain(
        x: &Tensor<Flex, 4>,
        weight: &Tensor<Flex, 4>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Option<Tensor<Flex, 4>> {
        let x = x.clone().into_primitive().tensor();
        let weight = weight.clone().into_primitive().tensor();
        let geometry = super::flex::geometry(&x, &weight, stride, padding)?;
        let out = super::flex::forward(&geometry, &x, &weight);
        Some(Tensor::from_primitive(TensorPrimitive::Float(out)))
    }

    fn tracked(
        x: &Tensor<Autodiff<Flex>, 4>,
        weight: &Tensor<Autodiff<Flex>, 4>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Option<Tensor<Autodiff<Flex>, 4>> {
        let x = x.clone().into_primitive().tensor();
        let weight = weight.clone().into_primitive().tensor();
        let geometry = super::flex::geometry(&x.primitive, &weight.primitive, stride, padding)?;
        let out = super::flex::forward_autodiff(&geometry, x, weight);
        Some(Tensor::from_primitive(TensorPrimitive::Float(out)))
    }
}
