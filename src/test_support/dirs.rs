//! Where the tests' outside data lies: the PyTorch reference values and the real
//! CIFAR-10. Included by path in `cli/tests/common`: one copy for every crate's tests.

use std::path::PathBuf;

/// `../shared/reference` beside the repository (or `SIMCLR_REFERENCE_DIR`).
pub fn reference_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIMCLR_REFERENCE_DIR") {
        return PathBuf::from(dir);
    }
    // The workspace root, whichever of its crates' tests include this file.
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").exists())
        .unwrap_or(manifest);
    root.join("../shared/reference")
}

/// The real CIFAR-10 folder from `SIMCLR_CIFAR10_DIR`, for the tests marked
/// `#[ignore = "real CIFAR-10 …"]` (`scripts/test.sh` runs them with `--ignored` when the
/// data is there); run without it, such a test fails saying what it needs.
pub fn cifar10_dir() -> PathBuf {
    match std::env::var_os("SIMCLR_CIFAR10_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => panic!(
            "this test reads the real CIFAR-10: set SIMCLR_CIFAR10_DIR to its \
             cifar-10-batches-bin folder"
        ),
    }
}
