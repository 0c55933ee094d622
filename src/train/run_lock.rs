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

/// The locks of every run folder enclosing `path` (each ancestor holding a [`LOCK_FILE`]),
/// for a command that writes `path` there (`export`, `embed`): held while it writes, so a
/// folder that a run is training into refuses the write at once ([`Error::RunInUse`]),
/// and a run cannot start there meanwhile. Reading a run needs no lock.
pub fn acquire_enclosing(path: &Path) -> Result<Vec<RunLock>> {
    let absolute = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
    let mut held = Vec::new();
    for dir in absolute.ancestors().skip(1) {
        if dir.join(LOCK_FILE).is_file() {
            held.push(RunLock::acquire(dir)?);
        }
    }
    Ok(held)
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

    #[test]
    fn a_write_inside_a_folder_in_use_is_refused_and_one_outside_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("study");
        let inner = root.join("pretrain");
        let outer = RunLock::acquire(&root).unwrap();
        let run = RunLock::acquire(&inner).unwrap();
        drop(run);
        let out = inner.join("features").join("h.npy");
        match acquire_enclosing(&out) {
            Err(Error::RunInUse { folder, .. }) => assert_eq!(folder, root),
            other => panic!("expected the study's folder in use, got {other:?}"),
        }
        assert!(acquire_enclosing(&dir.path().join("h.npy"))
            .unwrap()
            .is_empty());
        drop(outer);
        let held = acquire_enclosing(&out).unwrap();
        assert_eq!(held.len(), 2, "the run's folder and the study's");
        assert!(matches!(
            RunLock::acquire(&inner),
            Err(Error::RunInUse { .. })
        ));
    }
}
