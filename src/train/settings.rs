//! The one way a pretraining configuration is made from a starting point (a preset or a
//! saved run) and the settings a person changed, whether they came as command-line flags,
//! a configuration file or the page's fields. The CLI and the page both call
//! [`PretrainOverlay::apply`] and [`apply_file`], so a preset with the same changes is the
//! same run in the terminal and in the browser tab.
//!
//! The rules, in the order they apply:
//! 1. Switching the optimiser to another family takes that family's usual rate, weight
//!    decay, momentum and warm-up ([`OptimizerConfig::switched_to`]).
//! 2. Every setting given then replaces the base's (a rate given with the switch wins).
//! 3. A warm-up that lasts the whole run is allowed but reported ([`advisories`]).

use crate::backend::BackendKind;
use crate::model::Stem;
use crate::train::config::PretrainConfig;
use crate::train::optim::{OptimizerConfig, OptimizerKind};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Settings laid over a base configuration; each one that is set replaces the base's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PretrainOverlay {
    /// Optimiser family (rule 1 when it differs from the base's).
    pub optimizer: Option<OptimizerKind>,
    /// Base learning rate.
    pub lr: Option<f64>,
    /// Weight decay.
    pub weight_decay: Option<f64>,
    /// Linear warm-up in epochs.
    pub warmup_epochs: Option<f64>,
    /// Epochs.
    pub epochs: Option<usize>,
    /// Step limit; 0 runs every epoch's steps.
    pub max_steps: Option<usize>,
    /// Images per batch.
    pub batch_size: Option<usize>,
    /// Encoder base width.
    pub width: Option<usize>,
    /// Encoder stem.
    pub stem: Option<Stem>,
    /// Side of the augmented views; 0 keeps the images' own.
    pub image_size: Option<usize>,
    /// NT-Xent temperature.
    pub temperature: Option<f64>,
    /// Colour jitter strength.
    pub color_jitter_strength: Option<f64>,
    /// Gaussian blur.
    pub blur: Option<bool>,
    /// Seed of every random stream.
    pub seed: Option<u64>,
    /// kNN monitor period in epochs.
    pub knn_every: Option<usize>,
    /// Checkpoint copy period in epochs.
    pub checkpoint_every: Option<usize>,
    /// Compute backend.
    pub backend: Option<BackendKind>,
    /// Data-parallel peers.
    pub devices: Option<usize>,
    /// Synchronised BatchNorm.
    pub sync_batch_norm: Option<bool>,
}

/// `value` into `target` when set: how every overlay of optional settings is laid on.
pub fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}

impl PretrainOverlay {
    /// `base` with these settings laid over it (rules 1 and 2). Not validated: the caller
    /// validates once every layer is on.
    pub fn apply(&self, mut base: PretrainConfig) -> PretrainConfig {
        if let Some(kind) = self.optimizer {
            base.optimizer = base.optimizer.switched_to(kind);
        }
        let o = &mut base.optimizer;
        set(&mut o.lr, self.lr);
        set(&mut o.weight_decay, self.weight_decay);
        set(&mut o.warmup_epochs, self.warmup_epochs);
        set(&mut base.epochs, self.epochs);
        if let Some(steps) = self.max_steps {
            base.max_steps = (steps > 0).then_some(steps);
        }
        set(&mut base.batch_size, self.batch_size);
        set(&mut base.width, self.width);
        if self.stem.is_some() {
            base.stem = self.stem;
        }
        if let Some(side) = self.image_size {
            base.image_size = (side > 0).then_some(side);
        }
        set(&mut base.temperature, self.temperature);
        set(&mut base.color_jitter_strength, self.color_jitter_strength);
        if self.blur.is_some() {
            base.blur = self.blur;
        }
        set(&mut base.seed, self.seed);
        set(&mut base.knn_every, self.knn_every);
        set(&mut base.checkpoint_every, self.checkpoint_every);
        set(&mut base.backend, self.backend);
        set(&mut base.devices, self.devices);
        set(&mut base.sync_batch_norm, self.sync_batch_norm);
        base
    }

    /// Whether no setting is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

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

/// `base` with the keys of a configuration file (already parsed, in `config.json`'s
/// layout) laid over it, rule 1 included: a file that names another optimiser kind starts
/// from that family's usual settings. A key that no setting has is refused by name, since
/// a misspelt key would otherwise leave the run on the value the user meant to change.
pub fn apply_file(
    base: &PretrainConfig,
    file: serde_json::Value,
    origin: &std::path::Path,
) -> Result<PretrainConfig> {
    let mut base = base.clone();
    switch_named_optimizer(&mut base.optimizer, &file, "/optimizer/kind")?;
    layer_json(&base, file, origin)
}

/// Rule 1 for a file: `optimizer` switched to the kind the file names at `pointer` (a JSON
/// pointer, "/pretrain/optimizer/kind" in a study's file), before the file's other keys.
pub fn switch_named_optimizer(
    optimizer: &mut OptimizerConfig,
    file: &serde_json::Value,
    pointer: &str,
) -> Result<()> {
    if let Some(kind) = file.pointer(pointer).and_then(|k| k.as_str()) {
        let kind: OptimizerKind = kind.parse()?;
        *optimizer = optimizer.clone().switched_to(kind);
    }
    Ok(())
}

/// `base` with a JSON document laid over it key by key, refusing keys `T` does not have.
pub fn layer_json<T>(base: &T, overlay: serde_json::Value, origin: &std::path::Path) -> Result<T>
where
    T: Serialize + serde::de::DeserializeOwned,
{
    let format = |message: String| Error::ConfigFile {
        path: origin.to_path_buf(),
        message,
    };
    let mut value = serde_json::to_value(base).map_err(|e| format(e.to_string()))?;
    merge(&mut value, overlay);
    let mut unknown = Vec::new();
    let layered = serde_ignored::deserialize(value, |key| unknown.push(format!("`{key}`")))
        .map_err(|e| format(format!("invalid configuration: {e}")))?;
    if !unknown.is_empty() {
        return Err(format(format!(
            "unknown key{} {} (the keys are those of a run's config.json)",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", ")
        )));
    }
    Ok(layered)
}

/// A configuration that runs but probably not as meant; shown before the run starts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Advisory {
    /// The learning rate never reaches its peak.
    #[error(
        "the warm-up ({warmup} epochs) lasts the whole run ({epochs} epochs), so the learning \
         rate never reaches its peak; a shorter warm-up (--warmup-epochs) trains faster"
    )]
    WarmupCoversRun {
        /// Warm-up epochs.
        warmup: f64,
        /// Epochs of the run.
        epochs: usize,
    },
}

/// What in `config` will run but probably not as meant.
pub fn advisories(config: &PretrainConfig) -> Vec<Advisory> {
    let mut found = Vec::new();
    let warmup = config.optimizer.warmup_epochs;
    // A one-epoch smoke run ramping over its only epoch is the usual quick check, not a
    // mistake worth a word.
    if config.epochs > 1 && warmup >= config.epochs as f64 {
        found.push(Advisory::WarmupCoversRun {
            warmup,
            epochs: config.epochs,
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::config::Preset;
    use std::path::Path;

    #[test]
    fn switching_family_takes_its_usual_settings_and_given_ones_win() {
        for preset in Preset::ALL {
            for kind in OptimizerKind::ALL {
                let base = PretrainConfig::preset(preset);
                let same = base.optimizer.kind == kind;
                let switched = PretrainOverlay {
                    optimizer: Some(kind),
                    ..Default::default()
                }
                .apply(base.clone());
                let expected = if same {
                    base.optimizer.clone()
                } else {
                    OptimizerConfig::usual(kind)
                };
                assert_eq!(switched.optimizer, expected, "{preset} → {kind}");
                let given = PretrainOverlay {
                    optimizer: Some(kind),
                    lr: Some(0.25),
                    warmup_epochs: Some(0.5),
                    ..Default::default()
                }
                .apply(base);
                assert_eq!(
                    (given.optimizer.lr, given.optimizer.warmup_epochs),
                    (0.25, 0.5)
                );
                assert_eq!(given.optimizer.kind, kind);
            }
        }
    }

    #[test]
    fn the_issue_run_no_longer_warms_up_past_its_end() {
        // `pretrain --optimizer adam --lr 0.001 --epochs 5` on the paper preset kept LARS's
        // 10 warm-up epochs.
        let config = PretrainOverlay {
            optimizer: Some(OptimizerKind::Adam),
            lr: Some(1e-3),
            epochs: Some(5),
            ..Default::default()
        }
        .apply(PretrainConfig::preset(Preset::Paper));
        assert_eq!(config.optimizer.warmup_epochs, 1.0);
        assert!(advisories(&config).is_empty());
        let long = PretrainOverlay {
            epochs: Some(5),
            ..Default::default()
        }
        .apply(PretrainConfig::preset(Preset::Paper));
        assert_eq!(
            advisories(&long),
            [Advisory::WarmupCoversRun {
                warmup: 10.0,
                epochs: 5
            }]
        );
    }

    #[test]
    fn zero_clears_the_step_limit_and_the_view_size() {
        let base = PretrainConfig {
            max_steps: Some(7),
            image_size: Some(24),
            ..PretrainConfig::preset(Preset::Tiny)
        };
        let cleared = PretrainOverlay {
            max_steps: Some(0),
            image_size: Some(0),
            ..Default::default()
        }
        .apply(base.clone());
        assert_eq!((cleared.max_steps, cleared.image_size), (None, None));
        assert_eq!(PretrainOverlay::default().apply(base.clone()), base);
    }

    #[test]
    fn a_file_switches_family_by_the_same_rule_and_refuses_unknown_keys() {
        let base = PretrainConfig::preset(Preset::Small);
        let file = serde_json::json!({"optimizer": {"kind": "lars"}, "epochs": 20});
        let from_file = apply_file(&base, file, Path::new("f.toml")).unwrap();
        let from_flags = PretrainOverlay {
            optimizer: Some(OptimizerKind::Lars),
            epochs: Some(20),
            ..Default::default()
        }
        .apply(base.clone());
        assert_eq!(from_file, from_flags);
        let typo = serde_json::json!({"epoch": 3, "optimizer": {"lr": 0.1}});
        let err = apply_file(&base, typo, Path::new("f.toml")).unwrap_err();
        assert!(
            matches!(&err, Error::ConfigFile { path, message } if path == Path::new("f.toml") && message.contains("`epoch`")),
            "{err}"
        );
    }
}
