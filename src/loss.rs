//! NT-Xent, SimCLR's normalised temperature-scaled cross-entropy.

use burn::tensor::{activation::log_softmax, backend::Backend, Bool, Tensor};

/// NT-Xent loss of two batches of projections, averaged over all 2N anchors.
///
/// Rows are stacked as `[z1; z2]`, L2-normalised, compared by cosine similarity divided by
/// `temperature`; each row's similarity with itself is left out and the target of anchor
/// `i` is its other view. Stable at small temperatures: the self-similarity is masked to a
/// large negative value before a max-subtracted log-softmax.
///
/// # Shapes
/// - `z1`, `z2`: `[N, D]`
/// - output: `[1]`
///
/// # Panics
/// When `z1` and `z2` differ in shape, when `N < 2` (an anchor needs a negative) or when
/// `temperature` is not a positive finite number.
pub fn nt_xent<B: Backend>(z1: Tensor<B, 2>, z2: Tensor<B, 2>, temperature: f64) -> Tensor<B, 1> {
    let [n, _] = z1.dims();
    assert_eq!(
        z1.dims(),
        z2.dims(),
        "nt_xent: the two views' projections must have the same shape"
    );
    assert!(n >= 2, "nt_xent: needs N >= 2 pairs, got {n}");
    assert!(
        temperature.is_finite() && temperature > 0.0,
        "nt_xent: temperature must be positive and finite, got {temperature}"
    );
    let device = z1.device();
    let z = Tensor::cat(vec![z1, z2], 0);
    let z = l2_normalize(z);
    let logits = z.clone().matmul(z.transpose()).div_scalar(temperature);
    let self_mask = Tensor::<B, 2, Bool>::diag_mask([2 * n, 2 * n], 0, &device).bool_not();
    let logits = logits.mask_fill(self_mask, -1.0e9);
    let log_probs = log_softmax(logits, 1);
    // The positive of row i is row (i + n) mod 2n.
    let positives: Vec<i64> = (0..2 * n).map(|i| ((i + n) % (2 * n)) as i64).collect();
    let index = Tensor::<B, 1, burn::tensor::Int>::from_data(positives.as_slice(), &device)
        .reshape([2 * n, 1]);
    log_probs.gather(1, index).mean().neg()
}

/// Rows divided by their L2 norm (with a floor so that zero rows stay finite).
///
/// # Shapes
/// - `x`: `[N, D]` → `[N, D]`
pub fn l2_normalize<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    let norm = x.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
    x.div(norm)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend::{AutodiffCpu, Cpu};
    use burn::tensor::backend::AutodiffBackend;
    use burn::tensor::{Distribution, ElementConversion, TensorData};

    #[test]
    #[should_panic(expected = "same shape")]
    fn views_of_different_shapes_are_refused() {
        let device = Default::default();
        let z1 = Tensor::<Cpu, 2>::zeros([4, 3], &device);
        let z2 = Tensor::<Cpu, 2>::zeros([3, 3], &device);
        nt_xent(z1, z2, 0.5);
    }

    #[derive(serde::Deserialize)]
    struct Case {
        n: usize,
        dim: usize,
        temperature: f64,
        z1: Vec<Vec<f32>>,
        z2: Vec<Vec<f32>>,
        loss: f64,
        grad_z1: Vec<Vec<f32>>,
        grad_z2: Vec<Vec<f32>>,
    }

    #[derive(serde::Deserialize)]
    struct Reference {
        cases: Vec<Case>,
    }

    fn matrix<B: Backend>(rows: &[Vec<f32>], device: &B::Device) -> Tensor<B, 2> {
        let n = rows.len();
        let d = rows[0].len();
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_data(TensorData::new(flat, [n, d]), device)
    }

    fn assert_close(actual: &[f32], expected: &[Vec<f32>], tolerance: f32, what: &str) {
        let expected: Vec<f32> = expected.iter().flatten().copied().collect();
        assert_eq!(actual.len(), expected.len());
        let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (a, e) in actual.iter().zip(&expected) {
            assert!((a - e).abs() <= tolerance * scale, "{what}: {a} vs {e}");
        }
    }

    #[test]
    fn matches_pytorch_reference() {
        check_pytorch_reference::<AutodiffCpu>(&Default::default());
    }

    /// NT-Xent's loss and both gradients on backend `B` against PyTorch's
    /// (`shared/reference/nt_xent.json`): 1e-4 relative on the loss, 1e-3 of the largest
    /// gradient on each gradient (float32 against float64).
    pub(crate) fn check_pytorch_reference<B: AutodiffBackend>(device: &B::Device) {
        let path = crate::test_support::reference_dir().join("nt_xent.json");
        let text = std::fs::read_to_string(&path).expect("reference file");
        let reference: Reference = serde_json::from_str(&text).expect("reference json");
        assert!(!reference.cases.is_empty());
        for case in &reference.cases {
            assert_eq!((case.z1.len(), case.z1[0].len()), (case.n, case.dim));
            let z1 = matrix::<B>(&case.z1, device).require_grad();
            let z2 = matrix::<B>(&case.z2, device).require_grad();
            let loss = nt_xent(z1.clone(), z2.clone(), case.temperature);
            let value = loss.clone().into_scalar().elem::<f64>();
            assert!(
                (value - case.loss).abs() <= 1e-4 * case.loss.abs(),
                "n={} loss {value} vs {}",
                case.n,
                case.loss
            );
            let grads = loss.backward();
            let read = |z: &Tensor<B, 2>| {
                z.grad(&grads)
                    .expect("gradient of a view")
                    .into_data()
                    .to_vec::<f32>()
                    .unwrap()
            };
            assert_close(&read(&z1), &case.grad_z1, 1e-3, "grad_z1");
            assert_close(&read(&z2), &case.grad_z2, 1e-3, "grad_z2");
        }
    }

    #[test]
    fn symmetric_in_its_views() {
        let device = Default::default();
        let z1 = Tensor::<Cpu, 2>::random([6, 5], Distribution::Normal(0.0, 1.0), &device);
        let z2 = Tensor::<Cpu, 2>::random([6, 5], Distribution::Normal(0.0, 1.0), &device);
        let a = nt_xent(z1.clone(), z2.clone(), 0.5).into_scalar();
        let b = nt_xent(z2, z1, 0.5).into_scalar();
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    #[test]
    fn aligned_pairs_have_the_closed_form_value() {
        // Orthogonal pairs, both views identical: the positive has similarity 1, the other
        // 2N-2 rows similarity 0, so loss = -log(e^(1/t) / (e^(1/t) + 2N - 2)).
        let device = Default::default();
        let n = 4;
        let t = 0.5;
        let z = Tensor::<Cpu, 2>::eye(n, &device);
        let loss = nt_xent(z.clone(), z, t).into_scalar() as f64;
        let e = (1.0 / t).exp();
        let expected = -(e / (e + 2.0 * n as f64 - 2.0)).ln();
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
    }

    #[test]
    fn finite_at_low_temperature_with_identical_vectors() {
        let device = Default::default();
        let z = Tensor::<AutodiffCpu, 2>::ones([8, 16], &device).require_grad();
        let loss = nt_xent(z.clone(), z.clone(), 0.05);
        let value = loss.clone().into_scalar();
        assert!(value.is_finite());
        // All 2N-1 candidates are equally similar: loss = ln(2N - 1).
        assert!((value as f64 - (15f64).ln()).abs() < 1e-4, "{value}");
        let grad = z.grad(&loss.backward()).expect("grad").into_data();
        assert!(grad.to_vec::<f32>().unwrap().iter().all(|g| g.is_finite()));
    }
}
