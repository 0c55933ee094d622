// Serves dist/ on 127.0.0.1 and drives the page in Debian's headless Chromium.
//
// 0. First screen and default run (WebGPU flag on, so the page sees SwiftShader): Start and
//    the plan line are in the first viewport at 1280×800 and at 400 px (no sideways
//    scroll); Start with the defaults picks the CPU path over the software adapter and
//    says why, ends within 3 minutes, and its encoder's linear probe beats the random
//    encoder's by at least 5 points at 10% and at 100% labels on at least 500 test images.
// 1. WebGPU forced (SwiftShader): a few micro steps at batch 16; the shader-compilation
//    phase is shown before the first report; the loss appears and falls, kNN is reported,
//    samples and augmented views show; the probe beats chance; the t-SNE scatter has one
//    point per test image and shows the image under the pointer; the encoder downloads as
//    safetensors with num_batches_tracked = steps; at 400 px nothing scrolls sideways.
// 2. CPU (no flag): a malformed dataset file, picked or dropped, gives an error naming it,
//    beside the data panel too; the encoder from run 1 loads and probes; a run continuing
//    from it clears the old probe, pauses within a step (+2 s), holds still, resumes and
//    finishes; a second run stops within a step (+2 s) and says where; the embeddings
//    download as CSV; fine-tuning stops within a step (+2 s) and its network is tested.
// 3. With SIMCLR_CIFAR10_DIR: real CIFAR-10 batch files load and show what a run will use,
//    and PyTorch's ResNet-18 from ../shared/reference loads as an encoder; a run asked on
//    WebGPU moves to the single-threaded worker, which is handed the files first.
// 4. Not cross-origin isolated (no headers, service workers blocked): runs get the
//    single-threaded worker, and say so.
// 5. A threaded worker whose wasm is missing shows an error instead of never starting.
// 6. A static host without the headers: the page's service worker isolates it after one
//    reload, and runs get the threaded worker.
//
// Parts 0–3 are served cross-origin isolated (COOP + COEP, as `trunk serve` does), so CPU
// runs get the threaded worker, and part 0 asserts it uses every core.
//
// Screenshots go to $E2E_OUT (default target/e2e), the first-screen and finished-run ones
// also to $E2E_DOCS when set (docs/ for the README).
import { chromium } from "playwright-core";
import { serve } from "./serve.mjs";
import { isolation, setValue } from "./page.mjs";
import { readFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";

const dist = process.env.DIST_DIR ?? join(process.cwd(), "..", "..", "dist");
const out = process.env.E2E_OUT ?? join(process.cwd(), "..", "..", "target", "e2e");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const docs = process.env.E2E_DOCS;
const encoderFile = join(out, "encoder.safetensors");
const CHANCE = 0.1;
const reference = process.env.SIMCLR_REFERENCE_DIR ?? join(process.cwd(), "..", "..", "..", "shared", "reference");


const text = (page, id) => page.getByTestId(id).textContent();

/// Polls `check` (an async predicate) until it holds; fails with `what` after `minutes`.
async function until(page, what, check, minutes = 8) {
  const deadline = Date.now() + minutes * 60 * 1000;
  for (;;) {
    if (await check()) return;
    const error = (await page.getByTestId("error").count()) ? await text(page, "error") : "";
    assert.ok(!error, `${what}: the page shows an error: ${error}`);
    assert.ok(Date.now() < deadline, `${what}: not after ${minutes} minutes`);
    await page.waitForTimeout(250);
  }
}

async function trainToTheEnd(page, name) {
  await until(page, `${name}: run ends`, async () => ["done", "error"].includes(await text(page, "status")));
  const status = await text(page, "status");
  const error = status === "error" ? await text(page, "error") : "";
  assert.equal(status, "done", `${name}: ${error}`);
}

/// Seconds per step at the default batch, from the views/s shown.
function stepSeconds(viewsPerS) {
  return (2 * 32) / Number(viewsPerS);
}

function checkLosses(name, losses, latest) {
  const values = losses.split(",").map(Number);
  assert.ok(values.length >= 3 && values.every(Number.isFinite), `${name}: losses ${losses}`);
  assert.equal(Number(latest).toFixed(3), values[values.length - 1].toFixed(3), "the latest loss is shown");
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(values.slice(-3)) < mean(values.slice(0, 2)), `${name}: the loss did not fall: ${values.join(", ")}`);
  return values;
}

async function probe(page, name, percent = 100) {
  await setValue(page, "label-fraction", String(percent), "input");
  await page.getByTestId("probe-run").click();
  await until(page, `${name}: probe`, async () => (await page.getByTestId("probe-accuracy").count()) > 0 && !(await text(page, "working")));
  const trained = Number(await page.getByTestId("probe-accuracy").getAttribute("data-accuracy"));
  const random = Number(await page.getByTestId("probe-random-accuracy").getAttribute("data-accuracy"));
  assert.ok(trained > CHANCE, `${name}: probe accuracy ${trained} is not above chance`);
  assert.ok(random > CHANCE, `${name}: random-encoder probe accuracy ${random} is not above chance`);
  return { trained, random };
}

/// Fine-tunes at the slider's share of the labels; its progress shows, then its accuracy.
async function fineTune(page, name) {
  const started = Date.now();
  await page.getByTestId("finetune-run").click();
  await until(page, `${name}: fine-tuning progress`, async () => (await page.getByTestId("finetune-progress").count()) > 0, 2);
  await until(page, `${name}: fine-tuned`, async () => (await page.getByTestId("finetune-accuracy").count()) > 0 && !(await text(page, "working")));
  const accuracy = Number(await page.getByTestId("finetune-accuracy").getAttribute("data-accuracy"));
  assert.ok(accuracy > CHANCE, `${name}: fine-tuned accuracy ${accuracy} is not above chance`);
  assert.equal(await page.getByTestId("finetune-progress").count(), 0, `${name}: the progress bar goes when it ends`);
  return { accuracy, seconds: (Date.now() - started) / 1000 };
}

/// Draws the map with `method` (tsne or umap) and checks it is the one asked for.
async function drawMap(page, name, method) {
  await page.getByTestId("map-method").selectOption(method);
  const started = Date.now();
  await page.getByTestId("map-run").click();
  const label = method === "umap" ? "UMAP" : "t-SNE";
  await until(page, `${name}: ${label} map`, async () => (await page.getByTestId("map").count()) > 0 && !(await text(page, "working")));
  assert.equal(await page.getByTestId("map").getAttribute("data-method"), label, `${name}: the map is ${label}'s`);
  const points = Number(await page.getByTestId("map").getAttribute("data-points"));
  assert.equal(await page.locator("[data-testid=map] circle").count(), points, `${name}: every point is drawn`);
  return { points, caption: await text(page, "map-caption"), seconds: (Date.now() - started) / 1000 };
}

/// A screenshot in $E2E_OUT, and in $E2E_DOCS when set.
async function shot(page, file, fullPage = false) {
  await page.screenshot({ path: join(out, file), fullPage });
  if (docs) await page.screenshot({ path: join(docs, file), fullPage });
}

/// Start is in the first viewport and nothing scrolls sideways.
async function checkFirstScreen(page, name) {
  const width = page.viewportSize().width;
  const box = await page.getByTestId("start").boundingBox();
  assert.ok(box && box.y + box.height <= page.viewportSize().height, `${name}: Start is below the first screen: ${JSON.stringify(box)}`);
  assert.ok(await page.getByTestId("plan").isVisible(), `${name}: the plan line shows`);
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scroll <= width, `${name}: the page is ${scroll} px wide in a ${width} px viewport`);
}

/// Seconds from `click` until `check` holds, polled every 50 ms.
async function latency(page, what, click, check) {
  const started = Date.now();
  await click();
  for (;;) {
    if (await check()) return (Date.now() - started) / 1000;
    assert.ok(Date.now() - started < 60_000, `${what}: not within a minute`);
    await page.waitForTimeout(50);
  }
}

async function withPage(name, flags, body, { isolated = true, missing = [], serviceWorkers = "allow" } = {}) {
  const server = await serve(dist, { isolated, missing });
  const browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox", "--headless=new", ...flags] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, serviceWorkers });
    page.on("console", (m) => { if (m.type() === "error") console.error(`[${name}] ${m.text()}`); });
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    // Without the server's headers the page's service worker isolates it after one reload.
    const expected = isolated || serviceWorkers === "allow";
    assert.equal(await isolation(page, expected), expected, `${name}: cross-origin isolation`);
    try {
      await body(page);
    } finally {
      await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
    }
  } finally {
    await browser.close();
    server.close();
  }
}

async function defaultRun(page) {
  const name = "default";
  await until(page, `${name}: samples`, async () => (await page.getByTestId("samples").count()) > 0, 2);
  await checkFirstScreen(page, `${name} at 1280×800`);
  await shot(page, "browser-first-screen.png");
  await page.setViewportSize({ width: 400, height: 800 });
  await checkFirstScreen(page, `${name} at 400 px`);
  await shot(page, "browser-first-screen-400.png");
  await page.setViewportSize({ width: 1280, height: 800 });
  const test = Number((await text(page, "data-summary")).match(/(\d+) test images/)[1]);
  assert.ok(test >= 500, `${name}: probes on ${test} test images`);
  const started = Date.now();
  await page.getByTestId("start").click();
  await trainToTheEnd(page, name);
  const seconds = (Date.now() - started) / 1000;
  const backend = await text(page, "backend");
  const threads = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.match(backend, new RegExp(`^CPU, ${threads} threads? \\(the WebGPU adapter .* is a software renderer`), `${name}: backend ${backend}`);
  assert.ok(seconds <= 180, `${name}: the default run took ${seconds} s (at most 180)`);
  const table = {};
  // 10% last, so that fine-tuning below has the probe of its labels to compare with.
  for (const percent of [100, 10]) {
    const { trained, random } = await probe(page, `${name} at ${percent}%`, percent);
    table[percent] = { trained, random };
    assert.ok(trained >= random + 0.05, `${name}: at ${percent}% labels the SimCLR probe ${trained} is not 5 points above the random encoder's ${random}`);
  }
  const tuned = await fineTune(page, name);
  assert.match(await text(page, "finetune-summary"), /points (above|below) the linear probe on the same labels/, `${name}: compared with the probe`);
  // Trained end to end, the encoder adapts to the labels: a frozen one would only match the probe.
  assert.ok(tuned.accuracy > table[10].trained + 0.05, `${name}: fine-tuned ${tuned.accuracy} is not above the probe's ${table[10].trained}`);
  const umap = await drawMap(page, name, "umap");
  assert.equal(umap.points, Math.min(300, test), `${name}: one UMAP point per test image`);
  await shot(page, "browser-finished.png", true);
  console.log(`${name}: ${seconds.toFixed(1)} s on "${backend}", ${await text(page, "views-per-s")} views/s, ` +
    `${test} test images, probe trained vs random: ${JSON.stringify(table)}, ` +
    `fine-tuned at 10%: ${tuned.accuracy} in ${tuned.seconds.toFixed(1)} s, UMAP ${umap.caption} in ${umap.seconds.toFixed(1)} s`);
}

async function webgpuRun(page) {
  const name = "webgpu";
  await until(page, `${name}: samples`, async () => (await page.getByTestId("samples").count()) > 0, 2);
  // SwiftShader runs a few hundred GFLOP an hour: a few steps of the micro preset at the
  // batch of 16 it had before the CPU path became the default.
  await setValue(page, "setting-compute", "webgpu", "change");
  await setValue(page, "setting-batch-size", "16", "change");
  await setValue(page, "setting-max-steps", "24", "change");
  await page.getByTestId("start").click();
  await until(page, `${name}: compilation phase`, async () => /compiling the GPU shaders/.test(await text(page, "phase")), 2);
  await trainToTheEnd(page, name);
  assert.equal(await text(page, "phase"), "", `${name}: no phase after the run`);
  const backend = await text(page, "backend");
  assert.match(backend, /^WebGPU/, `${name}: backend ${backend}`);
  assert.equal(await text(page, "step"), "24 / 24", `${name}: the step limit holds`);
  const losses = checkLosses(name, await page.getByTestId("loss-chart").getAttribute("data-losses"), await text(page, "loss"));
  assert.match(await text(page, "knn"), /^\d+(\.\d)?%$/, `${name}: kNN accuracy is shown`);
  assert.equal(await page.getByTestId("pairs").count(), 1, `${name}: augmented views are shown`);
  const accuracy = await probe(page, name);

  const { points } = await drawMap(page, name, "tsne");
  const test = Number((await text(page, "data-summary")).match(/(\d+) test images/)[1]);
  assert.equal(points, Math.min(300, test), `${name}: one t-SNE point per test image`);
  // The last circle is drawn on top of any it overlaps.
  await page.locator("[data-testid=map] circle").last().hover();
  await until(page, `${name}: hover image`, async () => (await page.getByTestId("map-hover").count()) > 0, 1);

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-encoder").click()]);
  await download.saveAs(encoderFile);
  const bytes = await readFile(encoderFile);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
  assert.ok(header["conv1.weight"] && header["layer4.1.bn2.running_var"], `${name}: torchvision names in the file`);
  assert.equal(header.__metadata__.width, "4", `${name}: width in the metadata`);
  const counter = header["layer1.0.bn1.num_batches_tracked"];
  const at = 8 + Number(bytes.readBigUInt64LE(0)) + counter.data_offsets[0];
  assert.equal(bytes.readBigInt64LE(at), 24n, `${name}: num_batches_tracked counts the steps`);
  await page.setViewportSize({ width: 400, height: 800 });
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scroll <= 400, `${name}: the finished page is ${scroll} px wide at 400 px`);
  await shot(page, "browser-finished-400.png", true);
  await page.setViewportSize({ width: 1280, height: 800 });
  await shot(page, "browser-webgpu.png", true);
  console.log(`${name}: backend "${backend}", losses ${losses.join(" → ")}, ` +
    `probe ${accuracy.trained} vs random ${accuracy.random}, ${points} t-SNE points, ${bytes.length}-byte encoder`);
}

async function cpuRun(page) {
  const name = "cpu-fallback";
  await until(page, `${name}: samples`, async () => (await page.getByTestId("samples").count()) > 0, 2);
  await page.getByTestId("data-files").setInputFiles({ name: "data_batch_1.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(100) });
  await page.waitForFunction(() => document.querySelector("[data-testid=error]"));
  const error = await text(page, "error");
  assert.match(error, /data_batch_1\.bin/, `${name}: the error names the file: ${error}`);
  assert.equal(await text(page, "error-data"), error, `${name}: the error shows beside the data panel`);
  // The same through drag and drop: a file dropped on the data panel.
  await page.getByTestId("use-synthetic").click();
  await page.waitForFunction(() => !document.querySelector("[data-testid=error]"));
  const dropped = await page.evaluateHandle(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(50)], "test_batch.bin"));
    return transfer;
  });
  await page.getByTestId("drop").dispatchEvent("drop", { dataTransfer: dropped });
  await page.waitForFunction(() => document.querySelector("[data-testid=error]"));
  const dropError = await text(page, "error");
  assert.match(dropError, /test_batch\.bin/, `${name}: the dropped file's error names it: ${dropError}`);
  await page.getByTestId("use-synthetic").click();
  await page.waitForFunction(() => !document.querySelector("[data-testid=error]") && document.querySelector("[data-testid=data-summary]").textContent.startsWith("synthetic"));

  await page.getByTestId("import-encoder").setInputFiles(encoderFile);
  await until(page, `${name}: encoder loads`, async () => /width 4/.test(await text(page, "loaded")), 2);
  const loaded = await probe(page, `${name} (loaded encoder)`);

  // Continue training the loaded encoder: the loaded encoder's probe is gone at once.
  await page.getByTestId("setting-start-from-loaded").check();
  await setValue(page, "setting-max-steps", "48", "change");
  await page.getByTestId("start").click();
  assert.equal(await page.getByTestId("probe-accuracy").count(), 0, `${name}: the last encoder's probe is cleared`);
  await until(page, `${name}: first reports`, async () => Number((await text(page, "step")).split(" / ")[0]) >= 5);
  const step = stepSeconds(await text(page, "views-per-s"));
  const pause = await latency(page, `${name}: pause`, async () => {
    await page.getByTestId("pause").click();
    const answered = (await text(page, "status")) === "paused" || (await page.getByTestId("pause").isDisabled());
    assert.ok(answered, `${name}: Pause shows at once`);
  }, async () => (await text(page, "status")) === "paused");
  assert.ok(pause <= step + 2, `${name}: paused after ${pause} s (a step is ${step} s)`);
  const held = await text(page, "step");
  await page.waitForTimeout(2000);
  assert.equal(await text(page, "step"), held, `${name}: no steps while paused`);
  await page.getByTestId("pause").click();
  await trainToTheEnd(page, name);
  const backend = await text(page, "backend");
  assert.match(backend, /^CPU/, `${name}: backend ${backend}`);
  assert.equal(await text(page, "step"), "48 / 48", `${name}: the step limit holds`);
  const losses = checkLosses(name, await page.getByTestId("loss-chart").getAttribute("data-losses"), await text(page, "loss"));
  const views = await text(page, "views-per-s");

  // A run that is stopped says where.
  await setValue(page, "setting-max-steps", "200", "change");
  await page.getByTestId("start").click();
  await until(page, `${name}: second run reports`, async () => Number((await text(page, "step")).split(" / ")[0]) >= 5);
  const stop = await latency(page, `${name}: stop`, async () => {
    await page.getByTestId("stop").click();
    const answered = /^stopped/.test(await text(page, "status")) || (await page.getByTestId("stop").isDisabled());
    assert.ok(answered, `${name}: Stop shows at once`);
  }, async () => /^stopped at step \d+$/.test(await text(page, "status")));
  assert.ok(stop <= step + 2, `${name}: stopped after ${stop} s (a step is ${step} s)`);
  const stoppedAt = Number((await text(page, "status")).match(/\d+/)[0]);
  assert.ok(stoppedAt >= 5 && stoppedAt < 200, `${name}: stopped at step ${stoppedAt}`);

  const accuracy = await probe(page, name);
  // Fine-tuning on every label is long enough to stop; the network so far is tested.
  await page.getByTestId("finetune-run").click();
  await until(page, `${name}: fine-tuning reports`, async () => (await page.getByTestId("finetune-progress").count()) > 0 &&
    Number(await page.getByTestId("finetune-progress").getAttribute("value")) >= 3, 2);
  const tuneStop = await latency(page, `${name}: fine-tuning stop`, () => page.getByTestId("finetune-stop").click(),
    async () => /testing the fine-tuned network/.test(await text(page, "working")) || (await page.getByTestId("finetune-accuracy").count()) > 0);
  await until(page, `${name}: stopped fine-tuning tested`, async () => (await page.getByTestId("finetune-accuracy").count()) > 0, 2);
  assert.ok(tuneStop <= step + 2, `${name}: fine-tuning stopped after ${tuneStop} s (a step is ${step} s)`);
  assert.match(await text(page, "finetune-summary"), /stopped early/, `${name}: the summary says it was stopped`);
  const [csv] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
  const rows = (await readFile(await csv.path(), "utf8")).trim().split("\n");
  const test = Number((await text(page, "data-summary")).match(/(\d+) test images/)[1]);
  assert.equal(rows[0].split(",").length, 1 + 32, `${name}: label + 32 features per row`);
  assert.equal(rows.length, 1 + test, `${name}: one row per test image`);
  console.log(`${name}: backend "${backend}", losses ${losses.join(" → ")}, ${views} views/s, ` +
    `loaded-encoder probe ${loaded.trained}, probe ${accuracy.trained} vs random ${accuracy.random}, ` +
    `pause ${pause.toFixed(2)} s, stop ${stop.toFixed(2)} s (step ${step.toFixed(2)} s), stopped at step ${stoppedAt}, ` +
    `fine-tuning stop ${tuneStop.toFixed(2)} s`);
}

// Files made elsewhere: real CIFAR-10 batch files load and show; PyTorch's ResNet-18
// (torchvision names, no metadata of ours) loads as an encoder.
async function realFiles(page) {
  const dir = process.env.SIMCLR_CIFAR10_DIR;
  await page.getByTestId("data-files").setInputFiles(["data_batch_1.bin", "test_batch.bin"].map((f) => join(dir, f)));
  await until(page, "cifar10: files load", async () => (await text(page, "data-summary")).startsWith("cifar10"), 2);
  const summary = await text(page, "data-summary");
  assert.match(summary, /^cifar10: 1024 training and 512 test images of 32×32 px, 10 classes \(of 10000 and 10000 in the files/, summary);
  assert.equal(await page.getByTestId("samples").count(), 1);
  const pytorch = join(reference, "resnet18_w16_cifar.safetensors");
  if (existsSync(pytorch)) {
    await page.getByTestId("import-encoder").setInputFiles(pytorch);
    await until(page, "PyTorch encoder loads", async () => /width 16, cifar stem/.test(await text(page, "loaded")), 2);
  }
  // A run on the other worker (WebGPU asked for; this page has no adapter, so the
  // single-threaded worker's CPU path): the new worker is given the files first.
  await page.getByTestId("setting-compute").selectOption("webgpu");
  await setValue(page, "setting-max-steps", "4", "change");
  await page.getByTestId("start").click();
  await trainToTheEnd(page, "cifar10 on the other worker");
  const backend = await text(page, "backend");
  assert.match(backend, /^CPU, 1 thread \(this browser gives no WebGPU adapter/, backend);
  const after = await text(page, "data-summary");
  assert.match(after, /^cifar10: /, `the new worker trained on the files: ${after}`);
  console.log(`real files: ${summary}; ${await text(page, "loaded")}; then "${backend}" on ${after}`);
}

// A threaded worker that cannot start (its wasm missing from the deployment) is an error
// on the page, and the next run goes to the single-threaded worker.
async function brokenThreads(page) {
  const name = "broken threads";
  await page.waitForFunction(() => document.querySelector("[data-testid=error]"), null, { timeout: 60_000 });
  const error = await text(page, "error");
  assert.match(error, /threaded worker did not start.*404.*single-threaded worker/, `${name}: ${error}`);
  await setValue(page, "setting-max-steps", "4", "change");
  await page.getByTestId("start").click();
  await trainToTheEnd(page, name);
  const backend = await text(page, "backend");
  assert.match(backend, /^CPU, 1 thread \(/, `${name}: backend ${backend}`);
  console.log(`${name}: "${error}", then "${backend}"`);
}

// Without cross-origin isolation (a static host without the two headers, in a browser
// whose service workers are off) every run gets the single-threaded worker, and the page
// says so.
async function singleThread(page) {
  const name = "single-thread";
  await until(page, `${name}: samples`, async () => (await page.getByTestId("samples").count()) > 0, 2);
  await setValue(page, "setting-max-steps", "8", "change");
  await page.getByTestId("start").click();
  await trainToTheEnd(page, name);
  const backend = await text(page, "backend");
  assert.match(backend, /^CPU, 1 thread \(/, `${name}: backend ${backend}`);
  console.log(`${name}: "${backend}", ${await text(page, "views-per-s")} views/s`);
}

// A static host without the two headers, service workers allowed: the page's own service
// worker isolates it (one reload), and runs get the threaded worker on every core.
async function staticHost(page) {
  const name = "static-host";
  await until(page, `${name}: samples`, async () => (await page.getByTestId("samples").count()) > 0, 2);
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), `${name}: the service worker controls the page`);
  await setValue(page, "setting-max-steps", "8", "change");
  await page.getByTestId("start").click();
  await trainToTheEnd(page, name);
  const backend = await text(page, "backend");
  const threads = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.match(backend, new RegExp(`^CPU, ${threads} threads? \\(`), `${name}: backend ${backend}`);
  console.log(`${name}: "${backend}", ${await text(page, "views-per-s")} views/s`);
}

await mkdir(out, { recursive: true });
// E2E_ONLY=default,cpu,files,single runs those parts alone (cpu needs the first part's encoder file).
const parts = (process.env.E2E_ONLY ?? "default,webgpu,cpu,files,single,broken,static").split(",");
if (parts.includes("default")) await withPage("default", ["--enable-unsafe-webgpu"], defaultRun);
if (parts.includes("webgpu")) await withPage("webgpu", ["--enable-unsafe-webgpu"], webgpuRun);
if (parts.includes("cpu")) await withPage("cpu-fallback", [], cpuRun);
if (parts.includes("files") && process.env.SIMCLR_CIFAR10_DIR) await withPage("real-files", [], realFiles);
if (parts.includes("single")) await withPage("single-thread", [], singleThread, { isolated: false, serviceWorkers: "block" });
if (parts.includes("static")) await withPage("static-host", [], staticHost, { isolated: false });
if (parts.includes("broken")) await withPage("broken-threads", [], brokenThreads, { missing: ["worker-threads_bg.wasm"] });
