//! The page: settings and data, controls and live charts, then evaluation (probe, t-SNE)
//! and files, all sharing one [`RunState`] and one [`link::WorkerLink`].

mod charts;
mod controls;
mod data_panel;
mod error_note;
pub mod files;
mod files_panel;
mod finetune_panel;
pub mod link;
mod map_panel;
mod probe_panel;
mod settings_panel;
pub mod state;
pub mod worker_kind;

pub use charts::{chance_loss, Charts};
pub use data_panel::summary_line;
pub use finetune_panel::finetune_summary;
pub use map_panel::{layout as map_layout, map_method};
pub use probe_panel::{verdict, ProbeResults};
pub use state::{Place, RunState, Status};

use controls::Controls;
use data_panel::DataPanel;
use files_panel::FilesPanel;
use leptos::prelude::*;
use map_panel::MapPanel;
use probe_panel::ProbePanel;
use settings_panel::SettingsPanel;

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
            <MapPanel/>
        </main>
    }
}
