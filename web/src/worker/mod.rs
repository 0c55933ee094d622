//! The worker: holds the dataset and the encoder, trains on WebGPU (Burn's CPU backend
//! where there is none) with the core's training step, and probes, maps and exports the
//! encoder when asked. It answers every command with events; failures become
//! [`Event::Error`] with what to do.

pub mod compute;
pub mod crash;
pub mod error;
pub mod evaluate;
pub mod finetune;
pub mod train;
pub mod yielding;

use crate::protocol::{
    Command, ComputeChoice, DataSummary, EmbeddingFormat, Event, FileBytes, RunSettings,
};
use crate::with_encoder;
use burn::tensor::backend::AutodiffBackend;
use compute::{Backend, Compute, Encoder, HeldEncoder};
pub use error::WorkerError;
use futures::{SinkExt, StreamExt};
use gloo_worker::reactor::{reactor, ReactorScope};
use simclr::backend::{AutodiffCpu, Cpu};
#[cfg(feature = "webgpu")]
use simclr::backend::{AutodiffWgpu, Wgpu};
use simclr::data::synthetic::{self, SyntheticConfig};
use simclr::data::{upload, Dataset, Normalization};
use simclr::eval::map_method::MapMethod;
use simclr::model::weights;
use std::path::Path;
use std::sync::Arc;

/// The worker's end of the channel.
pub type Scope = ReactorScope<Command, Event>;

/// Sample images shown in the page's grid.
const SAMPLES_SHOWN: usize = 32;

/// The worker: answers commands until the page goes away.
#[reactor]
pub async fn TrainWorker(mut scope: ReactorScope<Command, Event>) {
    crash::install();
    let mut state = WorkerState::default();
    while let Some(command) = scope.next().await {
        let outcome = state.handle(command, &mut scope).await;
        if let Err(error) = outcome {
            if scope.send(Event::Error(error.to_string())).await.is_err() {
                break;
            }
        }
    }
}

/// What the worker keeps between commands.
#[derive(Default)]
struct WorkerState {
    /// A dataset from the user's files, if any (the synthetic one otherwise).
    uploaded: Option<Arc<Dataset>>,
    /// The dataset prepared for the last settings.
    prepared: Option<(RunSettings, Arc<Dataset>)>,
    /// The WebGPU adapter, once asked for.
    gpu: compute::Gpu,
    /// The trained or loaded encoder.
    encoder: Option<HeldEncoder>,
    /// The last loaded weights file, to continue training from.
    loaded: Option<FileBytes>,
}

impl WorkerState {
    async fn handle(&mut self, command: Command, scope: &mut Scope) -> Result<(), WorkerError> {
        match command {
            Command::Start(settings) => self.start(settings, scope).await,
            Command::Pause | Command::Resume | Command::Stop => Ok(()),
            Command::LoadData(files, settings) => self.load_data(files, &settings, scope).await,
            Command::UseSynthetic(settings) => {
                self.uploaded = None;
                self.prepared = None;
                self.preview(&settings, scope).await
            }
            Command::Preview(settings) => self.preview(&settings, scope).await,
            Command::Probe {
                label_fraction,
                settings,
            } => self.probe(label_fraction, &settings, scope).await,
            Command::FineTune {
                label_fraction,
                settings,
            } => self.finetune(label_fraction, &settings, scope).await,
            Command::Map { points, method } => self.map(points, &method, scope).await,
            Command::ExportEncoder => self.export_encoder(scope).await,
            Command::ExportEmbeddings(format) => self.export_embeddings(format, scope).await,
            Command::ImportEncoder { file, compute } => self.import(file, compute, scope).await,
        }
    }

    async fn load_data(
        &mut self,
        files: Vec<FileBytes>,
        settings: &RunSettings,
        scope: &mut Scope,
    ) -> Result<(), WorkerError> {
        let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
        let reading = format!("reading {}", names.join(", "));
        send(scope, Event::Working(reading)).await?;
        let files = files.into_iter().map(|f| (f.name, f.bytes)).collect();
        let data = upload::from_files(files).map_err(WorkerError::Data)?;
        self.uploaded = Some(Arc::new(data));
        self.prepared = None;
        self.preview(settings, scope).await
    }

    async fn probe(
        &mut self,
        label_fraction: f64,
        settings: &RunSettings,
        scope: &mut Scope,
    ) -> Result<(), WorkerError> {
        let (data, held, norm) = self.held_on(settings)?;
        send(scope, Event::Working("probing the encoders".into())).await?;
        let result = with_encoder!(&held.encoder, |encoder, device| {
            evaluate::probe(encoder, norm, &data, settings, label_fraction, &device).await
        })?;
        send(scope, Event::Probe(result)).await
    }

    async fn finetune(
        &mut self,
        label_fraction: f64,
        settings: &RunSettings,
        scope: &mut Scope,
    ) -> Result<(), WorkerError> {
        let (data, held, normalization) = self.held_on(settings)?;
        send(scope, Event::Working("fine-tuning the encoder".into())).await?;
        let run = finetune::FineTune {
            normalization,
            data: &data,
            settings,
            label_fraction,
        };
        let outcome = finetune::finetune_held(held, &run, scope).await?;
        send(scope, Event::FineTuned(outcome)).await
    }

    async fn map(
        &self,
        points: usize,
        method: &MapMethod,
        scope: &mut Scope,
    ) -> Result<(), WorkerError> {
        let data = self.current_data()?;
        let held = self.held()?;
        let norm = held.normalization.unwrap_or(data.normalization);
        let what = format!("computing the {} map", method.name());
        send(scope, Event::Working(what)).await?;
        let map = with_encoder!(&held.encoder, |encoder, device| {
            evaluate::map(encoder, norm, &data, (points, method), &device).await
        })?;
        send(scope, Event::Map(map)).await
    }

    async fn export_encoder(&self, scope: &mut Scope) -> Result<(), WorkerError> {
        let held = self.held()?;
        let norm = match (held.normalization, &self.prepared) {
            (Some(norm), _) => norm,
            (None, Some((_, data))) => data.normalization,
            (None, None) => {
                return Err(WorkerError::NotReady(
                    "probe the loaded encoder on some data first",
                ))
            }
        };
        let file = with_encoder!(&held.encoder, |encoder, _device| {
            evaluate::weights(encoder, norm, held.steps).await
        })?;
        send(scope, Event::Download(file)).await
    }

    async fn export_embeddings(
        &self,
        format: EmbeddingFormat,
        scope: &mut Scope,
    ) -> Result<(), WorkerError> {
        let data = self.current_data()?;
        let held = self.held()?;
        let norm = held.normalization.unwrap_or(data.normalization);
        let files = with_encoder!(&held.encoder, |encoder, device| {
            evaluate::embeddings(encoder, norm, &data, format, &device).await
        })?;
        for file in files {
            send(scope, Event::Download(file)).await?;
        }
        Ok(())
    }

    /// The dataset for `settings`, the encoder and the normalisation to feed it (the
    /// encoder's own, else the data's).
    fn held_on(
        &mut self,
        settings: &RunSettings,
    ) -> Result<(Arc<Dataset>, &HeldEncoder, Normalization), WorkerError> {
        let data = self.data(settings)?;
        let held = self.held()?;
        let normalization = held.normalization.unwrap_or(data.normalization);
        Ok((data, held, normalization))
    }

    fn held(&self) -> Result<&HeldEncoder, WorkerError> {
        self.encoder
            .as_ref()
            .ok_or(WorkerError::NotReady("train or load an encoder first"))
    }

    fn current_data(&self) -> Result<Arc<Dataset>, WorkerError> {
        match &self.prepared {
            Some((_, data)) => Ok(data.clone()),
            None => Err(WorkerError::NotReady(
                "start a run or load an encoder and probe it first",
            )),
        }
    }

    /// The dataset for `settings`: the uploaded one cut to the image counts, or synthetic
    /// images of those counts. Reused while the settings that shape it stay the same.
    fn data(&mut self, settings: &RunSettings) -> Result<Arc<Dataset>, WorkerError> {
        if let Some((prepared_for, data)) = &self.prepared {
            let same = prepared_for.train_images == settings.train_images
                && prepared_for.test_images == settings.test_images;
            if same {
                return Ok(data.clone());
            }
        }
        let data = match &self.uploaded {
            Some(uploaded) => {
                let mut data = Dataset {
                    name: uploaded.name.clone(),
                    train: uploaded.train.clone(),
                    test: uploaded.test.clone(),
                    classes: uploaded.classes.clone(),
                    normalization: uploaded.normalization,
                };
                if settings.train_images > 0 {
                    data.train.truncate(settings.train_images);
                }
                if settings.test_images > 0 {
                    data.test.truncate(settings.test_images);
                }
                data
            }
            None => {
                let (train_size, test_size) = settings.synthetic_sizes();
                synthetic::load(SyntheticConfig {
                    train_size,
                    test_size,
                })
            }
        };
        let data = Arc::new(data);
        self.prepared = Some((settings.clone(), data.clone()));
        Ok(data)
    }

    /// Sends the dataset's summary and its sample grid.
    async fn preview(
        &mut self,
        settings: &RunSettings,
        scope: &mut Scope,
    ) -> Result<(), WorkerError> {
        let data = self.data(settings)?;
        let whole = self.uploaded.as_deref().unwrap_or(&data);
        let summary = DataSummary {
            name: data.name.clone(),
            train: whole.train.len(),
            test: whole.test.len(),
            generated: self.uploaded.is_none(),
            side: data.train.height().max(data.test.height()),
            classes: data.classes.clone(),
        };
        send(scope, Event::Data(summary)).await?;
        let shown = if data.train.is_empty() {
            &data.test
        } else {
            &data.train
        };
        let indices: Vec<usize> = (0..shown.len().min(SAMPLES_SHOWN)).collect();
        if !indices.is_empty() {
            let png = simclr::augment::preview::sprite_png(shown, &indices, 8)?;
            send(scope, Event::Samples(png)).await?;
            // A handful of views: cheap enough for the CPU backend, whatever trains.
            let config = settings.pretrain_config();
            let augment = config.augment()?;
            let png = simclr::augment::preview::pairs_png::<Cpu>(
                shown,
                &augment,
                train::PAIRS_SHOWN,
                2,
                config.seed,
                &Default::default(),
            )?;
            send(scope, Event::Pairs(png)).await?;
        }
        Ok(())
    }

    async fn start(&mut self, settings: RunSettings, scope: &mut Scope) -> Result<(), WorkerError> {
        let data = self.data(&settings)?;
        self.preview(&settings, scope).await?;
        let backend = compute::choose(settings.compute, &mut self.gpu).await;
        send(scope, Event::Backend(backend.description.clone())).await?;
        let start_from = if settings.start_from_loaded {
            Some(self.loaded.as_ref().ok_or(WorkerError::NotReady(
                "load an encoder file first, or untick \"start from the loaded encoder\"",
            ))?)
        } else {
            None
        };
        let (encoder, step, stopped) = match backend.compute {
            #[cfg(feature = "webgpu")]
            Compute::Gpu => {
                let run = train_on::<AutodiffWgpu>(&settings, &data, scope, start_from).await?;
                (Encoder::Gpu(run.encoder), run.step, run.stopped)
            }
            Compute::Cpu => {
                let run = train_on::<AutodiffCpu>(&settings, &data, scope, start_from).await?;
                (Encoder::Cpu(run.encoder), run.step, run.stopped)
            }
        };
        let steps_before = start_from.map_or(0, |file| weights::batches_tracked(&file.bytes));
        self.encoder = Some(HeldEncoder {
            encoder,
            normalization: Some(data.normalization),
            steps: steps_before + step as u64,
        });
        send(scope, Event::Done { step, stopped }).await
    }

    async fn import(
        &mut self,
        file: FileBytes,
        choice: ComputeChoice,
        scope: &mut Scope,
    ) -> Result<(), WorkerError> {
        let Backend {
            compute,
            description,
        } = compute::choose(choice, &mut self.gpu).await;
        send(scope, Event::Backend(description)).await?;
        let path = Path::new(&file.name);
        let (encoder, normalization) = match compute {
            #[cfg(feature = "webgpu")]
            Compute::Gpu => {
                let (encoder, norm) =
                    weights::encoder_from_bytes::<Wgpu>(&file.bytes, path, &Default::default())
                        .map_err(WorkerError::Weights)?;
                (Encoder::Gpu(encoder), norm)
            }
            Compute::Cpu => {
                let (encoder, norm) =
                    weights::encoder_from_bytes::<Cpu>(&file.bytes, path, &Default::default())
                        .map_err(WorkerError::Weights)?;
                (Encoder::Cpu(encoder), norm)
            }
        };
        let config = with_encoder!(&encoder, |e, _device| e.config());
        let description = format!(
            "{}: width {}, {} stem",
            file.name,
            config.width,
            config.stem.name()
        );
        self.encoder = Some(HeldEncoder {
            encoder,
            normalization,
            steps: weights::batches_tracked(&file.bytes),
        });
        self.loaded = Some(file);
        send(scope, Event::EncoderLoaded(description)).await
    }
}

/// Trains on backend `B`'s default device.
async fn train_on<B: AutodiffBackend>(
    settings: &RunSettings,
    data: &Dataset,
    scope: &mut Scope,
    start_from: Option<&FileBytes>,
) -> Result<train::Trained<B>, WorkerError> {
    train::train::<B>(train::Run {
        settings,
        data,
        scope,
        start_from,
        device: Default::default(),
    })
    .await
}

/// Sends an event to the page.
pub async fn send(scope: &mut Scope, event: Event) -> Result<(), WorkerError> {
    scope
        .send(event)
        .await
        .map_err(|_| WorkerError::PageClosed)?;
    // Out now, not when the next long computation ends.
    yielding::yield_to_browser().await;
    Ok(())
}
