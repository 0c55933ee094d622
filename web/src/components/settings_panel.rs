//! Presets and the details of a run.

use super::state::RunState;
use crate::settings::{ComputeChoice, Preset, RunSettings};
use leptos::prelude::*;
use simclr::model::Stem;
use simclr::train::optim::OptimizerKind;

type Getter = fn(&RunSettings) -> String;
type Setter = fn(&mut RunSettings, &str);

/// A number input bound to one setting, with a line of help; text that does not parse
/// leaves the setting unchanged.
fn number(
    (label, help): (&'static str, &'static str),
    key: &'static str,
    step: &'static str,
    get: Getter,
    set: Setter,
) -> impl IntoView {
    let state = expect_context::<RunState>();
    let value = move || state.settings.with(get);
    let on_change = move |ev| {
        let text = event_target_value(&ev);
        state.settings.update(|s| set(s, text.trim()));
    };
    let disabled = move || state.status.get().running();
    view! {
        <label>
            <span>{label}</span>
            <input type="number" step=step data-testid=format!("setting-{key}") prop:value=value on:change=on_change disabled=disabled/>
            <small class="help">{help}</small>
        </label>
    }
}

fn parse_into<T: std::str::FromStr>(target: &mut T, text: &str) {
    if let Ok(value) = text.parse() {
        *target = value;
    }
}

/// A change laid over the preset when the text parses.
fn change<T: std::str::FromStr>(target: &mut Option<T>, text: &str) {
    if let Ok(value) = text.parse() {
        *target = Some(value);
    }
}

fn stem_key(stem: Option<Stem>) -> &'static str {
    stem.map_or("auto", Stem::name)
}

/// The settings form.
#[component]
pub fn SettingsPanel() -> impl IntoView {
    let state = expect_context::<RunState>();
    let disabled = move || state.status.get().running();
    let preset_key = move || {
        state
            .settings
            .with(|s| s.matching_preset().map_or("custom", Preset::name))
    };
    let on_preset = move |ev| {
        if let Ok(preset) = event_target_value(&ev).parse::<Preset>() {
            state.settings.update(|s| {
                *s = RunSettings {
                    compute: s.compute,
                    ..RunSettings::preset(preset)
                }
            });
        }
    };
    let on_stem = move |ev| {
        let key = event_target_value(&ev);
        state.settings.update(|s| s.changes.stem = key.parse().ok());
    };
    let on_optimizer = move |ev| {
        let key = event_target_value(&ev);
        if let Ok(kind) = key.parse::<OptimizerKind>() {
            state.settings.update(|s| s.choose_optimizer(kind));
        }
    };
    let on_compute = move |ev| {
        if let Some(choice) = ComputeChoice::from_key(&event_target_value(&ev)) {
            state.settings.update(|s| s.compute = choice);
        }
    };
    let on_loaded = move |ev| {
        let checked = event_target_checked(&ev);
        state.settings.update(|s| s.start_from_loaded = checked);
    };
    view! {
        <section class="panel settings">
            <h2>"Settings"</h2>
            <label>
                <span>"preset"</span>
                <select data-testid="preset" on:change=on_preset prop:value=preset_key disabled=disabled>
                    {Preset::ALL.into_iter().map(|p| view! { <option value=p.name()>{format!("{}: {}", p.name(), p.summary())}</option> }).collect_view()}
                    <option value="custom" disabled=true>"custom"</option>
                </select>
            </label>
            <label>
                <span>"compute on"</span>
                <select data-testid="setting-compute" on:change=on_compute prop:value=move || state.settings.with(|s| s.compute.key()) disabled=disabled>
                    {ComputeChoice::ALL.into_iter().map(|c| view! { <option value=c.key()>{c.label()}</option> }).collect_view()}
                </select>
            </label>
            <label class="check">
                <input type="checkbox" data-testid="setting-start-from-loaded" prop:checked=move || state.settings.with(|s| s.start_from_loaded) on:change=on_loaded disabled=move || disabled() || state.loaded.get().is_none()/>
                <span>"start from the loaded encoder"</span>
            </label>
            <details class="advanced" data-testid="advanced">
                <summary>"advanced: network, optimiser, data"</summary>
                {number(("width", "channels of the first stage; 64 is ResNet-18, cost grows with its square"), "width", "1", |s| s.pretrain_config().width.to_string(), |s, t| change(&mut s.changes.width, t))}
                <label>
                    <span>"stem"</span>
                    <select data-testid="setting-stem" on:change=on_stem prop:value=move || state.settings.with(|s| stem_key(s.pretrain_config().stem)) disabled=disabled>
                        <option value="auto">"auto (from image size)"</option>
                        <option value="cifar">"cifar (3×3, no max-pool)"</option>
                        <option value="imagenet">"imagenet (7×7, max-pool)"</option>
                    </select>
                    <small class="help">"the first layer: small images keep their resolution with the cifar stem"</small>
                </label>
                {number(("image size", "side of the augmented views in pixels; 0 keeps the images' own"), "image-size", "1",
                    |s| s.pretrain_config().image_size.unwrap_or(0).to_string(),
                    |s, t| change(&mut s.changes.image_size, t))}
                {number(("batch size", "images per step; each gives two views, the others' views are the negatives"), "batch-size", "1", |s| s.pretrain_config().batch_size.to_string(), |s, t| change(&mut s.changes.batch_size, t))}
                {number(("epochs", "passes over the training images"), "epochs", "1", |s| s.pretrain_config().epochs.to_string(), |s, t| change(&mut s.changes.epochs, t))}
                {number(("max steps", "end the run after this many steps; 0 runs every epoch"), "max-steps", "1", |s| s.pretrain_config().max_steps.unwrap_or(0).to_string(), |s, t| change(&mut s.changes.max_steps, t))}
                <label>
                    <span>"optimiser"</span>
                    <select data-testid="setting-optimizer" on:change=on_optimizer prop:value=move || state.settings.with(|s| s.pretrain_config().optimizer.kind.name()) disabled=disabled>
                        {OptimizerKind::ALL
                            .into_iter()
                            .map(|k| view! { <option value=k.name()>{k.name()}</option> })
                            .collect_view()}
                    </select>
                    <small class="help">"Adam for small batches; LARS is the paper's, for batches of 256 and up; switching takes the family's usual rate and warm-up"</small>
                </label>
                {number(("learning rate", "peak rate after warm-up; LARS and SGD scale it by batch / 256"), "lr", "any", |s| s.pretrain_config().optimizer.lr.to_string(), |s, t| change(&mut s.changes.lr, t))}
                {number(("temperature τ", "of the contrastive loss; lower sharpens it on the hardest negatives"), "temperature", "any", |s| s.pretrain_config().temperature.to_string(), |s, t| change(&mut s.changes.temperature, t))}
                {number(("colour jitter strength", "how much brightness, contrast, saturation and hue change between views"), "jitter", "any", |s| s.pretrain_config().color_jitter_strength.to_string(), |s, t| change(&mut s.changes.color_jitter_strength, t))}
                {number(("seed", "of the initial weights, the image order and the augmentations"), "seed", "1", |s| s.pretrain_config().seed.to_string(), |s, t| change(&mut s.changes.seed, t))}
                {number(("training images", "how many to train on; 0 uses them all"), "train-images", "1", |s| s.train_images.to_string(), |s, t| parse_into(&mut s.train_images, t))}
                {number(("test images", "for the kNN monitor, the probe and t-SNE; 0 uses them all"), "test-images", "1", |s| s.test_images.to_string(), |s, t| parse_into(&mut s.test_images, t))}
            </details>
        </section>
    }
}
