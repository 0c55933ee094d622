//! Which dataset to load, from a kind and/or a path.

use super::synthetic::SyntheticConfig;
use super::{cifar, folder, stl10, synthetic, Dataset};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The dataset formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    /// CIFAR-10 binary batches.
    Cifar10,
    /// STL-10 binary files.
    Stl10,
    /// A folder of PNG/JPEG images.
    Folder,
    /// The built-in procedural dataset.
    Synthetic,
}

impl DatasetKind {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Cifar10 => "cifar10",
            DatasetKind::Stl10 => "stl10",
            DatasetKind::Folder => "folder",
            DatasetKind::Synthetic => "synthetic",
        }
    }

    /// Guesses the format of a path.
    pub fn infer(path: &Path) -> Result<Self> {
        if path.is_dir() {
            if path.join("train_X.bin").exists() {
                Ok(DatasetKind::Stl10)
            } else if path.join(cifar::TEST_FILE).exists()
                || path.join(cifar::TRAIN_FILES[0]).exists()
            {
                Ok(DatasetKind::Cifar10)
            } else {
                Ok(DatasetKind::Folder)
            }
        } else if path.exists() {
            if cifar::is_archive(path) || path.extension().is_some_and(|e| e == "bin") {
                Ok(DatasetKind::Cifar10)
            } else {
                Err(Error::format(
                    path,
                    "cannot tell the dataset format; name it (cifar10, stl10, folder or synthetic)",
                ))
            }
        } else {
            Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            ))
        }
    }
}

impl std::fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DatasetKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cifar10" | "cifar-10" => Ok(DatasetKind::Cifar10),
            "stl10" | "stl-10" => Ok(DatasetKind::Stl10),
            "folder" => Ok(DatasetKind::Folder),
            "synthetic" => Ok(DatasetKind::Synthetic),
            other => Err(Error::UnknownName {
                what: "dataset",
                given: other.into(),
                expected: "cifar10, stl10, folder or synthetic".into(),
            }),
        }
    }
}

/// Most images in a synthetic split (3 GB at 32 px).
pub const MAX_SYNTHETIC_IMAGES: usize = 1_000_000;

/// Everything needed to load a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSpec {
    /// The format; inferred from `path` when absent, synthetic when both are absent.
    pub kind: Option<DatasetKind>,
    /// The file or folder.
    pub path: Option<PathBuf>,
    /// Side length that folder images are resized to.
    pub image_size: usize,
    /// Keep only the first N training images.
    pub train_images: Option<usize>,
    /// Synthetic training images.
    pub synthetic_train_size: usize,
    /// Synthetic test images.
    pub synthetic_test_size: usize,
}

impl Default for DatasetSpec {
    fn default() -> Self {
        let synthetic = SyntheticConfig::default();
        Self {
            kind: None,
            path: None,
            image_size: 32,
            train_images: None,
            synthetic_train_size: synthetic.train_size,
            synthetic_test_size: synthetic.test_size,
        }
    }
}

impl DatasetSpec {
    /// The kind that will be loaded.
    pub fn resolved_kind(&self) -> Result<DatasetKind> {
        match (self.kind, &self.path) {
            (Some(kind), _) => Ok(kind),
            (None, Some(path)) => DatasetKind::infer(path),
            (None, None) => Ok(DatasetKind::Synthetic),
        }
    }

    /// Rejects sizes that would allocate without bound or leave nothing to train on.
    pub fn validate(&self) -> Result<()> {
        use crate::train::config::{MAX_IMAGE_SIZE, MIN_IMAGE_SIZE};
        Error::first_invalid([
            (
                (MIN_IMAGE_SIZE..=MAX_IMAGE_SIZE).contains(&self.image_size),
                "dataset.image_size",
                format!("must be between {MIN_IMAGE_SIZE} and {MAX_IMAGE_SIZE} pixels"),
            ),
            (
                self.train_images != Some(0),
                "dataset.train_images",
                "must be positive when set".into(),
            ),
            (
                self.synthetic_train_size <= MAX_SYNTHETIC_IMAGES
                    && self.synthetic_test_size <= MAX_SYNTHETIC_IMAGES,
                "dataset.synthetic_train_size",
                format!("synthetic splits hold at most {MAX_SYNTHETIC_IMAGES} images"),
            ),
        ])
    }

    /// Loads the dataset.
    pub fn load(&self) -> Result<Dataset> {
        self.validate()?;
        let kind = self.resolved_kind()?;
        let path = || {
            self.path.as_deref().ok_or_else(|| {
                Error::invalid("dataset.path", format!("dataset {kind} needs a path"))
            })
        };
        let mut dataset = match kind {
            DatasetKind::Cifar10 => cifar::load(path()?)?,
            DatasetKind::Stl10 => stl10::load(path()?)?,
            DatasetKind::Folder => folder::load(path()?, self.image_size)?,
            DatasetKind::Synthetic => synthetic::load(SyntheticConfig {
                train_size: self.synthetic_train_size,
                test_size: self.synthetic_test_size,
            }),
        };
        if let Some(n) = self.train_images {
            dataset.truncate_train(n);
        }
        Ok(dataset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_formats() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(DatasetKind::infer(dir.path()).unwrap(), DatasetKind::Folder);
        std::fs::write(dir.path().join("test_batch.bin"), b"").unwrap();
        assert_eq!(
            DatasetKind::infer(dir.path()).unwrap(),
            DatasetKind::Cifar10
        );
        let missing = dir.path().join("nope");
        let err = DatasetKind::infer(&missing).unwrap_err().to_string();
        assert!(err.contains("nope: no such file or folder"), "{err}");
        let spec = DatasetSpec {
            kind: Some(DatasetKind::Stl10),
            ..Default::default()
        };
        assert!(spec
            .load()
            .unwrap_err()
            .to_string()
            .contains("needs a path"));
    }

    #[test]
    fn sizes_that_allocate_are_bounded_before_loading() {
        let with = |change: fn(&mut DatasetSpec)| {
            let mut spec = DatasetSpec::default();
            change(&mut spec);
            spec.load().err().map(|e| e.to_string()).unwrap_or_default()
        };
        assert!(with(|s| s.image_size = 100_000).contains("invalid dataset.image_size"));
        assert!(with(|s| s.image_size = 0).contains("invalid dataset.image_size"));
        assert!(with(|s| s.train_images = Some(0)).contains("invalid dataset.train_images"));
        let huge = with(|s| s.synthetic_train_size = usize::MAX);
        assert!(
            huge.contains("invalid dataset.synthetic_train_size"),
            "{huge}"
        );
    }

    #[test]
    fn train_images_truncates() {
        let spec = DatasetSpec {
            train_images: Some(30),
            synthetic_train_size: 100,
            synthetic_test_size: 10,
            ..Default::default()
        };
        let data = spec.load().unwrap();
        assert_eq!(data.train.len(), 30);
        assert_eq!(data.test.len(), 10);
    }
}
