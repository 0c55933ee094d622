//! Where a configuration comes from, in order: a preset (or the run folder when resuming),
//! then a configuration file, then flags. Written once for every subcommand that trains.

use crate::args::parse;
use crate::commands::experiment::ExperimentArgs;
use crate::commands::pretrain::PretrainArgs;
use crate::commands::supervised::{ClassifierArgs, SupervisedArgs};
use anyhow::Result;
use simclr::eval::probing::check_fraction;
use simclr::eval::supervised::SupervisedConfig;
use simclr::experiment::{ExperimentConfig, ExperimentPreset};
use simclr::train::config::{Preset, PretrainConfig};
use simclr::train::resume;
use simclr::train::run_dir::RunDir;
use simclr::train::settings::{apply_file, layer_json, set, switch_named_optimizer};
use std::path::Path;

/// The preset of a fresh `pretrain` without `--preset`.
pub const DEFAULT_PRESET: Preset = Preset::Paper;

/// A TOML or JSON configuration file, parsed.
fn read_file(path: &Path) -> simclr::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| simclr::Error::io(path, e))?;
    let invalid = |format: &str, why: &dyn std::fmt::Display| simclr::Error::ConfigFile {
        path: path.to_path_buf(),
        message: format!("invalid {format}: {why}"),
    };
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| invalid("JSON", &e))
    } else {
        toml::from_str(&text).map_err(|e| invalid("TOML", &e))
    }
}

/// The configuration from run folder (on resume), preset, file and flags, in that order.
pub fn pretrain_config(args: &PretrainArgs, run: &RunDir) -> Result<PretrainConfig> {
    let saved = resume::saved_config(run, &resume::PRETRAIN, args.resume)?;
    let mut config = match saved {
        Some(saved) => saved,
        None => PretrainConfig::preset(match &args.preset {
            Some(p) => parse::<Preset>(p)?,
            None => DEFAULT_PRESET,
        }),
    };
    if let Some(file) = &args.config {
        config = apply_file(&config, read_file(file)?, file)?;
    }
    args.data.apply(&mut config.dataset)?;
    let config = args.overlay()?.apply(config);
    config.validate()?;
    Ok(config)
}

/// The study's configuration from preset, file and flags, in that order.
pub fn experiment_config(args: &ExperimentArgs) -> Result<ExperimentConfig> {
    let preset: ExperimentPreset = parse(&args.preset)?;
    let mut config = ExperimentConfig::preset(preset);
    if let Some(file) = &args.config {
        let overlay = read_file(file)?;
        switch_named_optimizer(
            &mut config.pretrain.optimizer,
            &overlay,
            "/pretrain/optimizer/kind",
        )?;
        config = layer_json(&config, overlay, file)?;
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
    let shape = |mut config: SupervisedConfig| {
        set(&mut config.width, args.width);
        if let Some(stem) = &args.stem {
            config.stem = Some(parse(stem)?);
        }
        Ok(config)
    };
    classifier_config(&args.training, run, SupervisedConfig::default(), shape)
}

/// A fine-tuning run's configuration: the run folder's when resuming, else the recipe
/// from the encoder `start_from`, with the flags laid over it.
pub fn finetune_config(
    args: &ClassifierArgs,
    start_from: &Path,
    run: &RunDir,
) -> Result<SupervisedConfig> {
    let saved = resume::saved_config::<SupervisedConfig>(run, &resume::SUPERVISED, args.resume)?;
    // The encoder file is read for its shape only when the run starts.
    let fresh = match saved {
        Some(_) => SupervisedConfig::finetune_recipe(),
        None => SupervisedConfig::finetune(start_from)?,
    };
    let encoder = |mut config: SupervisedConfig| {
        config.start_from = Some(start_from.to_path_buf());
        Ok(config)
    };
    classifier_config(args, run, fresh, encoder)
}

/// The saved configuration (checked against the flags) or `fresh`, with the training
/// flags and `shape` (the network's flags) laid over it.
fn classifier_config(
    args: &ClassifierArgs,
    run: &RunDir,
    fresh: SupervisedConfig,
    shape: impl Fn(SupervisedConfig) -> Result<SupervisedConfig>,
) -> Result<SupervisedConfig> {
    let saved: Option<SupervisedConfig> =
        resume::saved_config(run, &resume::SUPERVISED, args.resume)?;
    match saved {
        Some(saved) => {
            let config = shape(classifier_flags(args, saved.clone())?)?;
            resume::check(run, &resume::SUPERVISED, &saved, &config)?;
            Ok(config)
        }
        None => {
            let config = shape(classifier_flags(args, fresh)?)?;
            check_fraction(config.label_fraction)?;
            Ok(config)
        }
    }
}

/// `config` with the training flags that were given laid over it.
fn classifier_flags(
    args: &ClassifierArgs,
    mut config: SupervisedConfig,
) -> Result<SupervisedConfig> {
    set(&mut config.label_fraction, args.label_fraction);
    set(&mut config.epochs, args.epochs);
    set(&mut config.min_steps, args.min_steps);
    set(&mut config.batch_size, args.batch_size);
    set(&mut config.lr, args.lr);
    set(&mut config.weight_decay, args.weight_decay);
    set(&mut config.seed, args.seed);
    if let Some(backend) = &args.backend {
        config.backend = parse(backend)?;
    }
    args.data.apply(&mut config.dataset)?;
    Ok(config)
}

/// A `--preset` help: `title`, then one indented "name: what it is" line per preset.
pub fn preset_list<'a>(
    title: &str,
    presets: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let lines: Vec<String> = presets
        .into_iter()
        .map(|(name, summary)| format!("  {name}: {summary}"))
        .collect();
    format!("{title}\n{}", lines.join("\n"))
}

/// Flag help that shows a pretraining setting's value in every preset, generated from the
/// preset table: "Epochs [default: 30 (micro), 5 (tiny, small), 23 (cifar10-hour), 100 (paper)]".
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cli, Command};
    use clap::Parser;
    use simclr::train::optim::{OptimizerConfig, OptimizerKind};
    use simclr::train::settings::PretrainOverlay;

    fn pretrain_args(flags: &[&str]) -> PretrainArgs {
        let line = ["simclr", "pretrain"].iter().chain(flags);
        match Cli::try_parse_from(line).unwrap().command {
            Command::Pretrain(args) => *args,
            other => panic!("parsed as {other:?}"),
        }
    }

    /// The command line's half of "a preset with the same choices is the same run in the
    /// terminal and the tab" (the page's half: `web/tests/app.rs`): `--preset P
    /// --optimizer O` is the library's overlay with that optimiser alone. Before the one
    /// rule, the CLI kept the preset's warm-up (small + LARS warmed up for 1 epoch, the
    /// page for 10).
    #[test]
    fn every_preset_and_optimizer_is_the_pages_run() {
        let empty = RunDir::new(tempfile::tempdir().unwrap().path().join("run"));
        for preset in Preset::ALL {
            for kind in OptimizerKind::ALL {
                let args = pretrain_args(&["--preset", preset.name(), "--optimizer", kind.name()]);
                let cli = pretrain_config(&args, &empty).unwrap();
                let flags = PretrainOverlay {
                    optimizer: Some(kind),
                    ..Default::default()
                };
                let core = flags.apply(PretrainConfig::preset(preset));
                assert_eq!(cli, core, "{preset} + {kind}");
                if kind != PretrainConfig::preset(preset).optimizer.kind {
                    assert_eq!(
                        cli.optimizer,
                        OptimizerConfig::usual(kind),
                        "{preset} + {kind}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_rate_given_with_the_switch_wins_and_zero_clears_the_step_limit() {
        let empty = RunDir::new(tempfile::tempdir().unwrap().path().join("run"));
        let args = pretrain_args(&["--optimizer", "adam", "--lr", "0.002", "--epochs", "5"]);
        let config = pretrain_config(&args, &empty).unwrap();
        assert_eq!(config.optimizer.lr, 0.002);
        assert_eq!(config.optimizer.warmup_epochs, 1.0, "Adam's usual warm-up");
        let args = pretrain_args(&["--preset", "tiny", "--max-steps", "0"]);
        assert_eq!(pretrain_config(&args, &empty).unwrap().max_steps, None);
    }
}
