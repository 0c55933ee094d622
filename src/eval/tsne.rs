//! t-SNE of encoder features: PCA to 50 dimensions, then Barnes-Hut t-SNE (linfa-tsne) with
//! the usual settings (perplexity 30, θ 0.5, 1,000 iterations) rather than linfa's defaults.

use crate::{eval::pca, Error, Result};
use linfa::traits::Transformer;
use linfa_tsne::TSneParams;
use ndarray::Array2;
use rand_08::rngs::SmallRng;
use rand_08::SeedableRng;
use serde::{Deserialize, Serialize};

/// Fewer points than this use exact t-SNE.
const EXACT_BELOW: usize = 200;

/// t-SNE settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TsneConfig {
    /// Effective number of neighbours; lowered to `(points - 1) / 3` for few points.
    pub perplexity: f64,
    /// Barnes-Hut accuracy θ (0 = exact).
    pub theta: f64,
    /// Gradient-descent iterations.
    pub iterations: usize,
    /// PCA dimensions before t-SNE.
    pub pca_dims: usize,
    /// Seed of the PCA start and the initial embedding.
    pub seed: u64,
}

impl Default for TsneConfig {
    fn default() -> Self {
        Self {
            perplexity: 30.0,
            theta: 0.5,
            iterations: 1000,
            pca_dims: 50,
            seed: 0,
        }
    }
}

/// The fewest iterations: t-SNE's early exaggeration alone takes up to 250, and a map
/// stopped before it ends is still its random start pulled into clumps.
pub const MIN_ITERATIONS: usize = 250;
/// The most iterations (time, not memory: a map has long settled by then).
pub const MAX_ITERATIONS: usize = 100_000;
/// The fewest points a map can be made of.
pub const MIN_POINTS: usize = 4;

impl TsneConfig {
    /// Refuses settings that give no map or a meaningless one, naming the setting.
    pub fn validate(&self) -> Result<()> {
        let theta = self.theta;
        Error::first_invalid([
            (
                self.perplexity.is_finite() && self.perplexity >= 1.0,
                "perplexity",
                format!(
                    "{} is not a number of neighbours: at least 1 (usually 5 to 50)",
                    self.perplexity
                ),
            ),
            (
                crate::error::non_negative(theta) && theta <= 1.0,
                "theta",
                format!("{theta} is not a Barnes-Hut θ: 0 (exact) to 1"),
            ),
            (
                (MIN_ITERATIONS..=MAX_ITERATIONS).contains(&self.iterations),
                "iterations",
                format!(
                    "{} is outside {MIN_ITERATIONS}..={MAX_ITERATIONS}",
                    self.iterations
                ),
            ),
            (
                self.pca_dims >= 2,
                "pca_dims",
                format!("{} is below 2", self.pca_dims),
            ),
        ])
    }
}

/// Refuses a point count no map can be made of.
pub fn check_points(points: usize) -> Result<()> {
    Error::first_invalid([(
        points >= MIN_POINTS,
        "points",
        format!("{points} is below {MIN_POINTS}: t-SNE needs at least {MIN_POINTS} points"),
    )])
}

/// A 2-D embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding2d {
    /// One `[x, y]` per input row.
    pub points: Vec<[f64; 2]>,
    /// The perplexity actually used.
    pub perplexity: f64,
    /// The Barnes-Hut θ actually used (0 = exact, for few points).
    pub theta: f64,
}

/// Embeds the rows of `values` (`dim` columns) in 2-D.
pub fn embed(values: &[f32], dim: usize, config: &TsneConfig) -> Result<Embedding2d> {
    config.validate()?;
    let rows = values.len() / dim.max(1);
    if rows < MIN_POINTS || dim < 2 {
        return Err(Error::UnsuitableData(format!(
            "t-SNE needs at least {MIN_POINTS} points of 2 or more dimensions, got {rows} of {dim}"
        )));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(Error::UnsuitableData(
            "t-SNE input has NaN or infinite features".into(),
        ));
    }
    let perplexity = config.perplexity.min((rows - 1) as f64 / 3.0);
    // bhtsne's Barnes-Hut path produces NaN positions (and then recurses without end in its
    // space-partitioning tree) when the neighbour count 3·perplexity nears the point count;
    // for so few points the exact gradient is cheap anyway.
    let theta = if rows < EXACT_BELOW {
        0.0
    } else {
        config.theta
    };
    let mut data = pca::project(values, dim, config.pca_dims);
    break_ties(&mut data, config.seed);
    let rng = SmallRng::seed_from_u64(config.seed);
    let out = TSneParams::embedding_size_with_rng(2, rng)
        .perplexity(perplexity)
        .approx_threshold(theta)
        .max_iter(config.iterations)
        .transform(data)
        .map_err(|e| Error::Numerical {
            method: "t-SNE",
            message: e.to_string(),
        })?;
    let points = out.rows().into_iter().map(|r| [r[0], r[1]]).collect();
    if !out.iter().all(|v| v.is_finite()) {
        return Err(Error::Numerical {
            method: "t-SNE",
            message: "non-finite positions (diverged)".into(),
        });
    }
    Ok(Embedding2d {
        points,
        perplexity,
        theta,
    })
}

/// Adds noise far below the data's spread. Identical rows (a collapsed or dead encoder
/// gives many) make t-SNE's affinities NaN, and bhtsne's space-partitioning tree then
/// recurses without end on the NaN points.
fn break_ties(values: &mut Array2<f64>, seed: u64) {
    let spread = values.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let scale = 1e-6 * if spread > 0.0 { spread } else { 1.0 };
    let mut rng = crate::rng::Rng::stream(seed, 7);
    for v in values.iter_mut() {
        *v += scale * rng.normal();
    }
}

/// Leave-one-out 1-nearest-neighbour accuracy of labelled 2-D points: how well the classes
/// stay apart in the picture.
pub fn nearest_neighbour_accuracy(points: &[[f64; 2]], labels: &[u8]) -> f64 {
    let hits = points
        .iter()
        .enumerate()
        .filter(|&(i, p)| {
            let nearest = points
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .min_by(|(_, a), (_, b)| distance(p, a).total_cmp(&distance(p, b)));
            nearest.is_some_and(|(j, _)| labels[j] == labels[i])
        })
        .count();
    hits as f64 / points.len().max(1) as f64
}

fn distance(a: &[f64; 2], b: &[f64; 2]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// `tsne.csv`: `x,y,label` per point (label empty when unknown).
pub fn to_csv(points: &[[f64; 2]], labels: &[u8]) -> String {
    let mut out = String::from("x,y,label\n");
    for (i, p) in points.iter().enumerate() {
        let label = labels.get(i).map(|l| l.to_string()).unwrap_or_default();
        out.push_str(&format!("{:.5},{:.5},{label}\n", p[0], p[1]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn well_separated_blobs_stay_apart() {
        let mut rng = Rng::new(5);
        let (mut values, mut labels) = (vec![], vec![]);
        for i in 0..150 {
            let class = (i % 3) as u8;
            for d in 0..20 {
                let centre = if d % 3 == class as usize { 4.0 } else { 0.0 };
                values.push((centre + rng.normal()) as f32);
            }
            labels.push(class);
        }
        let config = TsneConfig {
            iterations: 500,
            pca_dims: 10,
            ..TsneConfig::default()
        };
        let embedding = embed(&values, 20, &config).unwrap();
        assert_eq!(embedding.points.len(), 150);
        let accuracy = nearest_neighbour_accuracy(&embedding.points, &labels);
        assert!(accuracy >= 0.95, "1-NN accuracy in 2-D: {accuracy}");
        assert!(embedding.points.iter().flatten().all(|v| v.is_finite()));
        let csv = to_csv(&embedding.points, &labels);
        assert_eq!(csv.lines().count(), 151);
    }

    #[test]
    fn unusable_settings_are_refused_by_name() {
        let values: Vec<f32> = (0..40).map(|i| (i * 7 % 11) as f32).collect();
        let cases = [
            (
                "perplexity",
                TsneConfig {
                    perplexity: 0.0,
                    ..Default::default()
                },
            ),
            (
                "perplexity",
                TsneConfig {
                    perplexity: f64::NAN,
                    ..Default::default()
                },
            ),
            (
                "theta",
                TsneConfig {
                    theta: -0.1,
                    ..Default::default()
                },
            ),
            (
                "theta",
                TsneConfig {
                    theta: f64::INFINITY,
                    ..Default::default()
                },
            ),
            (
                "iterations",
                TsneConfig {
                    iterations: 0,
                    ..Default::default()
                },
            ),
            (
                "iterations",
                TsneConfig {
                    iterations: MIN_ITERATIONS - 1,
                    ..Default::default()
                },
            ),
            (
                "pca_dims",
                TsneConfig {
                    pca_dims: 1,
                    ..Default::default()
                },
            ),
        ];
        for (setting, config) in cases {
            let error = embed(&values, 2, &config).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("invalid {setting}: ")),
                "{error}"
            );
        }
        let edge = TsneConfig {
            perplexity: 1.0,
            theta: 1.0,
            iterations: MIN_ITERATIONS,
            ..Default::default()
        };
        assert!(embed(&values, 2, &edge).is_ok());
        assert!(check_points(MIN_POINTS).is_ok());
        let error = check_points(0).unwrap_err().to_string();
        assert!(error.starts_with("invalid points: 0 is below 4"), "{error}");
    }

    #[test]
    fn few_points_lower_the_perplexity_and_too_few_are_an_error() {
        let values: Vec<f32> = (0..40).map(|i| (i * 7 % 11) as f32).collect();
        let embedding = embed(&values, 2, &TsneConfig::default()).unwrap();
        assert!((embedding.perplexity - 19.0 / 3.0).abs() < 1e-9);
        assert!(embed(&values[..6], 2, &TsneConfig::default()).is_err());
        // Identical rows (a dead encoder) still give a finite map.
        let constant = vec![0.5f32; 40 * 4];
        let embedding = embed(&constant, 4, &TsneConfig::default()).unwrap();
        assert!(embedding.points.iter().flatten().all(|v| v.is_finite()));
    }
}
