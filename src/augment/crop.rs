//! The supervised baseline's augmentation: random crop with zero padding and horizontal
//! flip (the usual CIFAR recipe), on the host, per image.

use crate::rng::Rng;

/// Zero padding around each image before the crop.
const PAD: usize = 4;

/// Zero-pads each CHW u8 image by 4 pixels (`PAD`), crops a random window of the original size and
/// flips it horizontally with probability ½.
pub fn crop_pad_flip(pixels: &[u8], height: usize, width: usize, rng: &mut Rng) -> Vec<u8> {
    let plane = height * width;
    let mut out = vec![0u8; pixels.len()];
    for (src, dst) in pixels
        .chunks_exact(3 * plane)
        .zip(out.chunks_exact_mut(3 * plane))
    {
        let (dy, dx) = (rng.below(2 * PAD + 1), rng.below(2 * PAD + 1));
        let flip = rng.bernoulli(0.5);
        for c in 0..3 {
            for y in 0..height {
                let sy = (y + dy).checked_sub(PAD).filter(|&v| v < height);
                for x in 0..width {
                    let xx = if flip { width - 1 - x } else { x };
                    let sx = (xx + dx).checked_sub(PAD).filter(|&v| v < width);
                    if let (Some(sy), Some(sx)) = (sy, sx) {
                        dst[c * plane + y * width + x] = src[c * plane + sy * width + sx];
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The image shifted by (dy, dx) - 4 with zero fill, then mirrored when `flip`.
    fn transformed(image: &[u8], h: usize, w: usize, dy: usize, dx: usize, flip: bool) -> Vec<u8> {
        let mut out = vec![0u8; image.len()];
        for c in 0..3 {
            for y in 0..h {
                for x in 0..w {
                    let xx = if flip { w - 1 - x } else { x };
                    let (sy, sx) = (y + dy, xx + dx);
                    if (4..h + 4).contains(&sy) && (4..w + 4).contains(&sx) {
                        out[c * h * w + y * w + x] = image[c * h * w + (sy - 4) * w + sx - 4];
                    }
                }
            }
        }
        out
    }

    #[test]
    fn crop_pad_flip_shifts_by_up_to_four_pixels_and_mirrors() {
        let (h, w) = (6, 5);
        let image: Vec<u8> = (0..3 * h * w).map(|i| i as u8 + 1).collect();
        let mut rng = Rng::new(0);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..400 {
            let out = crop_pad_flip(&image, h, w, &mut rng);
            let found = (0..9)
                .flat_map(|dy| (0..9).flat_map(move |dx| [(dy, dx, false), (dy, dx, true)]))
                .find(|&(dy, dx, flip)| transformed(&image, h, w, dy, dx, flip) == out);
            seen.insert(found.expect("every output is a padded crop, maybe mirrored"));
        }
        assert!(seen.iter().any(|t| t.2) && seen.iter().any(|t| !t.2));
        assert!(seen.len() > 100, "offsets and flips vary: {}", seen.len());
    }
}
