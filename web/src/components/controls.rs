//! Start and Stop: spawn the training worker, forward its events into the page's state.

use super::{RunState, Status};
use crate::protocol::{Command, Event, RunSettings};
use crate::worker::TrainWorker;
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use gloo_worker::Spawnable;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The buttons and the channel to the worker.
#[component]
pub fn Controls() -> impl IntoView {
    let state = expect_context::<RunState>();
    let commands = StoredValue::new_local(None::<mpsc::UnboundedSender<Command>>);
    let start = move |_| {
        state.status.set(Status::Training);
        state.error.set(None);
        state.curve.set(vec![]);
        let (sender, receiver) = mpsc::unbounded();
        commands.set_value(Some(sender.clone()));
        spawn_local(drive_worker(state, receiver));
        let _ = sender.unbounded_send(Command::Start(RunSettings::default()));
    };
    let stop = move |_| {
        commands.with_value(|c| {
            if let Some(sender) = c {
                let _ = sender.unbounded_send(Command::Stop);
            }
        });
    };
    let training = move || state.status.get() == Status::Training;
    view! {
        <div class="controls">
            <button data-testid="start" on:click=start disabled=training>"Start"</button>
            <button data-testid="stop" on:click=stop disabled=move || !training()>"Stop"</button>
        </div>
    }
}

/// Spawns the worker, sends it the page's commands and applies its events.
async fn drive_worker(state: RunState, mut commands: mpsc::UnboundedReceiver<Command>) {
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
        match event {
            Event::Backend(name) => state.backend.set(name),
            Event::Progress {
                step,
                total,
                loss,
                views_per_s,
            } => {
                state.step.set(step);
                state.total.set(total);
                state.views_per_s.set(views_per_s);
                state.curve.update(|c| c.push((step as f64, loss)));
            }
            Event::Done => {
                state.status.set(Status::Done);
                break;
            }
            Event::Error(message) => {
                state.error.set(Some(message));
                state.status.set(Status::Error);
                break;
            }
        }
    }
}
