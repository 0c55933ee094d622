//! Messages between the page and the training worker.

use serde::{Deserialize, Serialize};
use simclr::eval::map_method::MapMethod;
use simclr::eval::probing::ProbeResult;
use simclr::eval::supervised_task::SupervisedResult;

pub use crate::settings::{ComputeChoice, RunSettings};

/// A file as the page read it: its name and bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileBytes {
    /// File name (no folder).
    pub name: String,
    /// Its contents.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// The embeddings file formats offered for download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmbeddingFormat {
    /// NumPy `.npy`, float32 `[images, features]`, with labels in a second file.
    Npy,
    /// CSV: `label,h0,h1,...` per test image.
    Csv,
}

/// What the page asks of the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Train with these settings (the worker picks the backend).
    Start(RunSettings),
    /// Hold training after the current step.
    Pause,
    /// Go on after a pause.
    Resume,
    /// End training after the current step; the model is kept.
    Stop,
    /// Use these dataset files instead of the synthetic images (previewed with the
    /// page's settings).
    LoadData(Vec<FileBytes>, RunSettings),
    /// Go back to the built-in synthetic images, made to the page's settings.
    UseSynthetic(RunSettings),
    /// Shows the dataset's sample grid and a fresh pair of augmented views.
    Preview(RunSettings),
    /// Linear probes of the trained and a random encoder at this label fraction.
    Probe {
        /// Share of the labelled training images the probe trains on.
        label_fraction: f64,
        /// The run's settings (the random encoder is built from them).
        settings: RunSettings,
    },
    /// Fine-tune the encoder with a linear classifier end to end on this share of the
    /// labels (Stop ends it early; the network so far is tested).
    FineTune {
        /// Share of the labelled training images to train on.
        label_fraction: f64,
        /// The run's settings (batch size and seed).
        settings: RunSettings,
    },
    /// A 2-D map (t-SNE or UMAP) of up to this many test images' features.
    Map {
        /// Points to embed.
        points: usize,
        /// How to draw it.
        method: MapMethod,
    },
    /// The trained encoder as safetensors.
    ExportEncoder,
    /// Use this safetensors encoder (from `simclr export` or this page), on this backend.
    ImportEncoder {
        /// The weights file.
        file: FileBytes,
        /// Where to hold and run it.
        compute: ComputeChoice,
    },
    /// The test images' features `h`.
    ExportEmbeddings(EmbeddingFormat),
}

/// What the dataset in use looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// Short name (`synthetic`, `cifar10`, `stl10`).
    pub name: String,
    /// Training images: in the files, or made for the settings (`generated`).
    pub train: usize,
    /// Test images: in the files, or made for the settings.
    pub test: usize,
    /// The synthetic set, generated at the settings' image counts (uploaded files are
    /// cut to them when a run starts).
    pub generated: bool,
    /// Image side in pixels.
    pub side: usize,
    /// Class names.
    pub classes: Vec<String>,
}

/// One probe comparison: the trained encoder against a random one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeComparison {
    /// The trained (or loaded) encoder.
    pub trained: ProbeResult,
    /// A randomly initialised encoder of the same shape.
    pub random: ProbeResult,
    /// Class names, for the confusion matrices.
    pub classes: Vec<String>,
}

/// A 2-D map of the test embeddings with thumbnails of its images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingMap {
    /// "t-SNE" or "UMAP".
    pub method: String,
    /// One `[x, y]` per image.
    pub points: Vec<[f64; 2]>,
    /// Class of each point.
    pub labels: Vec<u8>,
    /// Class names.
    pub classes: Vec<String>,
    /// The points' images as one PNG sheet, `columns` per row, point `k` in cell `k`.
    #[serde(with = "serde_bytes")]
    pub sprite_png: Vec<u8>,
    /// Cells per row of the sheet.
    pub columns: usize,
    /// Image side in pixels.
    pub side: usize,
    /// 2-D nearest-neighbour accuracy of the map.
    pub neighbour_accuracy: f64,
}

/// A fine-tuned network's test result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FineTuned {
    /// Accuracy, labelled images and steps.
    pub result: SupervisedResult,
    /// Whether Stop ended it before its last step.
    pub stopped: bool,
}

/// What the worker reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The compute backend in use, in words (e.g. "WebGPU: SwiftShader").
    Backend(String),
    /// The dataset now in use.
    Data(DataSummary),
    /// A PNG grid of sample images.
    Samples(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A PNG of (image, view 1, view 2) rows.
    Pairs(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Mean loss of the steps since the last report.
    Progress {
        /// Steps done.
        step: usize,
        /// Steps in the run.
        total: usize,
        /// Epochs done.
        epoch: usize,
        /// Mean loss.
        loss: f64,
        /// Learning rate of the last step.
        lr: f64,
        /// Augmented views per second.
        views_per_s: f64,
    },
    /// An epoch ended.
    Epoch {
        /// Epochs done.
        epoch: usize,
        /// kNN top-1 accuracy on the test images, when they have labels.
        knn: Option<f64>,
    },
    /// Training is held.
    Paused,
    /// Training goes on.
    Resumed,
    /// Training ended; the model is kept.
    Done {
        /// Steps done.
        step: usize,
        /// Whether Stop ended it before its last step.
        stopped: bool,
    },
    /// Probe results.
    Probe(ProbeComparison),
    /// Where fine-tuning stands.
    FineTuning {
        /// Steps done.
        step: usize,
        /// Steps planned.
        total: usize,
        /// Mean loss since the last report.
        loss: f64,
    },
    /// Fine-tuning ended and the network was tested.
    FineTuned(FineTuned),
    /// A map of the test embeddings.
    Map(EmbeddingMap),
    /// A file for the page to offer as a download.
    Download(FileBytes),
    /// An encoder was loaded from a file (its description).
    EncoderLoaded(String),
    /// A step of the current task, in words (for the page's status line).
    Working(String),
    /// Something failed; the text says what to do.
    Error(String),
}
