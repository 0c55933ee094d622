//! Every parser of untrusted bytes, fed random and mutated inputs: each must answer with
//! a value or an error, never a panic (nor an allocation a malformed size asks for).
//! `SIMCLR_FUZZ_CASES` sets the cases per parser (CI's default below).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use simclr::backend::{AutodiffCpu, Cpu};
use simclr::data::{cifar, folder, upload};
use simclr::model::weights::{encoder_from_bytes, encoder_to_bytes};
use simclr::model::ResNetConfig;
use simclr::train::checkpoint::CheckpointBytes;
use simclr::train::config::{Preset, PretrainConfig};
use simclr::train::session::TrainingTask;
use simclr::train::step::Trainer;
use std::path::Path;

#[path = "../src/test_support/archive.rs"]
mod archive;
use archive::tar_gz;

const DEFAULT_CASES: u32 = 1000;

fn runner() -> TestRunner {
    let cases = std::env::var("SIMCLR_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// A valid input with bytes flipped, overwritten, cut short or extended.
fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len().max(1);
    (
        proptest::collection::vec((0..len, any::<u8>()), 0..12),
        proptest::option::of(0..len),
        proptest::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(move |(edits, cut, tail)| {
            let mut bytes = valid.clone();
            for (at, value) in edits {
                if at < bytes.len() {
                    bytes[at] = value;
                }
            }
            if let Some(cut) = cut {
                bytes.truncate(cut);
            }
            bytes.extend(tail);
            bytes
        })
}

/// Random bytes, or a mutation of `valid`.
fn inputs(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..4096),
        mutated(valid),
    ]
}

/// Runs `parse` (true when it accepts its input) on each input; a panic fails the test
/// with the input that caused it. The valid seed must be accepted first: mutations of a
/// seed that is already refused would only ever reach the first rejection path.
fn fuzz(name: &str, valid: Vec<u8>, parse: impl Fn(&[u8]) -> bool) {
    assert!(parse(&valid), "{name}: the valid seed input is refused");
    runner()
        .run(&inputs(valid), |bytes| {
            parse(&bytes);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn cifar_batch(records: usize) -> Vec<u8> {
    (0..records * cifar::RECORD)
        .map(|i| {
            if i % cifar::RECORD == 0 {
                (i / cifar::RECORD % 10) as u8
            } else {
                i as u8
            }
        })
        .collect()
}

#[test]
fn cifar_batch_files() {
    fuzz("CIFAR-10 batch", cifar_batch(3), |bytes| {
        let batch = cifar::parse_batch(bytes, Path::new("data_batch_1.bin"));
        let uploaded = upload::from_files(vec![("data_batch_1.bin".into(), bytes.to_vec())]);
        batch.is_ok() && uploaded.is_ok()
    });
}

#[test]
fn cifar_archives() {
    let mut files: Vec<(&str, Vec<u8>)> = cifar::TRAIN_FILES
        .iter()
        .map(|n| (*n, cifar_batch(1)))
        .collect();
    files.push((cifar::TEST_FILE, cifar_batch(2)));
    files.push(("batches.meta.txt", b"airplane\n".to_vec()));
    fuzz("CIFAR-10 archive", tar_gz(&files), |bytes| {
        cifar::load_archive(bytes, Path::new("cifar-10-binary.tar.gz")).is_ok()
    });
}

#[test]
fn stl10_files() {
    let image = 3 * 96 * 96;
    let valid: Vec<u8> = (0..2 * image).map(|i| i as u8).collect();
    let files = |x: Vec<u8>, y: Vec<u8>| vec![("train_X.bin".into(), x), ("train_y.bin".into(), y)];
    assert!(
        upload::from_files(files(valid.clone(), vec![1, 10])).is_ok(),
        "STL-10: the valid seed input is refused"
    );
    runner()
        .run(&(inputs(valid), inputs(vec![1, 10])), |(x, y)| {
            let _ = upload::from_files(files(x, y));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("STL-10: {e}"));
}

#[test]
fn image_folder_files() {
    let mut png = Vec::new();
    let picture = image::RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8, y as u8, 9]));
    picture
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    fuzz("image file", png, |bytes| {
        folder::decode(bytes, 8, Path::new("cat/1.png")).is_ok()
    });
}

#[test]
fn safetensors_encoders() {
    let device = Default::default();
    let encoder = ResNetConfig::new().with_width(2).init::<Cpu>(&device);
    let norm = simclr::data::Normalization::cifar10();
    let valid = encoder_to_bytes(&encoder, &norm, 3).unwrap();
    fuzz("safetensors", valid, |bytes| {
        encoder_from_bytes::<Cpu>(bytes, Path::new("e.safetensors"), &device).is_ok()
    });
}

fn tiny_config() -> PretrainConfig {
    let mut config = PretrainConfig::preset(Preset::Tiny);
    config.width = 2;
    config.batch_size = 4;
    config.projection_dim = 4;
    config.dataset.synthetic_train_size = 8;
    config.dataset.synthetic_test_size = 0;
    config
}

#[test]
fn checkpoints() {
    let device = Default::default();
    let config = tiny_config();
    let data = config.dataset.load().unwrap();
    let trainer = |config: &PretrainConfig| {
        Trainer::<AutodiffCpu>::new(config, &data.train, data.normalization, &device).unwrap()
    };
    let valid = trainer(&config).checkpoint().unwrap();
    let path = Path::new("last.ckpt");
    // The file as it lies on disk: the checksum stops almost every change.
    fuzz("checkpoint file", valid.encode(), |bytes| {
        CheckpointBytes::decode(bytes, path)
            .and_then(|checkpoint| trainer(&config).restore(checkpoint, path))
            .is_ok()
    });
    // Sections changed behind a correct checksum: what the records' readers see.
    let sections = (
        mutated(valid.state.clone()),
        mutated(valid.model.clone()),
        mutated(valid.optimizer.clone()),
        0..3usize,
    );
    runner()
        .run(&sections, |(state, model, optimizer, which)| {
            let mut checkpoint = valid.clone();
            match which {
                0 => checkpoint.state = state,
                1 => checkpoint.model = model,
                _ => checkpoint.optimizer = optimizer,
            }
            let reread = CheckpointBytes::decode(&checkpoint.encode(), path).unwrap();
            let _ = trainer(&config).restore(reread, path);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("checkpoint sections: {e}"));
}

#[test]
fn configurations() {
    let valid = serde_json::to_vec_pretty(&tiny_config()).unwrap();
    fuzz("config.json", valid, |bytes| {
        match serde_json::from_slice::<PretrainConfig>(bytes) {
            Ok(config) if config.validate().is_ok() => {
                let _ = config.total_steps(usize::MAX);
                config.augment().is_ok()
            }
            _ => false,
        }
    });
    let study = serde_json::to_vec(&simclr::experiment::ExperimentConfig::default()).unwrap();
    fuzz("experiment.json", study, |bytes| {
        serde_json::from_slice::<simclr::experiment::ExperimentConfig>(bytes)
            .is_ok_and(|config| config.validate().is_ok())
    });
}
