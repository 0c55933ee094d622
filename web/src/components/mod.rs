//! The page: settings and data, controls and live charts, then evaluation (probe, t-SNE)
//! and files, all sharing one [`RunState`] and one [`link::WorkerLink`].

mod charts;
mod controls;
mod data_panel;
mod error_note;
pub mod files;
mod files_panel;
pub mod link;
mod probe_panel;
mod settings_panel;
pub mod state;
mod tsne_panel;
pub mod worker_kind;

pub use charts::{chance_loss, Charts};
pub use data_panel::summary_line;
pub use probe_panel::{verdict, ProbeResults};
pub use state::{Place, RunState, Status};
pub use tsne_panel::layout as tsne_layout;

use controls::Controls;
use data_panel::DataPanel;
use files_panel::FilesPanel;
use leptos::prelude::*;
use probe_panel::ProbePanel;
use settings_panel::SettingsPanel;
use tsne_panel::TsnePanel;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let state = RunState::new();
    provide_context(state);
    provide_context(link::WorkerLink::spawn(state));
    view! {
        <main>
            <h1>"SimCLR in the browser"</h1>
            <p class="lead">
                "Self-supervised ResNet training (Chen et al. 2020) in this tab, on WebGPU where the browser has it. "
                "Nothing leaves your machine."
            </p>
            <Show when=move || state.error.get().is_some()>
                <p class="error" data-testid="error">{move || state.error.get().unwrap_or_default()}</p>
            </Show>
            <Controls/>
            <div class="columns">
                <SettingsPanel/>
                <DataPanel/>
            </div>
            <Charts/>
            <div class="columns">
                <ProbePanel/>
                <FilesPanel/>
            </div>
            <TsnePanel/>
        </main>
    }
}
