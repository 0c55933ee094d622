// The page's own service worker, for static hosts that cannot send headers (GitHub Pages,
// `python3 -m http.server`): shared wasm memory, and so the threaded CPU worker, needs a
// cross-origin isolated page, which takes two response headers. This worker adds them to
// every same-origin response; index.html registers it only where the page is not isolated
// already, and reloads once under it. Cross-origin requests pass through untouched (the
// page makes none: its icon is a data: URL).
const ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (new URL(request.url).origin !== self.location.origin) return;
  // Chrome throws on re-fetching this combination (devtools asks for it).
  if (request.cache === "only-if-cached" && request.mode !== "same-origin") return;
  event.respondWith(withIsolation(request));
});

async function withIsolation(request) {
  const response = await fetch(request);
  // Opaque and error responses cannot be rebuilt; they are passed on as they came.
  if (response.status === 0 || response.type === "opaqueredirect") return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}
