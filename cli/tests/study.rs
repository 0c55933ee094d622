//! End-to-end tests of the evaluation subcommands (probe, supervised, tsne, experiment) on
//! tiny synthetic data in temporary folders.

mod common;
use common::{csv, fails, fails_with, ok, SETTINGS};

const SMALL_DATA: &[&str] = &[
    "--dataset",
    "synthetic",
    "--synthetic-train",
    "100",
    "--synthetic-test",
    "50",
];

fn with(base: &[&str], extra: &[&str]) -> Vec<String> {
    base.iter().chain(extra).map(|s| s.to_string()).collect()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn probe_prints_one_json_line_per_fraction_and_head() {
    let dir = tempfile::tempdir().unwrap();
    let args = with(
        &["probe", "--random-init", "--width", "4"],
        &[
            SMALL_DATA,
            &[
                "--label-fraction",
                "0.2,1",
                "--head",
                "linear,mlp",
                "--seeds",
                "2",
            ],
        ]
        .concat(),
    );
    let stdout = ok(dir.path(), &strs(&args));
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    for line in &lines {
        assert_eq!(line["encoder"], "random");
        for key in [
            "head",
            "label_fraction",
            "top1",
            "top5",
            "confusion",
            "per_class",
        ] {
            assert!(!line[key].is_null(), "{key} missing in {line}");
        }
        let top1 = line["top1"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&top1));
        assert_eq!(line["seeds"], 2);
    }
    assert_eq!(lines[0]["train_examples"], 20);
    let saved: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join("probe.json")).unwrap()).unwrap();
    assert_eq!(saved.len(), 4);
    let err = fails(
        dir.path(),
        &["probe", "--random-init", "--label-fraction", "0"],
    );
    assert!(err.contains("label fraction 0 is not in (0, 1]"), "{err}");
    let err = fails(dir.path(), &["probe", "--weights", "missing.safetensors"]);
    assert!(err.contains("missing.safetensors"), "{err}");
}

#[test]
fn supervised_trains_resumes_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let base = with(
        &[
            "supervised",
            "--width",
            "4",
            "--epochs",
            "2",
            "--batch-size",
            "20",
        ],
        &[SMALL_DATA, &["--label-fraction", "0.5", "--run-dir", "sup"]].concat(),
    );
    let partial = with(&strs(&base), &["--stop-after-epoch", "1"]);
    let stdout = ok(dir.path(), &strs(&partial));
    assert!(
        stdout.is_empty(),
        "no result before the last epoch: {stdout}"
    );
    assert_eq!(csv(&dir.path().join("sup/metrics.csv")).len(), 1);
    let err = fails(dir.path(), &strs(&base));
    assert!(err.contains("already holds a supervised run"), "{err}");
    // Flags on resume were ignored without a word; now a change that defines the run is
    // refused by name, and the backend (the one changeable setting) is accepted.
    let resume = ["supervised", "--run-dir", "sup", "--resume"];
    let err = fails(
        dir.path(),
        &[&resume[..], &["--width", "8", "--lr", "0.5"]].concat(),
    );
    assert!(
        err.contains("width: 4 → 8") && err.contains("lr: 0.2 → 0.5"),
        "{err}"
    );
    assert!(err.contains("these may change on resume: backend"), "{err}");
    let stdout = ok(dir.path(), &[&resume[..], &["--backend", "cpu"]].concat());
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["train_examples"], 50);
    assert_eq!(result["steps"], 4);
    assert!(result["top1"].as_f64().unwrap() >= 0.0);
    assert_eq!(csv(&dir.path().join("sup/metrics.csv")).len(), 2);
    assert!(dir.path().join("sup/result.json").exists());
    for (flag, value) in [("--width", "0"), ("--lr", "nan"), ("--label-fraction", "0")] {
        let args = with(
            &["supervised", flag, value],
            &[SMALL_DATA, &["--run-dir", "bad"]].concat(),
        );
        let err = fails(dir.path(), &strs(&args));
        let setting = flag.trim_start_matches("--").replace('-', "_");
        assert!(
            err.contains(&format!("invalid {setting}")),
            "{flag} {value}: {err}"
        );
        assert!(
            !dir.path().join("bad/checkpoints").exists(),
            "{flag}: no work done"
        );
    }
}

#[test]
fn finetune_starts_from_a_pretrained_run_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let pretrain = with(
        &[
            "pretrain", "--preset", "tiny", "--width", "4", "--epochs", "1",
        ],
        &[SMALL_DATA, &["--batch-size", "20", "--run-dir", "simclr"]].concat(),
    );
    ok(dir.path(), &strs(&pretrain));
    let base = with(
        &[
            "finetune",
            "--from-run",
            "simclr",
            "--epochs",
            "2",
            "--min-steps",
            "0",
        ],
        &[
            SMALL_DATA,
            &[
                "--batch-size",
                "20",
                "--label-fraction",
                "0.5",
                "--run-dir",
                "ft",
            ],
        ]
        .concat(),
    );
    let stdout = ok(
        dir.path(),
        &strs(&with(&strs(&base), &["--stop-after-epoch", "1"])),
    );
    assert!(
        stdout.is_empty(),
        "no result before the last epoch: {stdout}"
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ft/supervised.json")).unwrap())
            .unwrap();
    // The recipe of `simclr::eval::finetune`, on the pretrained encoder's shape.
    assert_eq!(saved["start_from"], "simclr");
    assert_eq!(
        (saved["width"].as_u64(), saved["weight_decay"].as_f64()),
        (Some(4), Some(0.0))
    );
    // Another encoder on resume would be another run.
    let other = with(&strs(&base), &["--resume"]);
    let mut other = strs(&other);
    other[2] = "elsewhere";
    let err = fails_with(dir.path(), &other, SETTINGS);
    assert!(err.contains("start_from"), "{err}");
    let stdout = ok(dir.path(), &strs(&with(&strs(&base), &["--resume"])));
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (result["train_examples"].as_u64(), result["steps"].as_u64()),
        (Some(50), Some(4))
    );
    assert!(dir.path().join("ft/result.json").exists());
}

#[test]
fn tsne_writes_csv_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let args = with(
        &["tsne", "--random-init", "--width", "4", "--points", "40"],
        &[SMALL_DATA, &["--iterations", "300", "--out", "map"]].concat(),
    );
    ok(dir.path(), &strs(&args));
    let rows = csv(&dir.path().join("map/tsne.csv"));
    assert_eq!(rows.len(), 40);
    assert!(rows
        .iter()
        .all(|r| r.len() == 3 && r[0].parse::<f64>().is_ok()));
    let png = image::open(dir.path().join("map/tsne.png")).unwrap();
    assert!(png.width() > 500);
    let svg = std::fs::read_to_string(dir.path().join("map/tsne.svg")).unwrap();
    assert!(svg.contains(r#"data-points="40""#));

    // UMAP through the same command, into its own default folder.
    let umap = with(
        &["tsne", "--method", "umap", "--random-init", "--width", "4"],
        &[SMALL_DATA, &["--points", "40", "--umap-epochs", "50"]].concat(),
    );
    let log = ok(dir.path(), &strs(&umap));
    assert!(log.is_empty(), "stdout stays empty: {log}");
    assert_eq!(csv(&dir.path().join("umap/umap.csv")).len(), 40);
    let svg = std::fs::read_to_string(dir.path().join("umap/umap.svg")).unwrap();
    assert!(svg.contains("UMAP of h"), "titled by its method");

    // Settings that give no map, or a meaningless one, are refused by name, and nothing
    // is written.
    let bad = [
        (&["--perplexity", "0"][..], "invalid perplexity"),
        (&["--perplexity", "nan"], "invalid perplexity"),
        (&["--theta", "inf"], "invalid theta"),
        (&["--iterations", "0"], "invalid iterations"),
        (&["--points", "0"], "invalid points: 0 is below 4"),
        (
            &["--method", "umap", "--neighbors", "1"],
            "invalid umap.n_neighbors",
        ),
        (
            &["--method", "umap", "--min-dist", "nan"],
            "invalid umap.min_dist",
        ),
        (&["--method", "pca"], "unknown map method 'pca'"),
    ];
    for (flags, expected) in bad {
        let args = with(
            &["tsne", "--random-init", "--width", "4", "--out", "bad"],
            &[SMALL_DATA, flags].concat(),
        );
        let err = fails(dir.path(), &strs(&args));
        assert!(err.contains(expected), "{flags:?}: {err}");
        assert!(
            !dir.path().join("bad").exists(),
            "{flags:?}: nothing written"
        );
    }
}

#[test]
fn an_experiment_with_unusable_tsne_settings_stops_before_pretraining() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "tsne_points = 2\n[pretrain]\nwidth = 4\nepochs = 1\n",
    )
    .unwrap();
    let args = ["experiment", "--config", "bad.toml", "--out", "study"];
    let err = fails(dir.path(), &args);
    assert!(err.contains("invalid points: 2 is below 4"), "{err}");
    assert!(
        !dir.path().join("study/pretrain").exists(),
        "no pretraining: {err}"
    );
}

#[test]
fn experiment_writes_a_report_and_skips_finished_phases() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tiny.toml"),
        r#"
label_fractions = [0.5, 1.0]
probe_seeds = 1
tsne_points = 40
[pretrain]
width = 4
batch_size = 25
epochs = 1
[pretrain.dataset]
synthetic_train_size = 100
synthetic_test_size = 50
[supervised]
epochs = 1
min_steps = 0
batch_size = 25
[finetune]
epochs = 1
min_steps = 0
batch_size = 25
[tsne]
iterations = 300
"#,
    )
    .unwrap();
    let args = ["experiment", "--config", "tiny.toml", "--out", "study"];
    let stdout = ok(dir.path(), &args);
    assert!(stdout.contains("| SimCLR + linear probe |"), "{stdout}");
    assert!(
        stdout.contains("| Supervised ResNet-18 (end to end) |"),
        "{stdout}"
    );
    let tuned = stdout
        .lines()
        .find(|l| l.starts_with("| SimCLR + fine-tune (end to end) |"))
        .unwrap_or_else(|| panic!("no fine-tune row: {stdout}"));
    assert!(!tuned.contains('–'), "a result at every fraction: {tuned}");
    let html = std::fs::read_to_string(dir.path().join("study/report.html")).unwrap();
    assert!(html.contains("id=\"label-fraction\"") && html.contains("<svg"));
    assert!(html.contains("id=\"umap\"") && html.contains("UMAP of h"));
    assert!(!html.contains("<script"), "self-contained, no scripts");
    for file in [
        "report.md",
        "tsne-simclr.png",
        "tsne-random.png",
        "umap-simclr.png",
        "umap-random.png",
        "probes.json",
    ] {
        assert!(dir.path().join("study").join(file).exists(), "{file}");
    }
    let again = common::simclr(dir.path(), &args);
    assert!(again.status.success());
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(log.contains("pretraining: done"), "{log}");
    assert!(!log.contains("supervised baseline at"), "{log}");
    assert!(!log.contains("fine-tuning the SimCLR encoder at"), "{log}");
    let err = fails(dir.path(), &["experiment", "--preset", "imagenet"]);
    assert!(
        err.contains("unknown experiment preset 'imagenet'"),
        "{err}"
    );
}
