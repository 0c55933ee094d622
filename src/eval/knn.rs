//! The kNN monitor: cosine-similarity k-nearest-neighbour classification of test features
//! against training features with temperature-weighted votes (Wu et al. 2018).

use crate::data::{Normalization, Split};
use crate::eval::features::{encode, labelled_indices};
use crate::io::readback;
use crate::loss::l2_normalize;
use crate::model::ResNet;
use crate::rng::Rng;
use crate::Result;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// kNN monitor settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnConfig {
    /// Neighbours that vote.
    pub k: usize,
    /// Vote weight `exp(similarity / temperature)`.
    pub temperature: f64,
    /// Training images used as the memory bank (a fixed random subset; 0 = all).
    pub train_samples: usize,
    /// Test images classified (the first N; 0 = all).
    pub test_samples: usize,
}

impl Default for KnnConfig {
    fn default() -> Self {
        Self {
            k: 200,
            temperature: 0.1,
            train_samples: 10_000,
            test_samples: 0,
        }
    }
}

/// Weighted votes of the neighbours of each query; returns the predicted classes.
///
/// `similarities` and `neighbours` are row-major `queries × k`.
pub fn vote(
    similarities: &[f32],
    neighbours: &[i64],
    bank_labels: &[u8],
    k: usize,
    classes: usize,
    temperature: f64,
) -> Vec<usize> {
    similarities
        .chunks(k)
        .zip(neighbours.chunks(k))
        .map(|(sims, idx)| {
            let mut scores = vec![0f64; classes];
            for (s, &i) in sims.iter().zip(idx) {
                scores[bank_labels[i as usize] as usize] += (*s as f64 / temperature).exp();
            }
            scores
                .iter()
                .enumerate()
                .fold(
                    (0, f64::MIN),
                    |best, (c, &v)| if v > best.1 { (c, v) } else { best },
                )
                .0
        })
        .collect()
}

/// A kNN evaluation with its memory bank encoded, queried a chunk of test images at a time
/// so that the similarity matrix stays small.
pub struct KnnMonitor<'a, B: Backend> {
    encoder: &'a ResNet<B>,
    test: &'a Split,
    normalization: &'a Normalization,
    device: &'a B::Device,
    bank: Tensor<B, 2>,
    bank_labels: Vec<u8>,
    queries: Vec<usize>,
    query_labels: Vec<u8>,
    classes: usize,
    k: usize,
    temperature: f64,
}

/// Queries of one chunk: the top-k similarities and bank indices, still on the device.
pub struct KnnChunk<B: Backend> {
    /// `[queries, k]` cosine similarities.
    pub similarities: Tensor<B, 2>,
    /// `[queries, k]` bank rows.
    pub neighbours: Tensor<B, 2, Int>,
}

const QUERY_CHUNK: usize = 256;

impl<'a, B: Backend> KnnMonitor<'a, B> {
    /// Encodes the memory bank, or None when either split has no labels.
    pub fn new(
        encoder: &'a ResNet<B>,
        train: &Split,
        test: &'a Split,
        normalization: &'a Normalization,
        config: &KnnConfig,
        device: &'a B::Device,
    ) -> Option<Self> {
        let mut bank = labelled_indices(train);
        let mut queries = labelled_indices(test);
        if bank.is_empty() || queries.is_empty() {
            return None;
        }
        if config.train_samples > 0 && bank.len() > config.train_samples {
            // A fixed subset, independent of the training run's random streams.
            Rng::new(0x004B_4E4E).shuffle(&mut bank);
            bank.truncate(config.train_samples);
            bank.sort_unstable();
        }
        if config.test_samples > 0 {
            queries.truncate(config.test_samples);
        }
        let labels = |split: &Split, idx: &[usize]| -> Vec<u8> {
            idx.iter().map(|&i| split.label(i).unwrap_or(0)).collect()
        };
        let bank_labels = labels(train, &bank);
        let query_labels = labels(test, &queries);
        let classes = bank_labels
            .iter()
            .chain(&query_labels)
            .map(|&l| l as usize + 1)
            .max()
            .unwrap_or(1);
        let features = encode(encoder, train, &bank, normalization, 256, device);
        Some(Self {
            encoder,
            test,
            normalization,
            device,
            bank: l2_normalize(features),
            k: config.k.min(bank.len()),
            bank_labels,
            queries,
            query_labels,
            classes,
            temperature: config.temperature,
        })
    }

    /// Positions in the query list of chunk `chunk`.
    fn chunk_rows(&self, chunk: usize) -> std::ops::Range<usize> {
        chunk * QUERY_CHUNK..((chunk + 1) * QUERY_CHUNK).min(self.queries.len())
    }

    /// Query chunks to run.
    pub fn chunks(&self) -> usize {
        self.queries.len().div_ceil(QUERY_CHUNK)
    }

    /// Queues the cosine similarities of chunk `chunk`'s queries to the bank.
    ///
    /// # Shapes
    /// - output: `[queries in the chunk, bank size]`
    pub fn similarities(&self, chunk: usize) -> Tensor<B, 2> {
        let indices = &self.queries[self.chunk_rows(chunk)];
        let q = encode(
            self.encoder,
            self.test,
            indices,
            self.normalization,
            256,
            self.device,
        );
        l2_normalize(q).matmul(self.bank.clone().transpose())
    }

    /// Queues the neighbour search of chunk `chunk` on the device.
    pub fn query(&self, chunk: usize) -> KnnChunk<B> {
        let (similarities, neighbours) = self.similarities(chunk).topk_with_indices(self.k, 1);
        KnnChunk {
            similarities,
            neighbours,
        }
    }

    /// The top-k of read-back similarity rows, found on the host (for backends without a
    /// device sort, such as WebGPU in a browser).
    pub fn top_k(&self, similarities: &[f32]) -> (Vec<f32>, Vec<i64>) {
        let bank = self.bank_labels.len();
        let mut values = Vec::with_capacity(similarities.len() / bank.max(1) * self.k);
        let mut indices = Vec::with_capacity(values.capacity());
        for row in similarities.chunks(bank.max(1)) {
            let mut order: Vec<usize> = (0..row.len()).collect();
            let by_similarity = |a: &usize, b: &usize| row[*b].total_cmp(&row[*a]);
            if self.k < order.len() {
                order.select_nth_unstable_by(self.k, by_similarity);
                order.truncate(self.k);
            }
            order.sort_unstable_by(by_similarity);
            values.extend(order.iter().map(|&i| row[i]));
            indices.extend(order.iter().map(|&i| i as i64));
        }
        (values, indices)
    }

    /// Correct predictions of a chunk, from its read-back results.
    pub fn correct(&self, chunk: usize, similarities: &[f32], neighbours: &[i64]) -> usize {
        let labels = &self.query_labels[self.chunk_rows(chunk)];
        let predicted = vote(
            similarities,
            neighbours,
            &self.bank_labels,
            self.k,
            self.classes,
            self.temperature,
        );
        predicted
            .iter()
            .zip(labels)
            .filter(|(p, l)| **p == **l as usize)
            .count()
    }

    /// Accuracy from the total of correct predictions.
    pub fn accuracy(&self, correct: usize) -> f64 {
        correct as f64 / self.queries.len() as f64
    }
}

/// Top-1 accuracy of the kNN classifier, or None when either split has no labels.
pub fn evaluate<B: Backend>(
    encoder: &ResNet<B>,
    train: &Split,
    test: &Split,
    normalization: &Normalization,
    config: &KnnConfig,
    device: &B::Device,
) -> Result<Option<f64>> {
    let Some(monitor) = KnnMonitor::new(encoder, train, test, normalization, config, device) else {
        return Ok(None);
    };
    let mut correct = 0;
    for chunk in 0..monitor.chunks() {
        let out = monitor.query(chunk);
        let similarities = readback::floats(out.similarities)?;
        let neighbours = readback::ints(out.neighbours)?;
        correct += monitor.correct(chunk, &similarities, &neighbours);
    }
    Ok(Some(monitor.accuracy(correct)))
}

/// [`evaluate`] without blocking (a browser's WebGPU device), with the top-k on the host.
pub async fn evaluate_async<B: Backend>(
    encoder: &ResNet<B>,
    train: &Split,
    test: &Split,
    normalization: &Normalization,
    config: &KnnConfig,
    device: &B::Device,
) -> Result<Option<f64>> {
    let Some(monitor) = KnnMonitor::new(encoder, train, test, normalization, config, device) else {
        return Ok(None);
    };
    let mut correct = 0;
    for chunk in 0..monitor.chunks() {
        let rows = readback::floats_async(monitor.similarities(chunk)).await?;
        let (similarities, neighbours) = monitor.top_k(&rows);
        correct += monitor.correct(chunk, &similarities, &neighbours);
    }
    Ok(Some(monitor.accuracy(correct)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_votes_beat_counts() {
        // Two weak votes for class 1 against one strong vote for class 0.
        let sims = [0.9, 0.1, 0.1];
        let idx = [0, 1, 2];
        let labels = [0, 1, 1];
        assert_eq!(vote(&sims, &idx, &labels, 3, 2, 0.1), vec![0]);
        assert_eq!(vote(&sims, &idx, &labels, 3, 2, 100.0), vec![1]);
    }

    #[test]
    fn host_top_k_matches_the_device_one() {
        use crate::backend::Cpu;
        use crate::data::DatasetSpec;
        use crate::model::ResNetConfig;
        let data = DatasetSpec {
            synthetic_train_size: 40,
            synthetic_test_size: 300,
            ..Default::default()
        }
        .load()
        .unwrap();
        let device = Default::default();
        let encoder = ResNetConfig::new().with_width(2).init::<Cpu>(&device);
        let config = KnnConfig {
            k: 5,
            ..KnnConfig::default()
        };
        let norm = data.normalization;
        let monitor =
            KnnMonitor::new(&encoder, &data.train, &data.test, &norm, &config, &device).unwrap();
        assert_eq!(monitor.chunks(), 2);
        for chunk in 0..monitor.chunks() {
            let on_device = monitor.query(chunk);
            let values = readback::floats(on_device.similarities).unwrap();
            let indices = readback::ints(on_device.neighbours).unwrap();
            let rows = readback::floats(monitor.similarities(chunk)).unwrap();
            let (host_values, host_indices) = monitor.top_k(&rows);
            assert_eq!(host_values.len(), values.len());
            for (a, b) in host_values.iter().zip(&values) {
                assert!((a - b).abs() < 1e-6, "{a} vs {b}");
            }
            assert_eq!(
                monitor.correct(chunk, &host_values, &host_indices),
                monitor.correct(chunk, &values, &indices)
            );
        }
    }
}
