//! One owner per run folder: a second process that would train or write into a folder in
//! use refuses at once, naming the process that holds it, while reading the run stays
//! allowed; once that process is gone (even killed), the same command resumes.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{csv, fails_with, ok, RUN_FOLDER, SMALL_LARS};

/// A run long enough to still be training when the second process starts (five steps an
/// epoch, 400 epochs).
fn run_args() -> Vec<&'static str> {
    let mut args = vec!["pretrain", "--run-dir", "run", "--epochs", "400"];
    args.extend_from_slice(SMALL_LARS);
    args
}

fn spawn(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_simclr"))
        .args(run_args())
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the simclr binary starts")
}

/// Waits until the first epoch's checkpoint exists: the run holds its lock by then.
fn wait_for_checkpoint(run: &Path, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !run.join("checkpoints/last.ckpt").exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the first run ended early"
        );
        assert!(Instant::now() < deadline, "no checkpoint within 120 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_second_process_on_a_run_in_use_refuses_and_resumes_once_it_is_free() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = dir.join("run");
    let mut first = spawn(dir);
    wait_for_checkpoint(&run, &mut first);

    let mut resume = run_args();
    resume.push("--resume");
    let started = Instant::now();
    let err = fails_with(dir, &resume, RUN_FOLDER);
    assert!(
        err.contains(&format!("in use by process {}", first.id())),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "refused at once, not after training"
    );

    // Reading the run is allowed while it trains; writing into its folder is not.
    ok(dir, &["embed", "--run-dir", "run", "--out", "h.npy"]);
    assert!(dir.join("h.npy").exists());
    let err = fails_with(
        dir,
        &["embed", "--run-dir", "run", "--out", "run/h.npy"],
        RUN_FOLDER,
    );
    assert!(
        err.contains(&format!("in use by process {}", first.id())),
        "{err}"
    );
    assert!(!run.join("h.npy").exists());

    // Killed: the operating system drops its lock, and the same command takes over.
    first.kill().unwrap();
    first.wait().unwrap();
    let rows = csv(&run.join("metrics.csv")).len();
    let stop = (rows + 1).to_string();
    resume.extend_from_slice(&["--stop-after-epoch", stop.as_str()]);
    ok(dir, &resume);
    assert_eq!(csv(&run.join("metrics.csv")).len(), rows + 1);
}
