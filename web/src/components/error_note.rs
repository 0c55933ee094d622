//! An error shown beside the control whose task failed (it shows at the top of the page
//! too, where it may be out of sight).

use super::state::{Place, RunState};
use leptos::prelude::*;

impl Place {
    /// The suffix of the note's `data-testid` (`error-probe`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Place::Data => "data",
            Place::Run => "run",
            Place::Probe => "probe",
            Place::Map => "map",
            Place::Files => "files",
        }
    }
}

/// The last error, when the task that failed was started from `place`.
#[component]
pub fn ErrorNote(place: Place) -> impl IntoView {
    let state = expect_context::<RunState>();
    let testid = format!("error-{}", place.key());
    move || {
        let error = state.error.get().filter(|_| state.place.get() == place)?;
        Some(view! { <p class="error note" data-testid=testid.clone()>{error}</p> })
    }
}
