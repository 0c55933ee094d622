//! The evaluation subcommands: probe, supervised, tsne, experiment.

use super::{parse, pick_split, read_config_file, set};
use crate::cli::{
    DataArgs, EvalEncoderArgs, ExperimentArgs, ProbeArgs, RandomInitArgs, SupervisedArgs, TsneArgs,
};
use crate::progress::Bar;
use anyhow::{bail, Context, Result};
use burn::tensor::backend::AutodiffBackend;
use simclr::backend::{dispatch, BackendKind, BackendTask};
use simclr::config::PretrainConfig;
use simclr::data::DatasetSpec;
use simclr::encoder::EncoderSource;
use simclr::evaluation::{check_fraction, extract, probe, ProbeResult};
use simclr::pretrain::{PretrainOptions, Progress};
use simclr::probe::{HeadKind, ProbeConfig};
use simclr::run_dir::RunDir;
use simclr::study::phases::{tsne_of, write_tsne_files};
use simclr::study::{run_experiment, ExperimentConfig, ExperimentPreset, StudyProgress};
use simclr::supervised::{train_supervised, SupervisedConfig, SupervisedResult, CONFIG_FILE};
use simclr::tsne::TsneConfig;
use std::path::PathBuf;
use std::time::Instant;

impl EvalEncoderArgs {
    /// The encoder these flags name.
    pub fn source(&self, random: &RandomInitArgs) -> Result<EncoderSource> {
        Ok(match (&self.run_dir, &self.weights) {
            (Some(run), _) => EncoderSource::RunDir(run.clone()),
            (None, Some(file)) => EncoderSource::Weights(file.clone()),
            (None, None) => {
                let mut config = PretrainConfig::default();
                config.width = random.width.unwrap_or(config.width);
                config.seed = random.seed.unwrap_or(config.seed);
                if let Some(stem) = &random.stem {
                    config.stem = Some(parse(stem)?);
                }
                config.validate()?;
                EncoderSource::RandomInit(Box::new(config))
            }
        })
    }

    /// The dataset: the run's own unless flags say otherwise.
    pub fn dataset(&self, data: &DataArgs) -> Result<DatasetSpec> {
        let mut spec = match &self.run_dir {
            Some(run) => RunDir::new(run).load_config()?.dataset,
            None => DatasetSpec::default(),
        };
        data.apply(&mut spec)?;
        Ok(spec)
    }
}

struct ProbeTask {
    source: EncoderSource,
    spec: DatasetSpec,
    heads: Vec<HeadKind>,
    args: ProbeArgs,
}

impl BackendTask for ProbeTask {
    type Output = Vec<ProbeResult>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> simclr::Result<Self::Output> {
        let data = self.spec.load()?;
        let side = data.train.height();
        let (encoder, norm) = self.source.frozen::<B>(side, data.normalization, &device)?;
        eprintln!(
            "encoding {} training and {} test images of {} with the {} encoder",
            data.train.len(),
            data.test.len(),
            data.name,
            self.source.name()
        );
        let features = extract(&encoder, &data, &norm, &device)?;
        let base = ProbeConfig {
            weight_decay: self.args.weight_decay,
            ..ProbeConfig::default()
        };
        let mut results = vec![];
        for &fraction in &self.args.label_fraction {
            for &head in &self.heads {
                let name = self.source.name();
                let seeds = self.args.seeds;
                let result = probe::<B>(&features, &name, head, fraction, seeds, &base, &device)?;
                println!(
                    "{}",
                    serde_json::to_string(&result)
                        .map_err(|e| simclr::Error::Config(e.to_string()))?
                );
                results.push(result);
            }
        }
        Ok(results)
    }
}

/// `simclr probe`.
pub fn probe_command(args: ProbeArgs) -> Result<()> {
    for &fraction in &args.label_fraction {
        check_fraction(fraction)?;
    }
    let heads = args
        .head
        .iter()
        .map(|h| match h.as_str() {
            "linear" => Ok(HeadKind::Linear),
            "mlp" => Ok(HeadKind::Mlp),
            other => bail!("unknown probe head '{other}' (expected linear or mlp)"),
        })
        .collect::<Result<Vec<_>>>()?;
    let source = args.encoder.source(&args.random)?;
    let spec = args.encoder.dataset(&args.data)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| match &args.encoder.run_dir {
            Some(run) => run.join("probe.json"),
            None => PathBuf::from("probe.json"),
        });
    let kind: BackendKind = parse(&args.backend)?;
    let results = dispatch(
        kind,
        ProbeTask {
            source,
            spec,
            heads,
            args,
        },
    )?;
    let json = serde_json::to_vec_pretty(&results)?;
    simclr::checkpoint::write_atomic(&out, &json)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

struct SupervisedTask {
    config: SupervisedConfig,
    run: RunDir,
    resume: bool,
    stop_after_epoch: Option<usize>,
}

impl BackendTask for SupervisedTask {
    type Output = Option<SupervisedResult>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> simclr::Result<Self::Output> {
        let data = self.config.dataset.load()?;
        eprintln!(
            "supervised baseline on {}% of the labels of {} ({} training images); run folder {}",
            100.0 * self.config.label_fraction,
            data.name,
            data.train.len(),
            self.run.root().display()
        );
        let options = PretrainOptions {
            run_dir: Some(&self.run),
            resume: self.resume,
            stop_after_epoch: self.stop_after_epoch,
        };
        let mut bar = Bar::new(self.config.planned_epochs(&data)?);
        train_supervised::<B>(&self.config, &data, &options, &mut bar, &device)
    }
}

/// `simclr supervised`.
pub fn supervised_command(args: SupervisedArgs) -> Result<()> {
    let run = RunDir::new(&args.run_dir);
    let saved: Option<SupervisedConfig> = run.load_json(CONFIG_FILE)?;
    let config = match (saved, args.resume) {
        (Some(saved), true) => saved,
        (None, true) => bail!("cannot resume: {} holds no supervised run", run.root().display()),
        (Some(_), false) => bail!(
            "{} already holds a supervised run; pass --resume to continue it or choose another --run-dir",
            run.root().display()
        ),
        (None, false) => {
            let mut config = SupervisedConfig {
                label_fraction: args.label_fraction,
                epochs: args.epochs,
                min_steps: args.min_steps,
                batch_size: args.batch_size,
                lr: args.lr,
                weight_decay: args.weight_decay,
                width: args.width,
                seed: args.seed,
                backend: parse(&args.backend)?,
                ..SupervisedConfig::default()
            };
            if let Some(stem) = &args.stem {
                config.stem = Some(parse(stem)?);
            }
            args.data.apply(&mut config.dataset)?;
            check_fraction(config.label_fraction)?;
            config
        }
    };
    let kind = config.backend;
    let task = SupervisedTask {
        config,
        run,
        resume: args.resume,
        stop_after_epoch: args.stop_after_epoch,
    };
    match dispatch(kind, task)? {
        Some(result) => println!(
            "{}",
            serde_json::json!({
                "label_fraction": result.label_fraction,
                "train_examples": result.train_examples,
                "steps": result.steps,
                "top1": result.report.top1,
                "top5": result.report.top5,
            })
        ),
        None => eprintln!("stopped early; continue with --resume"),
    }
    Ok(())
}

struct TsneTask {
    source: EncoderSource,
    spec: DatasetSpec,
    args: TsneArgs,
}

impl BackendTask for TsneTask {
    type Output = (usize, f64);

    fn run<B: AutodiffBackend>(self, device: B::Device) -> simclr::Result<Self::Output> {
        let a = &self.args;
        let data = self.spec.load()?;
        let split = pick_split(&data, &a.split)?;
        let config = TsneConfig {
            perplexity: a.perplexity,
            theta: a.theta,
            iterations: a.iterations,
            ..TsneConfig::default()
        };
        let norm = data.normalization;
        let result = tsne_of::<B>(split, norm, a.points, &config, &self.source, &device)?;
        write_tsne_files(&a.out, "tsne", &result, &data.classes)?;
        Ok((result.points.len(), result.nn_accuracy))
    }
}

/// `simclr tsne`.
pub fn tsne_command(args: TsneArgs) -> Result<()> {
    let source = args.encoder.source(&args.random)?;
    let spec = args.encoder.dataset(&args.data)?;
    let kind: BackendKind = parse(&args.backend)?;
    let out = args.out.clone();
    let start = Instant::now();
    let (points, nn) = dispatch(kind, TsneTask { source, spec, args })?;
    eprintln!(
        "wrote tsne.csv, tsne.png and tsne.svg to {} ({points} points, 2-D 1-NN accuracy {:.1}%, {:.0} s)",
        out.display(),
        100.0 * nn,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Phase lines on stderr, a progress bar per training run.
struct StudyBar {
    start: Instant,
}

impl StudyProgress for StudyBar {
    fn phase(&mut self, message: &str) {
        let s = self.start.elapsed().as_secs();
        eprintln!(
            "[{:02}:{:02}:{:02}] {message}",
            s / 3600,
            s / 60 % 60,
            s % 60
        );
    }

    fn training(&mut self, epochs: usize) -> Box<dyn Progress> {
        Box::new(Bar::new(epochs))
    }
}

struct ExperimentTask {
    config: ExperimentConfig,
    out: PathBuf,
}

impl BackendTask for ExperimentTask {
    type Output = simclr::study::StudyResults;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> simclr::Result<Self::Output> {
        let mut progress = StudyBar {
            start: Instant::now(),
        };
        run_experiment::<B>(&self.config, &self.out, &mut progress, &device)
    }
}

/// The study's configuration from preset, file and flags, in that order.
fn experiment_config(args: &ExperimentArgs) -> Result<ExperimentConfig> {
    let preset: ExperimentPreset = parse(&args.preset)?;
    let mut config = ExperimentConfig::preset(preset);
    if let Some(file) = &args.config {
        config = read_config_file(file, &config)?;
    }
    if let Some(path) = &args.data {
        config.pretrain.dataset.path = Some(path.clone());
    }
    set(&mut config.pretrain.epochs, args.epochs);
    set(&mut config.label_fractions, args.label_fraction.clone());
    set(&mut config.probe_seeds, args.probe_seeds);
    if let Some(backend) = &args.backend {
        config.pretrain.backend = parse(backend)?;
    }
    config.validate()?;
    Ok(config)
}

/// `simclr experiment`.
pub fn experiment_command(args: ExperimentArgs) -> Result<()> {
    let config = experiment_config(&args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/experiment-{}", config.preset)));
    let kind = config.pretrain.backend;
    let results = dispatch(
        kind,
        ExperimentTask {
            config,
            out: out.clone(),
        },
    )
    .map_err(anyhow::Error::from)
    .with_context(|| format!("the study in {} stopped", out.display()))?;
    println!("{}", simclr::study::report::accuracy_table_md(&results));
    eprintln!("report: {}", out.join("report.html").display());
    Ok(())
}
