//! The threaded CPU worker's entry point, built by `scripts/build-threads-worker.sh` (never
//! by trunk) and started from `web/worker-threads-main.js`, which calls [`start_worker`]
//! once the module is instantiated.

use gloo_worker::Registrable;
use simclr_web::worker::TrainWorker;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Every thread of the pool instantiates this module too, so nothing runs at start-up:
/// only the first thread calls [`start_worker`].
fn main() {}

/// Starts rayon's pool of `threads` Web Workers, then answers the page's commands.
#[wasm_bindgen]
pub async fn start_worker(threads: usize) -> Result<(), JsValue> {
    console_error_panic_hook::set_once();
    JsFuture::from(wasm_bindgen_rayon::init_thread_pool(threads.max(1))).await?;
    TrainWorker::registrar().register();
    Ok(())
}
