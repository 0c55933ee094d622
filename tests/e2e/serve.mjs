// A static server for dist/ on 127.0.0.1 (a random free port), shared by the tests and the
// benchmark. `isolated` sends the two headers that make the page cross-origin isolated (as
// `trunk serve` does, Trunk.toml), which the threaded worker needs.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };

const isolation = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
};

/// `missing` lists files answered with 404 (a broken deployment).
export function serve(dist, { isolated = true, missing = [] } = {}) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const file = join(dist, path === "/" ? "index.html" : path);
    try {
      if (missing.some((name) => file.endsWith(name))) throw new Error("missing");
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": types[extname(file)] ?? "application/octet-stream",
        ...(isolated ? isolation : {}),
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
