//! A PNG grid of original images beside two augmented views of each.

use crate::augment::AugmentConfig;
use crate::data::{Normalization, Split};
use crate::io::atomic::write_atomic;
use crate::{Error, Result};
use burn::prelude::*;
use std::path::Path;

const GAP: usize = 2;

/// Two augmented views of the first images of a split, still on the device.
pub struct PendingPairs<B: Backend> {
    pixels: Vec<u8>,
    views: Tensor<B, 4>,
    count: usize,
    side: [usize; 2],
}

/// Queues the augmentation of the first `count` images of `split` (unnormalised views).
pub fn queue_pairs<B: Backend>(
    split: &Split,
    augment: &AugmentConfig,
    count: usize,
    seed: u64,
    device: &B::Device,
) -> Result<PendingPairs<B>> {
    let n = count.min(split.len());
    if n == 0 {
        return Err(Error::UnsuitableData(
            "the dataset has no images to preview".into(),
        ));
    }
    let (h, w) = (split.height(), split.width());
    let pixels = split.batch_u8(&(0..n).collect::<Vec<_>>());
    let identity = Normalization {
        mean: [0.0; 3],
        std: [1.0; 3],
    };
    let params = augment.sample_pairs(seed, 0, 0..n, [h, w]);
    let views = augment.two_views::<B>(&pixels, [h, w], h, &identity, &params, device);
    Ok(PendingPairs {
        pixels,
        views,
        count: n,
        side: [h, w],
    })
}

impl<B: Backend> PendingPairs<B> {
    /// Rows of (original, view 1, view 2), each tile scaled up `zoom` times, as PNG bytes.
    pub fn png(self, zoom: usize) -> Result<Vec<u8>> {
        let views = crate::io::readback::floats(self.views.clone())?;
        self.compose(&views, zoom)
    }

    /// [`Self::png`] without blocking (a browser's WebGPU device).
    pub async fn png_async(self, zoom: usize) -> Result<Vec<u8>> {
        let views = crate::io::readback::floats_async(self.views.clone()).await?;
        self.compose(&views, zoom)
    }

    fn compose(&self, views: &[f32], zoom: usize) -> Result<Vec<u8>> {
        let (n, [h, w]) = (self.count, self.side);
        let plane = 3 * h * w;
        let tiles: Vec<Vec<u8>> = (0..n)
            .flat_map(|row| {
                let original = self.pixels[row * plane..(row + 1) * plane].to_vec();
                let view = |c: usize| -> Vec<u8> {
                    let start = (c * n + row) * plane;
                    views[start..start + plane]
                        .iter()
                        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                        .collect()
                };
                [original, view(0), view(1)]
            })
            .collect();
        grid_png(&tiles, [h, w], 3, zoom, GAP)
    }
}

/// Renders rows of (original, view 1, view 2) for the first `count` images, each tile
/// scaled up `zoom` times, as PNG bytes.
pub fn pairs_png<B: Backend>(
    split: &Split,
    augment: &AugmentConfig,
    count: usize,
    zoom: usize,
    seed: u64,
    device: &B::Device,
) -> Result<Vec<u8>> {
    queue_pairs::<B>(split, augment, count, seed, device)?.png(zoom)
}

/// The images at `indices` as a PNG sprite sheet, `columns` per row, without gaps: image
/// `k` sits at column `k % columns`, row `k / columns` (for a page to crop one out).
pub fn sprite_png(split: &Split, indices: &[usize], columns: usize) -> Result<Vec<u8>> {
    if indices.is_empty() {
        return Err(Error::UnsuitableData("no images to draw".into()));
    }
    let side = [split.height(), split.width()];
    let plane = 3 * side[0] * side[1];
    let pixels = split.batch_u8(indices);
    let tiles: Vec<Vec<u8>> = pixels.chunks(plane).map(<[u8]>::to_vec).collect();
    grid_png(&tiles, side, columns, 1, 0)
}

/// Channel-planar tiles in a grid, `columns` per row, scaled `zoom` times, `gap` pixels of
/// white around each.
fn grid_png(
    tiles: &[Vec<u8>],
    side: [usize; 2],
    columns: usize,
    zoom: usize,
    gap: usize,
) -> Result<Vec<u8>> {
    let mut canvas = canvas(tiles, side, columns, zoom, gap);
    draw_tiles(&mut canvas, tiles, side, columns, zoom, gap);
    encode_png(canvas)
}

fn canvas(
    tiles: &[Vec<u8>],
    [h, w]: [usize; 2],
    columns: usize,
    zoom: usize,
    gap: usize,
) -> image::RgbImage {
    let columns = columns.max(1);
    let rows = tiles.len().div_ceil(columns);
    let width = columns * (w * zoom + gap) + gap;
    let height = rows * (h * zoom + gap) + gap;
    image::RgbImage::from_pixel(width as u32, height as u32, image::Rgb([255, 255, 255]))
}

fn draw_tiles(
    canvas: &mut image::RgbImage,
    tiles: &[Vec<u8>],
    [h, w]: [usize; 2],
    columns: usize,
    zoom: usize,
    gap: usize,
) {
    let columns = columns.max(1);
    for (k, planes) in tiles.iter().enumerate() {
        let (column, row) = (k % columns, k / columns);
        let (x0, y0) = (
            gap + column * (w * zoom + gap),
            gap + row * (h * zoom + gap),
        );
        for y in 0..h * zoom {
            for x in 0..w * zoom {
                let i = (y / zoom) * w + x / zoom;
                let rgb = [planes[i], planes[h * w + i], planes[2 * h * w + i]];
                canvas.put_pixel((x0 + x) as u32, (y0 + y) as u32, image::Rgb(rgb));
            }
        }
    }
}

fn encode_png(canvas: image::RgbImage) -> Result<Vec<u8>> {
    let mut png = Vec::new();
    canvas
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::encode("PNG", e))?;
    Ok(png)
}

/// Writes the preview grid to `path` atomically.
pub fn write_pairs_png<B: Backend>(
    path: &Path,
    split: &Split,
    augment: &AugmentConfig,
    count: usize,
    seed: u64,
    device: &B::Device,
) -> Result<()> {
    let zoom = (128 / split.height().max(1)).max(1);
    write_atomic(
        path,
        &pairs_png::<B>(split, augment, count, zoom, seed, device)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    fn decode(png: &[u8]) -> image::RgbImage {
        image::load_from_memory(png).unwrap().to_rgb8()
    }

    #[test]
    fn sprite_sheet_places_image_k_at_its_cell() {
        // Three 2×2 images, each one flat colour: (k, 10k, 100 + k).
        let mut pixels = vec![];
        for k in 0..3u8 {
            for value in [k, 10 * k, 100 + k] {
                pixels.extend([value; 4]);
            }
        }
        let split = Split::from_row_major(pixels, None, 2, 2);
        let sheet = decode(&sprite_png(&split, &[2, 0, 1], 2).unwrap());
        assert_eq!(sheet.dimensions(), (4, 4));
        // Cell k holds image indices[k]: [2, 0] on the first row, [1] then white.
        assert_eq!(sheet.get_pixel(1, 1).0, [2, 20, 102]);
        assert_eq!(sheet.get_pixel(2, 0).0, [0, 0, 100]);
        assert_eq!(sheet.get_pixel(0, 3).0, [1, 10, 101]);
        assert_eq!(sheet.get_pixel(3, 3).0, [255, 255, 255]);
        assert!(sprite_png(&split, &[], 2).is_err());
    }

    #[test]
    fn pairs_show_the_original_then_two_views() {
        let pixels: Vec<u8> = (0..2 * 3 * 8 * 8).map(|i| (i * 7 % 256) as u8).collect();
        let split = Split::from_row_major(pixels.clone(), None, 8, 8);
        let augment = AugmentConfig::new();
        let png = pairs_png::<Cpu>(&split, &augment, 2, 2, 0, &Default::default()).unwrap();
        let grid = decode(&png);
        // Three 16-px tiles with 2-px gaps across, two rows down.
        assert_eq!(
            grid.dimensions(),
            (3 * 16 + 4 * GAP as u32, 2 * 16 + 3 * GAP as u32)
        );
        // The first tile is image 0 unchanged (scaled 2×): pixel (x 3, y 5) → source (1, 2).
        let source = |c: usize| pixels[c * 64 + 2 * 8 + 1];
        let shown = grid.get_pixel(GAP as u32 + 3, GAP as u32 + 5).0;
        assert_eq!(shown, [source(0), source(1), source(2)]);
    }
}
