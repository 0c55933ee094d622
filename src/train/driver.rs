//! The native (blocking) shell around a [`Session`]: read-backs that wait, the kNN
//! monitor, metrics and checkpoints in a run folder, resumption. Pretraining and the
//! supervised baseline both run through [`drive`].

use crate::data::Dataset;
use crate::model::SimclrModel;
use crate::train::collective::CollectiveBackend;
use crate::train::config::PretrainConfig;
use crate::train::parallel::{peer_devices, train_on_peers, NodePlan, PeerPlan};
use crate::train::resume;
use crate::train::run_dir::{EpochMetrics, RunDir, StepLoss};
use crate::train::session::{Session, SessionOptions, TrainingTask, LOSS_READ_EVERY};
use crate::train::step::Trainer;
use crate::Result;
use crate::{eval::knn, io::readback};
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;

/// Live progress, for a progress bar or a log.
pub trait Progress {
    /// The run starts (or resumes) with `done` of `total` steps completed.
    fn start(&mut self, _total: usize, _done: usize) {}
    /// Steps up to `step` are done; the latest loss, learning rate and throughput.
    fn step(&mut self, _step: usize, _loss: f64, _lr: f64, _views_per_s: f64) {}
    /// An epoch ended.
    fn epoch(&mut self, _metrics: &EpochMetrics) {}
}

/// Progress that is not shown.
pub struct Silent;
impl Progress for Silent {}

/// Options of one invocation.
pub struct PretrainOptions<'a> {
    /// The run folder; without one nothing is written.
    pub run_dir: Option<&'a RunDir>,
    /// Continue from the run folder's last checkpoint.
    pub resume: bool,
    /// End this invocation after this many completed epochs (resume later).
    pub stop_after_epoch: Option<usize>,
}

/// What a pretraining invocation leaves.
pub struct PretrainOutcome<B: AutodiffBackend> {
    /// The trained network.
    pub model: SimclrModel<B>,
    /// One row per completed epoch (including earlier invocations when resumed).
    pub metrics: Vec<EpochMetrics>,
    /// The loss curve, one row per read-back.
    pub steps: Vec<StepLoss>,
}

/// Pretrains SimCLR on `dataset.train`, monitoring with kNN on `dataset.test`.
pub fn pretrain<B: CollectiveBackend>(
    config: &PretrainConfig,
    dataset: &Dataset,
    options: &PretrainOptions,
    progress: &mut dyn Progress,
    device: &B::Device,
) -> Result<PretrainOutcome<B>> {
    pretrain_on_nodes(config, dataset, options, None, progress, device)
}

/// [`pretrain`] as one of several machines (`node`); only the first machine reads and
/// writes the run folder, the others take its state when they join.
pub fn pretrain_on_nodes<B: CollectiveBackend>(
    config: &PretrainConfig,
    dataset: &Dataset,
    options: &PretrainOptions,
    node: Option<NodePlan>,
    progress: &mut dyn Progress,
    device: &B::Device,
) -> Result<PretrainOutcome<B>> {
    if let Some(node) = &node {
        node.validate()?;
    }
    let trainer = Trainer::<B>::new(config, &dataset.train, dataset.normalization, device)?;
    let session_options = SessionOptions {
        read_every: LOSS_READ_EVERY,
        knn_every: config.knn_every,
        checkpoint_every: config.checkpoint_every,
        stop_after_epoch: options.stop_after_epoch,
    };
    let mut session = Session::new(trainer, dataset, session_options);
    let resolved = PretrainConfig {
        image_size: Some(config.image_size.unwrap_or(dataset.train.height())),
        normalization: Some(dataset.normalization),
        ..config.clone()
    };
    let run_dir = options
        .run_dir
        .filter(|_| node.as_ref().is_none_or(|n| n.rank == 0));
    let mut _lock = None;
    if let Some(run) = run_dir {
        let check = || match resume::saved_config(run, &resume::PRETRAIN, options.resume)? {
            Some(saved) => resume::check(run, &resume::PRETRAIN, &saved, &resolved),
            None => Ok(()),
        };
        _lock = Some(resume::take_over(&mut session, run, options.resume, check)?);
        run.save_config(&resolved)?;
    }
    let knn = |trainer: &Trainer<B>, data: &Dataset| {
        let encoder = trainer.model.encoder.valid();
        knn::evaluate(
            &encoder,
            &data.train,
            &data.test,
            &data.normalization,
            &config.knn,
            device,
        )
    };
    if config.devices > 1 || node.is_some() {
        let plan = PeerPlan {
            peers: config.devices,
            sync_batch_norm: config.sync_batch_norm,
            run_dir,
            settings: resume::node_settings(&resolved, dataset),
            node,
        };
        let devices = peer_devices::<B>(device, config.devices);
        train_on_peers(&mut session, &plan, &devices, progress, knn)?;
    } else {
        drive(&mut session, run_dir, progress, knn)?;
    }
    let (trainer, metrics, steps) = session.finish();
    Ok(PretrainOutcome {
        model: trainer.model,
        metrics,
        steps,
    })
}

/// Runs `session` until it finishes, waiting for each read-back; `knn` measures the kNN
/// monitor's top-1 when it is due. With a run folder, each epoch's end writes the
/// checkpoint, `metrics.csv` and `steps.csv`.
pub fn drive<B, T, K>(
    session: &mut Session<B, T>,
    run: Option<&RunDir>,
    progress: &mut dyn Progress,
    mut knn: K,
) -> Result<()>
where
    B: AutodiffBackend,
    T: TrainingTask<B>,
    K: FnMut(&T, &Dataset) -> Result<Option<f64>>,
{
    progress.start(session.plan().total_steps, session.position().step);
    while !session.is_finished() {
        let out = session.step()?;
        if let Some(losses) = out.losses {
            let report = session.record_losses(readback::floats(losses)?)?;
            progress.step(report.step, report.latest, report.lr, report.views_per_s);
        }
        if !out.epoch_end {
            continue;
        }
        let knn_top1 = if session.knn_due() {
            knn(session.task(), session.data())?
        } else {
            None
        };
        let row = session.end_epoch(knn_top1);
        if let Some(run) = run {
            // Rows first: a kill between these writes leaves rows past the checkpoint, which
            // resuming drops and writes again, never a checkpoint past its rows.
            run.save_metrics(session.metrics())?;
            run.save_steps(session.curve())?;
            let checkpoint = session.task().checkpoint()?;
            run.save_checkpoint(&checkpoint, row.epoch, session.keep_checkpoint())?;
        }
        progress.epoch(&row);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::AutodiffCpu;
    use crate::data::DatasetSpec;
    use crate::error::{CheckpointProblem, Recovery};
    use crate::eval::knn::KnnConfig;
    use crate::test_support::encoder_tensors;
    use crate::train::config::Preset;
    use crate::Error;

    fn tiny() -> PretrainConfig {
        PretrainConfig {
            width: 4,
            batch_size: 16,
            epochs: 2,
            projection_dim: 16,
            knn: KnnConfig {
                k: 5,
                ..KnnConfig::default()
            },
            dataset: DatasetSpec {
                synthetic_train_size: 64,
                synthetic_test_size: 30,
                ..DatasetSpec::default()
            },
            ..PretrainConfig::preset(Preset::Tiny)
        }
    }

    /// Three epochs, each leaving a kept checkpoint copy.
    fn copied_every_epoch() -> PretrainConfig {
        PretrainConfig {
            epochs: 3,
            checkpoint_every: 1,
            ..tiny()
        }
    }

    /// Every encoder tensor (weights and BatchNorm buffers) by name, and the head's output
    /// layer.
    fn weights(model: &SimclrModel<AutodiffCpu>) -> Vec<(String, Vec<u8>)> {
        let mut tensors = encoder_tensors(&model.encoder);
        let head = model.projection.fc2.weight.val().into_data();
        tensors.push(("head".into(), head.as_bytes().to_vec()));
        tensors
    }

    fn run(
        config: &PretrainConfig,
        data: &Dataset,
        run_dir: Option<&RunDir>,
        resume: bool,
        stop_after_epoch: Option<usize>,
    ) -> Result<PretrainOutcome<AutodiffCpu>> {
        let options = PretrainOptions {
            run_dir,
            resume,
            stop_after_epoch,
        };
        pretrain::<AutodiffCpu>(config, data, &options, &mut Silent, &Default::default())
    }

    #[test]
    fn resuming_gives_the_same_weights_as_an_uninterrupted_run() {
        let config = tiny();
        let data = config.dataset.load().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let straight_dir = RunDir::new(dir.path().join("straight"));
        let straight = run(&config, &data, Some(&straight_dir), false, None).unwrap();
        assert_eq!(straight.metrics.len(), 2);

        let split_dir = RunDir::new(dir.path().join("split"));
        let partial = run(&config, &data, Some(&split_dir), false, Some(1)).unwrap();
        assert_eq!(partial.metrics.len(), 1);
        assert!(weights(&partial.model) != weights(&straight.model));
        let resumed = run(&config, &data, Some(&split_dir), true, None).unwrap();
        assert!(weights(&resumed.model) == weights(&straight.model));
        assert_eq!(resumed.metrics.len(), 2);
        assert_eq!(split_dir.load_metrics().unwrap().len(), 2);
        assert_eq!(resumed.metrics[1].loss, straight.metrics[1].loss);
        assert!(straight_dir.last_checkpoint().exists());
    }

    #[test]
    fn a_run_killed_before_its_first_checkpoint_resumes_from_the_start() {
        let config = tiny();
        let data = config.dataset.load().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let straight = run(&config, &data, None, false, None).unwrap();
        // What a run killed during its first epoch leaves: its configuration, a partial
        // temporary checkpoint, no checkpoint.
        let stuck = RunDir::new(dir.path().join("stuck"));
        run(&config, &data, Some(&stuck), false, Some(0)).unwrap();
        assert!(stuck.has_run() && !stuck.last_checkpoint().exists());
        let temp = stuck
            .last_checkpoint()
            .with_file_name(format!(".last.ckpt{}abc123", crate::io::atomic::TEMP_MARK));
        std::fs::write(&temp, b"half a checkpoint").unwrap();
        let resumed = run(&config, &data, Some(&stuck), true, None).unwrap();
        assert!(weights(&resumed.model) == weights(&straight.model));
        assert_eq!(stuck.load_metrics().unwrap().len(), 2);
        assert!(
            !temp.exists(),
            "stale temporary files are removed on resume"
        );
        assert!(stuck.last_checkpoint().exists());
    }

    #[test]
    fn a_run_killed_between_its_epoch_end_writes_resumes_whole() {
        let config = copied_every_epoch();
        let data = config.dataset.load().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let straight_dir = RunDir::new(dir.path().join("straight"));
        let straight = run(&config, &data, Some(&straight_dir), false, None).unwrap();
        let numbers = |run: &RunDir| -> Vec<(usize, usize, f64)> {
            let rows = run.load_metrics().unwrap();
            rows.iter().map(|m| (m.epoch, m.step, m.loss)).collect()
        };

        // Killed after epoch 2's rows, before its checkpoint: the rows are ahead of
        // `last.ckpt` (epoch 1's) and are written again.
        let ahead = RunDir::new(dir.path().join("ahead"));
        run(&config, &data, Some(&ahead), false, Some(2)).unwrap();
        std::fs::copy(ahead.epoch_checkpoint(1), ahead.last_checkpoint()).unwrap();
        std::fs::remove_file(ahead.epoch_checkpoint(2)).unwrap();
        let resumed = run(&config, &data, Some(&ahead), true, None).unwrap();
        assert!(weights(&resumed.model) == weights(&straight.model));
        assert_eq!(numbers(&ahead), numbers(&straight_dir));

        // Killed while copying epoch 2's checkpoint: the copy is made on resume.
        let copying = RunDir::new(dir.path().join("copying"));
        run(&config, &data, Some(&copying), false, Some(2)).unwrap();
        std::fs::remove_file(copying.epoch_checkpoint(2)).unwrap();
        let epoch_2 = std::fs::read(copying.last_checkpoint()).unwrap();
        let resumed = run(&config, &data, Some(&copying), true, None).unwrap();
        assert!(weights(&resumed.model) == weights(&straight.model));
        assert_eq!(numbers(&copying), numbers(&straight_dir));
        for epoch in 1..=3 {
            assert!(copying.epoch_checkpoint(epoch).exists(), "epoch {epoch}");
        }
        assert_eq!(std::fs::read(copying.epoch_checkpoint(2)).unwrap(), epoch_2);
    }

    #[test]
    fn resuming_with_settings_that_define_the_run_changed_is_refused() {
        let config = tiny();
        let data = config.dataset.load().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let folder = RunDir::new(dir.path().join("run"));
        run(&config, &data, Some(&folder), false, Some(1)).unwrap();
        let saved = std::fs::read(folder.config_path()).unwrap();
        let wider = PretrainConfig { width: 8, ..tiny() };
        let err = run(&wider, &data, Some(&folder), true, None).err().unwrap();
        assert!(
            matches!(&err, crate::Error::ResumeChanged { changes, .. } if changes == &["width: 4 → 8"]),
            "{err}"
        );
        assert_eq!(std::fs::read(folder.config_path()).unwrap(), saved);
        let watched = PretrainConfig {
            knn_every: 2,
            checkpoint_every: 1,
            ..tiny()
        };
        run(&watched, &data, Some(&folder), true, None).unwrap();
        assert_eq!(folder.load_config().unwrap().knn_every, 2);
    }

    #[test]
    fn damaged_and_foreign_checkpoints_are_refused_by_name() {
        let config = copied_every_epoch();
        let data = config.dataset.load().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let folder = RunDir::new(dir.path().join("run"));
        run(&config, &data, Some(&folder), false, Some(2)).unwrap();
        let last = folder.last_checkpoint();
        let mut bytes = std::fs::read(&last).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(&last, &bytes).unwrap();
        let err = run(&config, &data, Some(&folder), true, None)
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(
            text.contains("epoch-0002.ckpt (epoch 2) is intact"),
            "{text}"
        );
        let intact = |epoch| Recovery::IntactCopy {
            epoch,
            copy: folder.epoch_checkpoint(epoch),
        };
        match err {
            Error::Checkpoint {
                path,
                problem: CheckpointProblem::Damaged,
                recovery,
            } => assert_eq!((path, recovery), (last.clone(), intact(2))),
            other => panic!("expected a damaged last.ckpt, got {other}"),
        }
        std::fs::write(folder.epoch_checkpoint(2), b"SIMCLRCK").unwrap();
        let err = run(&config, &data, Some(&folder), true, None)
            .err()
            .unwrap();
        assert!(
            matches!(&err, Error::Checkpoint { recovery, .. } if *recovery == intact(1)),
            "{err}"
        );
        std::fs::copy(folder.epoch_checkpoint(1), &last).unwrap();
        run(&config, &data, Some(&folder), true, None).unwrap();
        assert_eq!(folder.load_metrics().unwrap().len(), 3);

        // A checkpoint of a wider model, put in this run's place.
        let wide = RunDir::new(dir.path().join("wide"));
        let wider = PretrainConfig { width: 8, ..tiny() };
        run(&wider, &data, Some(&wide), false, Some(1)).unwrap();
        std::fs::copy(wide.last_checkpoint(), &last).unwrap();
        let err = run(&config, &data, Some(&folder), true, None)
            .err()
            .unwrap();
        match err {
            Error::Checkpoint {
                problem: CheckpointProblem::ForeignModel { difference },
                recovery: Recovery::NotAssessed,
                ..
            } => assert!(
                difference.contains("[8, 3, 3, 3] in the file"),
                "{difference}"
            ),
            other => panic!("expected a foreign model, got {other}"),
        }
    }

    #[test]
    fn loss_falls_and_knn_is_reported() {
        let config = PretrainConfig {
            epochs: 4,
            ..tiny()
        };
        let data = config.dataset.load().unwrap();
        let out = run(&config, &data, None, false, None).unwrap();
        let losses: Vec<f64> = out.metrics.iter().map(|m| m.loss).collect();
        assert!(losses[3] < losses[0], "{losses:?}");
        let knn = out.metrics[3].knn_top1.expect("kNN measured");
        assert!((0.0..=1.0).contains(&knn));
    }

    #[test]
    fn batch_larger_than_dataset_is_an_error() {
        let config = PretrainConfig {
            batch_size: 128,
            ..tiny()
        };
        let data = config.dataset.load().unwrap();
        let err = run(&config, &data, None, false, None).err().unwrap();
        assert!(
            err.to_string()
                .contains("batch size 128 is larger than the 64 training images"),
            "{err}"
        );
    }
}
