//! A built-in procedural dataset: 10 classes of 32×32 RGB images (five shapes, five
//! textures) with random grey levels, position, scale and pixel noise. Brightness carries no
//! class information, so an encoder must learn shape and texture to separate the classes.

use super::{Dataset, Normalization, Split};
use crate::rng::Rng;

/// Image side length.
pub const SIDE: usize = 32;
/// Class names, indexed by label.
pub const CLASSES: [&str; 10] = [
    "circle",
    "square",
    "triangle",
    "ring",
    "cross",
    "h-stripes",
    "v-stripes",
    "checker",
    "diagonal",
    "dots",
];
/// The fixed seed of the dataset itself, so that every run sees the same images.
pub const DATA_SEED: u64 = 0x5EED_DA7A;

/// Sizes of the synthetic splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticConfig {
    /// Training images.
    pub train_size: usize,
    /// Test images.
    pub test_size: usize,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            train_size: 5000,
            test_size: 1000,
        }
    }
}

struct Scene {
    class: usize,
    center: (f64, f64),
    radius: f64,
    period: f64,
    foreground: [f64; 3],
    background: [f64; 3],
}

impl Scene {
    fn sample(class: usize, rng: &mut Rng) -> Self {
        // Nearly grey levels with a faint tint: SimCLR tells instances apart by whatever
        // survives its augmentations, and a distinctive colour pair per image would let it
        // ignore shape and texture (its colour jitter shifts hue by at most 0.1). Levels
        // are what brightness and contrast jitter scramble.
        let foreground_level = rng.uniform();
        let mut background_level = rng.uniform();
        if (foreground_level - background_level).abs() < 0.35 {
            background_level = (foreground_level + 0.5).rem_euclid(1.0);
        }
        let tint = [0.0, 0.0, 0.0].map(|_: f64| 0.04 * (rng.uniform() - 0.5));
        let colour = |level: f64| [0, 1, 2].map(|c| (level + tint[c]).clamp(0.0, 1.0));
        let (foreground, background) = (colour(foreground_level), colour(background_level));
        Self {
            class,
            center: (rng.uniform_range(11.0, 21.0), rng.uniform_range(11.0, 21.0)),
            radius: rng.uniform_range(6.0, 11.0),
            period: rng.uniform_range(3.0, 5.0),
            foreground,
            background,
        }
    }

    fn covers(&self, x: f64, y: f64) -> bool {
        let (dx, dy) = (x - self.center.0, y - self.center.1);
        let r = self.radius;
        let distance = (dx * dx + dy * dy).sqrt();
        let in_square = dx.abs() < r && dy.abs() < r;
        let p = self.period;
        let band = |v: f64| (v / p).floor().rem_euclid(2.0) == 0.0;
        match self.class {
            0 => distance < r,
            1 => dx.abs() < 0.8 * r && dy.abs() < 0.8 * r,
            2 => dy > -r && dy < r && dx.abs() < (dy + r) / 2.0,
            3 => distance < r && distance > 0.55 * r,
            4 => (dx.abs() < 0.3 * r && dy.abs() < r) || (dy.abs() < 0.3 * r && dx.abs() < r),
            5 => in_square && band(dy + r),
            6 => in_square && band(dx + r),
            7 => in_square && (band(dx + r) != band(dy + r)),
            8 => in_square && band((dx + dy) / std::f64::consts::SQRT_2 + 2.0 * r),
            _ => {
                let (mx, my) = (
                    (dx + r).rem_euclid(p) - p / 2.0,
                    (dy + r).rem_euclid(p) - p / 2.0,
                );
                in_square && mx * mx + my * my < (p / 3.0) * (p / 3.0)
            }
        }
    }
}

/// Renders one image of `class` as row-major channel planes.
pub fn render(class: usize, rng: &mut Rng) -> Vec<u8> {
    let scene = Scene::sample(class, rng);
    let plane = SIDE * SIDE;
    let mut out = vec![0u8; 3 * plane];
    for y in 0..SIDE {
        for x in 0..SIDE {
            let color = if scene.covers(x as f64 + 0.5, y as f64 + 0.5) {
                scene.foreground
            } else {
                scene.background
            };
            for (c, value) in color.iter().enumerate() {
                let noisy = value + 0.06 * rng.normal();
                out[c * plane + y * SIDE + x] = (noisy.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    out
}

fn split(count: usize, stream: u64) -> Split {
    let mut rng = Rng::stream(DATA_SEED, stream);
    let labels: Vec<u8> = (0..count).map(|i| (i % CLASSES.len()) as u8).collect();
    let pixels = labels
        .iter()
        .flat_map(|&label| render(label as usize, &mut rng))
        .collect();
    Split::from_row_major(pixels, Some(labels), SIDE, SIDE)
}

/// The synthetic dataset at the given sizes; the same images on every call.
pub fn load(config: SyntheticConfig) -> Dataset {
    let train = split(config.train_size, 1);
    let test = split(config.test_size, 2);
    let normalization = Normalization::measure(&train);
    Dataset {
        name: "synthetic".into(),
        train,
        test,
        classes: CLASSES.map(String::from).to_vec(),
        normalization,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_balanced() {
        let config = SyntheticConfig {
            train_size: 50,
            test_size: 20,
        };
        let a = load(config);
        let b = load(config);
        assert_eq!(a.train.batch_u8(&[0, 7, 49]), b.train.batch_u8(&[0, 7, 49]));
        assert_ne!(a.train.batch_u8(&[0]), a.test.batch_u8(&[0]));
        let labels = a.train.labels().unwrap();
        for class in 0..10u8 {
            assert_eq!(labels.iter().filter(|&&l| l == class).count(), 5);
        }
    }

    #[test]
    fn every_class_draws_an_object() {
        let mut rng = Rng::new(3);
        for class in 0..10 {
            let scene = Scene::sample(class, &mut rng);
            let covered = (0..SIDE * SIDE)
                .filter(|i| scene.covers((i % SIDE) as f64 + 0.5, (i / SIDE) as f64 + 0.5))
                .count();
            assert!(
                covered > 15 && covered < SIDE * SIDE - 100,
                "class {class}: {covered}"
            );
        }
    }
}
