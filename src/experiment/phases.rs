//! The phases of a study and the files each leaves in the study folder:
//! `pretrain/` (a run folder), `probes.json`, `supervised/fraction-F/` (run folders),
//! `finetune/fraction-F/`, `tsne-ENCODER.{json,csv,png,svg}` and `umap-ENCODER.*` (the
//! maps, [`super::maps`]), `phases.json` (seconds per phase), the report.

use super::maps::{map_of, write_map_files, MapMethod, MapResult};
use super::ExperimentConfig;
use crate::data::Dataset;
use crate::eval::encoder_source::EncoderSource;
use crate::eval::probing::{extract, probe, ProbeResult};
use crate::eval::supervised::{train_supervised, SupervisedConfig, SupervisedResult, RESULT_FILE};
use crate::train::collective::CollectiveBackend;
use crate::train::config::PretrainConfig;
use crate::train::driver::{pretrain, PretrainOptions, Progress, Silent};
use crate::train::resume;
use crate::train::run_dir::{EpochMetrics, RunDir, StepLoss};
use crate::Result;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// What a study reports as it goes.
pub trait ExperimentProgress {
    /// A phase starts or a step of it is done.
    fn phase(&mut self, _message: &str) {}
    /// Progress of a training run of `epochs` epochs.
    fn training(&mut self, _epochs: usize) -> Box<dyn Progress> {
        Box::new(Silent)
    }
}

/// Progress that is not shown.
pub struct Quiet;
impl ExperimentProgress for Quiet {}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct ExperimentResults {
    /// The study's configuration.
    pub config: ExperimentConfig,
    /// The pretraining run's own configuration (as resolved and saved).
    pub pretrain: PretrainConfig,
    /// Dataset name.
    pub dataset: String,
    /// Class names.
    pub classes: Vec<String>,
    /// Pretraining epochs.
    pub metrics: Vec<EpochMetrics>,
    /// Pretraining loss curve.
    pub steps: Vec<StepLoss>,
    /// Probe results.
    pub probes: Vec<ProbeResult>,
    /// Supervised baselines.
    pub supervised: Vec<SupervisedResult>,
    /// The SimCLR encoder fine-tuned, per label fraction.
    pub finetune: Vec<SupervisedResult>,
    /// t-SNE maps.
    pub tsne: Vec<MapResult>,
    /// UMAP maps.
    pub umap: Vec<MapResult>,
    /// Wall seconds per phase (summed over invocations).
    pub phase_seconds: BTreeMap<String, f64>,
}

/// The study's settings in its folder.
pub const EXPERIMENT_FILE: &str = "experiment.json";
const PROBES_FILE: &str = "probes.json";
const PHASES_FILE: &str = "phases.json";

/// Runs (or resumes) the study in folder `root` and writes `report.html` and `report.md`.
pub fn run_experiment<B: CollectiveBackend>(
    config: &ExperimentConfig,
    root: &Path,
    progress: &mut dyn ExperimentProgress,
    device: &B::Device,
) -> Result<ExperimentResults> {
    config.validate()?;
    // The study's folder is this process's for the whole study (each phase's run folder
    // inside it has a lock of its own as well).
    let _lock = crate::train::run_lock::RunLock::acquire(root)?;
    let study = RunDir::new(root);
    if let Some(saved) = study.load_json::<ExperimentConfig>(resume::STUDY.file)? {
        // Its finished phases are reused: they must be what these settings would give.
        resume::check(&study, &resume::STUDY, &saved, config)?;
    }
    study.save_json(EXPERIMENT_FILE, config)?;
    let mut times: BTreeMap<String, f64> = study.load_json(PHASES_FILE)?.unwrap_or_default();
    let pretrain_run = RunDir::new(root.join("pretrain"));
    let pretrain_config = if pretrain_run.has_run() {
        pretrain_run.load_config()?
    } else {
        config.pretrain.clone()
    };
    let data = pretrain_config.dataset.load()?;
    let mut timed = |name: &str, start: Instant| -> Result<()> {
        *times.entry(name.into()).or_default() += start.elapsed().as_secs_f64();
        study.save_json(PHASES_FILE, &times)
    };
    let start = Instant::now();
    pretrain_phase::<B>(&pretrain_config, &data, &pretrain_run, progress, device)?;
    timed("1 pretrain", start)?;
    let phases = Phases::<B> {
        config,
        data: &data,
        sources: [
            EncoderSource::RunDir(pretrain_run.root().to_path_buf()),
            EncoderSource::RandomInit(Box::new(pretrain_config.clone())),
        ],
        folder: &study,
        device,
    };
    let start = Instant::now();
    let probes = phases.probes(progress)?;
    timed("2 probes", start)?;
    let start = Instant::now();
    let supervised = phases.classifiers(
        ("supervised", "supervised baseline"),
        |f| config.supervised_at(f),
        progress,
    )?;
    timed("3 supervised", start)?;
    let start = Instant::now();
    let finetune = phases.classifiers(
        ("finetune", "fine-tuning the SimCLR encoder"),
        |f| config.finetune_at(f, pretrain_run.root()),
        progress,
    )?;
    timed("3b fine-tune", start)?;
    let start = Instant::now();
    let tsne = phases.maps(&MapMethod::Tsne(config.tsne.clone()), progress)?;
    timed("4 t-SNE", start)?;
    let start = Instant::now();
    let umap = phases.maps(&MapMethod::Umap(config.umap.clone()), progress)?;
    timed("5 UMAP", start)?;
    let results = ExperimentResults {
        config: config.clone(),
        pretrain: pretrain_run.load_config()?,
        dataset: data.name.clone(),
        classes: data.classes.clone(),
        metrics: pretrain_run.load_metrics()?,
        steps: pretrain_run.load_steps()?,
        probes,
        supervised,
        finetune,
        tsne,
        umap,
        phase_seconds: study.load_json(PHASES_FILE)?.unwrap_or_default(),
    };
    super::report::write(root, &results)?;
    Ok(results)
}

fn pretrain_phase<B: CollectiveBackend>(
    config: &PretrainConfig,
    data: &Dataset,
    run: &RunDir,
    progress: &mut dyn ExperimentProgress,
    device: &B::Device,
) -> Result<()> {
    let done = run.load_metrics()?.last().map_or(0, |m| m.epoch);
    if done >= config.epochs && run.last_checkpoint().exists() {
        progress.phase(&format!("pretraining: done ({done} epochs), reusing it"));
        return Ok(());
    }
    progress.phase(&format!(
        "pretraining on {} ({} images), epoch {done} of {}",
        data.name,
        data.train.len(),
        config.epochs
    ));
    let options = PretrainOptions {
        run_dir: Some(run),
        resume: run.last_checkpoint().exists(),
        stop_after_epoch: None,
    };
    let mut bar = progress.training(config.epochs);
    pretrain::<B>(config, data, &options, bar.as_mut(), device)?;
    Ok(())
}

/// What the later phases share.
struct Phases<'a, B: CollectiveBackend> {
    config: &'a ExperimentConfig,
    data: &'a Dataset,
    /// The SimCLR encoder and the random one (named `simclr` and `random`).
    sources: [EncoderSource; 2],
    folder: &'a RunDir,
    device: &'a B::Device,
}

impl<B: CollectiveBackend> Phases<'_, B> {
    fn probes(&self, progress: &mut dyn ExperimentProgress) -> Result<Vec<ProbeResult>> {
        let (config, data, study, device) = (self.config, self.data, self.folder, self.device);
        let sources = &self.sources;
        let mut results: Vec<ProbeResult> = study.load_json(PROBES_FILE)?.unwrap_or_default();
        for source in sources {
            let name = source.name();
            let missing: Vec<_> = config
                .heads
                .iter()
                .flat_map(|&h| config.label_fractions.iter().map(move |&f| (h, f)))
                .filter(|&(h, f)| {
                    !results
                        .iter()
                        .any(|r| r.encoder == *name && r.head == h && r.label_fraction == f)
                })
                .collect();
            if missing.is_empty() {
                continue;
            }
            progress.phase(&format!("probes: encoding with the {name} encoder"));
            let side = data.train.height();
            let (encoder, norm) = source.frozen::<B>(side, data.normalization, device)?;
            let features = extract(&encoder, data, &norm, device)?;
            for (head, fraction) in missing {
                let seeds = config.probe_seeds;
                let result = probe::<B>(
                    &features,
                    &name,
                    head,
                    fraction,
                    seeds,
                    &config.probe,
                    device,
                )?;
                progress.phase(&format!(
                    "probe {name} {head:?} at {}% labels: top-1 {:.2}%",
                    100.0 * fraction,
                    100.0 * result.top1
                ));
                results.push(result);
                study.save_json(PROBES_FILE, &results)?;
            }
        }
        Ok(results)
    }

    /// The supervised baseline (`folder` "supervised") or fine-tuning ("finetune") at every
    /// label fraction, each in its own resumable run folder; `at` gives its settings.
    fn classifiers(
        &self,
        (folder, what): (&str, &str),
        at: impl Fn(f64) -> SupervisedConfig,
        progress: &mut dyn ExperimentProgress,
    ) -> Result<Vec<SupervisedResult>> {
        let (config, data, device) = (self.config, self.data, self.device);
        let root = self.folder.root();
        let mut results = vec![];
        for &fraction in &config.label_fractions {
            let run = RunDir::new(root.join(folder).join(format!("fraction-{fraction}")));
            if let Some(done) = run.load_json::<SupervisedResult>(RESULT_FILE)? {
                results.push(done);
                continue;
            }
            progress.phase(&format!("{what} at {}% labels", 100.0 * fraction));
            let options = PretrainOptions {
                run_dir: Some(&run),
                resume: run.last_checkpoint().exists(),
                stop_after_epoch: None,
            };
            let settings = at(fraction);
            let mut bar = progress.training(settings.planned_epochs(data)?);
            if let Some(result) =
                train_supervised::<B>(&settings, data, &options, bar.as_mut(), device)?
            {
                progress.phase(&format!("{what}: top-1 {:.2}%", 100.0 * result.report.top1));
                results.push(result);
            }
        }
        Ok(results)
    }

    /// Both encoders' maps by `method`: `STEM-ENCODER.{json,csv,png,svg}` in the study.
    fn maps(
        &self,
        method: &MapMethod,
        progress: &mut dyn ExperimentProgress,
    ) -> Result<Vec<MapResult>> {
        let (config, data, study, device) = (self.config, self.data, self.folder, self.device);
        let mut results = vec![];
        for source in &self.sources {
            let name = source.name();
            let stem = format!("{}-{name}", method.stem());
            let file = format!("{stem}.json");
            if let Some(done) = study.load_json::<MapResult>(&file)? {
                results.push(done);
                continue;
            }
            progress.phase(&format!("{} of the {name} encoder", method.name()));
            let (test, norm) = (&data.test, data.normalization);
            let result = map_of::<B>(test, norm, config.tsne_points, method, source, device)?;
            write_map_files(study.root(), &stem, &result, &data.classes)?;
            study.save_json(&file, &result)?;
            results.push(result);
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::AutodiffCpu;
    use crate::data::DatasetSpec;
    use crate::eval::head::HeadKind;
    use crate::eval::supervised::SupervisedConfig;
    use crate::eval::tsne::TsneConfig;

    #[derive(Default)]
    struct Record(Vec<String>);
    impl ExperimentProgress for Record {
        fn phase(&mut self, message: &str) {
            self.0.push(message.into());
        }
    }

    fn tiny() -> ExperimentConfig {
        let mut pretrain = crate::train::config::PretrainConfig {
            width: 4,
            batch_size: 16,
            epochs: 1,
            projection_dim: 16,
            dataset: DatasetSpec {
                synthetic_train_size: 80,
                synthetic_test_size: 40,
                ..DatasetSpec::default()
            },
            ..crate::train::config::PretrainConfig::preset(crate::train::config::Preset::Tiny)
        };
        pretrain.knn.k = 5;
        ExperimentConfig {
            preset: "test".into(),
            pretrain,
            label_fractions: vec![0.25, 1.0],
            heads: vec![HeadKind::Linear, HeadKind::Mlp],
            probe_seeds: 2,
            supervised: SupervisedConfig {
                epochs: 1,
                batch_size: 10,
                ..SupervisedConfig::default()
            },
            finetune: SupervisedConfig {
                epochs: 1,
                min_steps: 0,
                batch_size: 10,
                ..SupervisedConfig::finetune_recipe()
            },
            tsne: TsneConfig {
                iterations: 250,
                ..TsneConfig::default()
            },
            umap: crate::eval::umap::UmapConfig {
                epochs: 50,
                ..Default::default()
            },
            tsne_points: 30,
            ..ExperimentConfig::default()
        }
    }

    #[test]
    fn a_study_writes_every_section_and_resumes_after_a_phase() {
        let config = tiny();
        let dir = tempfile::tempdir().unwrap();
        let device = Default::default();
        let first =
            run_experiment::<AutodiffCpu>(&config, dir.path(), &mut Quiet, &device).unwrap();
        assert_eq!(
            first.probes.len(),
            2 * 2 * 2,
            "2 encoders × 2 heads × 2 fractions"
        );
        assert_eq!(first.supervised.len(), 2);
        assert_eq!(first.finetune.len(), 2);
        assert_eq!(first.tsne.len(), 2);
        assert_eq!(first.tsne[0].points.len(), 30);
        assert_eq!((first.umap.len(), first.umap[0].points.len()), (2, 30));
        let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
        for id in [
            "accuracy",
            "label-fraction",
            "training",
            "tsne",
            "umap",
            "confusion",
            "timing",
            "machine",
            "configuration",
        ] {
            assert!(
                html.contains(&format!("id=\"{id}\"")),
                "section {id} missing"
            );
        }
        assert_eq!(
            html.matches(r#"data-points="30""#).count(),
            4,
            "2 t-SNE, 2 UMAP"
        );
        let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        assert!(md.contains("| SimCLR + linear probe |") && md.contains("| Supervised"));
        let chart = std::fs::read_to_string(dir.path().join("label-fractions.svg")).unwrap();
        assert!(md.contains("](label-fractions.svg)") && chart.starts_with("<svg"));
        for file in [
            "tsne-simclr.png",
            "tsne-random.svg",
            "tsne-random.csv",
            "probes.json",
        ] {
            assert!(dir.path().join(file).exists(), "{file}");
        }

        // Interrupted after the probes: the later phases' results are gone.
        let probes_before = std::fs::read(dir.path().join("probes.json")).unwrap();
        let checkpoint = dir.path().join("pretrain/checkpoints/last.ckpt");
        let written = std::fs::metadata(&checkpoint).unwrap().modified().unwrap();
        std::fs::remove_dir_all(dir.path().join("supervised/fraction-1")).unwrap();
        std::fs::remove_file(dir.path().join("tsne-random.json")).unwrap();
        std::fs::remove_file(dir.path().join("report.html")).unwrap();
        let mut record = Record::default();
        let second =
            run_experiment::<AutodiffCpu>(&config, dir.path(), &mut record, &device).unwrap();
        let log = record.0.join("\n");
        assert!(log.contains("pretraining: done"), "{log}");
        assert!(!log.contains("probe"), "probes were redone: {log}");
        assert!(
            log.contains("supervised baseline at 100%") && !log.contains("at 25%"),
            "{log}"
        );
        assert!(
            log.contains("t-SNE of the random") && !log.contains("t-SNE of the simclr"),
            "{log}"
        );
        assert_eq!(
            std::fs::metadata(&checkpoint).unwrap().modified().unwrap(),
            written
        );
        assert_eq!(
            std::fs::read(dir.path().join("probes.json")).unwrap(),
            probes_before
        );
        assert_eq!(second.probes, first.probes);
        assert_eq!(
            second.supervised, first.supervised,
            "the same seeds give the same baseline"
        );
        assert_eq!(second.tsne, first.tsne);
        assert!(dir.path().join("report.html").exists());

        // Other settings would not give the saved phases: refused, nothing touched.
        let longer = ExperimentConfig {
            pretrain: crate::train::config::PretrainConfig {
                epochs: 2,
                ..config.pretrain.clone()
            },
            tsne_points: 20,
            ..config.clone()
        };
        let saved = std::fs::read(dir.path().join(EXPERIMENT_FILE)).unwrap();
        let err = run_experiment::<AutodiffCpu>(&longer, dir.path(), &mut Quiet, &device)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("pretrain.epochs: 1 → 2") && err.contains("tsne_points: 30 → 20"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(dir.path().join(EXPERIMENT_FILE)).unwrap(),
            saved
        );
    }
}
