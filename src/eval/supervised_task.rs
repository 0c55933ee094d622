//! The supervised run as a training task, on every target: the labelled subset and its
//! plan, the classifier (encoder + linear layer on `h`) with its optimiser, one step of
//! cross-entropy on a cropped and flipped batch, and the test evaluation, queued so that a
//! browser can read it back without blocking. The native driver around it (run folders,
//! resume, result file) is [`super::supervised`]; the page's worker drives it directly.

use crate::augment::crop::crop_pad_flip;
use crate::augment::{normalize, to_unit_tensor};
use crate::data::{Dataset, Normalization};
use crate::eval::features::forward_images;
use crate::eval::head::{report_from_top_k, ProbeReport};
use crate::eval::probing::{label_subset, labelled};
use crate::model::{Classifier, ResNet};
use crate::rng::Rng;
use crate::train::checkpoint::{pack, unpack, CheckpointBytes};
use crate::train::optim::{ModuleOptimizer, Schedule};
use crate::train::session::{epoch_order, Plan, Position, TaskStep, TrainingTask};
use crate::{io::readback, Error, Result};
use burn::module::AutodiffModule;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::nn::LinearConfig;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use super::supervised_config::SupervisedConfig;

/// Test results of a supervised run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupervisedResult {
    /// Share of labels used.
    pub label_fraction: f64,
    /// Labelled training images used.
    pub train_examples: usize,
    /// Steps trained.
    pub steps: usize,
    /// Test accuracies, per class and the confusion matrix (`epochs` = epochs trained).
    pub report: ProbeReport,
}

/// Where a supervised run stands; saved in every checkpoint.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct LoopState {
    epoch: usize,
    step: usize,
}

/// The label subset, the batch size and the number of epochs of a run.
pub(crate) struct SubsetPlan {
    subset: Vec<usize>,
    labels: Vec<u8>,
    batch: usize,
    steps_per_epoch: usize,
    epochs: usize,
    classes: usize,
}

impl SupervisedConfig {
    /// Epochs the run will train on `data`: `epochs`, or more to reach `min_steps`.
    pub fn planned_epochs(&self, data: &Dataset) -> Result<usize> {
        Ok(self.plan(data)?.epochs)
    }

    pub(crate) fn plan(&self, data: &Dataset) -> Result<SubsetPlan> {
        self.validate()?;
        let (_, labels) = labelled(&data.train);
        if labels.is_empty() || data.test.is_empty() {
            return Err(Error::UnsuitableData(format!(
                "the supervised baseline needs labelled training and test images; {} has none",
                data.name
            )));
        }
        let subset = label_subset(&data.train, self.label_fraction, self.subset_seed);
        let batch = self.batch_size.min(subset.len());
        if batch < 2 {
            return Err(Error::invalid(
                "batch_size",
                "the supervised baseline needs batches of at least 2 images",
            ));
        }
        let steps_per_epoch = subset.len() / batch;
        let epochs = self
            .epochs
            .max(self.min_steps.div_ceil(steps_per_epoch))
            .max(1);
        let classes = data
            .classes
            .len()
            .max(labels.iter().map(|&l| l as usize + 1).max().unwrap_or(1));
        Ok(SubsetPlan {
            labels: subset
                .iter()
                .map(|&i| data.train.label(i).unwrap_or_default())
                .collect(),
            subset,
            batch,
            steps_per_epoch,
            epochs,
            classes,
        })
    }
}

/// The classifier, its optimiser and its place in the run: the baseline's training task.
pub struct SupervisedTrainer<B: AutodiffBackend> {
    /// The encoder and its linear classifier.
    pub model: Classifier<B>,
    optim: ModuleOptimizer<B, Classifier<B>>,
    loss: CrossEntropyLoss<B>,
    state: LoopState,
    subset: SubsetPlan,
    schedule: Schedule,
    seed: u64,
    label_fraction: f64,
    order: Vec<usize>,
    /// The input normalisation: the starting encoder's own, else the data's.
    normalization: Normalization,
    device: B::Device,
}

impl<B: AutodiffBackend> SupervisedTrainer<B> {
    /// The model: a fresh encoder, or the one fine-tuning starts from
    /// (`config.start_from`), and a fresh classifier, both from the seed.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn new(
        config: &SupervisedConfig,
        data: &Dataset,
        device: &B::Device,
    ) -> Result<Self> {
        let side = data.train.height();
        let (encoder, normalization) =
            super::finetune::starting_encoder::<B>(config, side, data.normalization, device)?;
        Self::with_encoder(config, data, encoder, normalization, device)
    }

    /// The run from `encoder` (in inference mode, fed images normalised with
    /// `normalization`), every weight of it trained, and a fresh, seeded classifier:
    /// fine-tuning an encoder already in memory.
    pub fn from_encoder(
        config: &SupervisedConfig,
        data: &Dataset,
        encoder: ResNet<B::InnerBackend>,
        normalization: Normalization,
        device: &B::Device,
    ) -> Result<Self> {
        let encoder = crate::model::trainable_encoder::<B>(encoder, device);
        // As `starting_encoder` leaves the generator after reading an encoder.
        B::seed(device, config.seed);
        Self::with_encoder(config, data, encoder, normalization, device)
    }

    fn with_encoder(
        config: &SupervisedConfig,
        data: &Dataset,
        encoder: ResNet<B>,
        normalization: Normalization,
        device: &B::Device,
    ) -> Result<Self> {
        let plan = config.plan(data)?;
        let features = encoder.config().feature_dim();
        let model = crate::model::materialize(Classifier {
            encoder,
            fc: LinearConfig::new(features, plan.classes).init(device),
        });
        Ok(Self {
            model,
            optim: config.optimizer().init(),
            loss: CrossEntropyLossConfig::new().init(device),
            state: LoopState::default(),
            schedule: Schedule {
                peak: config.lr * plan.batch as f64 / 256.0,
                warmup_steps: 0,
                total_steps: plan.steps_per_epoch * plan.epochs,
            },
            subset: plan,
            seed: config.seed,
            label_fraction: config.label_fraction,
            order: vec![],
            normalization,
            device: device.clone(),
        })
    }

    /// Whether every planned epoch has been trained.
    pub fn is_complete(&self) -> bool {
        self.state.epoch >= self.subset.epochs
    }

    /// The classifier as it stands, evaluated on `data`'s test split: the predictions
    /// are queued on the device, to be read with [`PendingResult::read`] (or
    /// [`PendingResult::read_async`] in a browser).
    pub fn test(&self, data: &Dataset) -> PendingResult<B::InnerBackend> {
        let model = self.model.valid();
        let test = &data.test;
        let (indices, labels) = labelled(test);
        let plan = &self.subset;
        let logits = forward_images(
            test,
            &indices,
            &self.normalization,
            256,
            &self.device,
            |x| model.forward(x),
        );
        PendingResult {
            top: logits.topk_with_indices(top_k(plan.classes), 1).1,
            labels,
            classes: plan.classes,
            epochs: self.state.epoch,
            label_fraction: self.label_fraction,
            train_examples: plan.subset.len(),
            steps: self.state.step,
        }
    }
}

/// A supervised run's test predictions on the device, and what its result needs besides.
pub struct PendingResult<B: Backend> {
    top: Tensor<B, 2, Int>,
    labels: Vec<u8>,
    classes: usize,
    epochs: usize,
    label_fraction: f64,
    train_examples: usize,
    steps: usize,
}

impl<B: Backend> PendingResult<B> {
    /// Reads the predictions back, blocking.
    pub fn read(self) -> Result<SupervisedResult> {
        // A tensor clone is a handle, not a copy.
        let top = readback::ints(self.top.clone())?;
        Ok(self.result(&top))
    }

    /// Reads the predictions back without blocking.
    pub async fn read_async(self) -> Result<SupervisedResult> {
        let top = readback::ints_async(self.top.clone()).await?;
        Ok(self.result(&top))
    }

    fn result(&self, top: &[i64]) -> SupervisedResult {
        SupervisedResult {
            label_fraction: self.label_fraction,
            train_examples: self.train_examples,
            steps: self.steps,
            report: report_from_top_k(
                top,
                top_k(self.classes),
                &self.labels,
                self.classes,
                self.epochs,
            ),
        }
    }
}

/// Predictions kept per test image: top-1 and top-5 (fewer when there are fewer classes).
fn top_k(classes: usize) -> usize {
    classes.min(5)
}

impl<B: AutodiffBackend> TrainingTask<B> for SupervisedTrainer<B> {
    fn plan(&self) -> Plan {
        let plan = &self.subset;
        Plan {
            steps_per_epoch: plan.steps_per_epoch,
            epochs: plan.epochs,
            total_steps: self.schedule.total_steps,
            views_per_step: plan.batch,
        }
    }

    fn position(&self) -> Position {
        Position {
            epoch: self.state.epoch,
            step: self.state.step,
        }
    }

    /// One batch of the label subset in the epoch's seeded order.
    fn step(&mut self, data: &Dataset) -> Result<TaskStep<B>> {
        let plan = &self.subset;
        let position = self.state.step % plan.steps_per_epoch;
        if position == 0 || self.order.is_empty() {
            self.order = epoch_order(self.seed, self.state.epoch, plan.subset.len());
        }
        let batch = &self.order[position * plan.batch..(position + 1) * plan.batch];
        let idx: Vec<usize> = batch.iter().map(|&i| plan.subset[i]).collect();
        let side = data.train.height();
        // Seeded by the step, so a resumed run augments exactly as an unbroken one.
        let mut rng = Rng::stream(self.seed.wrapping_add(self.state.step as u64), 3);
        let pixels = crop_pad_flip(&data.train.batch_u8(&idx), side, side, &mut rng);
        let images = to_unit_tensor::<B>(&pixels, idx.len(), side, side, &self.device);
        let labels: Vec<i64> = batch.iter().map(|&i| plan.labels[i] as i64).collect();
        let targets = Tensor::from_data(TensorData::new(labels, [idx.len()]), &self.device);
        let logits = self.model.forward(normalize(images, &self.normalization));
        let loss = self.loss.forward(logits, targets);
        let lr = self.schedule.lr(self.state.step);
        self.model = self.optim.minimize(lr, self.model.clone(), &loss);
        self.state.step += 1;
        if self.state.step.is_multiple_of(self.subset.steps_per_epoch) {
            self.state.epoch += 1;
        }
        Ok(TaskStep {
            loss: loss.inner(),
            lr,
        })
    }

    fn checkpoint(&self) -> Result<CheckpointBytes> {
        pack(&self.state, &self.model, &self.optim)
    }

    fn restore(&mut self, checkpoint: CheckpointBytes, path: &Path) -> Result<()> {
        (self.state, self.model, self.optim) = unpack(
            checkpoint,
            self.model.clone(),
            self.optim.clone(),
            &self.device,
            path,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{AutodiffCpu, Cpu};
    use crate::data::DatasetSpec;
    use crate::model::weights::{encoder_from_bytes, encoder_to_bytes};
    use crate::model::ResNetConfig;
    use crate::train::signature::weight_hash;

    fn steps(trainer: &mut SupervisedTrainer<AutodiffCpu>, data: &Dataset, n: usize) {
        for _ in 0..n {
            trainer.step(data).unwrap();
        }
    }

    /// The page fine-tunes the encoder it holds; the command line reads it from a file.
    /// From the same weights and settings both runs are the same run.
    #[test]
    fn fine_tuning_from_memory_is_fine_tuning_from_the_file() {
        let device = Default::default();
        Cpu::seed(&device, 11);
        let held = ResNetConfig::new().with_width(4).init::<Cpu>(&device);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("encoder.safetensors");
        let bytes = encoder_to_bytes(&held, &Normalization::cifar10(), 0).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let config = SupervisedConfig {
            dataset: DatasetSpec {
                synthetic_train_size: 80,
                synthetic_test_size: 30,
                ..DatasetSpec::default()
            },
            batch_size: 20,
            label_fraction: 0.5,
            ..SupervisedConfig::finetune(&path).unwrap()
        };
        let data = config.dataset.load().unwrap();
        // Read for inference, as the page imports a file: its weights are frozen there.
        let (from_file, _) = encoder_from_bytes::<Cpu>(&bytes, &path, &device).unwrap();
        assert_eq!(weight_hash(&from_file), weight_hash(&held));
        let mut in_memory = SupervisedTrainer::<AutodiffCpu>::from_encoder(
            &config,
            &data,
            from_file,
            Normalization::cifar10(),
            &device,
        )
        .unwrap();
        let mut read = SupervisedTrainer::<AutodiffCpu>::new(&config, &data, &device).unwrap();
        steps(&mut in_memory, &data, 3);
        steps(&mut read, &data, 3);
        assert_eq!(
            weight_hash(&in_memory.model.valid()),
            weight_hash(&read.model.valid())
        );
        assert_ne!(
            weight_hash(&in_memory.model.encoder.valid()),
            weight_hash(&held),
            "the encoder trains"
        );
        let result = in_memory.test(&data).read().unwrap();
        assert_eq!(result, read.test(&data).read().unwrap());
        assert_eq!((result.steps, result.train_examples), (3, 40));
        assert_eq!(result.report.confusion.iter().flatten().sum::<usize>(), 30);
        assert!(!in_memory.is_complete());
    }
}
