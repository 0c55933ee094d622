//! Helpers shared by the integration tests: run the built binary, read its outputs.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

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

pub fn fails(dir: &Path, args: &[&str]) -> String {
    let out = simclr(dir, args);
    assert!(!out.status.success(), "simclr {args:?} should fail");
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
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
