//! The binary on Burn's wgpu backend: embed, pretrain and bench through the command line,
//! on whatever Vulkan device the machine has (CI: Mesa's lavapipe, on the CPU). Built and
//! run only with the feature: `cargo test -p simclr-cli --features wgpu --test wgpu`.

#[cfg(not(feature = "wgpu"))]
#[test]
#[ignore = "built without wgpu: cargo test -p simclr-cli --features wgpu --test wgpu"]
fn the_wgpu_tests_need_the_wgpu_feature() {}

#[cfg(feature = "wgpu")]
mod common;
#[cfg(feature = "wgpu")]
use common::{csv, ok, read_npy, TINY_BENCH};
#[cfg(feature = "wgpu")]
use std::path::PathBuf;

/// The reference ResNet-18 (width 16, trained BatchNorm statistics) from PyTorch.
#[cfg(feature = "wgpu")]
fn reference_encoder() -> PathBuf {
    common::reference_dir().join("resnet18_w16_cifar.safetensors")
}

#[cfg(feature = "wgpu")]
#[test]
fn embed_on_wgpu_matches_the_cpu() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let weights = reference_encoder();
    let weights = weights.to_str().unwrap();
    for (backend, out) in [("cpu", "cpu.npy"), ("wgpu", "wgpu.npy")] {
        ok(
            dir,
            &[
                "embed",
                "--weights",
                weights,
                "--synthetic-test",
                "96",
                "--batch-size",
                "64",
                "--backend",
                backend,
                "--out",
                out,
            ],
        );
    }
    let (cpu, header) = read_npy(&dir.join("cpu.npy"));
    let (gpu, _) = read_npy(&dir.join("wgpu.npy"));
    assert!(header.contains("'shape': (96, 128)"), "{header}");
    assert_eq!(cpu.len(), gpu.len());
    // Per feature vector: ‖h_wgpu − h_cpu‖ / ‖h_cpu‖ (float32 both sides, another
    // summation order; measured 1.1e-7 on lavapipe).
    let mut worst = 0f64;
    for (a, b) in gpu.chunks(128).zip(cpu.chunks(128)) {
        let difference: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
        let norm: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
        assert!(norm > 0.0, "a zero feature vector on the CPU");
        worst = worst.max((difference / norm).sqrt());
    }
    eprintln!("embed: largest relative difference wgpu vs cpu {worst:e}");
    assert!(worst <= 1e-4, "features differ by {worst:e} (relative)");
}

#[cfg(feature = "wgpu")]
#[test]
fn pretrain_and_bench_run_on_wgpu() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(
        dir,
        &[
            "pretrain",
            "--backend",
            "wgpu",
            "--run-dir",
            "run",
            "--preset",
            "tiny",
            "--width",
            "4",
            "--batch-size",
            "8",
            "--epochs",
            "1",
            "--synthetic-train",
            "24",
            "--synthetic-test",
            "20",
        ],
    );
    let run = dir.join("run");
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();
    assert!(config.contains("\"backend\": \"wgpu\""), "{config}");
    let metrics = csv(&run.join("metrics.csv"));
    assert_eq!(metrics.len(), 1, "one epoch, one row");
    let loss: f64 = metrics[0][2].parse().unwrap();
    let knn: f64 = metrics[0][4].parse().unwrap();
    assert!(loss.is_finite() && loss > 0.0, "loss {loss}");
    assert!((0.0..=1.0).contains(&knn), "kNN accuracy {knn}");
    assert!(run.join("checkpoints/last.ckpt").is_file());

    let mut args = TINY_BENCH.to_vec();
    args.extend_from_slice(&["--backend", "wgpu"]);
    let report: serde_json::Value = serde_json::from_str(ok(dir, &args).trim()).unwrap();
    assert_eq!(report["backend"], "wgpu");
    let views = report["views_per_s"].as_f64().unwrap();
    assert!(views.is_finite() && views > 0.0, "{report}");
}
