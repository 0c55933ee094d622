//! The native pretraining driver: epochs of [`Trainer`] steps, the kNN monitor, metrics and
//! checkpoints in a run folder, resumption.

use crate::config::PretrainConfig;
use crate::data::Dataset;
use crate::model::SimclrModel;
use crate::optim::OptimizerTask;
use crate::run_dir::{EpochMetrics, RunDir, StepLoss};
use crate::train::{finite_losses, LossBuffer, Trainer};
use crate::Result;
use crate::{knn, readback};
use burn::module::AutodiffModule;
use burn::optim::Optimizer;
use burn::tensor::backend::AutodiffBackend;
use std::time::Instant;

/// Steps between loss read-backs: the device runs ahead in between.
const READ_EVERY: usize = 10;

/// Live progress, for a progress bar or a log.
pub trait Progress {
    /// The run starts (or resumes) with `done` of `total` steps completed.
    fn start(&mut self, _total: usize, _done: usize) {}
    /// Steps up to `step` are done; the latest loss, learning rate and throughput.
    fn step(&mut self, _step: usize, _loss: f64, _lr: f64, _views_per_s: f64) {}
    /// An epoch ended.
    fn epoch(&mut self, _metrics: &EpochMetrics) {}
}

/// Progress that is not shown.
pub struct Silent;
impl Progress for Silent {}

/// Options of one invocation.
pub struct PretrainOptions<'a> {
    /// The run folder; without one nothing is written.
    pub run_dir: Option<&'a RunDir>,
    /// Continue from the run folder's last checkpoint.
    pub resume: bool,
    /// End this invocation after this many completed epochs (resume later).
    pub stop_after_epoch: Option<usize>,
}

/// What a pretraining invocation leaves.
pub struct PretrainOutcome<B: AutodiffBackend> {
    /// The trained network.
    pub model: SimclrModel<B>,
    /// One row per completed epoch (including earlier invocations when resumed).
    pub metrics: Vec<EpochMetrics>,
    /// The loss curve, one row per read-back.
    pub steps: Vec<StepLoss>,
}

/// Pretrains SimCLR on `dataset.train`, monitoring with kNN on `dataset.test`.
pub fn pretrain<B: AutodiffBackend>(
    config: &PretrainConfig,
    dataset: &Dataset,
    options: &PretrainOptions,
    progress: &mut dyn Progress,
    device: &B::Device,
) -> Result<PretrainOutcome<B>> {
    config
        .optimizer
        .with_optimizer::<B, SimclrModel<B>, _>(Driver {
            config,
            dataset,
            options,
            progress,
            device,
        })
}

struct Driver<'a, B: AutodiffBackend> {
    config: &'a PretrainConfig,
    dataset: &'a Dataset,
    options: &'a PretrainOptions<'a>,
    progress: &'a mut dyn Progress,
    device: &'a B::Device,
}

impl<B: AutodiffBackend> OptimizerTask<B, SimclrModel<B>> for Driver<'_, B> {
    type Output = Result<PretrainOutcome<B>>;

    fn run<O: Optimizer<SimclrModel<B>, B> + 'static>(mut self, optim: O) -> Self::Output {
        let data = self.dataset;
        let mut trainer = Trainer::<B, O>::new(
            self.config,
            &data.train,
            data.normalization,
            optim,
            self.device,
        )?;
        let mut metrics = vec![];
        let mut steps = vec![];
        if let Some(run) = self.options.run_dir {
            if self.options.resume {
                trainer = trainer.restore(run.load_checkpoint()?, &run.last_checkpoint())?;
                // Rows written after the checkpoint (a crash between the writes) go.
                metrics = run.load_metrics()?;
                metrics.retain(|m| m.epoch <= trainer.state.epoch);
                steps = run.load_steps()?;
                steps.retain(|s: &StepLoss| s.step <= trainer.state.step);
            }
            let resolved = PretrainConfig {
                image_size: Some(self.config.image_size.unwrap_or(data.train.height())),
                normalization: Some(data.normalization),
                ..self.config.clone()
            };
            run.save_config(&resolved)?;
        }
        self.progress
            .start(trainer.total_steps(), trainer.state.step);
        let last_epoch = self
            .options
            .stop_after_epoch
            .unwrap_or(usize::MAX)
            .min(self.config.epochs);
        while trainer.state.epoch < last_epoch {
            let row = self.epoch(&mut trainer, &mut steps)?;
            metrics.push(row.clone());
            if let Some(run) = self.options.run_dir {
                let every = self.config.checkpoint_every;
                let keep = every > 0 && row.epoch.is_multiple_of(every);
                run.save_checkpoint(&trainer.checkpoint()?, row.epoch, keep)?;
                run.save_metrics(&metrics)?;
                run.save_steps(&steps)?;
            }
            self.progress.epoch(&row);
        }
        Ok(PretrainOutcome {
            model: trainer.model,
            metrics,
            steps,
        })
    }
}

impl<B: AutodiffBackend> Driver<'_, B> {
    fn epoch<O: Optimizer<SimclrModel<B>, B>>(
        &mut self,
        trainer: &mut Trainer<B, O>,
        curve: &mut Vec<StepLoss>,
    ) -> Result<EpochMetrics> {
        let start = Instant::now();
        let views_per_step = 2 * self.config.batch_size;
        let mut losses = LossBuffer::new(READ_EVERY);
        let (mut loss_sum, mut loss_count) = (0.0, 0usize);
        let lr = loop {
            let out = trainer.step(&self.dataset.train);
            if let Some(read) = losses.push(out.loss, out.epoch_done) {
                let values = finite_losses(readback::floats(read)?, trainer.state.step)?;
                let sum = values.iter().map(|&v| v as f64).sum::<f64>();
                curve.push(StepLoss {
                    step: trainer.state.step,
                    loss: sum / values.len() as f64,
                    lr: out.lr,
                });
                loss_sum += sum;
                loss_count += values.len();
                let rate = (loss_count * views_per_step) as f64 / start.elapsed().as_secs_f64();
                let latest = values.last().copied().unwrap_or_default() as f64;
                self.progress.step(trainer.state.step, latest, out.lr, rate);
            }
            if out.epoch_done {
                break out.lr;
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        let epoch = trainer.state.epoch;
        let every = self.config.knn_every;
        let knn_top1 = if every > 0 && (epoch.is_multiple_of(every) || epoch == self.config.epochs)
        {
            let encoder = trainer.model.encoder.valid();
            let data = self.dataset;
            knn::evaluate(
                &encoder,
                &data.train,
                &data.test,
                &data.normalization,
                &self.config.knn,
                self.device,
            )?
        } else {
            None
        };
        Ok(EpochMetrics {
            epoch,
            step: trainer.state.step,
            loss: loss_sum / loss_count.max(1) as f64,
            lr,
            knn_top1,
            views_per_s: (loss_count * views_per_step) as f64 / seconds,
            seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::AutodiffCpu;
    use crate::config::Preset;
    use crate::data::DatasetSpec;
    use crate::knn::KnnConfig;
    use crate::test_support::encoder_tensors;

    fn tiny() -> PretrainConfig {
        PretrainConfig {
            width: 4,
            batch_size: 16,
            epochs: 2,
            projection_dim: 16,
            knn: KnnConfig {
                k: 5,
                ..KnnConfig::default()
            },
            dataset: DatasetSpec {
                synthetic_train_size: 64,
                synthetic_test_size: 30,
                ..DatasetSpec::default()
            },
            ..PretrainConfig::preset(Preset::Tiny)
        }
    }

    /// Every encoder tensor (weights and BatchNorm buffers) by name, and the head's output
    /// layer.
    fn weights(model: &SimclrModel<AutodiffCpu>) -> Vec<(String, Vec<u8>)> {
        let mut tensors = encoder_tensors(&model.encoder);
        let head = model.projection.fc2.weight.val().into_data();
        tensors.push(("head".into(), head.as_bytes().to_vec()));
        tensors
    }

    fn run(
        config: &PretrainConfig,
        data: &Dataset,
        run_dir: Option<&RunDir>,
        resume: bool,
        stop_after_epoch: Option<usize>,
    ) -> Result<PretrainOutcome<AutodiffCpu>> {
        let options = PretrainOptions {
            run_dir,
            resume,
            stop_after_epoch,
        };
        pretrain::<AutodiffCpu>(config, data, &options, &mut Silent, &Default::default())
    }

    #[test]
    fn resuming_gives_the_same_weights_as_an_uninterrupted_run() {
        let config = tiny();
        let data = config.dataset.load().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let straight_dir = RunDir::new(dir.path().join("straight"));
        let straight = run(&config, &data, Some(&straight_dir), false, None).unwrap();
        assert_eq!(straight.metrics.len(), 2);

        let split_dir = RunDir::new(dir.path().join("split"));
        let partial = run(&config, &data, Some(&split_dir), false, Some(1)).unwrap();
        assert_eq!(partial.metrics.len(), 1);
        assert!(weights(&partial.model) != weights(&straight.model));
        let resumed = run(&config, &data, Some(&split_dir), true, None).unwrap();
        assert!(weights(&resumed.model) == weights(&straight.model));
        assert_eq!(resumed.metrics.len(), 2);
        assert_eq!(split_dir.load_metrics().unwrap().len(), 2);
        assert_eq!(resumed.metrics[1].loss, straight.metrics[1].loss);
        assert!(straight_dir.last_checkpoint().exists());
    }

    #[test]
    fn loss_falls_and_knn_is_reported() {
        let config = PretrainConfig {
            epochs: 4,
            ..tiny()
        };
        let data = config.dataset.load().unwrap();
        let out = run(&config, &data, None, false, None).unwrap();
        let losses: Vec<f64> = out.metrics.iter().map(|m| m.loss).collect();
        assert!(losses[3] < losses[0], "{losses:?}");
        let knn = out.metrics[3].knn_top1.expect("kNN measured");
        assert!((0.0..=1.0).contains(&knn));
    }

    #[test]
    fn batch_larger_than_dataset_is_an_error() {
        let config = PretrainConfig {
            batch_size: 128,
            ..tiny()
        };
        let data = config.dataset.load().unwrap();
        let err = run(&config, &data, None, false, None).err().unwrap();
        assert!(
            err.to_string()
                .contains("batch size 128 is larger than the 64 training images"),
            "{err}"
        );
    }
}
