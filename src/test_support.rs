//! Paths to the shared reference data and the real CIFAR-10, for tests.

use std::path::PathBuf;

/// `../shared/reference` beside the repository (or `SIMCLR_REFERENCE_DIR`).
pub fn reference_dir() -> PathBuf {
    std::env::var_os("SIMCLR_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference"))
}

/// The real CIFAR-10 folder from `SIMCLR_CIFAR10_DIR`. Unset: None (the test skips with a
/// message), except under `CI=true`, where a missing dataset fails the test.
pub fn cifar10_dir() -> Option<PathBuf> {
    match std::env::var_os("SIMCLR_CIFAR10_DIR") {
        Some(dir) => Some(PathBuf::from(dir)),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("SIMCLR_CIFAR10_DIR must be set under CI=true")
        }
        None => {
            eprintln!("skipped: SIMCLR_CIFAR10_DIR is not set");
            None
        }
    }
}

/// The default wgpu device, checked with one read-back; the wgpu tests fail without one
/// (CI has Mesa's lavapipe, a Vulkan driver on the CPU).
#[cfg(feature = "wgpu")]
pub fn wgpu_device() -> burn::backend::wgpu::WgpuDevice {
    let device = burn::backend::wgpu::WgpuDevice::default();
    if let Err(e) =
        crate::backend::probe::<crate::backend::Wgpu>(crate::backend::BackendKind::Wgpu, &device)
    {
        panic!(
            "the wgpu tests need a Vulkan device; on Debian, scripts/setup-web.sh installs \
             lavapipe (mesa-vulkan-drivers): {e}"
        );
    }
    device
}

/// Every encoder tensor (weights and BatchNorm buffers) by name, sorted: a comparison that
/// ignores the safetensors header's metadata order.
pub fn encoder_tensors<B: burn::prelude::Backend>(
    encoder: &crate::model::ResNet<B>,
) -> Vec<(String, Vec<u8>)> {
    let normalization = crate::data::Normalization::imagenet();
    let bytes = crate::model::weights::encoder_to_bytes(encoder, &normalization, 0).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect();
    tensors.sort();
    tensors
}

/// Makes a FIFO at `path` with `mkfifo`; false where that cannot be done (then the FIFO
/// case of a test is skipped).
pub fn make_fifo(path: &std::path::Path) -> bool {
    cfg!(unix)
        && std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success())
}

/// A `.tar.gz` of `files`, each under `cifar-10-batches-bin/` as in the official archive.
pub fn tar_gz(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(
                &mut header,
                format!("cifar-10-batches-bin/{name}"),
                data.as_slice(),
            )
            .unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

/// Held by every test that joins peers through burn-collective: its local server is one
/// per backend type and process.
#[cfg(not(target_arch = "wasm32"))]
pub static ONE_COLLECTIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());
