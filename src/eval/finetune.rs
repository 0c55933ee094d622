//! Fine-tuning: the supervised baseline's run (the same label subset, training session,
//! checkpoints, resume and result file) started from a pretrained encoder instead of a
//! random one — SimCLR's semi-supervised protocol (Chen et al. 2020, appendix B.5) sized
//! for small runs: the encoder and a fresh linear classifier on `h` trained end to end with
//! cross-entropy, SGD with momentum 0.9 and no weight decay at 0.2 × batch/256 decayed by a
//! cosine without warm-up, random crop and flip as the only augmentation, BatchNorm in
//! training mode, 30 epochs over the labelled images and at least 200 steps (a 1% subset
//! of CIFAR-10 is 3 batches an epoch). The paper's rate is 0.8 at batch 4,096 (0.05 ×
//! batch/256). Measured on the `cifar10-small` study's encoder (width 16, batch 128, 3
//! epochs, ≥ 100 steps; top-1 at 1 / 10 / 100% labels): base 0.05 gives 25.2 / 41.4 /
//! 47.9%, 0.2 gives 25.8 / 41.5 / 49.9%, 0.4 gives 36.6% and 0.8 19.7% at 10% (the
//! pretrained features are lost at the start). The synthetic study (batch 32) wants a
//! larger base: 0.05 gives 35% / 78%, 0.2 66% / 100%, 0.8 84% / 99.8% at 10% / 100%
//! (10 epochs, ≥ 100 steps); its preset sets 0.8. Both best runs peak at a rate of 0.1.
//! The paper's momentum is Nesterov's; this project's SGD is LARS without its trust ratio,
//! with classical momentum.

use super::supervised_config::SupervisedConfig;
use crate::model::weights::encoder_config_from_bytes;
use crate::model::ResNetConfig;
use crate::train::run_dir::RunDir;
use crate::Result;
use std::path::Path;
// Loading the starting encoder from a path is the native driver's alone.
#[cfg(not(target_arch = "wasm32"))]
use {
    super::encoder_source::EncoderSource,
    crate::data::Normalization,
    crate::model::{ResNet, Stem},
    crate::Error,
    burn::prelude::*,
};

impl SupervisedConfig {
    /// The fine-tuning recipe (the module's) from the encoder at `start_from`: a run
    /// folder (its last checkpoint) or a safetensors file, whose width and stem it takes.
    pub fn finetune(start_from: &Path) -> Result<Self> {
        let shape = encoder_shape(start_from)?;
        Ok(Self {
            width: shape.width,
            stem: Some(shape.stem),
            start_from: Some(start_from.to_path_buf()),
            ..Self::finetune_recipe()
        })
    }

    /// The fine-tuning recipe's training settings, before an encoder is chosen.
    pub fn finetune_recipe() -> Self {
        Self {
            epochs: 30,
            min_steps: 200,
            lr: 0.2,
            momentum: 0.9,
            weight_decay: 0.0,
            ..Self::default()
        }
    }
}

/// Where an encoder path points: a run folder or a weights file.
#[cfg(not(target_arch = "wasm32"))]
fn source(path: &Path) -> EncoderSource {
    if path.is_dir() {
        EncoderSource::RunDir(path.to_path_buf())
    } else {
        EncoderSource::Weights(path.to_path_buf())
    }
}

/// The width and stem of the encoder at `path` (a run folder or a safetensors file),
/// without loading its weights.
pub fn encoder_shape(path: &Path) -> Result<ResNetConfig> {
    if path.is_dir() {
        let run = RunDir::new(path);
        let config = run.load_config()?;
        let side = super::encoder_source::trained_side(&run, &config)?;
        return Ok(ResNetConfig::new()
            .with_width(config.width)
            .with_stem(config.resolved_stem(side)));
    }
    let (file, len) = crate::io::input::open_regular(path, "an encoder file")?;
    let bytes = crate::io::input::read_up_to(file, len, path)?;
    encoder_config_from_bytes(&bytes, path)
}

/// The encoder a supervised run starts from and the normalisation to feed it: the one at
/// `config.start_from` with its own normalisation (else `fallback`), or a fresh one drawn
/// from `config.seed`. Either way the generator is left seeded for the classifier the same
/// however the encoder was made or read, so a run from an encoder in memory
/// ([`SupervisedTrainer::from_encoder`](super::supervised_task::SupervisedTrainer::from_encoder))
/// is the run from its file.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn starting_encoder<B: Backend>(
    config: &SupervisedConfig,
    side: usize,
    fallback: Normalization,
    device: &B::Device,
) -> Result<(ResNet<B>, Normalization)> {
    match &config.start_from {
        Some(path) => {
            let trained = source(path).load::<B>(side, device)?;
            let loaded = trained.encoder.config();
            let stem_differs = config.stem.is_some_and(|stem| stem != loaded.stem);
            if loaded.width != config.width || stem_differs {
                return Err(Error::invalid(
                    "start_from",
                    format!(
                        "{} holds a width-{} encoder with the {} stem, not the width-{} one \
                         this run was set up for",
                        path.display(),
                        loaded.width,
                        loaded.stem.name(),
                        config.width
                    ),
                ));
            }
            B::seed(device, config.seed);
            Ok((trained.encoder, trained.normalization.unwrap_or(fallback)))
        }
        None => {
            let stem = config.stem.unwrap_or(Stem::for_side(side));
            let encoder = ResNetConfig::new().with_width(config.width).with_stem(stem);
            B::seed(device, config.seed);
            Ok((encoder.init(device), fallback))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{AutodiffCpu, Cpu};
    use crate::data::{Dataset, DatasetSpec};
    use crate::eval::head::{HeadKind, ProbeConfig};
    use crate::eval::probing::{extract, probe};
    use crate::eval::supervised::{train_supervised, SupervisedTrainer};
    use crate::model::weights::encoder_to_bytes;
    use crate::train::driver::{PretrainOptions, Silent};
    use crate::train::run_dir::RunDir;
    use crate::train::session::TrainingTask;
    use crate::train::signature::weight_hash;
    use burn::module::AutodiffModule;

    /// A seeded width-`width` encoder written as safetensors in `dir`.
    fn encoder_file(dir: &Path, width: usize) -> std::path::PathBuf {
        let device = Default::default();
        Cpu::seed(&device, 7);
        let encoder = ResNetConfig::new().with_width(width).init::<Cpu>(&device);
        let bytes = encoder_to_bytes(&encoder, &Normalization::cifar10(), 0).unwrap();
        let path = dir.join("encoder.safetensors");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn synthetic(
        config: SupervisedConfig,
        train: usize,
        test: usize,
    ) -> (SupervisedConfig, Dataset) {
        let config = SupervisedConfig {
            dataset: DatasetSpec {
                synthetic_train_size: train,
                synthetic_test_size: test,
                ..DatasetSpec::default()
            },
            ..config
        };
        let data = config.dataset.load().unwrap();
        (config, data)
    }

    #[test]
    fn fine_tuning_starts_from_the_file_and_moves_the_encoder() {
        let dir = tempfile::tempdir().unwrap();
        let path = encoder_file(dir.path(), 4);
        let config = SupervisedConfig::finetune(&path).unwrap();
        assert_eq!((config.width, config.stem), (4, Some(Stem::Cifar)));
        assert_eq!(
            (config.weight_decay, config.start_from.as_deref()),
            (0.0, Some(path.as_path()))
        );
        let (config, data) = synthetic(
            SupervisedConfig {
                batch_size: 20,
                ..config
            },
            120,
            20,
        );
        let device = Default::default();
        let mut trainer = SupervisedTrainer::<AutodiffCpu>::new(&config, &data, &device).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let (file_encoder, _) =
            crate::model::weights::encoder_from_bytes::<Cpu>(&bytes, &path, &device).unwrap();
        let start = weight_hash(&trainer.model.encoder.valid());
        assert_eq!(
            start,
            weight_hash(&file_encoder),
            "starts from the file's weights"
        );
        for _ in 0..3 {
            trainer.step(&data).unwrap();
        }
        assert_ne!(
            weight_hash(&trainer.model.encoder.valid()),
            start,
            "the encoder is trained, not frozen"
        );
    }

    #[test]
    fn a_file_of_another_shape_than_the_settings_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = encoder_file(dir.path(), 4);
        let config = SupervisedConfig {
            width: 8,
            ..SupervisedConfig::finetune(&path).unwrap()
        };
        let (config, data) = synthetic(config, 40, 10);
        let err = SupervisedTrainer::<AutodiffCpu>::new(&config, &data, &Default::default())
            .err()
            .unwrap();
        assert!(
            matches!(
                err,
                Error::InvalidSetting {
                    setting: "start_from",
                    ..
                }
            ),
            "{err}"
        );
        let missing = SupervisedConfig::finetune(&dir.path().join("none.safetensors"));
        assert!(matches!(missing, Err(Error::Io { .. })), "{missing:?}");
    }

    /// End to end on a random encoder's features the linear probe has little to work
    /// with; training the encoder too should do better on the same labels.
    #[test]
    fn fine_tuning_beats_the_linear_probe_of_the_same_encoder() {
        let dir = tempfile::tempdir().unwrap();
        let path = encoder_file(dir.path(), 8);
        let config = SupervisedConfig {
            epochs: 10,
            min_steps: 0,
            batch_size: 30,
            lr: 0.2,
            ..SupervisedConfig::finetune(&path).unwrap()
        };
        let (config, data) = synthetic(config, 300, 100);
        let run = RunDir::new(dir.path().join("run"));
        let options = PretrainOptions {
            run_dir: Some(&run),
            resume: false,
            stop_after_epoch: None,
        };
        let device = Default::default();
        let tuned = train_supervised::<AutodiffCpu>(&config, &data, &options, &mut Silent, &device)
            .unwrap()
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let (encoder, _) =
            crate::model::weights::encoder_from_bytes::<Cpu>(&bytes, &path, &device).unwrap();
        let features = extract(&encoder, &data, &Normalization::cifar10(), &device).unwrap();
        let settings = ProbeConfig::default();
        let linear = probe::<AutodiffCpu>(
            &features,
            "start",
            HeadKind::Linear,
            1.0,
            1,
            &settings,
            &device,
        )
        .unwrap();
        eprintln!(
            "fine-tuned {} vs linear probe {}",
            tuned.report.top1, linear.top1
        );
        assert!(
            tuned.report.top1 > linear.top1,
            "fine-tuned {} vs linear probe {}",
            tuned.report.top1,
            linear.top1
        );
    }
}
