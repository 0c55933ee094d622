//! PNG scatter plots (for READMEs and docs, where inline SVG is not an option), with an
//! 8×8 bitmap font for the title and legend.
//!
//! Hand-written on purpose: plotters' bitmap backend draws text only through a font file,
//! either the system's via font-kit (fontconfig, absent on servers and in the browser) or
//! a TrueType font embedded in the binary (~750 KB for DejaVu Sans), which is more than
//! this one picture's title and ten legend entries are worth. The SVG twin of every PNG
//! (`plot::svg::scatter`) is drawn with plotters.

use super::{bounds, class_color, class_name};
use crate::{Error, Result};
use font8x8::{UnicodeFonts, BASIC_FONTS};
use image::{Rgb, RgbImage};

const PLOT: u32 = 560;
const LEGEND: u32 = 200;
const TITLE: u32 = 36;

/// A PNG scatter of labelled 2-D points coloured by class, with a title and a legend.
pub fn scatter_png(
    title: &str,
    points: &[[f64; 2]],
    labels: &[u8],
    names: &[String],
) -> Result<Vec<u8>> {
    let mut canvas = RgbImage::from_pixel(PLOT + LEGEND, PLOT + TITLE, Rgb([255, 255, 255]));
    text(&mut canvas, title, 10, 10, 2, [0, 0, 0]);
    let [x0, y0, x1, y1] = bounds(points);
    let span = (PLOT - 20) as f64;
    for (p, &label) in points.iter().zip(labels) {
        let x = 10.0 + (p[0] - x0) / (x1 - x0) * span;
        let y = TITLE as f64 + 10.0 + (y1 - p[1]) / (y1 - y0) * span;
        dot(&mut canvas, x, y, 2.5, class_color(label as usize), 0.75);
    }
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    for class in 0..classes {
        let y = TITLE + 14 + 22 * class as u32;
        let color = class_color(class);
        dot(
            &mut canvas,
            (PLOT + 8) as f64,
            y as f64 + 7.0,
            6.0,
            color,
            1.0,
        );
        let name = class_name(names, class as u8);
        text(&mut canvas, &name, PLOT + 20, y, 2, [0, 0, 0]);
    }
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(canvas)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::encode("PNG", e))?;
    Ok(png)
}

/// A filled disc blended over the canvas.
fn dot(canvas: &mut RgbImage, cx: f64, cy: f64, radius: f64, color: [u8; 3], alpha: f64) {
    let r = radius.ceil() as i64;
    for dy in -r..=r {
        for dx in -r..=r {
            if ((dx * dx + dy * dy) as f64) > radius * radius {
                continue;
            }
            let (x, y) = (cx as i64 + dx, cy as i64 + dy);
            if x < 0 || y < 0 || x >= canvas.width() as i64 || y >= canvas.height() as i64 {
                continue;
            }
            let pixel = canvas.get_pixel_mut(x as u32, y as u32);
            for (channel, &c) in pixel.0.iter_mut().zip(&color) {
                *channel = (alpha * c as f64 + (1.0 - alpha) * *channel as f64) as u8;
            }
        }
    }
}

/// Text in the 8×8 font, each font pixel drawn `scale × scale`; unknown characters are
/// skipped.
fn text(canvas: &mut RgbImage, text: &str, x: u32, y: u32, scale: u32, color: [u8; 3]) {
    for (i, ch) in text.chars().enumerate() {
        let Some(glyph) = BASIC_FONTS.get(ch) else {
            continue;
        };
        let left = x + i as u32 * 8 * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8u32 {
                if bits & (1 << col) == 0 {
                    continue;
                }
                for sy in 0..scale {
                    for sx in 0..scale {
                        let (px, py) = (left + col * scale + sx, y + row as u32 * scale + sy);
                        if px < canvas.width() && py < canvas.height() {
                            canvas.put_pixel(px, py, Rgb(color));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_png_draws_points_in_class_colours() {
        let names = vec!["cat".to_string(), "dog".to_string()];
        let png = scatter_png("t", &[[0.0, 0.0], [1.0, 1.0]], &[0, 1], &names).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (PLOT + LEGEND, PLOT + TITLE));
        let has = |c: [u8; 3]| {
            image
                .pixels()
                .any(|p| p.0.iter().zip(&c).all(|(a, b)| a.abs_diff(*b) < 40))
        };
        assert!(has(class_color(0)) && has(class_color(1)));
        // The legend's text is drawn in black.
        assert!(image.pixels().filter(|p| p.0 == [0, 0, 0]).count() > 50);
    }
}
