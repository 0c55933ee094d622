//! The training worker: picks WebGPU when the browser offers an adapter (Burn's CPU backend
//! otherwise), then runs the core's training step and reports the loss as it goes.

use crate::protocol::{Command, Event, RunSettings};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::AdamConfig;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_worker::reactor::{reactor, ReactorScope};
use simclr::config::{Preset, PretrainConfig};
use simclr::model::SimclrModel;
use simclr::train::Trainer;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Steps between loss read-backs; the device runs ahead in between.
const READ_EVERY: usize = 5;

type Scope = ReactorScope<Command, Event>;

/// The worker: waits for `Start`, trains, reports, and waits again.
#[reactor]
pub async fn TrainWorker(mut scope: ReactorScope<Command, Event>) {
    while let Some(command) = scope.next().await {
        if let Command::Start(settings) = command {
            let outcome = run(&settings, &mut scope).await;
            let event = match outcome {
                Ok(()) => Event::Done,
                Err(message) => Event::Error(message),
            };
            if scope.send(event).await.is_err() {
                break;
            }
        }
    }
}

/// The configuration of a browser run on the synthetic data.
pub fn pretrain_config(settings: &RunSettings) -> PretrainConfig {
    let mut config = PretrainConfig::preset(Preset::Tiny);
    config.width = settings.width;
    config.batch_size = settings.batch_size;
    config.epochs = settings.epochs;
    config.seed = settings.seed;
    config.dataset.synthetic_train_size = settings.train_images;
    config.dataset.synthetic_test_size = 0;
    config
}

async fn run(settings: &RunSettings, scope: &mut Scope) -> Result<(), String> {
    let adapter = if settings.force_cpu {
        None
    } else {
        webgpu_adapter().await
    };
    match adapter {
        Some(name) => {
            let device = burn::backend::wgpu::WgpuDevice::default();
            burn::backend::wgpu::init_setup_async::<burn::backend::wgpu::graphics::AutoGraphicsApi>(
                &device,
                Default::default(),
            )
            .await;
            send(scope, Event::Backend(format!("WebGPU: {name}"))).await?;
            train::<simclr::backend::AutodiffWgpu>(settings, scope, device).await
        }
        None => {
            send(scope, Event::Backend("CPU (no WebGPU adapter)".into())).await?;
            train::<simclr::backend::AutodiffCpu>(settings, scope, Default::default()).await
        }
    }
}

async fn send(scope: &mut Scope, event: Event) -> Result<(), String> {
    scope
        .send(event)
        .await
        .map_err(|_| "the page closed the worker".to_string())
}

/// The adapter's description when `navigator.gpu.requestAdapter()` gives one.
async fn webgpu_adapter() -> Option<String> {
    let global = js_sys::global();
    let navigator = js_sys::Reflect::get(&global, &"navigator".into()).ok()?;
    let gpu = js_sys::Reflect::get(&navigator, &"gpu".into()).ok()?;
    if gpu.is_undefined() || gpu.is_null() {
        return None;
    }
    let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into()).ok()?;
    let request: js_sys::Function = request.dyn_into().ok()?;
    let promise: js_sys::Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
    let adapter = JsFuture::from(promise).await.ok()?;
    if adapter.is_null() || adapter.is_undefined() {
        return None;
    }
    let info = js_sys::Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let field = |name: &str| {
        js_sys::Reflect::get(&info, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let described = field("description");
    let parts: Vec<String> = ["vendor", "architecture", "device"]
        .iter()
        .filter_map(|name| field(name))
        .collect();
    Some(described.unwrap_or_else(|| {
        if parts.is_empty() {
            "adapter".into()
        } else {
            parts.join(" ")
        }
    }))
}

async fn train<B: AutodiffBackend>(
    settings: &RunSettings,
    scope: &mut Scope,
    device: B::Device,
) -> Result<(), String> {
    let config = pretrain_config(settings);
    let data = config.dataset.load().map_err(|e| e.to_string())?;
    let optim = AdamConfig::new()
        .with_weight_decay(Some(WeightDecayConfig::new(
            config.optimizer.weight_decay as f32,
        )))
        .init::<B, SimclrModel<B>>();
    let mut trainer =
        Trainer::<B, _>::new(&config, &data.train, data.normalization, optim, &device)
            .map_err(|e| e.to_string())?;
    let total = trainer.total_steps();
    let views = 2 * config.batch_size;
    let mut pending = vec![];
    let mut clock = Clock::start();
    while trainer.state.step < total {
        let out = trainer.step(&data.train);
        pending.push(out.loss);
        if pending.len() < READ_EVERY && trainer.state.step < total {
            continue;
        }
        let count = pending.len();
        let losses = Tensor::cat(std::mem::take(&mut pending), 0);
        let values = losses
            .into_data_async()
            .await
            .map_err(|e| format!("reading the loss back failed: {e:?}"))?
            .to_vec::<f32>()
            .map_err(|e| format!("reading the loss back failed: {e:?}"))?;
        let loss = values.iter().map(|&v| v as f64).sum::<f64>() / count as f64;
        if !loss.is_finite() {
            return Err(format!("the loss became {loss}; lower the learning rate"));
        }
        let event = Event::Progress {
            step: trainer.state.step,
            total,
            loss,
            views_per_s: (count * views) as f64 / clock.lap(),
        };
        send(scope, event).await?;
        if let Some(Some(Command::Stop)) = scope.next().now_or_never() {
            break;
        }
    }
    Ok(())
}

/// Seconds between laps, from `performance.now()` (workers have no `Instant`).
struct Clock {
    last: f64,
}

impl Clock {
    fn now() -> f64 {
        let global = js_sys::global();
        js_sys::Reflect::get(&global, &"performance".into())
            .ok()
            .and_then(|p| {
                let now = js_sys::Reflect::get(&p, &"now".into()).ok()?;
                let now: js_sys::Function = now.dyn_into().ok()?;
                now.call0(&p).ok()?.as_f64()
            })
            .unwrap_or(0.0)
    }

    fn start() -> Self {
        Self { last: Self::now() }
    }

    fn lap(&mut self) -> f64 {
        let now = Self::now();
        let seconds = ((now - self.last) / 1000.0).max(1e-6);
        self.last = now;
        seconds
    }
}
