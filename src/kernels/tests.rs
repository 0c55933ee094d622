//! The kernels against a naive convolution (f64 sums) and against Burn's own ops, forward
//! and both gradients, on shapes with strides, padding, odd sizes, non-square kernels and
//! batch 1.

use super::conv2d;
use super::im2col::ConvGeometry;
use crate::rng::Rng;
use burn::backend::{Autodiff, Flex};
use burn::nn::conv::Conv2dConfig;
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::module;
use burn::tensor::ops::ConvOptions;

fn geometries() -> Vec<ConvGeometry> {
    let g = |batch, channels: [usize; 2], in_size, kernel, stride, padding| ConvGeometry {
        batch,
        in_channels: channels[0],
        out_channels: channels[1],
        in_size,
        kernel,
        stride,
        padding,
    };
    vec![
        g(2, [3, 4], [8, 8], [3, 3], [1, 1], [1, 1]),
        g(1, [5, 3], [7, 9], [3, 3], [2, 2], [1, 1]),
        g(3, [4, 6], [6, 5], [1, 1], [2, 2], [0, 0]),
        g(2, [2, 3], [5, 5], [1, 1], [1, 1], [0, 0]),
        g(1, [3, 2], [9, 6], [5, 3], [1, 2], [2, 0]),
        g(5, [6, 8], [4, 4], [3, 3], [2, 2], [1, 1]),
        g(1, [1, 1], [3, 3], [3, 3], [1, 1], [2, 2]),
        g(40, [8, 16], [2, 2], [3, 3], [1, 1], [1, 1]),
    ]
}

fn random(len: usize, rng: &mut Rng) -> Vec<f32> {
    (0..len).map(|_| rng.normal() as f32).collect()
}

fn input_at(g: &ConvGeometry, o: [usize; 2], k: [usize; 2]) -> Option<[usize; 2]> {
    let at = |d: usize| {
        let i = (o[d] * g.stride[d] + k[d]) as isize - g.padding[d] as isize;
        (i >= 0 && (i as usize) < g.in_size[d]).then_some(i as usize)
    };
    Some([at(0)?, at(1)?])
}

/// Calls `f(x_index, w_index, y_index)` for every multiply of the convolution.
fn each_tap(g: &ConvGeometry, mut f: impl FnMut(usize, usize, usize)) {
    let [oh_len, ow_len] = g.out_size().expect("valid geometry");
    let [kh_len, kw_len] = g.kernel;
    for b in 0..g.batch {
        for o in 0..g.out_channels {
            for (oh, ow) in (0..oh_len).flat_map(|h| (0..ow_len).map(move |w| (h, w))) {
                let y = ((b * g.out_channels + o) * oh_len + oh) * ow_len + ow;
                for c in 0..g.in_channels {
                    for (kh, kw) in (0..kh_len).flat_map(|h| (0..kw_len).map(move |w| (h, w))) {
                        let Some([ih, iw]) = input_at(g, [oh, ow], [kh, kw]) else {
                            continue;
                        };
                        let x = ((b * g.in_channels + c) * g.in_size[0] + ih) * g.in_size[1] + iw;
                        let w = ((o * g.in_channels + c) * kh_len + kh) * kw_len + kw;
                        f(x, w, y);
                    }
                }
            }
        }
    }
}

fn assert_close(got: &[f32], want: &[f64], what: &str, g: &ConvGeometry) {
    assert_eq!(got.len(), want.len(), "{what}: length, {g:?}");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        let tolerance = 1e-4 * (1.0 + b.abs());
        assert!(
            ((*a as f64) - b).abs() < tolerance,
            "{what}[{i}]: {a} vs {b}, {g:?}"
        );
    }
}

#[test]
fn forward_and_gradients_match_a_naive_convolution() {
    let mut rng = Rng::new(7);
    for g in geometries() {
        let [oh, ow] = g.out_size().expect("valid");
        let x = random(g.batch * g.in_channels * g.in_plane(), &mut rng);
        let w = random(g.out_channels * g.patch_len(), &mut rng);
        let dy = random(g.batch * g.out_channels * oh * ow, &mut rng);
        let (mut y, mut dx, mut dw) = (vec![0.0; dy.len()], vec![0.0; x.len()], vec![0.0; w.len()]);
        each_tap(&g, |xi, wi, yi| {
            y[yi] += x[xi] as f64 * w[wi] as f64;
            dx[xi] += w[wi] as f64 * dy[yi] as f64;
            dw[wi] += x[xi] as f64 * dy[yi] as f64;
        });
        assert_close(&conv2d::forward(&g, &x, &w), &y, "forward", &g);
        assert_close(&conv2d::input_grad(&g, &w, &dy), &dx, "input grad", &g);
        assert_close(&conv2d::weight_grad(&g, &x, &dy), &dw, "weight grad", &g);
    }
}

fn conv_module<B: Backend>(g: &ConvGeometry, device: &B::Device) -> burn::nn::conv::Conv2d<B> {
    let [ph, pw] = g.padding;
    Conv2dConfig::new([g.in_channels, g.out_channels], g.kernel)
        .with_stride(g.stride)
        .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
        .with_bias(false)
        .init(device)
}

/// Loss `Σ conv(x) · r` through `conv` on `Autodiff<Flex>`; returns output, dx and dw.
fn gradients(
    g: &ConvGeometry,
    seed: u64,
    conv: impl Fn(
        &burn::nn::conv::Conv2d<Autodiff<Flex>>,
        Tensor<Autodiff<Flex>, 4>,
    ) -> Tensor<Autodiff<Flex>, 4>,
) -> [Vec<f32>; 3] {
    let device = Default::default();
    let mut rng = Rng::new(seed);
    let shape = [g.batch, g.in_channels, g.in_size[0], g.in_size[1]];
    let x = Tensor::<Autodiff<Flex>, 4>::from_data(
        TensorData::new(random(shape.iter().product(), &mut rng), shape),
        &device,
    )
    .require_grad();
    let mut module = conv_module::<Autodiff<Flex>>(g, &device);
    let w_shape = module.weight.dims();
    let w = random(w_shape.iter().product(), &mut rng);
    module.weight =
        burn::module::Param::from_tensor(Tensor::from_data(TensorData::new(w, w_shape), &device));
    let y = conv(&module, x.clone());
    let r = Tensor::from_data(
        TensorData::new(random(y.dims().iter().product(), &mut rng), y.dims()),
        &device,
    );
    let grads = (y.clone() * r).sum().backward();
    let read = |t: Tensor<Flex, 4>| t.into_data().to_vec::<f32>().expect("f32");
    [
        read(y.inner()),
        read(x.grad(&grads).expect("x grad")),
        read(module.weight.val().grad(&grads).expect("w grad")),
    ]
}

#[test]
fn autodiff_op_matches_burns_own_convolution() {
    for (seed, g) in geometries().iter().enumerate() {
        let ours = gradients(g, seed as u64, |m, x| super::conv2d(m, x));
        let burns = gradients(g, seed as u64, |m, x| m.forward(x));
        for (what, (a, b)) in ["output", "dx", "dw"].iter().zip(ours.iter().zip(&burns)) {
            let b: Vec<f64> = b.iter().map(|&v| v as f64).collect();
            assert_close(a, &b, what, g);
        }
    }
}

#[test]
fn plain_backend_forward_matches_burn_and_falls_back_where_uncovered() {
    let device = Default::default();
    let mut rng = Rng::new(3);
    for g in geometries() {
        let module = conv_module::<Flex>(&g, &device);
        let shape = [g.batch, g.in_channels, g.in_size[0], g.in_size[1]];
        let x = Tensor::<Flex, 4>::from_data(
            TensorData::new(random(shape.iter().product(), &mut rng), shape),
            &device,
        );
        let ours = super::conv2d(&module, x.clone())
            .into_data()
            .to_vec::<f32>()
            .expect("f32");
        let options = ConvOptions::new(g.stride, g.padding, [1, 1], 1);
        let burns = module::conv2d(x, module.weight.val(), None, options);
        let burns: Vec<f64> = burns
            .into_data()
            .to_vec::<f32>()
            .expect("f32")
            .iter()
            .map(|&v| v as f64)
            .collect();
        assert_close(&ours, &burns, "forward", &g);
    }
    // A biased, dilated convolution is Burn's to compute; the result must still be right.
    let module = Conv2dConfig::new([2, 3], [3, 3])
        .with_dilation([2, 2])
        .init::<Flex>(&device);
    let x = Tensor::<Flex, 4>::ones([1, 2, 7, 7], &device);
    let want = module.forward(x.clone()).into_data();
    super::conv2d(&module, x)
        .into_data()
        .assert_approx_eq::<f32>(&want, Default::default());
}
