//! One data-parallel peer's collective half of a SimCLR step: NT-Xent over the global
//! batch, gradients summed over the peers, optionally BatchNorm over the global batch, and
//! the weight check at every checkpoint.

use super::{
    all_gather, global_nt_xent, sum_gradients, take_collective_error, with_sync_batch_norm,
    CollectiveBackend,
};
use crate::model::SimclrModel;
use crate::train::signature::weight_hash;
use crate::train::step::{PeerOps, PeerShare};
use crate::{Error, Result};
use burn::collective::{CollectiveError, PeerId};
use burn::optim::GradientsParams;
use burn::prelude::*;

/// A peer registered with burn-collective (by [`crate::train::parallel`]).
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    share: PeerShare,
}

impl Peer {
    /// Peer `share.index` of `share.count`.
    pub fn new(share: PeerShare) -> Self {
        Self { share }
    }

    fn id(&self) -> PeerId {
        PeerId(self.share.index as u32)
    }

    /// A collective failure as this peer's error.
    pub fn error(&self, error: CollectiveError) -> Error {
        peer_error(self.share, describe(&error))
    }
}

/// A failure of peer `share.index`.
pub fn peer_error(share: PeerShare, message: impl Into<String>) -> Error {
    Error::Peer {
        peer: share.index,
        peers: share.count,
        message: message.into(),
    }
}

/// Why a peer stops when another one failed first.
const STOPPED_BY_ANOTHER: &str = "another peer stopped, so this one did";

/// Whether `error` is a peer stopping because another failed first (not the cause).
pub fn stopped_by_another(error: &Error) -> bool {
    matches!(error, Error::Peer { message, .. } if message == STOPPED_BY_ANOTHER)
}

/// What a collective failure means for the user.
pub fn describe(error: &CollectiveError) -> String {
    match error {
        // The local server drops every waiting operation when a peer leaves.
        CollectiveError::LocalServerMissing | CollectiveError::RegisterNotFirstOperation => {
            STOPPED_BY_ANOTHER.into()
        }
        CollectiveError::Global(global) => {
            format!("the link to the other nodes failed: {global:?}")
        }
        other => format!("the collective failed: {other:?}"),
    }
}

impl<B: CollectiveBackend> PeerOps<B> for Peer {
    fn share(&self) -> PeerShare {
        self.share
    }

    fn loss_and_gradients(
        &self,
        model: &SimclrModel<B>,
        views: Tensor<B, 4>,
        temperature: f64,
    ) -> Result<(Tensor<B, 1>, GradientsParams)> {
        let (id, peers) = (self.id(), self.share.count);
        let rows = views.dims()[0] / 2;
        let z = if self.share.sync_batch_norm {
            with_sync_batch_norm::<B, _>(id, peers, || model.forward(views))
        } else {
            model.forward(views)
        };
        let (z1, z2) = (z.clone().narrow(0, 0, rows), z.narrow(0, rows, rows));
        let loss = global_nt_xent(id, peers, z1, z2, temperature).map_err(|e| self.error(e))?;
        // Each peer backpropagates its share of the one global loss; the sum over the
        // peers is the global loss's gradient (the mean over every anchor of the batch).
        let grads = loss.clone().div_scalar(peers as f64).backward();
        if let Some(error) = take_collective_error() {
            return Err(self.error(error));
        }
        let grads = GradientsParams::from_grads(grads, model);
        let grads = sum_gradients::<B, _>(id, grads, model).map_err(|e| self.error(e))?;
        Ok((loss, grads))
    }

    fn check_same_weights(&self, model: &SimclrModel<B>, epoch: usize) -> Result<()> {
        let device = model.projection.fc2.weight.device();
        let hashes = gather_hashes::<B>(self.id(), self.share.count, weight_hash(model), &device)
            .map_err(|e| self.error(e))?;
        if hashes.iter().all(|&h| h == hashes[0]) {
            return Ok(());
        }
        Err(Error::PeersDiverged {
            epoch,
            hashes: hashes.iter().map(|h| format!("{h:08x}")).collect(),
        })
    }
}

/// Every peer's `hash`, in peer order: gathered as two 16-bit halves, which `f32` holds
/// exactly.
fn gather_hashes<B: CollectiveBackend>(
    id: PeerId,
    peers: usize,
    hash: u32,
    device: &B::Device,
) -> std::result::Result<Vec<u32>, CollectiveError> {
    let halves = [(hash >> 16) as f32, (hash & 0xffff) as f32];
    let local = Tensor::<B, 1>::from_floats(halves, device).reshape([1, 2]);
    let gathered = all_gather(id, peers, local)?.inner().into_data();
    let values = gathered
        .to_vec::<f32>()
        .map_err(|e| CollectiveError::Other(format!("{e:?}")))?;
    Ok(values
        .chunks(2)
        .map(|pair| ((pair[0] as u32) << 16) | pair[1] as u32)
        .collect())
}
