//! Fine-tuning beside the linear probe: the encoder and a linear classifier trained end to
//! end on the probe's share of the labels, in the worker, with a progress bar and Stop; its
//! test accuracy is shown beside the probes'.

use super::link::WorkerLink;
use super::state::{Place, RunState};
use crate::protocol::{Command, FineTuned, ProbeComparison};
use leptos::prelude::*;
use simclr::plot::svg::confusion;

/// Fine-tune and Stop buttons and the progress bar; `percent` is the probe's label share.
#[component]
pub fn FineTuneControls(percent: RwSignal<f64>) -> impl IntoView {
    let state = expect_context::<RunState>();
    let link = expect_context::<WorkerLink>();
    let stopper = link.clone();
    let run = move |_| {
        state.begin_task(Place::Probe, "fine-tuning the encoder");
        link.send(Command::FineTune {
            label_fraction: percent.get_untracked() / 100.0,
            settings: state.settings.get_untracked(),
        });
    };
    let progress = move || {
        state.finetuning.get().map(|(step, total, loss)| {
            let link = stopper.clone();
            view! {
                <div class="finetune-progress">
                    <progress data-testid="finetune-progress" max=total.to_string() value=step.to_string()></progress>
                    <span>{format!("step {step} / {total}, loss {loss:.3}")}</span>
                    <button data-testid="finetune-stop" on:click=move |_| link.send(Command::Stop)>"Stop fine-tuning"</button>
                </div>
            }
        })
    };
    view! {
        <button data-testid="finetune-run" on:click=run disabled=move || !state.encoder_ready()
            title="trains the encoder and a linear classifier end to end on these labels">
            "Fine-tune"
        </button>
        {progress}
    }
}

/// How fine-tuning compares with the probes of the same labels, plainly.
pub fn finetune_summary(outcome: &FineTuned, probe: Option<&ProbeComparison>) -> String {
    let result = &outcome.result;
    let top1 = 100.0 * result.report.top1;
    let share = 100.0 * result.label_fraction;
    let stopped = if outcome.stopped {
        " (stopped early)"
    } else {
        ""
    };
    let mut text = format!(
        "Fine-tuned end to end on {} labelled images ({share:.0}% of the labels) for {} steps{stopped}: \
         top-1 {top1:.1}%.",
        result.train_examples, result.steps
    );
    let same_labels =
        probe.filter(|p| (p.trained.label_fraction - result.label_fraction).abs() < 1e-9);
    if let Some(p) = same_labels {
        let gap = top1 - 100.0 * p.trained.top1;
        let side = if gap >= 0.0 { "above" } else { "below" };
        text.push_str(&format!(
            " That is {:.1} points {side} the linear probe on the same labels, {:.1} points above the random encoder's probe.",
            gap.abs(),
            top1 - 100.0 * p.random.top1
        ));
    }
    text
}

/// The fine-tuned network's column beside the probes'.
pub fn finetune_column(outcome: FineTuned, classes: &[String]) -> impl IntoView {
    let report = &outcome.result.report;
    let svg = confusion(
        "SimCLR + fine-tune: confusion (test)",
        &report.confusion,
        classes,
    );
    let tested: usize = report.confusion.iter().flatten().sum();
    view! {
        <div class="probe-result">
            <h3>"SimCLR + fine-tune"</h3>
            <p>
                "top-1 "<strong data-testid="finetune-accuracy" data-accuracy=report.top1.to_string()>
                    {format!("{:.1}%", 100.0 * report.top1)}
                </strong>
                {format!(" on {tested} test images; top-5 {:.1}%; trained on {} labelled images",
                    100.0 * report.top5, outcome.result.train_examples)}
            </p>
            <div class="chart" inner_html=svg></div>
        </div>
    }
}
