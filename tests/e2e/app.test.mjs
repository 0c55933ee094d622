// Serves dist/ on 127.0.0.1 and drives the page in Debian's headless Chromium.
//
// 1. WebGPU (SwiftShader, --enable-unsafe-webgpu): train the micro preset on the synthetic
//    images; the loss appears and falls, kNN is reported, samples and augmented views show;
//    the linear probe at 100% labels beats chance for the trained and the random encoder; the
//    t-SNE scatter has one point per test image and shows the image under the pointer; the
//    encoder downloads as safetensors.
// 2. CPU fallback (no flag): a malformed dataset file, picked or dropped, gives an error
//    naming it; the encoder from run 1 loads and probes; a 48-step run continuing from it
//    pauses, holds still, resumes and finishes; the embeddings download as CSV.
// 3. With SIMCLR_CIFAR10_DIR: real CIFAR-10 batch files load and show, and PyTorch's
//    ResNet-18 from ../shared/reference loads as an encoder.
//
// Screenshots and the downloaded encoder go to $E2E_OUT (default target/e2e).
import { chromium } from "playwright-core";
import { serve } from "./serve.mjs";
import { readFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";

const dist = process.env.DIST_DIR ?? join(process.cwd(), "..", "..", "dist");
const out = process.env.E2E_OUT ?? join(process.cwd(), "..", "..", "target", "e2e");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
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

async function setValue(page, id, value, event) {
  await page.getByTestId(id).evaluate((el, [v, e]) => {
    el.value = v;
    el.dispatchEvent(new Event(e, { bubbles: true }));
  }, [value, event]);
}

async function trainToTheEnd(page, name) {
  await until(page, `${name}: run ends`, async () => ["done", "error"].includes(await text(page, "status")));
  const status = await text(page, "status");
  const error = status === "error" ? await text(page, "error") : "";
  assert.equal(status, "done", `${name}: ${error}`);
}

function checkLosses(name, losses, latest) {
  const values = losses.split(",").map(Number);
  assert.ok(values.length >= 3 && values.every(Number.isFinite), `${name}: losses ${losses}`);
  assert.equal(Number(latest).toFixed(3), values[values.length - 1].toFixed(3), "the latest loss is shown");
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(values.slice(-3)) < mean(values.slice(0, 2)), `${name}: the loss did not fall: ${values.join(", ")}`);
  return values;
}

async function probe(page, name) {
  await setValue(page, "label-fraction", "100", "input");
  await page.getByTestId("probe-run").click();
  await until(page, `${name}: probe`, async () => (await page.getByTestId("probe-accuracy").count()) > 0 && !(await text(page, "working")));
  const trained = Number(await page.getByTestId("probe-accuracy").getAttribute("data-accuracy"));
  const random = Number(await page.getByTestId("probe-random-accuracy").getAttribute("data-accuracy"));
  assert.ok(trained > CHANCE, `${name}: probe accuracy ${trained} is not above chance`);
  assert.ok(random > CHANCE, `${name}: random-encoder probe accuracy ${random} is not above chance`);
  return { trained, random };
}

async function withPage(name, flags, body) {
  const server = await serve(dist);
  const browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox", "--headless=new", ...flags] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => { if (m.type() === "error") console.error(`[${name}] ${m.text()}`); });
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
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

async function webgpuRun(page) {
  const name = "webgpu";
  await until(page, `${name}: samples`, async () => (await page.getByTestId("samples").count()) > 0, 2);
  // SwiftShader runs a few hundred GFLOP an hour: a few steps of the micro preset.
  await setValue(page, "setting-max-steps", "24", "change");
  await page.getByTestId("start").click();
  await trainToTheEnd(page, name);
  const backend = await text(page, "backend");
  assert.match(backend, /^WebGPU/, `${name}: backend ${backend}`);
  assert.equal(await text(page, "step"), "24 / 24", `${name}: the step limit holds`);
  const losses = checkLosses(name, await page.getByTestId("loss-chart").getAttribute("data-losses"), await text(page, "loss"));
  assert.match(await text(page, "knn"), /^\d+(\.\d)?%$/, `${name}: kNN accuracy is shown`);
  assert.equal(await page.getByTestId("pairs").count(), 1, `${name}: augmented views are shown`);
  const accuracy = await probe(page, name);

  await page.getByTestId("tsne-run").click();
  await until(page, `${name}: t-SNE`, async () => (await page.getByTestId("tsne").count()) > 0);
  const points = Number(await page.getByTestId("tsne").getAttribute("data-points"));
  const test = Number((await text(page, "data-summary")).match(/(\d+) test images/)[1]);
  assert.equal(points, Math.min(300, test), `${name}: one t-SNE point per test image`);
  assert.equal(await page.locator("[data-testid=tsne] circle").count(), points, `${name}: every point is drawn`);
  // The last circle is drawn on top of any it overlaps.
  await page.locator("[data-testid=tsne] circle").last().hover();
  await until(page, `${name}: hover image`, async () => (await page.getByTestId("tsne-hover").count()) > 0, 1);

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-encoder").click()]);
  await download.saveAs(encoderFile);
  const bytes = await readFile(encoderFile);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
  assert.ok(header["conv1.weight"] && header["layer4.1.bn2.running_var"], `${name}: torchvision names in the file`);
  assert.equal(header.__metadata__.width, "4", `${name}: width in the metadata`);
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

  // Continue training the loaded encoder.
  await page.getByTestId("setting-start-from-loaded").check();
  await setValue(page, "setting-max-steps", "48", "change");
  await page.getByTestId("start").click();
  await until(page, `${name}: first reports`, async () => Number((await text(page, "step")).split(" / ")[0]) >= 5);
  await page.getByTestId("pause").click();
  await until(page, `${name}: pause`, async () => (await text(page, "status")) === "paused", 1);
  const held = await text(page, "step");
  await page.waitForTimeout(2000);
  assert.equal(await text(page, "step"), held, `${name}: no steps while paused`);
  await page.getByTestId("pause").click();
  await trainToTheEnd(page, name);
  const backend = await text(page, "backend");
  assert.match(backend, /^CPU/, `${name}: backend ${backend}`);
  assert.equal(await text(page, "step"), "48 / 48", `${name}: the step limit holds`);
  const losses = checkLosses(name, await page.getByTestId("loss-chart").getAttribute("data-losses"), await text(page, "loss"));
  const accuracy = await probe(page, name);
  const [csv] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
  const rows = (await readFile(await csv.path(), "utf8")).trim().split("\n");
  assert.equal(rows[0].split(",").length, 1 + 32, `${name}: label + 32 features per row`);
  assert.equal(rows.length, 1 + 256, `${name}: one row per test image`);
  const views = await text(page, "views-per-s");
  console.log(`${name}: backend "${backend}", losses ${losses.join(" → ")}, ${views} views/s, ` +
    `loaded-encoder probe ${loaded.trained}, probe ${accuracy.trained} vs random ${accuracy.random}`);
}

// Files made elsewhere: real CIFAR-10 batch files load and show; PyTorch's ResNet-18
// (torchvision names, no metadata of ours) loads as an encoder.
async function realFiles(page) {
  const dir = process.env.SIMCLR_CIFAR10_DIR;
  await page.getByTestId("data-files").setInputFiles(["data_batch_1.bin", "test_batch.bin"].map((f) => join(dir, f)));
  await until(page, "cifar10: files load", async () => (await text(page, "data-summary")).startsWith("cifar10"), 2);
  const summary = await text(page, "data-summary");
  assert.match(summary, /^cifar10: 512 training and 256 test images of 32×32 px, 10 classes/, summary);
  assert.equal(await page.getByTestId("samples").count(), 1);
  const pytorch = join(reference, "resnet18_w16_cifar.safetensors");
  if (existsSync(pytorch)) {
    await page.getByTestId("import-encoder").setInputFiles(pytorch);
    await until(page, "PyTorch encoder loads", async () => /width 16, cifar stem/.test(await text(page, "loaded")), 2);
  }
  console.log(`real files: ${summary}; ${await text(page, "loaded")}`);
}

await mkdir(out, { recursive: true });
// E2E_ONLY=cpu,files runs those parts alone (cpu needs the first part's encoder file).
const parts = (process.env.E2E_ONLY ?? "webgpu,cpu,files").split(",");
if (parts.includes("webgpu")) await withPage("webgpu", ["--enable-unsafe-webgpu"], webgpuRun);
if (parts.includes("cpu")) await withPage("cpu-fallback", [], cpuRun);
if (parts.includes("files") && process.env.SIMCLR_CIFAR10_DIR) await withPage("real-files", [], realFiles);
