//! Linear warm-up then cosine decay, per step.

use serde::{Deserialize, Serialize};

/// The learning rate of every step of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Peak learning rate.
    pub peak: f64,
    /// Warm-up steps.
    pub warmup_steps: usize,
    /// All steps of the run.
    pub total_steps: usize,
}

impl Schedule {
    /// The rate at step `step` (0-based): `peak · (step + 1) / warmup` during warm-up, then
    /// `peak · ½(1 + cos(π · progress))` down to 0 at the last step.
    pub fn lr(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.peak * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let decay_steps = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let progress = ((step - self.warmup_steps) as f64 / decay_steps as f64).min(1.0);
        self.peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays() {
        let s = Schedule {
            peak: 2.0,
            warmup_steps: 4,
            total_steps: 14,
        };
        assert_eq!(s.lr(0), 0.5);
        assert_eq!(s.lr(3), 2.0);
        assert_eq!(s.lr(4), 2.0);
        assert!((s.lr(9) - 1.0).abs() < 1e-12);
        assert!(s.lr(13) < 0.1 && s.lr(13) > 0.0);
        let lrs: Vec<f64> = (4..14).map(|i| s.lr(i)).collect();
        assert!(lrs.windows(2).all(|w| w[1] < w[0]));
    }
}
