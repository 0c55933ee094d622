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
import { isolation, runEnds, settled, setValue } from "./page.mjs";

const [threads = "threads"] = process.argv.slice(2);
const dist = process.env.DIST_DIR ?? join(process.cwd(), "..", "..", "dist");
const server = await serve(dist, { isolated: threads === "threads" });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless=new"],
});
const text = async (page, id) => (await page.getByTestId(id).textContent()).trim();
try {
  const page = await browser.newPage({ serviceWorkers: threads === "single" ? "block" : "allow" });
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  if (threads === "static") await isolation(page, true);
  await page.getByTestId("start").waitFor();
  const started = Date.now();
  await page.getByTestId("start").click();
  await runEnds(page);
  const result = { seconds: (Date.now() - started) / 1000, backend: await text(page, "backend"), probes: {}, maps: {} };
  for (const percent of [100, 10]) {
    await setValue(page, "label-fraction", String(percent), "input");
    await page.getByTestId("probe-run").click();
    await page.getByTestId("probe-accuracy").waitFor({ timeout: 0 });
    await settled(page);
    const accuracy = async (id) => Number(await page.getByTestId(id).getAttribute("data-accuracy"));
    result.probes[percent] = { simclr: await accuracy("probe-accuracy"), random: await accuracy("probe-random-accuracy") };
  }
  for (const method of ["tsne", "umap"]) {
    await page.getByTestId("map-method").selectOption(method);
    await page.getByTestId("map-run").click();
    await page.waitForFunction((m) => document.querySelector("[data-testid=map]")?.getAttribute("data-method") === m,
      method === "umap" ? "UMAP" : "t-SNE", { timeout: 0, polling: 250 });
    await settled(page);
    result.maps[method] = await text(page, "map-caption");
  }
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  server.close();
}
