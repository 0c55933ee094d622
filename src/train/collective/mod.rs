//! Collective operations between data-parallel peers, on burn-collective, with gradients.
//!
//! burn-collective's all-reduce works on any backend's tensors but is not differentiable
//! (Burn's differentiable `DistributedBackend` exists only for its cubecl backends, not for
//! the CPU). [`all_reduce_sum`] is one for every autodiff backend: its backward all-reduces
//! the gradient, which is what an all-gather with gradient ([`all_gather`]) and BatchNorm
//! over the global batch need. Every peer must call the same operations in the same order
//! (the forward passes and so the backward passes are the same program on every peer).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{unary, Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::collective::{all_reduce, CollectiveError, PeerId, ReduceOperation};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::TensorMetadata;
use burn::tensor::TensorPrimitive;
use std::cell::RefCell;

mod peer;
pub use peer::{describe, peer_error, stopped_by_another, Peer};

thread_local! {
    /// Bytes summed and seconds spent (waiting for the other peers included) in this
    /// thread's collectives, for the benchmark.
    static TRAFFIC: std::cell::Cell<Traffic> = const { std::cell::Cell::new(Traffic { bytes: 0, seconds: 0.0 }) };
    /// A failure where none can be returned (a backward pass, a BatchNorm's statistics):
    /// the tensor passes through unreduced and [`take_collective_error`] reports it after.
    static COLLECTIVE_ERROR: RefCell<Option<CollectiveError>> = const { RefCell::new(None) };
}

/// What this thread's collectives moved.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Traffic {
    /// Bytes of the tensors this peer put into all-reduces.
    pub bytes: u64,
    /// Seconds inside collective calls, waiting for the other peers included.
    pub seconds: f64,
}

/// This thread's collective traffic since the last call; resets it.
pub fn take_traffic() -> Traffic {
    TRAFFIC.with(|t| t.replace(Traffic::default()))
}

/// Runs a collective that sums `bytes` and counts it and its time.
pub(crate) fn counted<T>(bytes: usize, collective: impl FnOnce() -> T) -> T {
    let start = std::time::Instant::now();
    let out = collective();
    let seconds = start.elapsed().as_secs_f64();
    TRAFFIC.with(|t| {
        let Traffic {
            bytes: b,
            seconds: s,
        } = t.get();
        t.set(Traffic {
            bytes: b + bytes as u64,
            seconds: s + seconds,
        })
    });
    out
}

/// The first collective failure on this thread that could not be returned, if any.
pub fn take_collective_error() -> Option<CollectiveError> {
    COLLECTIVE_ERROR.with(|e| e.borrow_mut().take())
}

/// This thread's collective cells (traffic, a kept error) emptied when made and again when
/// dropped: held by a peer for its whole run, so that neither a failed nor a panicked peer
/// leaves a count or an error to the next run on its thread.
pub(crate) struct FreshCells(());

impl FreshCells {
    /// Empties the cells until dropped.
    pub(crate) fn new() -> Self {
        empty_cells();
        FreshCells(())
    }
}

impl Drop for FreshCells {
    fn drop(&mut self) {
        empty_cells();
    }
}

fn empty_cells() {
    TRAFFIC.with(|t| t.set(Traffic::default()));
    COLLECTIVE_ERROR.with(|e| e.borrow_mut().take());
}

/// Keeps `error` for [`take_collective_error`] (the first one wins).
pub(crate) fn keep_error(error: CollectiveError) {
    COLLECTIVE_ERROR.with(|e| {
        e.borrow_mut().get_or_insert(error);
    });
}

/// An autodiff backend whose tensors can be summed over the peers with gradient.
pub trait CollectiveBackend: AutodiffBackend {
    /// The element-wise sum of `tensor` over every peer; its gradient is the sum of the
    /// peers' gradients of the result.
    fn all_reduce_sum(
        peer: PeerId,
        tensor: FloatTensor<Self>,
    ) -> Result<FloatTensor<Self>, CollectiveError>;
}

#[derive(Debug)]
struct AllReduceSum;

impl<B: Backend> Backward<B, 1> for AllReduceSum {
    type State = PeerId;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let peer = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            let bytes = grad.shape().num_elements() * 4;
            match counted(bytes, || {
                all_reduce::<B>(peer, grad.clone(), ReduceOperation::Sum)
            }) {
                Ok(sum) => sum,
                Err(error) => {
                    keep_error(error);
                    grad
                }
            }
        });
    }
}

impl<B: Backend, C: CheckpointStrategy> CollectiveBackend for Autodiff<B, C> {
    fn all_reduce_sum(
        peer: PeerId,
        tensor: FloatTensor<Self>,
    ) -> Result<FloatTensor<Self>, CollectiveError> {
        let node = tensor.node.clone();
        let bytes = tensor.primitive.shape().num_elements() * 4;
        let output = counted(bytes, || {
            all_reduce::<B>(peer, tensor.primitive, ReduceOperation::Sum)
        })?;
        Ok(
            match AllReduceSum.prepare::<C>([node]).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish(peer, output),
                OpsKind::UnTracked(prep) => prep.finish(output),
            },
        )
    }
}

/// [`CollectiveBackend::all_reduce_sum`] on a tensor.
pub fn all_reduce_sum<B: CollectiveBackend, const D: usize>(
    peer: PeerId,
    tensor: Tensor<B, D>,
) -> Result<Tensor<B, D>, CollectiveError> {
    let summed = B::all_reduce_sum(peer, tensor.into_primitive().tensor())?;
    Ok(Tensor::from_primitive(TensorPrimitive::Float(summed)))
}

/// The rows of every peer's `local` stacked in peer order (peer `p` of `peers`, each with
/// the same number of rows), with gradient: each peer fills its slice of a zero tensor and
/// the slices are summed, so the backward pass hands each peer the sum of every peer's
/// gradient for its own rows.
///
/// # Shapes
/// - `local`: `[rows, ...]` → `[peers * rows, ...]`
pub fn all_gather<B: CollectiveBackend, const D: usize>(
    peer: PeerId,
    peers: usize,
    local: Tensor<B, D>,
) -> Result<Tensor<B, D>, CollectiveError> {
    let shape = local.dims();
    let rows = shape[0];
    let index = peer.0 as usize;
    let device = local.device();
    let mut parts = Vec::with_capacity(3);
    let zeros = |n: usize| {
        let mut shape = shape;
        shape[0] = n;
        Tensor::<B, D>::zeros(shape, &device)
    };
    if index > 0 {
        parts.push(zeros(index * rows));
    }
    parts.push(local);
    if index + 1 < peers {
        parts.push(zeros((peers - index - 1) * rows));
    }
    all_reduce_sum(peer, Tensor::cat(parts, 0))
}

/// Runs `forward` with synchronised BatchNorm: every training-mode BatchNorm on this
/// thread normalises with the statistics of the global batch of `peers` equal shares
/// (summed with gradient), as one device with the whole batch would. A failed sum is
/// reported by [`take_collective_error`].
pub fn with_sync_batch_norm<B: CollectiveBackend, T>(
    peer: PeerId,
    peers: usize,
    forward: impl FnOnce() -> T,
) -> T {
    let sum = move |statistic: Tensor<B, 1>| match all_reduce_sum(peer, statistic.clone()) {
        Ok(sum) => sum,
        Err(error) => {
            keep_error(error);
            statistic
        }
    };
    crate::model::batch_norm::with_global_statistics::<B, T>(peers, Box::new(sum), forward)
}

/// NT-Xent over the global batch of `peers` peers: each peer's projections of its own
/// images' two views are gathered with gradient, so every anchor has the 2(B−1) negatives
/// of the whole batch, as in the paper. Every peer computes the same global loss `L`;
/// backpropagating `L / peers` on each peer and then summing the parameter gradients over
/// the peers ([`sum_gradients`]) gives exactly the gradient of `L`, since the gathered
/// backward sums every peer's share for the rows it owns.
///
/// # Shapes
/// - `z1`, `z2`: `[b, D]` (this peer's images, first and second views) → `[1]`
pub fn global_nt_xent<B: CollectiveBackend>(
    peer: PeerId,
    peers: usize,
    z1: Tensor<B, 2>,
    z2: Tensor<B, 2>,
    temperature: f64,
) -> Result<Tensor<B, 1>, CollectiveError> {
    let [rows, dim] = z1.dims();
    // One collective for both views: peer p's rows are [z1_p; z2_p], regrouped by view.
    let gathered = all_gather(peer, peers, Tensor::cat(vec![z1, z2], 0))?
        .reshape([peers, 2, rows, dim])
        .swap_dims(0, 1)
        .reshape([2, peers * rows, dim]);
    let all_z1 = gathered
        .clone()
        .narrow(0, 0, 1)
        .reshape([peers * rows, dim]);
    let all_z2 = gathered.narrow(0, 1, 1).reshape([peers * rows, dim]);
    Ok(crate::loss::nt_xent(all_z1, all_z2, temperature))
}

/// The parameter gradients of every peer summed, identically on each (in parameter-id
/// order, so the peers' models must be clones of one model).
pub fn sum_gradients<B: AutodiffBackend, M: burn::module::Module<B>>(
    peer: PeerId,
    grads: burn::optim::GradientsParams,
    model: &M,
) -> Result<burn::optim::GradientsParams, CollectiveError> {
    counted(model.num_params() * 4, || {
        grads.all_reduce::<B::InnerBackend>(peer, ReduceOperation::Sum)
    })
}

#[cfg(test)]
mod tests;
