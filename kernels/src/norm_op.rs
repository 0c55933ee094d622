//! Training-mode BatchNorm, optionally followed by a residual addition and a ReLU, as one
//! custom autodiff op on `Autodiff<Flex>`.

use crate::batch_norm::{self, BatchStats, Epilogue, NormShape};
use crate::flex::{contiguous, flex_tensor, values};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::ops::FloatTensor;
use burn::tensor::{DType, TensorMetadata};

type AutodiffFlex = Autodiff<Flex>;

/// What the backward pass needs: the input and gamma (checkpointed), the statistics and,
/// with a ReLU, the op's output (its mask).
#[derive(Debug, Clone)]
struct NormState {
    x: NodeId,
    gamma: NodeId,
    shape: NormShape,
    stats: BatchStats,
    inv_std: Vec<f32>,
    relu_output: Option<FlexTensor>,
}

/// The backward op with `N` parents: x, gamma, beta and, for `N = 4`, the residual.
#[derive(Debug)]
struct NormBackward<const N: usize>;

impl<const N: usize> Backward<Flex, N> for NormBackward<N> {
    type State = NormState;

    fn backward(
        self,
        ops: Ops<NormState, N>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let mut parents = [None; 4];
        for (slot, node) in parents.iter_mut().zip(&ops.parents) {
            *slot = node.as_ref().map(|node| node.id);
        }
        let grad = grads.consume::<Flex>(&ops.node);
        backward(ops.state, grad, parents, grads, checkpointer);
    }
}

/// Records the op over `parents` (x and gamma first) with output `y`.
fn record<const N: usize>(
    parents: [&FloatTensor<AutodiffFlex>; N],
    state: impl FnOnce(NodeId, NodeId) -> NormState,
    y: FlexTensor,
) -> FloatTensor<AutodiffFlex> {
    let prep = NormBackward::<N>
        .prepare::<NoCheckpointing>(parents.map(|tensor| tensor.node.clone()))
        .compute_bound()
        .stateful();
    match prep {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(parents[0]);
            let gamma_state = prep.checkpoint(parents[1]);
            prep.finish(state(x_state, gamma_state), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

fn backward(
    state: NormState,
    grad: FlexTensor,
    [node_x, node_gamma, node_beta, node_residual]: [Option<NodeId>; 4],
    grads: &mut Gradients,
    checkpointer: &mut Checkpointer,
) {
    let mut grad = contiguous(&grad);
    if let Some(output) = &state.relu_output {
        let masked = batch_norm::relu_backward(values(&grad), values(&contiguous(output)));
        grad = flex_tensor(masked, dims4(&grad));
    }
    let x = contiguous(&checkpointer.retrieve_node_output::<FloatTensor<Flex>>(state.x));
    let gamma = contiguous(&checkpointer.retrieve_node_output::<FloatTensor<Flex>>(state.gamma));
    let (dx, dgamma, dbeta) = batch_norm::backward(
        state.shape,
        values(&x),
        values(&grad),
        &state.stats,
        &state.inv_std,
        values(&gamma),
    );
    let channels = state.shape.channels;
    if let Some(id) = node_x {
        grads.register::<Flex>(id, flex_tensor(dx, dims4(&x)));
    }
    if let Some(id) = node_gamma {
        grads.register::<Flex>(id, flex_tensor(dgamma, [channels]));
    }
    if let Some(id) = node_beta {
        grads.register::<Flex>(id, flex_tensor(dbeta, [channels]));
    }
    if let Some(id) = node_residual {
        grads.register::<Flex>(id, grad);
    }
}

fn dims4(tensor: &FlexTensor) -> [usize; 4] {
    let dims = tensor.shape();
    [dims[0], dims[1], dims[2], dims[3]]
}

/// The BatchNorm input's shape, if the kernel takes it: `f32`, `[N, C, H, W]` with `C`
/// values of gamma and beta, and a residual (if any) of the input's shape.
fn norm_shape(tensors: [&FlexTensor; 3], residual: Option<&FlexTensor>) -> Option<NormShape> {
    let [x, gamma, beta] = tensors;
    let dims = x.shape();
    let all_f32 = tensors
        .iter()
        .chain(residual.as_ref())
        .all(|t| t.dtype() == DType::F32);
    if !all_f32 || dims.num_dims() != 4 || residual.is_some_and(|r| r.shape() != dims) {
        return None;
    }
    let channels = dims[1];
    if gamma.shape().num_elements() != channels || beta.shape().num_elements() != channels {
        return None;
    }
    Some(NormShape {
        batch: dims[0],
        channels,
        plane: dims[2] * dims[3],
    })
}

/// Normalises `x` with its batch statistics, adds `residual` and applies a ReLU if asked,
/// recording the backward op; returns the output and the statistics (for the running
/// estimates).
pub fn forward(
    [x, gamma, beta]: [FloatTensor<AutodiffFlex>; 3],
    residual: Option<FloatTensor<AutodiffFlex>>,
    relu: bool,
    epsilon: f64,
) -> Option<(FloatTensor<AutodiffFlex>, BatchStats)> {
    let shape = norm_shape(
        [&x.primitive, &gamma.primitive, &beta.primitive],
        residual.as_ref().map(|r| &r.primitive),
    )?;
    let input = contiguous(&x.primitive);
    let (gamma_values, beta_values) = (contiguous(&gamma.primitive), contiguous(&beta.primitive));
    let residual_values = residual.as_ref().map(|r| contiguous(&r.primitive));
    let stats = batch_norm::stats(shape, values(&input));
    let inv_std = stats.inv_std(epsilon);
    let epilogue = Epilogue {
        residual: residual_values.as_ref().map(values),
        relu,
    };
    let y = batch_norm::normalize(
        shape,
        values(&input),
        &stats,
        &inv_std,
        [values(&gamma_values), values(&beta_values)],
        epilogue,
    );
    let y = flex_tensor(y, dims4(&input));
    let relu_output = relu.then(|| y.clone());
    let state = |x, gamma| NormState {
        x,
        gamma,
        shape,
        stats: stats.clone(),
        inv_std: inv_std.clone(),
        relu_output: relu_output.clone(),
    };
    let out = match &residual {
        None => record([&x, &gamma, &beta], state, y),
        Some(residual) => record([&x, &gamma, &beta, residual], state, y),
    };
    Some((out, stats))
}
