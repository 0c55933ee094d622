//! A run killed with SIGKILL at any moment, again and again, resumes with the same command
//! and ends exactly as an unbroken run: same metrics, same loss curve, same weights.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{csv, ok};

/// Kills in the loop (half at random moments, half the moment a file is being written).
const KILLS: usize = 24;

fn run_args(resume: bool) -> Vec<&'static str> {
    let mut args = vec![
        "pretrain",
        "--run-dir",
        "run",
        "--preset",
        "tiny",
        "--width",
        "8",
        "--batch-size",
        "25",
        "--synthetic-train",
        "200",
        "--synthetic-test",
        "100",
        "--epochs",
        "6",
        "--checkpoint-every",
        "1",
        "--seed",
        "5",
    ];
    if resume {
        args.push("--resume");
    }
    args
}

fn start(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_simclr"))
        .args(run_args(true))
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the simclr binary starts")
}

/// Whether a temporary file of an atomic write is in the run folder or its checkpoints.
fn writing(run: &Path) -> bool {
    [run.to_path_buf(), run.join("checkpoints")]
        .iter()
        .any(|dir| {
            std::fs::read_dir(dir).is_ok_and(|entries| {
                entries
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            })
        })
}

/// A deterministic stream of delays (a linear congruential generator).
struct Delays(u64);
impl Delays {
    fn next(&mut self, max_ms: u64) -> Duration {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Duration::from_millis((self.0 >> 33) % max_ms)
    }
}

/// What the run left: metrics and loss curve without timings, and the encoder's features
/// of the test images (the exported file's metadata order varies between exports).
fn outcome(dir: &Path, features: &str) -> (Vec<Vec<String>>, Vec<Vec<String>>, Vec<u8>) {
    ok(dir, &["embed", "--run-dir", "run", "--out", features]);
    let metrics = csv(&dir.join("run/metrics.csv"))
        .into_iter()
        .map(|row| row[..5].to_vec())
        .collect();
    let steps = csv(&dir.join("run/steps.csv"));
    (metrics, steps, std::fs::read(dir.join(features)).unwrap())
}

#[test]
fn a_run_killed_at_any_moment_resumes_and_ends_as_an_unbroken_one() {
    let unbroken = tempfile::tempdir().unwrap();
    let began = Instant::now();
    ok(unbroken.path(), &run_args(false));
    let whole_run = began.elapsed();
    let expected = outcome(unbroken.path(), "h.npy");

    let broken = tempfile::tempdir().unwrap();
    let (dir, run) = (broken.path(), broken.path().join("run"));
    let mut delays = Delays(11);
    let max_ms = whole_run.as_millis() as u64 + 1;
    let (mut during_writes, mut finished_early) = (0, 0);
    for kill in 0..KILLS {
        let mut child = start(dir);
        let deadline = Instant::now() + delays.next(max_ms);
        let wait_for_a_write = kill % 2 == 1;
        let mut caught_writing = false;
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if wait_for_a_write && writing(&run) {
                caught_writing = true;
                break;
            }
            if !wait_for_a_write && Instant::now() >= deadline {
                break;
            }
            if Instant::now() >= deadline + whole_run {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "kill {kill}: the run failed on its own");
                finished_early += 1;
                // Finished: start again from nothing for the kills still to come.
                std::fs::remove_dir_all(&run).unwrap();
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                during_writes += usize::from(caught_writing);
            }
        }
    }
    ok(dir, &run_args(true));
    eprintln!(
        "{KILLS} kills: {during_writes} during a file write, {finished_early} runs finished first"
    );
    assert!(
        during_writes >= 3,
        "only {during_writes} kills during writes"
    );
    let (metrics, steps, features) = outcome(dir, "h.npy");
    assert_eq!(metrics, expected.0, "metrics.csv");
    assert_eq!(steps, expected.1, "steps.csv");
    assert!(features == expected.2, "the encoders' features differ");
}
