//! The SimCLR training step: a batch, two views made on the device, one forward pass over
//! the 2N views (BatchNorm sees the whole batch), NT-Xent, backward, optimiser step. The
//! loss comes back as a device tensor; the [`Session`](crate::train::session::Session) reads it
//! back when it chooses.

use crate::augment::AugmentConfig;
use crate::data::{Dataset, Normalization, Split};
use crate::loss::nt_xent;
use crate::model::SimclrModel;
use crate::train::checkpoint::{pack, unpack, CheckpointBytes};
use crate::train::config::PretrainConfig;
use crate::train::optim::{ModuleOptimizer, Schedule};
use crate::train::session::{epoch_order, Plan, Position, TaskStep, TrainingTask};
use crate::{Error, Result};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Where a run stands; saved in every checkpoint. Every random draw of a step is keyed by
/// the seed and the step, so nothing else needs saving.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Steps completed.
    pub step: usize,
}

/// A trainer's share of every step among data-parallel peers: the images at positions
/// `index * b..(index + 1) * b` of each global batch, `b = batch / count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerShare {
    /// This peer (0 = the one that writes the run folder).
    pub index: usize,
    /// Peers in all.
    pub count: usize,
    /// BatchNorm normalises with the global batch's statistics (else each peer's own).
    pub sync_batch_norm: bool,
}

impl PeerShare {
    /// The whole batch on one device.
    pub const ALONE: PeerShare = PeerShare {
        index: 0,
        count: 1,
        sync_batch_norm: false,
    };
}

/// The collective half of a data-parallel step, between peers that run the same steps
/// in the same order ([`crate::train::collective::Peer`] natively). Kept behind a trait so
/// that the trainer builds where no collective exists (the browser).
pub trait PeerOps<B: AutodiffBackend>: Send + Sync {
    /// This peer's share of every step.
    fn share(&self) -> PeerShare;
    /// NT-Xent over the global batch, from this peer's views, and the gradient of the
    /// global loss, identical on every peer.
    ///
    /// # Shapes
    /// - `views`: `[2b, 3, H, W]` (this peer's `b` images, first views then second)
    fn loss_and_gradients(
        &self,
        model: &SimclrModel<B>,
        views: Tensor<B, 4>,
        temperature: f64,
    ) -> Result<(Tensor<B, 1>, GradientsParams)>;
    /// Fails unless every peer holds the same weights (checked where checkpoints are
    /// written, at the end of `epoch`).
    fn check_same_weights(&self, model: &SimclrModel<B>, epoch: usize) -> Result<()>;
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
    peers: Option<std::sync::Arc<dyn PeerOps<B>>>,
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
            state: TrainState::default(),
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
            peers: None,
            device: device.clone(),
        })
    }

    /// A copy of this trainer (same parameters and parameter ids, same optimiser state)
    /// that takes its share of every step on `device`, with `peers`.
    pub fn replicate(
        &self,
        peers: std::sync::Arc<dyn PeerOps<B>>,
        device: &B::Device,
    ) -> Result<Self> {
        let share = peers.share();
        if share.count == 0
            || share.index >= share.count
            || !self.batch_size.is_multiple_of(share.count)
        {
            return Err(Error::invalid(
                "devices",
                format!(
                    "the batch of {} images does not split into {} equal shares",
                    self.batch_size, share.count
                ),
            ));
        }
        Ok(Self {
            model: self.model.clone().fork(device),
            optim: self.optim.clone(),
            state: self.state.clone(),
            augment: self.augment.clone(),
            order: vec![],
            peers: Some(peers),
            device: device.clone(),
            ..*self
        })
    }

    /// This trainer's share of each step.
    pub fn share(&self) -> PeerShare {
        self.peers
            .as_ref()
            .map_or(PeerShare::ALONE, |peers| peers.share())
    }

    /// The seed of every random stream of the run.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The augmentation recipe of the views.
    pub fn augment(&self) -> &AugmentConfig {
        &self.augment
    }

    /// One optimisation step on this trainer's share of the next batch of `train`.
    pub fn step_on(&mut self, train: &Split) -> Result<TaskStep<B>> {
        let steps_per_epoch = self.plan.steps_per_epoch;
        let position = self.state.step % steps_per_epoch;
        if position == 0 || self.order.len() != train.len() {
            self.order = epoch_order(self.seed, self.state.epoch, train.len());
        }
        let views = self.views(train, position);
        let (loss, grads) = self.loss_and_gradients(views)?;
        let lr = self.schedule.lr(self.state.step);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        self.state.step += 1;
        if self.state.step.is_multiple_of(steps_per_epoch) {
            self.state.epoch += 1;
            self.check_peers_agree()?;
        }
        Ok(TaskStep {
            loss: loss.inner(),
            lr,
        })
    }

    /// The two views of this trainer's share of batch `position` of the epoch.
    fn views(&self, train: &Split, position: usize) -> Tensor<B, 4> {
        let share = self.share();
        let local = self.batch_size / share.count;
        let first = position * self.batch_size + share.index * local;
        let shown = share.index * local..(share.index + 1) * local;
        let pixels = train.batch_u8(&self.order[first..first + local]);
        let size = [train.height(), train.width()];
        let params = self
            .augment
            .sample_pairs(self.seed, self.state.step, shown, size);
        self.augment.two_views::<B>(
            &pixels,
            size,
            self.image_size,
            &self.normalization,
            &params,
            &self.device,
        )
    }

    /// NT-Xent over the global batch and the gradient of its parameters, identical on
    /// every peer.
    fn loss_and_gradients(&self, views: Tensor<B, 4>) -> Result<(Tensor<B, 1>, GradientsParams)> {
        if let Some(peers) = &self.peers {
            return peers.loss_and_gradients(&self.model, views, self.temperature);
        }
        let n = views.dims()[0] / 2;
        let z = self.model.forward(views);
        let loss = nt_xent(
            z.clone().narrow(0, 0, n),
            z.narrow(0, n, n),
            self.temperature,
        );
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        Ok((loss, grads))
    }

    /// At the end of each epoch (where checkpoints are written), every peer must hold the
    /// same weights.
    fn check_peers_agree(&self) -> Result<()> {
        match &self.peers {
            Some(peers) => peers.check_same_weights(&self.model, self.state.epoch),
            None => Ok(()),
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

    fn step(&mut self, data: &Dataset) -> Result<TaskStep<B>> {
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
