//! Bit-for-bit regression check of training: fixed-seed runs of pretraining (Adam and LARS)
//! and of the supervised baseline, compared with `tests/data/golden-runs.json`, which the
//! code before the restructure of issue 9 wrote (`SIMCLR_BLESS=1` writes it anew).

use crate::backend::AutodiffCpu;
use crate::data::DatasetSpec;
use crate::eval::knn::KnnConfig;
use crate::eval::supervised::{train_supervised, SupervisedConfig};
use crate::model::SimclrModel;
use crate::test_support::encoder_tensors;
use crate::train::config::{Preset, PretrainConfig};
use crate::train::driver::{pretrain, PretrainOptions, Silent};
use crate::train::optim::{OptimizerConfig, OptimizerKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One run's record: every number as its exact bits.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Record {
    steps: Vec<(usize, u64, u64)>,
    epochs: Vec<(usize, usize, u64, u64, Option<u64>)>,
    weights: u64,
    extra: Vec<u64>,
}

fn fnv(tensors: &[(String, Vec<u8>)]) -> u64 {
    let mut hash = 0xcbf29ce484222325u64;
    for (name, bytes) in tensors {
        for b in name.bytes().chain(bytes.iter().copied()) {
            hash = (hash ^ b as u64).wrapping_mul(0x100000001b3);
        }
    }
    hash
}

fn pretrain_config(kind: OptimizerKind, epochs: usize) -> PretrainConfig {
    PretrainConfig {
        width: 4,
        batch_size: 16,
        epochs,
        projection_dim: 16,
        optimizer: if kind == OptimizerKind::Lars {
            OptimizerConfig {
                warmup_epochs: 0.5,
                ..OptimizerConfig::paper()
            }
        } else {
            OptimizerConfig::small()
        },
        knn: KnnConfig {
            k: 5,
            ..KnnConfig::default()
        },
        dataset: DatasetSpec {
            synthetic_train_size: 192,
            synthetic_test_size: 30,
            ..DatasetSpec::default()
        },
        ..PretrainConfig::preset(Preset::Tiny)
    }
}

fn pretrain_record(config: &PretrainConfig) -> Record {
    let data = config.dataset.load().unwrap();
    let options = PretrainOptions {
        run_dir: None,
        resume: false,
        stop_after_epoch: None,
    };
    let out =
        pretrain::<AutodiffCpu>(config, &data, &options, &mut Silent, &Default::default()).unwrap();
    let model: &SimclrModel<AutodiffCpu> = &out.model;
    let head = model.projection.fc2.weight.val().into_data();
    let mut tensors = encoder_tensors(&model.encoder);
    tensors.push(("head".into(), head.as_bytes().to_vec()));
    Record {
        steps: out
            .steps
            .iter()
            .map(|s| (s.step, s.loss.to_bits(), s.lr.to_bits()))
            .collect(),
        epochs: out
            .metrics
            .iter()
            .map(|m| {
                let knn = m.knn_top1.map(f64::to_bits);
                (m.epoch, m.step, m.loss.to_bits(), m.lr.to_bits(), knn)
            })
            .collect(),
        weights: fnv(&tensors),
        extra: vec![],
    }
}

fn supervised_record() -> Record {
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
    let dir = tempfile::tempdir().unwrap();
    let run = crate::train::run_dir::RunDir::new(dir.path());
    let options = PretrainOptions {
        run_dir: Some(&run),
        resume: false,
        stop_after_epoch: None,
    };
    let result =
        train_supervised::<AutodiffCpu>(&config, &data, &options, &mut Silent, &Default::default())
            .unwrap()
            .unwrap();
    Record {
        steps: vec![],
        epochs: run
            .load_metrics()
            .unwrap()
            .iter()
            .map(|m| (m.epoch, m.step, m.loss.to_bits(), m.lr.to_bits(), None))
            .collect(),
        // Checkpoint bytes hold the optimiser's state in hash-map order: compare what the
        // weights predict instead.
        weights: 0,
        extra: [result.report.top1.to_bits(), result.steps as u64]
            .into_iter()
            .chain(result.report.confusion.iter().flatten().map(|&n| n as u64))
            .collect(),
    }
}

#[test]
fn training_matches_the_recorded_runs_bit_for_bit() {
    let mut records = BTreeMap::new();
    records.insert(
        "pretrain-adam",
        pretrain_record(&pretrain_config(OptimizerKind::Adam, 2)),
    );
    records.insert(
        "pretrain-lars",
        pretrain_record(&pretrain_config(OptimizerKind::Lars, 1)),
    );
    records.insert("supervised-sgd", supervised_record());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden-runs.json");
    if std::env::var_os("SIMCLR_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&records).unwrap()).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let recorded: BTreeMap<String, Record> = serde_json::from_str(&text).unwrap();
    for (name, record) in &records {
        assert_eq!(Some(record), recorded.get(*name), "{name} differs");
    }
}
