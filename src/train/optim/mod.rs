//! Optimisers (LARS, SGD with momentum, Adam, AdamW) and the learning-rate schedule.

pub mod lars;
pub mod schedule;

pub use lars::{Lars, LarsConfig};
pub use schedule::Schedule;

use crate::train::checkpoint::{record_from_bytes, record_to_bytes};
use crate::Result;
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{Adam, AdamConfig, AdamW, AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which optimiser to train with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// LARS with momentum (the paper's choice).
    Lars,
    /// SGD with momentum.
    Sgd,
    /// Adam with L2 weight decay.
    Adam,
    /// AdamW (decoupled weight decay).
    Adamw,
}

impl OptimizerKind {
    /// Every optimiser, in the order menus and help list them.
    pub const ALL: [OptimizerKind; 4] = [
        OptimizerKind::Lars,
        OptimizerKind::Sgd,
        OptimizerKind::Adam,
        OptimizerKind::Adamw,
    ];

    /// The name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Lars => "lars",
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::Adamw => "adamw",
        }
    }

    /// Whether the learning rate follows the linear scaling rule `base × batch / 256`
    /// (SGD-like optimisers); Adam's rate is used as given.
    pub fn scales_with_batch(self) -> bool {
        matches!(self, OptimizerKind::Lars | OptimizerKind::Sgd)
    }
}

impl std::str::FromStr for OptimizerKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "lars" => Ok(OptimizerKind::Lars),
            "sgd" => Ok(OptimizerKind::Sgd),
            "adam" => Ok(OptimizerKind::Adam),
            "adamw" => Ok(OptimizerKind::Adamw),
            other => Err(crate::Error::UnknownName {
                what: "optimizer",
                given: other.into(),
                expected: "lars, sgd, adam or adamw".into(),
            }),
        }
    }
}

impl std::fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Optimiser settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// Which optimiser.
    pub kind: OptimizerKind,
    /// Base learning rate (scaled by batch / 256 for LARS and SGD).
    pub lr: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Momentum (LARS, SGD).
    pub momentum: f64,
    /// LARS trust coefficient.
    pub trust_coefficient: f64,
    /// Linear warm-up length in epochs.
    pub warmup_epochs: f64,
}

impl OptimizerConfig {
    /// The paper's CIFAR-10 recipe: LARS, base lr 1.0, weight decay 1e-6, 10 warm-up epochs.
    pub fn paper() -> Self {
        Self {
            kind: OptimizerKind::Lars,
            lr: 1.0,
            weight_decay: 1e-6,
            momentum: 0.9,
            trust_coefficient: 0.001,
            warmup_epochs: 10.0,
        }
    }

    /// The small-run preset for CPUs and browsers: Adam at 1e-3, weight decay 1e-6, one
    /// warm-up epoch.
    pub fn small() -> Self {
        Self {
            kind: OptimizerKind::Adam,
            lr: 1e-3,
            warmup_epochs: 1.0,
            ..Self::paper()
        }
    }

    /// A family's usual settings: the paper's for LARS and SGD (rate 1.0 scaled by batch /
    /// 256, 10 warm-up epochs), the small runs' for Adam and AdamW (rate 1e-3, one warm-up
    /// epoch).
    pub fn usual(kind: OptimizerKind) -> Self {
        let base = if kind.scales_with_batch() {
            Self::paper()
        } else {
            Self::small()
        };
        Self { kind, ..base }
    }

    /// These settings with the optimiser switched to `kind`: unchanged for the same family,
    /// else that family's [`usual`](Self::usual) settings, since a rate or warm-up tuned for
    /// one family is no starting point for another (LARS's rate of 1.0 would blow Adam up,
    /// Adam's 1e-3 would leave LARS idle). The one home of this rule: flags, configuration
    /// files and the page all switch through it.
    pub fn switched_to(self, kind: OptimizerKind) -> Self {
        if kind == self.kind {
            self
        } else {
            Self::usual(kind)
        }
    }

    /// Rejects non-finite or out-of-range values.
    pub fn validate(&self) -> crate::error::Result<()> {
        use crate::error::{non_negative, positive, Error};
        Error::first_invalid([
            (
                positive(self.lr),
                "optimizer.lr",
                "must be a positive number",
            ),
            (
                non_negative(self.weight_decay),
                "optimizer.weight_decay",
                "must be a non-negative number",
            ),
            (
                (0.0..1.0).contains(&self.momentum),
                "optimizer.momentum",
                "must be in [0, 1)",
            ),
            (
                positive(self.trust_coefficient),
                "optimizer.trust_coefficient",
                "must be a positive number",
            ),
            (
                non_negative(self.warmup_epochs),
                "optimizer.warmup_epochs",
                "must be a non-negative number",
            ),
        ])
    }

    /// The learning rate at the top of the schedule for a batch size.
    pub fn peak_lr(&self, batch_size: usize) -> f64 {
        if self.kind.scales_with_batch() {
            self.lr * batch_size as f64 / 256.0
        } else {
            self.lr
        }
    }

    /// The configured optimiser for module `M`.
    pub fn init<B, M>(&self) -> ModuleOptimizer<B, M>
    where
        B: AutodiffBackend,
        M: AutodiffModule<B>,
    {
        let lars = LarsConfig::new()
            .with_momentum(self.momentum)
            .with_weight_decay(self.weight_decay)
            .with_trust_coefficient(self.trust_coefficient);
        match self.kind {
            OptimizerKind::Lars => ModuleOptimizer::Lars(lars.init()),
            OptimizerKind::Sgd => ModuleOptimizer::Lars(lars.with_adapt(false).init()),
            OptimizerKind::Adam => ModuleOptimizer::Adam(
                AdamConfig::new()
                    .with_weight_decay(Some(WeightDecayConfig::new(self.weight_decay as f32)))
                    .init(),
            ),
            OptimizerKind::Adamw => ModuleOptimizer::AdamW(
                AdamWConfig::new()
                    .with_weight_decay(self.weight_decay as f32)
                    .init(),
            ),
        }
    }
}

/// An optimiser of module `M`, whichever kind was configured: one type, so that trainers
/// and checkpoints need not be generic over it.
#[derive(Clone)]
pub enum ModuleOptimizer<B: AutodiffBackend, M: AutodiffModule<B>> {
    /// LARS, or SGD with momentum (LARS without adaptation).
    Lars(OptimizerAdaptor<Lars, M, B>),
    /// Adam with L2 weight decay.
    Adam(OptimizerAdaptor<Adam, M, B>),
    /// AdamW.
    AdamW(OptimizerAdaptor<AdamW, M, B>),
}

impl<B: AutodiffBackend, M: AutodiffModule<B>> ModuleOptimizer<B, M> {
    /// One update of `module` with learning rate `lr`.
    pub fn step(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        match self {
            ModuleOptimizer::Lars(o) => o.step(lr, module, grads),
            ModuleOptimizer::Adam(o) => o.step(lr, module, grads),
            ModuleOptimizer::AdamW(o) => o.step(lr, module, grads),
        }
    }

    /// The update every training task makes: the gradients of `loss` by a backward pass,
    /// then one step of `module` at rate `lr`.
    pub fn minimize(&mut self, lr: f64, module: M, loss: &Tensor<B, 1>) -> M {
        let grads = GradientsParams::from_grads(loss.backward(), &module);
        self.step(lr, module, grads)
    }

    /// The optimiser's state as a Burn record in bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        match self {
            ModuleOptimizer::Lars(o) => record_to_bytes::<B, _>(o.to_record()),
            ModuleOptimizer::Adam(o) => record_to_bytes::<B, _>(o.to_record()),
            ModuleOptimizer::AdamW(o) => record_to_bytes::<B, _>(o.to_record()),
        }
    }

    /// The optimiser with the state of [`Self::to_bytes`]'s output; `path` names the source
    /// in errors.
    pub fn load_bytes(self, bytes: Vec<u8>, device: &B::Device, path: &Path) -> Result<Self> {
        Ok(match self {
            ModuleOptimizer::Lars(o) => {
                ModuleOptimizer::Lars(
                    o.load_record(record_from_bytes::<B, _>(bytes, device, path)?),
                )
            }
            ModuleOptimizer::Adam(o) => {
                ModuleOptimizer::Adam(
                    o.load_record(record_from_bytes::<B, _>(bytes, device, path)?),
                )
            }
            ModuleOptimizer::AdamW(o) => ModuleOptimizer::AdamW(
                o.load_record(record_from_bytes::<B, _>(bytes, device, path)?),
            ),
        })
    }
}
