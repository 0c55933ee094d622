//! The convolution kernels plugged into Burn's `flex` backend, plain and under `Autodiff`
//! (a custom backward op, Burn's backend-extension mechanism).

use crate::conv2d;
use crate::im2col::ConvGeometry;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::ops::FloatTensor;
use burn::tensor::{DType, Shape, TensorData, TensorMetadata};

type AutodiffFlex = Autodiff<Flex>;

/// Contiguous `f32` copy-free view of a tensor, or a contiguous copy.
pub(crate) fn contiguous(tensor: &FlexTensor) -> FlexTensor {
    if tensor.as_slice::<f32>().is_some() {
        tensor.clone()
    } else {
        tensor.to_contiguous()
    }
}

pub(crate) fn values(tensor: &FlexTensor) -> &[f32] {
    // `contiguous` made it contiguous and callers checked the dtype.
    tensor.as_slice::<f32>().unwrap_or(&[])
}

pub(crate) fn flex_tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, Shape::from(shape.to_vec())))
}

/// The geometry of `x ⋆ weight`, if these kernels handle it: `f32`, 4-D, matching
/// channels, a kernel that fits the padded input.
pub fn geometry(
    x: &FlexTensor,
    weight: &FlexTensor,
    stride: [usize; 2],
    padding: [usize; 2],
) -> Option<ConvGeometry> {
    let (xs, ws) = (x.shape(), weight.shape());
    if x.dtype() != DType::F32 || weight.dtype() != DType::F32 || xs.num_dims() != 4 {
        return None;
    }
    if ws.num_dims() != 4 || ws[1] != xs[1] {
        return None;
    }
    let geometry = ConvGeometry {
        batch: xs[0],
        in_channels: xs[1],
        out_channels: ws[0],
        in_size: [xs[2], xs[3]],
        kernel: [ws[2], ws[3]],
        stride,
        padding,
    };
    geometry.out_size().map(|_| geometry)
}

fn output_shape(geometry: &ConvGeometry) -> [usize; 4] {
    let [h, w] = geometry.out_size().unwrap_or([0, 0]);
    [geometry.batch, geometry.out_channels, h, w]
}

/// Forward on the plain backend.
pub fn forward(geometry: &ConvGeometry, x: &FlexTensor, weight: &FlexTensor) -> FlexTensor {
    let (x, weight) = (contiguous(x), contiguous(weight));
    let out = conv2d::forward(geometry, values(&x), values(&weight));
    flex_tensor(out, output_shape(geometry))
}

#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 2> for ConvBackward {
    type State = (NodeId, NodeId, ConvGeometry);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight] = ops.parents;
        let grad = contiguous(&grads.consume::<Flex>(&ops.node));
        let (x_state, weight_state, geometry) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<Flex>>(x_state);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<Flex>>(weight_state);
        if let Some(node) = node_x {
            let weight = contiguous(&weight);
            let dx = conv2d::input_grad(&geometry, values(&weight), values(&grad));
            let [n, c, h, w] = [
                geometry.batch,
                geometry.in_channels,
                geometry.in_size[0],
                geometry.in_size[1],
            ];
            grads.register::<Flex>(node.id, flex_tensor(dx, [n, c, h, w]));
        }
        if let Some(node) = node_weight {
            let x = contiguous(&x);
            let dw = conv2d::weight_grad(&geometry, values(&x), values(&grad));
            grads.register::<Flex>(node.id, flex_tensor(dw, weight_shape(&geometry)));
        }
    }
}

fn weight_shape(geometry: &ConvGeometry) -> [usize; 4] {
    [
        geometry.out_channels,
        geometry.in_channels,
        geometry.kernel[0],
        geometry.kernel[1],
    ]
}

/// Forward under `Autodiff<Flex>`, recording [`ConvBackward`] for the backward pass.
pub fn forward_autodiff(
    geometry: &ConvGeometry,
    x: FloatTensor<AutodiffFlex>,
    weight: FloatTensor<AutodiffFlex>,
) -> FloatTensor<AutodiffFlex> {
    let prep = ConvBackward
        .prepare::<burn::backend::autodiff::checkpoint::strategy::NoCheckpointing>([
            x.node.clone(),
            weight.node.clone(),
        ])
        .compute_bound()
        .stateful();
    match prep {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let weight_state = prep.checkpoint(&weight);
            let out = forward(geometry, &x.primitive, &weight.primitive);
            prep.finish((x_state, weight_state, *geometry), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(geometry, &x.primitive, &weight.primitive)),
    }
}
