//! The kernels against a naive convolution (f64 sums) and against Burn's own ops, forward
//! and both gradients, on shapes with strides, padding, odd sizes, non-square kernels and
//! batch 1.

use super::direct::{self, Pass};
use super::im2col::ConvGeometry;
use super::{channels_last, conv2d};
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
        // Large enough for the direct path (odd width, non-square kernel).
        g(2, [16, 17], [16, 19], [3, 3], [1, 1], [1, 1]),
        g(1, [32, 32], [17, 16], [3, 5], [1, 1], [1, 2]),
    ]
}

/// A small deterministic generator (SplitMix64) for test data in [-1, 1).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

fn random(len: usize, rng: &mut Rng) -> Vec<f32> {
    (0..len).map(|_| rng.next()).collect()
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
    let mut direct_cases = 0;
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
        assert_close(
            &conv2d::forward_im2col(&g, &x, &w),
            &y,
            "im2col forward",
            &g,
        );
        assert_close(
            &conv2d::input_grad_im2col(&g, &w, &dy),
            &dx,
            "im2col input grad",
            &g,
        );
        assert_close(
            &conv2d::weight_grad_im2col(&g, &x, &dy),
            &dw,
            "im2col weight grad",
            &g,
        );
        assert_close(
            &channels_last::forward(&g, &x, &w),
            &y,
            "channels-last forward",
            &g,
        );
        assert_close(
            &channels_last::input_grad(&g, &w, &dy),
            &dx,
            "channels-last input grad",
            &g,
        );
        assert_close(
            &channels_last::weight_grad(&g, &x, &dy),
            &dw,
            "channels-last weight grad",
            &g,
        );
        // The direct path on every stride-1 geometry it can take, however small.
        if g.stride == [1, 1] && g.padding[0] < g.kernel[0] && g.padding[1] < g.kernel[1] {
            direct_cases += 1;
            assert_close(&direct::forward(&g, &x, &w), &y, "direct forward", &g);
            assert_close(
                &direct::input_grad(&g, &w, &dy),
                &dx,
                "direct input grad",
                &g,
            );
            assert_close(
                &direct::weight_grad(&g, &x, &dy),
                &dw,
                "direct weight grad",
                &g,
            );
        }
    }
    assert_eq!(
        direct_cases, 6,
        "stride-1 geometries the direct path was checked on"
    );
}

#[test]
fn the_direct_path_takes_stride_1_convolutions_on_large_planes_only() {
    let g = |[cin, cout]: [usize; 2], size: usize, stride: usize, padding: usize| ConvGeometry {
        batch: 4,
        in_channels: cin,
        out_channels: cout,
        in_size: [size, size],
        kernel: [3, 3],
        stride: [stride, stride],
        padding: [padding, padding],
    };
    let passes = [Pass::Forward, Pass::InputGrad, Pass::WeightGrad];
    let all = |g: ConvGeometry| passes.map(|pass| direct::applies(&g, pass));
    assert_eq!(all(g([64, 64], 32, 1, 1)), [true; 3]);
    assert_eq!(all(g([32, 32], 16, 1, 1)), [true; 3]);
    assert_eq!(all(g([16, 32], 32, 1, 1)), [false, true, true], "16 in");
    assert_eq!(all(g([32, 16], 32, 1, 1)), [true, false, true], "16 out");
    assert_eq!(all(g([64, 64], 8, 1, 1)), [false; 3], "small plane");
    assert_eq!(all(g([3, 64], 32, 1, 1)), [false; 3], "few channels");
    assert_eq!(all(g([64, 64], 32, 2, 1)), [false; 3], "stride 2");
    assert_eq!(
        all(g([64, 64], 32, 1, 3)),
        [false; 3],
        "padding as large as the kernel"
    );
}

#[test]
fn channel_last_patches_take_kernels_of_2x2_and_up_on_16_channels_and_up() {
    let g = |cin: usize, size: usize, kernel: usize, stride: usize| ConvGeometry {
        batch: 4,
        in_channels: cin,
        out_channels: 2 * cin,
        in_size: [size, size],
        kernel: [kernel, kernel],
        stride: [stride, stride],
        padding: [kernel / 2, kernel / 2],
    };
    assert!(
        channels_last::applies(&g(64, 32, 3, 2)),
        "stride 2, 16×16 out"
    );
    assert!(channels_last::applies(&g(128, 8, 3, 1)), "8×8 out");
    assert!(
        channels_last::applies(&g(128, 4, 3, 1)),
        "4×4 out, 1,152-value patches"
    );
    assert!(
        !channels_last::applies(&g(256, 4, 3, 1)),
        "4×4 out, long patches"
    );
    assert!(!channels_last::applies(&g(64, 32, 1, 2)), "1×1 kernel");
    assert!(!channels_last::applies(&g(3, 32, 3, 1)), "3 channels");
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
        let ours = gradients(g, seed as u64, |m, x| {
            super::conv2d(m, &x).expect("kernels apply")
        });
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
        let ours = super::conv2d(&module, &x)
            .expect("kernels apply")
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
}

#[test]
fn declines_what_it_does_not_cover() {
    let device = Default::default();
    let x = Tensor::<Flex, 4>::ones([1, 2, 7, 7], &device);
    let plain = || Conv2dConfig::new([2, 3], [3, 3]).with_bias(false);
    assert!(super::conv2d(&plain().init::<Flex>(&device), &x).is_some());
    let declined = [
        plain().with_bias(true),
        plain().with_dilation([2, 2]),
        Conv2dConfig::new([2, 4], [3, 3])
            .with_bias(false)
            .with_groups(2),
        plain().with_padding(PaddingConfig2d::Explicit(1, 1, 0, 0)),
    ];
    for config in declined {
        assert!(
            super::conv2d(&config.init::<Flex>(&device), &x).is_none(),
            "{config:?}"
        );
    }
    let tracked = Tensor::<Autodiff<Flex>, 4>::ones([1, 2, 7, 7], &device);
    assert!(super::conv2d(&plain().init::<Autodiff<Flex>>(&device), &tracked).is_some());
    // BatchNorm's kernel is for training only: the plain backend is declined.
    let (gamma, beta) = (
        Tensor::<Flex, 1>::ones([2], &device),
        Tensor::zeros([2], &device),
    );
    let call = super::NormCall {
        x: &x,
        gamma: &gamma,
        beta: &beta,
        epsilon: 1e-5,
        residual: None,
        relu: false,
    };
    assert!(super::batch_norm_train(call).is_none());
}

/// BatchNorm (with its epilogue) written with Burn tensor ops, differentiated by Burn.
fn reference_batch_norm(
    [x, gamma, beta]: [Tensor<Autodiff<Flex>, 4>; 3],
    residual: Option<Tensor<Autodiff<Flex>, 4>>,
    relu: bool,
) -> Tensor<Autodiff<Flex>, 4> {
    let mean = x.clone().mean_dim(0).mean_dim(2).mean_dim(3);
    let centered = x - mean;
    let var = centered
        .clone()
        .square()
        .mean_dim(0)
        .mean_dim(2)
        .mean_dim(3);
    let y = centered * gamma / var.add_scalar(1e-5).sqrt() + beta;
    let y = match residual {
        Some(residual) => y + residual,
        None => y,
    };
    if relu {
        burn::tensor::activation::relu(y)
    } else {
        y
    }
}

type Tracked<const D: usize> = Tensor<Autodiff<Flex>, D>;

/// Output and gradients (x, gamma, beta, residual) of `Σ op(...) · r`.
fn norm_gradients(
    shape: [usize; 4],
    seed: u64,
    residual: bool,
    relu: bool,
    fused: bool,
) -> Vec<Vec<f32>> {
    let device = Default::default();
    let mut rng = Rng::new(seed);
    let len: usize = shape.iter().product();
    let c = shape[1];
    let tensor = |values: Vec<f32>, dims: Vec<usize>| {
        Tracked::<4>::from_data(TensorData::new(values, dims), &device).require_grad()
    };
    let x = tensor(
        random(len, &mut rng)
            .iter()
            .map(|v| 3.0 * v + 1.5)
            .collect(),
        shape.to_vec(),
    );
    let gamma =
        Tracked::<1>::from_data(TensorData::new(random(c, &mut rng), [c]), &device).require_grad();
    let beta =
        Tracked::<1>::from_data(TensorData::new(random(c, &mut rng), [c]), &device).require_grad();
    let skip = tensor(random(len, &mut rng), shape.to_vec());
    let r = tensor(random(len, &mut rng), shape.to_vec());
    let y = if fused {
        let call = super::NormCall {
            x: &x,
            gamma: &gamma,
            beta: &beta,
            epsilon: 1e-5,
            residual: residual.then_some(&skip),
            relu,
        };
        let (y, mean, var) = super::batch_norm_train(call).expect("kernel applies");
        let x_mean = x.clone().inner().mean_dim(0).mean_dim(2).mean_dim(3);
        let x_var = (x.clone().inner() - x_mean.clone())
            .square()
            .mean_dim(0)
            .mean_dim(2)
            .mean_dim(3);
        mean.inner()
            .into_data()
            .assert_approx_eq::<f32>(&x_mean.reshape([c]).into_data(), Default::default());
        var.inner()
            .into_data()
            .assert_approx_eq::<f32>(&x_var.reshape([c]).into_data(), Default::default());
        y
    } else {
        let as4 = |t: &Tracked<1>| t.clone().reshape([1, c, 1, 1]);
        reference_batch_norm(
            [x.clone(), as4(&gamma), as4(&beta)],
            residual.then(|| skip.clone()),
            relu,
        )
    };
    let grads = (y.clone() * r.detach()).sum().backward();
    let read = |values: TensorData| values.to_vec::<f32>().expect("f32");
    let mut out = vec![
        read(y.inner().into_data()),
        read(x.grad(&grads).expect("dx").into_data()),
        read(gamma.grad(&grads).expect("dgamma").into_data()),
        read(beta.grad(&grads).expect("dbeta").into_data()),
    ];
    if residual {
        out.push(read(skip.grad(&grads).expect("dresidual").into_data()));
    }
    out
}

#[test]
fn batch_norm_op_matches_burns_autodiff_of_the_formula() {
    let shapes = [[4, 3, 5, 5], [1, 2, 3, 1], [7, 6, 2, 2], [2, 5, 9, 7]];
    for (seed, shape) in shapes.into_iter().enumerate() {
        for (residual, relu) in [(false, false), (false, true), (true, true), (true, false)] {
            let ours = norm_gradients(shape, seed as u64, residual, relu, true);
            let reference = norm_gradients(shape, seed as u64, residual, relu, false);
            let names = ["y", "dx", "dgamma", "dbeta", "dresidual"];
            for (what, (a, b)) in names.iter().zip(ours.iter().zip(&reference)) {
                assert_eq!(a.len(), b.len());
                for (i, (p, q)) in a.iter().zip(b).enumerate() {
                    let context = format!(
                        "{what}[{i}] {p} vs {q}, {shape:?} residual {residual} relu {relu}"
                    );
                    assert!((p - q).abs() < 2e-4 * (1.0 + q.abs()), "{context}");
                }
            }
        }
    }
}
