//! The tensors an encoder file must hold, known from its width and stem alone: a file is
//! checked against them before a model is built, so a header that claims a width its
//! tensors do not have cannot make the loader allocate a model far larger than the file.

use super::resnet::{ResNetConfig, Stem};
use crate::train::config::MAX_WIDTH;
use crate::{Error, Result};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;

/// Each float tensor of an encoder with `config`, with its shape, in torchvision's order.
pub fn expected_tensors(config: &ResNetConfig) -> Vec<(String, Vec<usize>)> {
    let w = config.width;
    let stem_kernel = match config.stem {
        Stem::Cifar => 3,
        Stem::Imagenet => 7,
    };
    let mut out = vec![];
    conv(&mut out, "conv1", [w, 3, stem_kernel]);
    batch_norm(&mut out, "bn1", w);
    let mut channels = w;
    for (stage, multiple) in [1, 2, 4, 8].into_iter().enumerate() {
        let width = w * multiple;
        for block in 0..2 {
            let p = format!("layer{}.{block}", stage + 1);
            let input = if block == 0 { channels } else { width };
            conv(&mut out, &format!("{p}.conv1"), [width, input, 3]);
            batch_norm(&mut out, &format!("{p}.bn1"), width);
            conv(&mut out, &format!("{p}.conv2"), [width, width, 3]);
            batch_norm(&mut out, &format!("{p}.bn2"), width);
            if block == 0 && stage > 0 {
                conv(&mut out, &format!("{p}.downsample.0"), [width, input, 1]);
                batch_norm(&mut out, &format!("{p}.downsample.1"), width);
            }
        }
        channels = width;
    }
    out
}

fn conv(out: &mut Vec<(String, Vec<usize>)>, name: &str, [o, i, k]: [usize; 3]) {
    out.push((format!("{name}.weight"), vec![o, i, k, k]));
}

fn batch_norm(out: &mut Vec<(String, Vec<usize>)>, name: &str, channels: usize) {
    for part in ["weight", "bias", "running_mean", "running_var"] {
        out.push((format!("{name}.{part}"), vec![channels]));
    }
}

/// The encoder configuration a file describes, once its metadata agrees with its
/// `conv1.weight` and every tensor the encoder reads is there with its shape.
pub fn check_file(
    file: &SafeTensors,
    metadata: &HashMap<String, String>,
    path: &Path,
) -> Result<ResNetConfig> {
    let bad = |message: String| Error::format(path, message);
    let conv1 = file
        .tensor("conv1.weight")
        .map_err(|_| bad("missing tensor conv1.weight".into()))?;
    let shape = conv1.shape().to_vec();
    let [width, 3, k, k2] = shape[..] else {
        return Err(bad(format!(
            "conv1.weight has shape {shape:?}, expected [width, 3, k, k]"
        )));
    };
    let stem_from_shape = match (k, k2) {
        (3, 3) => Stem::Cifar,
        (7, 7) => Stem::Imagenet,
        _ => {
            return Err(bad(format!(
                "conv1.weight has a {k}×{k2} kernel, expected 3×3 or 7×7"
            )))
        }
    };
    if !(1..=MAX_WIDTH).contains(&width) {
        return Err(bad(format!("width {width} is outside 1..={MAX_WIDTH}")));
    }
    if let Some(text) = metadata.get("width") {
        if text.parse::<usize>().ok() != Some(width) {
            return Err(bad(format!(
                "metadata width '{text}' disagrees with conv1.weight's {width} channels"
            )));
        }
    }
    let stem = match metadata.get("stem") {
        Some(s) => s
            .parse::<Stem>()
            .map_err(|e| bad(format!("metadata: {e}")))?,
        None => stem_from_shape,
    };
    if stem != stem_from_shape {
        return Err(bad(format!(
            "metadata stem '{stem}' disagrees with conv1.weight's {k}×{k} kernel"
        )));
    }
    let config = ResNetConfig::new().with_width(width).with_stem(stem);
    for (name, expected) in expected_tensors(&config) {
        let view = file
            .tensor(&name)
            .map_err(|_| bad(format!("missing tensor {name}")))?;
        if view.shape() != expected.as_slice() {
            return Err(bad(format!(
                "tensor {name} has shape {:?}, expected {expected:?}",
                view.shape()
            )));
        }
    }
    Ok(config)
}
