//! Optimisers (LARS, SGD with momentum, Adam, AdamW) and the learning-rate schedule.

pub mod lars;
pub mod schedule;

pub use lars::{Lars, LarsConfig};
pub use schedule::Schedule;

use burn::module::AutodiffModule;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, AdamWConfig, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

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
            other => Err(crate::Error::Config(format!(
                "unknown optimizer '{other}' (expected lars, sgd, adam or adamw)"
            ))),
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

    /// The learning rate at the top of the schedule for a batch size.
    pub fn peak_lr(&self, batch_size: usize) -> f64 {
        if self.kind.scales_with_batch() {
            self.lr * batch_size as f64 / 256.0
        } else {
            self.lr
        }
    }

    /// Hands the configured optimiser to `task`.
    pub fn with_optimizer<B, M, T>(&self, task: T) -> T::Output
    where
        B: AutodiffBackend,
        M: AutodiffModule<B> + 'static,
        T: OptimizerTask<B, M>,
    {
        let lars = LarsConfig::new()
            .with_momentum(self.momentum)
            .with_weight_decay(self.weight_decay)
            .with_trust_coefficient(self.trust_coefficient);
        match self.kind {
            OptimizerKind::Lars => task.run(lars.init::<B, M>()),
            OptimizerKind::Sgd => task.run(lars.with_adapt(false).init::<B, M>()),
            OptimizerKind::Adam => task.run(
                AdamConfig::new()
                    .with_weight_decay(Some(WeightDecayConfig::new(self.weight_decay as f32)))
                    .init::<B, M>(),
            ),
            OptimizerKind::Adamw => task.run(
                AdamWConfig::new()
                    .with_weight_decay(self.weight_decay as f32)
                    .init::<B, M>(),
            ),
        }
    }
}

/// Work generic over the optimiser type.
pub trait OptimizerTask<B: AutodiffBackend, M: AutodiffModule<B>> {
    /// What the work returns.
    type Output;
    /// Runs with optimiser `optim`.
    fn run<O: Optimizer<M, B> + 'static>(self, optim: O) -> Self::Output;
}
