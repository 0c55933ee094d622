//! The data: built-in synthetic images or the user's CIFAR-10 / STL-10 files (picked or
//! dropped, read locally), a grid of samples and the live pair of augmented views.

use super::error_note::ErrorNote;
use super::files::read_all;
use super::link::WorkerLink;
use super::state::{Place, RunState};
use crate::protocol::{Command, DataSummary};
use crate::settings::RunSettings;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

/// Reads the files and hands them to the worker.
fn load(list: Option<web_sys::FileList>, state: RunState, link: WorkerLink) {
    let Some(list) = list else { return };
    state.begin_task(Place::Data, "reading the files");
    spawn_local(async move {
        match read_all(list).await {
            Ok(files) => link.send(Command::LoadData(files, state.settings.get_untracked())),
            Err(message) => state.fail(message),
        }
    });
}

/// The data panel.
#[component]
pub fn DataPanel() -> impl IntoView {
    let state = expect_context::<RunState>();
    let link = expect_context::<WorkerLink>();
    // The synthetic samples, at once.
    link.send(Command::Preview(state.settings.get_untracked()));
    let dragging = RwSignal::new(false);
    let on_pick = {
        let link = link.clone();
        move |ev: web_sys::Event| {
            let input: Option<web_sys::HtmlInputElement> =
                ev.target().and_then(|t| t.dyn_into().ok());
            load(input.and_then(|i| i.files()), state, link.clone());
        }
    };
    let on_drop = {
        let link = link.clone();
        move |ev: web_sys::DragEvent| {
            ev.prevent_default();
            dragging.set(false);
            load(
                ev.data_transfer().and_then(|d| d.files()),
                state,
                link.clone(),
            );
        }
    };
    let on_drag_over = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        dragging.set(true);
    };
    let use_synthetic = move |_| {
        state.begin_task(Place::Data, "generating the synthetic images");
        link.send(Command::UseSynthetic(state.settings.get_untracked()));
    };
    let busy = move || state.status.get().running() || state.working.get().is_some();
    let summary = move || {
        let settings = state.settings.get();
        state
            .data
            .with(|d| d.as_ref().map(|d| summary_line(d, &settings)))
    };
    view! {
        <section class="panel data">
            <h2>"Data"</h2>
            <div class="drop" data-testid="drop" class:dragging=move || dragging.get() on:dragover=on_drag_over on:dragleave=move |_| dragging.set(false) on:drop=on_drop>
                <p>"Built-in synthetic shapes, or drop CIFAR-10 ("<code>"cifar-10-binary.tar.gz"</code>" or its "<code>".bin"</code>" batches) or STL-10 ("<code>"*_X.bin"</code>", "<code>"*_y.bin"</code>") files here."</p>
                <input type="file" multiple=true accept=".bin,.gz,.tgz,.txt" data-testid="data-files" on:change=on_pick disabled=busy/>
                <button data-testid="use-synthetic" on:click=use_synthetic disabled=busy>"Use synthetic images"</button>
            </div>
            <ErrorNote place=Place::Data/>
            <p data-testid="data-summary">{summary}</p>
            <div class="images">
                <figure>
                    {move || state.samples_url.get().map(|url| view! { <img data-testid="samples" src=url alt="sample images"/> })}
                    <figcaption>"samples"</figcaption>
                </figure>
                <figure>
                    {move || state.pairs_url.get().map(|url| view! { <img data-testid="pairs" src=url alt="augmented views"/> })}
                    <figcaption>"image → view 1, view 2 (refreshed each epoch)"</figcaption>
                </figure>
            </div>
        </section>
    }
}

/// What a run will train and test on: the synthetic set at the settings' sizes, or the
/// files cut to them.
pub fn summary_line(data: &DataSummary, settings: &RunSettings) -> String {
    let (train, test) = images_used(data, settings);
    let mut line = format!(
        "{}: {train} training and {test} test images of {side}×{side} px, {} classes",
        data.name,
        data.classes.len(),
        side = data.side,
    );
    if !data.generated && (train, test) != (data.train, data.test) {
        line += &format!(
            " (of {} and {} in the files: set \"training images\" and \"test images\" to 0 \
             under advanced to use them all)",
            data.train, data.test
        );
    }
    line
}

/// The training and test images a run will use.
pub fn images_used(data: &DataSummary, settings: &RunSettings) -> (usize, usize) {
    if data.generated {
        return settings.synthetic_sizes();
    }
    let used = |wanted: usize, there: usize| match wanted {
        0 => there,
        n => n.min(there),
    };
    (
        used(settings.train_images, data.train),
        used(settings.test_images, data.test),
    )
}
