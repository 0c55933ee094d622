//! A folder of the user's own PNG/JPEG images. Class subfolders give labels; images at the
//! top level are unlabeled. `train/` and `test/` subfolders, when both exist, are the splits.

use super::{Dataset, Normalization, Split};
use crate::{Error, Result};
use image::imageops::FilterType;
use std::path::{Path, PathBuf};

fn is_image(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    matches!(ext.as_str(), "png" | "jpg" | "jpeg")
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|entry| entry.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
        .collect::<Result<_>>()?;
    entries.sort();
    Ok(entries)
}

/// Decodes an image and resizes it to `size × size` RGB, as row-major channel planes.
pub fn decode(bytes: &[u8], size: usize, path: &Path) -> Result<Vec<u8>> {
    let image = image::load_from_memory(bytes)
        .map_err(|e| Error::format(path, format!("cannot decode image: {e}")))?;
    let rgb = image
        .resize_exact(size as u32, size as u32, FilterType::Triangle)
        .to_rgb8();
    let plane = size * size;
    let mut out = vec![0u8; 3 * plane];
    for (i, pixel) in rgb.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = pixel[c];
        }
    }
    Ok(out)
}

/// Files and their labels (None where unlabeled) under one split folder, with class names.
fn list(dir: &Path, classes: &mut Vec<String>) -> Result<Vec<(PathBuf, Option<u8>)>> {
    let mut files = Vec::new();
    for entry in sorted_entries(dir)? {
        if entry.is_dir() {
            let name = entry
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let label = match classes.iter().position(|c| *c == name) {
                Some(i) => i,
                None => {
                    classes.push(name);
                    classes.len() - 1
                }
            };
            let label = u8::try_from(label)
                .map_err(|_| Error::format(dir, "more than 256 class folders"))?;
            for file in sorted_entries(&entry)?.into_iter().filter(|p| is_image(p)) {
                files.push((file, Some(label)));
            }
        } else if is_image(&entry) {
            files.push((entry, None));
        }
    }
    Ok(files)
}

fn load_split(files: &[(PathBuf, Option<u8>)], size: usize) -> Result<Split> {
    let mut pixels = Vec::with_capacity(files.len() * 3 * size * size);
    for (path, _) in files {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        pixels.extend(decode(&bytes, size, path)?);
    }
    let labels: Option<Vec<u8>> = files.iter().map(|(_, l)| *l).collect();
    let mut split = Split::empty(size, size);
    if !files.is_empty() {
        split = Split::from_row_major(pixels, labels, size, size);
        if split.labels().is_none() && files.iter().any(|(_, l)| l.is_some()) {
            return Err(Error::format(
                files[0].0.parent().unwrap_or(Path::new(".")),
                "mixes labelled (in class folders) and unlabeled images; keep one kind",
            ));
        }
    }
    Ok(split)
}

/// Loads a folder of images resized to `size` pixels.
pub fn load(dir: &Path, size: usize) -> Result<Dataset> {
    if !dir.is_dir() {
        return Err(Error::format(dir, "not a folder of images"));
    }
    let mut classes = Vec::new();
    let (train_files, test_files) = if dir.join("train").is_dir() && dir.join("test").is_dir() {
        (
            list(&dir.join("train"), &mut classes)?,
            list(&dir.join("test"), &mut classes)?,
        )
    } else {
        (list(dir, &mut classes)?, vec![])
    };
    if train_files.is_empty() {
        return Err(Error::format(dir, "contains no PNG or JPEG images"));
    }
    let train = load_split(&train_files, size)?;
    let test = load_split(&test_files, size)?;
    let normalization = Normalization::measure(&train);
    Ok(Dataset {
        name: "folder".into(),
        train,
        test,
        classes,
        normalization,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save_png(path: &Path, color: [u8; 3]) {
        image::RgbImage::from_pixel(8, 4, image::Rgb(color))
            .save(path)
            .unwrap();
    }

    #[test]
    fn class_folders_give_labels() {
        let dir = tempfile::tempdir().unwrap();
        for (class, color) in [("cats", [255, 0, 0]), ("dogs", [0, 0, 255])] {
            std::fs::create_dir(dir.path().join(class)).unwrap();
            save_png(&dir.path().join(class).join("a.png"), color);
        }
        let data = load(dir.path(), 16).unwrap();
        assert_eq!(data.classes, vec!["cats", "dogs"]);
        assert_eq!(data.train.labels(), Some(vec![0, 1]));
        let mut image = vec![0; 3 * 256];
        data.train.copy_image(1, &mut image);
        assert_eq!((image[0], image[256], image[512]), (0, 0, 255));
    }

    #[test]
    fn undecodable_image_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.png"), b"not a png").unwrap();
        let err = load(dir.path(), 8).unwrap_err().to_string();
        assert!(err.contains("broken.png: cannot decode image"), "{err}");
        let empty = tempfile::tempdir().unwrap();
        let err = load(empty.path(), 8).unwrap_err().to_string();
        assert!(err.contains("contains no PNG or JPEG images"), "{err}");
    }
}
