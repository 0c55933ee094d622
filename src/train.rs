//! The training step and its bookkeeping, shared by the native driver and the browser.
//!
//! A step: a batch, two views made on the device, one forward pass over the 2N views
//! (BatchNorm sees the whole batch), NT-Xent, backward, optimiser step. The loss comes
//! back as a device tensor; callers read it back when they choose.

use crate::augment::AugmentConfig;
use crate::checkpoint::{pack, unpack, CheckpointBytes};
use crate::config::PretrainConfig;
use crate::data::{Normalization, Split};
use crate::loss::nt_xent;
use crate::model::SimclrModel;
use crate::optim::Schedule;
use crate::rng::Rng;
use crate::{Error, Result};
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use std::path::Path;

const DATA_ORDER_STREAM: u64 = 1;
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

/// What one step returns.
pub struct StepOutput<B: AutodiffBackend> {
    /// The batch's loss, still on the device.
    pub loss: Tensor<B::InnerBackend, 1>,
    /// The learning rate used.
    pub lr: f64,
    /// Whether this step completed an epoch.
    pub epoch_done: bool,
}

/// Losses of the steps since the last read-back. They stay on the device so that a step
/// never waits for the host; every `read_every` steps (or when asked to flush) they come
/// back as one tensor to read.
pub struct LossBuffer<B: Backend> {
    pending: Vec<Tensor<B, 1>>,
    read_every: usize,
}

impl<B: Backend> LossBuffer<B> {
    /// An empty buffer that fills up after `read_every` steps.
    pub fn new(read_every: usize) -> Self {
        Self {
            pending: vec![],
            read_every: read_every.max(1),
        }
    }

    /// Adds a step's loss; returns the gathered losses when it is time to read them.
    pub fn push(&mut self, loss: Tensor<B, 1>, flush: bool) -> Option<Tensor<B, 1>> {
        self.pending.push(loss);
        if self.pending.len() < self.read_every && !flush {
            return None;
        }
        Some(Tensor::cat(std::mem::take(&mut self.pending), 0))
    }
}

/// Read-back losses, or an error at the first one that is not finite; `step` is the step
/// the read-back ended at.
pub fn finite_losses(values: Vec<f32>, step: usize) -> Result<Vec<f32>> {
    match values.iter().find(|v| !v.is_finite()) {
        Some(bad) => Err(Error::Config(format!(
            "loss became {bad} at step {step}; lower the learning rate"
        ))),
        None => Ok(values),
    }
}

/// Model, optimiser and state of a pretraining run.
pub struct Trainer<B: AutodiffBackend, O: Optimizer<SimclrModel<B>, B>> {
    /// The network.
    pub model: SimclrModel<B>,
    /// The optimiser.
    pub optim: O,
    /// Progress and random state.
    pub state: TrainState,
    augment: AugmentConfig,
    normalization: Normalization,
    temperature: f64,
    batch_size: usize,
    seed: u64,
    schedule: Schedule,
    steps_per_epoch: usize,
    order: Vec<usize>,
    image_size: usize,
    device: B::Device,
}

impl<B: AutodiffBackend, O: Optimizer<SimclrModel<B>, B>> Trainer<B, O> {
    /// A trainer at the start of a run. The model is initialised from the seed.
    pub fn new(
        config: &PretrainConfig,
        train: &Split,
        normalization: Normalization,
        optim: O,
        device: &B::Device,
    ) -> Result<Self> {
        config.validate()?;
        if train.height() != train.width() {
            return Err(Error::Config("images must be square".into()));
        }
        let steps_per_epoch = train.len() / config.batch_size;
        if steps_per_epoch == 0 {
            return Err(Error::Config(format!(
                "batch size {} is larger than the {} training images",
                config.batch_size,
                train.len()
            )));
        }
        // Views are resized to `image_size` (RandomResizedCrop's output size) when it is set.
        let image_size = config.image_size.unwrap_or(train.height());
        B::seed(device, config.seed);
        let model = config.model(image_size).init::<B>(device);
        let warmup_steps =
            (config.optimizer.warmup_epochs * steps_per_epoch as f64).round() as usize;
        Ok(Self {
            model,
            optim,
            state: TrainState::new(config.seed),
            augment: config.augment()?,
            normalization,
            temperature: config.temperature,
            batch_size: config.batch_size,
            seed: config.seed,
            schedule: Schedule {
                peak: config.optimizer.peak_lr(config.batch_size),
                warmup_steps,
                total_steps: steps_per_epoch * config.epochs,
            },
            steps_per_epoch,
            order: vec![],
            image_size,
            device: device.clone(),
        })
    }

    /// Steps in one epoch (the last partial batch is dropped).
    pub fn steps_per_epoch(&self) -> usize {
        self.steps_per_epoch
    }

    /// Steps in the whole run.
    pub fn total_steps(&self) -> usize {
        self.schedule.total_steps
    }

    /// The image order of an epoch: a permutation drawn from the seed and the epoch, so
    /// that it needs no saved state.
    fn epoch_order(&self, epoch: usize, len: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..len).collect();
        Rng::stream(self.seed ^ ((epoch as u64) << 20), DATA_ORDER_STREAM).shuffle(&mut order);
        order
    }

    /// One optimisation step on the next batch of `train`.
    pub fn step(&mut self, train: &Split) -> StepOutput<B> {
        let position = self.state.step % self.steps_per_epoch;
        if position == 0 || self.order.len() != train.len() {
            self.order = self.epoch_order(self.state.epoch, train.len());
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
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let lr = self.schedule.lr(self.state.step);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        self.state.step += 1;
        let epoch_done = self.state.step.is_multiple_of(self.steps_per_epoch);
        if epoch_done {
            self.state.epoch += 1;
        }
        StepOutput {
            loss: loss.inner(),
            lr,
            epoch_done,
        }
    }

    /// Everything needed to continue the run later.
    pub fn checkpoint(&self) -> Result<CheckpointBytes> {
        pack(&self.state, &self.model, &self.optim)
    }

    /// Continues from a checkpoint; `path` names it in errors.
    pub fn restore(mut self, checkpoint: CheckpointBytes, path: &Path) -> Result<Self> {
        (self.state, self.model, self.optim) =
            unpack(checkpoint, self.model, self.optim, &self.device, path)?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    #[test]
    fn losses_come_back_every_n_steps_or_on_flush() {
        let device = Default::default();
        let loss = |v: f32| Tensor::<Cpu, 1>::from_floats([v], &device);
        let mut buffer = LossBuffer::new(3);
        assert!(buffer.push(loss(1.0), false).is_none());
        assert!(buffer.push(loss(2.0), false).is_none());
        let read = buffer.push(loss(3.0), false).unwrap();
        assert_eq!(crate::readback::floats(read).unwrap(), vec![1.0, 2.0, 3.0]);
        let read = buffer.push(loss(4.0), true).unwrap();
        assert_eq!(crate::readback::floats(read).unwrap(), vec![4.0]);
        assert_eq!(finite_losses(vec![1.0, 2.0], 7).unwrap(), vec![1.0, 2.0]);
        let err = finite_losses(vec![1.0, f32::NAN], 7)
            .unwrap_err()
            .to_string();
        assert!(err.contains("NaN at step 7"), "{err}");
    }
}
