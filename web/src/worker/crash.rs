//! Crashes the worker cannot report through its own channel: a panic (which aborts the
//! wasm module) or a trap such as running out of memory. Both are posted on a
//! `BroadcastChannel` that the page listens to, so the page shows them instead of waiting
//! for a worker that is gone.

use wasm_bindgen::{JsCast, JsValue};

/// The channel's name; the page listens on the same one.
pub const CHANNEL: &str = "simclr-worker-crash";

/// How `web/worker-threads-main.js` begins its message when the threaded worker cannot
/// start (the page then sends runs to the single-threaded one).
pub const THREADS_FAILED: &str = "the threaded worker did not start";

/// Installs the panic hook and a plain-JavaScript error listener (wasm cannot run after a
/// trap, so the listener must not call into it).
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        post(&format!("the worker panicked: {info}"));
    }));
    let body = format!(
        "new BroadcastChannel('{CHANNEL}').postMessage('the worker crashed: ' + \
         (event.message || String(event.reason || event)))"
    );
    let listener = js_sys::Function::new_with_args("event", &body);
    let global = js_sys::global();
    if let Ok(add) = js_sys::Reflect::get(&global, &"addEventListener".into()) {
        if let Ok(add) = add.dyn_into::<js_sys::Function>() {
            for kind in ["error", "unhandledrejection"] {
                let _ = add.call2(&global, &kind.into(), &listener);
            }
        }
    }
}

fn post(message: &str) {
    if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
        let _ = channel.post_message(&JsValue::from_str(message));
    }
}
