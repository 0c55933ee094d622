//! What the worker does with an encoder: linear probes against a random encoder, t-SNE
//! maps, embeddings and weights for download. Every read-back is non-blocking.

use super::text;
use crate::protocol::{EmbeddingFormat, FileBytes, ProbeComparison, RunSettings, TsneMap};
use burn::prelude::Backend;
use simclr::backend::AutodiffCpu;
use simclr::data::{Dataset, Normalization};
use simclr::encoder::EncoderSource;
use simclr::evaluation::{encode_labelled, probe as fit_probe, ProbeResult};
use simclr::features::{encode, labelled_indices};
use simclr::model::ResNet;
use simclr::probe::{HeadKind, ProbeConfig};
use simclr::tsne::{embed, nearest_neighbour_accuracy, TsneConfig};
use simclr::{npy, preview, readback};

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
) -> Result<ProbeComparison, String> {
    simclr::evaluation::check_fraction(label_fraction).map_err(text)?;
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
    let random = EncoderSource::RandomInit(Box::new(config))
        .load::<B>(side, device)
        .map_err(text)?;
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
) -> Result<ProbeResult, String> {
    let features = encode_labelled(encoder, data, &normalization, device)
        .map_err(text)?
        .read_async()
        .await
        .map_err(text)?;
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
    .map_err(text)
}

/// The first `limit` labelled test images (all when `limit` is 0): indices, labels and
/// features.
async fn test_features<B: Backend>(
    encoder: &ResNet<B>,
    normalization: Normalization,
    data: &Dataset,
    limit: usize,
    device: &B::Device,
) -> Result<(Vec<usize>, Vec<u8>, Vec<f32>), String> {
    let mut indices = labelled_indices(&data.test);
    if limit > 0 {
        indices.truncate(limit);
    }
    if indices.is_empty() {
        return Err(format!(
            "the {} data has no labelled test images: load its test batch too",
            data.name
        ));
    }
    let features = encode(encoder, &data.test, &indices, &normalization, 256, device);
    let values = readback::floats_async(features).await.map_err(text)?;
    let labels = indices
        .iter()
        .map(|&i| data.test.label(i).unwrap_or_default())
        .collect();
    Ok((indices, labels, values))
}

/// A t-SNE map of up to `points` test images, with their thumbnails.
pub async fn tsne<B: Backend>(
    encoder: &ResNet<B>,
    normalization: Normalization,
    data: &Dataset,
    points: usize,
    device: &B::Device,
) -> Result<TsneMap, String> {
    let (indices, labels, values) =
        test_features(encoder, normalization, data, points, device).await?;
    let dim = encoder.config().feature_dim();
    let map = embed(&values, dim, &TsneConfig::default()).map_err(text)?;
    let columns = (indices.len() as f64).sqrt().ceil() as usize;
    Ok(TsneMap {
        neighbour_accuracy: nearest_neighbour_accuracy(&map.points, &labels),
        points: map.points,
        labels,
        classes: data.classes.clone(),
        sprite_png: preview::sprite_png(&data.test, &indices, columns).map_err(text)?,
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
) -> Result<Vec<FileBytes>, String> {
    let (indices, labels, values) = test_features(encoder, normalization, data, 0, device).await?;
    let dim = encoder.config().feature_dim();
    let labels: Vec<i64> = labels.into_iter().map(i64::from).collect();
    Ok(match format {
        EmbeddingFormat::Npy => vec![
            FileBytes {
                name: "embeddings.npy".into(),
                bytes: npy::f32_matrix(&values, indices.len(), dim),
            },
            FileBytes {
                name: "labels.npy".into(),
                bytes: npy::i64_vector(&labels),
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
) -> Result<FileBytes, String> {
    let pending = simclr::model::weights::queue_encoder(encoder, &normalization).map_err(text)?;
    Ok(FileBytes {
        name: "simclr-encoder.safetensors".into(),
        bytes: pending.bytes_async().await.map_err(text)?,
    })
}
