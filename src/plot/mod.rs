//! Plots for reports, docs and the page: SVG charts drawn with plotters (inline in HTML,
//! no script) and PNG scatters.

pub mod raster;
pub mod svg;

/// Tableau's ten categorical colours, then generated hues for more classes.
pub fn class_color(class: usize) -> [u8; 3] {
    const TABLEAU: [[u8; 3]; 10] = [
        [31, 119, 180],
        [255, 127, 14],
        [44, 160, 44],
        [214, 39, 40],
        [148, 103, 189],
        [140, 86, 75],
        [227, 119, 194],
        [127, 127, 127],
        [188, 189, 34],
        [23, 190, 207],
    ];
    TABLEAU.get(class).copied().unwrap_or_else(|| {
        let hue = (class as f64 * 0.618_034).fract() * 6.0;
        let x = (1.0 - (hue % 2.0 - 1.0).abs()) * 200.0;
        let (r, g, b) = match hue as usize {
            0 => (200.0, x, 0.0),
            1 => (x, 200.0, 0.0),
            2 => (0.0, 200.0, x),
            3 => (0.0, x, 200.0),
            4 => (x, 0.0, 200.0),
            _ => (200.0, 0.0, x),
        };
        [r as u8, g as u8, b as u8]
    })
}

/// `#rrggbb`.
pub fn hex(color: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", color[0], color[1], color[2])
}

/// The name of class `label`, or its number.
pub fn class_name(names: &[String], label: u8) -> String {
    names
        .get(label as usize)
        .cloned()
        .unwrap_or_else(|| format!("class {label}"))
}

/// The bounding box of 2-D points, padded so no point sits on the border.
pub fn bounds(points: &[[f64; 2]]) -> [f64; 4] {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in points {
        b = [
            b[0].min(p[0]),
            b[1].min(p[1]),
            b[2].max(p[0]),
            b[3].max(p[1]),
        ];
    }
    if !b.iter().all(|v| v.is_finite()) {
        return [0.0, 0.0, 1.0, 1.0];
    }
    let pad_x = ((b[2] - b[0]) * 0.03).max(1e-9);
    let pad_y = ((b[3] - b[1]) * 0.03).max(1e-9);
    [b[0] - pad_x, b[1] - pad_y, b[2] + pad_x, b[3] + pad_y]
}
