//! A PNG grid of original images beside two augmented views of each.

use crate::augment::AugmentConfig;
use crate::checkpoint::write_atomic;
use crate::data::{Normalization, Split};
use crate::rng::Rng;
use crate::{Error, Result};
use burn::prelude::*;
use std::path::Path;

const GAP: usize = 2;

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
    let n = count.min(split.len());
    if n == 0 {
        return Err(Error::Config("the dataset has no images to preview".into()));
    }
    let (h, w) = (split.height(), split.width());
    let pixels = split.batch_u8(&(0..n).collect::<Vec<_>>());
    let identity = Normalization {
        mean: [0.0; 3],
        std: [1.0; 3],
    };
    let views = augment.two_views::<B>(
        &pixels,
        n,
        [h, w],
        h,
        &identity,
        &mut Rng::new(seed),
        device,
    );
    let views = crate::readback::floats(views)?;
    let tile = |column: usize, row: usize| -> Vec<u8> {
        match column {
            0 => pixels[row * 3 * h * w..(row + 1) * 3 * h * w].to_vec(),
            c => {
                let start = ((c - 1) * n + row) * 3 * h * w;
                views[start..start + 3 * h * w]
                    .iter()
                    .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                    .collect()
            }
        }
    };
    let (tile_w, tile_h) = (w * zoom, h * zoom);
    let width = 3 * tile_w + 4 * GAP;
    let height = n * tile_h + (n + 1) * GAP;
    let mut canvas =
        image::RgbImage::from_pixel(width as u32, height as u32, image::Rgb([255, 255, 255]));
    for row in 0..n {
        for column in 0..3 {
            let planes = tile(column, row);
            let (x0, y0) = (GAP + column * (tile_w + GAP), GAP + row * (tile_h + GAP));
            for y in 0..tile_h {
                for x in 0..tile_w {
                    let i = (y / zoom) * w + x / zoom;
                    let rgb = [planes[i], planes[h * w + i], planes[2 * h * w + i]];
                    canvas.put_pixel((x0 + x) as u32, (y0 + y) as u32, image::Rgb(rgb));
                }
            }
        }
    }
    let mut png = Vec::new();
    canvas
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::Config(format!("cannot encode PNG: {e}")))?;
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
