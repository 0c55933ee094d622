//! Where a configuration comes from, in order: a preset (or the run folder when resuming),
//! then a configuration file, then flags. Written once for every subcommand that trains.

use crate::args::parse;
use crate::commands::experiment::ExperimentArgs;
use crate::commands::pretrain::PretrainArgs;
use crate::commands::supervised::SupervisedArgs;
use anyhow::{bail, Context, Result};
use simclr::eval::probing::check_fraction;
use simclr::eval::supervised::{SupervisedConfig, CONFIG_FILE};
use simclr::experiment::{ExperimentConfig, ExperimentPreset};
use simclr::train::config::{Preset, PretrainConfig};
use simclr::train::resume_check::check_resume;
use simclr::train::run_dir::RunDir;
use std::path::Path;

/// The preset of a fresh `pretrain` without `--preset`.
pub const DEFAULT_PRESET: Preset = Preset::Paper;

fn merge(base: &mut serde_json::Value, overlay: serde_json::Value) {
    match (base, overlay) {
        (serde_json::Value::Object(base), serde_json::Value::Object(overlay)) => {
            for (key, value) in overlay {
                merge(base.entry(key).or_insert(serde_json::Value::Null), value);
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// `base` with the keys of a TOML or JSON file laid over it.
pub fn read_config_file<T>(path: &Path, base: &T) -> Result<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let overlay: serde_json::Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).with_context(|| format!("{}: invalid JSON", path.display()))?
    } else {
        toml::from_str(&text).with_context(|| format!("{}: invalid TOML", path.display()))?
    };
    let mut value = serde_json::to_value(base)?;
    merge(&mut value, overlay);
    // A misspelt key would otherwise be dropped without a word, and the run would go on
    // with the value the user meant to change.
    let mut unknown = Vec::new();
    let config = serde_ignored::deserialize(value, |key| unknown.push(format!("`{key}`")))
        .with_context(|| format!("{}: invalid configuration", path.display()))?;
    if !unknown.is_empty() {
        bail!(
            "{}: unknown key{} {} (the keys are those of a run's config.json)",
            path.display(),
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", ")
        );
    }
    Ok(config)
}

/// The configuration from run folder (on resume), preset, file and flags, in that order.
pub fn pretrain_config(args: &PretrainArgs, run: &RunDir) -> Result<PretrainConfig> {
    // `--resume` in a folder where no run has started yet (killed before its first
    // write) starts it: the same command continues a run whenever it was killed.
    let mut config = if args.resume && run.has_run() {
        run.load_config().context("cannot resume")?
    } else {
        PretrainConfig::preset(match &args.preset {
            Some(p) => parse::<Preset>(p)?,
            None => DEFAULT_PRESET,
        })
    };
    if let Some(file) = &args.config {
        config = read_config_file(file, &config)?;
    }
    args.data.apply(&mut config.dataset)?;
    let o = &mut config.optimizer;
    if let Some(kind) = &args.optimizer {
        let kind: simclr::train::optim::OptimizerKind = parse(kind)?;
        if args.lr.is_none() && kind != o.kind {
            // A different optimiser family without a rate: take that family's usual rate.
            o.lr = if kind.scales_with_batch() { 1.0 } else { 1e-3 };
        }
        o.kind = kind;
    }
    set(&mut o.lr, args.lr);
    set(&mut o.weight_decay, args.weight_decay);
    set(&mut o.warmup_epochs, args.warmup_epochs);
    set(&mut config.epochs, args.epochs);
    if args.max_steps.is_some() {
        config.max_steps = args.max_steps;
    }
    set(&mut config.batch_size, args.batch_size);
    set(&mut config.width, args.width);
    set(&mut config.temperature, args.temperature);
    set(&mut config.color_jitter_strength, args.color_jitter);
    set(&mut config.seed, args.seed);
    set(&mut config.knn_every, args.knn_every);
    set(&mut config.checkpoint_every, args.checkpoint_every);
    if let Some(stem) = &args.stem {
        config.stem = Some(parse(stem)?);
    }
    if args.blur.is_some() {
        config.blur = args.blur;
    }
    if let Some(backend) = &args.backend {
        config.backend = parse(backend)?;
    }
    set(&mut config.devices, args.devices);
    set(&mut config.sync_batch_norm, args.sync_bn);
    config.validate()?;
    Ok(config)
}

/// `value` into `target` when given.
pub fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}

/// The study's configuration from preset, file and flags, in that order.
pub fn experiment_config(args: &ExperimentArgs) -> Result<ExperimentConfig> {
    let preset: ExperimentPreset = parse(&args.preset)?;
    let mut config = ExperimentConfig::preset(preset);
    if let Some(file) = &args.config {
        config = read_config_file(file, &config)?;
    }
    if let Some(path) = &args.data {
        config.pretrain.dataset.path = Some(path.clone());
    }
    set(&mut config.pretrain.epochs, args.epochs);
    set(&mut config.label_fractions, args.label_fraction.clone());
    set(&mut config.probe_seeds, args.probe_seeds);
    if let Some(backend) = &args.backend {
        config.pretrain.backend = parse(backend)?;
    }
    config.validate()?;
    Ok(config)
}

/// A supervised run's configuration: the run folder's when resuming, else the defaults,
/// with the flags laid over it. A resumed run may change only its backend.
pub fn supervised_config(args: &SupervisedArgs, run: &RunDir) -> Result<SupervisedConfig> {
    let saved: Option<SupervisedConfig> = run.load_json(CONFIG_FILE)?;
    match (saved, args.resume) {
        (Some(saved), true) => {
            let config = supervised_flags(args, saved.clone())?;
            let path = run.root().join(CONFIG_FILE);
            check_resume(&saved, &config, &["backend"], &path)?;
            Ok(config)
        }
        (None, true) => bail!("cannot resume: {} holds no supervised run", run.root().display()),
        (Some(_), false) => bail!(
            "{} already holds a supervised run; pass --resume to continue it or choose another --run-dir",
            run.root().display()
        ),
        (None, false) => {
            let config = supervised_flags(args, SupervisedConfig::default())?;
            check_fraction(config.label_fraction)?;
            Ok(config)
        }
    }
}

/// `config` with the flags that were given laid over it.
fn supervised_flags(
    args: &SupervisedArgs,
    mut config: SupervisedConfig,
) -> Result<SupervisedConfig> {
    set(&mut config.label_fraction, args.label_fraction);
    set(&mut config.epochs, args.epochs);
    set(&mut config.min_steps, args.min_steps);
    set(&mut config.batch_size, args.batch_size);
    set(&mut config.lr, args.lr);
    set(&mut config.weight_decay, args.weight_decay);
    set(&mut config.width, args.width);
    set(&mut config.seed, args.seed);
    if let Some(backend) = &args.backend {
        config.backend = parse(backend)?;
    }
    if let Some(stem) = &args.stem {
        config.stem = Some(parse(stem)?);
    }
    args.data.apply(&mut config.dataset)?;
    Ok(config)
}

/// Flag help that shows a pretraining setting's value in every preset, generated from the
/// preset table: "Epochs [default: 10 (micro), 5 (tiny, small), 100 (paper)]".
pub fn by_preset(help: &str, value: fn(&PretrainConfig) -> String) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = vec![];
    for preset in Preset::ALL {
        let shown = value(&PretrainConfig::preset(preset));
        match groups.iter_mut().find(|(v, _)| *v == shown) {
            Some((_, names)) => names.push(preset.name()),
            None => groups.push((shown, vec![preset.name()])),
        }
    }
    if let [(shown, _)] = groups.as_slice() {
        return format!("{help} [default: {shown}]");
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|(v, names)| format!("{v} ({})", names.join(", ")))
        .collect();
    format!("{help} [default: {}]", parts.join(", "))
}
