//! Live charts: loss per step, kNN accuracy per epoch, views per second, drawn with the
//! core's SVG line charts.

use super::state::RunState;
use leptos::prelude::*;
use simclr::plot::svg::{line_chart, Axes, Series};

/// A page-sized chart of `points`, with a dashed chance level across it when given.
fn chart(axes: Axes, name: &str, points: Vec<(f64, f64)>, chance: Option<(String, f64)>) -> String {
    let span = points.first().zip(points.last()).map(|(a, b)| (a.0, b.0));
    let mut series = vec![Series {
        name: name.into(),
        dashed: false,
        points,
    }];
    if let Some(((label, level), (first, last))) = chance.zip(span) {
        series.push(Series {
            name: label,
            points: vec![(first, level), (last, level)],
            dashed: true,
        });
    }
    line_chart(
        &Axes {
            compact: true,
            ..axes
        },
        &series,
    )
}

fn axes(title: &str, x_label: &str, y_label: &str) -> Axes {
    Axes {
        title: title.into(),
        x_label: x_label.into(),
        y_label: y_label.into(),
        ..Axes::default()
    }
}

/// The loss of a batch whose embeddings tell nothing apart: every one of the 2N − 1 other
/// views equally likely, ln(2N − 1).
pub fn chance_loss(batch_size: usize) -> f64 {
    ((2 * batch_size).saturating_sub(1).max(1) as f64).ln()
}

/// The three charts side by side.
#[component]
pub fn Charts() -> impl IntoView {
    let state = expect_context::<RunState>();
    let loss = move || {
        let points = state
            .reports
            .with(|r| r.iter().map(|p| (p.step as f64, p.loss)).collect());
        let chance = state.trained_with.with(|s| {
            s.as_ref().map(|s| {
                let batch = s.pretrain_config().batch_size;
                let level = chance_loss(batch);
                (format!("chance: ln(2·{batch} − 1) = {level:.2}"), level)
            })
        });
        chart(axes("NT-Xent loss", "step", "loss"), "loss", points, chance)
    };
    let knn = move || {
        let points = state
            .knn
            .with(|k| k.iter().map(|&(e, a)| (e, 100.0 * a)).collect());
        let classes = state
            .data
            .with(|d| d.as_ref().map_or(10, |d| d.classes.len().max(1)));
        let level = 100.0 / classes as f64;
        let knn_axes = Axes {
            y_range: Some((0.0, 100.0)),
            integer_x: true,
            ..axes("kNN top-1 on test images", "epoch", "accuracy (%)")
        };
        let chance = Some((format!("chance: {level:.0}%"), level));
        chart(knn_axes, "kNN top-1", points, chance)
    };
    let speed = move || {
        let points = state
            .reports
            .with(|r| r.iter().map(|p| (p.step as f64, p.views_per_s)).collect());
        chart(
            axes("Throughput", "step", "views/s"),
            "views/s",
            points,
            None,
        )
    };
    // Every reported loss, for tests and automation: the table shows only the latest.
    let losses = move || {
        state.reports.with(|r| {
            r.iter()
                .map(|p| format!("{:.5}", p.loss))
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    let speeds = move || {
        state.reports.with(|r| {
            r.iter()
                .map(|p| format!("{:.2}", p.views_per_s))
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    view! {
        <section class="charts">
            <div class="chart" data-testid="loss-chart" data-losses=losses inner_html=loss></div>
            <div class="chart" data-testid="knn-chart" inner_html=knn></div>
            <div class="chart" data-testid="speed-chart" data-views-per-s=speeds inner_html=speed></div>
        </section>
    }
}
