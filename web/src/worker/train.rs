//! Training in the worker: the asynchronous shell around the core's [`Session`]. Losses
//! and kNN come back without blocking, the augmented views refresh after each epoch, and
//! Pause / Resume / Stop are heard after every step.

use super::yielding::yield_to_browser;
use super::{send, Scope, WorkerError};
use crate::protocol::{Command, Event, FileBytes, RunSettings};
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use futures::{FutureExt, StreamExt};
use simclr::data::Dataset;
use simclr::model::ResNet;
use simclr::train::session::{
    LossReport, Session, SessionOptions, TrainingTask, LIVE_LOSS_READ_EVERY,
};
use simclr::train::step::Trainer;
use simclr::{augment::preview, eval::knn, io::readback};
use std::path::Path;

/// Images in the live panel of augmented views.
pub const PAIRS_SHOWN: usize = 4;

/// One training run's inputs.
pub struct Run<'a, B: AutodiffBackend> {
    /// What the page set.
    pub settings: &'a RunSettings,
    /// The prepared dataset.
    pub data: &'a Dataset,
    /// The channel to the page.
    pub scope: &'a mut Scope,
    /// Encoder weights to start from, instead of a random initialisation.
    pub start_from: Option<&'a FileBytes>,
    /// Where to compute.
    pub device: B::Device,
}

/// A finished or stopped run.
pub struct Trained<B: AutodiffBackend> {
    /// The encoder in inference mode.
    pub encoder: ResNet<B::InnerBackend>,
    /// Steps done.
    pub step: usize,
    /// Whether Stop ended it early.
    pub stopped: bool,
}

/// Trains and returns the encoder in inference mode (also when stopped early).
pub async fn train<B: AutodiffBackend>(run: Run<'_, B>) -> Result<Trained<B>, WorkerError> {
    let config = run.settings.pretrain_config();
    let data = run.data;
    let mut trainer = Trainer::<B>::new(&config, &data.train, data.normalization, &run.device)?;
    if let Some(file) = run.start_from {
        trainer.model.encoder = loaded_encoder::<B>(file, &trainer.model.encoder, &run.device)?;
    }
    let options = SessionOptions {
        read_every: LIVE_LOSS_READ_EVERY,
        knn_every: config.knn_every,
        checkpoint_every: 0,
        stop_after_epoch: None,
    };
    let mut session = Session::new(trainer, data, options);
    let mut stopped = false;
    while !session.is_finished() {
        let out = session.step()?;
        if let Some(losses) = out.losses {
            record(&mut session, losses, run.scope).await?;
        }
        if out.epoch_end {
            end_epoch(&mut session, &config.knn, run.scope, &run.device).await?;
        }
        if !session.is_finished() && stop_requested(&mut session, run.scope).await? {
            stopped = true;
            if let Some(losses) = session.stop() {
                record(&mut session, losses, run.scope).await?;
            }
        }
    }
    let step = session.position().step;
    let (trainer, _, _) = session.finish();
    Ok(Trained {
        encoder: trainer.model.encoder.valid(),
        step,
        stopped,
    })
}

type TrainSession<'a, B> = Session<'a, B, Trainer<B>>;

/// Reads losses back and reports them.
async fn record<B: AutodiffBackend>(
    session: &mut TrainSession<'_, B>,
    losses: burn::tensor::Tensor<B::InnerBackend, 1>,
    scope: &mut Scope,
) -> Result<(), WorkerError> {
    let report = read_losses(session, losses).await?;
    let event = Event::Progress {
        step: report.step,
        total: session.plan().total_steps,
        epoch: report.epoch,
        loss: report.mean,
        lr: report.lr,
        views_per_s: report.views_per_s,
    };
    send(scope, event).await
}

/// Reads a report's losses back without blocking and records them in the session.
pub async fn read_losses<B: AutodiffBackend, T: TrainingTask<B>>(
    session: &mut Session<'_, B, T>,
    losses: burn::tensor::Tensor<B::InnerBackend, 1>,
) -> Result<LossReport, WorkerError> {
    let values = readback::floats_async(losses).await?;
    Ok(session.record_losses(values)?)
}

/// The kNN monitor when due, the epoch's report and fresh augmented views.
async fn end_epoch<B: AutodiffBackend>(
    session: &mut TrainSession<'_, B>,
    knn_config: &knn::KnnConfig,
    scope: &mut Scope,
    device: &B::Device,
) -> Result<(), WorkerError> {
    let data = session.data();
    let knn = if session.knn_due() {
        let encoder = session.task().model.encoder.valid();
        let (train, test, norm) = (&data.train, &data.test, &data.normalization);
        knn::evaluate_async(&encoder, train, test, norm, knn_config, device).await?
    } else {
        None
    };
    let row = session.end_epoch(knn);
    send(
        scope,
        Event::Epoch {
            epoch: row.epoch,
            knn,
        },
    )
    .await?;
    let trainer = session.task();
    let seed = trainer.seed().wrapping_add(row.epoch as u64);
    let augment = trainer.augment();
    let pairs =
        preview::queue_pairs::<B::InnerBackend>(&data.train, augment, PAIRS_SHOWN, seed, device)?;
    send(scope, Event::Pairs(pairs.png_async(2).await?)).await
}

/// Loads weights to continue training from; they must fit the configured network.
fn loaded_encoder<B: AutodiffBackend>(
    file: &FileBytes,
    configured: &ResNet<B>,
    device: &B::Device,
) -> Result<ResNet<B>, WorkerError> {
    let (encoder, _) = simclr::model::weights::encoder_from_bytes::<B>(
        &file.bytes,
        Path::new(&file.name),
        device,
    )?;
    let (have, want) = (encoder.config(), configured.config());
    if have.width != want.width || have.stem != want.stem {
        return Err(WorkerError::EncoderMismatch {
            file: file.name.clone(),
            have_width: have.width,
            have_stem: have.stem.name(),
            want_width: want.width,
            want_stem: want.stem.name(),
        });
    }
    Ok(encoder)
}

/// Lets the page's messages in after a step and handles a waiting Pause or Stop; while
/// paused, waits for Resume or Stop (the session's clock is held meanwhile).
pub async fn stop_requested<B: AutodiffBackend, T: TrainingTask<B>>(
    session: &mut Session<'_, B, T>,
    scope: &mut Scope,
) -> Result<bool, WorkerError> {
    yield_to_browser().await;
    let Some(command) = scope.next().now_or_never() else {
        return Ok(false);
    };
    match command {
        None => Err(WorkerError::PageClosed),
        Some(Command::Stop) => Ok(true),
        Some(Command::Pause) => {
            session.hold_clock();
            send(scope, Event::Paused).await?;
            loop {
                match scope.next().await {
                    None => return Err(WorkerError::PageClosed),
                    Some(Command::Resume) => {
                        send(scope, Event::Resumed).await?;
                        return Ok(false);
                    }
                    Some(Command::Stop) => return Ok(true),
                    Some(_) => send(scope, busy()).await?,
                }
            }
        }
        Some(_) => {
            send(scope, busy()).await?;
            Ok(false)
        }
    }
}

fn busy() -> Event {
    Event::Working("the worker is training: stop it (or let it finish) first".into())
}
