//! SVG charts drawn with plotters: lines, a labelled scatter and a confusion matrix. Text is
//! left to the viewer's sans-serif font; axes get plotters' round tick values. The same
//! charts serve the report (inline SVG, no script) and the page.

use super::{bounds, class_color, class_name};
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const WIDTH: u32 = 640;
const HEIGHT: u32 = 340;
/// Room on the right of line charts for the legend.
const LEGEND_WIDTH: u32 = 200;
const FONT: &str = "sans-serif";
/// The page's charts: drawn near the size they are shown at, so that text stays legible.
const PAGE_WIDTH: u32 = 440;
const PAGE_HEIGHT: u32 = 270;
/// Height of one legend row under a page chart.
const PAGE_LEGEND_ROW: u32 = 20;

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
    /// x ticks at these values with these labels (otherwise plotters' round ticks).
    pub x_ticks: Vec<(f64, String)>,
    /// Whole-number x ticks only (epochs).
    pub integer_x: bool,
    /// The page's size: narrower, larger text, the legend under the plot.
    pub compact: bool,
}

fn color(class: usize) -> RGBColor {
    let [r, g, b] = class_color(class);
    RGBColor(r, g, b)
}

/// Labels for ticks between `lo` and `hi`: as many decimals as the tick spacing needs and
/// no more, so that neighbouring labels differ (3.405, 3.41, 3.415 rather than 3.41 ×3).
fn tick_labeler(lo: f64, hi: f64) -> impl Fn(&f64) -> String {
    // Plotters asks for about six ticks; half their spacing leaves room for 2.5-steps.
    let spacing = ((hi - lo) / 12.0).abs().max(1e-12);
    let decimals = (-spacing.log10().floor()).clamp(0.0, 6.0) as usize;
    move |v: &f64| {
        if *v != 0.0 && v.abs() < 0.01 && decimals > 4 {
            return format!("{v:.1e}");
        }
        let text = format!("{v:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').into()
        } else {
            text
        }
    }
}

/// Whole-number ticks across `lo..=hi`, at most about eight of them.
fn integer_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let (first, last) = (lo.ceil() as i64, hi.floor() as i64);
    let every = ((last - first) / 8 + 1).max(1);
    (first..=last)
        .step_by(every as usize)
        .map(|x| (x as f64, x.to_string()))
        .collect()
}

/// The y range of a chart without a fixed one: the data's, padded, and at least 2% of its
/// magnitude tall so that noise on a flat curve is not blown up to fill the chart.
fn y_extent(series: &[Series]) -> (f64, f64) {
    let (lo, hi) = extent(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let middle = 0.5 * (lo + hi);
    let half = (0.5 * (hi - lo)).max(0.01 * middle.abs());
    let (lo, hi) = (middle - half, middle + half);
    // Room above and below so that dots on the extremes are not cut by the frame.
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

/// The finite extent of `values`, widened when empty or flat.
fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !(lo.is_finite() && hi.is_finite()) {
        (0.0, 1.0)
    } else if hi - lo < 1e-12 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

/// Renders `draw` into an SVG string of `width × height` pixels.
fn render(
    width: u32,
    height: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|_| draw(&root))
            .and_then(|_| root.present().map_err(|e| e.to_string()));
        if let Err(message) = drawn {
            // A chart that cannot be drawn says so in its place rather than failing the
            // report or the page around it.
            let _ = root.draw(&Text::new(
                format!("chart unavailable: {message}"),
                (10, 20),
                (FONT, 12),
            ));
        }
    }
    svg.trim_end().to_string()
}

/// A line chart of one or more series.
pub fn line_chart(axes: &Axes, series: &[Series]) -> String {
    let (width, height) = if axes.compact {
        (
            PAGE_WIDTH,
            PAGE_HEIGHT + PAGE_LEGEND_ROW * series.len() as u32,
        )
    } else {
        (WIDTH, HEIGHT)
    };
    render(width, height, |root| {
        let (plot, legend) = if axes.compact {
            root.split_vertically(PAGE_HEIGHT)
        } else {
            root.split_horizontally(WIDTH - LEGEND_WIDTH)
        };
        let (x0, x1) = extent(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
        let (y0, y1) = axes.y_range.unwrap_or_else(|| y_extent(series));
        let mut axes = axes.clone();
        if axes.integer_x && axes.x_ticks.is_empty() {
            axes.x_ticks = integer_ticks(x0, x1);
        }
        let font = if axes.compact { 15 } else { 13 };
        let mut builder = ChartBuilder::on(&plot);
        builder
            .caption(&axes.title, (FONT, font + 4))
            .margin(10)
            .x_label_area_size(if axes.compact { 42 } else { 36 })
            .y_label_area_size(if axes.compact { 58 } else { 48 });
        if axes.log_x {
            let x0 = x0.max(1e-12);
            // Half a step of room on a log axis either side of the extreme points.
            let (x0, x1) = (x0 / 1.5, x1.max(x0 * 10.0) * 1.5);
            let chart = builder
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(|e| e.to_string())?;
            draw_lines(chart, &axes, series, font)?;
        } else {
            let chart = builder
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| e.to_string())?;
            draw_lines(chart, &axes, series, font)?;
        }
        draw_legend(&legend, series, axes.compact, font)
    })
}

fn draw_lines<X>(
    mut chart: ChartContext<SVGBackend, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    axes: &Axes,
    series: &[Series],
    font: u32,
) -> Result<(), String>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let custom_ticks = !axes.x_ticks.is_empty();
    let (x_range, y_range) = (chart.x_range(), chart.y_range());
    let x_label = tick_labeler(x_range.start, x_range.end);
    let y_label = tick_labeler(y_range.start, y_range.end);
    chart
        .configure_mesh()
        .x_desc(&axes.x_label)
        .y_desc(&axes.y_label)
        .x_labels(6)
        // Named ticks replace the axis' own labels (drawn below, at their values).
        .x_label_formatter(&|x| {
            if custom_ticks {
                String::new()
            } else {
                x_label(x)
            }
        })
        .y_label_formatter(&y_label)
        .label_style((FONT, font))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| e.to_string())?;
    let y0 = chart.y_range().start;
    let area = chart.plotting_area().strip_coord_spec();
    let (origin_x, origin_y) = area.get_base_pixel();
    for (x, label) in &axes.x_ticks {
        let (px, py) = chart.backend_coord(&(*x, y0));
        let style = TextStyle::from((FONT, font)).pos(Pos::new(HPos::Center, VPos::Top));
        let at = (px - origin_x, py - origin_y + 6);
        area.draw(&Text::new(label.clone(), at, style))
            .map_err(|e| e.to_string())?;
    }
    for (i, s) in series.iter().enumerate() {
        let style = color(i).stroke_width(2);
        if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(s.points.clone(), 5, 3, style))
                .map_err(|e| e.to_string())?;
        } else {
            chart
                .draw_series(LineSeries::new(s.points.clone(), style))
                .map_err(|e| e.to_string())?;
        }
        if s.points.len() <= 30 {
            let dots = s
                .points
                .iter()
                .map(|&p| Circle::new(p, 3, color(i).filled()));
            chart.draw_series(dots).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn draw_legend(
    area: &DrawingArea<SVGBackend, Shift>,
    series: &[Series],
    compact: bool,
    font: u32,
) -> Result<(), String> {
    for (i, s) in series.iter().enumerate() {
        let y = if compact {
            PAGE_LEGEND_ROW as i32 * i as i32 + 8
        } else {
            40 + 18 * i as i32
        };
        let style = color(i).stroke_width(2);
        let line: Vec<(i32, i32)> = vec![(8, y), (30, y)];
        if s.dashed {
            area.draw(&PathElement::new(vec![(8, y), (16, y)], style))
                .and_then(|_| area.draw(&PathElement::new(vec![(22, y), (30, y)], style)))
                .map_err(|e| e.to_string())?;
        } else {
            area.draw(&PathElement::new(line, style))
                .map_err(|e| e.to_string())?;
        }
        let text = TextStyle::from((FONT, font)).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(s.name.clone(), (36, y), text))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
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
    let (size, legend) = (420, 130);
    let svg = render(size + legend, size + 30, |root| {
        let (plot, key) = root.split_horizontally(size);
        let [bx0, by0, bx1, by1] = bounds(points);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, 17))
            .margin(10)
            .build_cartesian_2d(bx0..bx1, by0..by1)
            .map_err(|e| e.to_string())?;
        let dots = points
            .iter()
            .zip(labels)
            .map(|(p, &l)| Circle::new((p[0], p[1]), 2, color(l as usize).mix(0.75).filled()));
        chart.draw_series(dots).map_err(|e| e.to_string())?;
        let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
        for class in 0..classes {
            let y = 40 + 16 * class as i32;
            let text = TextStyle::from((FONT, 13)).pos(Pos::new(HPos::Left, VPos::Center));
            key.draw(&Circle::new((10, y), 5, color(class).filled()))
                .and_then(|_| key.draw(&Text::new(class_name(names, class as u8), (20, y), text)))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    });
    svg.replacen(
        "<svg",
        &format!(r#"<svg data-points="{}""#, points.len()),
        1,
    )
}

/// A confusion matrix (rows: true class, columns: predicted), shaded by row share.
pub fn confusion(title: &str, matrix: &[Vec<usize>], names: &[String]) -> String {
    let n = matrix.len();
    let cell = (360 / n.max(1) as i32).min(36);
    let (left, top) = (110, 40);
    let side = cell * n as i32;
    let (width, height) = ((left + side + 20) as u32, (top + side + 104) as u32);
    render(width, height, |root| {
        let centred =
            |size| TextStyle::from((FONT, size)).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new(
            title.to_string(),
            (width as i32 / 2, 16),
            centred(17),
        ))
        .map_err(|e| e.to_string())?;
        let true_axis = centred(14).transform(FontTransform::Rotate270);
        root.draw(&Text::new("true class", (12, top + side / 2), true_axis))
            .and_then(|_| {
                let at = (left + side / 2, top + side + 90);
                root.draw(&Text::new("predicted class", at, centred(14)))
            })
            .map_err(|e| e.to_string())?;
        for (i, row) in matrix.iter().enumerate() {
            let total = row.iter().sum::<usize>().max(1) as f64;
            for (j, &count) in row.iter().enumerate() {
                let share = count as f64 / total;
                let shade = (255.0 * (1.0 - share)) as u8;
                let (x, y) = (left + cell * j as i32, top + cell * i as i32);
                let ink = if share > 0.5 { WHITE } else { BLACK };
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    RGBColor(shade, shade, 255).filled(),
                ))
                .and_then(|_| {
                    let text = centred(11).color(&ink);
                    root.draw(&Text::new(
                        count.to_string(),
                        (x + cell / 2, y + cell / 2),
                        text,
                    ))
                })
                .map_err(|e| e.to_string())?;
            }
            let name = class_name(names, i as u8);
            let middle = top + cell * i as i32 + cell / 2;
            let row_label = TextStyle::from((FONT, 13)).pos(Pos::new(HPos::Right, VPos::Center));
            let column_label = TextStyle::from((FONT, 13))
                .pos(Pos::new(HPos::Left, VPos::Center))
                .transform(FontTransform::Rotate90);
            let column = left + cell * i as i32 + cell / 2;
            root.draw(&Text::new(name.clone(), (left - 4, middle), row_label))
                .and_then(|_| root.draw(&Text::new(name, (column, top + side + 6), column_label)))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
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
            x_ticks: vec![(0.1, "10%".into())],
            ..Axes::default()
        };
        let svg = line_chart(&axes, &series);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"));
        assert!(svg.contains("10%"), "named tick drawn");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(!svg.contains("chart unavailable"), "{svg}");
        let names = vec!["cat".to_string(), "dog".to_string()];
        let plot = scatter(
            "s",
            &[[0.0, 1.0], [2.0, 3.0], [1.0, 1.0]],
            &[0, 1, 1],
            &names,
        );
        assert!(plot.starts_with(r#"<svg data-points="3""#), "{plot}");
        assert!(plot.contains("dog"));
        // Three points and two legend keys.
        assert_eq!(plot.matches("<circle").count(), 5);
        let matrix = confusion("c", &[vec![3, 1], vec![0, 4]], &names);
        assert!(
            matrix.contains("\n4\n") && matrix.ends_with("</svg>"),
            "{matrix}"
        );
        assert!(
            matrix.contains("\ntrue class\n") && matrix.contains("\npredicted class\n"),
            "{matrix}"
        );
    }

    #[test]
    fn tick_labels_are_round_and_tell_neighbours_apart() {
        let narrow = tick_labeler(3.40, 3.42);
        let labels: Vec<String> = [3.405, 3.41, 3.415].iter().map(&narrow).collect();
        assert_eq!(labels, ["3.405", "3.41", "3.415"]);
        let wide = tick_labeler(0.0, 100.0);
        assert_eq!((wide(&20.0), wide(&0.25)), ("20".into(), "0".into()));
        let small = tick_labeler(0.0, 0.0001);
        assert_eq!(small(&0.000075), "7.5e-5");
        assert_eq!(tick_labeler(0.0, 1.0)(&0.25), "0.25");
        let epochs: Vec<f64> = integer_ticks(1.0, 10.0).iter().map(|t| t.0).collect();
        assert_eq!(epochs, [1.0, 3.0, 5.0, 7.0, 9.0]);
        assert_eq!(integer_ticks(1.0, 2.0).len(), 2);
        // A nearly flat loss keeps a span of 2% of its level, not of its noise.
        let flat = Series {
            name: "loss".into(),
            points: vec![(1.0, 3.4101), (2.0, 3.4102)],
            dashed: false,
        };
        let (lo, hi) = y_extent(&[flat]);
        assert!(hi - lo > 0.068 && lo < 3.38 && hi > 3.44, "{lo}..{hi}");
    }

    #[test]
    fn page_charts_are_narrow_with_the_legend_below() {
        let axes = Axes {
            title: "kNN".into(),
            integer_x: true,
            compact: true,
            y_range: Some((0.0, 100.0)),
            ..Axes::default()
        };
        let series = [
            Series {
                name: "kNN top-1".into(),
                points: vec![(1.0, 20.0), (2.0, 30.0), (3.0, 35.0)],
                dashed: false,
            },
            Series {
                name: "chance".into(),
                points: vec![(1.0, 10.0), (3.0, 10.0)],
                dashed: true,
            },
        ];
        let svg = line_chart(&axes, &series);
        assert!(svg.contains(r#"width="440""#), "{svg}");
        assert!(
            svg.contains("\nchance\n") && svg.contains("\n100\n"),
            "{svg}"
        );
        assert!(
            svg.contains("\n3\n") && !svg.contains("\n1.5\n"),
            "whole epochs: {svg}"
        );
    }

    #[test]
    fn empty_and_flat_series_still_draw() {
        let flat = curve("loss", "step", "loss", "loss", vec![(1.0, 2.0), (2.0, 2.0)]);
        assert!(
            flat.ends_with("</svg>") && !flat.contains("chart unavailable"),
            "{flat}"
        );
        let empty = curve("loss", "step", "loss", "loss", vec![]);
        assert!(
            empty.ends_with("</svg>") && !empty.contains("chart unavailable"),
            "{empty}"
        );
    }
}
