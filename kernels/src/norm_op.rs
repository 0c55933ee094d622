//! Training-mode BatchNorm as a custom autodiff op on `Autodiff<Flex>`.

use crate::batch_norm::{self, BatchStats, NormShape};
use crate::flex::{contiguous, flex_tensor, values};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::{Autodiff, Flex};
use burn::tensor::ops::FloatTensor;
use burn::tensor::{DType, TensorMetadata};

#[derive(Debug)]
struct NormBackward;

impl Backward<Flex, 3> for NormBackward {
    type State = (NodeId, NodeId, NormShape, BatchStats, Vec<f32>);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = contiguous(&grads.consume::<Flex>(&ops.node));
        let (x_state, gamma_state, shape, stats, inv_std) = ops.state;
        let x = contiguous(&checkpointer.retrieve_node_output::<FloatTensor<Flex>>(x_state));
        let gamma =
            contiguous(&checkpointer.retrieve_node_output::<FloatTensor<Flex>>(gamma_state));
        let (dx, dgamma, dbeta) = batch_norm::backward(
            shape,
            values(&x),
            values(&grad),
            &stats,
            &inv_std,
            values(&gamma),
        );
        if let Some(node) = node_x {
            let dims = x.shape();
            grads.register::<Flex>(
                node.id,
                flex_tensor(dx, [dims[0], dims[1], dims[2], dims[3]]),
            );
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, flex_tensor(dgamma, [shape.channels]));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, flex_tensor(dbeta, [shape.channels]));
        }
    }
}

/// The BatchNorm input's shape, if the kernel takes it: `f32`, `[N, C, H, W]` with `C`
/// values of gamma and beta.
fn norm_shape(
    x: &FloatTensor<Flex>,
    gamma: &FloatTensor<Flex>,
    beta: &FloatTensor<Flex>,
) -> Option<NormShape> {
    let dims = x.shape();
    let all_f32 = [x.dtype(), gamma.dtype(), beta.dtype()]
        .iter()
        .all(|d| *d == DType::F32);
    if !all_f32 || dims.num_dims() != 4 {
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

/// Normalises `x` with its batch statistics, recording [`NormBackward`]; returns the
/// output and the statistics (for the running estimates).
pub fn forward(
    x: FloatTensor<Autodiff<Flex>>,
    gamma: FloatTensor<Autodiff<Flex>>,
    beta: FloatTensor<Autodiff<Flex>>,
    epsilon: f64,
) -> Option<(FloatTensor<Autodiff<Flex>>, BatchStats)> {
    let shape = norm_shape(&x.primitive, &gamma.primitive, &beta.primitive)?;
    let input = contiguous(&x.primitive);
    let (gamma_values, beta_values) = (contiguous(&gamma.primitive), contiguous(&beta.primitive));
    let stats = batch_norm::stats(shape, values(&input));
    let inv_std = stats.inv_std(epsilon);
    let y = batch_norm::normalize(
        shape,
        values(&input),
        &stats,
        &inv_std,
        values(&gamma_values),
        values(&beta_values),
    );
    let dims = input.shape();
    let y = flex_tensor(y, [dims[0], dims[1], dims[2], dims[3]]);
    let prep = NormBackward
        .prepare::<NoCheckpointing>([x.node.clone(), gamma.node.clone(), beta.node.clone()])
        .compute_bound()
        .stateful();
    let out = match prep {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let gamma_state = prep.checkpoint(&gamma);
            prep.finish((x_state, gamma_state, shape, stats.clone(), inv_std), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some((out, stats))
}
