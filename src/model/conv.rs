//! Convolutions of the encoder: the project's CPU kernels (the `simclr-kernels` crate) on
//! `flex`, Burn's own op on every other backend and wherever the kernels decline.

use burn::nn::conv::Conv2d;
use burn::prelude::*;

/// `conv.forward(x)`, on the project's CPU kernels where they apply.
///
/// # Shapes
/// - `x`: `[N, C_in, H, W]` → `[N, C_out, H_out, W_out]`
pub fn conv2d<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    if let Some(out) = simclr_kernels::conv2d(conv, &x) {
        return out;
    }
    conv.forward(x)
}
