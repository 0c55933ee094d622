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
