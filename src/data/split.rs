//! One split of a dataset: u8 images in memory or mapped from disk, with optional labels.

use std::sync::Arc;

/// Bytes of image data, owned or memory-mapped.
#[derive(Clone)]
pub enum Bytes {
    /// Bytes in memory.
    Owned(Arc<Vec<u8>>),
    /// A read-only file mapping (STL-10's 2.7 GB unlabeled file stays on disk).
    #[cfg(not(target_arch = "wasm32"))]
    Mapped(Arc<memmap2::Mmap>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            #[cfg(not(target_arch = "wasm32"))]
            Bytes::Mapped(m) => m,
        }
    }
}

/// How the pixels of each image are laid out.
#[derive(Clone)]
pub enum Pixels {
    /// Channel planes, each row-major: CIFAR-10 and everything decoded here.
    RowMajor(Bytes),
    /// Channel planes, each column-major: STL-10's binary files.
    ColumnMajor(Bytes),
}

/// A contiguous run of images sharing a layout.
#[derive(Clone)]
struct Part {
    pixels: Pixels,
    labels: Option<Arc<Vec<u8>>>,
    len: usize,
}

/// A list of `3 × height × width` u8 images, some labelled.
#[derive(Clone, Default)]
pub struct Split {
    parts: Vec<Part>,
    height: usize,
    width: usize,
    limit: Option<usize>,
}

impl std::fmt::Debug for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Split({} images of {}x{})",
            self.len(),
            self.height,
            self.width
        )
    }
}

impl Split {
    /// An empty split of images of the given size.
    pub fn empty(height: usize, width: usize) -> Self {
        Self {
            parts: vec![],
            height,
            width,
            limit: None,
        }
    }

    /// Row-major images (`N × 3 × H × W` bytes) with optional labels.
    pub fn from_row_major(
        pixels: Vec<u8>,
        labels: Option<Vec<u8>>,
        height: usize,
        width: usize,
    ) -> Self {
        let mut split = Self::empty(height, width);
        split.push(Pixels::RowMajor(Bytes::Owned(Arc::new(pixels))), labels);
        split
    }

    /// Appends images; their count follows from the byte length.
    pub fn push(&mut self, pixels: Pixels, labels: Option<Vec<u8>>) {
        let bytes = match &pixels {
            Pixels::RowMajor(b) | Pixels::ColumnMajor(b) => b.as_slice().len(),
        };
        let len = bytes / self.image_bytes().max(1);
        self.parts.push(Part {
            pixels,
            labels: labels.map(Arc::new),
            len,
        });
    }

    /// Bytes per image.
    pub fn image_bytes(&self) -> usize {
        3 * self.height * self.width
    }

    /// Image height.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Image width.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        let total = self.parts.iter().map(|p| p.len).sum();
        self.limit.map_or(total, |l| l.min(total))
    }

    /// Whether the split has no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps only the first `n` images.
    pub fn truncate(&mut self, n: usize) {
        self.limit = Some(self.limit.map_or(n, |l| l.min(n)));
    }

    fn locate(&self, index: usize) -> (&Part, usize) {
        let mut i = index;
        for part in &self.parts {
            if i < part.len {
                return (part, i);
            }
            i -= part.len;
        }
        panic!(
            "image index {index} out of range for a split of {}",
            self.len()
        );
    }

    /// The label of image `index`, if it has one.
    pub fn label(&self, index: usize) -> Option<u8> {
        let (part, i) = self.locate(index);
        part.labels.as_ref().map(|l| l[i])
    }

    /// Labels of all images, if every image is labelled.
    pub fn labels(&self) -> Option<Vec<u8>> {
        (0..self.len()).map(|i| self.label(i)).collect()
    }

    /// Copies image `index` into `out` as row-major channel planes.
    pub fn copy_image(&self, index: usize, out: &mut [u8]) {
        let (part, i) = self.locate(index);
        let size = self.image_bytes();
        match &part.pixels {
            Pixels::RowMajor(bytes) => {
                out.copy_from_slice(&bytes.as_slice()[i * size..(i + 1) * size])
            }
            Pixels::ColumnMajor(bytes) => {
                let src = &bytes.as_slice()[i * size..(i + 1) * size];
                let (h, w) = (self.height, self.width);
                for c in 0..3 {
                    for y in 0..h {
                        for x in 0..w {
                            out[c * h * w + y * w + x] = src[c * h * w + x * h + y];
                        }
                    }
                }
            }
        }
    }

    /// The images at `indices`, concatenated (`len × 3 × H × W` bytes).
    pub fn batch_u8(&self, indices: &[usize]) -> Vec<u8> {
        let size = self.image_bytes();
        let mut out = vec![0u8; indices.len() * size];
        for (chunk, &index) in out.chunks_exact_mut(size).zip(indices) {
            self.copy_image(index, chunk);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_major_is_transposed_per_plane() {
        // One 3×2×2 image stored column-major: plane values c*10 + (x*2 + y).
        let col: Vec<u8> = (0..3)
            .flat_map(|c| (0..4).map(move |k| c * 10 + k))
            .collect();
        let mut split = Split::empty(2, 2);
        split.push(
            Pixels::ColumnMajor(Bytes::Owned(Arc::new(col))),
            Some(vec![4]),
        );
        let mut out = vec![0; 12];
        split.copy_image(0, &mut out);
        // Row-major (y, x): (0,0)=0, (0,1)=2, (1,0)=1, (1,1)=3.
        assert_eq!(&out[..4], &[0, 2, 1, 3]);
        assert_eq!(&out[8..], &[20, 22, 21, 23]);
        assert_eq!(split.label(0), Some(4));
    }

    #[test]
    fn parts_concatenate_and_truncate() {
        let mut split = Split::from_row_major(vec![1; 6], Some(vec![0, 1]), 1, 1);
        split.push(Pixels::RowMajor(Bytes::Owned(Arc::new(vec![2; 3]))), None);
        assert_eq!(split.len(), 3);
        assert_eq!(split.label(2), None);
        assert_eq!(split.labels(), None);
        assert_eq!(split.batch_u8(&[2, 0]), vec![2, 2, 2, 1, 1, 1]);
        split.truncate(2);
        assert_eq!(split.labels(), Some(vec![0, 1]));
    }
}
