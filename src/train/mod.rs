//! Training: the configuration and its preset table, the session that runs epochs for
//! every driver, the SimCLR step, optimisers and their schedule, checkpoints and run
//! folders, the native driver and the throughput benchmark.

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod checkpoint;
#[cfg(not(target_arch = "wasm32"))]
pub mod collective;
pub mod config;
#[cfg(not(target_arch = "wasm32"))]
pub mod driver;
pub(crate) mod loss_buffer;
pub mod optim;
#[cfg(not(target_arch = "wasm32"))]
pub mod parallel;
pub mod resume;
pub mod run_dir;
#[cfg(not(target_arch = "wasm32"))]
pub mod run_lock;
pub mod session;
pub mod settings;
pub(crate) mod signature;
pub mod step;
