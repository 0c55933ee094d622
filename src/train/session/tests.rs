//! The session on the real SimCLR step at width 4: read-back cadence, epoch ends, step
//! limits, stops, kept checkpoints, divergence.

use super::*;
use crate::backend::AutodiffCpu;
use crate::data::DatasetSpec;
use crate::train::config::{Preset, PretrainConfig};
use crate::train::optim::Schedule;
use crate::train::step::Trainer;

/// 64 synthetic images in batches of 16: four steps an epoch.
fn config(epochs: usize, max_steps: Option<usize>) -> PretrainConfig {
    PretrainConfig {
        width: 4,
        batch_size: 16,
        epochs,
        max_steps,
        projection_dim: 8,
        dataset: DatasetSpec {
            synthetic_train_size: 64,
            synthetic_test_size: 0,
            ..DatasetSpec::default()
        },
        ..PretrainConfig::preset(Preset::Tiny)
    }
}

fn session<'a>(
    config: &PretrainConfig,
    data: &'a Dataset,
    options: SessionOptions,
) -> Session<'a, AutodiffCpu, Trainer<AutodiffCpu>> {
    let trainer = Trainer::new(config, &data.train, data.normalization, &Default::default());
    Session::new(trainer.unwrap(), data, options)
}

/// Steps until the session finishes; for each, whether losses came back and whether
/// an epoch ended (then with whether kNN was due and the row's epoch).
fn run(session: &mut Session<AutodiffCpu, Trainer<AutodiffCpu>>) -> Vec<String> {
    let mut log = vec![];
    while !session.is_finished() {
        let out = session.step().unwrap();
        let step = session.position().step;
        if let Some(losses) = out.losses {
            let values = crate::io::readback::floats(losses).unwrap();
            let report = session.record_losses(values.clone()).unwrap();
            assert_eq!(report.step, step);
            log.push(format!("{step}: read {}", values.len()));
        }
        if out.epoch_end {
            let knn = session.knn_due();
            let row = session.end_epoch(None);
            log.push(format!("{step}: epoch {} knn {knn}", row.epoch));
        }
    }
    log
}

#[test]
fn losses_come_back_every_n_steps_and_at_epoch_ends() {
    let config = config(2, None);
    let data = config.dataset.load().unwrap();
    let options = SessionOptions {
        read_every: 3,
        knn_every: 2,
        ..SessionOptions::default()
    };
    let mut session = session(&config, &data, options);
    assert_eq!(session.plan().total_steps, 8);
    let log = run(&mut session);
    let expected = [
        "3: read 3",
        "4: read 1",
        "4: epoch 1 knn false",
        "7: read 3",
        "8: read 1",
        "8: epoch 2 knn true",
    ];
    assert_eq!(log, expected);
    let (_, metrics, curve) = session.finish();
    assert_eq!(metrics.len(), 2);
    assert_eq!(
        curve.iter().map(|c| c.step).collect::<Vec<_>>(),
        [3, 4, 7, 8]
    );
    // The epoch's loss is the mean of its steps' losses.
    let epoch_two = (3.0 * curve[2].loss + curve[3].loss) / 4.0;
    assert!((metrics[1].loss - epoch_two).abs() < 1e-9);
}

#[test]
fn time_after_an_epochs_last_read_back_is_not_training_time() {
    let config = config(1, None);
    let data = config.dataset.load().unwrap();
    let mut session = session(&config, &data, SessionOptions::default());
    let mut last = None;
    while !session.is_finished() {
        if let Some(losses) = session.step().unwrap().losses {
            let values = crate::io::readback::floats(losses).unwrap();
            last = Some(session.record_losses(values).unwrap());
        }
    }
    // The shell's kNN monitor would run here.
    std::thread::sleep(std::time::Duration::from_millis(30));
    let row = session.end_epoch(None);
    assert_eq!(row.views_per_s, last.unwrap().views_per_s);
}

#[test]
fn a_step_limit_ends_the_run_and_its_schedule_mid_epoch() {
    let config = config(3, Some(6));
    let data = config.dataset.load().unwrap();
    let mut session = session(&config, &data, SessionOptions::default());
    assert_eq!(session.plan().total_steps, 6);
    let log = run(&mut session);
    let expected = [
        "4: read 4",
        "4: epoch 1 knn true",
        "6: read 2",
        "6: epoch 2 knn true",
    ];
    assert_eq!(log, expected);
    // The cosine schedule is planned for the 6 steps, not for the 3 epochs' 12.
    let last_lr = session.curve()[1].lr;
    let schedule = |total_steps| Schedule {
        peak: config.optimizer.peak_lr(config.batch_size),
        warmup_steps: 4,
        total_steps,
    };
    assert_eq!(last_lr, schedule(6).lr(5));
    assert!(schedule(12).lr(5) > 1.5 * last_lr);
}

#[test]
fn stop_returns_the_unread_losses_and_finishes() {
    let config = config(2, None);
    let data = config.dataset.load().unwrap();
    let mut session = session(&config, &data, SessionOptions::default());
    assert!(session.step().unwrap().losses.is_none());
    assert!(session.step().unwrap().losses.is_none());
    let unread = session.stop().expect("two losses wait");
    assert_eq!(crate::io::readback::floats(unread).unwrap().len(), 2);
    assert!(session.is_finished());
    assert!(session.stop().is_none());
}

#[test]
fn stop_after_epoch_and_kept_checkpoints() {
    let config = config(4, None);
    let data = config.dataset.load().unwrap();
    let options = SessionOptions {
        checkpoint_every: 2,
        stop_after_epoch: Some(2),
        ..SessionOptions::default()
    };
    let mut session = session(&config, &data, options);
    let mut kept = vec![];
    while !session.is_finished() {
        let out = session.step().unwrap();
        if let Some(losses) = out.losses {
            let values = crate::io::readback::floats(losses).unwrap();
            session.record_losses(values).unwrap();
        }
        if out.epoch_end {
            session.end_epoch(None);
            kept.push(session.keep_checkpoint());
        }
    }
    assert_eq!(kept, [false, true]);
    assert_eq!(session.position(), Position { epoch: 2, step: 8 });
}

#[test]
fn a_loss_that_is_not_finite_is_divergence_at_its_own_step() {
    let config = config(2, None);
    let data = config.dataset.load().unwrap();
    let mut session = session(&config, &data, SessionOptions::default());
    let per_epoch = session.plan().steps_per_epoch;
    for _ in 0..per_epoch + 3 {
        session.step().unwrap();
    }
    // Read back three steps late: the second of the four losses is the first bad one.
    let err = session
        .record_losses(vec![1.0, f32::NAN, f32::INFINITY, 2.0])
        .unwrap_err();
    let step = per_epoch + 1;
    assert!(
        matches!(err, Error::Diverged { step: s, epoch: 2, value } if s == step && value.is_nan()),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("NaN at step {step} (epoch 2)")),
        "{text}"
    );
    assert!(text.contains("lower learning rate"), "{text}");
}

#[test]
fn epoch_orders_are_permutations_fixed_by_seed_and_epoch() {
    let a = epoch_order(7, 0, 50);
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    assert_eq!(a, epoch_order(7, 0, 50));
    assert_ne!(a, epoch_order(7, 1, 50));
    assert_ne!(a, epoch_order(8, 0, 50));
}
