// Serves dist/ on 127.0.0.1, opens it in Debian's headless Chromium (WebGPU on SwiftShader
// with --enable-unsafe-webgpu; the CPU fallback without it), trains the tiny preset and
// checks that the loss appears and falls. Screenshots go to $E2E_OUT (default target/e2e).
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import assert from "node:assert/strict";

const dist = process.env.DIST_DIR ?? join(process.cwd(), "..", "..", "dist");
const out = process.env.E2E_OUT ?? join(process.cwd(), "..", "..", "target", "e2e");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };

function serve() {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const file = join(dist, path === "/" ? "index.html" : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function run(name, flags, expectBackend) {
  const server = await serve();
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({
    executablePath: browserPath,
    args: ["--no-sandbox", "--headless=new", ...flags],
  });
  try {
    const page = await browser.newPage();
    page.on("console", (m) => { if (m.type() === "error") console.error(`[${name}] ${m.text()}`); });
    await page.goto(url);
    await page.getByTestId("start").click();
    const deadline = Date.now() + 8 * 60 * 1000;
    for (;;) {
      const status = await page.getByTestId("status").textContent();
      if (status === "done" || status === "error") break;
      assert.ok(Date.now() < deadline, `${name}: still ${status} after 8 minutes`);
      await page.waitForTimeout(250);
    }
    await mkdir(out, { recursive: true });
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
    const status = await page.getByTestId("status").textContent();
    const error = status === "error" ? await page.getByTestId("error").textContent() : "";
    assert.equal(status, "done", `${name}: ${error}`);
    const backend = await page.getByTestId("backend").textContent();
    assert.match(backend, expectBackend, `${name}: backend ${backend}`);
    const latest = await page.getByTestId("loss").textContent();
    const losses = (await page.getByTestId("loss-chart").getAttribute("data-losses")).split(",");
    const values = losses.map(Number);
    assert.ok(values.length >= 3 && values.every(Number.isFinite), `${name}: losses ${losses}`);
    assert.equal(Number(latest).toFixed(3), values[values.length - 1].toFixed(3), "the latest loss is shown");
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(values.slice(0, 2));
    const last = mean(values.slice(-3));
    assert.ok(last < first, `${name}: the loss did not fall: ${values.join(", ")}`);
    console.log(`${name}: backend "${backend}", losses ${values.join(" → ")}`);
  } finally {
    await browser.close();
    server.close();
  }
}

await run("webgpu", ["--enable-unsafe-webgpu"], /^WebGPU/);
await run("cpu-fallback", [], /^CPU/);
