//! Start, Pause / Resume and Stop, and the run's live numbers.

use super::data_panel::images_used;
use super::error_note::ErrorNote;
use super::link::WorkerLink;
use super::state::{Place, RunState, Status};
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
            if state.status.get_untracked() == Status::Paused {
                state.pending.set(Some("resuming…".into()));
                link.send(Command::Resume);
            } else {
                state.request("pausing");
                link.send(Command::Pause);
            }
        }
    };
    let stop = move |_| {
        state.request("stopping");
        link.send(Command::Stop);
    };
    let running = move || state.status.get().running();
    let answered = move || running() && state.pending.get().is_none();
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
            <p class="plan" data-testid="plan">{move || plan(state)}</p>
            <button data-testid="start" on:click=start disabled=busy>"Start"</button>
            <button data-testid="pause" on:click=pause_or_resume disabled=move || !answered()>{pause_label}</button>
            <button data-testid="stop" on:click=stop disabled=move || !answered()>"Stop"</button>
            <span class="working" data-testid="working">{move || state.working.get().unwrap_or_default()}</span>
            <span class="phase" data-testid="phase">{move || phase(state)}</span>
            <ErrorNote place=Place::Run/>
            <table class="numbers">
                <tr>
                    <th>"status"</th><td data-testid="status">{move || state.status.get().label()}</td>
                    <th>"backend"</th><td data-testid="backend">{move || state.backend.get()}</td>
                </tr>
                <tr>
                    <th>"step"</th><td data-testid="step">{move || { let (s, t, _, _) = state.step.get(); format!("{s} / {t}") }}</td>
                    <th>"epoch"</th><td data-testid="epoch">{move || state.step.get().2}</td>
                </tr>
                <tr>
                    <th>"loss"</th><td data-testid="loss">{move || latest(|r| r.loss, 4)}</td>
                    <th>"learning rate"</th><td>{move || { let (step, _, _, lr) = state.step.get(); if step == 0 { String::new() } else { format!("{lr:.2e}") } }}</td>
                </tr>
                <tr>
                    <th>"views/s"</th><td data-testid="views-per-s">{move || latest(|r| r.views_per_s, 1)}</td>
                    <th>"kNN top-1"</th><td data-testid="knn">{move || state.knn.with(|k| k.last().map(|p| format!("{:.1}%", 100.0 * p.1))).unwrap_or_default()}</td>
                </tr>
            </table>
        </section>
    }
}

/// What the run is doing when the numbers alone would not say: an unanswered Pause or
/// Stop, or the wait before the first step (WebGPU compiles its shaders then).
fn phase(state: RunState) -> String {
    if let Some(pending) = state.pending.get() {
        return pending;
    }
    let first_step = state.status.get() == Status::Training && state.step.get().0 == 0;
    if !first_step {
        return String::new();
    }
    if state.backend.with(|b| b.starts_with("WebGPU")) {
        "compiling the GPU shaders: the first steps take up to a minute or two".into()
    } else {
        "preparing the first step".into()
    }
}

/// What Start will do, in one line.
fn plan(state: RunState) -> String {
    let settings = state.settings.get();
    let (images, (train, _)) = state.data.with(|d| match d {
        Some(d) => (d.name.clone(), images_used(d, &settings)),
        None => ("synthetic".into(), settings.synthetic_sizes()),
    });
    let config = settings.pretrain_config();
    let steps = config.total_steps(train);
    format!(
        "Start trains a width-{} ResNet-18 with SimCLR on {train} {images} images: {steps} \
         steps of {} images, two augmented views each. Then probe it with a few labels below.",
        config.width, config.batch_size,
    )
}
