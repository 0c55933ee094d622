//! The data: built-in synthetic images or the user's CIFAR-10 / STL-10 files (picked or
//! dropped, read locally), a grid of samples and the live pair of augmented views.

use super::files::read_all;
use super::link::WorkerLink;
use super::state::RunState;
use crate::protocol::Command;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

/// Reads the files and hands them to the worker.
fn load(list: Option<web_sys::FileList>, state: RunState, link: WorkerLink) {
    let Some(list) = list else { return };
    state.begin_task("reading the files");
    spawn_local(async move {
        match read_all(list).await {
            Ok(files) => link.send(Command::LoadData(files)),
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
        state.begin_task("generating the synthetic images");
        link.send(Command::UseSynthetic);
    };
    let busy = move || state.status.get().running() || state.working.get().is_some();
    let summary = move || {
        state.data.with(|d| {
            d.as_ref().map(|d| {
                format!(
                    "{}: {} training and {} test images of {}×{} px, {} classes",
                    d.name,
                    d.train,
                    d.test,
                    d.side,
                    d.side,
                    d.classes.len()
                )
            })
        })
    };
    view! {
        <section class="panel data">
            <h2>"Data"</h2>
            <div class="drop" data-testid="drop" class:dragging=move || dragging.get() on:dragover=on_drag_over on:dragleave=move |_| dragging.set(false) on:drop=on_drop>
                <p>"Built-in synthetic shapes, or drop CIFAR-10 ("<code>"cifar-10-binary.tar.gz"</code>" or its "<code>".bin"</code>" batches) or STL-10 ("<code>"*_X.bin"</code>", "<code>"*_y.bin"</code>") files here."</p>
                <input type="file" multiple=true accept=".bin,.gz,.tgz,.txt" data-testid="data-files" on:change=on_pick disabled=busy/>
                <button data-testid="use-synthetic" on:click=use_synthetic disabled=busy>"Use synthetic images"</button>
            </div>
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
