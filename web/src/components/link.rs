//! The page's end of the worker: one worker at a time, commands in, events applied to the
//! [`RunState`], and the crash channel watched so a dead worker shows as an error.
//!
//! The worker comes in two builds (see [`WorkerKind`]); a run or an encoder load whose
//! compute choice belongs to the other build starts that worker in place of the current
//! one, and sends it the data and the loaded encoder the old one held first.

use super::files;
use super::state::RunState;
use super::worker_kind::{Placement, WorkerKind};
use crate::protocol::{Command, Event};
use crate::worker::{crash, TrainWorker};
use futures::channel::mpsc;
use futures::future::{select, Either};
use futures::{SinkExt, StreamExt};
use gloo_worker::reactor::ReactorBridge;
use gloo_worker::Spawnable;
use leptos::prelude::GetUntracked;
use leptos::task::spawn_local;
use std::cell::Cell;
use std::rc::Rc;
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
        let threads_broken = Rc::new(Cell::new(false));
        spawn_local(drive(state, receiver, threads_broken.clone()));
        watch_crashes(state, threads_broken);
        Self { commands }
    }

    /// Queues a command for the worker.
    pub fn send(&self, command: Command) {
        // Fails only once the page is being torn down.
        let _ = self.commands.unbounded_send(command);
    }
}

/// The commands that set up a worker's state, kept to bring a replacement worker level.
#[derive(Default)]
struct Held {
    /// The last `LoadData` (none once the synthetic images are chosen again).
    data: Option<Command>,
    /// The last `ImportEncoder`.
    encoder: Option<Command>,
}

impl Held {
    fn record(&mut self, command: &Command) {
        match command {
            Command::LoadData(..) => self.data = Some(command.clone()),
            Command::UseSynthetic(_) => self.data = None,
            Command::ImportEncoder { .. } => self.encoder = Some(command.clone()),
            _ => {}
        }
    }
}

/// A running worker of one kind.
struct Running {
    kind: WorkerKind,
    bridge: ReactorBridge<TrainWorker>,
}

impl Running {
    fn start(kind: WorkerKind) -> Self {
        let bridge = TrainWorker::spawner()
            .as_module(kind.is_module_entry())
            .with_loader(kind.is_module_entry())
            .spawn(kind.script());
        Self { kind, bridge }
    }

    /// Replaces the worker by one of `kind` when `command` needs it, replaying `held`.
    async fn switch_for(&mut self, command: &Command, placement: &Placement, held: &Held) {
        let kind = match command {
            Command::Start(settings) => placement.kind_for(settings.compute),
            Command::ImportEncoder { compute, .. } => placement.kind_for(*compute),
            // Anything else stays where it is, unless that worker never started.
            _ => placement.usable(self.kind),
        };
        if kind == self.kind {
            return;
        }
        // Dropping the old bridge closes that worker.
        *self = Self::start(kind);
        // A new encoder file replaces the held one; a run may start from it.
        let starts_from_loaded = matches!(command, Command::Start(s) if s.start_from_loaded);
        let encoder = held.encoder.iter().filter(|_| starts_from_loaded);
        for command in held.data.iter().chain(encoder) {
            let _ = self.bridge.send(command.clone()).await;
        }
    }
}

async fn drive(
    state: RunState,
    mut commands: mpsc::UnboundedReceiver<Command>,
    threads_broken: Rc<Cell<bool>>,
) {
    let placement = Placement::detect(threads_broken).await;
    let mut worker = Running::start(placement.kind_for(state.settings.get_untracked().compute));
    let mut held = Held::default();
    loop {
        let next = match select(commands.next(), worker.bridge.next()).await {
            Either::Left((command, _)) => Either::Left(command),
            Either::Right((event, _)) => Either::Right(event),
        };
        match next {
            Either::Left(None) | Either::Right(None) => break,
            Either::Left(Some(command)) => {
                worker.switch_for(&command, &placement, &held).await;
                if placement.can_switch() {
                    held.record(&command);
                }
                if worker.bridge.send(command).await.is_err() {
                    break;
                }
            }
            Either::Right(Some(event)) => {
                if let Event::Download(file) = &event {
                    if let Err(message) = files::download(&file.name, &file.bytes) {
                        state.fail(message);
                    }
                }
                state.apply(event, files::png_url);
            }
        }
    }
}

/// Shows crashes on the page; a threaded worker that could not start also sends the next
/// runs to the single-threaded one.
fn watch_crashes(state: RunState, threads_broken: Rc<Cell<bool>>) {
    let Ok(channel) = web_sys::BroadcastChannel::new(crash::CHANNEL) else {
        return;
    };
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let mut message = event
                .data()
                .as_string()
                .unwrap_or_else(|| "the worker crashed".into());
            if message.starts_with(crash::THREADS_FAILED) {
                // Nothing was lost: the page goes on with the other worker.
                threads_broken.set(true);
                message.push_str("; runs go to the single-threaded worker instead");
                state.fail(message);
            } else {
                state.crashed(message);
            }
        });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // Both live as long as the page.
    on_message.forget();
    std::mem::forget(channel);
}
