// Map time in the page: trains a few micro steps on the CPU path in headless Chromium, then
// draws the t-SNE and the UMAP map of `points` test images in the worker and prints the
// seconds from the click to the drawn map (the features are encoded first, both times).
//   node map-bench.mjs [points] [threads|single]
// Serves dist/ (build it with `trunk build --release` first).
import { chromium } from "playwright-core";
import { join } from "node:path";
import { serve } from "./serve.mjs";
import { runEnds, settled, setValue } from "./page.mjs";

const [points = "2000", threads = "threads"] = process.argv.slice(2);
const dist = process.env.DIST_DIR ?? join(process.cwd(), "..", "..", "dist");
const server = await serve(dist, { isolated: threads !== "single" });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless=new"],
});
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const settings = [["setting-compute", "cpu"], ["setting-max-steps", "8"], ["setting-train-images", "512"], ["setting-test-images", points]];
  for (const [id, value] of settings) await setValue(page, id, value);
  await page.getByTestId("start").click();
  await runEnds(page);
  const timings = {};
  for (const method of ["umap", "tsne"]) {
    await page.getByTestId("map-method").selectOption(method);
    await setValue(page, "map-points", points);
    const started = Date.now();
    await page.getByTestId("map-run").click();
    await page.waitForFunction((m) => document.querySelector("[data-testid=map]")?.getAttribute("data-method") === m
      || document.querySelector("[data-testid=error]"), method === "umap" ? "UMAP" : "t-SNE", { timeout: 0, polling: 250 });
    await settled(page);
    if (await page.getByTestId("error").count()) throw new Error(await page.getByTestId("error").textContent());
    timings[method] = {
      seconds: (Date.now() - started) / 1000,
      caption: await page.getByTestId("map-caption").textContent(),
    };
  }
  console.log(JSON.stringify({ points: Number(points), backend: await page.getByTestId("backend").textContent(), ...timings }));
} finally {
  await browser.close();
  server.close();
}
