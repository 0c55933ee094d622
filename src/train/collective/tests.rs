//! Data-parallel peers as threads of one process, against one device with the whole batch.
use super::*;
use crate::backend::AutodiffCpu;
use crate::test_support::ONE_COLLECTIVE;
use burn::collective::{finish_collective, register, reset_collective, CollectiveConfig};

type Inner = <AutodiffCpu as AutodiffBackend>::InnerBackend;

/// Runs `work` on `peers` threads registered as one collective; their results in
/// peer order.
fn on_peers<T: Send + 'static>(
    peers: usize,
    work: impl Fn(PeerId) -> T + Send + Sync + 'static,
) -> Vec<T> {
    reset_collective::<Inner>();
    let work = std::sync::Arc::new(work);
    let handles: Vec<_> = (0..peers as u32)
        .map(|p| {
            let work = work.clone();
            std::thread::spawn(move || {
                let peer = PeerId(p);
                let config = CollectiveConfig::default().with_num_devices(peers);
                register::<Inner>(peer, Default::default(), config).unwrap();
                let out = work(peer);
                finish_collective::<Inner>(peer).unwrap();
                out
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn max_relative_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

#[test]
fn two_peers_with_global_negatives_equal_one_peer_with_the_whole_batch() {
    use crate::model::{ProjectionHead, ProjectionHeadConfig};
    use burn::optim::GradientsParams;
    let _one = ONE_COLLECTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let device = Default::default();
    AutodiffCpu::seed(&device, 9);
    let head: ProjectionHead<AutodiffCpu> = ProjectionHeadConfig::new(16, 16)
        .with_output_dim(8)
        .init(&device);
    let features = |offset: f32| {
        let values: Vec<f32> = (0..64 * 16)
            .map(|i| (i as f32 * 0.37 + offset).sin() * 1.7)
            .collect();
        Tensor::<AutodiffCpu, 1>::from_floats(values.as_slice(), &device).reshape([64, 16])
    };
    let (h1, h2) = (features(0.0), features(1.0));
    let grad_of = |head: &ProjectionHead<AutodiffCpu>, grads: &GradientsParams| {
        let weight = grads.get::<Inner, 2>(head.fc1.weight.id).unwrap();
        weight.into_data().to_vec::<f32>().unwrap()
    };

    let whole = crate::loss::nt_xent(head.forward(h1.clone()), head.forward(h2.clone()), 0.5);
    let grads = GradientsParams::from_grads(whole.backward(), &head);
    let expected = (whole.into_scalar(), grad_of(&head, &grads));

    let shared = std::sync::Arc::new((head, h1, h2));
    let results = {
        let shared = shared.clone();
        on_peers(2, move |peer| {
            let (head, h1, h2) = &*shared;
            let rows = peer.0 as usize * 32..(peer.0 as usize + 1) * 32;
            let z1 = head.forward(h1.clone().slice([rows.clone()]));
            let z2 = head.forward(h2.clone().slice([rows]));
            let loss = global_nt_xent(peer, 2, z1, z2, 0.5).unwrap();
            let share = loss.clone().div_scalar(2.0).backward();
            assert!(take_collective_error().is_none());
            let grads = GradientsParams::from_grads(share, head);
            let grads = sum_gradients::<AutodiffCpu, _>(peer, grads, head).unwrap();
            (loss.into_scalar(), grad_of(head, &grads))
        })
    };
    for (peer, (loss, grad)) in results.into_iter().enumerate() {
        assert!(
            ((loss - expected.0) / expected.0).abs() <= 1e-5,
            "peer {peer}: loss {loss} vs {}",
            expected.0
        );
        let difference = max_relative_difference(&grad, &expected.1);
        assert!(
            difference <= 1e-5,
            "peer {peer}: gradients differ by {difference}"
        );
    }
}

#[test]
fn sync_batch_norm_over_two_peers_equals_one_batch() {
    use crate::model::batch_norm::{BatchNorm2d, BatchNorm2dConfig};
    use burn::optim::GradientsParams;
    let _one = ONE_COLLECTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let device = Default::default();
    let bn: BatchNorm2d<AutodiffCpu> = BatchNorm2dConfig::new(3).init(&device);
    let values = |n: usize, offset: f32| -> Vec<f32> {
        (0..n)
            .map(|i| (i as f32 * 0.61 + offset).sin() * 2.0 + 0.5)
            .collect()
    };
    let x = Tensor::<AutodiffCpu, 1>::from_floats(values(8 * 30, 0.0).as_slice(), &device)
        .reshape([8, 3, 2, 5]);
    let weights = Tensor::<AutodiffCpu, 1>::from_floats(values(8 * 30, 2.0).as_slice(), &device)
        .reshape([8, 3, 2, 5]);
    let read = |t: Tensor<Inner, 1>| t.into_data().to_vec::<f32>().unwrap();
    let gamma_grad = move |bn: &BatchNorm2d<AutodiffCpu>, grads: &GradientsParams| {
        read(grads.get::<Inner, 1>(bn.gamma.id).unwrap())
    };

    // Its own module: clones share their running statistics (Burn averages them over
    // the threads that update them).
    let single: BatchNorm2d<AutodiffCpu> = BatchNorm2dConfig::new(3).init(&device);
    let y = single.forward(x.clone());
    let grads =
        GradientsParams::from_grads((y.clone() * weights.clone()).sum().backward(), &single);
    let expected_y = read(y.inner().flatten(0, 3));
    let expected_gamma = gamma_grad(&single, &grads);
    let expected_mean = read(single.running_mean.value_sync().inner());

    let shared = std::sync::Arc::new((bn, x, weights));
    let results = on_peers(2, move |peer| {
        let (bn, x, weights) = &*shared;
        let bn = bn.clone();
        let rows = peer.0 as usize * 4..(peer.0 as usize + 1) * 4;
        let (x, weights) = (
            x.clone().slice([rows.clone()]),
            weights.clone().slice([rows]),
        );
        let y = with_sync_batch_norm::<AutodiffCpu, _>(peer, 2, || bn.forward(x));
        let grads = (y.clone() * weights).sum().backward();
        assert!(take_collective_error().is_none());
        let grads =
            sum_gradients::<AutodiffCpu, _>(peer, GradientsParams::from_grads(grads, &bn), &bn);
        let gamma = gamma_grad(&bn, &grads.unwrap());
        let mean = read(bn.running_mean.value_sync().inner());
        (read(y.inner().flatten(0, 3)), gamma, mean)
    });
    let y: Vec<f32> = results.iter().flat_map(|(y, _, _)| y.clone()).collect();
    assert!(max_relative_difference(&y, &expected_y) <= 1e-5);
    for (peer, (_, gamma, mean)) in results.iter().enumerate() {
        let difference = max_relative_difference(gamma, &expected_gamma);
        assert!(
            difference <= 1e-5,
            "peer {peer}: γ gradients differ by {difference}"
        );
        assert!(
            max_relative_difference(mean, &expected_mean) <= 1e-5,
            "peer {peer}"
        );
    }
}

#[test]
fn a_data_parallel_step_of_the_whole_model_equals_the_big_batch_step() {
    use crate::model::batch_norm::with_global_statistics;
    use crate::model::{ResNetConfig, SimclrModel, SimclrModelConfig};
    use burn::optim::GradientsParams;
    let _one = ONE_COLLECTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let device = Default::default();
    AutodiffCpu::seed(&device, 4);
    let config = SimclrModelConfig::new(ResNetConfig::new().with_width(2)).with_projection_dim(8);
    // Two models initialised alike (the peers' share one module; running statistics
    // of clones are shared between threads).
    let model: SimclrModel<AutodiffCpu> = config.init(&device);
    let single = model.clone().load_record(model.clone().into_record());
    let views = |offset: f32| {
        let values: Vec<f32> = (0..64 * 3 * 8 * 8)
            .map(|i| (i as f32 * 0.013 + offset).sin())
            .collect();
        Tensor::<AutodiffCpu, 1>::from_floats(values.as_slice(), &device).reshape([64, 3, 8, 8])
    };
    let (v1, v2) = (views(0.0), views(0.5));
    let read = |t: Tensor<Inner, 4>| t.into_data().to_vec::<f32>().unwrap();
    let probes = move |m: &SimclrModel<AutodiffCpu>, grads: &GradientsParams| {
        let conv1 = read(grads.get::<Inner, 4>(m.encoder.conv1.weight.id).unwrap());
        let last = &m.encoder.layer4[1].conv2.weight;
        let deep = read(grads.get::<Inner, 4>(last.id).unwrap());
        let head = grads.get::<Inner, 2>(m.projection.fc2.weight.id).unwrap();
        let head = head.into_data().to_vec::<f32>().unwrap();
        let beta = grads
            .get::<Inner, 1>(m.encoder.layer1[1].bn2.beta.id)
            .unwrap();
        let beta = beta.into_data().to_vec::<f32>().unwrap();
        [conv1, deep, head, beta]
    };

    // The same BatchNorm arithmetic as the peers' (the CPU's fused kernel sums in
    // another order, 1e-5 apart after twenty layers): the statistics of one peer.
    let both = Tensor::cat(vec![v1.clone(), v2.clone()], 0);
    let own = Box::new(|statistic| statistic);
    let z = with_global_statistics::<AutodiffCpu, _>(1, own, || single.forward(both));
    let loss = crate::loss::nt_xent(z.clone().narrow(0, 0, 64), z.narrow(0, 64, 64), 0.5);
    let grads = GradientsParams::from_grads(loss.backward(), &single);
    let expected = (loss.into_scalar(), probes(&single, &grads));

    let shared = std::sync::Arc::new((model, v1, v2));
    let results = on_peers(2, move |peer| {
        let (model, v1, v2) = &*shared;
        let rows = peer.0 as usize * 32..(peer.0 as usize + 1) * 32;
        let views = Tensor::cat(
            vec![v1.clone().slice([rows.clone()]), v2.clone().slice([rows])],
            0,
        );
        let z = with_sync_batch_norm::<AutodiffCpu, _>(peer, 2, || model.forward(views));
        let (z1, z2) = (z.clone().narrow(0, 0, 32), z.narrow(0, 32, 32));
        let loss = global_nt_xent(peer, 2, z1, z2, 0.5).unwrap();
        let grads = loss.clone().div_scalar(2.0).backward();
        assert!(take_collective_error().is_none());
        let grads = GradientsParams::from_grads(grads, model);
        let grads = sum_gradients::<AutodiffCpu, _>(peer, grads, model).unwrap();
        (loss.into_scalar(), probes(model, &grads))
    });
    for (peer, (loss, grads)) in results.iter().enumerate() {
        assert!(
            ((loss - expected.0) / expected.0).abs() <= 1e-5,
            "peer {peer}: {loss} vs {}",
            expected.0
        );
        for (name, (got, want)) in ["conv1", "layer4.1.conv2", "fc2", "layer1.1.bn2.beta"]
            .iter()
            .zip(grads.iter().zip(&expected.1))
        {
            let difference = max_relative_difference(got, want);
            eprintln!("peer {peer} {name}: relative difference {difference:.2e}");
            assert!(
                difference <= 1e-5,
                "peer {peer} {name}: gradients differ by {difference}"
            );
        }
    }
}

#[test]
fn gathered_rows_carry_every_peers_gradient_back() {
    let _one = ONE_COLLECTIVE.lock().unwrap_or_else(|e| e.into_inner());
    // Peer p holds rows [p+1, p+1] · (p+1); the loss of peer p weights the gathered
    // rows by w_p = [1, 10, 100][p] times the row index + 1.
    let results = on_peers(3, |peer| {
        let device = Default::default();
        let p = peer.0 as f32;
        let x = Tensor::<AutodiffCpu, 2>::from_floats([[p + 1.0, p + 1.0]], &device).require_grad();
        let gathered = all_gather(peer, 3, x.clone()).unwrap();
        let weight = 10f32.powi(peer.0 as i32);
        let rows = Tensor::<AutodiffCpu, 1>::from_floats([1.0, 2.0, 3.0], &device);
        let loss = (gathered.clone() * rows.reshape([3, 1]) * weight).sum();
        let grads = loss.backward();
        assert!(take_collective_error().is_none());
        let values = gathered.inner().into_data().to_vec::<f32>().unwrap();
        let grad = x.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap();
        (values, grad)
    });
    for (peer, (values, grad)) in results.iter().enumerate() {
        assert_eq!(*values, [1.0, 1.0, 2.0, 2.0, 3.0, 3.0], "peer {peer}");
        // d/dx_p of Σ_q w_q (p+1) x_p = (p+1) Σ_q w_q = (p+1) · 111.
        let expected = (peer as f32 + 1.0) * 111.0;
        assert_eq!(*grad, [expected, expected], "peer {peer}");
    }
}
