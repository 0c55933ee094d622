//! Checkpoints and embeddings: download the encoder as safetensors (the format of
//! `simclr export`), load one to probe, map or continue training, download embeddings.

use super::error_note::ErrorNote;
use super::files::read_all;
use super::link::WorkerLink;
use super::state::{Place, RunState};
use crate::protocol::{Command, EmbeddingFormat};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

/// The files panel.
#[component]
pub fn FilesPanel() -> impl IntoView {
    let state = expect_context::<RunState>();
    let link = expect_context::<WorkerLink>();
    let idle = move || !state.status.get().running() && state.working.get().is_none();
    let export = {
        let link = link.clone();
        move |_| {
            state.begin_task(Place::Files, "writing the encoder");
            link.send(Command::ExportEncoder);
        }
    };
    let embeddings = {
        let link = link.clone();
        move |format: EmbeddingFormat| {
            state.begin_task(Place::Files, "encoding the test images");
            link.send(Command::ExportEmbeddings(format));
        }
    };
    let embeddings_npy = {
        let embeddings = embeddings.clone();
        move |_| embeddings(EmbeddingFormat::Npy)
    };
    let on_load = move |ev: web_sys::Event| {
        let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| t.dyn_into().ok());
        let Some(list) = input.and_then(|i| i.files()) else {
            return;
        };
        state.begin_task(Place::Files, "loading the encoder");
        let link = link.clone();
        spawn_local(async move {
            match read_all(list).await {
                Ok(mut files) => link.send(Command::ImportEncoder {
                    file: files.swap_remove(0),
                    compute: state.settings.get_untracked().compute,
                }),
                Err(message) => state.fail(message),
            }
        });
    };
    view! {
        <section class="panel files">
            <h2>"Encoder and embeddings"</h2>
            <button data-testid="export-encoder" on:click=export disabled=move || !state.encoder_ready()>"Download encoder (.safetensors)"</button>
            <button data-testid="export-npy" on:click=embeddings_npy disabled=move || !state.encoder_ready()>"Download embeddings (.npy)"</button>
            <button data-testid="export-csv" on:click=move |_| embeddings(EmbeddingFormat::Csv) disabled=move || !state.encoder_ready()>"Download embeddings (CSV)"</button>
            <label>
                <span>"Load an encoder (from "<code>"simclr export"</code>" or this page)"</span>
                <input type="file" accept=".safetensors" data-testid="import-encoder" on:change=on_load disabled=move || !idle()/>
            </label>
            <ErrorNote place=Place::Files/>
            <p data-testid="loaded">{move || state.loaded.get().map(|d| if state.loaded_replaced.get() {
                format!("loaded: {d} (replaced by the last run: probes, maps and downloads use the trained encoder)")
            } else {
                format!("loaded: {d}")
            })}</p>
        </section>
    }
}
