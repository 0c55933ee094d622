//! Data-parallel pretraining on one machine: one thread per peer (one per device), joined
//! by burn-collective. Peer 0 drives the session that writes the run folder and runs the
//! kNN monitor; the other peers take the same steps on their shares of each batch and
//! write nothing.
//!
//! A peer that fails (an error or a panic) resets the collective, which fails every
//! operation the others wait on or start, so that all stop within one step and the error
//! that caused it is the one reported.

use crate::data::Dataset;
use crate::error::PeerFailure;
use crate::train::checkpoint::CheckpointBytes;
use crate::train::collective::{peer_error, CollectiveBackend, FreshCells, Peer};
use crate::train::driver::{drive, Progress, Silent};
use crate::train::run_dir::RunDir;
use crate::train::session::TrainingTask;
use crate::train::session::{Session, SessionOptions};
use crate::train::step::{PeerShare, Trainer};
use crate::{Error, Result};
use burn::collective::{finish_collective, register, reset_collective, CollectiveConfig, PeerId};
use burn::prelude::*;
use burn::tensor::backend::{Device as _, DeviceId, DeviceOps};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

mod nodes;
pub use nodes::{run_coordinator, NodePlan};

/// What this process's data-parallel peers are asked to do.
pub struct PeerPlan<'a> {
    /// Peers on this machine (one per device).
    pub peers: usize,
    /// BatchNorm over the global batch.
    pub sync_batch_norm: bool,
    /// The run folder peer 0 writes.
    pub run_dir: Option<&'a RunDir>,
    /// The other machines, when there are.
    pub node: Option<NodePlan>,
    /// Settings every peer must share (name, value), compared when the nodes join.
    pub settings: Vec<(&'static str, u64)>,
}

impl PeerPlan<'_> {
    /// Local peer `local`'s share: its place among every node's peers.
    pub(crate) fn share(&self, local: usize) -> PeerShare {
        let (nodes, rank) = self.node.as_ref().map_or((1, 0), |n| (n.nodes, n.rank));
        PeerShare {
            index: rank * self.peers + local,
            count: nodes * self.peers,
            sync_batch_norm: self.sync_batch_norm,
        }
    }

    pub(crate) fn collective_config(&self) -> Result<CollectiveConfig> {
        match &self.node {
            Some(node) => node.collective_config(self.peers),
            None => Ok(CollectiveConfig::default().with_num_devices(self.peers)),
        }
    }
}

/// The devices of `count` peers: `first` and the devices after it, or, where the backend
/// has fewer, the same devices again in turn (N CPU peers share the one CPU device).
pub fn peer_devices<B: Backend>(first: &B::Device, count: usize) -> Vec<B::Device> {
    let id = first.id();
    let available = B::device_count(id.type_id).max(1);
    let start = usize::from(id.index_id).min(available - 1);
    (0..count)
        .map(|peer| {
            let index = (start + peer) % available;
            match index == start {
                true => first.clone(),
                false => B::Device::from_id(DeviceId::new(id.type_id, index as u16)),
            }
        })
        .collect()
}

/// Trains `session` (already resumed where asked) with `plan.peers` peers on this
/// machine, the session's trainer becoming the first and copies of it the others. The run
/// folder and `knn` belong to the first peer of all.
pub fn train_on_peers<B, K>(
    session: &mut Session<B, Trainer<B>>,
    plan: &PeerPlan,
    devices: &[B::Device],
    progress: &mut dyn Progress,
    mut knn: K,
) -> Result<()>
where
    B: CollectiveBackend,
    K: FnMut(&Trainer<B>, &Dataset) -> Result<Option<f64>>,
{
    let replicas = plan.replicas(session.task(), devices)?;
    let data = session.data();
    let options = SessionOptions {
        knn_every: 0,
        checkpoint_every: 0,
        ..session.options().clone()
    };
    let writer = plan.share(0).index == 0;
    run_peers(
        plan,
        replicas,
        devices,
        |trainer| {
            *session.task_mut() = trainer;
            drive(
                session,
                plan.run_dir,
                progress,
                |trainer, data| match writer {
                    true => knn(trainer, data),
                    false => Ok(None),
                },
            )
        },
        |trainer| {
            let mut follower = Session::new(trainer, data, options.clone());
            drive(&mut follower, None, &mut Silent, |_, _| Ok(None))
        },
    )
}

impl PeerPlan<'_> {
    /// One copy of `template` per local peer, on its device (`devices[p]` for peer p).
    pub(crate) fn replicas<B: CollectiveBackend>(
        &self,
        template: &Trainer<B>,
        devices: &[B::Device],
    ) -> Result<Vec<Trainer<B>>> {
        (0..self.peers)
            .map(|p| template.replicate(Arc::new(Peer::new(self.share(p))), &devices[p]))
            .collect()
    }
}

/// Runs this machine's peers, one thread each: `replicas[0]` through `lead` on this thread,
/// the others through `follow`. Each first joins the collective (and, with other nodes,
/// checks the shared settings and takes the first peer's state). The error that stopped
/// them is returned, not a peer's stopping because another did.
pub(crate) fn run_peers<B: CollectiveBackend>(
    plan: &PeerPlan,
    mut replicas: Vec<Trainer<B>>,
    devices: &[B::Device],
    lead: impl FnOnce(Trainer<B>) -> Result<()>,
    follow: impl Fn(Trainer<B>) -> Result<()> + Sync,
) -> Result<()> {
    let config = plan.collective_config()?;
    if let Some(node) = &plan.node {
        node.reach_coordinator()?;
    }
    let followers = replicas.split_off(1);
    let first = replicas.remove(0);
    // A failed run earlier in this process may have left the collective half-joined.
    reset_collective::<B::InnerBackend>();
    let join_and = |mut trainer: Trainer<B>, device: &B::Device| {
        join_nodes(&mut trainer, plan, device)?;
        Ok(trainer)
    };
    let outcomes = std::thread::scope(|scope| {
        let handles: Vec<_> = followers
            .into_iter()
            .enumerate()
            .map(|(p, trainer)| {
                let (config, device, follow) = (config.clone(), &devices[p + 1], &follow);
                scope.spawn(move || {
                    as_peer::<B>(trainer.share(), device.clone(), config, || {
                        follow(join_and(trainer, device)?)
                    })
                })
            })
            .collect();
        let lead = as_peer::<B>(first.share(), devices[0].clone(), config, || {
            lead(join_and(first, &devices[0])?)
        });
        let mut outcomes = vec![lead];
        for (p, handle) in handles.into_iter().enumerate() {
            let joined = handle.join().unwrap_or_else(|panic| {
                Err(peer_error(plan.share(p + 1), panicked(panic.as_ref())))
            });
            outcomes.push(joined);
        }
        outcomes
    });
    first_cause(outcomes)
}

/// With other nodes: every peer checks the shared settings, then takes the first peer's
/// state (weights, optimiser, position, parameter ids).
fn join_nodes<B: CollectiveBackend>(
    trainer: &mut Trainer<B>,
    plan: &PeerPlan,
    device: &B::Device,
) -> Result<()> {
    if plan.node.is_none() {
        return Ok(());
    }
    let share = trainer.share();
    let peer = Peer::new(share);
    peer.check_same_settings::<B>(&plan.settings, device)?;
    let first = match share.index {
        0 => Some(trainer.checkpoint()?.encode()),
        _ => None,
    };
    let bytes = peer.broadcast_bytes::<B>(first, device)?;
    if share.index != 0 {
        let from = std::path::Path::new("the first peer's state");
        trainer.restore(CheckpointBytes::decode(&bytes, from)?, from)?;
    }
    Ok(())
}

/// Runs `work` as peer `share.index`: registered with the collective before, finished
/// after; a failure or panic resets the collective so that no other peer on this machine
/// waits for this one.
pub(crate) fn as_peer<B: CollectiveBackend>(
    share: PeerShare,
    device: B::Device,
    config: CollectiveConfig,
    work: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let id = PeerId(share.index as u32);
    let _cells = FreshCells::new();
    let outcome = register::<B::InnerBackend>(id, device, config)
        .map_err(|e| Peer::new(share).error(e))
        .and_then(|()| {
            catch_unwind(AssertUnwindSafe(work))
                .unwrap_or_else(|panic| Err(peer_error(share, panicked(panic.as_ref()))))
        })
        .and_then(|()| {
            finish_collective::<B::InnerBackend>(id).map_err(|e| Peer::new(share).error(e))
        });
    if outcome.is_err() {
        // Where the collective's own runtime died (a node's link lost), its channel is
        // gone and resetting it panics: there is nothing left to reset then.
        let _ = catch_unwind(reset_collective::<B::InnerBackend>);
    }
    outcome
}

fn panicked(panic: &(dyn std::any::Any + Send)) -> PeerFailure {
    let text = crate::io::contain::panic_text(panic).unwrap_or("unknown cause");
    PeerFailure::Panicked(text.to_string())
}

/// The error that stopped the peers: the first that is not a peer stopping because
/// another did.
fn first_cause(outcomes: Vec<Result<()>>) -> Result<()> {
    let mut errors: Vec<Error> = outcomes.into_iter().filter_map(|o| o.err()).collect();
    let cause = errors
        .iter()
        .position(|e| !crate::train::collective::stopped_by_another(e))
        .unwrap_or(0);
    match errors.is_empty() {
        true => Ok(()),
        false => Err(errors.swap_remove(cause)),
    }
}

#[cfg(test)]
mod tests;
