//! Dependency-free SVG charts: lines, a labelled scatter and a confusion matrix.

use super::{bounds, class_color, class_name, hex};
use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 340.0;
const MARGIN: [f64; 4] = [60.0, 30.0, 215.0, 44.0]; // left, top, right (legend), bottom

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// `(x, y)` points in order.
    pub points: Vec<(f64, f64)>,
    /// Dashed line (for baselines).
    pub dashed: bool,
}

/// Axis settings of a line chart.
#[derive(Debug, Clone, Default)]
pub struct Axes {
    /// Chart title.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Fixed y range (otherwise the data's).
    pub y_range: Option<(f64, f64)>,
    /// x ticks at these values with these labels (otherwise five even ticks).
    pub x_ticks: Vec<(f64, String)>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn tick_label(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.01 {
        return format!("{v:.1e}");
    }
    let text = if v.abs() >= 1000.0 || v == v.round() {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').into()
    } else {
        text
    }
}

fn open(out: &mut String, width: f64, height: f64, title: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/><text x="{}" y="18" text-anchor="middle" font-size="13" font-weight="bold">{}</text>"#,
        width / 2.0,
        escape(title)
    );
}

/// A line chart of one or more series.
pub fn line_chart(axes: &Axes, series: &[Series]) -> String {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let tx = |x: f64| if axes.log_x { x.max(1e-12).log10() } else { x };
    let (mut x0, mut x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(tx(x)), b.max(tx(x)))
    });
    let (mut y0, mut y1) = axes.y_range.unwrap_or_else(|| {
        ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        })
    });
    if !(x0.is_finite() && x1.is_finite()) {
        (x0, x1) = (0.0, 1.0);
    }
    if !(y0.is_finite() && y1.is_finite()) {
        (y0, y1) = (0.0, 1.0);
    }
    if x1 - x0 < 1e-12 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    if y1 - y0 < 1e-12 {
        (y0, y1) = (y0 - 0.5, y1 + 0.5);
    }
    let [ml, mt, mr, mb] = MARGIN;
    let (pw, ph) = (WIDTH - ml - mr, HEIGHT - mt - mb);
    let px = |x: f64| ml + (tx(x) - x0) / (x1 - x0) * pw;
    let py = |y: f64| mt + ph - (y - y0) / (y1 - y0) * ph;
    let mut out = String::new();
    open(&mut out, WIDTH, HEIGHT, &axes.title);
    let _ = write!(
        out,
        r##"<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>"##
    );
    for i in 0..=4 {
        let y = y0 + (y1 - y0) * i as f64 / 4.0;
        let _ = write!(
            out,
            r##"<line x1="{ml}" x2="{0}" y1="{1:.1}" y2="{1:.1}" stroke="#eee"/><text x="{2}" y="{3:.1}" text-anchor="end">{4}</text>"##,
            ml + pw,
            py(y),
            ml - 4.0,
            py(y) + 4.0,
            tick_label(y)
        );
    }
    let even: Vec<(f64, String)> = (0..=4)
        .map(|i| {
            let t = x0 + (x1 - x0) * i as f64 / 4.0;
            let x = if axes.log_x { 10f64.powf(t) } else { t };
            (x, tick_label(x))
        })
        .collect();
    let ticks = if axes.x_ticks.is_empty() {
        &even
    } else {
        &axes.x_ticks
    };
    for (x, label) in ticks {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            px(*x),
            mt + ph + 14.0,
            escape(label)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        ml + pw / 2.0,
        HEIGHT - 8.0,
        escape(&axes.x_label),
        mt + ph / 2.0,
        escape(&axes.y_label)
    );
    for (i, s) in series.iter().enumerate() {
        let color = hex(class_color(i));
        let path: Vec<String> = s
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let dash = if s.dashed {
            r#" stroke-dasharray="5 3""#
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
            path.join(" ")
        );
        if s.points.len() <= 30 {
            for &(x, y) in &s.points {
                let _ = write!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#,
                    px(x),
                    py(y)
                );
            }
        }
        let ly = mt + 10.0 + 16.0 * i as f64;
        let _ = write!(
            out,
            r#"<line x1="{0}" x2="{1}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/><text x="{2}" y="{3}">{4}</text>"#,
            WIDTH - mr + 10.0,
            WIDTH - mr + 30.0,
            WIDTH - mr + 34.0,
            ly + 4.0,
            escape(&s.name)
        );
    }
    out.push_str("</svg>");
    out
}

/// A chart of one solid line: `points` as `(x, y)`, the series named `name`.
pub fn curve(
    title: &str,
    x_label: &str,
    y_label: &str,
    name: &str,
    points: Vec<(f64, f64)>,
) -> String {
    let axes = Axes {
        title: title.into(),
        x_label: x_label.into(),
        y_label: y_label.into(),
        ..Axes::default()
    };
    let series = Series {
        name: name.into(),
        points,
        dashed: false,
    };
    line_chart(&axes, &[series])
}

/// A scatter of labelled 2-D points coloured by class, with a legend; the `<svg>` carries
/// `data-points` with the number of points drawn.
pub fn scatter(title: &str, points: &[[f64; 2]], labels: &[u8], names: &[String]) -> String {
    let size = 420.0;
    let legend = 130.0;
    let [bx0, by0, bx1, by1] = bounds(points);
    let mut out = String::new();
    open(&mut out, size + legend, size + 30.0, title);
    out.insert_str(4, &format!(r#" data-points="{}""#, points.len()));
    for (p, &label) in points.iter().zip(labels) {
        let x = 10.0 + (p[0] - bx0) / (bx1 - bx0) * (size - 20.0);
        let y = 30.0 + (by1 - p[1]) / (by1 - by0) * (size - 20.0);
        let _ = write!(
            out,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.2" fill="{}" fill-opacity="0.75"/>"#,
            hex(class_color(label as usize))
        );
    }
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    for class in 0..classes {
        let y = 40.0 + 16.0 * class as f64;
        let _ = write!(
            out,
            r#"<circle cx="{:.1}" cy="{y:.1}" r="5" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            size + 10.0,
            hex(class_color(class)),
            size + 20.0,
            y + 4.0,
            escape(&class_name(names, class as u8))
        );
    }
    out.push_str("</svg>");
    out
}

/// A confusion matrix (rows: true class, columns: predicted), shaded by row share.
pub fn confusion(title: &str, matrix: &[Vec<usize>], names: &[String]) -> String {
    let n = matrix.len();
    let cell = (360.0 / n.max(1) as f64).min(36.0);
    let left = 90.0;
    let top = 40.0;
    let side = cell * n as f64;
    let mut out = String::new();
    open(&mut out, left + side + 20.0, top + side + 80.0, title);
    for (i, row) in matrix.iter().enumerate() {
        let total = row.iter().sum::<usize>().max(1) as f64;
        for (j, &count) in row.iter().enumerate() {
            let share = count as f64 / total;
            let shade = (255.0 * (1.0 - share)) as u8;
            let fill = hex([shade, shade, 255]);
            let text = if share > 0.5 { "white" } else { "black" };
            let (x, y) = (left + cell * j as f64, top + cell * i as f64);
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{cell:.1}" height="{cell:.1}" fill="{fill}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="9" fill="{text}">{count}</text>"#,
                x + cell / 2.0,
                y + cell / 2.0 + 3.0
            );
        }
        let name = escape(&class_name(names, i as u8));
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{name}</text><text transform="translate({:.1} {:.1}) rotate(60)">{name}</text>"#,
            left - 4.0,
            top + cell * i as f64 + cell / 2.0 + 4.0,
            left + cell * i as f64 + cell / 2.0 - 3.0,
            top + side + 6.0
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_and_escaped() {
        let series = [Series {
            name: "a<b".into(),
            points: vec![(0.01, 0.2), (0.1, 0.5), (1.0, 0.7)],
            dashed: true,
        }];
        let axes = Axes {
            title: "t".into(),
            log_x: true,
            ..Axes::default()
        };
        let svg = line_chart(&axes, &series);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"));
        assert_eq!(svg.matches("<circle").count(), 3);
        let names = vec!["cat".to_string(), "dog".to_string()];
        let plot = scatter(
            "s",
            &[[0.0, 1.0], [2.0, 3.0], [1.0, 1.0]],
            &[0, 1, 1],
            &names,
        );
        assert!(plot.contains(r#"data-points="3""#) && plot.contains(">dog<"));
        let matrix = confusion("c", &[vec![3, 1], vec![0, 4]], &names);
        assert!(matrix.contains(">4<") && matrix.ends_with("</svg>"));
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(1.0), "1");
        assert_eq!(tick_label(0.00075), "7.5e-4");
    }
}
