//! The worker's errors: the core's, and the ones only a page can run into. The page shows
//! their text, which says what to do.

/// Everything that can stop a worker command.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The core library failed (bad settings, divergence, a device read-back, ...).
    #[error(transparent)]
    Core(#[from] simclr::Error),
    /// Dropped or picked data files that are not a dataset the core reads.
    #[error("{0}. Pick the official binary files of CIFAR-10 or STL-10.")]
    Data(#[source] simclr::Error),
    /// A weights file that is not an encoder.
    #[error("{0}. Pick a .safetensors file written by `simclr export` or by this page.")]
    Weights(#[source] simclr::Error),
    /// Loaded weights that do not fit the settings of a run that continues from them.
    #[error(
        "{file} has width {have_width} and the {have_stem} stem, the settings ask for width \
         {want_width} and the {want_stem} stem: set width and stem to match to continue \
         training it"
    )]
    EncoderMismatch {
        /// The weights file.
        file: String,
        /// Its width.
        have_width: usize,
        /// Its stem.
        have_stem: &'static str,
        /// The settings' width.
        want_width: usize,
        /// The settings' stem.
        want_stem: &'static str,
    },
    /// A command that needs an earlier step: the text names it.
    #[error("{0}")]
    NotReady(&'static str),
    /// The page went away.
    #[error("the page closed the worker")]
    PageClosed,
}
