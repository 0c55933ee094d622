//! Training in the worker: the core's `Trainer::step`, losses read back without blocking,
//! kNN and fresh augmented views after each epoch, and Pause / Resume / Stop between reads.

use super::clock::Clock;
use super::{send, text, Scope};
use crate::protocol::{Command, Event, FileBytes, RunSettings};
use burn::module::AutodiffModule;
use burn::optim::Optimizer;
use burn::tensor::backend::AutodiffBackend;
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt};
use simclr::data::Dataset;
use simclr::model::{ResNet, SimclrModel};
use simclr::optim::OptimizerTask;
use simclr::train::{finite_losses, LossBuffer, Trainer};
use simclr::{knn, preview, readback};
use std::path::Path;

/// Steps between loss read-backs; the device runs ahead in between.
const READ_EVERY: usize = 5;

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

/// Trains and returns the encoder in inference mode (also when stopped early).
pub async fn train<B: AutodiffBackend>(run: Run<'_, B>) -> Result<ResNet<B::InnerBackend>, String> {
    let config = run.settings.pretrain_config();
    config
        .optimizer
        .with_optimizer::<B, SimclrModel<B>, _>(run)
        .await
}

impl<'a, B: AutodiffBackend> OptimizerTask<B, SimclrModel<B>> for Run<'a, B> {
    type Output = LocalBoxFuture<'a, Result<ResNet<B::InnerBackend>, String>>;

    fn run<O: Optimizer<SimclrModel<B>, B> + 'static>(self, optim: O) -> Self::Output {
        Box::pin(self.train_with(optim))
    }
}

impl<B: AutodiffBackend> Run<'_, B> {
    async fn train_with<O: Optimizer<SimclrModel<B>, B>>(
        self,
        optim: O,
    ) -> Result<ResNet<B::InnerBackend>, String> {
        let config = self.settings.pretrain_config();
        let data = self.data;
        let mut trainer = Trainer::<B, O>::new(
            &config,
            &data.train,
            data.normalization,
            optim,
            &self.device,
        )
        .map_err(text)?;
        if let Some(file) = self.start_from {
            trainer.model.encoder =
                loaded_encoder::<B>(file, &trainer.model.encoder, &self.device)?;
        }
        let total = self.settings.planned_steps(data.train.len());
        let views = 2 * config.batch_size;
        let augment = config.augment().map_err(text)?;
        let mut losses = LossBuffer::new(READ_EVERY);
        let mut clock = Clock::start();
        while trainer.state.step < total {
            let out = trainer.step(&data.train);
            let last = trainer.state.step == total;
            let Some(read) = losses.push(out.loss, out.epoch_done || last) else {
                continue;
            };
            let values = readback::floats_async(read)
                .await
                .map_err(|e| format!("reading the loss back failed: {e}"))?;
            let values = finite_losses(values, trainer.state.step).map_err(text)?;
            let count = values.len();
            let loss = values.iter().map(|&v| v as f64).sum::<f64>() / count as f64;
            let event = Event::Progress {
                step: trainer.state.step,
                total,
                epoch: trainer.state.epoch,
                loss,
                lr: out.lr,
                views_per_s: (count * views) as f64 / clock.lap(),
            };
            send(self.scope, event).await?;
            if out.epoch_done || last {
                let encoder = trainer.model.encoder.valid();
                let knn = knn::evaluate_async(
                    &encoder,
                    &data.train,
                    &data.test,
                    &data.normalization,
                    &config.knn,
                    &self.device,
                )
                .await
                .map_err(text)?;
                let epoch = trainer.state.epoch;
                send(self.scope, Event::Epoch { epoch, knn }).await?;
                let seed = config.seed.wrapping_add(epoch as u64);
                let pairs = preview::queue_pairs::<B::InnerBackend>(
                    &data.train,
                    &augment,
                    PAIRS_SHOWN,
                    seed,
                    &self.device,
                )
                .map_err(text)?;
                let png = pairs.png_async(2).await.map_err(text)?;
                send(self.scope, Event::Pairs(png)).await?;
                // kNN and the views are not training time.
                clock.lap();
            }
            if stop_requested(self.scope).await? {
                break;
            }
        }
        Ok(trainer.model.encoder.valid())
    }
}

/// Loads weights to continue training from; they must fit the configured network.
fn loaded_encoder<B: AutodiffBackend>(
    file: &FileBytes,
    configured: &ResNet<B>,
    device: &B::Device,
) -> Result<ResNet<B>, String> {
    let (encoder, _) =
        simclr::model::weights::encoder_from_bytes::<B>(&file.bytes, Path::new(&file.name), device)
            .map_err(text)?;
    let (have, want) = (encoder.config(), configured.config());
    if have.width != want.width || have.stem != want.stem {
        return Err(format!(
            "{} has width {} and the {} stem, the settings ask for width {} and the {} stem: \
             set width and stem to match to continue training it",
            file.name,
            have.width,
            have.stem.name(),
            want.width,
            want.stem.name()
        ));
    }
    Ok(encoder)
}

/// Handles a waiting Pause or Stop; while paused, waits for Resume or Stop.
async fn stop_requested(scope: &mut Scope) -> Result<bool, String> {
    let Some(command) = scope.next().now_or_never() else {
        return Ok(false);
    };
    match command {
        None => Err("the page closed the worker".into()),
        Some(Command::Stop) => Ok(true),
        Some(Command::Pause) => {
            send(scope, Event::Paused).await?;
            loop {
                match scope.next().await {
                    None => return Err("the page closed the worker".into()),
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
    Event::Working("the worker is training: stop the run (or let it finish) first".into())
}
