//! The compute backend: WebGPU when the browser gives an adapter, Burn's CPU backend in
//! WebAssembly otherwise, and the encoder kept on whichever one trained or loaded it.

use simclr::backend::{Cpu, Wgpu};
use simclr::data::Normalization;
use simclr::model::ResNet;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Which backend the worker computes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compute {
    /// Burn's wgpu backend on WebGPU.
    Gpu,
    /// Burn's flex backend in WebAssembly.
    Cpu,
}

/// The chosen backend and its description for the page.
pub struct Backend {
    /// GPU or CPU.
    pub compute: Compute,
    /// In words, e.g. "WebGPU: google swiftshader".
    pub description: String,
}

/// Picks the backend: WebGPU unless `force_cpu` or the browser has no adapter. The wgpu
/// device is set up once per worker (`gpu_ready`).
pub async fn choose(force_cpu: bool, gpu_ready: &mut Option<String>) -> Backend {
    if !force_cpu {
        if let Some(name) = gpu_ready.clone() {
            return gpu(name);
        }
        // cubecl aborts the module when WebGPU has no adapter: ask the browser first.
        if let Some(name) = webgpu_adapter().await {
            let device = burn::backend::wgpu::WgpuDevice::default();
            burn::backend::wgpu::init_setup_async::<burn::backend::wgpu::graphics::AutoGraphicsApi>(
                &device,
                Default::default(),
            )
            .await;
            *gpu_ready = Some(name.clone());
            return gpu(name);
        }
    }
    let why = if force_cpu {
        "CPU (chosen in the settings)"
    } else {
        "CPU (no WebGPU adapter)"
    };
    Backend {
        compute: Compute::Cpu,
        description: why.into(),
    }
}

fn gpu(name: String) -> Backend {
    Backend {
        compute: Compute::Gpu,
        description: format!("WebGPU: {name}"),
    }
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
    let parts: Vec<String> = ["vendor", "architecture", "device"]
        .iter()
        .filter_map(|name| field(name))
        .collect();
    Some(field("description").unwrap_or_else(|| {
        if parts.is_empty() {
            "adapter".into()
        } else {
            parts.join(" ")
        }
    }))
}

/// A trained or loaded encoder in inference mode, on its backend.
// A worker holds one; boxing would only add indirection.
#[allow(clippy::large_enum_variant)]
pub enum Encoder {
    /// On WebGPU.
    Gpu(ResNet<Wgpu>),
    /// On the CPU.
    Cpu(ResNet<Cpu>),
}

/// The encoder the worker holds, with what it needs to be used.
pub struct HeldEncoder {
    /// The network.
    pub encoder: Encoder,
    /// Its input normalisation: the training data's, or a loaded file's when it has one.
    pub normalization: Option<Normalization>,
}

/// Runs `$body` with `$encoder` bound to the encoder and `$device` to its device, whichever
/// backend holds it.
#[macro_export]
macro_rules! with_encoder {
    ($held:expr, |$encoder:ident, $device:ident| $body:expr) => {
        match $held {
            $crate::worker::compute::Encoder::Gpu($encoder) => {
                let $device = burn::backend::wgpu::WgpuDevice::default();
                $body
            }
            $crate::worker::compute::Encoder::Cpu($encoder) => {
                let $device: burn::tensor::Device<simclr::backend::Cpu> = Default::default();
                $body
            }
        }
    };
}
