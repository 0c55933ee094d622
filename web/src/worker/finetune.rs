//! Fine-tuning in the worker: the encoder it holds and a fresh linear classifier trained
//! end to end on a share of the labels, with the core's supervised task and session (the
//! recipe of `simclr finetune`) on the backend that holds the encoder. Progress goes to the
//! page as it comes; Stop ends it after the current step and the model so far is tested.

use super::compute::{Encoder, HeldEncoder};
use super::train::{read_losses, stop_requested};
use super::{send, Scope, WorkerError};
use crate::protocol::{Event, FineTuned, RunSettings};
use burn::tensor::backend::AutodiffBackend;
use simclr::backend::AutodiffCpu;
#[cfg(feature = "webgpu")]
use simclr::backend::AutodiffWgpu;
use simclr::data::{Dataset, Normalization};
use simclr::eval::supervised_config::SupervisedConfig;
use simclr::eval::supervised_task::SupervisedTrainer;
use simclr::model::ResNet;
use simclr::train::session::{Session, SessionOptions, LIVE_LOSS_READ_EVERY};

/// What a fine-tuning run trains on, whichever backend holds the encoder.
pub struct FineTune<'a> {
    /// The encoder's input normalisation.
    pub normalization: Normalization,
    /// The prepared dataset.
    pub data: &'a Dataset,
    /// The page's run settings (batch size and seed).
    pub settings: &'a RunSettings,
    /// Share of the labelled training images to train on.
    pub label_fraction: f64,
}

/// The fine-tuning settings for the page: the command line's recipe at the run's batch
/// size and seed, for the held encoder's shape.
pub fn finetune_config<B: burn::prelude::Backend>(
    encoder: &ResNet<B>,
    settings: &RunSettings,
    label_fraction: f64,
) -> SupervisedConfig {
    let run = settings.pretrain_config();
    let shape = encoder.config();
    SupervisedConfig {
        width: shape.width,
        stem: Some(shape.stem),
        label_fraction,
        batch_size: run.batch_size,
        seed: run.seed,
        ..SupervisedConfig::finetune_recipe()
    }
}

/// Fine-tunes the encoder the worker holds, on the backend that holds it.
pub async fn finetune_held(
    held: &HeldEncoder,
    run: &FineTune<'_>,
    scope: &mut Scope,
) -> Result<FineTuned, WorkerError> {
    match &held.encoder {
        #[cfg(feature = "webgpu")]
        Encoder::Gpu(encoder) => finetune::<AutodiffWgpu>(encoder, run, scope).await,
        Encoder::Cpu(encoder) => finetune::<AutodiffCpu>(encoder, run, scope).await,
    }
}

/// Fine-tunes `encoder` (in inference mode, as the worker holds it) on `B`'s default
/// device, reporting progress, and tests the result (also when stopped early).
pub async fn finetune<B: AutodiffBackend>(
    encoder: &ResNet<B::InnerBackend>,
    run: &FineTune<'_>,
    scope: &mut Scope,
) -> Result<FineTuned, WorkerError> {
    let config = finetune_config(encoder, run.settings, run.label_fraction);
    let trainer = SupervisedTrainer::<B>::from_encoder(
        &config,
        run.data,
        encoder.clone(),
        run.normalization,
        &Default::default(),
    )?;
    let options = SessionOptions {
        read_every: LIVE_LOSS_READ_EVERY,
        knn_every: 0,
        checkpoint_every: 0,
        stop_after_epoch: None,
    };
    let mut session = Session::new(trainer, run.data, options);
    let mut stopped = false;
    while !session.is_finished() {
        let out = session.step()?;
        if let Some(losses) = out.losses {
            report(&mut session, losses, scope).await?;
        }
        if out.epoch_end {
            session.end_epoch(None);
        }
        if !session.is_finished() && stop_requested(&mut session, scope).await? {
            stopped = true;
            if let Some(losses) = session.stop() {
                report(&mut session, losses, scope).await?;
            }
        }
    }
    send(
        scope,
        Event::Working("testing the fine-tuned network".into()),
    )
    .await?;
    let (trainer, _, _) = session.finish();
    let result = trainer.test(run.data).read_async().await?;
    Ok(FineTuned { result, stopped })
}

/// Reads the losses back and sends the step count and their mean.
async fn report<B: AutodiffBackend>(
    session: &mut Session<'_, B, SupervisedTrainer<B>>,
    losses: burn::tensor::Tensor<B::InnerBackend, 1>,
    scope: &mut Scope,
) -> Result<(), WorkerError> {
    let report = read_losses(session, losses).await?;
    let event = Event::FineTuning {
        step: report.step,
        total: session.plan().total_steps,
        loss: report.mean,
    };
    send(scope, event).await
}
