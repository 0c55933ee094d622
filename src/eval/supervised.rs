//! The supervised baseline's native driver: the same ResNet-18 plus a linear classifier,
//! trained end to end with cross-entropy on a labelled fraction of the training split
//! (random crop with 4-pixel zero padding, horizontal flip; SGD with momentum, cosine
//! schedule) in a run folder that resumes, then tested, with the result saved beside it.
//! The training task itself is [`super::supervised_task`].

use crate::data::Dataset;
use crate::train::driver::{drive, PretrainOptions, Progress};
use crate::train::resume;
use crate::train::session::{Session, SessionOptions};
use crate::Result;
use burn::tensor::backend::AutodiffBackend;

pub use super::supervised_config::SupervisedConfig;
pub use super::supervised_task::{SupervisedResult, SupervisedTrainer};

/// The run folder's configuration file.
pub const CONFIG_FILE: &str = "supervised.json";
/// The run folder's result file.
pub const RESULT_FILE: &str = "result.json";

/// Trains the baseline (resuming from the run folder when asked) and evaluates it on the
/// test split; `None` when the invocation stopped early (`stop_after_epoch`).
pub fn train_supervised<B: AutodiffBackend>(
    config: &SupervisedConfig,
    data: &Dataset,
    options: &PretrainOptions,
    progress: &mut dyn Progress,
    device: &B::Device,
) -> Result<Option<SupervisedResult>> {
    let trainer = SupervisedTrainer::<B>::new(config, data, device)?;
    let session_options = SessionOptions {
        // One read-back per epoch: the epoch's mean loss is all the baseline reports.
        read_every: usize::MAX,
        knn_every: 0,
        checkpoint_every: 0,
        stop_after_epoch: options.stop_after_epoch,
    };
    let mut session = Session::new(trainer, data, session_options);
    let _lock = match options.run_dir {
        Some(run) => {
            let lock = resume::take_over(&mut session, run, options.resume, || {
                let saved = resume::saved_config(run, &resume::SUPERVISED, options.resume)?;
                match saved {
                    Some(saved) => resume::check(run, &resume::SUPERVISED, &saved, config),
                    None => Ok(()),
                }
            })?;
            run.save_json(resume::SUPERVISED.file, config)?;
            Some(lock)
        }
        None => None,
    };
    drive(&mut session, options.run_dir, progress, |_, _| Ok(None))?;
    let (trainer, _, _) = session.finish();
    if !trainer.is_complete() {
        return Ok(None);
    }
    let result = trainer.test(data).read()?;
    if let Some(run) = options.run_dir {
        run.save_json(RESULT_FILE, &result)?;
    }
    Ok(Some(result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::AutodiffCpu;
    use crate::data::DatasetSpec;
    use crate::train::driver::Silent;
    use crate::train::run_dir::RunDir;

    fn tiny() -> (SupervisedConfig, Dataset) {
        let config = SupervisedConfig {
            dataset: DatasetSpec {
                synthetic_train_size: 120,
                synthetic_test_size: 60,
                ..DatasetSpec::default()
            },
            width: 4,
            label_fraction: 0.5,
            epochs: 2,
            batch_size: 20,
            ..SupervisedConfig::default()
        };
        let data = config.dataset.load().unwrap();
        (config, data)
    }

    fn run(
        config: &SupervisedConfig,
        data: &Dataset,
        dir: &RunDir,
        resume: bool,
        stop: Option<usize>,
    ) -> Option<SupervisedResult> {
        let options = PretrainOptions {
            run_dir: Some(dir),
            resume,
            stop_after_epoch: stop,
        };
        train_supervised::<AutodiffCpu>(config, data, &options, &mut Silent, &Default::default())
            .unwrap()
    }

    #[test]
    fn resuming_gives_the_same_result_as_an_unbroken_run() {
        let (config, data) = tiny();
        let dir = tempfile::tempdir().unwrap();
        let straight = run(
            &config,
            &data,
            &RunDir::new(dir.path().join("a")),
            false,
            None,
        )
        .unwrap();
        assert_eq!(straight.train_examples, 60);
        assert_eq!(straight.steps, 6);
        assert_eq!(
            straight.report.confusion.iter().flatten().sum::<usize>(),
            60
        );
        let split_dir = RunDir::new(dir.path().join("b"));
        assert!(run(&config, &data, &split_dir, false, Some(1)).is_none());
        assert_eq!(split_dir.load_metrics().unwrap().len(), 1);
        let resumed = run(&config, &data, &split_dir, true, None).unwrap();
        assert_eq!(resumed, straight);
        assert_eq!(split_dir.load_metrics().unwrap().len(), 2);
        let saved: SupervisedResult = split_dir.load_json(RESULT_FILE).unwrap().unwrap();
        assert_eq!(saved, straight);
    }

    #[test]
    fn learns_the_synthetic_classes() {
        let (config, _) = tiny();
        let config = SupervisedConfig {
            dataset: DatasetSpec {
                synthetic_train_size: 300,
                synthetic_test_size: 100,
                ..DatasetSpec::default()
            },
            label_fraction: 1.0,
            epochs: 10,
            width: 8,
            batch_size: 30,
            ..config
        };
        let data = config.dataset.load().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let result = run(&config, &data, &RunDir::new(dir.path()), false, None).unwrap();
        assert!(
            result.report.top1 > 0.25,
            "chance is 0.1: {:?}",
            result.report.top1
        );
    }
}
