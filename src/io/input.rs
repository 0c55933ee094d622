//! Dataset files opened safely: a folder, FIFO or device is refused before it is opened
//! (opening a FIFO waits for a writer), and sizes are known before anything is allocated.

use crate::{Error, Result};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Opens `path` if it is a regular file, with its size; `what` says what to give instead
/// (e.g. "the CIFAR-10 batch files").
pub fn open_regular(path: &Path, what: &str) -> Result<(File, u64)> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::format(
            path,
            format!("not a regular file (a folder, FIFO or device); give {what}"),
        ));
    }
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok((file, meta.len()))
}

/// The first `len` bytes of `file` (all of it, once its size was checked against `len`;
/// no more should it grow meanwhile).
pub fn read_up_to(file: File, len: u64, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(len)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}
