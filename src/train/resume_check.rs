//! What `--resume` may and may not change about a run.
//!
//! A resumed run must end as the unbroken run would have: any setting that shapes the
//! model, the data, the batches, the augmentations or the learning-rate schedule defines
//! the run and must stay as its saved configuration has it. Settings that only say where
//! and how often things happen (the backend, the kNN monitor, kept checkpoint copies, the
//! number of devices that split the global batch and whether their BatchNorm statistics
//! are synchronised) may change.

use crate::{Error, Result};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// The pretraining settings (as `config.json` names them, a dotted prefix for a group)
/// that may change when a run is resumed.
pub const PRETRAIN_CHANGEABLE: &[&str] = &[
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
