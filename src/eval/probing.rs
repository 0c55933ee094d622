//! Linear and MLP evaluation of a frozen encoder at several label fractions.
//!
//! The encoder runs once, in inference mode on the non-autodiff backend, over every
//! labelled training image and the test split; probes then train on host copies of the
//! features, so nothing can reach the encoder's weights or BatchNorm statistics.

use crate::data::{Dataset, Normalization, Split};
use crate::eval::features::{encode, labelled_indices};
use crate::eval::head::{stratified_subset, train_and_evaluate, Features, HeadKind, ProbeConfig};
use crate::model::ResNet;
use crate::{io::readback, Error, Result};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

/// Frozen features of a dataset's labelled training images and its test images.
#[derive(Debug, Clone)]
pub struct FeatureSet {
    /// Training features, row-major.
    pub train: Vec<f32>,
    /// Labels of the training rows.
    pub train_labels: Vec<u8>,
    /// Test features, row-major.
    pub test: Vec<f32>,
    /// Labels of the test rows.
    pub test_labels: Vec<u8>,
    /// Feature size.
    pub dim: usize,
}

fn split_labels(split: &Split, indices: &[usize]) -> Vec<u8> {
    indices
        .iter()
        .map(|&i| split.label(i).unwrap_or_default())
        .collect()
}

/// Labels of a split's labelled images, in [`labelled_indices`] order: the array that label
/// subsets are drawn from, by the probes and the supervised baseline alike.
pub fn labelled(split: &Split) -> (Vec<usize>, Vec<u8>) {
    let indices = labelled_indices(split);
    let labels = split_labels(split, &indices);
    (indices, labels)
}

/// Rejects label fractions outside (0, 1].
pub fn check_fraction(fraction: f64) -> Result<()> {
    if fraction > 0.0 && fraction <= 1.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            "label_fraction",
            format!("label fraction {fraction} is not in (0, 1]"),
        ))
    }
}

/// The split indices of label subset `seed` at `fraction`: what the supervised baseline
/// trains on, and the rows the probes train on (probes index the same array of labels).
pub fn label_subset(split: &Split, fraction: f64, seed: u64) -> Vec<usize> {
    let (indices, labels) = labelled(split);
    stratified_subset(&labels, fraction, seed)
        .into_iter()
        .map(|row| indices[row])
        .collect()
}

/// Features of the labelled training and test images, still on the device.
pub struct PendingFeatures<B: Backend> {
    train: Tensor<B, 2>,
    train_labels: Vec<u8>,
    test: Tensor<B, 2>,
    test_labels: Vec<u8>,
    dim: usize,
}

impl<B: Backend> PendingFeatures<B> {
    /// Reads the features back, blocking until the device is done.
    pub fn read(self) -> Result<FeatureSet> {
        Ok(FeatureSet {
            train: readback::floats(self.train)?,
            train_labels: self.train_labels,
            test: readback::floats(self.test)?,
            test_labels: self.test_labels,
            dim: self.dim,
        })
    }

    /// [`Self::read`] without blocking (a browser's WebGPU device).
    pub async fn read_async(self) -> Result<FeatureSet> {
        Ok(FeatureSet {
            train: readback::floats_async(self.train).await?,
            train_labels: self.train_labels,
            test: readback::floats_async(self.test).await?,
            test_labels: self.test_labels,
            dim: self.dim,
        })
    }
}

/// Queues the encoding of the labelled training images and the labelled test images.
pub fn encode_labelled<B: Backend>(
    encoder: &ResNet<B>,
    data: &Dataset,
    normalization: &Normalization,
    device: &B::Device,
) -> Result<PendingFeatures<B>> {
    let (train_idx, train_labels) = labelled(&data.train);
    let (test_idx, test_labels) = labelled(&data.test);
    if train_idx.is_empty() || test_idx.is_empty() {
        return Err(Error::UnsuitableData(format!(
            "probing needs labelled training and test images; {} has {} and {}",
            data.name,
            train_idx.len(),
            test_idx.len()
        )));
    }
    let run =
        |split: &Split, idx: &[usize]| encode(encoder, split, idx, normalization, 256, device);
    Ok(PendingFeatures {
        train: run(&data.train, &train_idx),
        train_labels,
        test: run(&data.test, &test_idx),
        test_labels,
        dim: encoder.config().feature_dim(),
    })
}

/// Encodes the labelled training images and the labelled test images.
pub fn extract<B: Backend>(
    encoder: &ResNet<B>,
    data: &Dataset,
    normalization: &Normalization,
    device: &B::Device,
) -> Result<FeatureSet> {
    encode_labelled(encoder, data, normalization, device)?.read()
}

/// One probe result, averaged over label subsets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// `simclr`, `random`, or a weights file's name.
    pub encoder: String,
    /// Linear or MLP.
    pub head: HeadKind,
    /// Share of the labelled training images used.
    pub label_fraction: f64,
    /// Labelled training images per subset.
    pub train_examples: usize,
    /// Label subsets (seeds) averaged over.
    pub seeds: usize,
    /// Mean test top-1 accuracy.
    pub top1: f64,
    /// Its standard deviation over seeds.
    pub top1_std: f64,
    /// Mean test top-5 accuracy.
    pub top5: f64,
    /// Its standard deviation over seeds.
    pub top5_std: f64,
    /// Mean accuracy per class.
    pub per_class: Vec<f64>,
    /// The confusion matrix of the first seed (`[true][predicted]`).
    pub confusion: Vec<Vec<usize>>,
}

/// Mean and (population) standard deviation.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Trains `head` probes on `seeds` stratified subsets of `fraction` of the training
/// features (subset seeds 0, 1, …) and evaluates each on the test features.
pub fn probe<B: AutodiffBackend>(
    features: &FeatureSet,
    encoder: &str,
    head: HeadKind,
    fraction: f64,
    seeds: usize,
    base: &ProbeConfig,
    device: &B::Device,
) -> Result<ProbeResult> {
    base.validate(seeds)?;
    check_fraction(fraction)?;
    let classes = features
        .train_labels
        .iter()
        .chain(&features.test_labels)
        .map(|&l| l as usize + 1)
        .max()
        .unwrap_or(1);
    let dim = features.dim;
    let test = Features {
        values: &features.test,
        labels: &features.test_labels,
        dim,
    };
    let mut reports = vec![];
    let mut examples = 0;
    for seed in 0..seeds.max(1) as u64 {
        let rows = stratified_subset(&features.train_labels, fraction, seed);
        examples = rows.len();
        let values: Vec<f32> = rows
            .iter()
            .flat_map(|&r| features.train[r * dim..(r + 1) * dim].iter().copied())
            .collect();
        let labels: Vec<u8> = rows.iter().map(|&r| features.train_labels[r]).collect();
        let train = Features {
            values: &values,
            labels: &labels,
            dim,
        };
        let config = ProbeConfig {
            head,
            seed,
            ..base.clone()
        };
        reports.push(train_and_evaluate::<B>(
            &train, &test, classes, &config, device,
        )?);
    }
    let (top1, top1_std) = mean_std(&reports.iter().map(|r| r.top1).collect::<Vec<_>>());
    let (top5, top5_std) = mean_std(&reports.iter().map(|r| r.top5).collect::<Vec<_>>());
    let per_class = (0..classes)
        .map(|c| mean_std(&reports.iter().map(|r| r.per_class[c]).collect::<Vec<_>>()).0)
        .collect();
    Ok(ProbeResult {
        encoder: encoder.into(),
        head,
        label_fraction: fraction,
        train_examples: examples,
        seeds: reports.len(),
        top1,
        top1_std,
        top5,
        top5_std,
        per_class,
        confusion: reports[0].confusion.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::AutodiffCpu;
    use crate::data::DatasetSpec;
    use crate::eval::encoder_source::EncoderSource;
    use crate::test_support::encoder_tensors;
    use burn::module::AutodiffModule;

    #[test]
    fn probing_leaves_the_encoder_unchanged() {
        let spec = DatasetSpec {
            synthetic_train_size: 60,
            synthetic_test_size: 30,
            ..DatasetSpec::default()
        };
        let data = spec.load().unwrap();
        let config = crate::train::config::PretrainConfig {
            width: 4,
            ..Default::default()
        };
        let device = Default::default();
        let source = EncoderSource::RandomInit(Box::new(config));
        let trained = source.load::<AutodiffCpu>(32, &device).unwrap();
        let norm = data.normalization;
        let before = encoder_tensors(&trained.encoder);
        let features = extract(&trained.encoder.valid(), &data, &norm, &device).unwrap();
        let result = probe::<AutodiffCpu>(
            &features,
            "random",
            HeadKind::Linear,
            0.5,
            2,
            &ProbeConfig::default(),
            &device,
        )
        .unwrap();
        assert_eq!(result.train_examples, 30);
        assert_eq!(result.seeds, 2);
        assert!((0.0..=1.0).contains(&result.top1));
        assert_eq!(features.test_labels.len(), 30);
        assert_eq!(features.train.len(), 60 * 32);
        // The encoder's weights and BatchNorm statistics are byte for byte the same.
        assert!(before == encoder_tensors(&trained.encoder));
        // Random init is reproducible: the same seed gives the same encoder.
        let again = source.load::<AutodiffCpu>(32, &device).unwrap();
        assert!(before == encoder_tensors(&again.encoder));
    }

    #[test]
    fn probes_and_the_supervised_baseline_draw_the_same_images() {
        let spec = DatasetSpec {
            synthetic_train_size: 200,
            synthetic_test_size: 10,
            ..DatasetSpec::default()
        };
        let mut data = spec.load().unwrap();
        // Unlabelled images before the labelled ones (as if STL-10's unlabeled came first):
        // subset rows and split indices then differ.
        let all: Vec<usize> = (0..200).collect();
        let mut train = crate::data::Split::empty(32, 32);
        let unlabelled = data.train.batch_u8(&[0, 1, 2]);
        let bytes = |v: Vec<u8>| crate::data::split::Bytes::Owned(std::sync::Arc::new(v));
        train.push(crate::data::Pixels::RowMajor(bytes(unlabelled)), None);
        let labels_before = data.train.labels();
        let pixels = crate::data::Pixels::RowMajor(bytes(data.train.batch_u8(&all)));
        train.push(pixels, labels_before);
        data.train = train;
        let (_, labels) = labelled(&data.train);
        assert_eq!(labels.len(), 200);
        for seed in 0..3 {
            let images = label_subset(&data.train, 0.1, seed);
            let rows = stratified_subset(&labels, 0.1, seed);
            let shifted: Vec<usize> = rows.iter().map(|r| r + 3).collect();
            assert_eq!(images, shifted);
            assert_eq!(images.len(), 20);
            let per_class = |c: u8| {
                images
                    .iter()
                    .filter(|&&i| data.train.label(i) == Some(c))
                    .count()
            };
            assert!((0..10).all(|c| per_class(c) == 2));
        }
    }

    #[test]
    fn spread_of_results() {
        let (mean, std) = mean_std(&[0.5, 0.7]);
        assert!((mean - 0.6).abs() < 1e-12 && (std - 0.1).abs() < 1e-12);
    }
}
