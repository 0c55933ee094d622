//! The library's error type: each variant says what a caller can do about it, and every
//! failure on a file names the file.

mod checkpoint;
mod kind;
mod peer;

pub use checkpoint::{CheckpointProblem, Recovery};
pub use kind::ErrorKind;
pub use peer::PeerFailure;
use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in the core library; [`Error::kind`] sorts the variants by
/// what the caller does next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O failure on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file whose contents are not what the format requires.
    #[error("{path}: {message}")]
    Format {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A checkpoint that cannot be used, and where the run can go on from.
    #[error("{}: {problem}{recovery}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        problem: CheckpointProblem,
        /// Where the run can go on from.
        recovery: Recovery,
    },
    /// A configuration file that does not describe a configuration: fix the file.
    #[error("{}: {message}", path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong (an unknown key, a value of the wrong type).
        message: String,
    },
    /// A fresh run into a folder that already holds one: resume it or choose another.
    #[error(
        "{} already holds {what}; pass --resume to continue it or choose another --run-dir",
        folder.display()
    )]
    RunExists {
        /// The run folder.
        folder: PathBuf,
        /// What it holds ("a run", "a supervised run").
        what: &'static str,
    },
    /// A setting whose value cannot be used: change the setting.
    #[error("invalid {setting}: {message}")]
    InvalidSetting {
        /// The setting, as the configuration file names it.
        setting: &'static str,
        /// What is wrong and what would do.
        message: String,
    },
    /// A name that is not one of the accepted ones.
    #[error("unknown {what} '{given}' (expected {expected})")]
    UnknownName {
        /// What kind of name (optimizer, backend, ...).
        what: &'static str,
        /// The name given.
        given: String,
        /// The accepted names.
        expected: String,
    },
    /// Data that cannot serve the requested work (no labels, no images, ...): use other
    /// data.
    #[error("{0}")]
    UnsuitableData(String),
    /// Training diverged: a loss that is not finite. Nothing after the last checkpoint was
    /// saved; a new run with gentler settings is the way on.
    #[error(
        "training diverged: the loss became {value} at step {step} (epoch {epoch}), and \
         checkpoints written before it are kept. Start a new run with a lower learning \
         rate (--lr), a longer warm-up (--warmup-epochs) or a higher temperature"
    )]
    Diverged {
        /// The epoch the step belongs to (1 = the first).
        epoch: usize,
        /// The first step whose loss was not finite (1 = the first).
        step: usize,
        /// The loss value.
        value: f32,
    },
    /// `--resume` with settings that define the run changed: resume with the run's own
    /// settings, or start a new run.
    #[error(
        "{path}: resuming would change settings that define this run ({}); resume with the \
         run's own settings or start a new run in another folder (these may change on resume: \
         {changeable})",
        changes.join(", ")
    )]
    ResumeChanged {
        /// The run's `config.json`.
        path: PathBuf,
        /// One "setting: saved → new" per difference.
        changes: Vec<String>,
        /// The settings that may change on resume.
        changeable: String,
    },
    /// Another process is training into this run folder (it holds the folder's lock): wait
    /// for it to end, stop it, or choose another folder.
    #[error(
        "{}: in use by {}; wait for that run to end or stop it, or choose another folder",
        folder.display(),
        holder.map_or("another process".to_string(), |pid| format!("process {pid}"))
    )]
    RunInUse {
        /// The run folder.
        folder: PathBuf,
        /// The process id the holder wrote into the lock file, when readable.
        holder: Option<u32>,
    },
    /// A data-parallel peer failed, or the collective between the peers did: every peer
    /// stopped; the run continues from its last checkpoint with the same command and
    /// `--resume`.
    #[error("peer {peer} of {peers}: {failure}")]
    Peer {
        /// The peer that reported the failure (0 = the one that writes the run folder).
        peer: usize,
        /// Peers in all.
        peers: usize,
        /// What went wrong.
        failure: PeerFailure,
    },
    /// Data-parallel peers whose weights differ after the same steps (a faulty device or a
    /// bug): nothing of that epoch was saved.
    #[error(
        "the peers' weights differ at the end of epoch {epoch} (weight hashes {}, in peer \
         order); nothing of that epoch was saved: resume from the last checkpoint",
        hashes.join(", ")
    )]
    PeersDiverged {
        /// The epoch that just ended (1 = the first).
        epoch: usize,
        /// Each peer's weight hash (a CRC-32 of every parameter's values), in hexadecimal.
        hashes: Vec<String>,
    },
    /// Serialising or encoding (JSON, records, PNG, weights) failed.
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why it failed.
        message: String,
    },
    /// A numerical method (t-SNE) failed on its input.
    #[error("{method} failed: {message}")]
    Numerical {
        /// The method.
        method: &'static str,
        /// Why it failed.
        message: String,
    },
    /// Reading a tensor back from the compute device failed.
    #[error("reading from the device failed: {0}")]
    Device(String),
    /// A compute backend that could not be started.
    #[error("backend {backend} is unavailable: {message}")]
    Backend {
        /// The backend's name.
        backend: String,
        /// Why it could not start.
        message: String,
    },
}

impl Error {
    /// An I/O error tagged with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A format error tagged with the path it concerns.
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A checkpoint problem at `path`, its recovery not yet assessed.
    pub fn checkpoint(path: impl Into<PathBuf>, problem: CheckpointProblem) -> Self {
        Error::Checkpoint {
            path: path.into(),
            problem,
            recovery: Recovery::NotAssessed,
        }
    }

    /// A setting that cannot be used.
    pub fn invalid(setting: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidSetting {
            setting,
            message: message.into(),
        }
    }

    /// The first of `checks` (holds, setting, what it must be) that does not hold, as
    /// [`Error::InvalidSetting`]: one shape for every configuration's validation.
    pub fn first_invalid<M: Into<String>>(
        checks: impl IntoIterator<Item = (bool, &'static str, M)>,
    ) -> Result<()> {
        match checks.into_iter().find(|(holds, _, _)| !holds) {
            Some((_, setting, what)) => Err(Error::invalid(setting, what)),
            None => Ok(()),
        }
    }

    /// An encoding failure.
    pub fn encode(what: &'static str, message: impl std::fmt::Display) -> Self {
        Error::Encode {
            what,
            message: message.to_string(),
        }
    }
}

/// Accepted names for an [`Error::UnknownName`]: "a, b or c".
pub fn one_of<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// A finite number above zero (NaN and infinities would be saved as JSON `null`).
pub fn positive(value: f64) -> bool {
    value.is_finite() && value > 0.0
}

/// A finite number, zero or above.
pub fn non_negative(value: f64) -> bool {
    value.is_finite() && value >= 0.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_names_with_or_before_the_last() {
        assert_eq!(super::one_of(["a", "b", "c"]), "a, b or c");
        assert_eq!(super::one_of(["a", "b"]), "a or b");
        assert_eq!(super::one_of(["a"]), "a");
    }
}
