// The page's default run as a user sees it: Start with every default on the CPU path in
// headless Chromium, then the linear probe at 100% and 10% labels and the t-SNE and UMAP
// maps of 300 test images. Prints one JSON line: seconds from Start to done, the backend
// line, the probes against the random encoder's, and each map's 2-D 1-NN caption.
//   node default-run.mjs [threads|static|single]
// `threads` serves dist/ with the isolation headers; `static` without them, as a plain
// static host does (the page's service worker isolates it after one reload); `single`
// without them and with service workers blocked: the worker's one thread.
// Serves dist/ (build it with `trunk build --release` first).
import { chromium } from "playwright-core";
import { join } from "node:path";
import { serve } from "./serve.mjs";

const [threads = "threads"] = process.argv.slice(2);
const single = threads === "single";
const dist = process.env.DIST_DIR ?? join(process.cwd(), "..", "..", "dist");
const server = await serve(dist, { isolated: threads === "threads" });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless=new"],
});
const text = async (page, id) => (await page.getByTestId(id).textContent()).trim();
const idle = (page) => page.waitForFunction(() => {
  const working = document.querySelector("[data-testid=working]")?.textContent;
  return !working || document.querySelector("[data-testid=error]");
}, null, { timeout: 0, polling: 250 });
const setValue = (page, id, value, event) => page.getByTestId(id).evaluate((el, [v, e]) => {
  el.value = v;
  el.dispatchEvent(new Event(e, { bubbles: true }));
}, [value, event]);
try {
  const page = await browser.newPage({ serviceWorkers: single ? "block" : "allow" });
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  // The service worker's one reload: wait for it (asking again while it destroys the page).
  for (let tries = 0; threads === "static" && tries < 300; tries++) {
    if (await page.evaluate(() => self.crossOriginIsolated).catch(() => false)) break;
    await page.waitForTimeout(100);
  }
  await page.getByTestId("start").waitFor();
  const started = Date.now();
  await page.getByTestId("start").click();
  await page.waitForFunction(() => ["done", "error"].includes(document.querySelector("[data-testid=status]")?.textContent), null, { timeout: 0, polling: 250 });
  const seconds = (Date.now() - started) / 1000;
  if ((await text(page, "status")) === "error") throw new Error(await text(page, "error"));
  const result = { seconds, backend: await text(page, "backend"), probes: {}, maps: {} };
  for (const percent of [100, 10]) {
    await setValue(page, "label-fraction", String(percent), "input");
    await page.getByTestId("probe-run").click();
    await page.getByTestId("probe-accuracy").waitFor({ timeout: 0 });
    await idle(page);
    const accuracy = async (id) => Number(await page.getByTestId(id).getAttribute("data-accuracy"));
    result.probes[percent] = { simclr: await accuracy("probe-accuracy"), random: await accuracy("probe-random-accuracy") };
  }
  for (const method of ["tsne", "umap"]) {
    await page.getByTestId("map-method").selectOption(method);
    await page.getByTestId("map-run").click();
    await page.waitForFunction((m) => document.querySelector("[data-testid=map]")?.getAttribute("data-method") === m,
      method === "umap" ? "UMAP" : "t-SNE", { timeout: 0, polling: 250 });
    await idle(page);
    result.maps[method] = await text(page, "map-caption");
  }
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  server.close();
}
