//! Why a data-parallel peer stopped, told apart by variant: the driver reports the first
//! peer whose failure is not [`PeerFailure::StoppedByAnother`].

/// Why a peer of a data-parallel run stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerFailure {
    /// Another peer failed first, and this one stopped with it: not the cause.
    #[error(
        "another peer stopped, so this one did (continue the run with the same command and \
         --resume; with several machines, restart the coordinator and every node)"
    )]
    StoppedByAnother,
    /// The link between the nodes failed.
    #[error("the link to the other nodes failed: {0}")]
    Link(String),
    /// The collective failed otherwise.
    #[error("the collective failed: {0}")]
    Collective(String),
    /// The peer's own work panicked.
    #[error(
        "stopped ({0}); if another peer or node died or lost its link, restart the \
         coordinator (with several machines) and every node with --resume"
    )]
    Panicked(String),
    /// The coordinator did not answer in time.
    #[error(
        "cannot reach the coordinator at {address} ({cause}) after {seconds} s; is `simclr \
         coordinator` running there and the port open?"
    )]
    CoordinatorUnreachable {
        /// Its address.
        address: String,
        /// The last connection error.
        cause: String,
        /// How long this node tried.
        seconds: u64,
    },
    /// A peer started with other settings than peer 0.
    #[error(
        "peer {peer} was started with other settings ({setting}: {theirs} there, {first} on \
         peer 0); start every node with the same settings and data"
    )]
    OtherSettings {
        /// The peer whose settings differ.
        peer: usize,
        /// The first setting that differs.
        setting: &'static str,
        /// Its value there.
        theirs: u64,
        /// Its value on peer 0.
        first: u64,
    },
}
