//! Helpers shared by the integration tests: run the built binary, read its outputs.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

#[path = "../../../src/test_support/dirs.rs"]
mod dirs;
#[allow(unused_imports)] // Each test file uses some of the helpers.
pub use dirs::{cifar10_dir, reference_dir};

/// Runs `simclr` with `args` in `dir`.
pub fn simclr(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_simclr"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the simclr binary runs")
}

pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = simclr(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "simclr {args:?} failed:\n{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `simclr` expecting a reported failure (an exit status of the README's table, not a
/// panic's 101 or a signal); returns its standard error.
pub fn fails(dir: &Path, args: &[&str]) -> String {
    let out = simclr(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code();
    assert!(
        code.is_some_and(|c| (1..=6).contains(&c)),
        "simclr {args:?} should fail with a reported error, got {:?}:\n{stderr}",
        out.status
    );
    stderr
}

/// The exit statuses of the README's table.
pub const SETTINGS: i32 = 2;
/// Input data.
pub const DATA: i32 = 3;
/// A run folder or checkpoint.
pub const RUN_FOLDER: i32 = 4;
/// A device or backend.
pub const DEVICE: i32 = 5;

/// As [`fails`], with exit status `code`.
pub fn fails_with(dir: &Path, args: &[&str], code: i32) -> String {
    let out = simclr(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "simclr {args:?}:\n{stderr}");
    stderr
}

/// Rows of a CSV file after its header, split into fields.
pub fn csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// The float32 values of a 2-D `.npy` file written by this crate, and its shape.
pub fn read_npy(path: &Path) -> (Vec<f32>, String) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = String::from_utf8_lossy(&bytes[10..10 + header_len]).into_owned();
    let values = bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (values, header)
}

/// Batch 32 of width 4 on 160 synthetic images (five steps an epoch), no kNN, with the
/// paper's LARS: its update is proportional to the gradient, so runs of the same batch
/// split otherwise stay close (Adam's divides by the gradient's size).
pub const SMALL_LARS: &[&str] = &[
    "--preset",
    "tiny",
    "--width",
    "4",
    "--batch-size",
    "32",
    "--synthetic-train",
    "160",
    "--synthetic-test",
    "50",
    "--optimizer",
    "lars",
    "--knn-every",
    "0",
];

/// `bench` of a width-4 model at batch 8: two timed steps after one warm-up.
pub const TINY_BENCH: &[&str] = &[
    "bench",
    "--batch-size",
    "8",
    "--width",
    "4",
    "--steps",
    "2",
    "--warmup",
    "1",
];
