//! Backend types and device selection: the one place that names Burn's backends, so that
//! a Burn upgrade touches few files.

use serde::{Deserialize, Serialize};

#[cfg(feature = "flex")]
/// The CPU backend (Burn's `flex`).
pub type Cpu = burn::backend::Flex;
#[cfg(feature = "flex")]
/// The CPU backend with automatic differentiation.
pub type AutodiffCpu = burn::backend::Autodiff<Cpu>;

#[cfg(feature = "wgpu")]
/// The WebGPU/Vulkan/Metal backend.
pub type Wgpu = burn::backend::Wgpu;
#[cfg(feature = "wgpu")]
/// The wgpu backend with automatic differentiation.
pub type AutodiffWgpu = burn::backend::Autodiff<Wgpu>;

#[cfg(feature = "cuda")]
/// The CUDA backend.
pub type Cuda = burn::backend::Cuda;
#[cfg(feature = "cuda")]
/// The CUDA backend with automatic differentiation.
pub type AutodiffCuda = burn::backend::Autodiff<Cuda>;

/// Which compute backend to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Burn's `flex` CPU backend.
    #[default]
    Cpu,
    /// Burn's wgpu backend (Vulkan, Metal, DX12 or WebGPU).
    Wgpu,
    /// Burn's CUDA backend.
    Cuda,
}

impl BackendKind {
    /// Every backend, in the order the CLI lists them.
    pub const ALL: [BackendKind; 3] = [BackendKind::Cpu, BackendKind::Wgpu, BackendKind::Cuda];

    /// The backends this binary was compiled with, by name: "cpu, wgpu".
    pub fn compiled_names() -> String {
        let names: Vec<&str> = Self::ALL
            .iter()
            .filter(|kind| kind.compiled())
            .map(|kind| kind.name())
            .collect();
        names.join(", ")
    }

    /// The backend's name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Cuda => "cuda",
        }
    }

    /// Whether this binary was compiled with the backend.
    pub fn compiled(self) -> bool {
        match self {
            BackendKind::Cpu => cfg!(feature = "flex"),
            BackendKind::Wgpu => cfg!(feature = "wgpu"),
            BackendKind::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The cargo feature that enables the backend.
    pub fn feature(self) -> &'static str {
        match self {
            BackendKind::Cpu => "flex",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Cuda => "cuda",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for BackendKind {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "cpu" | "flex" => Ok(BackendKind::Cpu),
            "wgpu" => Ok(BackendKind::Wgpu),
            "cuda" => Ok(BackendKind::Cuda),
            other => Err(crate::Error::UnknownName {
                what: "backend",
                given: other.into(),
                expected: "cpu, wgpu or cuda".into(),
            }),
        }
    }
}

/// Work that runs on whichever autodiff backend the user picked.
#[cfg(not(target_arch = "wasm32"))]
pub trait BackendTask {
    /// What the work returns.
    type Output;
    /// Runs the work on backend `B` and `device`.
    fn run<B: crate::train::collective::CollectiveBackend>(
        self,
        device: B::Device,
    ) -> crate::Result<Self::Output>;
}

/// Starts backend `kind` and runs `task` on it; an unavailable backend is an error.
#[cfg(not(target_arch = "wasm32"))]
pub fn dispatch<T: BackendTask>(kind: BackendKind, task: T) -> crate::Result<T::Output> {
    if !kind.compiled() {
        return Err(crate::Error::Backend {
            backend: kind.name().into(),
            message: format!(
                "this binary was built without it; rebuild with `--features {}`",
                kind.feature()
            ),
        });
    }
    match kind {
        #[cfg(feature = "flex")]
        BackendKind::Cpu => task.run::<AutodiffCpu>(Default::default()),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => {
            let device = burn::backend::wgpu::WgpuDevice::default();
            probe::<Wgpu>(kind, &device)?;
            task.run::<AutodiffWgpu>(device)
        }
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => {
            let device = burn::backend::cuda::CudaDevice::default();
            probe::<Cuda>(kind, &device)?;
            task.run::<AutodiffCuda>(device)
        }
        #[allow(unreachable_patterns)]
        _ => unreachable!("compiled() checked above"),
    }
}

/// Burn panics inside device initialisation when no driver or adapter exists: run one tiny
/// operation first and turn such a panic into an error.
#[cfg(all(not(target_arch = "wasm32"), any(feature = "wgpu", feature = "cuda")))]
pub(crate) fn probe<B: burn::tensor::backend::Backend>(
    kind: BackendKind,
    device: &B::Device,
) -> crate::Result<()> {
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        burn::tensor::Tensor::<B, 1>::ones([1], device)
            .into_data()
            .to_vec::<f32>()
            .map(|v| v.len())
    }));
    std::panic::set_hook(previous_hook);
    match outcome {
        Ok(Ok(1)) => Ok(()),
        Ok(_) => Err(crate::Error::Backend {
            backend: kind.name().into(),
            message: "a test read-back returned wrong data".into(),
        }),
        Err(panic) => {
            let hint = match kind {
                BackendKind::Cuda => "; is an NVIDIA driver installed and a GPU visible?",
                _ => "; is a GPU adapter (Vulkan, Metal, DX12) available?",
            };
            let message = crate::io::contain::panic_text(panic.as_ref())
                .unwrap_or("device initialisation failed");
            Err(crate::Error::Backend {
                backend: kind.name().into(),
                message: format!("{message}{hint}"),
            })
        }
    }
}
