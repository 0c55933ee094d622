//! A run folder: `config.json`, `metrics.csv`, `checkpoints/last.ckpt` and periodic copies.

use crate::error::Recovery;
use crate::io::atomic::write_atomic;
use crate::train::checkpoint::CheckpointBytes;
use crate::train::config::PretrainConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A pretraining run's configuration in its folder.
pub const CONFIG_FILE: &str = "config.json";

/// One row of `metrics.csv`: the end of an epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epochs completed.
    pub epoch: usize,
    /// Steps completed.
    pub step: usize,
    /// Mean loss over the epoch.
    pub loss: f64,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// kNN top-1 accuracy, when measured.
    pub knn_top1: Option<f64>,
    /// Training throughput (augmented views per second).
    pub views_per_s: f64,
    /// Wall time of the epoch in seconds.
    pub seconds: f64,
}

/// One row of `steps.csv`: the mean loss of the steps since the previous row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepLoss {
    /// Steps completed.
    pub step: usize,
    /// Mean loss over the steps since the previous row.
    pub loss: f64,
    /// Learning rate of the last of those steps.
    pub lr: f64,
}

/// The files of one run.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The run folder at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// `metrics.csv`.
    pub fn metrics_path(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }

    /// `steps.csv`.
    pub fn steps_path(&self) -> PathBuf {
        self.root.join("steps.csv")
    }

    /// `checkpoints/last.ckpt`.
    pub fn last_checkpoint(&self) -> PathBuf {
        self.root.join("checkpoints").join("last.ckpt")
    }

    /// The run whose `checkpoints/` folder a file at `path` would land in, if any: only
    /// training writes there, and an export or embedding written over `last.ckpt` would
    /// destroy the run.
    pub fn owning_checkpoints(path: &Path) -> Option<RunDir> {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Through `..`, `.` and symlinks alike.
        let parent = parent.canonicalize().ok()?;
        if parent.file_name()? != "checkpoints" {
            return None;
        }
        let run = RunDir::new(parent.parent()?);
        run.has_run().then_some(run)
    }

    /// Removes the temporary files a killed write left in the run folder and in
    /// `checkpoints/` (`.NAME.tmp-…`, see [`write_atomic`]).
    pub fn remove_stale_temp_files(&self) -> Result<()> {
        for dir in [self.root.clone(), self.root.join("checkpoints")] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if crate::io::atomic::is_temp_name(&entry.file_name().to_string_lossy()) {
                    let path = entry.path();
                    std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                }
            }
        }
        Ok(())
    }

    /// Whether a run was started here.
    pub fn has_run(&self) -> bool {
        self.config_path().exists()
    }

    fn create(&self) -> Result<()> {
        let dir = self.root.join("checkpoints");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))
    }

    /// Saves the resolved configuration.
    pub fn save_config(&self, config: &PretrainConfig) -> Result<()> {
        self.create()?;
        self.save_json(CONFIG_FILE, config)
    }

    /// Loads the configuration saved by an earlier run.
    pub fn load_config(&self) -> Result<PretrainConfig> {
        self.load_json(CONFIG_FILE)?.ok_or_else(|| {
            let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
            Error::io(self.config_path(), missing)
        })
    }

    /// Writes `last.ckpt`, and a copy `epoch-NNNN.ckpt` when `keep_copy`.
    pub fn save_checkpoint(
        &self,
        checkpoint: &CheckpointBytes,
        epoch: usize,
        keep_copy: bool,
    ) -> Result<()> {
        self.create()?;
        let bytes = checkpoint.encode();
        write_atomic(&self.last_checkpoint(), &bytes)?;
        if keep_copy {
            write_atomic(&self.epoch_checkpoint(epoch), &bytes)?;
        }
        Ok(())
    }

    /// `checkpoints/epoch-NNNN.ckpt`, the copy kept at the end of `epoch`.
    pub fn epoch_checkpoint(&self, epoch: usize) -> PathBuf {
        self.root
            .join("checkpoints")
            .join(format!("epoch-{epoch:04}.ckpt"))
    }

    /// Writes the copy of `epoch` from `last.ckpt` when it is missing.
    pub fn restore_copy(&self, epoch: usize) -> Result<()> {
        let copy = self.epoch_checkpoint(epoch);
        if copy.exists() {
            return Ok(());
        }
        let last = self.last_checkpoint();
        let bytes = std::fs::read(&last).map_err(|e| Error::io(&last, e))?;
        write_atomic(&copy, &bytes)
    }

    /// Reads `last.ckpt`. When it is damaged, the error names the latest kept copy that is
    /// intact, to copy over it.
    pub fn load_checkpoint(&self) -> Result<CheckpointBytes> {
        let path = self.last_checkpoint();
        read_checkpoint(&path).map_err(|err| match err {
            // Damaged contents: only then are the kept copies read, to name a good one.
            Error::Checkpoint { path, problem, .. } if problem.is_damage() => {
                let recovery = match self.latest_intact_copy() {
                    Some((epoch, copy)) => Recovery::IntactCopy { epoch, copy },
                    None => Recovery::StartAgain,
                };
                Error::Checkpoint {
                    path,
                    problem,
                    recovery,
                }
            }
            other => other,
        })
    }

    /// The kept `epoch-NNNN.ckpt` of the latest epoch that reads back whole.
    fn latest_intact_copy(&self) -> Option<(usize, PathBuf)> {
        let entries = std::fs::read_dir(self.root.join("checkpoints")).ok()?;
        let mut copies: Vec<(usize, PathBuf)> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let epoch = name.strip_prefix("epoch-")?.strip_suffix(".ckpt")?;
                Some((epoch.parse().ok()?, entry.path()))
            })
            .collect();
        copies.sort();
        copies
            .into_iter()
            .rev()
            .find(|(_, path)| read_checkpoint(path).is_ok())
    }

    /// Rewrites `metrics.csv` with these rows.
    pub fn save_metrics(&self, rows: &[EpochMetrics]) -> Result<()> {
        self.create()?;
        save_rows(&self.metrics_path(), rows)
    }

    /// Reads `metrics.csv` (empty when absent).
    pub fn load_metrics(&self) -> Result<Vec<EpochMetrics>> {
        load_rows(&self.metrics_path())
    }

    /// Rewrites `steps.csv` with these rows.
    pub fn save_steps(&self, rows: &[StepLoss]) -> Result<()> {
        self.create()?;
        save_rows(&self.steps_path(), rows)
    }

    /// Reads `steps.csv` (empty when absent).
    pub fn load_steps(&self) -> Result<Vec<StepLoss>> {
        load_rows(&self.steps_path())
    }

    /// Writes `value` as pretty JSON to `name` in the folder, atomically.
    pub fn save_json<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        std::fs::create_dir_all(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let json = serde_json::to_vec_pretty(value).map_err(|e| Error::encode("JSON", e))?;
        write_atomic(&self.root.join(name), &json)
    }

    /// Reads the JSON file `name` in the folder; `None` when it does not exist.
    pub fn load_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        let path = self.root.join(name);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::format(&path, e.to_string()))
    }
}

fn read_checkpoint(path: &Path) -> Result<CheckpointBytes> {
    let (file, len) = crate::io::input::open_regular(path, "a checkpoint file")?;
    let bytes = crate::io::input::read_up_to(file, len, path)?;
    CheckpointBytes::decode(&bytes, path)
}

/// A record that is one line of a CSV file.
trait CsvRow: Sized {
    const HEADER: &'static str;
    fn to_line(&self) -> String;
    fn from_fields(fields: &[&str]) -> Option<Self>;
}

impl CsvRow for EpochMetrics {
    const HEADER: &'static str = "epoch,step,loss,lr,knn_top1,views_per_s,seconds";

    fn to_line(&self) -> String {
        let knn = self.knn_top1.map(|v| format!("{v:.4}")).unwrap_or_default();
        format!(
            "{},{},{:.6},{:.6e},{knn},{:.1},{:.2}",
            self.epoch, self.step, self.loss, self.lr, self.views_per_s, self.seconds
        )
    }

    fn from_fields(f: &[&str]) -> Option<Self> {
        let [epoch, step, loss, lr, knn, views, seconds] = f else {
            return None;
        };
        Some(Self {
            epoch: epoch.parse().ok()?,
            step: step.parse().ok()?,
            loss: loss.parse().ok()?,
            lr: lr.parse().ok()?,
            knn_top1: if knn.is_empty() {
                None
            } else {
                Some(knn.parse().ok()?)
            },
            views_per_s: views.parse().ok()?,
            seconds: seconds.parse().ok()?,
        })
    }
}

impl CsvRow for StepLoss {
    const HEADER: &'static str = "step,loss,lr";

    fn to_line(&self) -> String {
        format!("{},{:.6},{:.6e}", self.step, self.loss, self.lr)
    }

    fn from_fields(f: &[&str]) -> Option<Self> {
        let [step, loss, lr] = f else { return None };
        Some(Self {
            step: step.parse().ok()?,
            loss: loss.parse().ok()?,
            lr: lr.parse().ok()?,
        })
    }
}

fn save_rows<T: CsvRow>(path: &Path, rows: &[T]) -> Result<()> {
    let mut text = format!("{}\n", T::HEADER);
    for row in rows {
        text.push_str(&row.to_line());
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())
}

fn load_rows<T: CsvRow>(path: &Path) -> Result<Vec<T>> {
    if !path.exists() {
        return Ok(vec![]);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            T::from_fields(&fields)
                .ok_or_else(|| Error::format(path, format!("line {} is malformed", i + 1)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path().join("run"));
        let rows = vec![
            EpochMetrics {
                epoch: 1,
                step: 10,
                loss: 5.25,
                lr: 0.001,
                knn_top1: Some(0.5),
                views_per_s: 100.0,
                seconds: 2.5,
            },
            EpochMetrics {
                epoch: 2,
                step: 20,
                loss: 5.0,
                lr: 0.0005,
                knn_top1: None,
                views_per_s: 110.0,
                seconds: 2.25,
            },
        ];
        run.save_metrics(&rows).unwrap();
        assert_eq!(run.load_metrics().unwrap(), rows);
        let steps = vec![
            StepLoss {
                step: 10,
                loss: 4.5,
                lr: 1e-3,
            },
            StepLoss {
                step: 12,
                loss: 4.25,
                lr: 5e-4,
            },
        ];
        run.save_steps(&steps).unwrap();
        assert_eq!(run.load_steps().unwrap(), steps);
        std::fs::write(
            run.metrics_path(),
            format!("{}\n1,2,x\n", EpochMetrics::HEADER),
        )
        .unwrap();
        let err = run.load_metrics().unwrap_err().to_string();
        assert!(err.ends_with("metrics.csv: line 2 is malformed"), "{err}");
    }
}
