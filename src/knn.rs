//! The kNN monitor: cosine-similarity k-nearest-neighbour classification of test features
//! against training features with temperature-weighted votes (Wu et al. 2018).

use crate::data::{Normalization, Split};
use crate::features::{encode, labelled_indices};
use crate::loss::l2_normalize;
use crate::model::ResNet;
use crate::readback;
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

/// Top-1 accuracy of the kNN classifier, or None when either split has no labels.
pub fn evaluate<B: Backend>(
    encoder: &ResNet<B>,
    train: &Split,
    test: &Split,
    normalization: &Normalization,
    config: &KnnConfig,
    device: &B::Device,
) -> Result<Option<f64>> {
    let mut bank = labelled_indices(train);
    let mut queries = labelled_indices(test);
    if bank.is_empty() || queries.is_empty() {
        return Ok(None);
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
    let bank_features = l2_normalize(encode(encoder, train, &bank, normalization, 256, device));
    let k = config.k.min(bank.len());
    let mut correct = 0usize;
    for (chunk, chunk_labels) in queries.chunks(256).zip(query_labels.chunks(256)) {
        let q = l2_normalize(encode(encoder, test, chunk, normalization, 256, device));
        let sims = q.matmul(bank_features.clone().transpose());
        let (values, indices) = sims.topk_with_indices(k, 1);
        let values = readback::floats(values)?;
        let indices = readback::ints(indices)?;
        let predicted = vote(
            &values,
            &indices,
            &bank_labels,
            k,
            classes,
            config.temperature,
        );
        correct += predicted
            .iter()
            .zip(chunk_labels)
            .filter(|(p, l)| **p == **l as usize)
            .count();
    }
    Ok(Some(correct as f64 / queries.len() as f64))
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
}
