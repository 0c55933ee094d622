//! The SimCLR training step: a batch, two views made on the device, one forward pass over
//! the 2N views (BatchNorm sees the whole batch), NT-Xent, backward, optimiser step. The
//! loss comes back as a device tensor; the [`Session`](crate::train::session::Session) reads it
//! back when it chooses.

use crate::augment::AugmentConfig;
use crate::data::{Dataset, Normalization, Split};
use crate::loss::nt_xent;
use crate::model::SimclrModel;
use crate::rng::Rng;
use crate::train::checkpoint::{pack, unpack, CheckpointBytes};
use crate::train::config::PretrainConfig;
use crate::train::optim::{ModuleOptimizer, Schedule};
use crate::train::session::{epoch_order, Plan, Position, TaskStep, TrainingTask};
use crate::{Error, Result};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use std::path::Path;

const AUGMENT_STREAM: u64 = 2;

/// Where a run stands; saved in every checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Steps completed.
    pub step: usize,
    /// The augmentation parameter stream.
    pub augment_rng: Rng,
}

impl TrainState {
    /// The state before the first step of a run seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            epoch: 0,
            step: 0,
            augment_rng: Rng::stream(seed, AUGMENT_STREAM),
        }
    }
}

/// Model, optimiser and state of a pretraining run.
pub struct Trainer<B: AutodiffBackend> {
    /// The network.
    pub model: SimclrModel<B>,
    /// The optimiser.
    pub optim: ModuleOptimizer<B, SimclrModel<B>>,
    /// Progress and random state.
    pub state: TrainState,
    augment: AugmentConfig,
    normalization: Normalization,
    temperature: f64,
    batch_size: usize,
    seed: u64,
    schedule: Schedule,
    plan: Plan,
    order: Vec<usize>,
    image_size: usize,
    device: B::Device,
}

impl<B: AutodiffBackend> Trainer<B> {
    /// A trainer at the start of a run. The model is initialised from the seed.
    pub fn new(
        config: &PretrainConfig,
        train: &Split,
        normalization: Normalization,
        device: &B::Device,
    ) -> Result<Self> {
        config.validate()?;
        if train.height() != train.width() {
            return Err(Error::invalid("images", "images must be square"));
        }
        let steps_per_epoch = train.len() / config.batch_size;
        if steps_per_epoch == 0 {
            return Err(Error::invalid(
                "batch_size",
                format!(
                    "batch size {} is larger than the {} training images",
                    config.batch_size,
                    train.len()
                ),
            ));
        }
        // Views are resized to `image_size` (RandomResizedCrop's output size) when it is set.
        let image_size = config.image_size.unwrap_or(train.height());
        B::seed(device, config.seed);
        let model = config.model(image_size).init::<B>(device);
        let warmup_steps =
            (config.optimizer.warmup_epochs * steps_per_epoch as f64).round() as usize;
        let total_steps = config.total_steps(train.len());
        Ok(Self {
            model,
            optim: config.optimizer.init(),
            state: TrainState::new(config.seed),
            augment: config.augment()?,
            normalization,
            temperature: config.temperature,
            batch_size: config.batch_size,
            seed: config.seed,
            schedule: Schedule {
                peak: config.optimizer.peak_lr(config.batch_size),
                warmup_steps,
                total_steps,
            },
            plan: Plan {
                steps_per_epoch,
                epochs: config.epochs,
                total_steps,
                views_per_step: 2 * config.batch_size,
            },
            order: vec![],
            image_size,
            device: device.clone(),
        })
    }

    /// The seed of every random stream of the run.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The augmentation recipe of the views.
    pub fn augment(&self) -> &AugmentConfig {
        &self.augment
    }

    /// One optimisation step on the next batch of `train`.
    pub fn step_on(&mut self, train: &Split) -> TaskStep<B> {
        let steps_per_epoch = self.plan.steps_per_epoch;
        let position = self.state.step % steps_per_epoch;
        if position == 0 || self.order.len() != train.len() {
            self.order = epoch_order(self.seed, self.state.epoch, train.len());
        }
        let n = self.batch_size;
        let pixels = train.batch_u8(&self.order[position * n..(position + 1) * n]);
        let views = self.augment.two_views::<B>(
            &pixels,
            n,
            [train.height(), train.width()],
            self.image_size,
            &self.normalization,
            &mut self.state.augment_rng,
            &self.device,
        );
        let z = self.model.forward(views);
        let loss = nt_xent(
            z.clone().narrow(0, 0, n),
            z.narrow(0, n, n),
            self.temperature,
        );
        let lr = self.schedule.lr(self.state.step);
        self.model = self.optim.minimize(lr, self.model.clone(), &loss);
        self.state.step += 1;
        if self.state.step.is_multiple_of(steps_per_epoch) {
            self.state.epoch += 1;
        }
        TaskStep {
            loss: loss.inner(),
            lr,
        }
    }
}

impl<B: AutodiffBackend> TrainingTask<B> for Trainer<B> {
    fn plan(&self) -> Plan {
        self.plan
    }

    fn position(&self) -> Position {
        Position {
            epoch: self.state.epoch,
            step: self.state.step,
        }
    }

    fn step(&mut self, data: &Dataset) -> TaskStep<B> {
        self.step_on(&data.train)
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
