//! Convolutions of the encoder: the project's CPU kernels (the `simclr-kernels` crate) on
//! `flex`, Burn's own op on every other backend and wherever the kernels decline.
//!
//! One detour around a Burn bug: on Burn 0.21's CubeCL backends (wgpu, CUDA) the input
//! gradient of a convolution whose kernel is smaller than its stride is all zeros. Its
//! `conv_transpose2d` direct kernel (the data gradient's default without autotune) starts
//! each output pixel's range of inputs at `(y + pad − (k·d − s)) / s` and ends it at
//! `k·d − s + start + 1`, an empty range when `k·d < s`. The ResNet's strided 1×1 shortcut
//! convolutions are such convolutions, so on the GPU the shortcut passed no gradient back
//! (found by `src/wgpu_agreement.rs` on lavapipe: every gradient below `layer4` off by
//! O(1)). Here such a convolution subsamples its input first and then runs at stride 1,
//! the same numbers forward, and a backward pass made of a reshape and a slice.

use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;

/// `conv.forward(x)`, on the project's CPU kernels where they apply.
///
/// # Shapes
/// - `x`: `[N, C_in, H, W]` → `[N, C_out, H_out, W_out]`
pub fn conv2d<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    if let Some(out) = simclr_kernels::conv2d(conv, &x) {
        return out;
    }
    if let Some(out) = pointwise_strided(conv, &x) {
        return out;
    }
    conv.forward(x)
}

/// A 1×1 convolution with stride `s > 1` and no padding as `x[.., .., ::s, ::s]` followed
/// by the same convolution at stride 1 (see the module's note); `None` for any other.
///
/// # Shapes
/// - `x`: `[N, C_in, H, W]` → `[N, C_out, ⌈H/s⌉, ⌈W/s⌉]`
fn pointwise_strided<B: Backend>(conv: &Conv2d<B>, x: &Tensor<B, 4>) -> Option<Tensor<B, 4>> {
    let unpadded = matches!(
        conv.padding,
        PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
    );
    if conv.kernel_size != [1, 1] || conv.stride == [1, 1] || !unpadded {
        return None;
    }
    let [n, c, h, w] = x.dims();
    let [sy, sx] = conv.stride;
    let (out_h, out_w) = (h.div_ceil(sy), w.div_ceil(sx));
    // Zero rows and columns up to a multiple of the stride (never among the kept ones),
    // then keep the first of every `s` along each axis.
    let (right, bottom) = (out_w * sx - w, out_h * sy - h);
    let padded = if right + bottom > 0 {
        x.clone().pad((0, right, 0, bottom), 0.0)
    } else {
        x.clone()
    };
    let kept = padded
        .reshape([n, c, out_h, sy, out_w, sx])
        .narrow(3, 0, 1)
        .narrow(5, 0, 1)
        .reshape([n, c, out_h, out_w]);
    // The functional op on the module's own parameters: a clone of a module whose
    // parameters are still lazy would initialise its own, apart from the original's.
    let options = ConvOptions::new([1, 1], [0, 0], conv.dilation, conv.groups);
    let bias = conv.bias.as_ref().map(|b| b.val());
    Some(burn::tensor::module::conv2d(
        kept,
        conv.weight.val(),
        bias,
        options,
    ))
}
