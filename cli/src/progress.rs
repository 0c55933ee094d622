//! The training progress bar.

use indicatif::{ProgressBar, ProgressStyle};
use simclr::train::driver::Progress;
use simclr::train::run_dir::EpochMetrics;

/// An indicatif bar over all steps, with one printed line per epoch.
pub struct Bar {
    bar: ProgressBar,
    epochs: usize,
}

impl Bar {
    /// A bar for a run of `epochs` epochs.
    pub fn new(epochs: usize) -> Self {
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} steps  {msg}  ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Self { bar, epochs }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn start(&mut self, total: usize, done: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
        self.bar.reset_eta();
    }

    fn step(&mut self, step: usize, loss: f64, lr: f64, views_per_s: f64) {
        self.bar.set_position(step as u64);
        self.bar.set_message(format!(
            "loss {loss:.4}  lr {lr:.2e}  {views_per_s:.0} views/s"
        ));
    }

    fn epoch(&mut self, m: &EpochMetrics) {
        // Runs of many short epochs (small label subsets) print about 20 lines.
        let every = (self.epochs / 20).max(1);
        if !m.epoch.is_multiple_of(every) && m.epoch != self.epochs {
            return;
        }
        let knn = m
            .knn_top1
            .map(|v| format!("  kNN top-1 {:.2}%", 100.0 * v))
            .unwrap_or_default();
        let line = format!(
            "epoch {}/{}  loss {:.4}{knn}  {:.0} views/s  {:.1} s",
            m.epoch, self.epochs, m.loss, m.views_per_s, m.seconds
        );
        // Without a terminal the bar is hidden and would swallow the line: logs need it.
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}

/// Ends the process with an error when training makes no progress for `timeout` after it
/// started: with several machines a peer that died (kill -9, a lost link) leaves the
/// others waiting in burn-collective, which has no timeout of its own. Checkpoints are
/// written atomically, so ending at any moment leaves a run that resumes.
pub struct Watchdog<'a> {
    inner: &'a mut dyn Progress,
    last_beat: std::sync::Arc<std::sync::Mutex<std::time::Instant>>,
    timeout: std::time::Duration,
    armed: bool,
}

impl<'a> Watchdog<'a> {
    /// Watches `inner`'s progress.
    pub fn new(inner: &'a mut dyn Progress, timeout: std::time::Duration) -> Self {
        Self {
            inner,
            last_beat: std::sync::Arc::new(std::sync::Mutex::new(std::time::Instant::now())),
            timeout,
            armed: false,
        }
    }

    fn beat(&self) {
        if let Ok(mut last) = self.last_beat.lock() {
            *last = std::time::Instant::now();
        }
    }

    fn arm(&mut self) {
        if std::mem::replace(&mut self.armed, true) {
            return;
        }
        let (last_beat, timeout) = (self.last_beat.clone(), self.timeout);
        std::thread::spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let quiet = last_beat.lock().map(|l| l.elapsed()).unwrap_or_default();
            if quiet > timeout {
                die(&format!(
                    "error: no training progress for {} s: a peer or node stopped or cannot be \
                     reached, so this one stops too; restart every node with the same command \
                     and --resume\n",
                    timeout.as_secs()
                ));
            }
        });
    }
}

impl Progress for Watchdog<'_> {
    fn start(&mut self, total: usize, done: usize) {
        self.beat();
        self.arm();
        self.inner.start(total, done);
    }

    fn step(&mut self, step: usize, loss: f64, lr: f64, views_per_s: f64) {
        self.beat();
        self.inner.step(step, loss, lr, views_per_s);
    }

    fn epoch(&mut self, metrics: &EpochMetrics) {
        self.beat();
        self.inner.epoch(metrics);
    }
}

/// Prints `message` and ends the process at once with the status of an interrupted run. A peer stuck in a broken
/// collective can hold the standard error lock (panicking threads print backtraces) or
/// hang the C library's exit handlers, so neither is used.
fn die(message: &str) -> ! {
    #[cfg(unix)]
    {
        // SAFETY: writing a valid buffer to file descriptor 2 and ending the process, which
        // touches no Rust state.
        unsafe {
            libc::write(2, message.as_ptr().cast(), message.len());
            libc::_exit(simclr::error::ErrorKind::Interrupted.exit_code())
        }
    }
    #[cfg(not(unix))]
    {
        eprint!("{message}");
        std::process::exit(simclr::error::ErrorKind::Interrupted.exit_code())
    }
}
