//! Start, Pause / Resume and Stop, and the run's live numbers.

use super::link::WorkerLink;
use super::state::{RunState, Status};
use crate::protocol::Command;
use leptos::prelude::*;

/// The buttons and the numbers table.
#[component]
pub fn Controls() -> impl IntoView {
    let state = expect_context::<RunState>();
    let link = expect_context::<WorkerLink>();
    let start = {
        let link = link.clone();
        move |_| {
            state.begin_run();
            link.send(Command::Start(state.settings.get_untracked()));
        }
    };
    let pause_or_resume = {
        let link = link.clone();
        move |_| {
            let command = if state.status.get_untracked() == Status::Paused {
                Command::Resume
            } else {
                Command::Pause
            };
            link.send(command);
        }
    };
    let stop = move |_| link.send(Command::Stop);
    let running = move || state.status.get().running();
    let busy = move || running() || state.working.get().is_some();
    let pause_label = move || {
        if state.status.get() == Status::Paused {
            "Resume"
        } else {
            "Pause"
        }
    };
    let latest = move |pick: fn(&super::state::Report) -> f64, digits: usize| {
        state
            .reports
            .with(|r| r.last().map(|p| format!("{:.*}", digits, pick(p))))
            .unwrap_or_default()
    };
    view! {
        <section class="controls">
            <button data-testid="start" on:click=start disabled=busy>"Start"</button>
            <button data-testid="pause" on:click=pause_or_resume disabled=move || !running()>{pause_label}</button>
            <button data-testid="stop" on:click=stop disabled=move || !running()>"Stop"</button>
            <span class="working" data-testid="working">{move || state.working.get().unwrap_or_default()}</span>
            <table class="numbers">
                <tr>
                    <th>"status"</th><td data-testid="status">{move || state.status.get().word()}</td>
                    <th>"backend"</th><td data-testid="backend">{move || state.backend.get()}</td>
                </tr>
                <tr>
                    <th>"step"</th><td data-testid="step">{move || { let (s, t, _, _) = state.step.get(); format!("{s} / {t}") }}</td>
                    <th>"epoch"</th><td data-testid="epoch">{move || state.step.get().2}</td>
                </tr>
                <tr>
                    <th>"loss"</th><td data-testid="loss">{move || latest(|r| r.loss, 4)}</td>
                    <th>"learning rate"</th><td>{move || format!("{:.2e}", state.step.get().3)}</td>
                </tr>
                <tr>
                    <th>"views/s"</th><td data-testid="views-per-s">{move || latest(|r| r.views_per_s, 1)}</td>
                    <th>"kNN top-1"</th><td data-testid="knn">{move || state.knn.with(|k| k.last().map(|p| format!("{:.1}%", 100.0 * p.1))).unwrap_or_default()}</td>
                </tr>
            </table>
        </section>
    }
}
