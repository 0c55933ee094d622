//! The linear probe and fine-tuning: a label-fraction slider, then test accuracy and
//! confusion matrices of the trained encoder, a random one and the fine-tuned network,
//! side by side.

use super::error_note::ErrorNote;
use super::finetune_panel::{finetune_column, finetune_summary, FineTuneControls};
use super::link::WorkerLink;
use super::state::{Place, RunState};
use crate::protocol::{Command, ProbeComparison};
use crate::settings::{Preset, RunSettings};
use leptos::prelude::*;
use simclr::eval::probing::ProbeResult;
use simclr::plot::svg::confusion;

/// One encoder's column of results.
fn column(
    title: &'static str,
    testid: &'static str,
    result: ProbeResult,
    classes: &[String],
) -> impl IntoView {
    let svg = confusion(
        &format!("{title}: confusion (test)"),
        &result.confusion,
        classes,
    );
    let top1 = format!("{:.1}%", 100.0 * result.top1);
    let tested: usize = result.confusion.iter().flatten().sum();
    view! {
        <div class="probe-result">
            <h3>{title}</h3>
            <p>
                "top-1 "<strong data-testid=testid data-accuracy=result.top1.to_string()>{top1}</strong>
                {format!(" ± {:.1} points (standard deviation over {} label subsets) on {tested} test images; \
                    top-5 {:.1}%; trained on {} labelled images",
                    100.0 * result.top1_std, result.seeds, 100.0 * result.top5, result.train_examples)}
            </p>
            <div class="chart" inner_html=svg></div>
        </div>
    }
}

/// What the comparison says, plainly: how far above chance and the random encoder the
/// trained one is, and what to try when it is not above the random one.
pub fn verdict(comparison: &ProbeComparison, settings: &RunSettings) -> String {
    let chance = 100.0 / comparison.classes.len().max(1) as f64;
    let (trained, random) = (
        100.0 * comparison.trained.top1,
        100.0 * comparison.random.top1,
    );
    let margin = trained - random;
    if margin >= 2.0 {
        return format!(
            "The SimCLR encoder is {margin:.1} points above the random one (chance is \
             {chance:.0}%): it learned features that a linear classifier can use."
        );
    }
    let next = settings
        .matching_preset()
        .and_then(|p| Preset::ALL.into_iter().skip_while(|&q| q != p).nth(1));
    let advice = match next {
        Some(next) => format!(
            "train longer, or try the {next} preset ({})",
            next.summary()
        ),
        None => "train longer (more epochs or images)".into(),
    };
    format!(
        "The SimCLR encoder does not beat the random one here ({trained:.1}% vs {random:.1}%, \
         chance is {chance:.0}%): {advice}."
    )
}

/// The probe panel.
#[component]
pub fn ProbePanel() -> impl IntoView {
    let state = expect_context::<RunState>();
    let link = expect_context::<WorkerLink>();
    let percent = RwSignal::new(10.0_f64);
    let run = move |_| {
        state.begin_task(Place::Probe, "probing the encoders");
        link.send(Command::Probe {
            label_fraction: percent.get_untracked() / 100.0,
            settings: state.settings.get_untracked(),
        });
    };
    view! {
        <section class="panel probe">
            <h2>"Linear probe and fine-tuning"</h2>
            <p>"A linear classifier on the frozen features h, trained with a fraction of the labels, tested on the test images; \
                or the whole encoder fine-tuned with a linear classifier on the same labels."</p>
            <label>
                <span>{move || format!("labels used: {:.0}%", percent.get())}</span>
                <input type="range" min="1" max="100" step="1" data-testid="label-fraction"
                    prop:value=move || percent.get().to_string()
                    on:input=move |ev| if let Ok(v) = event_target_value(&ev).parse() { percent.set(v) }/>
            </label>
            <div class="buttons">
                <button data-testid="probe-run" on:click=run disabled=move || !state.encoder_ready()>"Run the probe"</button>
                <FineTuneControls percent=percent/>
            </div>
            <ErrorNote place=Place::Probe/>
            <ProbeResults/>
        </section>
    }
}

/// The last probe's and fine-tuning's results: the trained encoder, the random one and
/// the fine-tuned network side by side.
#[component]
pub fn ProbeResults() -> impl IntoView {
    let state = expect_context::<RunState>();
    move || {
        let probe = state.probe.get();
        let finetuned = state.finetuned.get();
        let settings = state
            .trained_with
            .get()
            .unwrap_or_else(|| state.settings.get());
        let classes = probe
            .as_ref()
            .map(|p| p.classes.clone())
            .or_else(|| state.data.get().map(|d| d.classes))
            .unwrap_or_default();
        let verdict_line = probe.as_ref().map(|p| {
            view! { <p class="verdict" data-testid="probe-verdict">{verdict(p, &settings)}</p> }
        });
        let finetune_line = finetuned.as_ref().map(|f| {
            view! { <p class="verdict" data-testid="finetune-summary">{finetune_summary(f, probe.as_ref())}</p> }
        });
        let probe_columns = probe.map(|p| {
            view! {
                {column("SimCLR encoder", "probe-accuracy", p.trained, &p.classes)}
                {column("random encoder", "probe-random-accuracy", p.random, &p.classes)}
            }
        });
        let finetune = finetuned.map(|f| finetune_column(f, &classes));
        view! {
            {verdict_line}
            {finetune_line}
            <div class="side-by-side">{probe_columns}{finetune}</div>
        }
    }
}
