//! The page's end of the worker: one worker per page, commands in, events applied to the
//! [`RunState`], and the crash channel watched so a dead worker shows as an error.

use super::files;
use super::state::RunState;
use crate::protocol::{Command, Event};
use crate::worker::{crash, TrainWorker};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use gloo_worker::Spawnable;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// Sends commands to the worker (cheap to clone; provided as context).
#[derive(Clone)]
pub struct WorkerLink {
    commands: mpsc::UnboundedSender<Command>,
}

impl WorkerLink {
    /// Starts the worker and applies its events to `state`.
    pub fn spawn(state: RunState) -> Self {
        let (commands, receiver) = mpsc::unbounded();
        spawn_local(drive(state, receiver));
        watch_crashes(state);
        Self { commands }
    }

    /// Queues a command for the worker.
    pub fn send(&self, command: Command) {
        // Fails only once the page is being torn down.
        let _ = self.commands.unbounded_send(command);
    }
}

async fn drive(state: RunState, mut commands: mpsc::UnboundedReceiver<Command>) {
    let bridge = TrainWorker::spawner().as_module(false).spawn("./worker.js");
    let (mut to_worker, mut from_worker) = bridge.split();
    spawn_local(async move {
        while let Some(command) = commands.next().await {
            if to_worker.send(command).await.is_err() {
                break;
            }
        }
    });
    while let Some(event) = from_worker.next().await {
        if let Event::Download(file) = &event {
            if let Err(message) = files::download(&file.name, &file.bytes) {
                state.fail(message);
            }
        }
        state.apply(event, files::png_url);
    }
}

fn watch_crashes(state: RunState) {
    let Ok(channel) = web_sys::BroadcastChannel::new(crash::CHANNEL) else {
        return;
    };
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let message = event
                .data()
                .as_string()
                .unwrap_or_else(|| "the worker crashed".into());
            state.crashed(message);
        });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // Both live as long as the page.
    on_message.forget();
    std::mem::forget(channel);
}
