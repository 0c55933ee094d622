//! One training session: the epoch loop of native pretraining, the browser worker and the
//! supervised baseline, written once.
//!
//! The session owns the schedule of everything around the optimisation steps: when losses
//! come back from the device, their bookkeeping (loss curve, epoch means, throughput, the
//! divergence check), when the kNN monitor runs, where epochs end, when a run stops and
//! which checkpoints are kept. Its work is split in two halves so that a blocking driver
//! (native) and an asynchronous one (the browser) are thin shells around it:
//! [`Session::step`] does device work and hands back tensors still on the device, and
//! [`Session::record_losses`] / [`Session::end_epoch`] do host work with what the shell
//! read back, blocking or not.

use crate::data::Dataset;
use crate::error::CheckpointProblem;
use crate::rng::Rng;
use crate::train::checkpoint::CheckpointBytes;
use crate::train::loss_buffer::LossBuffer;
use crate::train::run_dir::{EpochMetrics, StepLoss};
use crate::{Error, Result};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use std::path::Path;
use web_time::Instant;

/// The random stream of every run's image order.
const DATA_ORDER_STREAM: u64 = 1;

/// The image order of an epoch: a permutation drawn from the seed and the epoch alone, so
/// that a resumed run needs no saved order.
pub fn epoch_order(seed: u64, epoch: usize, len: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    Rng::stream(seed ^ ((epoch as u64) << 20), DATA_ORDER_STREAM).shuffle(&mut order);
    order
}

/// The length of a run, fixed when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Steps in one epoch (the last partial batch is dropped).
    pub steps_per_epoch: usize,
    /// Epochs planned.
    pub epochs: usize,
    /// Steps planned: every epoch's, or fewer where a step limit cuts the last epoch.
    pub total_steps: usize,
    /// Images through the network per step (two views per image in SimCLR).
    pub views_per_step: usize,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Epochs completed.
    pub epoch: usize,
    /// Steps completed.
    pub step: usize,
}

/// What one optimisation step hands back.
pub struct TaskStep<B: AutodiffBackend> {
    /// The batch's loss, still on the device.
    pub loss: Tensor<B::InnerBackend, 1>,
    /// The learning rate the step used.
    pub lr: f64,
}

/// A model trained one step at a time: what the session drives. SimCLR pretraining
/// ([`crate::train::step::Trainer`]) and the supervised baseline implement it.
pub trait TrainingTask<B: AutodiffBackend> {
    /// The run's length.
    fn plan(&self) -> Plan;
    /// Epochs and steps completed.
    fn position(&self) -> Position;
    /// One optimisation step on the next batch of `data`; advances the position. Fails
    /// only where peers train together and one of them failed.
    fn step(&mut self, data: &Dataset) -> Result<TaskStep<B>>;
    /// Everything needed to continue later.
    fn checkpoint(&self) -> Result<CheckpointBytes>;
    /// Continues from a checkpoint; `path` names it in errors.
    fn restore(&mut self, checkpoint: CheckpointBytes, path: &Path) -> Result<()>;
}

/// When the session reads back, evaluates, keeps checkpoints and stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOptions {
    /// Steps between loss read-backs: the device runs ahead in between (epoch ends and
    /// stops always read back).
    pub read_every: usize,
    /// Run the kNN monitor every N epochs and after the last (0 = never).
    pub knn_every: usize,
    /// Keep a copy of the checkpoint every N epochs (0 = only the latest).
    pub checkpoint_every: usize,
    /// End this invocation after this many completed epochs (resume later).
    pub stop_after_epoch: Option<usize>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            read_every: LOSS_READ_EVERY,
            knn_every: 1,
            checkpoint_every: 0,
            stop_after_epoch: None,
        }
    }
}

/// Steps between loss read-backs of a native run: one `steps.csv` row each.
pub const LOSS_READ_EVERY: usize = 10;

/// Steps between loss read-backs where someone watches the chart (the browser): twice as
/// often, since a step on a small device takes seconds.
pub const LIVE_LOSS_READ_EVERY: usize = 5;

/// What a session step leaves for its shell to do.
pub struct StepOutcome<B: Backend> {
    /// Losses to read back now and hand to [`Session::record_losses`].
    pub losses: Option<Tensor<B, 1>>,
    /// The step ended an epoch (or the run): call [`Session::end_epoch`], after the kNN
    /// monitor when [`Session::knn_due`].
    pub epoch_end: bool,
}

/// The latest losses read back, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossReport {
    /// Steps completed.
    pub step: usize,
    /// Epochs completed.
    pub epoch: usize,
    /// The last step's loss.
    pub latest: f64,
    /// The mean loss of the steps read back.
    pub mean: f64,
    /// The last step's learning rate.
    pub lr: f64,
    /// Images through the network per second in this epoch so far.
    pub views_per_s: f64,
}

/// Seconds of training in the current epoch; time while the clock is held (kNN, a pause)
/// does not count.
#[derive(Default)]
struct Stopwatch {
    running_since: Option<Instant>,
    banked: f64,
}

impl Stopwatch {
    fn run(&mut self) {
        self.running_since.get_or_insert_with(Instant::now);
    }
    fn hold(&mut self) {
        if let Some(since) = self.running_since.take() {
            self.banked += since.elapsed().as_secs_f64();
        }
    }
    fn seconds(&self) -> f64 {
        let running = self
            .running_since
            .map_or(0.0, |s| s.elapsed().as_secs_f64());
        (self.banked + running).max(1e-9)
    }
}

/// The epoch loop around a [`TrainingTask`].
pub struct Session<'a, B: AutodiffBackend, T: TrainingTask<B>> {
    task: T,
    data: &'a Dataset,
    options: SessionOptions,
    plan: Plan,
    losses: LossBuffer<B::InnerBackend>,
    clock: Stopwatch,
    loss_sum: f64,
    loss_count: usize,
    lr: f64,
    curve: Vec<StepLoss>,
    metrics: Vec<EpochMetrics>,
    stopped: bool,
}

impl<'a, B: AutodiffBackend, T: TrainingTask<B>> Session<'a, B, T> {
    /// A session that trains `task` on `data`.
    pub fn new(task: T, data: &'a Dataset, options: SessionOptions) -> Self {
        let plan = task.plan();
        Self {
            task,
            data,
            losses: LossBuffer::new(options.read_every),
            options,
            plan,
            clock: Stopwatch::default(),
            loss_sum: 0.0,
            loss_count: 0,
            lr: 0.0,
            curve: vec![],
            metrics: vec![],
            stopped: false,
        }
    }

    /// Continues an interrupted run from its checkpoint and the rows it had written; rows
    /// written after the checkpoint (a crash between the writes) are dropped.
    pub fn resume(
        &mut self,
        checkpoint: CheckpointBytes,
        path: &Path,
        mut metrics: Vec<EpochMetrics>,
        mut curve: Vec<StepLoss>,
    ) -> Result<()> {
        self.task.restore(checkpoint, path)?;
        let position = self.task.position();
        if position.step > self.plan.total_steps {
            return Err(Error::checkpoint(
                path,
                CheckpointProblem::PastThePlan {
                    step: position.step,
                    planned: self.plan.total_steps,
                },
            ));
        }
        crate::train::resume::rows_up_to(position, &mut metrics, &mut curve);
        (self.metrics, self.curve) = (metrics, curve);
        Ok(())
    }

    /// Whether the run (or this invocation of it) has no steps left.
    pub fn is_finished(&self) -> bool {
        let position = self.task.position();
        let last_epoch = self
            .options
            .stop_after_epoch
            .unwrap_or(usize::MAX)
            .min(self.plan.epochs);
        self.stopped || position.step >= self.plan.total_steps || position.epoch >= last_epoch
    }

    /// Device work: one optimisation step, and the losses to read back when it is time.
    pub fn step(&mut self) -> Result<StepOutcome<B::InnerBackend>> {
        self.clock.run();
        let before = self.task.position().epoch;
        let out = self.task.step(self.data)?;
        self.lr = out.lr;
        let position = self.task.position();
        let epoch_end = position.epoch != before || position.step >= self.plan.total_steps;
        Ok(StepOutcome {
            losses: self.losses.push(out.loss, epoch_end),
            epoch_end,
        })
    }

    /// Host work: records losses read back from [`StepOutcome::losses`]; a loss that is not
    /// finite ends the run with [`Error::Diverged`].
    pub fn record_losses(&mut self, values: Vec<f32>) -> Result<LossReport> {
        let position = self.task.position();
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            // The values are the losses of the last `values.len()` steps, so the first bad
            // one names its own step, however late it was read back.
            let step = (position.step + 1 + at).saturating_sub(values.len()).max(1);
            return Err(Error::Diverged {
                epoch: (step - 1) / self.plan.steps_per_epoch.max(1) + 1,
                step,
                value: values[at],
            });
        }
        let sum = values.iter().map(|&v| v as f64).sum::<f64>();
        let mean = sum / values.len().max(1) as f64;
        self.curve.push(StepLoss {
            step: position.step,
            loss: mean,
            lr: self.lr,
        });
        self.loss_sum += sum;
        self.loss_count += values.len();
        // The epoch's last read-back ends its training time: the kNN monitor and whatever
        // else the shell does before `end_epoch` are not training.
        if self.at_epoch_end() {
            self.clock.hold();
        }
        Ok(LossReport {
            step: position.step,
            epoch: position.epoch,
            latest: values.last().copied().unwrap_or_default() as f64,
            mean,
            lr: self.lr,
            views_per_s: self.views_per_s(),
        })
    }

    fn views_per_s(&self) -> f64 {
        (self.loss_count * self.plan.views_per_step) as f64 / self.clock.seconds()
    }

    /// Whether the kNN monitor is due at the epoch that just ended: every `knn_every`
    /// epochs and after the run's last step.
    pub fn knn_due(&self) -> bool {
        let every = self.options.knn_every;
        every > 0 && (self.ended_epoch().is_multiple_of(every) || self.at_limit())
    }

    fn at_limit(&self) -> bool {
        self.task.position().step >= self.plan.total_steps
    }

    fn at_epoch_end(&self) -> bool {
        let step = self.task.position().step;
        step.is_multiple_of(self.plan.steps_per_epoch) || self.at_limit()
    }

    /// The number of the epoch that just ended; a step limit's partial epoch counts.
    fn ended_epoch(&self) -> usize {
        let position = self.task.position();
        let partial = !position.step.is_multiple_of(self.plan.steps_per_epoch);
        position.epoch + usize::from(partial)
    }

    /// Host work at an epoch's end: its metrics row, with the kNN accuracy when measured.
    /// The clock restarts with the next step.
    pub fn end_epoch(&mut self, knn_top1: Option<f64>) -> EpochMetrics {
        let seconds = self.clock.seconds();
        let row = EpochMetrics {
            epoch: self.ended_epoch(),
            step: self.task.position().step,
            loss: self.loss_sum / self.loss_count.max(1) as f64,
            lr: self.lr,
            knn_top1,
            views_per_s: self.views_per_s(),
            seconds,
        };
        (self.loss_sum, self.loss_count) = (0.0, 0);
        self.clock = Stopwatch::default();
        self.metrics.push(row.clone());
        row
    }

    /// Whether the checkpoint of the epoch that just ended is kept beside the latest.
    pub fn keep_checkpoint(&self) -> bool {
        let every = self.options.checkpoint_every;
        every > 0 && self.ended_epoch().is_multiple_of(every)
    }

    /// Time from now until the next step is not training time (a pause, an evaluation).
    pub fn hold_clock(&mut self) {
        self.clock.hold();
    }

    /// Ends the run after the step just taken; returns the losses not yet read back.
    pub fn stop(&mut self) -> Option<Tensor<B::InnerBackend, 1>> {
        self.stopped = true;
        self.losses.flush()
    }

    /// When the session reads back, evaluates, keeps checkpoints and stops.
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }

    /// The run's length.
    pub fn plan(&self) -> Plan {
        self.plan
    }

    /// Epochs and steps completed.
    pub fn position(&self) -> Position {
        self.task.position()
    }

    /// The data trained on.
    pub fn data(&self) -> &'a Dataset {
        self.data
    }

    /// The trained task.
    pub fn task(&self) -> &T {
        &self.task
    }

    /// The trained task, to change how it trains (data-parallel peers join here).
    pub fn task_mut(&mut self) -> &mut T {
        &mut self.task
    }

    /// One row per completed epoch, earlier invocations' included.
    pub fn metrics(&self) -> &[EpochMetrics] {
        &self.metrics
    }

    /// The loss curve: one row per read-back.
    pub fn curve(&self) -> &[StepLoss] {
        &self.curve
    }

    /// The task, its metrics and its loss curve.
    pub fn finish(self) -> (T, Vec<EpochMetrics>, Vec<StepLoss>) {
        (self.task, self.metrics, self.curve)
    }
}

#[cfg(test)]
mod tests;
