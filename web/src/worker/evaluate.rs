//! What the worker does with an encoder: linear probes against a random encoder, t-SNE
//! and UMAP maps, embeddings and weights for download. Every read-back is non-blocking.

use super::WorkerError;
use crate::protocol::{EmbeddingFormat, EmbeddingMap, FileBytes, ProbeComparison, RunSettings};
use burn::prelude::Backend;
use simclr::backend::AutodiffCpu;
use simclr::data::{Dataset, Normalization};
use simclr::eval::encoder_source::EncoderSource;
use simclr::eval::features::{encode, labelled_indices};
use simclr::eval::head::{HeadKind, ProbeConfig};
use simclr::eval::map_method::MapMethod;
use simclr::eval::probing::{encode_labelled, probe as fit_probe, ProbeResult};
use simclr::eval::tsne::{check_points, nearest_neighbour_accuracy};
use simclr::model::ResNet;
use simclr::{augment::preview, io::npy, io::readback};

/// Label subsets each probe averages over.
const PROBE_SEEDS: usize = 3;

/// Linear probes of `encoder` and of a random encoder built from `settings`.
pub async fn probe<B: Backend>(
    encoder: &ResNet<B>,
    normalization: Normalization,
    data: &Dataset,
    settings: &RunSettings,
    label_fraction: f64,
    device: &B::Device,
) -> Result<ProbeComparison, WorkerError> {
    simclr::eval::probing::check_fraction(label_fraction)?;
    let trained = probe_one(
        encoder,
        "simclr",
        normalization,
        data,
        label_fraction,
        device,
    )
    .await?;
    let mut config = settings.pretrain_config();
    config.width = encoder.config().width;
    config.stem = Some(encoder.config().stem);
    let side = data.train.height();
    let random = EncoderSource::RandomInit(Box::new(config)).load::<B>(side, device)?;
    let random = probe_one(
        &random.encoder,
        "random",
        normalization,
        data,
        label_fraction,
        device,
    )
    .await?;
    Ok(ProbeComparison {
        trained,
        random,
        classes: data.classes.clone(),
    })
}

async fn probe_one<B: Backend>(
    encoder: &ResNet<B>,
    name: &str,
    normalization: Normalization,
    data: &Dataset,
    label_fraction: f64,
    device: &B::Device,
) -> Result<ProbeResult, WorkerError> {
    let features = encode_labelled(encoder, data, &normalization, device)?
        .read_async()
        .await?;
    // The heads train on host copies of the features, on the CPU backend: small dense
    // maths that needs no GPU round trips.
    fit_probe::<AutodiffCpu>(
        &features,
        name,
        HeadKind::Linear,
        label_fraction,
        PROBE_SEEDS,
        &ProbeConfig::default(),
        &Default::default(),
    )
    .map_err(WorkerError::from)
}

/// The first `limit` labelled test images (all when `limit` is 0): indices, labels and
/// features.
async fn test_features<B: Backend>(
    encoder: &ResNet<B>,
    normalization: Normalization,
    data: &Dataset,
    limit: usize,
    device: &B::Device,
) -> Result<(Vec<usize>, Vec<u8>, Vec<f32>), WorkerError> {
    let mut indices = labelled_indices(&data.test);
    if limit > 0 {
        indices.truncate(limit);
    }
    if indices.is_empty() {
        return Err(simclr::Error::UnsuitableData(format!(
            "the {} data has no labelled test images: load its test batch too",
            data.name
        ))
        .into());
    }
    let features = encode(encoder, &data.test, &indices, &normalization, 256, device);
    let values = readback::floats_async(features).await?;
    let labels = indices
        .iter()
        .map(|&i| data.test.label(i).unwrap_or_default())
        .collect();
    Ok((indices, labels, values))
}

/// A map (`method`) of up to `points` test images, with their thumbnails.
pub async fn map<B: Backend>(
    encoder: &ResNet<B>,
    normalization: Normalization,
    data: &Dataset,
    (points, method): (usize, &MapMethod),
    device: &B::Device,
) -> Result<EmbeddingMap, WorkerError> {
    check_points(points)?;
    method.validate()?;
    let (indices, labels, values) =
        test_features(encoder, normalization, data, points, device).await?;
    let dim = encoder.config().feature_dim();
    let map = method.embed(&values, dim)?;
    let columns = (indices.len() as f64).sqrt().ceil() as usize;
    Ok(EmbeddingMap {
        method: method.name().into(),
        neighbour_accuracy: nearest_neighbour_accuracy(&map.points, &labels),
        points: map.points,
        labels,
        classes: data.classes.clone(),
        sprite_png: preview::sprite_png(&data.test, &indices, columns)?,
        columns,
        side: data.test.height(),
    })
}

/// The test images' features as `.npy` (features and labels) or one CSV file.
pub async fn embeddings<B: Backend>(
    encoder: &ResNet<B>,
    normalization: Normalization,
    data: &Dataset,
    format: EmbeddingFormat,
    device: &B::Device,
) -> Result<Vec<FileBytes>, WorkerError> {
    let (indices, labels, values) = test_features(encoder, normalization, data, 0, device).await?;
    let dim = encoder.config().feature_dim();
    let labels: Vec<i64> = labels.into_iter().map(i64::from).collect();
    Ok(match format {
        EmbeddingFormat::Npy => vec![
            FileBytes {
                name: "embeddings.npy".into(),
                bytes: npy::f32_matrix(&values, indices.len(), dim)?,
            },
            FileBytes {
                name: "labels.npy".into(),
                bytes: npy::i64_vector(&labels)?,
            },
        ],
        EmbeddingFormat::Csv => vec![FileBytes {
            name: "embeddings.csv".into(),
            bytes: embeddings_csv(&values, &labels, dim).into_bytes(),
        }],
    })
}

/// `label,h0,h1,…` with a header, one row per image.
pub fn embeddings_csv(values: &[f32], labels: &[i64], dim: usize) -> String {
    let header: Vec<String> = (0..dim).map(|j| format!("h{j}")).collect();
    let mut csv = format!("label,{}\n", header.join(","));
    for (row, label) in values.chunks(dim.max(1)).zip(labels) {
        let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        csv.push_str(&format!("{label},{}\n", cells.join(",")));
    }
    csv
}

/// The encoder as safetensors, in `simclr export`'s format.
pub async fn weights<B: Backend>(
    encoder: &ResNet<B>,
    normalization: Normalization,
    steps: u64,
) -> Result<FileBytes, WorkerError> {
    let pending = simclr::model::weights::queue_encoder(encoder, &normalization, steps)?;
    Ok(FileBytes {
        name: "simclr-encoder.safetensors".into(),
        bytes: pending.bytes_async().await?,
    })
}
