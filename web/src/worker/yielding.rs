//! Handing the worker's thread back to the browser between steps.

use wasm_bindgen::JsCast;

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
