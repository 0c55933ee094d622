//! One owner per run folder: whatever trains into a folder (pretraining, the supervised
//! baseline, the study) holds an exclusive lock on its `.lock` file for as long as it
//! runs, so a second process that would write there refuses at once instead of writing
//! the same checkpoints and metrics. The operating system's file lock (`flock`) goes with
//! the process: a killed run leaves no stale lock, and `--resume` takes over at once.

use crate::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// The lock file's name inside a run folder.
pub const LOCK_FILE: &str = ".lock";

/// A held run-folder lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock of folder `root` (created if missing) and writes this process's id
    /// into it, or fails at once with [`Error::RunInUse`] naming the process that holds it.
    pub fn acquire(root: &Path) -> Result<RunLock> {
        std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        let path = root.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::RunInUse {
                    folder: root.to_path_buf(),
                    holder: holder(&mut file),
                })
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        write_pid(&mut file).map_err(|e| Error::io(&path, e))?;
        Ok(RunLock { _file: file })
    }
}

/// The process id the holder wrote, if it did.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("run");
        let first = RunLock::acquire(&root).unwrap();
        let pid = std::fs::read_to_string(root.join(LOCK_FILE)).unwrap();
        assert_eq!(pid.trim(), std::process::id().to_string());
        // A second open file description conflicts with the first, in one process too.
        match RunLock::acquire(&root) {
            Err(Error::RunInUse { folder, holder }) => {
                assert_eq!(folder, root);
                assert_eq!(holder, Some(std::process::id()));
            }
            other => panic!("expected RunInUse, got {other:?}"),
        }
        drop(first);
        RunLock::acquire(&root).expect("free again once the first lock is dropped");
    }
}
