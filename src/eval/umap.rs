//! UMAP (McInnes, Healy and Melville 2018), the map beside t-SNE: umap-learn's algorithm
//! for the few thousand points a map of `h` shows — PCA to `pca_dims`, exact k nearest
//! neighbours, smooth k-NN distances and the fuzzy union of the neighbour graphs, a PCA
//! start scaled to [0, 10], then SGD with negative sampling and umap-learn's gradient
//! clipping and step schedule.
//!
//! Written here rather than taken from a crate: `umap-rs` 0.4 (BSD-3-Clause, the maintained
//! one) draws from an unseeded thread RNG and moves points from several threads at once
//! (Hogwild), so the same features give another map on every run, where the study and the
//! page promise maps that a seed reproduces; it also panics on input it does not accept.
//! `fast-umap` is a parametric UMAP (a network trained with Burn) on another Burn release.
//! Everything here is seeded and single-threaded (one map of 2,000 points takes about a
//! second natively), and bad input is an error naming the setting or the data.

use super::pca;
use super::tsne::Embedding2d;
use crate::error::positive;
use crate::rng::Rng;
use crate::{Error, Result};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// UMAP's settings (umap-learn's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UmapConfig {
    /// Neighbours that define each point's neighbourhood: small values keep local
    /// detail, large ones the global layout.
    pub n_neighbors: usize,
    /// How tightly points may pack in the map (0 to 1).
    pub min_dist: f64,
    /// Passes of stochastic gradient descent over the graph.
    pub epochs: usize,
    /// PCA dimensions kept before the neighbour search.
    pub pca_dims: usize,
    /// Seed of the negative samples.
    pub seed: u64,
}

impl Default for UmapConfig {
    fn default() -> Self {
        Self {
            n_neighbors: 15,
            min_dist: 0.1,
            epochs: 500,
            pca_dims: 50,
            seed: 0,
        }
    }
}

/// Negative samples per positive one, and their weight (umap-learn's).
const NEGATIVE_RATE: usize = 5;
const REPULSION: f64 = 1.0;
/// A gradient component's largest size.
const CLIP: f64 = 4.0;

impl UmapConfig {
    /// Rejects settings that give no map or a meaningless one, by name.
    pub fn validate(&self) -> Result<()> {
        Error::first_invalid([
            (
                (2..=200).contains(&self.n_neighbors),
                "umap.n_neighbors",
                "must be between 2 and 200",
            ),
            (
                self.min_dist.is_finite() && (0.0..1.0).contains(&self.min_dist),
                "umap.min_dist",
                "must be at least 0 and below 1",
            ),
            (
                (10..=10_000).contains(&self.epochs),
                "umap.epochs",
                "must be between 10 and 10,000",
            ),
            (self.pca_dims >= 2, "umap.pca_dims", "must be at least 2"),
        ])
    }
}

/// Embeds the rows of `values` (`dim` columns) in 2-D.
pub fn embed(values: &[f32], dim: usize, config: &UmapConfig) -> Result<Embedding2d> {
    config.validate()?;
    let rows = values.len() / dim.max(1);
    if rows < super::tsne::MIN_POINTS || dim < 2 {
        return Err(Error::UnsuitableData(format!(
            "UMAP needs at least {} points of 2 or more dimensions, got {rows} of {dim}",
            super::tsne::MIN_POINTS
        )));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(Error::UnsuitableData(
            "UMAP input has NaN or infinite features".into(),
        ));
    }
    let data = pca::project(values, dim, config.pca_dims);
    let k = config.n_neighbors.min(rows - 1);
    let edges = fuzzy_graph(&nearest_neighbours(&data, k), k);
    let (a, b) = curve(config.min_dist);
    let mut points = start(&data);
    optimise(&mut points, &edges, (a, b), config);
    if !points.iter().flatten().all(|v| v.is_finite()) {
        return Err(Error::Numerical {
            method: "UMAP",
            message: "non-finite positions".into(),
        });
    }
    Ok(Embedding2d {
        points,
        perplexity: 0.0,
        theta: 0.0,
    })
}

/// Each row's `k` nearest other rows and their distances, nearest first (ties by index).
fn nearest_neighbours(data: &Array2<f64>, k: usize) -> Vec<Vec<(usize, f64)>> {
    let rows = data.nrows();
    (0..rows)
        .map(|i| {
            let mut all: Vec<(usize, f64)> = (0..rows)
                .filter(|&j| j != i)
                .map(|j| {
                    let d2: f64 = (&data.row(i) - &data.row(j)).mapv(|v| v * v).sum();
                    (j, d2.sqrt())
                })
                .collect();
            all.sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
            all.truncate(k);
            all
        })
        .collect()
}

/// The fuzzy union of every point's neighbourhood as directed edges `(from, to, weight)`,
/// both directions of each pair, in a fixed order.
fn fuzzy_graph(neighbours: &[Vec<(usize, f64)>], k: usize) -> Vec<(usize, usize, f64)> {
    let target = (k as f64).log2();
    let mean_distance = {
        let all: Vec<f64> = neighbours.iter().flatten().map(|&(_, d)| d).collect();
        all.iter().sum::<f64>() / all.len().max(1) as f64
    };
    // (low, high) -> (weight low→high, weight high→low)
    let mut pairs: BTreeMap<(usize, usize), (f64, f64)> = BTreeMap::new();
    for (i, row) in neighbours.iter().enumerate() {
        let rho = row
            .iter()
            .map(|&(_, d)| d)
            .find(|&d| d > 0.0)
            .unwrap_or(0.0);
        let sigma = smooth_sigma(row, rho, target).max(1e-3 * mean_distance);
        for &(j, d) in row {
            let w = if d <= rho {
                1.0
            } else {
                (-(d - rho) / sigma).exp()
            };
            let entry = pairs.entry((i.min(j), i.max(j))).or_insert((0.0, 0.0));
            if i < j {
                entry.0 = w;
            } else {
                entry.1 = w;
            }
        }
    }
    pairs
        .into_iter()
        .map(|((i, j), (a, b))| (i, j, a + b - a * b))
        .filter(|&(_, _, w)| w > 0.0)
        .flat_map(|(i, j, w)| [(i, j, w), (j, i, w)])
        .collect()
}

/// The σ at which a row's memberships `exp(-(d - ρ)/σ)` sum to `target`, by bisection.
fn smooth_sigma(row: &[(usize, f64)], rho: f64, target: f64) -> f64 {
    let (mut low, mut high, mut mid) = (0.0, f64::INFINITY, 1.0);
    for _ in 0..64 {
        let sum: f64 = row
            .iter()
            .map(|&(_, d)| {
                let excess = d - rho;
                if excess > 0.0 {
                    (-excess / mid).exp()
                } else {
                    1.0
                }
            })
            .sum();
        if (sum - target).abs() < 1e-5 {
            break;
        }
        if sum > target {
            high = mid;
            mid = (low + high) / 2.0;
        } else {
            low = mid;
            mid = if high.is_finite() {
                (low + high) / 2.0
            } else {
                mid * 2.0
            };
        }
    }
    mid
}

/// `a` and `b` of the map's similarity `1 / (1 + a·d^(2b))`, fitted (least squares on
/// 300 distances in [0, 3]) to 1 inside `min_dist` and `exp(-(d - min_dist))` beyond it,
/// as umap-learn fits them; by a grid narrowed around the best point five times.
pub fn curve(min_dist: f64) -> (f64, f64) {
    let xs: Vec<f64> = (0..300).map(|i| 3.0 * i as f64 / 299.0).collect();
    let target = |x: f64| {
        if x < min_dist {
            1.0
        } else {
            (-(x - min_dist)).exp()
        }
    };
    let error = |a: f64, b: f64| {
        xs.iter()
            .map(|&x| (1.0 / (1.0 + a * x.powf(2.0 * b)) - target(x)).powi(2))
            .sum::<f64>()
    };
    let (mut a, mut b) = (1.0, 1.0);
    let (mut a_span, mut b_span) = (10.0f64, 2.0f64);
    for _ in 0..6 {
        let mut best = (error(a, b), a, b);
        for i in 0..=40 {
            for j in 0..=40 {
                let ta = (a + a_span * (i as f64 / 20.0 - 1.0)).max(1e-3);
                let tb = (b + b_span * (j as f64 / 20.0 - 1.0)).max(1e-3);
                let e = error(ta, tb);
                if e < best.0 {
                    best = (e, ta, tb);
                }
            }
        }
        (a, b) = (best.1, best.2);
        (a_span, b_span) = (a_span / 8.0, b_span / 8.0);
    }
    (a, b)
}

/// The PCA start: the data's first two principal coordinates, each scaled to [0, 10].
fn start(data: &Array2<f64>) -> Vec<[f64; 2]> {
    let flat: Vec<f32> = data.iter().map(|&v| v as f32).collect();
    let two = pca::project(&flat, data.ncols(), 2);
    let scaled = |c: usize| {
        // PCA of rows that do not vary may give fewer than two columns: a flat start.
        let column: Vec<f64> = match c < two.ncols() {
            true => two.column(c).to_vec(),
            false => vec![0.0; data.nrows()],
        };
        let (low, high) = column
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        let span = if high > low { high - low } else { 1.0 };
        column
            .iter()
            .map(|&v| 10.0 * (v - low) / span)
            .collect::<Vec<f64>>()
    };
    let (x, y) = (scaled(0), scaled(1));
    x.into_iter().zip(y).map(|(x, y)| [x, y]).collect()
}

fn clip(v: f64) -> f64 {
    v.clamp(-CLIP, CLIP)
}

/// umap-learn's layout optimisation: every edge pulls its ends together as often as its
/// weight says (the heaviest every epoch), each pull followed by `NEGATIVE_RATE` pushes
/// away from random points, at a rate falling linearly from 1 to 0.
fn optimise(
    points: &mut [[f64; 2]],
    edges: &[(usize, usize, f64)],
    (a, b): (f64, f64),
    config: &UmapConfig,
) {
    let epochs = config.epochs;
    let heaviest = edges.iter().map(|e| e.2).fold(0.0, f64::max);
    // Edges too light to be drawn once in the run are dropped, as umap-learn drops them.
    let edges: Vec<&(usize, usize, f64)> = edges
        .iter()
        .filter(|e| positive(e.2) && e.2 >= heaviest / epochs as f64)
        .collect();
    let every: Vec<f64> = edges.iter().map(|e| heaviest / e.2).collect();
    let every_negative: Vec<f64> = every.iter().map(|e| e / NEGATIVE_RATE as f64).collect();
    let mut next = every.clone();
    let mut next_negative = every_negative.clone();
    let mut rng = Rng::stream(config.seed, 11);
    let n = points.len();
    for epoch in 0..epochs {
        let alpha = 1.0 - epoch as f64 / epochs as f64;
        for (e, &&(from, to, _)) in edges.iter().enumerate() {
            if next[e] > epoch as f64 {
                continue;
            }
            attract(points, (from, to), (a, b), alpha);
            next[e] += every[e];
            let samples = ((epoch as f64 - next_negative[e]) / every_negative[e])
                .floor()
                .max(0.0);
            for _ in 0..samples as usize {
                let other = rng.below(n);
                if other != from {
                    repel(points, (from, other), (a, b), alpha);
                }
            }
            next_negative[e] += samples * every_negative[e];
        }
    }
}

/// One pull of the ends of an edge towards each other (both move).
fn attract(points: &mut [[f64; 2]], (from, to): (usize, usize), (a, b): (f64, f64), alpha: f64) {
    let d2 = distance2(points[from], points[to]);
    let pull = if d2 > 0.0 {
        -2.0 * a * b * d2.powf(b - 1.0) / (a * d2.powf(b) + 1.0)
    } else {
        0.0
    };
    let delta = [
        points[from][0] - points[to][0],
        points[from][1] - points[to][1],
    ];
    for (d, delta) in delta.into_iter().enumerate() {
        let grad = clip(pull * delta);
        points[from][d] += grad * alpha;
        points[to][d] -= grad * alpha;
    }
}

/// One push of `from` away from a random point `other` (only `from` moves).
fn repel(points: &mut [[f64; 2]], (from, other): (usize, usize), (a, b): (f64, f64), alpha: f64) {
    let d2 = distance2(points[from], points[other]);
    let push = if d2 > 0.0 {
        2.0 * REPULSION * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0))
    } else {
        0.0
    };
    let delta = [
        points[from][0] - points[other][0],
        points[from][1] - points[other][1],
    ];
    for (d, delta) in delta.into_iter().enumerate() {
        // umap-learn's push for two points on top of each other: the largest step.
        let grad = if push > 0.0 { clip(push * delta) } else { CLIP };
        points[from][d] += grad * alpha;
    }
}

fn distance2(p: [f64; 2], q: [f64; 2]) -> f64 {
    (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tsne::nearest_neighbour_accuracy;

    /// Three well-separated Gaussian blobs in 20 dimensions, `per` points each.
    fn blobs(per: usize) -> (Vec<f32>, Vec<u8>) {
        let mut rng = Rng::new(5);
        let mut values = vec![];
        let mut labels = vec![];
        for class in 0..3u8 {
            for _ in 0..per {
                for d in 0..20 {
                    let centre = if d == class as usize { 10.0 } else { 0.0 };
                    values.push((centre + rng.normal()) as f32);
                }
                labels.push(class);
            }
        }
        (values, labels)
    }

    #[test]
    fn the_curve_is_umap_learns_for_its_defaults() {
        // umap-learn's find_ab_params(1.0, 0.1): a = 1.5769, b = 0.8951.
        let (a, b) = curve(0.1);
        assert!(
            (a - 1.5769).abs() < 0.02 && (b - 0.8951).abs() < 0.01,
            "a {a}, b {b}"
        );
    }

    #[test]
    fn separated_clusters_stay_apart_and_a_seed_gives_the_same_map() {
        let (values, labels) = blobs(40);
        let config = UmapConfig {
            epochs: 200,
            ..UmapConfig::default()
        };
        let map = embed(&values, 20, &config).unwrap();
        assert_eq!(map.points.len(), 120);
        let accuracy = nearest_neighbour_accuracy(&map.points, &labels);
        assert!(accuracy > 0.95, "2-D 1-NN accuracy {accuracy}");
        assert_eq!(embed(&values, 20, &config).unwrap(), map, "seeded");
        let other = embed(&values, 20, &UmapConfig { seed: 1, ..config }).unwrap();
        assert_ne!(other, map, "the seed matters");
    }

    #[test]
    fn unusable_settings_and_data_are_refused_by_name() {
        let (values, _) = blobs(10);
        for (setting, config) in [
            (
                "umap.n_neighbors",
                UmapConfig {
                    n_neighbors: 1,
                    ..Default::default()
                },
            ),
            (
                "umap.min_dist",
                UmapConfig {
                    min_dist: f64::NAN,
                    ..Default::default()
                },
            ),
            (
                "umap.min_dist",
                UmapConfig {
                    min_dist: 1.0,
                    ..Default::default()
                },
            ),
            (
                "umap.epochs",
                UmapConfig {
                    epochs: 0,
                    ..Default::default()
                },
            ),
        ] {
            let err = embed(&values, 20, &config).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidSetting { setting: s, .. } if *s == setting),
                "{setting}: {err}"
            );
        }
        let mut bad = values.clone();
        bad[3] = f32::NAN;
        assert!(matches!(
            embed(&bad, 20, &UmapConfig::default()),
            Err(Error::UnsuitableData(_))
        ));
        assert!(matches!(
            embed(&values[..60], 20, &UmapConfig::default()),
            Err(Error::UnsuitableData(_))
        ));
        // Identical points (a dead encoder) still give a finite map.
        let same = vec![0.5f32; 20 * 30];
        let map = embed(
            &same,
            20,
            &UmapConfig {
                epochs: 50,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(map.points.iter().flatten().all(|v| v.is_finite()));
    }
}
