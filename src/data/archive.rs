//! The CIFAR-10 archive (`cifar-10-binary.tar.gz`) read as a stream: only the dataset's
//! own files are read, each capped at its format's size before its bytes are read, and
//! every other entry is skipped unread, so memory stays within the dataset's size
//! whatever the archive holds.

use crate::{Error, Result};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Largest `batches.meta.txt` read (the official one is 61 bytes).
const MAX_META_BYTES: u64 = 64 << 10;

/// The files of the archive that `wanted` accepts (by file name, returning the most bytes
/// that file may have), in archive order; `path` names the archive in errors.
pub fn read_entries(
    reader: impl Read,
    path: &Path,
    wanted: impl Fn(&str) -> Option<u64>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut reader = BufReader::new(reader);
    let head = reader
        .fill_buf()
        .map_err(|e| Error::format(path, format!("unreadable archive: {e}")))?;
    if head.len() < 2 || head[0] != 0x1f || head[1] != 0x8b {
        return Err(Error::format(path, "not a gzip archive"));
    }
    let corrupt =
        |e: std::io::Error| Error::format(path, format!("truncated or corrupt archive: {e}"));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in archive.entries().map_err(corrupt)? {
        let entry = entry.map_err(corrupt)?;
        let name = entry
            .path()
            .map_err(|e| Error::format(path, format!("bad entry name: {e}")))?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(cap) = wanted(&name).filter(|_| entry.header().entry_type().is_file()) else {
            continue;
        };
        if files.iter().any(|(n, _)| *n == name) {
            return Err(Error::format(path, format!("{name} appears twice")));
        }
        let size = entry.size();
        if size > cap {
            return Err(Error::format(
                path,
                format!("entry {name} has {size} bytes, more than its format allows ({cap})"),
            ));
        }
        let mut contents = Vec::with_capacity(size as usize);
        entry
            .take(cap)
            .read_to_end(&mut contents)
            .map_err(corrupt)?;
        files.push((name, contents));
    }
    Ok(files)
}

/// The most bytes CIFAR-10's file `name` may have, `None` for a file it does not use.
pub fn cifar_file_cap(name: &str) -> Option<u64> {
    use super::cifar::{BATCH_RECORDS, RECORD, TEST_FILE, TRAIN_FILES};
    if TRAIN_FILES.contains(&name) || name == TEST_FILE {
        Some((BATCH_RECORDS * RECORD) as u64)
    } else if name == "batches.meta.txt" {
        Some(MAX_META_BYTES)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::tar_gz;

    #[test]
    fn only_dataset_files_are_read_each_within_its_cap() {
        let big = vec![7u8; 1 << 20];
        let archive = tar_gz(&[
            ("README", big.clone()),
            ("data_batch_1.bin", vec![1; 10]),
            ("batches.meta.txt", b"cat\n".to_vec()),
        ]);
        let files = read_entries(archive.as_slice(), Path::new("a.tar.gz"), cifar_file_cap);
        let names: Vec<String> = files.unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["data_batch_1.bin", "batches.meta.txt"]);

        let archive = tar_gz(&[("batches.meta.txt", big)]);
        let err = read_entries(archive.as_slice(), Path::new("a.tar.gz"), cifar_file_cap);
        let err = err.unwrap_err().to_string();
        assert!(
            err.contains("a.tar.gz: entry batches.meta.txt has 1048576 bytes, more than"),
            "{err}"
        );
        let archive = tar_gz(&[("test_batch.bin", vec![1]), ("test_batch.bin", vec![2])]);
        let err = read_entries(archive.as_slice(), Path::new("a.tar.gz"), cifar_file_cap);
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("test_batch.bin appears twice"));
    }
}
