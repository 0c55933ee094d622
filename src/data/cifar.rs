//! CIFAR-10's binary format: records of one label byte and 3,072 pixel bytes
//! (1,024 R, then G, then B, each plane row-major), five training batches and a test batch.

use super::{Dataset, Normalization, Split};
use crate::io::input::{open_regular, read_up_to};
use crate::{Error, Result};
use std::path::Path;

/// Image side length.
pub const SIDE: usize = 32;
/// Bytes in one record.
pub const RECORD: usize = 1 + 3 * SIDE * SIDE;
/// The training batch file names, in order.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test batch file name.
pub const TEST_FILE: &str = "test_batch.bin";
/// Records in an official batch file, the most a batch file is read with.
pub const BATCH_RECORDS: usize = 10_000;
const MAX_BATCH_BYTES: u64 = (BATCH_RECORDS * RECORD) as u64;
/// The largest archive read (the official `cifar-10-binary.tar.gz` is 162 MB).
const MAX_ARCHIVE_BYTES: u64 = 256 << 20;
const DEFAULT_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Pixels and labels of one batch file's bytes; `path` names the file in errors.
pub fn parse_batch(bytes: &[u8], path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        return Err(Error::format(
            path,
            format!(
                "size {} bytes is not a positive multiple of the CIFAR-10 record size {RECORD}",
                bytes.len()
            ),
        ));
    }
    let count = bytes.len() / RECORD;
    let mut pixels = Vec::with_capacity(count * (RECORD - 1));
    let mut labels = Vec::with_capacity(count);
    for (i, record) in bytes.chunks_exact(RECORD).enumerate() {
        if record[0] > 9 {
            return Err(Error::format(
                path,
                format!("record {i} has label {}, outside 0..=9", record[0]),
            ));
        }
        labels.push(record[0]);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok((pixels, labels))
}

/// A split made of batch files' bytes, in the order given.
pub fn split_from_batches(batches: &[(Vec<u8>, std::path::PathBuf)]) -> Result<Split> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (bytes, path) in batches {
        let (p, l) = parse_batch(bytes, path)?;
        pixels.extend(p);
        labels.extend(l);
    }
    Ok(Split::from_row_major(pixels, Some(labels), SIDE, SIDE))
}

fn dataset(train: Split, test: Split, meta: Option<&str>) -> Dataset {
    let classes: Vec<String> = meta
        .map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        })
        .filter(|names: &Vec<String>| names.len() == 10)
        .unwrap_or_else(|| DEFAULT_CLASSES.map(String::from).to_vec());
    Dataset {
        name: "cifar10".into(),
        train,
        test,
        classes,
        normalization: Normalization::cifar10(),
    }
}

/// Opens `path` if it is a regular file of at most `max_bytes`, checked from its size
/// before anything is read.
fn open_capped(path: &Path, max_bytes: u64) -> Result<(std::fs::File, u64)> {
    let (file, len) = open_regular(path, "the CIFAR-10 batch files or archive")?;
    if len > max_bytes {
        return Err(Error::format(
            path,
            format!("size {len} bytes is more than a CIFAR-10 file can be ({max_bytes} bytes)"),
        ));
    }
    Ok((file, len))
}

/// Reads a batch file, its size checked first.
fn read(path: &Path) -> Result<Vec<u8>> {
    let (file, len) = open_capped(path, MAX_BATCH_BYTES)?;
    read_up_to(file, len, path)
}

/// Loads CIFAR-10 from the folder of batch files, the `.tar.gz` archive, or one `.bin`
/// batch (which becomes the training split; the test split is then empty).
pub fn load(path: &Path) -> Result<Dataset> {
    if path.is_dir() {
        load_folder(path)
    } else if is_archive(path) {
        load_archive(open_capped(path, MAX_ARCHIVE_BYTES)?.0, path)
    } else {
        let train = split_from_batches(&[(read(path)?, path.to_path_buf())])?;
        Ok(dataset(train, Split::empty(SIDE, SIDE), None))
    }
}

/// Whether a path names a gzip archive.
pub fn is_archive(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

fn load_folder(dir: &Path) -> Result<Dataset> {
    let batch = |name: &str| -> Result<(Vec<u8>, std::path::PathBuf)> {
        let path = dir.join(name);
        Ok((read(&path)?, path))
    };
    let train: Vec<_> = TRAIN_FILES
        .iter()
        .map(|n| batch(n))
        .collect::<Result<_>>()?;
    let test = batch(TEST_FILE)?;
    let meta_path = dir.join("batches.meta.txt");
    // Optional, and never a FIFO to wait on.
    let meta = meta_path
        .is_file()
        .then(|| std::fs::read_to_string(&meta_path).ok())
        .flatten();
    Ok(dataset(
        split_from_batches(&train)?,
        split_from_batches(&[test])?,
        meta.as_deref(),
    ))
}

/// Loads the official `cifar-10-binary.tar.gz`, streamed from `reader` (the file, or a
/// browser upload's bytes).
pub fn load_archive(reader: impl std::io::Read, path: &Path) -> Result<Dataset> {
    let files = super::archive::read_entries(reader, path, super::archive::cifar_file_cap)?;
    from_named_files(files, path)
}

/// A dataset from named batch files (as a browser's file picker delivers them);
/// `origin` names their source in errors.
pub fn from_named_files(mut files: Vec<(String, Vec<u8>)>, origin: &Path) -> Result<Dataset> {
    let mut take = |name: &str| -> Option<(Vec<u8>, std::path::PathBuf)> {
        let pos = files.iter().position(|(n, _)| n == name)?;
        let (n, bytes) = files.swap_remove(pos);
        Some((bytes, origin.join(n)))
    };
    let train: Vec<_> = TRAIN_FILES.iter().filter_map(|n| take(n)).collect();
    let test: Vec<_> = take(TEST_FILE).into_iter().collect();
    let meta = take("batches.meta.txt").and_then(|(b, _)| String::from_utf8(b).ok());
    if train.is_empty() && test.is_empty() {
        return Err(Error::format(
            origin,
            "no CIFAR-10 batch files (data_batch_1.bin ... test_batch.bin) found",
        ));
    }
    let train_split = if train.is_empty() {
        Split::empty(SIDE, SIDE)
    } else {
        split_from_batches(&train)?
    };
    let test_split = if test.is_empty() {
        Split::empty(SIDE, SIDE)
    } else {
        split_from_batches(&test)?
    };
    Ok(dataset(train_split, test_split, meta.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(label: u8, fill: u8) -> Vec<u8> {
        let mut r = vec![fill; RECORD];
        r[0] = label;
        r
    }

    #[test]
    fn parses_records() {
        let bytes: Vec<u8> = [record(3, 7), record(9, 8)].concat();
        let (pixels, labels) = parse_batch(&bytes, Path::new("b.bin")).unwrap();
        assert_eq!(labels, vec![3, 9]);
        assert_eq!(pixels.len(), 2 * 3072);
        assert_eq!(pixels[3072], 8);
    }

    #[test]
    fn rejects_bad_sizes_and_labels() {
        let err = parse_batch(&vec![0; RECORD + 5], Path::new("short.bin")).unwrap_err();
        assert!(
            err.to_string()
                .contains("short.bin: size 3078 bytes is not a positive multiple"),
            "{err}"
        );
        let err = parse_batch(&[], Path::new("empty.bin")).unwrap_err();
        assert!(err.to_string().contains("empty.bin"), "{err}");
        let bytes = [record(1, 0), record(12, 0)].concat();
        let err = parse_batch(&bytes, Path::new("bad.bin")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad.bin: record 1 has label 12, outside 0..=9"
        );
    }

    #[test]
    fn oversized_files_folders_and_fifos_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let huge = std::fs::File::create(dir.path().join("data_batch_1.bin")).unwrap();
        huge.set_len(1 << 40).unwrap();
        let err = load(&dir.path().join("data_batch_1.bin"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("data_batch_1.bin: size 1099511627776 bytes is more than"),
            "{err}"
        );
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("data_batch_1.bin: size 1099511627776"),
            "{err}"
        );
        std::fs::remove_file(dir.path().join("data_batch_1.bin")).unwrap();
        std::fs::create_dir(dir.path().join("data_batch_1.bin")).unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("data_batch_1.bin: not a regular file"),
            "{err}"
        );
        if crate::test_support::make_fifo(&dir.path().join("fifo.bin")) {
            let err = load(&dir.path().join("fifo.bin")).unwrap_err().to_string();
            assert!(err.contains("fifo.bin: not a regular file"), "{err}");
        }
    }

    #[test]
    fn folder_errors_name_the_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("data_batch_1.bin"), record(0, 0)).unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("data_batch_2.bin"), "{err}");
    }

    #[test]
    fn reads_archives_and_rejects_broken_ones() {
        let mut files: Vec<(&str, Vec<u8>)> =
            TRAIN_FILES.iter().map(|n| (*n, record(1, 5))).collect();
        files.push((TEST_FILE, [record(2, 6), record(3, 6)].concat()));
        let archive = crate::test_support::tar_gz(&files);
        let data = load_archive(archive.as_slice(), Path::new("c.tar.gz")).unwrap();
        assert_eq!(data.train.len(), 5);
        assert_eq!(data.test.labels(), Some(vec![2, 3]));
        assert_eq!(data.classes[0], "airplane");

        let err = load_archive(&b"plain text"[..], Path::new("x.tar.gz")).unwrap_err();
        assert_eq!(err.to_string(), "x.tar.gz: not a gzip archive");
        let err =
            load_archive(&archive[..archive.len() / 2], Path::new("half.tar.gz")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("half.tar.gz: truncated or corrupt"),
            "{err}"
        );
    }

    #[test]
    #[ignore = "real CIFAR-10 from SIMCLR_CIFAR10_DIR: scripts/test.sh runs it (--ignored real_cifar10)"]
    fn real_cifar10_loads_whole() {
        let dir = crate::test_support::cifar10_dir();
        let data = load(&dir).unwrap();
        assert_eq!(data.train.len(), 50_000);
        assert_eq!(data.test.len(), 10_000);
        assert_eq!(data.classes[9], "truck");
        let counts = data
            .test
            .labels()
            .unwrap()
            .iter()
            .fold([0; 10], |mut c, &l| {
                c[l as usize] += 1;
                c
            });
        assert_eq!(counts, [1000; 10]);
    }
}
