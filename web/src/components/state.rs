//! The page's reactive state and how each worker event changes it.

use crate::protocol::{DataSummary, EmbeddingMap, Event, FineTuned, ProbeComparison};
use crate::settings::RunSettings;
use leptos::prelude::*;

/// Where the run stands, as the page shows it (`data-testid="status"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing started.
    Idle,
    /// The worker is training.
    Training,
    /// Training is held.
    Paused,
    /// Training ran to its last step.
    Done,
    /// Stop ended training after this many steps.
    Stopped(usize),
    /// Training failed or the worker crashed.
    Error,
}

impl Status {
    /// What the page shows.
    pub fn label(self) -> String {
        match self {
            Status::Idle => "idle".into(),
            Status::Training => "training".into(),
            Status::Paused => "paused".into(),
            Status::Done => "done".into(),
            Status::Stopped(step) => format!("stopped at step {step}"),
            Status::Error => "error".into(),
        }
    }

    /// Whether a run is under way (training or paused).
    pub fn running(self) -> bool {
        matches!(self, Status::Training | Status::Paused)
    }
}

/// The part of the page a task belongs to, where its errors are shown too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The data panel.
    Data,
    /// Start, Pause, Stop.
    Run,
    /// The linear probe.
    Probe,
    /// The map of the test embeddings (t-SNE or UMAP).
    Map,
    /// Encoder and embeddings files.
    Files,
}

/// One report of the training loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Steps done.
    pub step: usize,
    /// Mean loss since the last report.
    pub loss: f64,
    /// Views per second since the last report.
    pub views_per_s: f64,
}

/// The page's reactive state, provided as context.
#[derive(Debug, Clone, Copy)]
pub struct RunState {
    /// The settings of the next run.
    pub settings: RwSignal<RunSettings>,
    /// idle / training / paused / done / error.
    pub status: RwSignal<Status>,
    /// The backend in words.
    pub backend: RwSignal<String>,
    /// The dataset in use.
    pub data: RwSignal<Option<DataSummary>>,
    /// Object URL of the sample grid PNG.
    pub samples_url: RwSignal<Option<String>>,
    /// Object URL of the augmented-pairs PNG.
    pub pairs_url: RwSignal<Option<String>>,
    /// Steps done, steps planned, epochs done, last learning rate.
    pub step: RwSignal<(usize, usize, usize, f64)>,
    /// Every report of the run.
    pub reports: RwSignal<Vec<Report>>,
    /// `(epoch, kNN top-1)` per epoch.
    pub knn: RwSignal<Vec<(f64, f64)>>,
    /// The last probe comparison.
    pub probe: RwSignal<Option<ProbeComparison>>,
    /// The last fine-tuning result.
    pub finetuned: RwSignal<Option<FineTuned>>,
    /// Fine-tuning under way: steps done, steps planned, last mean loss.
    pub finetuning: RwSignal<Option<(usize, usize, f64)>>,
    /// The last map of the test embeddings.
    pub map: RwSignal<Option<EmbeddingMap>>,
    /// Object URL of the map's thumbnail sheet.
    pub sprite_url: RwSignal<Option<String>>,
    /// The loaded encoder, in words.
    pub loaded: RwSignal<Option<String>>,
    /// Whether an encoder exists to probe, map or export.
    pub has_encoder: RwSignal<bool>,
    /// What the worker is doing besides training, when it is busy with it.
    pub working: RwSignal<Option<String>>,
    /// The last error, with what to do.
    pub error: RwSignal<Option<String>>,
    /// Where the last task was started, where its error shows too.
    pub place: RwSignal<Place>,
    /// A Pause or Stop the worker has not answered yet, in words.
    pub pending: RwSignal<Option<String>>,
    /// Whether the loaded encoder has been replaced by a run since it was loaded.
    pub loaded_replaced: RwSignal<bool>,
    /// The settings of the last run started.
    pub trained_with: RwSignal<Option<RunSettings>>,
}

impl RunState {
    /// The state of a fresh page.
    pub fn new() -> Self {
        Self {
            settings: RwSignal::new(RunSettings::default()),
            status: RwSignal::new(Status::Idle),
            backend: RwSignal::new("not started".into()),
            data: RwSignal::new(None),
            samples_url: RwSignal::new(None),
            pairs_url: RwSignal::new(None),
            step: RwSignal::new((0, 0, 0, 0.0)),
            reports: RwSignal::new(vec![]),
            knn: RwSignal::new(vec![]),
            probe: RwSignal::new(None),
            finetuned: RwSignal::new(None),
            finetuning: RwSignal::new(None),
            map: RwSignal::new(None),
            sprite_url: RwSignal::new(None),
            loaded: RwSignal::new(None),
            has_encoder: RwSignal::new(false),
            working: RwSignal::new(None),
            error: RwSignal::new(None),
            place: RwSignal::new(Place::Run),
            pending: RwSignal::new(None),
            loaded_replaced: RwSignal::new(false),
            trained_with: RwSignal::new(None),
        }
    }

    /// Clears the last run's numbers and the results that belonged to its encoder.
    pub fn begin_run(&self) {
        self.status.set(Status::Training);
        self.trained_with.set(Some(self.settings.get_untracked()));
        self.error.set(None);
        self.place.set(Place::Run);
        self.pending.set(None);
        self.reports.set(vec![]);
        self.knn.set(vec![]);
        self.step.set((0, 0, 0, 0.0));
        self.forget_results();
        self.has_encoder.set(false);
        if self.loaded.get_untracked().is_some() {
            self.loaded_replaced.set(true);
        }
    }

    /// Drops the results that belonged to the last encoder.
    fn forget_results(&self) {
        self.probe.set(None);
        self.finetuned.set(None);
        self.map.set(None);
        self.sprite_url.set(None);
    }

    /// Whether an encoder is there and the worker is free to probe, map or export it
    /// (reactive: read inside a view).
    pub fn encoder_ready(&self) -> bool {
        self.has_encoder.get() && !self.status.get().running() && self.working.get().is_none()
    }

    /// Marks a non-training task as under way (buttons wait for it).
    pub fn begin_task(&self, place: Place, what: &str) {
        self.error.set(None);
        self.place.set(place);
        self.working.set(Some(what.into()));
    }

    /// Notes a Pause or Stop sent to the worker, until it answers.
    pub fn request(&self, what: &str) {
        self.pending
            .set(Some(format!("{what} after the current step…")));
    }

    /// Applies one worker event. `png_url` turns PNG bytes into a URL the page can show.
    pub fn apply(&self, event: Event, png_url: impl Fn(&[u8]) -> Option<String>) {
        match event {
            Event::Backend(name) => self.backend.set(name),
            Event::Data(summary) => {
                self.working.set(None);
                self.data.set(Some(summary));
            }
            Event::Samples(png) => self.samples_url.set(png_url(&png)),
            Event::Pairs(png) => self.pairs_url.set(png_url(&png)),
            Event::Progress {
                step,
                total,
                epoch,
                loss,
                lr,
                views_per_s,
            } => {
                self.step.set((step, total, epoch, lr));
                self.reports.update(|r| {
                    r.push(Report {
                        step,
                        loss,
                        views_per_s,
                    })
                });
            }
            Event::Epoch { epoch, knn } => {
                if let Some(accuracy) = knn {
                    self.knn.update(|k| k.push((epoch as f64, accuracy)));
                }
            }
            Event::Paused => {
                self.pending.set(None);
                self.status.set(Status::Paused);
            }
            Event::Resumed => {
                self.pending.set(None);
                self.status.set(Status::Training);
            }
            Event::Done { step, stopped } => {
                self.pending.set(None);
                self.status.set(if stopped {
                    Status::Stopped(step)
                } else {
                    Status::Done
                });
                self.has_encoder.set(true);
            }
            Event::Probe(result) => {
                self.working.set(None);
                self.probe.set(Some(result));
            }
            Event::FineTuning { step, total, loss } => {
                self.finetuning.set(Some((step, total, loss)));
            }
            Event::FineTuned(outcome) => {
                self.working.set(None);
                self.finetuning.set(None);
                self.finetuned.set(Some(outcome));
            }
            Event::Map(map) => {
                self.working.set(None);
                self.sprite_url.set(png_url(&map.sprite_png));
                self.map.set(Some(map));
            }
            Event::Download(_) => self.working.set(None),
            Event::EncoderLoaded(description) => {
                self.working.set(None);
                self.loaded.set(Some(description));
                self.loaded_replaced.set(false);
                self.forget_results();
                self.has_encoder.set(true);
            }
            Event::Working(what) => self.working.set(Some(what)),
            Event::Error(message) => self.fail(message),
        }
    }

    /// Shows an error; a run under way ends with it.
    pub fn fail(&self, message: String) {
        self.working.set(None);
        self.finetuning.set(None);
        self.pending.set(None);
        if self.status.get_untracked().running() {
            self.status.set(Status::Error);
        }
        self.error.set(Some(message));
    }

    /// The worker is gone: nothing more will come from it.
    pub fn crashed(&self, message: String) {
        // A panic reports itself, then the trap it ends in reports again: keep the first.
        let already = self.status.get_untracked() == Status::Error
            && self
                .error
                .with_untracked(|e| e.as_deref().is_some_and(|e| e.contains("the worker")));
        if already {
            return;
        }
        self.working.set(None);
        self.finetuning.set(None);
        self.pending.set(None);
        self.status.set(Status::Error);
        self.error.set(Some(format!(
            "{message}. This usually means the GPU ran out of memory or was lost: \
             reload the page and pick a smaller preset (or \"CPU\" under \"compute on\")."
        )));
    }
}

impl Default for RunState {
    fn default() -> Self {
        Self::new()
    }
}
