//! Bytes in and out: `.npy` files, read-backs from the compute device, atomic writes.

pub mod atomic;
pub mod npy;
pub mod readback;
