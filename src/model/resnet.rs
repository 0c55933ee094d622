//! ResNet-18 encoder `f` with torchvision's topology and parameter names, without `fc`.

use super::batch_norm::{BatchNorm2d as BatchNorm, BatchNorm2dConfig as BatchNormConfig};
use super::conv::conv2d;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Initializer, PaddingConfig2d};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// The first layers of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Stem {
    /// 3×3 stride-1 convolution, no max-pool: for 32 px images.
    #[default]
    Cifar,
    /// 7×7 stride-2 convolution and a 3×3 stride-2 max-pool: for 96 px and larger.
    Imagenet,
}

impl Stem {
    /// The usual stem for square images of `side` pixels: CIFAR's up to 64 px.
    pub fn for_side(side: usize) -> Self {
        if side > 64 {
            Stem::Imagenet
        } else {
            Stem::Cifar
        }
    }

    /// The stem's name as used on the command line and in weight metadata.
    pub fn name(self) -> &'static str {
        match self {
            Stem::Cifar => "cifar",
            Stem::Imagenet => "imagenet",
        }
    }
}

impl std::str::FromStr for Stem {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "cifar" => Ok(Stem::Cifar),
            "imagenet" => Ok(Stem::Imagenet),
            other => Err(crate::Error::UnknownName {
                what: "stem",
                given: other.into(),
                expected: "cifar or imagenet".into(),
            }),
        }
    }
}

impl std::fmt::Display for Stem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Configuration of the ResNet-18 encoder.
#[derive(Config, Debug)]
pub struct ResNetConfig {
    /// Channels of the first stage; the four stages have 1, 2, 4 and 8 times as many.
    #[config(default = 64)]
    pub width: usize,
    /// The first layers.
    #[config(default = "Stem::Cifar")]
    pub stem: Stem,
}

/// torchvision's `BasicBlock`.
#[derive(Module, Debug)]
pub struct BasicBlock<B: Backend> {
    /// First 3×3 convolution (carries the stage's stride).
    pub conv1: Conv2d<B>,
    /// Its BatchNorm.
    pub bn1: BatchNorm<B>,
    /// Second 3×3 convolution.
    pub conv2: Conv2d<B>,
    /// Its BatchNorm.
    pub bn2: BatchNorm<B>,
    /// 1×1 projection of the shortcut (`downsample.0`, `downsample.1`) where shapes change.
    pub downsample: Option<Downsample<B>>,
}

/// The shortcut projection: torchvision's `downsample` `Sequential(conv, bn)`.
#[derive(Module, Debug)]
pub struct Downsample<B: Backend> {
    /// `downsample.0`
    pub conv: Conv2d<B>,
    /// `downsample.1`
    pub bn: BatchNorm<B>,
}

/// ResNet-18 without its classifier: images to globally average-pooled features `h`.
#[derive(Module, Debug)]
pub struct ResNet<B: Backend> {
    /// Stem convolution.
    pub conv1: Conv2d<B>,
    /// Stem BatchNorm.
    pub bn1: BatchNorm<B>,
    /// Present with the ImageNet stem only.
    pub maxpool: Option<MaxPool2d>,
    /// Stage 1 (width channels, stride 1).
    pub layer1: Vec<BasicBlock<B>>,
    /// Stage 2 (2 × width, stride 2).
    pub layer2: Vec<BasicBlock<B>>,
    /// Stage 3 (4 × width, stride 2).
    pub layer3: Vec<BasicBlock<B>>,
    /// Stage 4 (8 × width, stride 2).
    pub layer4: Vec<BasicBlock<B>>,
    avgpool: AdaptiveAvgPool2d,
}

/// torchvision's initialisation: Kaiming normal, fan-out, ReLU gain.
fn conv(channels: [usize; 2], kernel: usize, stride: usize, padding: usize) -> Conv2dConfig {
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(
            padding, padding, padding, padding,
        ))
        .with_bias(false)
        .with_initializer(Initializer::KaimingNormal {
            gain: 2f64.sqrt(),
            fan_out_only: true,
        })
}

impl ResNetConfig {
    /// The size of the encoder's output `h`.
    pub fn feature_dim(&self) -> usize {
        8 * self.width
    }

    /// A freshly initialised encoder.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ResNet<B> {
        let w = self.width;
        let (conv1, maxpool) = match self.stem {
            Stem::Cifar => (conv([3, w], 3, 1, 1), None),
            Stem::Imagenet => (
                conv([3, w], 7, 2, 3),
                Some(
                    MaxPool2dConfig::new([3, 3])
                        .with_strides([2, 2])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(),
                ),
            ),
        };
        super::materialize(ResNet {
            conv1: conv1.init(device),
            bn1: BatchNormConfig::new(w).init(device),
            maxpool,
            layer1: stage(w, w, 1, device),
            layer2: stage(w, 2 * w, 2, device),
            layer3: stage(2 * w, 4 * w, 2, device),
            layer4: stage(4 * w, 8 * w, 2, device),
            avgpool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
        })
    }
}

fn stage<B: Backend>(
    in_channels: usize,
    out_channels: usize,
    stride: usize,
    device: &B::Device,
) -> Vec<BasicBlock<B>> {
    vec![
        block(in_channels, out_channels, stride, device),
        block(out_channels, out_channels, 1, device),
    ]
}

fn block<B: Backend>(
    in_channels: usize,
    out_channels: usize,
    stride: usize,
    device: &B::Device,
) -> BasicBlock<B> {
    let downsample = (stride != 1 || in_channels != out_channels).then(|| Downsample {
        conv: conv([in_channels, out_channels], 1, stride, 0).init(device),
        bn: BatchNormConfig::new(out_channels).init(device),
    });
    BasicBlock {
        conv1: conv([in_channels, out_channels], 3, stride, 1).init(device),
        bn1: BatchNormConfig::new(out_channels).init(device),
        conv2: conv([out_channels, out_channels], 3, 1, 1).init(device),
        bn2: BatchNormConfig::new(out_channels).init(device),
        downsample,
    }
}

impl<B: Backend> BasicBlock<B> {
    /// # Shapes
    /// - `x`: `[N, C_in, H, W]` → `[N, C_out, H / stride, W / stride]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let identity = match &self.downsample {
            Some(down) => down.bn.forward(conv2d(&down.conv, x.clone())),
            None => x.clone(),
        };
        let out = self.bn1.forward_then(conv2d(&self.conv1, x), None, true);
        self.bn2
            .forward_then(conv2d(&self.conv2, out), Some(identity), true)
    }
}

impl<B: Backend> ResNet<B> {
    /// Encodes normalised images into features `h`.
    ///
    /// BatchNorm uses batch statistics on an autodiff backend and running statistics
    /// otherwise (call `.valid()` on the module for evaluation).
    ///
    /// # Shapes
    /// - `images`: `[N, 3, H, W]`
    /// - output: `[N, 8 × width]`
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let mut x = self
            .bn1
            .forward_then(conv2d(&self.conv1, images), None, true);
        if let Some(pool) = &self.maxpool {
            x = pool.forward(x);
        }
        for block in self
            .layer1
            .iter()
            .chain(&self.layer2)
            .chain(&self.layer3)
            .chain(&self.layer4)
        {
            x = block.forward(x);
        }
        self.avgpool.forward(x).flatten(1, 3)
    }

    /// The configuration this encoder was built from.
    pub fn config(&self) -> ResNetConfig {
        let width = self.bn1.gamma.dims()[0];
        let stem = if self.maxpool.is_some() {
            Stem::Imagenet
        } else {
            Stem::Cifar
        };
        ResNetConfig::new().with_width(width).with_stem(stem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    #[test]
    fn output_shapes_for_both_stems() {
        let device = Default::default();
        let cifar = ResNetConfig::new().with_width(4).init::<Cpu>(&device);
        let h = cifar.forward(Tensor::zeros([2, 3, 32, 32], &device));
        assert_eq!(h.dims(), [2, 32]);
        let imagenet = ResNetConfig::new()
            .with_width(4)
            .with_stem(Stem::Imagenet)
            .init::<Cpu>(&device);
        let h = imagenet.forward(Tensor::zeros([1, 3, 96, 96], &device));
        assert_eq!(h.dims(), [1, 32]);
        assert_eq!(imagenet.config().stem, Stem::Imagenet);
        assert_eq!(imagenet.config().width, 4);
    }
}
