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
use burn::tensor::TensorPrimitive;
use std::cell::RefCell;

thread_local! {
    /// A failure inside a backward pass, which cannot return one: the gradient passes
    /// through unreduced and [`take_backward_error`] reports it after the pass.
    static BACKWARD_ERROR: RefCell<Option<CollectiveError>> = const { RefCell::new(None) };
}

/// The first collective failure of the last backward pass on this thread, if any.
pub fn take_backward_error() -> Option<CollectiveError> {
    BACKWARD_ERROR.with(|e| e.borrow_mut().take())
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
            match all_reduce::<B>(peer, grad.clone(), ReduceOperation::Sum) {
                Ok(sum) => sum,
                Err(error) => {
                    BACKWARD_ERROR.with(|e| e.borrow_mut().get_or_insert(error).clone());
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
        let output = all_reduce::<B>(peer, tensor.primitive.clone(), ReduceOperation::Sum)?;
        Ok(
            match AllReduceSum
                .prepare::<C>([tensor.node.clone()])
                .compute_bound()
                .stateful()
            {
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
    let rows = local.dims()[0];
    let index = peer.0 as usize;
    let device = local.device();
    let mut parts = Vec::with_capacity(3);
    let zeros = |n: usize| {
        let mut shape = local.dims();
        shape[0] = n;
        Tensor::<B, D>::zeros(shape, &device)
    };
    if index > 0 {
        parts.push(zeros(index * rows));
    }
    parts.push(local.clone());
    if index + 1 < peers {
        parts.push(zeros((peers - index - 1) * rows));
    }
    all_reduce_sum(peer, Tensor::cat(parts, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::AutodiffCpu;
    use burn::collective::{finish_collective, register, reset_collective, CollectiveConfig};

    type Inner = <AutodiffCpu as AutodiffBackend>::InnerBackend;

    /// Runs `work` on `peers` threads registered as one collective; their results in
    /// peer order.
    fn on_peers<T: Send + 'static>(
        peers: usize,
        work: impl Fn(PeerId) -> T + Send + Sync + Copy + 'static,
    ) -> Vec<T> {
        reset_collective::<Inner>();
        let handles: Vec<_> = (0..peers as u32)
            .map(|p| {
                std::thread::spawn(move || {
                    let peer = PeerId(p);
                    let config = CollectiveConfig::default().with_num_devices(peers);
                    register::<Inner>(peer, Default::default(), config).unwrap();
                    let out = work(peer);
                    finish_collective::<Inner>(peer).unwrap();
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    #[test]
    fn gathered_rows_carry_every_peers_gradient_back() {
        // Peer p holds rows [p+1, p+1] · (p+1); the loss of peer p weights the gathered
        // rows by w_p = [1, 10, 100][p] times the row index + 1.
        let results = on_peers(3, |peer| {
            let device = Default::default();
            let p = peer.0 as f32;
            let x =
                Tensor::<AutodiffCpu, 2>::from_floats([[p + 1.0, p + 1.0]], &device).require_grad();
            let gathered = all_gather(peer, 3, x.clone()).unwrap();
            let weight = 10f32.powi(peer.0 as i32);
            let rows = Tensor::<AutodiffCpu, 1>::from_floats([1.0, 2.0, 3.0], &device);
            let loss = (gathered.clone() * rows.reshape([3, 1]) * weight).sum();
            let grads = loss.backward();
            assert!(take_backward_error().is_none());
            let values = gathered.inner().into_data().to_vec::<f32>().unwrap();
            let grad = x.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap();
            (values, grad)
        });
        for (peer, (values, grad)) in results.iter().enumerate() {
            assert_eq!(*values, [1.0, 1.0, 2.0, 2.0, 3.0, 3.0], "peer {peer}");
            // d/dx_p of Σ_q w_q (p+1) x_p = (p+1) Σ_q w_q = (p+1) · 111.
            let expected = (peer as f32 + 1.0) * 111.0;
            assert_eq!(*grad, [expected, expected], "peer {peer}");
        }
    }
}
