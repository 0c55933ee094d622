//! `--nodes`: separate processes joined through `simclr coordinator`, all on 127.0.0.1.

mod common;
use common::{csv, ok, SMALL_LARS as RUN, TINY_BENCH};
use std::net::TcpListener;
use std::path::Path;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A child whose standard error goes to a file: a pipe that nobody reads until the child
/// ends fills up (panic backtraces) and stalls it.
struct Running {
    child: Child,
    log: PathBuf,
}

/// How a child ended.
struct Ended {
    status: ExitStatus,
    stderr: Vec<u8>,
}

fn spawn(dir: &Path, args: &[String]) -> Running {
    spawn_with(dir, args, Stdio::null())
}

fn spawn_with(dir: &Path, args: &[String], stdout: Stdio) -> Running {
    static CHILDREN: AtomicUsize = AtomicUsize::new(0);
    let n = CHILDREN.fetch_add(1, Ordering::Relaxed);
    let log = dir.join(format!("stderr-{n}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_simclr"))
        .args(args)
        .current_dir(dir)
        .stdout(stdout)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Running { child, log }
}

/// A coordinator, stopped when dropped.
struct Coordinator(Running, u16);

impl Coordinator {
    fn start(dir: &Path) -> Self {
        let port = free_port();
        let child = spawn(
            dir,
            &["coordinator".into(), "--port".into(), port.to_string()],
        );
        Self(child, port)
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

/// `pretrain` as node `rank` of two, with `extra` flags.
fn node(dir: &Path, coordinator: u16, rank: usize, extra: &[&str]) -> Running {
    let mut args: Vec<String> = ["pretrain", "--run-dir", "run", "--nodes", "2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend([
        "--node-rank".into(),
        rank.to_string(),
        "--coordinator".into(),
        format!("127.0.0.1:{coordinator}"),
        "--node-address".into(),
        format!("127.0.0.1:{}", free_port()),
    ]);
    args.extend(RUN.iter().chain(extra).map(|s| s.to_string()));
    spawn(dir, &args)
}

/// Waits for `running` at most `limit`, killing it after.
fn finish(mut running: Running, limit: Duration) -> Ended {
    let start = Instant::now();
    while running.child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = running.child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = running.child.wait().unwrap();
    let stderr = std::fs::read(&running.log).unwrap_or_default();
    Ended { status, stderr }
}

fn losses(path: &Path) -> Vec<f64> {
    csv(path).iter().map(|r| r[1].parse().unwrap()).collect()
}

#[test]
fn two_processes_train_as_two_local_peers() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two, local) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path());
    std::fs::create_dir_all(&one).unwrap();
    std::fs::create_dir_all(&two).unwrap();
    let coordinator = Coordinator::start(local);
    let epochs = ["--epochs", "2", "--sync-bn"];
    let second = node(&two, coordinator.1, 1, &epochs);
    let first = node(&one, coordinator.1, 0, &epochs);
    let limit = Duration::from_secs(120);
    let (first, second) = (finish(first, limit), finish(second, limit));
    for (rank, out) in [(0, &first), (1, &second)] {
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "node {rank}:\n{log}");
    }
    // Only rank 0 wrote a run folder.
    assert!(one.join("run/checkpoints/last.ckpt").exists());
    assert!(!two.join("run").exists());

    let mut args = vec!["pretrain", "--run-dir", "local", "--devices", "2"];
    args.extend_from_slice(RUN);
    args.extend_from_slice(&epochs);
    ok(local, &args);
    let (nodes, peers) = (
        losses(&one.join("run/steps.csv")),
        losses(&local.join("local/steps.csv")),
    );
    assert_eq!(nodes.len(), peers.len());
    for (a, b) in nodes.iter().zip(&peers) {
        assert!(((a - b) / b).abs() <= 1e-6, "{nodes:?} vs {peers:?}");
    }
}

#[test]
fn an_unreachable_coordinator_and_mismatched_nodes_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let nowhere = free_port();
    let start = Instant::now();
    let lone = finish(
        node(dir, nowhere, 1, &["--connect-timeout", "2"]),
        Duration::from_secs(60),
    );
    let log = String::from_utf8_lossy(&lone.stderr);
    assert!(!lone.status.success());
    let address = format!("cannot reach the coordinator at 127.0.0.1:{nowhere}");
    assert!(log.contains(&address), "{log}");
    assert!(start.elapsed() < Duration::from_secs(30));

    let coordinator = Coordinator::start(dir);
    let second = node(dir, coordinator.1, 1, &["--seed", "4", "--epochs", "1"]);
    let first = node(dir, coordinator.1, 0, &["--seed", "3", "--epochs", "1"]);
    let limit = Duration::from_secs(60);
    for out in [finish(first, limit), finish(second, limit)] {
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{log}");
        assert!(
            log.contains("started with other settings (seed: 4 there, 3 on peer 0)"),
            "{log}"
        );
    }
}

#[test]
fn a_killed_node_stops_the_other_and_the_run_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let coordinator = Coordinator::start(dir);
    let long = ["--epochs", "40", "--peer-timeout", "5"];
    let mut second = node(dir, coordinator.1, 1, &long);
    let first = node(dir, coordinator.1, 0, &long);
    let checkpoint = dir.join("run/checkpoints/last.ckpt");
    let start = Instant::now();
    while !checkpoint.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(checkpoint.exists(), "no checkpoint within a minute");
    second.child.kill().unwrap(); // SIGKILL
    let _ = second.child.wait();
    let killed_at = Instant::now();
    let out = finish(first, Duration::from_secs(60));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{log}");
    // Its link to the killed node breaks, or, where nothing notices, the watchdog ends it.
    assert!(log.contains("--resume"), "{log}");
    assert!(killed_at.elapsed() < Duration::from_secs(30), "{log}");
    let done = csv(&dir.join("run/metrics.csv")).len();
    assert!(done < 40, "the run ended before the kill");

    // The same commands with --resume, after a fresh coordinator, finish the run.
    drop(coordinator);
    let coordinator = Coordinator::start(dir);
    let resumed = ["--epochs", "40", "--resume"];
    let second = node(dir, coordinator.1, 1, &resumed);
    let first = node(dir, coordinator.1, 0, &resumed);
    let limit = Duration::from_secs(300);
    for out in [finish(first, limit), finish(second, limit)] {
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{log}");
    }
    let metrics = csv(&dir.join("run/metrics.csv"));
    assert_eq!(metrics.len(), 40);
    assert_eq!(metrics[39][1], "200", "forty epochs of five steps");
}

#[test]
fn bench_takes_the_node_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let coordinator = Coordinator::start(dir);
    let bench = |rank: usize| {
        let args: Vec<String> = TINY_BENCH
            .iter()
            .chain(&["--nodes", "2", "--node-rank"])
            .map(|s| s.to_string())
            .chain([
                rank.to_string(),
                "--coordinator".into(),
                format!("127.0.0.1:{}", coordinator.1),
                "--node-address".into(),
                format!("127.0.0.1:{}", free_port()),
            ])
            .collect();
        let stdout = std::fs::File::create(dir.join(format!("bench-{rank}.json"))).unwrap();
        spawn_with(dir, &args, stdout.into())
    };
    let (second, first) = (bench(1), bench(0));
    let limit = Duration::from_secs(120);
    for (rank, out) in [(0, finish(first, limit)), (1, finish(second, limit))] {
        let stdout = std::fs::read_to_string(dir.join(format!("bench-{rank}.json"))).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .unwrap_or_default();
        let report: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(report["collective_bytes_per_step"].as_u64().unwrap() > 4 * 10_000);
    }
}
