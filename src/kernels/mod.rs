//! The project's own CPU kernels for Burn's `flex` backend, where Burn's are the step's
//! bottleneck: 2-D convolution forward, input gradient and weight gradient as large matrix
//! products (im2col + `gemm`), split by images across threads.
//!
//! Models call [`conv2d`] instead of `Conv2d::forward`: on `Flex` and `Autodiff<Flex>` it
//! runs these kernels (with their own backward op), on every other backend, and for
//! convolutions they do not cover (groups, dilation, bias, asymmetric padding, other
//! float types), Burn's own op.

use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::prelude::*;

#[cfg(feature = "flex")]
pub mod conv2d;
#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "flex")]
pub mod im2col;
#[cfg(feature = "flex")]
pub mod matmul;
#[cfg(all(test, feature = "flex"))]
mod tests;

/// `conv.forward(x)`, on the project's kernels where they apply.
///
/// # Shapes
/// - `x`: `[N, C_in, H, W]` → `[N, C_out, H_out, W_out]`
pub fn conv2d<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    if let Some(out) = fast::conv2d(conv, &x) {
        return out;
    }
    conv.forward(x)
}

/// Symmetric explicit padding, the only kind the kernels take.
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
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
#[cfg(feature = "flex")]
mod fast {
    use super::*;
    use burn::backend::{Autodiff, Flex};
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

    fn specialised<B: Backend, K: Backend>(
        conv: &Conv2d<B>,
        x: &Tensor<B, 4>,
        padding: [usize; 2],
        kernel: Kernel<K>,
    ) -> Option<Tensor<B, 4>> {
        let x = (x as &dyn Any).downcast_ref::<Tensor<K, 4>>()?;
        let weight = conv.weight.val();
        let weight = (&weight as &dyn Any).downcast_ref::<Tensor<K, 4>>()?;
        let out: Box<dyn Any> = Box::new(kernel(x, weight, conv.stride, padding)?);
        out.downcast::<Tensor<B, 4>>().ok().map(|out| *out)
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
