//! The supervised baseline: the same ResNet-18 plus a linear classifier, trained end to end
//! with cross-entropy on a labelled fraction of the training split (random crop with
//! 4-pixel zero padding, horizontal flip; SGD with momentum, cosine schedule).

use crate::augment::{normalize, to_unit_tensor};
use crate::backend::BackendKind;
use crate::checkpoint::{pack, unpack};
use crate::data::{Dataset, DatasetSpec};
use crate::evaluation::{label_subset, labelled};
use crate::features::forward_images;
use crate::model::{ResNet, ResNetConfig, Stem};
use crate::optim::{OptimizerConfig, OptimizerKind, OptimizerTask, Schedule};
use crate::pretrain::{PretrainOptions, Progress};
use crate::probe::{report_from_top_k, ProbeReport};
use crate::rng::Rng;
use crate::run_dir::{EpochMetrics, RunDir};
use crate::{readback, Error, Result};
use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The run folder's configuration file.
pub const CONFIG_FILE: &str = "supervised.json";
/// The run folder's result file.
pub const RESULT_FILE: &str = "result.json";
const PAD: usize = 4;

/// Everything that defines a supervised run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SupervisedConfig {
    /// The data.
    pub dataset: DatasetSpec,
    /// Encoder base width.
    pub width: usize,
    /// Encoder stem; from the image size when absent.
    pub stem: Option<Stem>,
    /// Share of the labelled training images to train on (stratified, seeded).
    pub label_fraction: f64,
    /// Seed of the label subset (the probes' subset seed 0 is the same subset).
    pub subset_seed: u64,
    /// Epochs over the labelled subset.
    pub epochs: usize,
    /// At least this many steps: small subsets get more epochs.
    pub min_steps: usize,
    /// Images per batch (fewer when the subset is smaller).
    pub batch_size: usize,
    /// Base learning rate, scaled by batch / 256.
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Seed of initialisation, batch order and augmentation.
    pub seed: u64,
    /// Compute backend.
    pub backend: BackendKind,
}

impl Default for SupervisedConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetSpec::default(),
            width: 64,
            stem: None,
            label_fraction: 1.0,
            subset_seed: 0,
            epochs: 30,
            min_steps: 0,
            batch_size: 128,
            lr: 0.2,
            momentum: 0.9,
            weight_decay: 5e-4,
            seed: 0,
            backend: BackendKind::Cpu,
        }
    }
}

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

/// ResNet encoder and linear classifier.
#[derive(Module, Debug)]
pub struct Classifier<B: Backend> {
    /// The encoder.
    pub encoder: ResNet<B>,
    /// The classifier on `h`.
    pub fc: Linear<B>,
}

impl<B: Backend> Classifier<B> {
    /// # Shapes
    /// - `images`: `[N, 3, H, W]` → logits `[N, classes]`
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.fc.forward(self.encoder.forward(images))
    }
}

/// Zero-pads each CHW u8 image by 4 pixels, crops a random window of the original size and
/// flips it horizontally with probability ½.
pub fn crop_pad_flip(pixels: &[u8], height: usize, width: usize, rng: &mut Rng) -> Vec<u8> {
    let plane = height * width;
    let mut out = vec![0u8; pixels.len()];
    for (src, dst) in pixels
        .chunks_exact(3 * plane)
        .zip(out.chunks_exact_mut(3 * plane))
    {
        let (dy, dx) = (rng.below(2 * PAD + 1), rng.below(2 * PAD + 1));
        let flip = rng.bernoulli(0.5);
        for c in 0..3 {
            for y in 0..height {
                let sy = (y + dy).checked_sub(PAD).filter(|&v| v < height);
                for x in 0..width {
                    let xx = if flip { width - 1 - x } else { x };
                    let sx = (xx + dx).checked_sub(PAD).filter(|&v| v < width);
                    if let (Some(sy), Some(sx)) = (sy, sx) {
                        dst[c * plane + y * width + x] = src[c * plane + sy * width + sx];
                    }
                }
            }
        }
    }
    out
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
    let optimizer = OptimizerConfig {
        kind: OptimizerKind::Sgd,
        lr: config.lr,
        weight_decay: config.weight_decay,
        momentum: config.momentum,
        warmup_epochs: 0.0,
        ..OptimizerConfig::paper()
    };
    optimizer.with_optimizer::<B, Classifier<B>, _>(Loop {
        config,
        data,
        run: options.run_dir,
        resume: options.resume,
        stop_after_epoch: options.stop_after_epoch,
        progress,
        device,
    })
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct LoopState {
    epoch: usize,
    step: usize,
}

struct Loop<'a, B: AutodiffBackend> {
    config: &'a SupervisedConfig,
    data: &'a Dataset,
    run: Option<&'a RunDir>,
    resume: bool,
    stop_after_epoch: Option<usize>,
    progress: &'a mut dyn Progress,
    device: &'a B::Device,
}

/// The label subset, the batch size and the number of epochs of a run.
struct Plan {
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

    fn plan(&self, data: &Dataset) -> Result<Plan> {
        let (_, labels) = labelled(&data.train);
        if labels.is_empty() || data.test.is_empty() {
            return Err(Error::Config(format!(
                "the supervised baseline needs labelled training and test images; {} has none",
                data.name
            )));
        }
        let subset = label_subset(&data.train, self.label_fraction, self.subset_seed);
        let batch = self.batch_size.min(subset.len());
        if batch < 2 {
            return Err(Error::Config(
                "the supervised baseline needs batches of at least 2 images".into(),
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
        Ok(Plan {
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

impl<B: AutodiffBackend> OptimizerTask<B, Classifier<B>> for Loop<'_, B> {
    type Output = Result<Option<SupervisedResult>>;

    fn run<O: Optimizer<Classifier<B>, B> + 'static>(self, optim: O) -> Self::Output {
        let (config, data, device) = (self.config, self.data, self.device);
        let plan = config.plan(data)?;
        let (mut model, mut optim, mut state, mut metrics) = self.start(&plan, optim)?;
        let schedule = Schedule {
            peak: config.lr * plan.batch as f64 / 256.0,
            warmup_steps: 0,
            total_steps: plan.steps_per_epoch * plan.epochs,
        };
        self.progress.start(schedule.total_steps, state.step);
        while state.epoch < plan.epochs {
            let row;
            (model, row) = self.epoch(model, &mut optim, &mut state, &plan, &schedule)?;
            self.progress
                .step(state.step, row.loss, row.lr, row.views_per_s);
            metrics.push(row.clone());
            if let Some(run) = self.run {
                run.save_checkpoint(&pack(&state, &model, &optim)?, state.epoch, false)?;
                run.save_metrics(&metrics)?;
            }
            self.progress.epoch(&row);
            if self
                .stop_after_epoch
                .is_some_and(|stop| state.epoch >= stop)
                && state.epoch < plan.epochs
            {
                return Ok(None);
            }
        }
        let report = evaluate(&model.valid(), data, plan.classes, plan.epochs, device)?;
        let result = SupervisedResult {
            label_fraction: config.label_fraction,
            train_examples: plan.subset.len(),
            steps: state.step,
            report,
        };
        if let Some(run) = self.run {
            run.save_json(RESULT_FILE, &result)?;
        }
        Ok(Some(result))
    }
}

type Started<B, O> = (Classifier<B>, O, LoopState, Vec<EpochMetrics>);

impl<B: AutodiffBackend> Loop<'_, B> {
    /// A fresh model from the seed, or the run folder's checkpoint when resuming.
    fn start<O: Optimizer<Classifier<B>, B>>(
        &self,
        plan: &Plan,
        optim: O,
    ) -> Result<Started<B, O>> {
        let (config, device) = (self.config, self.device);
        let side = self.data.train.height();
        let stem = config.stem.unwrap_or(Stem::for_side(side));
        B::seed(device, config.seed);
        let encoder = ResNetConfig::new().with_width(config.width).with_stem(stem);
        let model = crate::model::materialize(Classifier {
            encoder: encoder.init(device),
            fc: LinearConfig::new(encoder.feature_dim(), plan.classes).init(device),
        });
        let mut started = (model, optim, LoopState::default(), vec![]);
        if let (Some(run), true) = (self.run, self.resume) {
            let path = run.last_checkpoint();
            (started.2, started.0, started.1) =
                unpack(run.load_checkpoint()?, started.0, started.1, device, &path)?;
            started.3 = run.load_metrics()?;
            let epoch = started.2.epoch;
            started.3.retain(|m: &EpochMetrics| m.epoch <= epoch);
        }
        if let Some(run) = self.run {
            run.save_json(CONFIG_FILE, config)?;
        }
        Ok(started)
    }

    /// One pass over the label subset in a seeded order.
    fn epoch<O: Optimizer<Classifier<B>, B>>(
        &self,
        mut model: Classifier<B>,
        optim: &mut O,
        state: &mut LoopState,
        plan: &Plan,
        schedule: &Schedule,
    ) -> Result<(Classifier<B>, EpochMetrics)> {
        let (config, data, device) = (self.config, self.data, self.device);
        let side = data.train.height();
        let start = Instant::now();
        let loss_fn = CrossEntropyLossConfig::new().init(device);
        let mut order: Vec<usize> = (0..plan.subset.len()).collect();
        Rng::stream(config.seed ^ ((state.epoch as u64) << 20), 1).shuffle(&mut order);
        let mut losses = vec![];
        for batch in order.chunks_exact(plan.batch) {
            let idx: Vec<usize> = batch.iter().map(|&i| plan.subset[i]).collect();
            // Seeded by the step, so a resumed run augments exactly as an unbroken one.
            let mut rng = Rng::stream(config.seed.wrapping_add(state.step as u64), 3);
            let pixels = crop_pad_flip(&data.train.batch_u8(&idx), side, side, &mut rng);
            let images = to_unit_tensor::<B>(&pixels, idx.len(), side, side, device);
            let labels: Vec<i64> = batch.iter().map(|&i| plan.labels[i] as i64).collect();
            let targets = Tensor::from_data(TensorData::new(labels, [idx.len()]), device);
            let logits = model.forward(normalize(images, &data.normalization));
            let loss = loss_fn.forward(logits, targets);
            losses.push(loss.clone().inner());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(schedule.lr(state.step), model, grads);
            state.step += 1;
        }
        state.epoch += 1;
        let values = readback::floats(Tensor::cat(losses, 0))?;
        let loss = values.iter().map(|&v| v as f64).sum::<f64>() / values.len().max(1) as f64;
        if !loss.is_finite() {
            return Err(Error::Config(format!(
                "supervised loss became {loss}; lower the learning rate"
            )));
        }
        let seconds = start.elapsed().as_secs_f64();
        let row = EpochMetrics {
            epoch: state.epoch,
            step: state.step,
            loss,
            lr: schedule.lr(state.step.saturating_sub(1)),
            knn_top1: None,
            views_per_s: (plan.steps_per_epoch * plan.batch) as f64 / seconds,
            seconds,
        };
        Ok((model, row))
    }
}

fn evaluate<B: Backend>(
    model: &Classifier<B>,
    data: &Dataset,
    classes: usize,
    epochs: usize,
    device: &B::Device,
) -> Result<ProbeReport> {
    let test = &data.test;
    let (indices, labels) = labelled(test);
    let k = classes.min(5);
    let norm = &data.normalization;
    let logits = forward_images(test, &indices, norm, 256, device, |x| model.forward(x));
    let top = readback::ints(logits.topk_with_indices(k, 1).1)?;
    Ok(report_from_top_k(&top, k, &labels, classes, epochs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::AutodiffCpu;
    use crate::pretrain::Silent;

    /// The image shifted by (dy, dx) - 4 with zero fill, then mirrored when `flip`.
    fn transformed(image: &[u8], h: usize, w: usize, dy: usize, dx: usize, flip: bool) -> Vec<u8> {
        let mut out = vec![0u8; image.len()];
        for c in 0..3 {
            for y in 0..h {
                for x in 0..w {
                    let xx = if flip { w - 1 - x } else { x };
                    let (sy, sx) = (y + dy, xx + dx);
                    if (4..h + 4).contains(&sy) && (4..w + 4).contains(&sx) {
                        out[c * h * w + y * w + x] = image[c * h * w + (sy - 4) * w + sx - 4];
                    }
                }
            }
        }
        out
    }

    #[test]
    fn crop_pad_flip_shifts_by_up_to_four_pixels_and_mirrors() {
        let (h, w) = (6, 5);
        let image: Vec<u8> = (0..3 * h * w).map(|i| i as u8 + 1).collect();
        let mut rng = Rng::new(0);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..400 {
            let out = crop_pad_flip(&image, h, w, &mut rng);
            let found = (0..9)
                .flat_map(|dy| (0..9).flat_map(move |dx| [(dy, dx, false), (dy, dx, true)]))
                .find(|&(dy, dx, flip)| transformed(&image, h, w, dy, dx, flip) == out);
            seen.insert(found.expect("every output is a padded crop, maybe mirrored"));
        }
        assert!(seen.iter().any(|t| t.2) && seen.iter().any(|t| !t.2));
        assert!(seen.len() > 100, "offsets and flips vary: {}", seen.len());
    }

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
