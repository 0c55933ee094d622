//! The compute backend: WebGPU when the browser gives an adapter, Burn's CPU backend in
//! WebAssembly otherwise, and the encoder kept on whichever one trained or loaded it. The
//! threaded worker (feature `threads`) is built without WebGPU and always computes on its
//! CPU threads.

use crate::settings::ComputeChoice;
use simclr::backend::Cpu;
#[cfg(feature = "webgpu")]
use simclr::backend::Wgpu;
use simclr::data::Normalization;
use simclr::model::ResNet;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Which backend the worker computes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compute {
    /// Burn's wgpu backend on WebGPU.
    #[cfg(feature = "webgpu")]
    Gpu,
    /// Burn's flex backend in WebAssembly.
    Cpu,
}

/// The chosen backend and its description for the page.
pub struct Backend {
    /// GPU or CPU.
    pub compute: Compute,
    /// In words, with why, e.g. "WebGPU: NVIDIA GeForce RTX 4070".
    pub description: String,
}

/// The browser's WebGPU adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adapter {
    /// Its description, e.g. "google swiftshader".
    pub name: String,
    /// A CPU rasteriser posing as a GPU (SwiftShader, llvmpipe, lavapipe, WARP).
    pub software: bool,
}

/// What the worker knows of WebGPU: the adapter once asked for, and whether Burn's wgpu
/// device is set up on it (once per worker).
#[derive(Debug, Default)]
pub struct Gpu {
    adapter: Option<Option<Adapter>>,
    #[cfg(feature = "webgpu")]
    ready: bool,
}

/// Picks the backend for `choice`: WebGPU on a hardware adapter (or on any adapter when
/// WebGPU is asked for), the CPU otherwise, with the reason in the description.
pub async fn choose(choice: ComputeChoice, gpu: &mut Gpu) -> Backend {
    if choice == ComputeChoice::Cpu {
        return cpu("chosen in the settings");
    }
    if gpu.adapter.is_none() {
        gpu.adapter = Some(webgpu_adapter().await);
    }
    match gpu.adapter.clone().flatten() {
        None => cpu("this browser gives no WebGPU adapter"),
        Some(adapter) if adapter.software && choice == ComputeChoice::Auto => cpu(&format!(
            "the WebGPU adapter \"{}\" is a software renderer, slower than the CPU \
             path; pick WebGPU under \"compute on\" to use it anyway",
            adapter.name
        )),
        Some(adapter) => on_webgpu(adapter, gpu).await,
    }
}

#[cfg(feature = "webgpu")]
async fn on_webgpu(adapter: Adapter, gpu: &mut Gpu) -> Backend {
    if !gpu.ready {
        // cubecl aborts the module when WebGPU has no adapter: set up only once the
        // browser has shown one.
        let device = burn::backend::wgpu::WgpuDevice::default();
        burn::backend::wgpu::init_setup_async::<burn::backend::wgpu::graphics::AutoGraphicsApi>(
            &device,
            Default::default(),
        )
        .await;
        gpu.ready = true;
    }
    let kind = if adapter.software { " (software)" } else { "" };
    Backend {
        compute: Compute::Gpu,
        description: format!("WebGPU: {}{kind}", adapter.name),
    }
}

#[cfg(not(feature = "webgpu"))]
async fn on_webgpu(adapter: Adapter, _gpu: &mut Gpu) -> Backend {
    // The page starts the single-threaded worker for WebGPU; this is only a safety net.
    cpu(&format!(
        "WebGPU on \"{}\" is not in the threaded CPU worker",
        adapter.name
    ))
}

/// The CPU backend, its thread count and why it was chosen.
fn cpu(reason: &str) -> Backend {
    let threads = thread_count();
    let plural = if threads == 1 { "" } else { "s" };
    Backend {
        compute: Compute::Cpu,
        description: format!("CPU, {threads} thread{plural} ({reason})"),
    }
}

/// The threads the CPU backend computes on: rayon's pool in the threaded worker, the
/// worker's own thread otherwise.
pub fn thread_count() -> usize {
    #[cfg(feature = "threads")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "threads"))]
    return 1;
}

/// Whether an adapter described by `info` is a software renderer: the browser says so
/// (`isFallbackAdapter`), or its names are those of a CPU rasteriser.
pub fn is_software(fallback_flag: bool, names: &str) -> bool {
    let names = names.to_lowercase();
    fallback_flag
        || [
            "swiftshader",
            "llvmpipe",
            "lavapipe",
            "softpipe",
            "basic render",
        ]
        .iter()
        .any(|known| names.contains(known))
}

/// The adapter `navigator.gpu.requestAdapter()` gives, if any.
pub async fn webgpu_adapter() -> Option<Adapter> {
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
    // Newer browsers put the flag on `info`, older ones on the adapter itself.
    let flag = |object: &JsValue| {
        js_sys::Reflect::get(object, &"isFallbackAdapter".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
    let parts: Vec<String> = ["vendor", "architecture", "device", "description"]
        .iter()
        .filter_map(|name| field(name))
        .collect();
    // Without a description, the other fields (the description is not among them then).
    let name = field("description")
        .or_else(|| (!parts.is_empty()).then(|| parts.join(" ")))
        .unwrap_or_else(|| "adapter".into());
    Some(Adapter {
        software: is_software(flag(&info) || flag(&adapter), &parts.join(" ")),
        name,
    })
}

/// A trained or loaded encoder in inference mode, on its backend.
// A worker holds one; boxing would only add indirection.
#[allow(clippy::large_enum_variant)]
pub enum Encoder {
    /// On WebGPU.
    #[cfg(feature = "webgpu")]
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
    /// Training steps behind it (written as `num_batches_tracked`).
    pub steps: u64,
}

/// Runs `$body` with `$encoder` bound to the encoder and `$device` to its device, whichever
/// backend holds it.
#[macro_export]
macro_rules! with_encoder {
    ($held:expr, |$encoder:ident, $device:ident| $body:expr) => {
        match $held {
            #[cfg(feature = "webgpu")]
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
