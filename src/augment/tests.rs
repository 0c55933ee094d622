use super::*;
use crate::backend::Cpu;

const NO_NORM: Normalization = Normalization {
    mean: [0.0; 3],
    std: [1.0; 3],
};

fn tensor(values: Vec<f32>, shape: [usize; 4]) -> Tensor<Cpu, 4> {
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

fn values(t: Tensor<Cpu, 4>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().unwrap()
}

fn assert_close(actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() < 1e-5, "{actual:?} vs {expected:?}");
    }
}

fn plain(crop: CropBox, flip: bool) -> ViewParams {
    ViewParams {
        crop,
        flip,
        jitter: None,
        grayscale: false,
        blur_sigma: None,
    }
}

fn ramp() -> Tensor<Cpu, 4> {
    // v(y, x) = 10y + x on each of the three channels of a 4×4 image.
    let plane: Vec<f32> = (0..16).map(|i| (10 * (i / 4) + i % 4) as f32).collect();
    tensor(plane.repeat(3), [1, 3, 4, 4])
}

#[test]
fn crop_resize_matches_hand_computed_bilinear() {
    // Crop rows/cols 1..3 and upscale ×2: source coordinates 1, 1.25, 1.75, 2 per axis.
    let crop = CropBox {
        top: 1,
        left: 1,
        height: 2,
        width: 2,
    };
    let out = AugmentConfig::new().apply(ramp(), &[plain(crop, false)], 4, &NO_NORM);
    let expected_row0 = [11.0, 11.25, 11.75, 12.0];
    let expected_row2 = [18.5, 18.75, 19.25, 19.5];
    let out = values(out);
    assert_close(&out[0..4], &expected_row0);
    assert_close(&out[8..12], &expected_row2);
    assert_close(&out[32..36], &expected_row0);
}

#[test]
fn flip_mirrors_columns() {
    let crop = CropBox {
        top: 0,
        left: 0,
        height: 4,
        width: 4,
    };
    let out = values(AugmentConfig::new().apply(ramp(), &[plain(crop, true)], 4, &NO_NORM));
    assert_close(&out[4..8], &[13.0, 12.0, 11.0, 10.0]);
}

#[test]
fn resize_matrix_rows_sum_to_one() {
    for (len, out) in [(5, 32), (32, 32), (20, 7)] {
        let m = resize_matrix(40, 3, len, out, false);
        for row in m.chunks(40) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }
}

fn gray_pair() -> Tensor<Cpu, 4> {
    // Two gray pixels, 0.2 and 0.8, in all channels.
    tensor([0.2, 0.8].repeat(3), [1, 3, 1, 2])
}

fn jittered(j: Jitter, images: Tensor<Cpu, 4>) -> Vec<f32> {
    let mut p = plain(
        CropBox {
            top: 0,
            left: 0,
            height: 1,
            width: 2,
        },
        false,
    );
    p.jitter = Some(j);
    values(color::jitter(images, &[p]))
}

#[test]
fn jitter_formulas_and_order() {
    let base = Jitter {
        brightness: 1.5,
        contrast: 0.5,
        ..Jitter::identity()
    };
    // Brightness first: [0.3, 1.0 (clamped)], then contrast towards their mean 0.65.
    let a = jittered(
        Jitter {
            order: [0, 1, 2, 3],
            ..base
        },
        gray_pair(),
    );
    assert_close(&a[0..2], &[0.475, 0.825]);
    // Contrast first: towards 0.5 → [0.35, 0.65], then ×1.5.
    let b = jittered(
        Jitter {
            order: [1, 0, 2, 3],
            ..base
        },
        gray_pair(),
    );
    assert_close(&b[0..2], &[0.525, 0.975]);
}

#[test]
fn saturation_zero_gives_gray_and_contrast_uses_luma() {
    let rgb = tensor(vec![0.2, 0.4, 0.6], [1, 3, 1, 1]);
    let gray = 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6;
    let s = jittered(
        Jitter {
            saturation: 0.0,
            ..Jitter::identity()
        },
        rgb.clone(),
    );
    assert_close(&s, &[gray, gray, gray]);
    let c = jittered(
        Jitter {
            contrast: 0.5,
            ..Jitter::identity()
        },
        rgb,
    );
    assert_close(&c, &[0.1 + 0.5 * gray, 0.2 + 0.5 * gray, 0.3 + 0.5 * gray]);
}

#[test]
fn hue_rotates_colours() {
    let device = Default::default();
    let red = tensor(vec![1.0, 0.0, 0.0], [1, 3, 1, 1]);
    let shift = |s: f32| Tensor::<Cpu, 4>::from_floats([[[[s]]]], &device);
    assert_close(
        &values(adjust_hue(red.clone(), shift(1.0 / 3.0))),
        &[0.0, 1.0, 0.0],
    );
    assert_close(&values(adjust_hue(red, shift(0.5))), &[0.0, 1.0, 1.0]);
    let mixed = tensor(vec![0.9, 0.5, 0.1], [1, 3, 1, 1]);
    // torchvision: hsv (1/12, 8/9, 0.9) shifted by -0.05 → h = 1/30 → (0.9, 0.3667, 0.1).
    assert_close(
        &values(adjust_hue(mixed.clone(), shift(-0.05))),
        &[0.9, 0.1 + 0.8 * 0.2, 0.1],
    );
    assert_close(&values(adjust_hue(mixed, shift(0.0))), &[0.9, 0.5, 0.1]);
    let gray = tensor(vec![0.4; 3], [1, 3, 1, 1]);
    assert_close(&values(adjust_hue(gray, shift(0.3))), &[0.4; 3]);
}

#[test]
fn grayscale_uses_601_weights() {
    let rgb = tensor(vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0], [1, 3, 1, 2]);
    let mut p = plain(
        CropBox {
            top: 0,
            left: 0,
            height: 1,
            width: 2,
        },
        false,
    );
    p.grayscale = true;
    let out = values(color::random_grayscale(rgb, &[p]));
    assert_close(&out, &[0.299, 0.587, 0.299, 0.587, 0.299, 0.587]);
}

#[test]
fn blur_matrix_is_normalised_and_reflects() {
    let m = blur_matrix(8, 3, 1.0);
    for row in m.chunks(8) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
    // Reflect padding: row 0 takes its left neighbour from index 1.
    let w_side = (-0.5f64).exp() / (1.0 + 2.0 * (-0.5f64).exp());
    assert!((m[1] as f64 - 2.0 * w_side).abs() < 1e-6);
    assert_eq!(geometry::blur_kernel_size(32), 3);
    assert_eq!(geometry::blur_kernel_size(96), 11);
}

#[test]
fn sampled_parameters_follow_the_recipe() {
    let config = AugmentConfig::new();
    let mut rng = Rng::new(11);
    let n = 20_000;
    let params = config.sample(&mut rng, n, 32, 32);
    let rate =
        |f: &dyn Fn(&ViewParams) -> bool| params.iter().filter(|p| f(p)).count() as f64 / n as f64;
    assert!((rate(&|p| p.flip) - 0.5).abs() < 0.02);
    assert!((rate(&|p| p.jitter.is_some()) - 0.8).abs() < 0.02);
    assert!((rate(&|p| p.grayscale) - 0.2).abs() < 0.02);
    assert_eq!(rate(&|p| p.blur_sigma.is_some()), 0.0);
    let mut orders = std::collections::HashSet::new();
    for p in &params {
        let c = p.crop;
        assert!(c.top + c.height <= 32 && c.left + c.width <= 32 && c.height > 0 && c.width > 0);
        if let Some(j) = p.jitter {
            assert!((0.6..=1.4).contains(&j.brightness) && (0.6..=1.4).contains(&j.saturation));
            assert!((-0.1..=0.1).contains(&j.hue));
            let mut sorted = j.order;
            sorted.sort();
            assert_eq!(sorted, [0, 1, 2, 3]);
            orders.insert(j.order);
        }
    }
    assert_eq!(
        orders.len(),
        24,
        "every order of the four operations occurs"
    );
    let areas: Vec<f64> = params
        .iter()
        .map(|p| (p.crop.height * p.crop.width) as f64 / 1024.0)
        .collect();
    let mean_area = areas.iter().sum::<f64>() / n as f64;
    // Uniform area in [0.08, 1] has mean 0.54; rejected tries and the full-image fallback
    // (for large areas with extreme ratios) pull it slightly away.
    assert!((0.45..0.6).contains(&mean_area), "{mean_area}");
    assert!(areas.iter().any(|&a| a < 0.12));

    let blur = AugmentConfig::new().with_blur(true);
    let params = blur.sample(&mut rng, 5000, 96, 96);
    let sigmas: Vec<f64> = params.iter().filter_map(|p| p.blur_sigma).collect();
    assert!((sigmas.len() as f64 / 5000.0 - 0.5).abs() < 0.03);
    assert!(sigmas.iter().all(|s| (0.1..2.0).contains(s)));
}

#[test]
fn two_views_shape_and_determinism() {
    let config = AugmentConfig::new();
    let pixels: Vec<u8> = (0..2 * 3 * 8 * 8).map(|i| (i % 251) as u8).collect();
    let run = |seed| {
        let params = config.sample_pairs(seed, 3, 0..2, [8, 8]);
        let device = Default::default();
        config.two_views::<Cpu>(&pixels, [8, 8], 6, &NO_NORM, &params, &device)
    };
    let a = run(1);
    assert_eq!(a.dims(), [4, 3, 6, 6]);
    assert_eq!(values(a.clone()), values(run(1)));
    assert_ne!(values(a), values(run(2)));
}

#[test]
fn an_images_views_depend_on_seed_step_and_position_alone() {
    let config = AugmentConfig::new();
    let whole = config.sample_pairs(7, 11, 0..6, [32, 32]);
    // Two peers' halves of the batch, each in [first views; second views] order.
    let (low, high) = (
        config.sample_pairs(7, 11, 0..3, [32, 32]),
        config.sample_pairs(7, 11, 3..6, [32, 32]),
    );
    for image in 0..6 {
        let (half, i) = if image < 3 {
            (&low, image)
        } else {
            (&high, image - 3)
        };
        assert_eq!(whole[image], half[i], "first view of image {image}");
        assert_eq!(
            whole[6 + image],
            half[3 + i],
            "second view of image {image}"
        );
    }
    assert_ne!(
        whole[0], whole[6],
        "an image's two views are drawn independently"
    );
    assert_ne!(whole[0], config.sample_pairs(7, 12, 0..1, [32, 32])[0]);
    assert_ne!(whole[0], config.sample_pairs(8, 11, 0..1, [32, 32])[0]);
}

#[test]
fn host_views_match_the_tensor_path() {
    use crate::backend::AutodiffCpu;
    assert!(host::runs_on_host::<Cpu>() && host::runs_on_host::<AutodiffCpu>());
    let normalization = Normalization::cifar10();
    // Full-strength jitter (hue shifts up to ±0.2 turns), always jittered or grayed out
    // half the time, blur on, a non-square source and an odd output side.
    let config = AugmentConfig::new()
        .with_color_jitter_strength(1.0)
        .with_color_jitter_prob(0.9)
        .with_grayscale_prob(0.3)
        .with_blur(true);
    let (n, [h, w], side) = (24, [12, 10], 7);
    let pixels: Vec<u8> = (0..n * 3 * h * w)
        .map(|i| ((i * 37 + i / 7 * 11) % 256) as u8)
        .collect();
    let mut rng = Rng::new(5);
    let params = config.sample(&mut rng, n, h, w);
    assert!(params.iter().any(|p| p.jitter.is_none()));
    assert!(params.iter().any(|p| p.grayscale) && params.iter().any(|p| p.blur_sigma.is_some()));
    let device = Default::default();
    let images = to_unit_tensor::<Cpu>(&pixels, n, h, w, &device);
    let tensor_path = values(config.apply(images, &params, side, &normalization));
    let source = host::Source {
        pixels: &pixels,
        size: [h, w],
        normalization: &normalization,
    };
    let host_path = host::views(source, &params, side);
    assert_eq!(host_path.len(), tensor_path.len());
    for (i, (a, b)) in host_path.iter().zip(&tensor_path).enumerate() {
        assert!(
            (a - b).abs() < 2e-5,
            "value {i} (view {}): host {a}, tensor {b}",
            i / (3 * side * side)
        );
    }
}
