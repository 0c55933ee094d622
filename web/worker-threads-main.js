// The threaded worker's module entry (copied next to wasm-bindgen's output by
// scripts/build-threads-worker.sh): instantiate the shared-memory module, start one rayon
// thread per logical core, then serve the page.
import init, { start_worker } from "./worker-threads.js";

await init();
await start_worker(Math.max(1, self.navigator.hardwareConcurrency || 1));
