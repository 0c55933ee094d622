//! Output files that cannot destroy data: an existing file is replaced only with `--force`,
//! nothing but training writes into a run's `checkpoints/` folder, and nothing writes into
//! a run folder while a run trains there.

use crate::exit::usage;
use anyhow::Result;
use simclr::train::run_dir::RunDir;
use simclr::train::run_lock::{acquire_enclosing, RunLock};
use std::path::Path;

/// Refuses `path` as an output unless writing it is safe; then [`claim`] it.
pub fn check_out(path: &Path, force: bool) -> Result<()> {
    if let Some(run) = RunDir::owning_checkpoints(path) {
        usage!(
            "{}: that is the checkpoints folder of the run in {}, which only training writes; \
             pick another --out",
            path.display(),
            run.root().display()
        );
    }
    if path.is_dir() {
        usage!("{} is a folder; --out takes a file name", path.display());
    }
    if path.exists() && !force {
        usage!(
            "{} already exists; pass --force to replace it",
            path.display()
        );
    }
    Ok(())
}

/// The locks of every run folder around output `path`, refused at once where a run trains
/// there; held until dropped, so that none starts while the output is written.
pub fn claim(path: &Path) -> Result<Vec<RunLock>> {
    Ok(acquire_enclosing(path)?)
}
