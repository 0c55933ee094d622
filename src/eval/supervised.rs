//! The supervised baseline: the same ResNet-18 plus a linear classifier, trained end to end
//! with cross-entropy on a labelled fraction of the training split (random crop with
//! 4-pixel zero padding, horizontal flip; SGD with momentum, cosine schedule).

use crate::augment::crop::crop_pad_flip;
use crate::augment::{normalize, to_unit_tensor};
use crate::data::{Dataset, Normalization};
use crate::eval::features::forward_images;
use crate::eval::finetune::starting_encoder;
use crate::eval::head::{report_from_top_k, ProbeReport};
use crate::eval::probing::{label_subset, labelled};
use crate::model::Classifier;
use crate::rng::Rng;
use crate::train::checkpoint::{pack, unpack, CheckpointBytes};
use crate::train::driver::{drive, PretrainOptions, Progress};
use crate::train::optim::{ModuleOptimizer, Schedule};
use crate::train::resume;
use crate::train::session::{
    epoch_order, Plan, Position, Session, SessionOptions, TaskStep, TrainingTask,
};
use crate::{io::readback, Error, Result};
use burn::module::AutodiffModule;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::nn::LinearConfig;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use super::supervised_config::SupervisedConfig;

/// The run folder's configuration file.
pub const CONFIG_FILE: &str = "supervised.json";
/// The run folder's result file.
pub const RESULT_FILE: &str = "result.json";

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

/// Trains the baseline (resuming from the run folder when asked) and evaluates it on the
/// test split; `None` when the invocation stopped early (`stop_after_epoch`).
pub fn train_supervised<B: AutodiffBackend>(
    config: &SupervisedConfig,
    data: &Dataset,
    options: &PretrainOptions,
    progress: &mut dyn Progress,
    device: &B::Device,
) -> Result<Option<SupervisedResult>> {
    let trainer = SupervisedTrainer::<B>::new(config, data, config.plan(data)?, device)?;
    let session_options = SessionOptions {
        // One read-back per epoch: the epoch's mean loss is all the baseline reports.
        read_every: usize::MAX,
        knn_every: 0,
        checkpoint_every: 0,
        stop_after_epoch: options.stop_after_epoch,
    };
    let mut session = Session::new(trainer, data, session_options);
    let _lock = match options.run_dir {
        Some(run) => {
            let lock = resume::take_over(&mut session, run, options.resume, || {
                let saved = resume::saved_config(run, &resume::SUPERVISED, options.resume)?;
                match saved {
                    Some(saved) => resume::check(run, &resume::SUPERVISED, &saved, config),
                    None => Ok(()),
                }
            })?;
            run.save_json(resume::SUPERVISED.file, config)?;
            Some(lock)
        }
        None => None,
    };
    drive(&mut session, options.run_dir, progress, |_, _| Ok(None))?;
    let position = session.position();
    let (trainer, _, _) = session.finish();
    let plan = &trainer.subset;
    if position.epoch < plan.epochs {
        return Ok(None);
    }
    let report = evaluate(
        &trainer.model.valid(),
        data,
        &trainer.normalization,
        (plan.classes, plan.epochs),
        device,
    )?;
    let result = SupervisedResult {
        label_fraction: config.label_fraction,
        train_examples: plan.subset.len(),
        steps: position.step,
        report,
    };
    if let Some(run) = options.run_dir {
        run.save_json(RESULT_FILE, &result)?;
    }
    Ok(Some(result))
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
pub(crate) struct SupervisedTrainer<B: AutodiffBackend> {
    pub(crate) model: Classifier<B>,
    optim: ModuleOptimizer<B, Classifier<B>>,
    loss: CrossEntropyLoss<B>,
    state: LoopState,
    subset: SubsetPlan,
    schedule: Schedule,
    seed: u64,
    order: Vec<usize>,
    /// The input normalisation: the starting encoder's own, else the data's.
    normalization: Normalization,
    device: B::Device,
}

impl<B: AutodiffBackend> SupervisedTrainer<B> {
    /// The model from the seed: a fresh encoder, or the one fine-tuning starts from, and
    /// a fresh classifier.
    pub(crate) fn new(
        config: &SupervisedConfig,
        data: &Dataset,
        plan: SubsetPlan,
        device: &B::Device,
    ) -> Result<Self> {
        B::seed(device, config.seed);
        let side = data.train.height();
        let (encoder, normalization) =
            starting_encoder::<B>(config, side, data.normalization, device)?;
        let features = encoder.config().feature_dim();
        let model = crate::model::materialize(Classifier {
            encoder,
            fc: LinearConfig::new(features, plan.classes).init(device),
        });
        let optimizer = config.optimizer();
        Ok(Self {
            model,
            optim: optimizer.init(),
            loss: CrossEntropyLossConfig::new().init(device),
            state: LoopState::default(),
            schedule: Schedule {
                peak: config.lr * plan.batch as f64 / 256.0,
                warmup_steps: 0,
                total_steps: plan.steps_per_epoch * plan.epochs,
            },
            subset: plan,
            seed: config.seed,
            order: vec![],
            normalization,
            device: device.clone(),
        })
    }
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

/// Test accuracies of `model`; `classes` and `epochs` trained for the report.
fn evaluate<B: Backend>(
    model: &Classifier<B>,
    data: &Dataset,
    norm: &Normalization,
    (classes, epochs): (usize, usize),
    device: &B::Device,
) -> Result<ProbeReport> {
    let test = &data.test;
    let (indices, labels) = labelled(test);
    let k = classes.min(5);
    let logits = forward_images(test, &indices, norm, 256, device, |x| model.forward(x));
    let top = readback::ints(logits.topk_with_indices(k, 1).1)?;
    Ok(report_from_top_k(&top, k, &labels, classes, epochs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::AutodiffCpu;
    use crate::data::DatasetSpec;
    use crate::train::driver::Silent;
    use crate::train::run_dir::RunDir;

    fn tiny() -> (SupervisedConfig, Dataset) {
        let config = SupervisedConfig {
            dataset: DatasetSpec {
                synthetic_train_size: 120,
                synthetic_test_size: 60,
                ..DatasetSpec::default()
            },
            width: 4,
            label_fraction: 0.5,
            epochs: 2,
            batch_size: 20,
            ..SupervisedConfig::default()
        };
        let data = config.dataset.load().unwrap();
        (config, data)
    }

    fn run(
        config: &SupervisedConfig,
        data: &Dataset,
        dir: &RunDir,
        resume: bool,
        stop: Option<usize>,
    ) -> Option<SupervisedResult> {
        let options = PretrainOptions {
            run_dir: Some(dir),
            resume,
            stop_after_epoch: stop,
        };
        train_supervised::<AutodiffCpu>(config, data, &options, &mut Silent, &Default::default())
            .unwrap()
    }

    #[test]
    fn resuming_gives_the_same_result_as_an_unbroken_run() {
        let (config, data) = tiny();
        let dir = tempfile::tempdir().unwrap();
        let straight = run(
            &config,
            &data,
            &RunDir::new(dir.path().join("a")),
            false,
            None,
        )
        .unwrap();
        assert_eq!(straight.train_examples, 60);
        assert_eq!(straight.steps, 6);
        assert_eq!(
            straight.report.confusion.iter().flatten().sum::<usize>(),
            60
        );
        let split_dir = RunDir::new(dir.path().join("b"));
        assert!(run(&config, &data, &split_dir, false, Some(1)).is_none());
        assert_eq!(split_dir.load_metrics().unwrap().len(), 1);
        let resumed = run(&config, &data, &split_dir, true, None).unwrap();
        assert_eq!(resumed, straight);
        assert_eq!(split_dir.load_metrics().unwrap().len(), 2);
        let saved: SupervisedResult = split_dir.load_json(RESULT_FILE).unwrap().unwrap();
        assert_eq!(saved, straight);
    }

    #[test]
    fn learns_the_synthetic_classes() {
        let (config, _) = tiny();
        let config = SupervisedConfig {
            dataset: DatasetSpec {
                synthetic_train_size: 300,
                synthetic_test_size: 100,
                ..DatasetSpec::default()
            },
            label_fraction: 1.0,
            epochs: 10,
            width: 8,
            batch_size: 30,
            ..config
        };
        let data = config.dataset.load().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let result = run(&config, &data, &RunDir::new(dir.path()), false, None).unwrap();
        assert!(
            result.report.top1 > 0.25,
            "chance is 0.1: {:?}",
            result.report.top1
        );
    }
}
