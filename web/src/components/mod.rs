//! The page: controls, live numbers and the loss chart, sharing one [`RunState`].

mod controls;
mod loss_chart;

pub use controls::Controls;
pub use loss_chart::LossChart;

use leptos::prelude::*;

/// Where the run stands, as the page shows it (`data-testid="status"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing started.
    Idle,
    /// The worker is training.
    Training,
    /// Training ended.
    Done,
    /// Training failed.
    Error,
}

impl Status {
    /// The word shown on the page.
    pub fn word(self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Training => "training",
            Status::Done => "done",
            Status::Error => "error",
        }
    }
}

/// The run's reactive state, provided as context.
#[derive(Debug, Clone, Copy)]
pub struct RunState {
    /// idle / training / done / error.
    pub status: RwSignal<Status>,
    /// The backend in words.
    pub backend: RwSignal<String>,
    /// Steps done.
    pub step: RwSignal<usize>,
    /// Steps in the run.
    pub total: RwSignal<usize>,
    /// `(step, mean loss)` per report.
    pub curve: RwSignal<Vec<(f64, f64)>>,
    /// Views per second of the last report.
    pub views_per_s: RwSignal<f64>,
    /// The last error, with what to do.
    pub error: RwSignal<Option<String>>,
}

impl RunState {
    fn new() -> Self {
        Self {
            status: RwSignal::new(Status::Idle),
            backend: RwSignal::new("not started".into()),
            step: RwSignal::new(0),
            total: RwSignal::new(0),
            curve: RwSignal::new(vec![]),
            views_per_s: RwSignal::new(0.0),
            error: RwSignal::new(None),
        }
    }
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let state = RunState::new();
    provide_context(state);
    let latest_loss = move || {
        state
            .curve
            .with(|c| c.last().map(|p| format!("{:.4}", p.1)))
            .unwrap_or_default()
    };
    view! {
        <main>
            <h1>"SimCLR in the browser"</h1>
            <p>"Self-supervised ResNet training on the built-in synthetic images, on WebGPU where the browser has it."</p>
            <Controls/>
            <table class="numbers">
                <tr><th>"status"</th><td data-testid="status">{move || state.status.get().word()}</td></tr>
                <tr><th>"backend"</th><td data-testid="backend">{move || state.backend.get()}</td></tr>
                <tr><th>"step"</th><td data-testid="step">{move || format!("{} / {}", state.step.get(), state.total.get())}</td></tr>
                <tr><th>"loss"</th><td data-testid="loss">{latest_loss}</td></tr>
                <tr><th>"views/s"</th><td>{move || format!("{:.1}", state.views_per_s.get())}</td></tr>
            </table>
            <Show when=move || state.error.get().is_some()>
                <p class="error" data-testid="error">{move || state.error.get().unwrap_or_default()}</p>
            </Show>
            <LossChart/>
        </main>
    }
}
