// The threaded worker's module entry (copied next to wasm-bindgen's output by
// scripts/build-threads-worker.sh): instantiate the shared-memory module, start one rayon
// thread per logical core, then serve the page. A failure here happens before the wasm
// can report anything, so it goes to the page's crash channel, beginning with
// `THREADS_FAILED` (web/src/worker/crash.rs), and the page moves runs to the other worker.
import init, { start_worker } from "./worker-threads.js";

try {
  await init();
  await start_worker(Math.max(1, self.navigator.hardwareConcurrency || 1));
} catch (error) {
  new BroadcastChannel("simclr-worker-crash").postMessage(
    `the threaded worker did not start: ${error?.message ?? error}`);
  throw error;
}
