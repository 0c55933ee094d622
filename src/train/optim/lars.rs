//! LARS (You et al. 2017) as used by SimCLR: SGD with momentum whose per-layer step is
//! scaled by the trust ratio `η · ‖w‖ / ‖g + λw‖`. Biases and BatchNorm parameters (the
//! one-dimensional tensors) get neither adaptation nor weight decay. With adaptation off it
//! is SGD with momentum and decoupled-from-1-D weight decay.

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{LearningRate, SimpleOptimizer};
use burn::prelude::*;
use burn::record::Record;
use burn::tensor::backend::AutodiffBackend;

/// Configuration of [`Lars`].
#[derive(Config, Debug)]
pub struct LarsConfig {
    /// Momentum of the velocity.
    #[config(default = 0.9)]
    pub momentum: f64,
    /// L2 weight decay on multi-dimensional weights.
    #[config(default = 1e-6)]
    pub weight_decay: f64,
    /// Trust coefficient η.
    #[config(default = 0.001)]
    pub trust_coefficient: f64,
    /// Layer-wise adaptation; off gives plain SGD with momentum.
    #[config(default = true)]
    pub adapt: bool,
}

/// The LARS optimiser.
#[derive(Clone, Debug)]
pub struct Lars {
    config: LarsConfigValues,
}

#[derive(Clone, Copy, Debug)]
struct LarsConfigValues {
    momentum: f64,
    weight_decay: f64,
    trust_coefficient: f64,
    adapt: bool,
}

/// Per-tensor state: the velocity.
#[derive(Record, Clone)]
pub struct LarsState<B: Backend, const D: usize> {
    /// Momentum buffer.
    pub velocity: Tensor<B, D>,
}

impl LarsConfig {
    /// The optimiser wrapped for use on a module.
    pub fn init<B: AutodiffBackend, M: AutodiffModule<B>>(&self) -> OptimizerAdaptor<Lars, M, B> {
        OptimizerAdaptor::from(Lars {
            config: LarsConfigValues {
                momentum: self.momentum,
                weight_decay: self.weight_decay,
                trust_coefficient: self.trust_coefficient,
                adapt: self.adapt,
            },
        })
    }
}

impl Lars {
    /// `η‖w‖/‖g‖` where both norms are positive, else 1; stays on the device.
    fn trust_ratio<B: Backend, const D: usize>(
        &self,
        weight: &Tensor<B, D>,
        grad: &Tensor<B, D>,
    ) -> Tensor<B, D> {
        let weight_norm = weight.clone().square().sum().sqrt();
        let grad_norm = grad.clone().square().sum().sqrt();
        let valid = weight_norm
            .clone()
            .greater_elem(0.0)
            .bool_and(grad_norm.clone().greater_elem(0.0));
        let ratio = weight_norm * self.config.trust_coefficient / grad_norm.clamp_min(1e-30);
        ratio.ones_like().mask_where(valid, ratio).reshape([1; D])
    }
}

impl<B: Backend> SimpleOptimizer<B> for Lars {
    type State<const D: usize> = LarsState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let excluded = D == 1;
        let update = if excluded {
            grad
        } else {
            let grad = grad + tensor.clone() * self.config.weight_decay;
            if self.config.adapt {
                let trust = self.trust_ratio(&tensor, &grad);
                grad * trust
            } else {
                grad
            }
        };
        let update = update * lr;
        let velocity = match state {
            Some(state) => state.velocity * self.config.momentum + update,
            None => update,
        };
        (tensor - velocity.clone(), Some(LarsState { velocity }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        LarsState {
            velocity: state.velocity.to_device(device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    fn lars(adapt: bool) -> Lars {
        Lars {
            config: LarsConfigValues {
                momentum: 0.9,
                weight_decay: 0.1,
                trust_coefficient: 0.001,
                adapt,
            },
        }
    }

    #[test]
    fn scales_weights_by_trust_ratio_and_skips_vectors() {
        let device = Default::default();
        let w = Tensor::<Cpu, 2>::from_floats([[3.0, 4.0]], &device);
        let g = Tensor::<Cpu, 2>::from_floats([[0.0, 1.0]], &device);
        // g + λw = [0.3, 1.4]; ‖w‖ = 5; ‖g'‖ = sqrt(0.09 + 1.96); trust = 0.005 / ‖g'‖.
        let (new, state) =
            SimpleOptimizer::<Cpu>::step(&lars(true), 2.0, w.clone(), g.clone(), None);
        let norm = (0.09f32 + 1.96).sqrt();
        let trust = 0.005 / norm;
        let expected = [3.0 - 2.0 * trust * 0.3, 4.0 - 2.0 * trust * 1.4];
        let got = new.into_data().to_vec::<f32>().unwrap();
        assert!(
            (got[0] - expected[0]).abs() < 1e-6 && (got[1] - expected[1]).abs() < 1e-6,
            "{got:?}"
        );
        // Second step: velocity = 0.9 v + new update.
        let (_, state) = SimpleOptimizer::<Cpu>::step(&lars(true), 2.0, w, g, state);
        let v = state.unwrap().velocity.into_data().to_vec::<f32>().unwrap();
        assert!((v[1] - 1.9 * 2.0 * trust * 1.4).abs() < 1e-6);

        let bias = Tensor::<Cpu, 1>::from_floats([1.0, 2.0], &device);
        let bias_grad = Tensor::<Cpu, 1>::from_floats([0.5, -0.5], &device);
        let (new, _) = SimpleOptimizer::<Cpu>::step(&lars(true), 0.1, bias, bias_grad, None);
        assert_eq!(new.into_data().to_vec::<f32>().unwrap(), vec![0.95, 2.05]);
    }

    #[test]
    fn zero_weights_fall_back_to_plain_steps() {
        let device = Default::default();
        let w = Tensor::<Cpu, 2>::zeros([1, 2], &device);
        let g = Tensor::<Cpu, 2>::from_floats([[1.0, -1.0]], &device);
        let (new, _) = SimpleOptimizer::<Cpu>::step(&lars(true), 0.5, w.clone(), g.clone(), None);
        assert_eq!(new.into_data().to_vec::<f32>().unwrap(), vec![-0.5, 0.5]);
        let (sgd, _) = SimpleOptimizer::<Cpu>::step(&lars(false), 0.5, w, g, None);
        assert_eq!(sgd.into_data().to_vec::<f32>().unwrap(), vec![-0.5, 0.5]);
    }
}
