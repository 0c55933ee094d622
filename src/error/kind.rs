//! The outcome classes of [`Error`]: what the caller does next, and the CLI's exit code
//! for each (documented in the README).

use super::Error;

/// What kind of failure an [`Error`] is, by what its caller does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A setting, a name or a configuration file to change.
    Settings,
    /// Input data (a dataset, a weights file, a file to read or write) to fix or replace.
    Data,
    /// A run folder or checkpoint: in use, already there, missing or damaged.
    RunFolder,
    /// A compute device or backend that did not start or failed.
    Device,
    /// A run that stopped before its end (a peer failed, training diverged); what was
    /// saved stays and most go on with `--resume`.
    Interrupted,
    /// A failure of this program (encoding, a numerical method).
    Internal,
}

impl ErrorKind {
    /// The process exit status the CLI ends with: 2 for settings as for usage errors
    /// (clap's), then one per kind; 1 for the rest.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Settings => 2,
            ErrorKind::Data => 3,
            ErrorKind::RunFolder => 4,
            ErrorKind::Device => 5,
            ErrorKind::Interrupted => 6,
            ErrorKind::Internal => 1,
        }
    }
}

impl Error {
    /// This error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidSetting { .. }
            | Error::UnknownName { .. }
            | Error::ConfigFile { .. }
            | Error::ResumeChanged { .. } => ErrorKind::Settings,
            Error::Io { .. } | Error::Format { .. } | Error::UnsuitableData(_) => ErrorKind::Data,
            Error::Checkpoint { .. } | Error::RunInUse { .. } | Error::RunExists { .. } => {
                ErrorKind::RunFolder
            }
            Error::Device(_) | Error::Backend { .. } => ErrorKind::Device,
            Error::Peer { .. } | Error::PeersDiverged { .. } | Error::Diverged { .. } => {
                ErrorKind::Interrupted
            }
            Error::Encode { .. } | Error::Numerical { .. } => ErrorKind::Internal,
        }
    }
}
