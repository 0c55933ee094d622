//! Two CPU peers against one device with the whole batch, through [`pretrain`].

use crate::backend::AutodiffCpu;
use crate::data::DatasetSpec;
use crate::model::batch_norm::with_global_statistics;
use crate::model::SimclrModel;
use crate::test_support::{encoder_tensors, ONE_COLLECTIVE};
use crate::train::config::{Preset, PretrainConfig};
use crate::train::driver::{pretrain, PretrainOptions, PretrainOutcome, Silent};
use crate::train::optim::OptimizerConfig;
use crate::train::run_dir::RunDir;

/// Ten steps of batch 64 (two epochs of five), nothing evaluated.
fn ten_steps(devices: usize, sync_batch_norm: bool) -> PretrainConfig {
    PretrainConfig {
        width: 4,
        batch_size: 64,
        epochs: 2,
        projection_dim: 16,
        knn_every: 0,
        devices,
        sync_batch_norm,
        dataset: DatasetSpec {
            synthetic_train_size: 320,
            synthetic_test_size: 10,
            ..DatasetSpec::default()
        },
        // The paper's LARS: an update proportional to the gradient. Adam's divides by the
        // gradient's own size, so a parameter whose gradient is ~0 (a rounding error's
        // size) moves a full step whichever way that rounding points.
        optimizer: OptimizerConfig::paper(),
        ..PretrainConfig::preset(Preset::Tiny)
    }
}

fn train(config: &PretrainConfig, run_dir: Option<&RunDir>) -> PretrainOutcome<AutodiffCpu> {
    let _one = ONE_COLLECTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let data = config.dataset.load().unwrap();
    let options = PretrainOptions {
        run_dir,
        resume: false,
        stop_after_epoch: None,
    };
    pretrain::<AutodiffCpu>(config, &data, &options, &mut Silent, &Default::default()).unwrap()
}

/// Every encoder tensor's and the head's values, by name.
fn weights(model: &SimclrModel<AutodiffCpu>) -> Vec<(String, Vec<f32>)> {
    let mut tensors: Vec<(String, Vec<f32>)> = encoder_tensors(&model.encoder)
        .into_iter()
        .map(|(name, bytes)| {
            let values = bytes
                .chunks(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (name, values)
        })
        .collect();
    for (name, param) in [
        ("fc1", &model.projection.fc1.weight),
        ("fc2", &model.projection.fc2.weight),
    ] {
        let values = param.val().into_data().to_vec::<f32>().unwrap();
        tensors.push((name.into(), values));
    }
    tensors
}

/// How far apart two models are: `‖a − b‖ / ‖b‖` over every weight, and the largest
/// difference within one convolution or linear weight relative to that tensor's largest
/// value, with the tensor's name. (BatchNorm's 1-D parameters are left to the first: their
/// gradients are sums over every pixel of the batch that nearly cancel, so float32 gives
/// them few exact digits in any summation order.)
fn weight_difference(
    a: &SimclrModel<AutodiffCpu>,
    b: &SimclrModel<AutodiffCpu>,
) -> (f64, f32, String) {
    let (mut squared, mut norm) = (0f64, 0f64);
    let mut worst = (0f32, String::new());
    for ((name, x), (_, y)) in weights(a).iter().zip(weights(b).iter()) {
        if name.contains("running") {
            continue;
        }
        squared += x
            .iter()
            .zip(y)
            .map(|(p, q)| ((p - q) as f64).powi(2))
            .sum::<f64>();
        norm += y.iter().map(|q| (*q as f64).powi(2)).sum::<f64>();
        let matrix = name.ends_with("conv1.weight")
            || name.ends_with("conv2.weight")
            || name.starts_with("fc");
        if !matrix {
            continue;
        }
        let scale = y.iter().fold(1e-12f32, |m, v| m.max(v.abs()));
        let difference = x.iter().zip(y).fold(0f32, |m, (p, q)| m.max((p - q).abs())) / scale;
        if difference > worst.0 {
            worst = (difference, name.clone());
        }
    }
    ((squared / norm).sqrt(), worst.0, worst.1)
}

fn loss_difference(a: &PretrainOutcome<AutodiffCpu>, b: &PretrainOutcome<AutodiffCpu>) -> f64 {
    assert_eq!(a.steps.len(), b.steps.len());
    assert!(!a.steps.is_empty());
    a.steps
        .iter()
        .zip(&b.steps)
        .map(|(x, y)| {
            assert_eq!(x.step, y.step);
            ((x.loss - y.loss) / y.loss).abs()
        })
        .fold(0.0, f64::max)
}

#[test]
fn two_peers_with_sync_batch_norm_train_as_one_device_with_the_whole_batch() {
    let single = train(&ten_steps(1, false), None);
    // The same device and batch, BatchNorm's sums taken in another order (the peers'
    // arithmetic instead of the CPU's fused kernel): how far float32 rounding alone moves
    // ten steps.
    let own_statistics = Box::new(|statistic| statistic);
    let reordered = with_global_statistics::<AutodiffCpu, _>(1, own_statistics, || {
        train(&ten_steps(1, false), None)
    });
    let rounding = weight_difference(&reordered.model, &single.model);
    eprintln!(
        "1 × 64, BatchNorm summed in another order: loss {:.2e}, weights {:.2e} (worst \
         tensor {:.2e}, {})",
        loss_difference(&reordered, &single),
        rounding.0,
        rounding.1,
        rounding.2
    );
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path().join("peers"));
    let peers = train(&ten_steps(2, true), Some(&run));
    let loss = loss_difference(&peers, &single);
    let (whole, weight, at) = weight_difference(&peers.model, &single.model);
    eprintln!(
        "2 peers × 32, sync BN vs 1 × 64 after 10 steps: loss {loss:.2e}, weights {whole:.2e} \
         (worst tensor {weight:.2e}, {at})"
    );
    assert!(loss <= 1e-5, "losses differ by {loss:.2e}");
    // BatchNorm's γ and β gradients are sums over every pixel that nearly cancel, so ten
    // steps amplify float32 rounding past 1e-5 in any summation order: the peers must be as
    // close to the big batch as the big batch is to itself summed otherwise.
    assert!(
        whole <= 3.0 * rounding.0 && weight <= 3.0 * rounding.1,
        "weights differ by {whole:.2e} ({at}: {weight:.2e}), rounding alone {:.2e} ({:.2e})",
        rounding.0,
        rounding.1
    );
    // Peer 0 wrote the run folder, as one device would have.
    assert_eq!(run.load_metrics().unwrap().len(), 2);
    assert!(run.last_checkpoint().exists());

    // Each peer's own statistics: the same images, a measurably different run.
    let own = train(&ten_steps(2, false), None);
    let loss = loss_difference(&own, &single);
    let (whole, weight, at) = weight_difference(&own.model, &single.model);
    eprintln!(
        "2 peers × 32, BatchNorm per peer vs 1 × 64: loss {loss:.2e}, weights {whole:.2e} \
         (worst tensor {weight:.2e}, {at})"
    );
    assert!(
        loss > 1e-4 && whole > 1e-4,
        "per-peer statistics changed nothing"
    );
}

#[test]
fn a_failing_peer_stops_the_others_instead_of_leaving_them_waiting() {
    use crate::train::collective::all_gather;
    use crate::train::step::PeerShare;
    use burn::prelude::*;
    let _one = ONE_COLLECTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let share = |index| PeerShare {
        index,
        count: 3,
        sync_batch_norm: false,
    };
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        super::reset_collective::<
            <AutodiffCpu as burn::tensor::backend::AutodiffBackend>::InnerBackend,
        >();
        let outcomes = std::thread::scope(|scope| {
            let peers: Vec<_> = (0..3)
                .map(|index| {
                    scope.spawn(move || {
                        let config =
                            burn::collective::CollectiveConfig::default().with_num_devices(3);
                        super::as_peer::<AutodiffCpu>(
                            share(index),
                            Default::default(),
                            config,
                            || {
                                if index == 2 {
                                    return Err(crate::Error::invalid("test", "peer 2 fails"));
                                }
                                // The others gather until the collective fails them.
                                for _ in 0..1000 {
                                    let row =
                                        Tensor::<AutodiffCpu, 2>::ones([1, 4], &Default::default());
                                    all_gather(burn::collective::PeerId(index as u32), 3, row)
                                        .map_err(|e| {
                                            crate::train::collective::Peer::new(share(index))
                                                .error(e)
                                        })?;
                                }
                                Ok(())
                            },
                        )
                    })
                })
                .collect();
            peers
                .into_iter()
                .map(|p| p.join().unwrap())
                .collect::<Vec<_>>()
        });
        done.send(outcomes).unwrap();
    });
    let outcomes = finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the peers still wait for the one that failed");
    let messages: Vec<String> = outcomes
        .iter()
        .map(|o| o.as_ref().unwrap_err().to_string())
        .collect();
    assert!(messages[2].contains("peer 2 fails"), "{messages:?}");
    for waiting in &messages[..2] {
        assert!(waiting.contains("another peer stopped"), "{messages:?}");
    }
    let cause = super::first_cause(outcomes).unwrap_err().to_string();
    assert!(cause.contains("peer 2 fails"), "{cause}");
}

#[test]
fn a_panicking_peer_leaves_no_collective_error_or_traffic_behind() {
    use crate::error::PeerFailure;
    use crate::train::collective::{counted, keep_error, take_collective_error, take_traffic};
    use crate::train::step::PeerShare;
    let _one = ONE_COLLECTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let share = PeerShare {
        index: 0,
        count: 1,
        sync_batch_norm: false,
    };
    // The lead peer runs on the caller's thread, which goes on after the failure.
    let config = burn::collective::CollectiveConfig::default().with_num_devices(1);
    let outcome = super::as_peer::<AutodiffCpu>(share, Default::default(), config, || {
        keep_error(burn::collective::CollectiveError::LocalServerMissing);
        counted(64, || ());
        panic!("the peer's step fails");
    });
    match outcome {
        Err(crate::Error::Peer {
            failure: PeerFailure::Panicked(text),
            ..
        }) => assert_eq!(text, "the peer's step fails"),
        other => panic!("expected the panic as the peer's failure, got {other:?}"),
    }
    assert!(
        take_collective_error().is_none(),
        "a later run on this thread would report the dead run's error"
    );
    assert_eq!(take_traffic(), Default::default());
}
