//! Probes on frozen features: a linear classifier (multinomial logistic regression with L2
//! weight decay) or a one-hidden-layer MLP, trained to convergence on standardised features.

use crate::io::readback;
use crate::rng::Rng;
use crate::Result;
use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

/// The classifier trained on the features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// Multinomial logistic regression.
    Linear,
    /// One hidden layer of 512 ReLU units.
    Mlp,
}

/// Probe training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeConfig {
    /// Linear or MLP.
    pub head: HeadKind,
    /// L2 penalty on the weights.
    pub weight_decay: f64,
    /// Adam's learning rate.
    pub lr: f64,
    /// Examples per step.
    pub batch_size: usize,
    /// Upper bound on epochs.
    pub max_epochs: usize,
    /// Stop once the epoch loss has improved by less than this (relative) for `patience`
    /// epochs in a row.
    pub tolerance: f64,
    /// See `tolerance`.
    pub patience: usize,
    /// Seed of initialisation and batch order.
    pub seed: u64,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            head: HeadKind::Linear,
            weight_decay: 1e-4,
            lr: 1e-2,
            batch_size: 256,
            max_epochs: 300,
            tolerance: 1e-3,
            patience: 10,
            seed: 0,
        }
    }
}

/// Most label subsets a probe averages over.
pub const MAX_PROBE_SEEDS: usize = 1000;

impl ProbeConfig {
    /// Rejects settings a probe cannot train with, by name; `seeds` is the number of label
    /// subsets it will average over.
    pub fn validate(&self, seeds: usize) -> Result<()> {
        use crate::error::{non_negative, positive};
        use crate::train::config::{MAX_BATCH, MAX_EPOCHS};
        crate::Error::first_invalid([
            (
                non_negative(self.weight_decay),
                "probe.weight_decay",
                "must be a non-negative number".to_string(),
            ),
            (
                positive(self.lr),
                "probe.lr",
                "must be a positive number".into(),
            ),
            (
                (1..=MAX_BATCH).contains(&self.batch_size),
                "probe.batch_size",
                format!("must be between 1 and {MAX_BATCH}"),
            ),
            (
                (1..=MAX_EPOCHS).contains(&self.max_epochs),
                "probe.max_epochs",
                format!("must be between 1 and {MAX_EPOCHS}"),
            ),
            (
                non_negative(self.tolerance),
                "probe.tolerance",
                "must be a non-negative number".into(),
            ),
            (
                self.patience >= 1,
                "probe.patience",
                "must be at least 1".into(),
            ),
            (
                (1..=MAX_PROBE_SEEDS).contains(&seeds),
                "probe_seeds",
                format!("must be between 1 and {MAX_PROBE_SEEDS}"),
            ),
        ])
    }
}

/// Test-set results of a probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// Top-1 accuracy.
    pub top1: f64,
    /// Top-5 accuracy (top-k for fewer than 5 classes).
    pub top5: f64,
    /// Accuracy of each class.
    pub per_class: Vec<f64>,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
    /// Epochs trained.
    pub epochs: usize,
}

/// A stratified, seeded subset: `fraction` of each class (at least one image per class),
/// in ascending index order. The same seed gives the same subset for every method.
pub fn stratified_subset(labels: &[u8], fraction: f64, seed: u64) -> Vec<usize> {
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut chosen = vec![];
    for class in 0..classes {
        let mut members: Vec<usize> = (0..labels.len())
            .filter(|&i| labels[i] as usize == class)
            .collect();
        if members.is_empty() {
            continue;
        }
        Rng::stream(seed, class as u64 + 1).shuffle(&mut members);
        let keep = ((members.len() as f64 * fraction).round() as usize).clamp(1, members.len());
        chosen.extend_from_slice(&members[..keep]);
    }
    chosen.sort_unstable();
    chosen
}

/// Per-dimension standardisation fitted on training features (row-major, `dim` columns).
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    mean: Vec<f32>,
    std: Vec<f32>,
}

impl Standardizer {
    /// Fits means and standard deviations.
    pub fn fit(features: &[f32], dim: usize) -> Self {
        let rows = (features.len() / dim.max(1)).max(1) as f64;
        let mut mean = vec![0f64; dim];
        let mut sq = vec![0f64; dim];
        for row in features.chunks_exact(dim) {
            for (j, &v) in row.iter().enumerate() {
                mean[j] += v as f64;
                sq[j] += (v as f64) * (v as f64);
            }
        }
        let mean: Vec<f64> = mean.iter().map(|m| m / rows).collect();
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(s, m)| ((s / rows - m * m).max(0.0).sqrt().max(1e-6)) as f32)
            .collect();
        Self {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std,
        }
    }

    /// Standardised copy of `features`.
    pub fn apply(&self, features: &[f32]) -> Vec<f32> {
        let dim = self.mean.len();
        features
            .iter()
            .enumerate()
            .map(|(i, v)| (v - self.mean[i % dim]) / self.std[i % dim])
            .collect()
    }
}

/// The probe classifier.
#[derive(Module, Debug)]
pub struct ProbeHead<B: Backend> {
    hidden: Option<Linear<B>>,
    output: Linear<B>,
}

impl<B: Backend> ProbeHead<B> {
    fn new(kind: HeadKind, dim: usize, classes: usize, device: &B::Device) -> Self {
        let (hidden, width) = match kind {
            HeadKind::Linear => (None, dim),
            HeadKind::Mlp => (Some(LinearConfig::new(dim, 512).init(device)), 512),
        };
        crate::model::materialize(Self {
            hidden,
            output: LinearConfig::new(width, classes).init(device),
        })
    }

    /// # Shapes
    /// - `features`: `[N, dim]` → logits `[N, classes]`
    pub fn forward(&self, features: Tensor<B, 2>) -> Tensor<B, 2> {
        match &self.hidden {
            Some(layer) => self.output.forward(relu(layer.forward(features))),
            None => self.output.forward(features),
        }
    }
}

/// Labelled features: row-major `labels.len() × dim` values.
pub struct Features<'a> {
    /// The values.
    pub values: &'a [f32],
    /// One label per row.
    pub labels: &'a [u8],
    /// Columns.
    pub dim: usize,
}

fn to_tensors<B: Backend>(
    f: &Features,
    rows: &[usize],
    device: &B::Device,
) -> (Tensor<B, 2>, Tensor<B, 1, Int>) {
    let values: Vec<f32> = rows
        .iter()
        .flat_map(|&r| f.values[r * f.dim..(r + 1) * f.dim].iter().copied())
        .collect();
    let labels: Vec<i64> = rows.iter().map(|&r| f.labels[r] as i64).collect();
    (
        Tensor::from_data(TensorData::new(values, [rows.len(), f.dim]), device),
        Tensor::from_data(TensorData::new(labels, [rows.len()]), device),
    )
}

/// Trains a probe on `train` (standardised with its own statistics) and evaluates it on
/// `test`.
pub fn train_and_evaluate<B: AutodiffBackend>(
    train: &Features,
    test: &Features,
    classes: usize,
    config: &ProbeConfig,
    device: &B::Device,
) -> Result<ProbeReport> {
    let scaler = Standardizer::fit(train.values, train.dim);
    let train_values = scaler.apply(train.values);
    let test_values = scaler.apply(test.values);
    let train = Features {
        values: &train_values,
        ..*train
    };
    let test = Features {
        values: &test_values,
        ..*test
    };
    B::seed(device, config.seed);
    let mut head = ProbeHead::<B>::new(config.head, train.dim, classes, device);
    let mut optim = AdamConfig::new()
        .with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay as f32)))
        .init::<B, ProbeHead<B>>();
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let mut order: Vec<usize> = (0..train.labels.len()).collect();
    let mut rng = Rng::new(config.seed);
    let (mut best, mut stale, mut epochs) = (f64::INFINITY, 0, 0);
    while epochs < config.max_epochs && stale < config.patience {
        rng.shuffle(&mut order);
        let mut losses = vec![];
        for batch in order.chunks(config.batch_size.max(1)) {
            let (x, y) = to_tensors::<B>(&train, batch, device);
            let loss = loss_fn.forward(head.forward(x), y);
            losses.push(loss.clone().inner());
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            head = optim.step(config.lr, head, grads);
        }
        let epoch_loss = Tensor::cat(losses, 0).mean().into_scalar().elem::<f64>();
        stale = if epoch_loss < best * (1.0 - config.tolerance) {
            0
        } else {
            stale + 1
        };
        best = best.min(epoch_loss);
        epochs += 1;
    }
    evaluate(&head.valid(), &test, classes, epochs, device)
}

fn evaluate<B: Backend>(
    head: &ProbeHead<B>,
    test: &Features,
    classes: usize,
    epochs: usize,
    device: &B::Device,
) -> Result<ProbeReport> {
    let rows: Vec<usize> = (0..test.labels.len()).collect();
    let (x, _) = to_tensors::<B>(test, &rows, device);
    let k = classes.min(5);
    let (_, top) = head.forward(x).topk_with_indices(k, 1);
    let top = readback::ints(top)?;
    Ok(report_from_top_k(&top, k, test.labels, classes, epochs))
}

/// Accuracies and confusion matrix from each example's `k` best predictions (row-major,
/// best first).
pub fn report_from_top_k(
    top: &[i64],
    k: usize,
    labels: &[u8],
    classes: usize,
    epochs: usize,
) -> ProbeReport {
    let mut confusion = vec![vec![0usize; classes]; classes];
    let (mut top1, mut top5) = (0usize, 0usize);
    for (row, &label) in top.chunks(k.max(1)).zip(labels) {
        let label = label as usize;
        confusion[label][row[0] as usize] += 1;
        top1 += usize::from(row[0] as usize == label);
        top5 += usize::from(row.iter().any(|&p| p as usize == label));
    }
    let n = labels.len().max(1) as f64;
    let per_class = confusion
        .iter()
        .enumerate()
        .map(|(c, row)| row[c] as f64 / row.iter().sum::<usize>().max(1) as f64)
        .collect();
    ProbeReport {
        top1: top1 as f64 / n,
        top5: top5 as f64 / n,
        per_class,
        confusion,
        epochs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::AutodiffCpu;

    #[test]
    fn stratified_subsets_keep_class_balance_and_are_seeded() {
        let labels: Vec<u8> = (0..1000).map(|i| (i % 10) as u8).collect();
        let subset = stratified_subset(&labels, 0.1, 7);
        assert_eq!(subset.len(), 100);
        for class in 0..10u8 {
            assert_eq!(subset.iter().filter(|&&i| labels[i] == class).count(), 10);
        }
        assert_eq!(subset, stratified_subset(&labels, 0.1, 7));
        assert_ne!(subset, stratified_subset(&labels, 0.1, 8));
        assert_eq!(
            stratified_subset(&labels, 0.0001, 1).len(),
            10,
            "at least one per class"
        );
        assert_eq!(stratified_subset(&labels, 1.0, 1).len(), 1000);
    }

    /// Points around ±offset per class in their own dimension, plus noise.
    fn blobs(n: usize, seed: u64) -> (Vec<f32>, Vec<u8>) {
        let mut rng = Rng::new(seed);
        let mut values = vec![];
        let mut labels = vec![];
        for i in 0..n {
            let class = (i % 3) as u8;
            for d in 0..4 {
                let centre = if d == class as usize { 3.0 } else { 0.0 };
                values.push((centre + 0.5 * rng.normal()) as f32);
            }
            labels.push(class);
        }
        (values, labels)
    }

    #[test]
    fn linear_probe_separates_separable_classes() {
        let (train_x, train_y) = blobs(300, 1);
        let (test_x, test_y) = blobs(150, 2);
        let train = Features {
            values: &train_x,
            labels: &train_y,
            dim: 4,
        };
        let test = Features {
            values: &test_x,
            labels: &test_y,
            dim: 4,
        };
        let report = train_and_evaluate::<AutodiffCpu>(
            &train,
            &test,
            3,
            &ProbeConfig::default(),
            &Default::default(),
        )
        .unwrap();
        assert!(report.top1 > 0.97, "{report:?}");
        assert_eq!(report.top5, 1.0, "top-3 of 3 classes is always right");
        assert_eq!(report.confusion.iter().flatten().sum::<usize>(), 150);
    }

    fn xor(n: usize, seed: u64) -> (Vec<f32>, Vec<u8>) {
        let mut rng = Rng::new(seed);
        let mut values = vec![];
        let mut labels = vec![];
        for _ in 0..n {
            let (a, b) = (rng.uniform() - 0.5, rng.uniform() - 0.5);
            values.extend([a as f32, b as f32]);
            labels.push(u8::from((a > 0.0) != (b > 0.0)));
        }
        (values, labels)
    }

    #[test]
    fn mlp_beats_linear_on_xor() {
        let (train_x, train_y) = xor(600, 3);
        let (test_x, test_y) = xor(300, 4);
        let train = Features {
            values: &train_x,
            labels: &train_y,
            dim: 2,
        };
        let test = Features {
            values: &test_x,
            labels: &test_y,
            dim: 2,
        };
        let device = Default::default();
        let linear =
            train_and_evaluate::<AutodiffCpu>(&train, &test, 2, &ProbeConfig::default(), &device)
                .unwrap();
        let mlp_config = ProbeConfig {
            head: HeadKind::Mlp,
            ..ProbeConfig::default()
        };
        let mlp =
            train_and_evaluate::<AutodiffCpu>(&train, &test, 2, &mlp_config, &device).unwrap();
        assert!(
            linear.top1 < 0.7,
            "linear cannot solve XOR: {}",
            linear.top1
        );
        assert!(mlp.top1 > 0.9, "mlp: {}", mlp.top1);
    }
}
