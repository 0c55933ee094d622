//! One data-parallel peer's collective half of a SimCLR step: NT-Xent over the global
//! batch, gradients summed over the peers, optionally BatchNorm over the global batch, and
//! the weight check at every checkpoint.

use super::{
    all_gather, global_nt_xent, sum_gradients, take_collective_error, with_sync_batch_norm,
    CollectiveBackend,
};
use crate::error::PeerFailure;
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
        self.failed(describe(&error))
    }

    /// `failure` as this peer's error.
    pub fn failed(&self, failure: PeerFailure) -> Error {
        peer_error(self.share, failure)
    }
}

/// A failure of peer `share.index`.
pub fn peer_error(share: PeerShare, failure: PeerFailure) -> Error {
    Error::Peer {
        peer: share.index,
        peers: share.count,
        failure,
    }
}

/// Whether `error` is a peer stopping because another failed first (not the cause).
pub fn stopped_by_another(error: &Error) -> bool {
    matches!(
        error,
        Error::Peer {
            failure: PeerFailure::StoppedByAnother,
            ..
        }
    )
}

/// What a collective failure means for the user.
pub fn describe(error: &CollectiveError) -> PeerFailure {
    match error {
        // The local server drops every waiting operation when a peer leaves.
        CollectiveError::LocalServerMissing | CollectiveError::RegisterNotFirstOperation => {
            PeerFailure::StoppedByAnother
        }
        CollectiveError::Global(global) => PeerFailure::Link(format!("{global:?}")),
        other => PeerFailure::Collective(format!("{other:?}")),
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
        let hashes = gather_words::<B>(
            self.id(),
            self.share.count,
            &[weight_hash(model) as u64],
            &device,
        )
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

impl Peer {
    /// Fails unless every peer was started with the same `settings` (name, value), naming
    /// the first that differs from peer 0's and the peer it differs on.
    pub fn check_same_settings<B: CollectiveBackend>(
        &self,
        settings: &[(&'static str, u64)],
        device: &B::Device,
    ) -> Result<()> {
        let words: Vec<u64> = settings.iter().map(|(_, value)| *value).collect();
        let all = gather_words::<B>(self.id(), self.share.count, &words, device)
            .map_err(|e| self.error(e))?;
        let first = &all[..words.len()];
        for (peer, theirs) in all.chunks(words.len().max(1)).enumerate() {
            if let Some(at) = (0..words.len()).find(|&i| theirs[i] != first[i]) {
                return Err(self.failed(PeerFailure::OtherSettings {
                    peer,
                    setting: settings[at].0,
                    theirs: theirs[at],
                    first: first[at],
                }));
            }
        }
        Ok(())
    }

    /// Peer 0's `bytes` on every peer (the others pass `None`): how the nodes start from one
    /// state, with the same parameter ids.
    pub fn broadcast_bytes<B: CollectiveBackend>(
        &self,
        bytes: Option<Vec<u8>>,
        device: &B::Device,
    ) -> Result<Vec<u8>> {
        let (id, peers) = (self.id(), self.share.count);
        let bytes = bytes.unwrap_or_default();
        let lengths = gather_words::<B>(id, peers, &[bytes.len() as u64], device)
            .map_err(|e| self.error(e))?;
        let length = lengths[0] as usize;
        // Two bytes per value: f32 holds every 16-bit integer exactly.
        let values: Vec<f32> = (0..length.div_ceil(2))
            .map(|i| {
                let low = bytes.get(2 * i).copied().unwrap_or(0) as u32;
                let high = bytes.get(2 * i + 1).copied().unwrap_or(0) as u32;
                (low | (high << 8)) as f32
            })
            .collect();
        let local = Tensor::<B, 1>::from_floats(values.as_slice(), device);
        let summed = super::all_reduce_sum(id, local).map_err(|e| self.error(e))?;
        let summed = summed
            .inner()
            .into_data()
            .to_vec::<f32>()
            .map_err(|e| Error::Device(format!("{e:?}")))?;
        let mut out: Vec<u8> = summed
            .iter()
            .flat_map(|&v| {
                let v = v as u32;
                [(v & 0xff) as u8, (v >> 8) as u8]
            })
            .collect();
        out.truncate(length);
        Ok(out)
    }
}

/// Every peer's `words` in peer order, each word gathered as four exact 16-bit parts.
fn gather_words<B: CollectiveBackend>(
    id: PeerId,
    peers: usize,
    words: &[u64],
    device: &B::Device,
) -> std::result::Result<Vec<u64>, CollectiveError> {
    let parts: Vec<f32> = words
        .iter()
        .flat_map(|w| (0..4).map(move |k| ((w >> (16 * k)) & 0xffff) as f32))
        .collect();
    let local = Tensor::<B, 1>::from_floats(parts.as_slice(), device).reshape([1, parts.len()]);
    let gathered = all_gather(id, peers, local)?.inner().into_data();
    let values = gathered
        .to_vec::<f32>()
        .map_err(|e| CollectiveError::Other(format!("{e:?}")))?;
    Ok(values
        .chunks(4)
        .map(|p| (0..4).fold(0u64, |w, k| w | ((p[k] as u64) << (16 * k))))
        .collect())
}
