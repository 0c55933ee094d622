//! Output files that cannot destroy data: an existing file is replaced only with `--force`,
//! and nothing but training writes into a run's `checkpoints/` folder.

use anyhow::{bail, Result};
use simclr::train::run_dir::RunDir;
use std::path::Path;

/// Refuses `path` as an output unless writing it is safe.
pub fn check_out(path: &Path, force: bool) -> Result<()> {
    if let Some(run) = RunDir::owning_checkpoints(path) {
        bail!(
            "{}: that is the checkpoints folder of the run in {}, which only training writes; \
             pick another --out",
            path.display(),
            run.root().display()
        );
    }
    if path.is_dir() {
        bail!("{} is a folder; --out takes a file name", path.display());
    }
    if path.exists() && !force {
        bail!(
            "{} already exists; pass --force to replace it",
            path.display()
        );
    }
    Ok(())
}
