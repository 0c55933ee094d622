//! Helpers for the library's tests. The two files below are shared by path with the
//! integration tests (`cli/tests/common`, `tests/fuzz.rs`), so that each helper is written
//! once.

mod archive;
mod dirs;

pub use archive::tar_gz;
pub use dirs::{cifar10_dir, reference_dir};

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

/// Held by every test that joins peers through burn-collective: its local server is one
/// per backend type and process.
#[cfg(not(target_arch = "wasm32"))]
pub static ONE_COLLECTIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());
