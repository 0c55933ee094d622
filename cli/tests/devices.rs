//! `--devices N`: data-parallel peers on one machine (CPU peers sharing the CPU here).

mod common;
use common::{csv, fails, ok, simclr, SMALL_LARS, TINY_BENCH};

/// [`SMALL_LARS`] for two epochs: ten steps.
fn ten_steps() -> Vec<&'static str> {
    let mut args = SMALL_LARS.to_vec();
    args.extend_from_slice(&["--epochs", "2"]);
    args
}

fn losses(rows: Vec<Vec<String>>) -> Vec<f64> {
    rows.iter().map(|r| r[2].parse().unwrap()).collect()
}

#[test]
fn two_peers_train_as_one_device_and_resume_on_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut single = vec!["pretrain", "--run-dir", "single"];
    single.extend_from_slice(&ten_steps());
    ok(dir, &single);
    let mut peers = vec![
        "pretrain",
        "--run-dir",
        "peers",
        "--devices",
        "2",
        "--sync-bn",
    ];
    peers.extend_from_slice(&ten_steps());
    peers.extend_from_slice(&["--stop-after-epoch", "1"]);
    let out = simclr(dir, &peers);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("2 peers × 16 images on 1 device, BatchNorm synchronised"),
        "{log}"
    );
    // The same run continues on one device: the global batch is kept.
    ok(
        dir,
        &[
            "pretrain",
            "--run-dir",
            "peers",
            "--resume",
            "--devices",
            "1",
        ],
    );
    let (one, two) = (
        losses(csv(&dir.join("single/steps.csv"))),
        losses(csv(&dir.join("peers/steps.csv"))),
    );
    assert_eq!(one.len(), two.len());
    for (step, (a, b)) in one.iter().zip(&two).enumerate() {
        assert!(((a - b) / a).abs() <= 1e-5, "read-back {step}: {a} vs {b}");
    }
    assert_eq!(csv(&dir.join("peers/metrics.csv")).len(), 2);
}

#[test]
fn peers_need_equal_shares_and_bench_counts_their_traffic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut uneven = vec!["pretrain", "--run-dir", "run", "--devices", "3"];
    uneven.extend_from_slice(&ten_steps());
    let err = fails(dir, &uneven);
    assert!(
        err.contains("32 images must split into 3 equal shares"),
        "{err}"
    );
    assert!(
        !dir.join("run").exists(),
        "nothing written for a refused run"
    );

    let mut bench = TINY_BENCH.to_vec();
    bench.extend_from_slice(&["--devices", "2", "--sync-bn"]);
    let report: serde_json::Value = serde_json::from_str(ok(dir, &bench).trim()).unwrap();
    assert_eq!(report["devices"], 2);
    // At least every parameter's gradient, four bytes each, every step.
    assert!(report["collective_bytes_per_step"].as_u64().unwrap() > 4 * 10_000);
    let share = report["collective_share"].as_f64().unwrap();
    assert!(share > 0.0 && share < 1.0, "{share}");
}
