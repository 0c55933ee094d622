//! The live loss curve, drawn with the core's SVG charts.

use super::RunState;
use leptos::prelude::*;
use simclr::plot::svg::{line_chart, Axes, Series};

/// Loss per reported step.
#[component]
pub fn LossChart() -> impl IntoView {
    let state = expect_context::<RunState>();
    let svg = move || {
        let points = state.curve.get();
        let axes = Axes {
            title: "NT-Xent loss".into(),
            x_label: "step".into(),
            y_label: "loss".into(),
            ..Axes::default()
        };
        let series = Series {
            name: "loss".into(),
            points,
            dashed: false,
        };
        line_chart(&axes, &[series])
    };
    // Every reported loss, for tests and automation: the page shows only the latest.
    let losses = move || {
        state.curve.with(|c| {
            c.iter()
                .map(|p| format!("{:.5}", p.1))
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    view! { <div class="chart" data-testid="loss-chart" data-losses=losses inner_html=svg></div> }
}
