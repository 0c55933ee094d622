//! Datasets from files handed over by name and bytes, as a browser's file picker or drag
//! and drop delivers them: the CIFAR-10 archive, CIFAR-10 batch files, or STL-10 files.

use super::{cifar, stl10, Dataset};
use crate::{Error, Result};
use std::path::Path;

/// Where uploaded files come from, in error messages.
const ORIGIN: &str = "uploaded files";

/// The dataset in `files` (`(file name, bytes)`): one `.tar.gz` CIFAR-10 archive, CIFAR-10
/// batch files (`data_batch_N.bin`, `test_batch.bin`, optional `batches.meta.txt`), or
/// STL-10 files (`train_X.bin` with `train_y.bin`, `test_X.bin` with `test_y.bin`, optional
/// `unlabeled_X.bin`).
pub fn from_files(files: Vec<(String, Vec<u8>)>) -> Result<Dataset> {
    let origin = Path::new(ORIGIN);
    if files.is_empty() {
        return Err(Error::UnsuitableData("no files were given".into()));
    }
    if let Some((name, bytes)) = files.iter().find(|(n, _)| is_archive_name(n)) {
        return cifar::load_archive(bytes.as_slice(), &origin.join(name));
    }
    let is_stl = files.iter().any(|(n, _)| n.ends_with("_X.bin"));
    if is_stl {
        return stl10_from_files(files, origin);
    }
    let known = files
        .iter()
        .any(|(n, _)| n == cifar::TEST_FILE || cifar::TRAIN_FILES.contains(&n.as_str()));
    if !known {
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        return Err(Error::format(
            origin,
            format!(
                "{} is not a dataset this page reads: give cifar-10-binary.tar.gz, \
                 CIFAR-10's data_batch_N.bin / test_batch.bin, or STL-10's *_X.bin and *_y.bin",
                names.join(", ")
            ),
        ));
    }
    cifar::from_named_files(files, origin)
}

fn is_archive_name(name: &str) -> bool {
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

fn stl10_from_files(mut files: Vec<(String, Vec<u8>)>, origin: &Path) -> Result<Dataset> {
    let mut take = |name: &str| -> Option<Vec<u8>> {
        let pos = files.iter().position(|(n, _)| n == name)?;
        Some(files.swap_remove(pos).1)
    };
    let mut pair = |split: &str| -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        match (
            take(&format!("{split}_X.bin")),
            take(&format!("{split}_y.bin")),
        ) {
            (Some(x), Some(y)) => Ok(Some((x, y))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(Error::format(
                origin.join(format!("{split}_X.bin")),
                format!("{split}_y.bin (its labels) is missing"),
            )),
            (None, Some(_)) => Err(Error::format(
                origin.join(format!("{split}_y.bin")),
                format!("{split}_X.bin (its images) is missing"),
            )),
        }
    };
    let train = pair("train")?;
    let test = pair("test")?;
    let unlabeled = take("unlabeled_X.bin");
    stl10::from_parts(train, test, unlabeled, origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cifar_batch(images: usize, label: u8) -> Vec<u8> {
        let mut bytes = vec![];
        for i in 0..images {
            bytes.push(label);
            bytes.extend(std::iter::repeat_n(i as u8, cifar::RECORD - 1));
        }
        bytes
    }

    #[test]
    fn reads_cifar_batches() {
        let files = vec![
            ("data_batch_1.bin".to_string(), cifar_batch(3, 2)),
            ("test_batch.bin".to_string(), cifar_batch(2, 7)),
        ];
        let data = from_files(files).unwrap();
        assert_eq!((data.train.len(), data.test.len()), (3, 2));
        assert_eq!(data.test.label(1), Some(7));
        assert_eq!(data.name, "cifar10");
    }

    #[test]
    fn reads_stl10_parts() {
        let image = 3 * 96 * 96;
        let files = vec![
            ("test_X.bin".to_string(), vec![5u8; 2 * image]),
            ("test_y.bin".to_string(), vec![1u8, 10]),
        ];
        let data = from_files(files).unwrap();
        assert_eq!((data.train.len(), data.test.len()), (0, 2));
        assert_eq!(data.test.label(1), Some(9));
        assert_eq!(data.name, "stl10");
    }

    #[test]
    fn bad_uploads_name_the_file_and_the_problem() {
        let err = |files: Vec<(String, Vec<u8>)>| from_files(files).unwrap_err().to_string();
        let e = err(vec![("cat.jpg".into(), vec![1, 2, 3])]);
        assert!(e.contains("cat.jpg is not a dataset"), "{e}");
        let e = err(vec![("cifar-10-binary.tar.gz".into(), vec![1, 2, 3])]);
        assert!(
            e.contains("cifar-10-binary.tar.gz") && e.contains("not a gzip"),
            "{e}"
        );
        let e = err(vec![("data_batch_1.bin".into(), vec![0; 100])]);
        assert!(e.contains("data_batch_1.bin"), "{e}");
        let e = err(vec![("train_X.bin".into(), vec![0; 3 * 96 * 96])]);
        assert!(e.contains("train_y.bin (its labels) is missing"), "{e}");
        assert!(err(vec![]).contains("no files"));
    }
}
