//! The resume contract, in one place: which folder state a command may start from, what
//! defines a run (and so may not change when it resumes, nor differ between the nodes of
//! one run), and how a run folder is taken over: its lock, its checkpoint, its kept copy
//! and its rows.
//!
//! A resumed run must end as the unbroken run would have: any setting that shapes the
//! model, the data, the batches, the augmentations or the learning-rate schedule defines
//! the run and must stay as its saved configuration has it. Settings that only say where
//! and how often things happen (the backend, the kNN monitor, kept checkpoint copies, the
//! number of devices that split the global batch and whether their BatchNorm statistics
//! are synchronised) may change.

use crate::data::Dataset;
use crate::train::config::PretrainConfig;
use crate::train::run_dir::{EpochMetrics, RunDir, StepLoss};
#[cfg(not(target_arch = "wasm32"))]
use crate::train::run_lock::RunLock;
use crate::train::session::Position;
#[cfg(not(target_arch = "wasm32"))]
use crate::train::session::{Session, TrainingTask};
use crate::{Error, Result};
#[cfg(not(target_arch = "wasm32"))]
use burn::tensor::backend::AutodiffBackend;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// A kind of run folder: its configuration file and what may change when it resumes.
#[derive(Debug, Clone, Copy)]
pub struct RunKind {
    /// The configuration file in the folder.
    pub file: &'static str,
    /// The run in words, for messages ("a run", "a supervised run").
    pub what: &'static str,
    /// The settings (dotted prefixes) that may change on resume.
    pub changeable: &'static [&'static str],
}

/// A pretraining run (`simclr pretrain`, a study's pretraining phase).
pub const PRETRAIN: RunKind = RunKind {
    file: crate::train::run_dir::CONFIG_FILE,
    what: "a run",
    changeable: PRETRAIN_CHANGEABLE,
};

/// A supervised baseline run: only where it computes may change.
#[cfg(not(target_arch = "wasm32"))]
pub const SUPERVISED: RunKind = RunKind {
    file: crate::eval::supervised::CONFIG_FILE,
    what: "a supervised run",
    changeable: &["backend"],
};

/// A study (`simclr experiment`): its finished phases are reused, so only where it
/// computes and how pretraining is monitored may change.
#[cfg(not(target_arch = "wasm32"))]
pub const STUDY: RunKind = RunKind {
    file: crate::experiment::phases::EXPERIMENT_FILE,
    what: "a study",
    changeable: &[
        "pretrain.backend",
        "pretrain.knn",
        "pretrain.knn_every",
        "pretrain.checkpoint_every",
        "supervised.backend",
        "finetune.backend",
    ],
};

/// Settings that may change between invocations of a run but on which every node of one
/// invocation must agree (they split the global batch).
const NODES_AGREE_ON: &[&str] = &["devices", "sync_batch_norm"];

/// The configuration a new invocation in `run` builds on: the run's own when resuming a
/// folder that holds one, `None` for a fresh run, and also for `--resume` where no run has
/// started yet (killed before its first write: the same command continues a run whenever
/// it was killed). A fresh invocation into a folder that holds a run is refused.
pub fn saved_config<T: DeserializeOwned>(
    run: &RunDir,
    kind: &RunKind,
    resume: bool,
) -> Result<Option<T>> {
    let saved = run.load_json::<T>(kind.file)?;
    if saved.is_some() && !resume {
        return Err(Error::RunExists {
            folder: run.root().to_path_buf(),
            what: kind.what,
        });
    }
    Ok(saved)
}

/// Refuses to resume the run saved in `run` as `saved` with `new` settings that change
/// what defines it.
pub fn check<T: Serialize>(run: &RunDir, kind: &RunKind, saved: &T, new: &T) -> Result<()> {
    check_resume(saved, new, kind.changeable, &run.root().join(kind.file))
}

/// Takes the run folder's lock (see [`RunLock`]), runs `check` on the folder it now owns
/// (the settings against the saved ones: before any state is restored, so that a changed
/// setting is named as such rather than as a checkpoint that does not fit), and, when
/// resuming, restores `session` from the folder: stale temporary files removed,
/// `last.ckpt` restored with the rows up to it, a kept copy the kill interrupted written.
/// The lock is returned: hold it until the session is done.
#[cfg(not(target_arch = "wasm32"))]
pub fn take_over<B: AutodiffBackend, T: TrainingTask<B>>(
    session: &mut Session<B, T>,
    run: &RunDir,
    resume: bool,
    check: impl FnOnce() -> Result<()>,
) -> Result<RunLock> {
    // Before anything in the folder is read or removed: the temporary files below may be
    // another live process's writes.
    let lock = RunLock::acquire(run.root())?;
    check()?;
    if !resume {
        return Ok(lock);
    }
    run.remove_stale_temp_files()?;
    if !run.last_checkpoint().exists() {
        // Stopped or killed before its first checkpoint: nothing of it was kept (the
        // metrics are rewritten from the session at the first epoch's end), so it starts
        // over.
        return Ok(lock);
    }
    let checkpoint = run.load_checkpoint()?;
    let (metrics, steps) = (run.load_metrics()?, run.load_steps()?);
    session.resume(checkpoint, &run.last_checkpoint(), metrics, steps)?;
    if session.keep_checkpoint() {
        // Killed while copying the kept checkpoint: `last.ckpt` is that epoch's.
        run.restore_copy(session.position().epoch)?;
    }
    Ok(lock)
}

/// The rows a resumed run keeps: those up to its checkpoint's `position`. Rows are
/// written before the checkpoint, so a kill between the writes leaves rows past it, which
/// the resumed run writes again.
pub fn rows_up_to(position: Position, metrics: &mut Vec<EpochMetrics>, curve: &mut Vec<StepLoss>) {
    metrics.retain(|m| m.epoch <= position.epoch);
    curve.retain(|s| s.step <= position.step);
}

/// What every node of a run must agree on before it starts: the settings that define the
/// run (one checksum) and those the nodes split the batch by, a few also by name so that a
/// difference can be named.
pub fn node_settings(config: &PretrainConfig, dataset: &Dataset) -> Vec<(&'static str, u64)> {
    let mut leaves = vec![];
    flatten(
        "",
        &serde_json::to_value(config).unwrap_or(Value::Null),
        &mut leaves,
    );
    let shared: Vec<String> = leaves
        .into_iter()
        .filter(|(key, _)| {
            !is_changeable(key, PRETRAIN.changeable) || NODES_AGREE_ON.contains(&key.as_str())
        })
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    vec![
        ("seed", config.seed),
        ("width", config.width as u64),
        ("batch_size", config.batch_size as u64),
        ("devices", config.devices as u64),
        ("training images", dataset.train.len() as u64),
        (
            "configuration checksum",
            crc32fast::hash(shared.join("\n").as_bytes()) as u64,
        ),
    ]
}

/// The pretraining settings (as `config.json` names them, a dotted prefix for a group)
/// that may change when a run is resumed.
const PRETRAIN_CHANGEABLE: &[&str] = &[
    "backend",
    "knn",
    "knn_every",
    "checkpoint_every",
    "devices",
    "sync_batch_norm",
];

/// The settings not in `changeable` that differ between `saved` and `new`, one
/// "name: saved → new" line each, in the saved file's order.
pub fn defining_changes<T: Serialize>(saved: &T, new: &T, changeable: &[&str]) -> Vec<String> {
    let (mut before, mut after) = (vec![], vec![]);
    flatten(
        "",
        &serde_json::to_value(saved).unwrap_or(Value::Null),
        &mut before,
    );
    flatten(
        "",
        &serde_json::to_value(new).unwrap_or(Value::Null),
        &mut after,
    );
    let value_of = |list: &[(String, String)], key: &str| {
        list.iter()
            .find(|(k, _)| k == key)
            .map_or_else(|| "(unset)".to_string(), |(_, v)| v.clone())
    };
    let mut keys: Vec<&String> = before.iter().map(|(k, _)| k).collect();
    let added: Vec<&String> = after
        .iter()
        .map(|(k, _)| k)
        .filter(|k| !before.iter().any(|(b, _)| b == *k))
        .collect();
    keys.extend(added);
    keys.into_iter()
        .filter(|key| !is_changeable(key, changeable))
        .filter_map(|key| {
            let (was, now) = (value_of(&before, key), value_of(&after, key));
            (was != now).then(|| format!("{key}: {was} → {now}"))
        })
        .collect()
}

/// Refuses to resume the run whose configuration was saved at `path` with settings
/// (other than `changeable`) that change what defines it.
pub fn check_resume<T: Serialize>(
    saved: &T,
    new: &T,
    changeable: &[&str],
    path: &Path,
) -> Result<()> {
    let changes = defining_changes(saved, new, changeable);
    if changes.is_empty() {
        return Ok(());
    }
    Err(Error::ResumeChanged {
        path: path.to_path_buf(),
        changes,
        changeable: changeable.join(", "),
    })
}

fn is_changeable(key: &str, changeable: &[&str]) -> bool {
    changeable
        .iter()
        .any(|c| key == *c || key.strip_prefix(c).is_some_and(|r| r.starts_with('.')))
}

/// Every leaf of `value` as ("a.b.c", its JSON text); `null` leaves are left out, so an
/// absent optional setting and an unset one compare equal.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, child, out);
            }
        }
        Value::Null => {}
        leaf => out.push((prefix.to_string(), leaf.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendKind;
    use crate::train::config::{Preset, PretrainConfig};

    #[test]
    fn defining_settings_are_listed_and_the_others_may_change() {
        let saved = PretrainConfig::preset(Preset::Tiny);
        let mut new = saved.clone();
        new.backend = BackendKind::Wgpu;
        new.knn_every = 7;
        new.knn.k = 3;
        new.checkpoint_every = 1;
        assert!(check_resume(&saved, &new, PRETRAIN_CHANGEABLE, Path::new("config.json")).is_ok());

        new.width = 16;
        new.optimizer.lr *= 10.0;
        new.dataset.path = Some("other".into());
        new.max_steps = Some(5);
        let changes = defining_changes(&saved, &new, PRETRAIN_CHANGEABLE);
        let lr = format!(
            "optimizer.lr: {} → {}",
            saved.optimizer.lr, new.optimizer.lr
        );
        for expected in [
            "dataset.path: (unset) → \"other\"",
            "width: 8 → 16",
            &lr,
            "max_steps: (unset) → 5",
        ] {
            assert!(
                changes.iter().any(|c| c == expected),
                "{expected} in {changes:?}"
            );
        }
        assert_eq!(changes.len(), 4, "{changes:?}");
        let path = Path::new("run/config.json");
        let err = check_resume(&saved, &new, PRETRAIN_CHANGEABLE, path).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("run/config.json: "), "{text}");
        assert!(text.contains("width: 8 → 16"), "{text}");
    }
}
