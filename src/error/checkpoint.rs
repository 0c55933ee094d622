//! What is wrong with a checkpoint, and where a run can go on from: sub-kinds a caller
//! tells apart by variant (the run folder names an intact copy only for damage).

use std::path::PathBuf;

/// Why a checkpoint cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointProblem {
    /// Not a simclr checkpoint at all.
    #[error("not a simclr checkpoint")]
    NotACheckpoint,
    /// Written by a newer format than this build reads.
    #[error("checkpoint format {0} is not supported")]
    UnsupportedFormat(u32),
    /// Shorter than its own sections say.
    #[error("truncated checkpoint")]
    Truncated,
    /// Its checksum does not match its contents.
    #[error("damaged checkpoint: its checksum does not match its contents")]
    Damaged,
    /// A section (model or optimiser record, training state, shape signature) that does
    /// not decode.
    #[error("unreadable {section}: {message}")]
    Unreadable {
        /// Which section.
        section: &'static str,
        /// The decoder's complaint.
        message: String,
    },
    /// A model of another shape than this run's settings make.
    #[error("holds a model of another shape ({difference}); it belongs to another run")]
    ForeignModel {
        /// The first parameter that differs, both ways.
        difference: String,
    },
    /// A position past the end this run planned.
    #[error(
        "holds step {step}, past this run's {planned} planned steps; it belongs to another run"
    )]
    PastThePlan {
        /// The checkpoint's step.
        step: usize,
        /// This run's planned steps.
        planned: usize,
    },
}

impl CheckpointProblem {
    /// Whether the file itself is damaged (as opposed to belonging to another run): only
    /// then is a kept copy worth looking for.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            Self::NotACheckpoint
                | Self::UnsupportedFormat(_)
                | Self::Truncated
                | Self::Damaged
                | Self::Unreadable { .. }
        )
    }
}

/// Where a run with an unusable `last.ckpt` can go on from.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Recovery {
    /// Not looked into (a checkpoint outside a run folder, or not damaged).
    #[default]
    NotAssessed,
    /// A kept copy that reads back whole.
    IntactCopy {
        /// Its epoch.
        epoch: usize,
        /// The copy.
        copy: PathBuf,
    },
    /// No kept copy is intact.
    StartAgain,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recovery::NotAssessed => Ok(()),
            Recovery::IntactCopy { epoch, copy } => write!(
                f,
                "; {} (epoch {epoch}) is intact: copy it over last.ckpt to resume from it",
                copy.display()
            ),
            Recovery::StartAgain => {
                f.write_str("; no kept copy in checkpoints/ is intact: start the run again")
            }
        }
    }
}
