//! Encoder weights in safetensors with torchvision's names, readable by PyTorch.
//!
//! The file holds every convolution and BatchNorm tensor of the encoder (`conv1.weight`,
//! `bn1.running_mean`, `layer2.0.downsample.0.weight`, ...) and metadata `width`, `stem`,
//! `normalize_mean`, `normalize_std`.
//!
//! Written here rather than with Burn's `burn-store` (tried for issue 9): its tensor
//! snapshots read each tensor back with a synchronous `to_data()`, which the browser's
//! WebGPU backend cannot do; [`queue_encoder`] instead gathers every tensor into one
//! device read-back that the page awaits. Import and export stay one mechanism (one
//! walk over the layers) instead of a library for one direction and this for the other.

use super::batch_norm::BatchNorm2d as BatchNorm;
use super::resnet::{BasicBlock, ResNet, ResNetConfig};
use crate::data::Normalization;
use crate::{Error, Result};
use burn::module::{Param, RunningState};
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::Path;

/// One visit of each named layer of the encoder, in torchvision's order.
trait LayerVisitor<B: Backend> {
    fn conv(&mut self, name: &str, conv: Conv2d<B>) -> Result<Conv2d<B>>;
    fn batch_norm(&mut self, name: &str, bn: BatchNorm<B>) -> Result<BatchNorm<B>>;
}

fn walk<B: Backend, V: LayerVisitor<B>>(encoder: ResNet<B>, visitor: &mut V) -> Result<ResNet<B>> {
    let mut encoder = encoder;
    encoder.conv1 = visitor.conv("conv1", encoder.conv1)?;
    encoder.bn1 = visitor.batch_norm("bn1", encoder.bn1)?;
    encoder.layer1 = walk_stage("layer1", encoder.layer1, visitor)?;
    encoder.layer2 = walk_stage("layer2", encoder.layer2, visitor)?;
    encoder.layer3 = walk_stage("layer3", encoder.layer3, visitor)?;
    encoder.layer4 = walk_stage("layer4", encoder.layer4, visitor)?;
    Ok(encoder)
}

fn walk_stage<B: Backend, V: LayerVisitor<B>>(
    stage: &str,
    blocks: Vec<BasicBlock<B>>,
    visitor: &mut V,
) -> Result<Vec<BasicBlock<B>>> {
    blocks
        .into_iter()
        .enumerate()
        .map(|(i, mut block)| {
            let p = format!("{stage}.{i}");
            block.conv1 = visitor.conv(&format!("{p}.conv1"), block.conv1)?;
            block.bn1 = visitor.batch_norm(&format!("{p}.bn1"), block.bn1)?;
            block.conv2 = visitor.conv(&format!("{p}.conv2"), block.conv2)?;
            block.bn2 = visitor.batch_norm(&format!("{p}.bn2"), block.bn2)?;
            if let Some(mut down) = block.downsample.take() {
                down.conv = visitor.conv(&format!("{p}.downsample.0"), down.conv)?;
                down.bn = visitor.batch_norm(&format!("{p}.downsample.1"), down.bn)?;
                block.downsample = Some(down);
            }
            Ok(block)
        })
        .collect()
}

/// One entry of the file, in order.
enum Entry {
    /// An f32 tensor: its values are the next `shape`-many of the gathered values.
    Floats { name: String, shape: Vec<usize> },
    /// PyTorch's BatchNorm `num_batches_tracked` buffer (strict loading expects it): the
    /// training steps, each of which updated the running statistics once.
    Counter { name: String },
}

/// Collects the encoder's tensors, flattened, without reading them back yet.
struct Exporter<B: Backend> {
    layout: Vec<Entry>,
    values: Vec<Tensor<B, 1>>,
}

impl<B: Backend> Exporter<B> {
    fn push<const D: usize>(&mut self, name: String, tensor: Tensor<B, D>) {
        let shape = tensor.dims().to_vec();
        self.layout.push(Entry::Floats { name, shape });
        self.values.push(tensor.flatten(0, D - 1));
    }
}

impl<B: Backend> LayerVisitor<B> for Exporter<B> {
    fn conv(&mut self, name: &str, conv: Conv2d<B>) -> Result<Conv2d<B>> {
        self.push(format!("{name}.weight"), conv.weight.val());
        Ok(conv)
    }

    fn batch_norm(&mut self, name: &str, bn: BatchNorm<B>) -> Result<BatchNorm<B>> {
        self.push(format!("{name}.weight"), bn.gamma.val());
        self.push(format!("{name}.bias"), bn.beta.val());
        self.push(format!("{name}.running_mean"), bn.running_mean.value_sync());
        self.push(format!("{name}.running_var"), bn.running_var.value_sync());
        let name = format!("{name}.num_batches_tracked");
        self.layout.push(Entry::Counter { name });
        Ok(bn)
    }
}

/// The encoder's weights gathered into one device tensor, ready to be read back once and
/// written as safetensors.
pub struct PendingWeights<B: Backend> {
    layout: Vec<Entry>,
    values: Tensor<B, 1>,
    metadata: HashMap<String, String>,
    batches_tracked: u64,
}

/// Queues the gathering of the encoder's weights for [`encoder_to_bytes`];
/// `batches_tracked` is the training steps behind them (PyTorch's `num_batches_tracked`).
pub fn queue_encoder<B: Backend>(
    encoder: &ResNet<B>,
    normalization: &Normalization,
    batches_tracked: u64,
) -> Result<PendingWeights<B>> {
    let config = encoder.config();
    let mut exporter = Exporter {
        layout: vec![],
        values: vec![],
    };
    walk(encoder.clone(), &mut exporter)?;
    let join = |v: &[f32; 3]| v.map(|x| x.to_string()).join(",");
    let metadata = HashMap::from([
        ("arch".to_string(), "resnet18".to_string()),
        ("width".to_string(), config.width.to_string()),
        ("stem".to_string(), config.stem.name().to_string()),
        ("normalize_mean".to_string(), join(&normalization.mean)),
        ("normalize_std".to_string(), join(&normalization.std)),
    ]);
    Ok(PendingWeights {
        layout: exporter.layout,
        values: Tensor::cat(exporter.values, 0),
        metadata,
        batches_tracked,
    })
}

impl<B: Backend> PendingWeights<B> {
    /// The safetensors bytes, blocking until the device is done.
    pub fn bytes(self) -> Result<Vec<u8>> {
        let values = crate::io::readback::floats(self.values)?;
        serialize(self.layout, &values, self.metadata, self.batches_tracked)
    }

    /// [`Self::bytes`] without blocking (a browser's WebGPU device).
    pub async fn bytes_async(self) -> Result<Vec<u8>> {
        let values = crate::io::readback::floats_async(self.values).await?;
        serialize(self.layout, &values, self.metadata, self.batches_tracked)
    }
}

fn serialize(
    layout: Vec<Entry>,
    values: &[f32],
    metadata: HashMap<String, String>,
    batches_tracked: u64,
) -> Result<Vec<u8>> {
    let counter = batches_tracked.min(i64::MAX as u64) as i64;
    let mut offset = 0;
    let tensors: Vec<(String, Vec<usize>, Vec<u8>, Dtype)> = layout
        .into_iter()
        .map(|entry| match entry {
            Entry::Floats { name, shape } => {
                let len = shape.iter().product::<usize>();
                let bytes = values[offset..offset + len]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect();
                offset += len;
                (name, shape, bytes, Dtype::F32)
            }
            Entry::Counter { name } => (name, vec![], counter.to_le_bytes().to_vec(), Dtype::I64),
        })
        .collect();
    let views = tensors
        .iter()
        .map(|(name, shape, bytes, dtype)| {
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::encode("weights", e))?;
    safetensors::serialize(views, Some(metadata)).map_err(|e| Error::encode("weights", e))
}

struct Importer<'a> {
    file: &'a SafeTensors<'a>,
    path: &'a Path,
}

impl Importer<'_> {
    fn tensor<B: Backend, const D: usize>(
        &self,
        name: &str,
        expected: [usize; D],
        device: &B::Device,
    ) -> Result<Tensor<B, D>> {
        // Every tensor's shape was checked against the layout before the model was built
        // (`layout::check_file`), so `expected` is the file's.
        let (values, _) = read_f32(self.file, self.path, name)?;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(Error::format(
                self.path,
                format!("tensor {name} holds values that are not finite"),
            ));
        }
        Ok(Tensor::from_data(TensorData::new(values, expected), device))
    }
}

impl<B: Backend> LayerVisitor<B> for Importer<'_> {
    fn conv(&mut self, name: &str, conv: Conv2d<B>) -> Result<Conv2d<B>> {
        let device = conv.weight.device();
        let weight = self.tensor(&format!("{name}.weight"), conv.weight.dims(), &device)?;
        Ok(Conv2d {
            weight: Param::from_tensor(weight),
            ..conv
        })
    }

    fn batch_norm(&mut self, name: &str, bn: BatchNorm<B>) -> Result<BatchNorm<B>> {
        let device = bn.gamma.device();
        let dims = bn.gamma.dims();
        Ok(BatchNorm {
            gamma: Param::from_tensor(self.tensor(&format!("{name}.weight"), dims, &device)?),
            beta: Param::from_tensor(self.tensor(&format!("{name}.bias"), dims, &device)?),
            running_mean: RunningState::new(self.tensor(
                &format!("{name}.running_mean"),
                dims,
                &device,
            )?),
            running_var: RunningState::new(self.tensor(
                &format!("{name}.running_var"),
                dims,
                &device,
            )?),
            ..bn
        })
    }
}

/// Reads a float tensor (f32, f16 or bf16 are not accepted: PyTorch's default f32 is).
pub fn read_f32(file: &SafeTensors, path: &Path, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
    let view = file
        .tensor(name)
        .map_err(|_| Error::format(path, format!("missing tensor {name}")))?;
    if view.dtype() != Dtype::F32 {
        return Err(Error::format(
            path,
            format!("tensor {name} is {:?}, expected F32", view.dtype()),
        ));
    }
    let values = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((values, view.shape().to_vec()))
}

/// The encoder's weights as safetensors bytes, with its metadata; `batches_tracked` as in
/// [`queue_encoder`].
pub fn encoder_to_bytes<B: Backend>(
    encoder: &ResNet<B>,
    normalization: &Normalization,
    batches_tracked: u64,
) -> Result<Vec<u8>> {
    queue_encoder(encoder, normalization, batches_tracked)?.bytes()
}

/// The training steps recorded in a safetensors encoder (its stem BatchNorm's
/// `num_batches_tracked`), 0 when the file has none or it is not a readable count.
pub fn batches_tracked(bytes: &[u8]) -> u64 {
    let Ok(file) = SafeTensors::deserialize(bytes) else {
        return 0;
    };
    let Ok(view) = file.tensor("bn1.num_batches_tracked") else {
        return 0;
    };
    match (view.dtype(), <[u8; 8]>::try_from(view.data())) {
        (Dtype::I64, Ok(le)) => u64::try_from(i64::from_le_bytes(le)).unwrap_or(0),
        _ => 0,
    }
}

/// An encoder loaded from safetensors bytes; `path` names the source in errors.
///
/// Width and stem come from the metadata or else from `conv1.weight`'s shape; the
/// normalisation is returned when the metadata has it. Extra tensors (such as a
/// torchvision checkpoint's `fc.*`) are ignored.
pub fn encoder_from_bytes<B: Backend>(
    bytes: &[u8],
    path: &Path,
    device: &B::Device,
) -> Result<(ResNet<B>, Option<Normalization>)> {
    let (file, config, normalization) = checked_file(bytes, path)?;
    let mut importer = Importer { file: &file, path };
    let encoder = walk(config.init(device), &mut importer)?;
    Ok((encoder, normalization))
}

/// The shape (width, stem) of the encoder in safetensors `bytes`, checked as
/// [`encoder_from_bytes`] checks it, without loading a tensor.
pub fn encoder_config_from_bytes(bytes: &[u8], path: &Path) -> Result<ResNetConfig> {
    Ok(checked_file(bytes, path)?.1)
}

/// The parsed file, its encoder's shape and normalisation, once the metadata agrees with
/// the tensors and every tensor is there with its shape (before any allocation).
fn checked_file<'a>(
    bytes: &'a [u8],
    path: &Path,
) -> Result<(SafeTensors<'a>, ResNetConfig, Option<Normalization>)> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::format(path, format!("not a safetensors file: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::format(path, format!("not a safetensors file: {e}")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let config = super::layout::check_file(&file, &metadata, path)?;
    let normalization = metadata_normalization(&metadata, path)?;
    Ok((file, config, normalization))
}

fn metadata_normalization(
    metadata: &HashMap<String, String>,
    path: &Path,
) -> Result<Option<Normalization>> {
    let parse = |key: &str| -> Result<Option<[f32; 3]>> {
        let Some(text) = metadata.get(key) else {
            return Ok(None);
        };
        let values: Vec<f32> = text
            .split(',')
            .map(|v| v.trim().parse::<f32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                Error::format(path, format!("metadata {key} '{text}' is not 3 numbers"))
            })?;
        <[f32; 3]>::try_from(values)
            .map(Some)
            .map_err(|_| Error::format(path, format!("metadata {key} '{text}' is not 3 numbers")))
    };
    match (parse("normalize_mean")?, parse("normalize_std")?) {
        (Some(mean), Some(std)) => {
            // A zero or non-finite deviation would turn every input into NaN or infinity.
            if !mean.iter().all(|m| m.is_finite()) || !std.iter().all(|s| s.is_finite() && *s > 0.0)
            {
                return Err(Error::format(
                    path,
                    format!(
                        "metadata normalize_mean {mean:?} / normalize_std {std:?}: means must be \
                         finite and deviations finite and above 0"
                    ),
                ));
            }
            Ok(Some(Normalization { mean, std }))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend::{AutodiffCpu, Cpu};
    use crate::model::resnet::{ResNetConfig, Stem};
    use burn::module::AutodiffModule;
    use burn::tensor::backend::AutodiffBackend;

    fn reference() -> (Vec<u8>, std::path::PathBuf) {
        let path = crate::test_support::reference_dir().join("resnet18_w16_cifar.safetensors");
        (std::fs::read(&path).expect("reference weights"), path)
    }

    fn assert_close(actual: &[f32], expected: &[f32], what: &str) {
        assert_eq!(actual.len(), expected.len());
        let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (a, e) in actual.iter().zip(expected) {
            assert!(
                (a - e).abs() <= 1e-3 * scale.max(e.abs()),
                "{what}: {a} vs {e}"
            );
        }
    }

    /// The reference file's running statistics were saved *after* PyTorch computed
    /// `h_train`, which updated them in place (momentum 0.1, unbiased variance), while
    /// `h_eval` was computed before. This visitor recovers the statistics `h_eval` saw,
    /// `r0 = (saved - 0.1 · batch) / 0.9`, from the batch statistics that the encoder's
    /// training-mode forward blended into the module (`0.9 · saved + 0.1 · batch`).
    struct PreUpdateStats<'a> {
        file: &'a SafeTensors<'a>,
        path: &'a Path,
    }

    impl<B: Backend> LayerVisitor<B> for PreUpdateStats<'_> {
        fn conv(&mut self, _: &str, conv: Conv2d<B>) -> Result<Conv2d<B>> {
            Ok(conv)
        }

        fn batch_norm(&mut self, name: &str, bn: BatchNorm<B>) -> Result<BatchNorm<B>> {
            let saved = |what: &str| {
                read_f32(self.file, self.path, &format!("{name}.{what}"))
                    .unwrap()
                    .0
            };
            let updated = |t: Tensor<B, 1>| t.into_data().to_vec::<f32>().unwrap();
            let (saved_mean, saved_var) = (saved("running_mean"), saved("running_var"));
            let (new_mean, new_var) = (
                updated(bn.running_mean.value_sync()),
                updated(bn.running_var.value_sync()),
            );
            let mut mean = vec![];
            let mut var = vec![];
            for c in 0..saved_mean.len() {
                let batch_mean = (new_mean[c] - 0.9 * saved_mean[c]) / 0.1;
                let batch_var = (new_var[c] - 0.9 * saved_var[c]) / 0.1;
                mean.push((saved_mean[c] - 0.1 * batch_mean) / 0.9);
                var.push((saved_var[c] - 0.1 * batch_var) / 0.9);
            }
            let device = bn.gamma.device();
            let n = mean.len();
            Ok(BatchNorm {
                running_mean: RunningState::new(Tensor::from_data(
                    TensorData::new(mean, [n]),
                    &device,
                )),
                running_var: RunningState::new(Tensor::from_data(
                    TensorData::new(var, [n]),
                    &device,
                )),
                ..bn
            })
        }
    }

    #[test]
    fn reproduces_pytorch_features_in_train_and_eval_mode() {
        check_pytorch_features::<AutodiffCpu>(&Default::default());
    }

    /// The reference ResNet-18 (`shared/reference/resnet18_w16_cifar.safetensors`) loaded
    /// on backend `B` gives PyTorch's features with BatchNorm in training and in eval mode,
    /// within 1e-3 of the largest feature (float32 against float64).
    pub(crate) fn check_pytorch_features<B: AutodiffBackend>(device: &B::Device) {
        let (bytes, path) = reference();
        let (encoder, normalization) =
            encoder_from_bytes::<B>(&bytes, &path, device).expect("load");
        assert_eq!(encoder.config().width, 16);
        assert_eq!(normalization.expect("metadata").mean[0], 0.4914);
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let (input, shape) = read_f32(&file, &path, "input.normalized").unwrap();
        let shape: [usize; 4] = shape.try_into().unwrap();
        let (h_eval, _) = read_f32(&file, &path, "expected.h_eval").unwrap();
        let (h_train, _) = read_f32(&file, &path, "expected.h_train").unwrap();

        let images = Tensor::<B, 4>::from_data(TensorData::new(input.clone(), shape), device);
        let train = encoder.forward(images).into_data().to_vec::<f32>().unwrap();
        assert_close(&train, &h_train, "h_train");

        let mut recover = PreUpdateStats {
            file: &file,
            path: &path,
        };
        let encoder = walk(encoder, &mut recover).unwrap();
        let images = Tensor::<B::InnerBackend, 4>::from_data(TensorData::new(input, shape), device);
        let eval = encoder
            .valid()
            .forward(images)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        assert_close(&eval, &h_eval, "h_eval");
    }

    #[test]
    fn export_then_import_is_identity() {
        let device = Default::default();
        let encoder = ResNetConfig::new()
            .with_width(4)
            .with_stem(Stem::Imagenet)
            .init::<Cpu>(&device);
        let norm = Normalization {
            mean: [0.1, 0.2, 0.3],
            std: [0.4, 0.5, 0.6],
        };
        let bytes = encoder_to_bytes(&encoder, &norm, 640).unwrap();
        let path = Path::new("roundtrip.safetensors");
        let (loaded, loaded_norm) = encoder_from_bytes::<Cpu>(&bytes, path, &device).unwrap();
        assert_eq!(loaded_norm, Some(norm));
        assert_eq!(loaded.config().stem, Stem::Imagenet);
        let x =
            Tensor::<Cpu, 4>::random([2, 3, 64, 64], burn::tensor::Distribution::Default, &device);
        let a = encoder
            .forward(x.clone())
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let b = loaded.forward(x).into_data().to_vec::<f32>().unwrap();
        assert_eq!(a, b);
        let file = SafeTensors::deserialize(&bytes).unwrap();
        assert!(file.names().contains(&"layer2.0.downsample.1.running_var"));
        assert!(file.names().contains(&"layer4.1.bn2.num_batches_tracked"));
        // Every BatchNorm counts the training steps, as PyTorch's would after as many.
        let counter = file.tensor("layer4.1.bn2.num_batches_tracked").unwrap();
        assert_eq!(counter.data(), 640i64.to_le_bytes());
        assert_eq!(batches_tracked(&bytes), 640);
        assert_eq!(batches_tracked(b"not safetensors"), 0);
    }

    #[test]
    fn bad_files_are_named_errors() {
        let device = Default::default();
        let path = Path::new("broken.safetensors");
        let err = encoder_from_bytes::<Cpu>(b"not safetensors", path, &device).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("broken.safetensors: not a safetensors"),
            "{err}"
        );

        let encoder = ResNetConfig::new().with_width(4).init::<Cpu>(&device);
        let bytes = encoder_to_bytes(&encoder, &Normalization::imagenet(), 0).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let kept: Vec<_> = file
            .tensors()
            .into_iter()
            .filter(|(name, _)| name != "layer3.1.conv2.weight")
            .collect();
        let truncated = safetensors::serialize(kept, None).unwrap();
        let err = encoder_from_bytes::<Cpu>(&truncated, path, &device).unwrap_err();
        assert!(
            err.to_string()
                .contains("missing tensor layer3.1.conv2.weight"),
            "{err}"
        );
    }

    /// `bytes` with `metadata` replaced and tensor `name` (if any) changed by `change`.
    fn altered(
        bytes: &[u8],
        metadata: &[(&str, &str)],
        name: &str,
        change: impl Fn(&mut Vec<u8>),
    ) -> Vec<u8> {
        let file = SafeTensors::deserialize(bytes).unwrap();
        let tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = file
            .tensors()
            .into_iter()
            .map(|(n, v)| {
                let mut data = v.data().to_vec();
                if n == name {
                    change(&mut data);
                }
                (n, v.dtype(), v.shape().to_vec(), data)
            })
            .collect();
        let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
            .iter()
            .map(|(n, d, s, b)| {
                let view = safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap();
                (n.clone(), view)
            })
            .collect();
        let meta: HashMap<String, String> = metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        safetensors::serialize(views, Some(meta)).unwrap()
    }

    #[test]
    fn metadata_and_values_must_agree_with_the_tensors() {
        let device = Default::default();
        let path = Path::new("w.safetensors");
        let encoder = ResNetConfig::new().with_width(4).init::<Cpu>(&device);
        let bytes = encoder_to_bytes(&encoder, &Normalization::imagenet(), 0).unwrap();
        let keep = |_: &mut Vec<u8>| {};
        let nan = |data: &mut Vec<u8>| data[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        let cases: [(Vec<u8>, &str); 5] = [
            // Would ask for a ResNet-18 of width 100,000 (terabytes) before any check.
            (
                altered(&bytes, &[("width", "100000")], "", keep),
                "metadata width '100000' disagrees with conv1.weight's 4 channels",
            ),
            (
                altered(&bytes, &[("stem", "imagenet")], "", keep),
                "metadata stem 'imagenet' disagrees with conv1.weight's 3×3 kernel",
            ),
            (
                altered(&bytes, &[], "layer4.1.bn2.running_var", nan),
                "tensor layer4.1.bn2.running_var holds values that are not finite",
            ),
            (
                altered(
                    &bytes,
                    &[("normalize_mean", "0,0,0"), ("normalize_std", "1,0,1")],
                    "",
                    keep,
                ),
                "deviations finite and above 0",
            ),
            (
                altered(
                    &bytes,
                    &[("normalize_mean", "0,inf,0"), ("normalize_std", "1,1,1")],
                    "",
                    keep,
                ),
                "means must be finite",
            ),
        ];
        for (file, expected) in cases {
            let err = encoder_from_bytes::<Cpu>(&file, path, &device).unwrap_err();
            assert!(err.to_string().contains(expected), "{expected}: {err}");
        }
        assert!(encoder_from_bytes::<Cpu>(&altered(&bytes, &[], "", keep), path, &device).is_ok());
    }

    #[test]
    fn the_expected_layout_is_what_export_writes() {
        let device = Default::default();
        for (width, stem) in [(4, Stem::Cifar), (2, Stem::Imagenet)] {
            let config = ResNetConfig::new().with_width(width).with_stem(stem);
            let encoder = config.init::<Cpu>(&device);
            let bytes = encoder_to_bytes(&encoder, &Normalization::imagenet(), 0).unwrap();
            let file = SafeTensors::deserialize(&bytes).unwrap();
            let mut written: Vec<(String, Vec<usize>)> = file
                .tensors()
                .into_iter()
                .filter(|(_, v)| v.dtype() == Dtype::F32)
                .map(|(n, v)| (n, v.shape().to_vec()))
                .collect();
            let mut expected = crate::model::layout::expected_tensors(&config);
            written.sort();
            expected.sort();
            assert_eq!(written, expected, "width {width}, {stem}");
        }
    }
}
