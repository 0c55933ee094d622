//! The subcommands' work: turning arguments into library calls.

mod evaluate;

pub use evaluate::{experiment_command, probe_command, supervised_command, tsne_command};

use crate::cli::{BenchArgs, DataArgs, EmbedArgs, ExportArgs, PretrainArgs, PreviewArgs};
use crate::progress::Bar;
use anyhow::{bail, Context, Result};
use burn::tensor::backend::AutodiffBackend;
use simclr::backend::{dispatch, BackendKind, BackendTask};
use simclr::config::{Preset, PretrainConfig};
use simclr::data::{Dataset, DatasetSpec, Split};
use simclr::encoder::{self, EncoderSource};
use simclr::pretrain::{pretrain, PretrainOptions};
use simclr::run_dir::RunDir;
use std::path::{Path, PathBuf};

pub(crate) fn parse<T: std::str::FromStr<Err = simclr::Error>>(value: &str) -> Result<T> {
    Ok(value.parse::<T>()?)
}

impl DataArgs {
    /// Applies these flags on top of a dataset description.
    pub fn apply(&self, spec: &mut DatasetSpec) -> Result<()> {
        if let Some(kind) = &self.dataset {
            spec.kind = Some(parse(kind)?);
        }
        if let Some(path) = &self.data {
            spec.path = Some(path.clone());
        }
        if let Some(n) = self.train_images {
            spec.train_images = Some(n);
        }
        if let Some(size) = self.image_size {
            spec.image_size = size;
        }
        if let Some(n) = self.synthetic_train {
            spec.synthetic_train_size = n;
        }
        if let Some(n) = self.synthetic_test {
            spec.synthetic_test_size = n;
        }
        Ok(())
    }
}

fn merge(base: &mut serde_json::Value, overlay: serde_json::Value) {
    match (base, overlay) {
        (serde_json::Value::Object(base), serde_json::Value::Object(overlay)) => {
            for (key, value) in overlay {
                merge(base.entry(key).or_insert(serde_json::Value::Null), value);
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// `base` with the keys of a TOML or JSON file laid over it.
pub(crate) fn read_config_file<T>(path: &Path, base: &T) -> Result<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let overlay: serde_json::Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).with_context(|| format!("{}: invalid JSON", path.display()))?
    } else {
        toml::from_str(&text).with_context(|| format!("{}: invalid TOML", path.display()))?
    };
    let mut value = serde_json::to_value(base)?;
    merge(&mut value, overlay);
    serde_json::from_value(value)
        .with_context(|| format!("{}: invalid configuration", path.display()))
}

/// The configuration from run folder (on resume), preset, file and flags, in that order.
pub fn pretrain_config(args: &PretrainArgs, run: &RunDir) -> Result<PretrainConfig> {
    let mut config = if args.resume {
        run.load_config().context("cannot resume")?
    } else {
        PretrainConfig::preset(match &args.preset {
            Some(p) => parse::<Preset>(p)?,
            None => Preset::Paper,
        })
    };
    if let Some(file) = &args.config {
        config = read_config_file(file, &config)?;
    }
    args.data.apply(&mut config.dataset)?;
    let o = &mut config.optimizer;
    if let Some(kind) = &args.optimizer {
        let kind: simclr::optim::OptimizerKind = parse(kind)?;
        if args.lr.is_none() && kind != o.kind {
            // A different optimiser family without a rate: take that family's usual rate.
            o.lr = if kind.scales_with_batch() { 1.0 } else { 1e-3 };
        }
        o.kind = kind;
    }
    set(&mut o.lr, args.lr);
    set(&mut o.weight_decay, args.weight_decay);
    set(&mut o.warmup_epochs, args.warmup_epochs);
    set(&mut config.epochs, args.epochs);
    set(&mut config.batch_size, args.batch_size);
    set(&mut config.width, args.width);
    set(&mut config.temperature, args.temperature);
    set(&mut config.color_jitter_strength, args.color_jitter);
    set(&mut config.seed, args.seed);
    set(&mut config.knn_every, args.knn_every);
    set(&mut config.checkpoint_every, args.checkpoint_every);
    if let Some(stem) = &args.stem {
        config.stem = Some(parse(stem)?);
    }
    if args.blur.is_some() {
        config.blur = args.blur;
    }
    if let Some(backend) = &args.backend {
        config.backend = parse(backend)?;
    }
    config.validate()?;
    Ok(config)
}

/// `value` into `target` when given.
pub(crate) fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}

struct PretrainTask {
    config: PretrainConfig,
    run: RunDir,
    args: PretrainArgs,
}

impl BackendTask for PretrainTask {
    type Output = ();

    fn run<B: AutodiffBackend>(self, device: B::Device) -> simclr::Result<()> {
        let data = self.config.dataset.load()?;
        eprintln!(
            "{}: {} training / {} test images of {}x{}; backend {}; run folder {}",
            data.name,
            data.train.len(),
            data.test.len(),
            data.train.height(),
            data.train.width(),
            self.config.backend,
            self.run.root().display()
        );
        let options = PretrainOptions {
            run_dir: Some(&self.run),
            resume: self.args.resume,
            stop_after_epoch: self.args.stop_after_epoch,
        };
        let mut bar = Bar::new(self.config.epochs);
        pretrain::<B>(&self.config, &data, &options, &mut bar, &device)?;
        bar.finish();
        Ok(())
    }
}

/// `simclr pretrain`.
pub fn pretrain_command(args: PretrainArgs) -> Result<()> {
    let run = RunDir::new(
        args.run_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs/simclr")),
    );
    if !args.resume && run.has_run() {
        bail!(
            "{} already holds a run; pass --resume to continue it or choose another --run-dir",
            run.root().display()
        );
    }
    let config = pretrain_config(&args, &run)?;
    let kind = config.backend;
    dispatch(kind, PretrainTask { config, run, args })?;
    Ok(())
}

/// `simclr export`.
pub fn export_command(args: ExportArgs) -> Result<()> {
    let run = RunDir::new(&args.run_dir);
    let device = Default::default();
    let trained = encoder::from_run_dir::<simclr::backend::Cpu>(&run, &device)?;
    let normalization = trained
        .normalization
        .unwrap_or_else(simclr::data::Normalization::imagenet);
    let bytes = simclr::model::weights::encoder_to_bytes(&trained.encoder, &normalization)?;
    simclr::checkpoint::write_atomic(&args.out, &bytes)?;
    eprintln!("wrote {} ({} bytes)", args.out.display(), bytes.len());
    Ok(())
}

struct EmbedTask {
    args: EmbedArgs,
    source: EncoderSource,
    spec: DatasetSpec,
}

/// The split named on the command line.
pub(crate) fn pick_split<'a>(data: &'a Dataset, name: &str) -> simclr::Result<&'a Split> {
    match name {
        "train" => Ok(&data.train),
        "test" => Ok(&data.test),
        other => Err(simclr::Error::Config(format!(
            "unknown split '{other}' (expected train or test)"
        ))),
    }
}

fn labels_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!("{stem}.labels.npy"))
}

impl BackendTask for EmbedTask {
    type Output = (usize, usize);

    fn run<B: AutodiffBackend>(self, device: B::Device) -> simclr::Result<(usize, usize)> {
        let a = &self.args;
        let data = self.spec.load()?;
        let split = pick_split(&data, &a.split)?;
        if split.is_empty() {
            return Err(simclr::Error::Config(format!(
                "the {} split of {} is empty",
                a.split, data.name
            )));
        }
        let (encoder, normalization) =
            self.source
                .frozen::<B>(split.height(), data.normalization, &device)?;
        let indices: Vec<usize> = (0..split.len()).collect();
        let h = simclr::features::encode(
            &encoder,
            split,
            &indices,
            &normalization,
            a.batch_size,
            &device,
        );
        let [rows, cols] = h.dims();
        let values = simclr::readback::floats(h)?;
        simclr::npy::write(&a.out, &simclr::npy::f32_matrix(&values, rows, cols))?;
        if let Some(labels) = split.labels() {
            let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
            simclr::npy::write(&labels_path(&a.out), &simclr::npy::i64_vector(&labels))?;
        }
        Ok((rows, cols))
    }
}

/// `simclr embed`.
pub fn embed_command(args: EmbedArgs) -> Result<()> {
    let kind: BackendKind = parse(&args.backend)?;
    let out = args.out.clone();
    let source = args.encoder.source(&args.random)?;
    let spec = args.encoder.dataset(&args.data)?;
    let (rows, cols) = dispatch(kind, EmbedTask { args, source, spec })?;
    eprintln!("wrote {} ({rows} x {cols})", out.display());
    Ok(())
}

/// `simclr augment-preview`.
pub fn preview_command(args: PreviewArgs) -> Result<()> {
    let mut spec = DatasetSpec::default();
    args.data.apply(&mut spec)?;
    let data = spec.load()?;
    let config = PretrainConfig {
        dataset: spec,
        color_jitter_strength: args.color_jitter,
        blur: args.blur,
        ..PretrainConfig::default()
    };
    let augment = config.augment()?;
    simclr::preview::write_pairs_png::<simclr::backend::Cpu>(
        &args.out,
        &data.train,
        &augment,
        args.count,
        args.seed,
        &Default::default(),
    )?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

struct BenchTask {
    config: PretrainConfig,
    steps: usize,
    warmup: usize,
}

impl BackendTask for BenchTask {
    type Output = simclr::bench::BenchReport;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> simclr::Result<Self::Output> {
        simclr::bench::bench::<B>(&self.config, self.steps, self.warmup, &device)
    }
}

/// `simclr bench`.
pub fn bench_command(args: BenchArgs) -> Result<()> {
    let mut config = PretrainConfig::preset(Preset::Paper);
    config.backend = parse(&args.backend)?;
    config.batch_size = args.batch_size;
    config.width = args.width;
    config.optimizer.kind = parse(&args.optimizer)?;
    config.validate()?;
    let kind = config.backend;
    let report = dispatch(
        kind,
        BenchTask {
            config,
            steps: args.steps,
            warmup: args.warmup,
        },
    )?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
