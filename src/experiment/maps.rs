//! 2-D maps of `h` (t-SNE and UMAP) for the study and `simclr tsne`: the stratified
//! points, the features, the method, the 1-NN accuracy in the map, and the files.

use crate::data::{Normalization, Split};
use crate::eval::encoder_source::EncoderSource;
use crate::eval::features::encode;
use crate::eval::head::stratified_subset;
pub use crate::eval::map_method::MapMethod;
use crate::eval::probing::labelled;
use crate::eval::tsne::{nearest_neighbour_accuracy, to_csv, TsneConfig};
use crate::{io::atomic::write_atomic, io::readback, plot, Error, Result};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A map of one encoder's test features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapResult {
    /// `simclr` or `random`.
    pub encoder: String,
    /// "t-SNE" or "UMAP" (maps saved before UMAP existed are t-SNE's).
    #[serde(default = "tsne_name")]
    pub method: String,
    /// 2-D points.
    pub points: Vec<[f64; 2]>,
    /// Their classes.
    pub labels: Vec<u8>,
    /// Perplexity used.
    pub perplexity: f64,
    /// Leave-one-out 1-NN accuracy in the 2-D map.
    pub nn_accuracy: f64,
}

fn tsne_name() -> String {
    MapMethod::Tsne(TsneConfig::default()).name().into()
}

/// A map (`method`) of the features of a stratified subset of about `points` labelled
/// images of `split`. The settings are checked by the method's `embed`; the study and
/// `simclr tsne` check them (and `points`) before the work that leads here.
pub fn map_of<B: AutodiffBackend>(
    split: &Split,
    normalization: Normalization,
    points: usize,
    method: &MapMethod,
    source: &EncoderSource,
    device: &B::Device,
) -> Result<MapResult> {
    let (indices, labels) = labelled(split);
    if indices.is_empty() {
        return Err(Error::UnsuitableData(format!(
            "{} needs labelled images",
            method.name()
        )));
    }
    let share = points as f64 / indices.len() as f64;
    let rows = stratified_subset(&labels, share.min(1.0), method.seed());
    let chosen: Vec<usize> = rows.iter().map(|&r| indices[r]).collect();
    let (encoder, norm) = source.frozen::<B>(split.height(), normalization, device)?;
    let h = encode(&encoder, split, &chosen, &norm, 256, device);
    let values = readback::floats(h)?;
    let embedding = method.embed(&values, encoder.config().feature_dim())?;
    let labels: Vec<u8> = rows.iter().map(|&r| labels[r]).collect();
    Ok(MapResult {
        encoder: source.name(),
        method: method.name().into(),
        nn_accuracy: nearest_neighbour_accuracy(&embedding.points, &labels),
        points: embedding.points,
        labels,
        perplexity: embedding.perplexity,
    })
}

/// `STEM.csv`, `STEM.png` and `STEM.svg` in `dir`.
pub fn write_map_files(
    dir: &Path,
    stem: &str,
    result: &MapResult,
    classes: &[String],
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let stem = dir.join(stem);
    let title = format!("{} of h: {} encoder", result.method, result.encoder);
    write_atomic(
        &stem.with_extension("csv"),
        to_csv(&result.points, &result.labels).as_bytes(),
    )?;
    let png = plot::raster::scatter_png(&title, &result.points, &result.labels, classes)?;
    write_atomic(&stem.with_extension("png"), &png)?;
    let svg = plot::svg::scatter(&title, &result.points, &result.labels, classes);
    write_atomic(&stem.with_extension("svg"), svg.as_bytes())
}
