//! Which build of the worker a run gets: the single-threaded one, with WebGPU and the CPU
//! path (`worker.js`, built by trunk), or the CPU-only one whose convolutions, BatchNorm and
//! augmentation run on a rayon pool of Web Workers sharing its memory
//! (`worker-threads-main.js`, built by `scripts/build-threads-worker.sh`). Shared wasm
//! memory needs a cross-origin isolated page (COOP `same-origin` + COEP `require-corp`), so
//! without those headers every run gets the single-threaded worker.

use crate::settings::ComputeChoice;
use crate::worker::compute::{webgpu_adapter, Adapter};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// A build of the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerKind {
    /// WebGPU and the CPU on one thread.
    Single,
    /// The CPU on all the browser's threads.
    Threaded,
}

impl WorkerKind {
    /// The script the worker starts from.
    pub fn script(self) -> &'static str {
        match self {
            Self::Single => "./worker.js",
            Self::Threaded => THREADED_SCRIPT,
        }
    }

    /// Whether its script is its own ES module entry (the threaded one imports
    /// wasm-bindgen's module and starts the thread pool first); gloo-worker writes a
    /// classic loader for the other.
    pub fn is_module_entry(self) -> bool {
        self == Self::Threaded
    }
}

const THREADED_SCRIPT: &str = "./worker-threads-main.js";

/// What the page found out about where it runs.
#[derive(Debug)]
pub struct Placement {
    /// The page is cross-origin isolated and the threaded worker was built.
    threads: bool,
    /// The WebGPU adapter, when threads are possible (it decides "automatic").
    adapter: Option<Adapter>,
    /// Set when the threaded worker failed to start (shared with the crash listener).
    broken: Rc<Cell<bool>>,
}

impl Placement {
    /// Asks the browser (isolation, the threaded worker's script, the WebGPU adapter).
    /// `broken` is set from outside once the threaded worker fails to start.
    pub async fn detect(broken: Rc<Cell<bool>>) -> Self {
        let threads = cross_origin_isolated() && exists(THREADED_SCRIPT).await;
        let adapter = if threads {
            webgpu_adapter().await
        } else {
            None
        };
        Self::new(threads, adapter, broken)
    }

    /// From what is known: whether the threaded worker can run here (isolated page, script
    /// served), the WebGPU adapter, and the flag set when the threaded worker fails.
    pub fn new(threads: bool, adapter: Option<Adapter>, broken: Rc<Cell<bool>>) -> Self {
        Self {
            threads,
            adapter,
            broken,
        }
    }

    /// Whether runs can move between the two workers.
    pub fn can_switch(&self) -> bool {
        self.threads
    }

    /// `kind`, or the single-threaded worker where the threaded one cannot run.
    pub fn usable(&self, kind: WorkerKind) -> WorkerKind {
        if self.threads && !self.broken.get() {
            kind
        } else {
            WorkerKind::Single
        }
    }

    /// The worker for a run or an encoder on `choice`, mirroring the worker's own choice
    /// of backend: the CPU goes to the threaded worker wherever it can.
    pub fn kind_for(&self, choice: ComputeChoice) -> WorkerKind {
        let on_cpu = match choice {
            ComputeChoice::Cpu => true,
            ComputeChoice::WebGpu => false,
            ComputeChoice::Auto => self.adapter.as_ref().is_none_or(|a| a.software),
        };
        self.usable(if on_cpu {
            WorkerKind::Threaded
        } else {
            WorkerKind::Single
        })
    }
}

fn cross_origin_isolated() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"crossOriginIsolated".into())
        .ok()
        .and_then(|value| value.as_bool())
        .unwrap_or(false)
}

/// Whether the server has `url` (a dev build without the nightly toolchain has no
/// threaded worker).
async fn exists(url: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let init = web_sys::RequestInit::new();
    init.set_method("HEAD");
    match JsFuture::from(window.fetch_with_str_and_init(url, &init)).await {
        Ok(response) => response
            .dyn_into::<web_sys::Response>()
            .is_ok_and(|response| response.ok()),
        Err(_) => false,
    }
}
