//! Presets and the details of a run.

use super::state::RunState;
use crate::settings::{Preset, RunSettings};
use leptos::prelude::*;
use simclr::model::Stem;
use simclr::train::optim::OptimizerKind;

type Getter = fn(&RunSettings) -> String;
type Setter = fn(&mut RunSettings, &str);

/// A number input bound to one setting; text that does not parse leaves it unchanged.
fn number(
    label: &'static str,
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
        </label>
    }
}

fn parse_into<T: std::str::FromStr>(target: &mut T, text: &str) {
    if let Ok(value) = text.parse() {
        *target = value;
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
                    force_cpu: s.force_cpu,
                    ..RunSettings::preset(preset)
                }
            });
        }
    };
    let on_stem = move |ev| {
        let key = event_target_value(&ev);
        state.settings.update(|s| s.stem = key.parse().ok());
    };
    let on_optimizer = move |ev| {
        let key = event_target_value(&ev);
        state
            .settings
            .update(|s| parse_into::<OptimizerKind>(&mut s.optimizer, &key));
    };
    let on_cpu = move |ev| {
        let checked = event_target_checked(&ev);
        state.settings.update(|s| s.force_cpu = checked);
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
                    {Preset::ALL.into_iter().map(|p| view! { <option value=p.name()>{format!("{} ({})", p.name(), p.summary())}</option> }).collect_view()}
                    <option value="custom" disabled=true>"custom"</option>
                </select>
            </label>
            {number("width", "width", "1", |s| s.width.to_string(), |s, t| parse_into(&mut s.width, t))}
            <label>
                <span>"stem"</span>
                <select data-testid="setting-stem" on:change=on_stem prop:value=move || state.settings.with(|s| stem_key(s.stem)) disabled=disabled>
                    <option value="auto">"auto (from image size)"</option>
                    <option value="cifar">"cifar (3×3, no max-pool)"</option>
                    <option value="imagenet">"imagenet (7×7, max-pool)"</option>
                </select>
            </label>
            {number("image size (0 = the images')", "image-size", "1",
                |s| s.image_size.unwrap_or(0).to_string(),
                |s, t| if let Ok(n) = t.parse::<usize>() { s.image_size = (n > 0).then_some(n) })}
            {number("batch size", "batch-size", "1", |s| s.batch_size.to_string(), |s, t| parse_into(&mut s.batch_size, t))}
            {number("epochs", "epochs", "1", |s| s.epochs.to_string(), |s, t| parse_into(&mut s.epochs, t))}
            {number("max steps (0 = all)", "max-steps", "1", |s| s.max_steps.to_string(), |s, t| parse_into(&mut s.max_steps, t))}
            <label>
                <span>"optimiser"</span>
                <select data-testid="setting-optimizer" on:change=on_optimizer prop:value=move || state.settings.with(|s| s.optimizer.name()) disabled=disabled>
                    {[OptimizerKind::Adam, OptimizerKind::Adamw, OptimizerKind::Lars, OptimizerKind::Sgd]
                        .into_iter()
                        .map(|k| view! { <option value=k.name()>{k.name()}</option> })
                        .collect_view()}
                </select>
            </label>
            {number("learning rate", "lr", "any", |s| s.lr.to_string(), |s, t| parse_into(&mut s.lr, t))}
            {number("temperature τ", "temperature", "any", |s| s.temperature.to_string(), |s, t| parse_into(&mut s.temperature, t))}
            {number("colour jitter strength", "jitter", "any", |s| s.color_jitter_strength.to_string(), |s, t| parse_into(&mut s.color_jitter_strength, t))}
            {number("seed", "seed", "1", |s| s.seed.to_string(), |s, t| parse_into(&mut s.seed, t))}
            {number("training images (0 = all)", "train-images", "1", |s| s.train_images.to_string(), |s, t| parse_into(&mut s.train_images, t))}
            {number("test images (0 = all)", "test-images", "1", |s| s.test_images.to_string(), |s, t| parse_into(&mut s.test_images, t))}
            <label class="check">
                <input type="checkbox" data-testid="setting-cpu" prop:checked=move || state.settings.with(|s| s.force_cpu) on:change=on_cpu disabled=disabled/>
                <span>"use the CPU (no WebGPU)"</span>
            </label>
            <label class="check">
                <input type="checkbox" data-testid="setting-start-from-loaded" prop:checked=move || state.settings.with(|s| s.start_from_loaded) on:change=on_loaded disabled=move || disabled() || state.loaded.get().is_none()/>
                <span>"start from the loaded encoder"</span>
            </label>
        </section>
    }
}
