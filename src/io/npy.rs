//! NumPy `.npy` files through `ndarray-npy`, as bytes (the browser offers them as
//! downloads) or written atomically.

use crate::io::atomic::write_atomic;
use crate::{Error, Result};
use ndarray::{Array1, Array2};
use ndarray_npy::WriteNpyExt;
use std::path::Path;

/// A row-major `rows × cols` float32 matrix as `.npy` bytes; an error when `values` does
/// not hold `rows × cols` numbers.
pub fn f32_matrix(values: &[f32], rows: usize, cols: usize) -> Result<Vec<u8>> {
    let array = Array2::from_shape_vec((rows, cols), values.to_vec())
        .map_err(|e| Error::encode(".npy matrix", e))?;
    let mut bytes = vec![];
    array
        .write_npy(&mut bytes)
        .map_err(|e| Error::encode(".npy matrix", e))?;
    Ok(bytes)
}

/// A vector of int64 as `.npy` bytes.
pub fn i64_vector(values: &[i64]) -> Result<Vec<u8>> {
    let mut bytes = vec![];
    Array1::from_vec(values.to_vec())
        .write_npy(&mut bytes)
        .map_err(|e| Error::encode(".npy vector", e))?;
    Ok(bytes)
}

/// Writes `.npy` bytes to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray_npy::ReadNpyExt;

    #[test]
    fn round_trips_through_numpy_format() {
        let bytes = f32_matrix(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3).unwrap();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!(
            (10 + header_len) % 64,
            0,
            "header aligned as NumPy writes it"
        );
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.contains("'descr': '<f4'") && header.contains("'shape': (2, 3)"));
        let back = Array2::<f32>::read_npy(bytes.as_slice()).unwrap();
        assert_eq!(back, ndarray::arr2(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]));
        let labels = i64_vector(&[3, 4]).unwrap();
        assert!(String::from_utf8_lossy(&labels).contains("'shape': (2,)"));
        assert_eq!(
            Array1::<i64>::read_npy(labels.as_slice()).unwrap().to_vec(),
            [3, 4]
        );
        assert!(f32_matrix(&[1.0], 2, 3).is_err());
    }
}
