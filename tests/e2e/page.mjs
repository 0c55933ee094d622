// What the e2e test and the measuring scripts (bench.mjs, map-bench.mjs, default-run.mjs)
// do to the page alike.

/// Sets a control's value and fires `event` on it, as a user's edit would (controls folded
/// under "advanced" included, without opening it).
export async function setValue(page, id, value, event = "change") {
  await page.getByTestId(id).evaluate((el, [v, e]) => {
    el.value = v;
    el.dispatchEvent(new Event(e, { bubbles: true }));
  }, [value, event]);
}

/// Whether the page is cross-origin isolated, waiting up to `seconds` for it to become
/// `expected` (a page without the server's headers gets there after its service worker's
/// one reload); null if the page never answered.
export async function isolation(page, expected, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  let now = null;
  while (Date.now() < deadline) {
    // A reload in progress destroys the context being asked: ask again.
    now = await page.evaluate(() => self.crossOriginIsolated).catch(() => null);
    if (now === expected) break;
    await page.waitForTimeout(100);
  }
  return now;
}

/// Waits until the page is no longer working (or shows an error), however long that takes.
export function settled(page) {
  return page.waitForFunction(() => {
    const working = document.querySelector("[data-testid=working]")?.textContent;
    return !working || document.querySelector("[data-testid=error]");
  }, null, { timeout: 0, polling: 250 });
}

/// Waits for the run to end; an error on the page becomes an exception.
export async function runEnds(page) {
  await page.waitForFunction(() => ["done", "error"].includes(document.querySelector("[data-testid=status]")?.textContent),
    null, { timeout: 0, polling: 250 });
  if ((await page.getByTestId("status").textContent()) !== "done") throw new Error(await page.getByTestId("error").textContent());
}
