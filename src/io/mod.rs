//! Bytes in and out: dataset files opened safely, `.npy` files, read-backs from the compute
//! device, atomic writes.

pub mod atomic;
pub(crate) mod contain;
pub(crate) mod input;
pub mod npy;
pub mod readback;
