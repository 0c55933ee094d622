//! Wall-clock seconds in a worker, from `performance.now()` (workers have no `Instant`).

use wasm_bindgen::JsCast;

/// Seconds between laps.
pub struct Clock {
    last: f64,
}

impl Clock {
    fn now() -> f64 {
        let global = js_sys::global();
        js_sys::Reflect::get(&global, &"performance".into())
            .ok()
            .and_then(|p| {
                let now = js_sys::Reflect::get(&p, &"now".into()).ok()?;
                let now: js_sys::Function = now.dyn_into().ok()?;
                now.call0(&p).ok()?.as_f64()
            })
            .unwrap_or(0.0)
    }

    /// A clock started now.
    pub fn start() -> Self {
        Self { last: Self::now() }
    }

    /// Seconds since the last lap (or the start); starts the next lap.
    pub fn lap(&mut self) -> f64 {
        let now = Self::now();
        let seconds = ((now - self.last) / 1000.0).max(1e-6);
        self.last = now;
        seconds
    }
}

/// Lets the worker's event loop run: messages from the page are delivered and queued
/// events go out. The CPU backend's read-backs complete without ever yielding, so without
/// this a CPU run would neither report nor hear Pause until it ended.
pub async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(set_timeout) => {
                let _ = set_timeout.call2(&global, &resolve, &0.into());
            }
            None => {
                let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
            }
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
