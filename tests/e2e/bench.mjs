// Browser throughput: trains a preset for a few steps in headless Chromium and prints the
// views/s of each report (the first includes shader compilation and warm-up).
//   node bench.mjs <micro|tiny|small|paper> <steps> <webgpu|cpu> [threads|single]
// Serves dist/ (build it with `trunk build --release` first), cross-origin isolated unless
// `single` is given (then the CPU runs on the worker's one thread).
import { chromium } from "playwright-core";
import { join } from "node:path";
import { serve } from "./serve.mjs";
import { runEnds, setValue } from "./page.mjs";

const [preset = "micro", steps = "20", mode = "webgpu", threads = "threads"] = process.argv.slice(2);
const dist = process.env.DIST_DIR ?? join(process.cwd(), "..", "..", "dist");
const server = await serve(dist, { isolated: threads !== "single" });
const flags = mode === "webgpu" ? ["--enable-unsafe-webgpu"] : [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless=new", ...flags],
});
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.getByTestId("preset").selectOption(preset);
  // Few images: the kNN at the end of the run encodes them all, and throughput does not
  // depend on how many there are.
  const settings = [["setting-compute", mode], ["setting-max-steps", steps], ["setting-train-images", "256"], ["setting-test-images", "64"]];
  for (const [id, value] of settings) await setValue(page, id, value);
  const started = Date.now();
  await page.getByTestId("start").click();
  await runEnds(page);
  const seconds = (Date.now() - started) / 1000;
  const speeds = (await page.getByTestId("speed-chart").getAttribute("data-views-per-s")).split(",").map(Number);
  const steady = speeds.length > 1 ? speeds.slice(1) : speeds;
  const mean = steady.reduce((a, b) => a + b, 0) / steady.length;
  console.log(JSON.stringify({
    preset, steps: Number(steps), mode,
    backend: await page.getByTestId("backend").textContent(),
    views_per_s_reports: speeds, views_per_s_after_first: Number(mean.toFixed(2)), wall_s: seconds,
  }));
} finally {
  await browser.close();
  server.close();
}
