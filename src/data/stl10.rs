//! STL-10's binary format: 96×96 images as three column-major planes, labels 1–10 in
//! separate files. The 100,000 unlabeled images are memory-mapped, never decoded at once.

use super::split::{Bytes, Pixels};
use super::{Dataset, Normalization, Split};
use crate::io::input::{open_regular, read_up_to};
use crate::{Error, Result};
use std::path::Path;
use std::sync::Arc;

/// Image side length.
pub const SIDE: usize = 96;
const IMAGE_BYTES: usize = 3 * SIDE * SIDE;
const CLASSES: [&str; 10] = [
    "airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck",
];

const WHAT: &str = "the STL-10 .bin files";

/// The labels of `count` images from `path`, its size checked before anything is read.
fn read_labels(path: &Path, count: usize) -> Result<Vec<u8>> {
    let (file, len) = open_regular(path, WHAT)?;
    if len != count as u64 {
        return Err(Error::format(
            path,
            format!("{len} labels for {count} images"),
        ));
    }
    parse_labels(&read_up_to(file, len, path)?, count, path)
}

fn open(path: &Path) -> Result<Bytes> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let (file, _) = open_regular(path, WHAT)?;
        // SAFETY: the mapping is read-only; the dataset files are not modified while we run.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        Ok(Bytes::Mapped(Arc::new(map)))
    }
    #[cfg(target_arch = "wasm32")]
    {
        Err(Error::format(
            path,
            "files are read through the browser in WebAssembly",
        ))
    }
}

/// Checks an images file's size and returns its image count.
pub fn image_count(len: usize, path: &Path) -> Result<usize> {
    if len == 0 || !len.is_multiple_of(IMAGE_BYTES) {
        return Err(Error::format(
            path,
            format!("size {len} bytes is not a positive multiple of the STL-10 image size {IMAGE_BYTES}"),
        ));
    }
    Ok(len / IMAGE_BYTES)
}

/// Labels 1–10 from a `*_y.bin` file, shifted to 0–9.
pub fn parse_labels(bytes: &[u8], expected: usize, path: &Path) -> Result<Vec<u8>> {
    if bytes.len() != expected {
        return Err(Error::format(
            path,
            format!("{} labels for {expected} images", bytes.len()),
        ));
    }
    bytes
        .iter()
        .enumerate()
        .map(|(i, &l)| match l {
            1..=10 => Ok(l - 1),
            _ => Err(Error::format(
                path,
                format!("label {i} is {l}, outside 1..=10"),
            )),
        })
        .collect()
}

fn labelled(dir: &Path, stem: &str) -> Result<(Bytes, Vec<u8>)> {
    let x_path = dir.join(format!("{stem}_X.bin"));
    let y_path = dir.join(format!("{stem}_y.bin"));
    let images = open(&x_path)?;
    let count = image_count(bytes_len(&images), &x_path)?;
    Ok((images, read_labels(&y_path, count)?))
}

fn bytes_len(bytes: &Bytes) -> usize {
    match bytes {
        Bytes::Owned(v) => v.len(),
        #[cfg(not(target_arch = "wasm32"))]
        Bytes::Mapped(m) => m.len(),
    }
}

/// A dataset from in-memory STL-10 pieces (browser uploads): images and labels per split.
pub fn from_parts(
    train: Option<(Vec<u8>, Vec<u8>)>,
    test: Option<(Vec<u8>, Vec<u8>)>,
    unlabeled: Option<Vec<u8>>,
    origin: &Path,
) -> Result<Dataset> {
    let mut train_split = Split::empty(SIDE, SIDE);
    let mut test_split = Split::empty(SIDE, SIDE);
    for (target, part, name) in [
        (&mut train_split, train, "train"),
        (&mut test_split, test, "test"),
    ] {
        if let Some((x, y)) = part {
            let count = image_count(x.len(), &origin.join(format!("{name}_X.bin")))?;
            let labels = parse_labels(&y, count, &origin.join(format!("{name}_y.bin")))?;
            target.push(Pixels::ColumnMajor(Bytes::Owned(Arc::new(x))), Some(labels));
        }
    }
    if let Some(x) = unlabeled {
        image_count(x.len(), &origin.join("unlabeled_X.bin"))?;
        train_split.push(Pixels::ColumnMajor(Bytes::Owned(Arc::new(x))), None);
    }
    Ok(dataset(train_split, test_split))
}

fn dataset(train: Split, test: Split) -> Dataset {
    Dataset {
        name: "stl10".into(),
        train,
        test,
        classes: CLASSES.map(String::from).to_vec(),
        normalization: Normalization::stl10(),
    }
}

/// Loads STL-10 from its folder: `train_X.bin`/`train_y.bin` and `test_X.bin`/`test_y.bin`
/// are required; `unlabeled_X.bin` joins the training split when present.
pub fn load(dir: &Path) -> Result<Dataset> {
    if !dir.is_dir() {
        return Err(Error::format(
            dir,
            "expected the STL-10 folder (stl10_binary)",
        ));
    }
    let (train_x, train_y) = labelled(dir, "train")?;
    let (test_x, test_y) = labelled(dir, "test")?;
    let mut train = Split::empty(SIDE, SIDE);
    train.push(Pixels::ColumnMajor(train_x), Some(train_y));
    let unlabeled_path = dir.join("unlabeled_X.bin");
    if unlabeled_path.exists() {
        let unlabeled = open(&unlabeled_path)?;
        image_count(bytes_len(&unlabeled), &unlabeled_path)?;
        train.push(Pixels::ColumnMajor(unlabeled), None);
    }
    let mut test = Split::empty(SIDE, SIDE);
    test.push(Pixels::ColumnMajor(test_x), Some(test_y));
    Ok(dataset(train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }

    #[test]
    fn loads_a_tiny_stl_folder() {
        let dir = tempfile::tempdir().unwrap();
        let mut image = vec![0u8; IMAGE_BYTES];
        image[1] = 200; // column-major: x = 0, y = 1
        write(
            dir.path(),
            "train_X.bin",
            &[image.clone(), image.clone()].concat(),
        );
        write(dir.path(), "train_y.bin", &[1, 10]);
        write(dir.path(), "test_X.bin", &image);
        write(dir.path(), "test_y.bin", &[5]);
        write(dir.path(), "unlabeled_X.bin", &image.repeat(3));
        let data = load(dir.path()).unwrap();
        assert_eq!(data.train.len(), 5);
        assert_eq!(data.train.label(1), Some(9));
        assert_eq!(data.train.label(4), None);
        let mut out = vec![0; IMAGE_BYTES];
        data.test.copy_image(0, &mut out);
        assert_eq!(out[SIDE], 200, "row 1, column 0 after transposition");
        assert_eq!(data.test.labels(), Some(vec![4]));
    }

    #[test]
    fn malformed_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "train_X.bin", &vec![0u8; IMAGE_BYTES + 1]);
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("train_X.bin: size"), "{err}");
        write(dir.path(), "train_X.bin", &vec![0u8; IMAGE_BYTES]);
        write(dir.path(), "train_y.bin", &[0]);
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("train_y.bin: label 0 is 0, outside 1..=10"),
            "{err}"
        );
        write(dir.path(), "train_y.bin", &[1, 2]);
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("train_y.bin: 2 labels for 1 images"), "{err}");
        // A label file far too large is refused from its size, without reading it.
        let huge = std::fs::File::create(dir.path().join("train_y.bin")).unwrap();
        huge.set_len(1 << 40).unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("train_y.bin: 1099511627776 labels for 1 images"),
            "{err}"
        );
        // Folders (and FIFOs, which would block) are not data files.
        std::fs::remove_file(dir.path().join("train_y.bin")).unwrap();
        std::fs::create_dir(dir.path().join("train_y.bin")).unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("train_y.bin: not a regular file"), "{err}");
        std::fs::remove_dir(dir.path().join("train_y.bin")).unwrap();
        if crate::test_support::make_fifo(&dir.path().join("train_y.bin")) {
            let err = load(dir.path()).unwrap_err().to_string();
            assert!(err.contains("train_y.bin: not a regular file"), "{err}");
            std::fs::remove_file(dir.path().join("train_y.bin")).unwrap();
        }
        write(dir.path(), "train_y.bin", &[1]);
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("test_X.bin"), "{err}");
    }
}
