//! Live charts: loss per step, kNN accuracy per epoch, views per second, drawn with the
//! core's SVG line charts.

use super::state::RunState;
use leptos::prelude::*;
use simclr::plot::svg::curve;

fn chart(title: &str, x_label: &str, y_label: &str, points: Vec<(f64, f64)>) -> String {
    curve(title, x_label, y_label, y_label, points)
}

/// The three charts side by side.
#[component]
pub fn Charts() -> impl IntoView {
    let state = expect_context::<RunState>();
    let loss = move || {
        let points = state
            .reports
            .with(|r| r.iter().map(|p| (p.step as f64, p.loss)).collect());
        chart("NT-Xent loss", "step", "loss", points)
    };
    let knn = move || {
        let points = state
            .knn
            .with(|k| k.iter().map(|&(e, a)| (e, 100.0 * a)).collect());
        chart("kNN top-1 on test images", "epoch", "accuracy (%)", points)
    };
    let speed = move || {
        let points = state
            .reports
            .with(|r| r.iter().map(|p| (p.step as f64, p.views_per_s)).collect());
        chart("Throughput", "step", "views/s", points)
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
