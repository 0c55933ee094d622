//! Arguments shared by several subcommands: which data, which encoder, and parsing of
//! names into the core's types.

use anyhow::Result;
use clap::Args;
use simclr::data::{Dataset, DatasetSpec, Split};
use simclr::eval::encoder_source::EncoderSource;
use simclr::train::config::PretrainConfig;
use simclr::train::parallel::NodePlan;
use simclr::train::run_dir::RunDir;
use std::path::PathBuf;
use std::time::Duration;

/// A name parsed into a core type (optimizer, backend, stem, ...).
pub fn parse<T: std::str::FromStr<Err = simclr::Error>>(value: &str) -> Result<T> {
    Ok(value.parse::<T>()?)
}

/// Which data to read.
#[derive(Args, Debug, Clone, Default)]
pub struct DataArgs {
    /// Dataset format: cifar10, stl10, folder or synthetic [default: inferred from --data,
    /// synthetic without it]
    #[arg(long)]
    pub dataset: Option<String>,
    /// Dataset path: CIFAR-10 folder, .tar.gz or .bin; STL-10 folder; image folder
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use only the first N training images [default: all]
    #[arg(long, value_name = "N")]
    pub train_images: Option<usize>,
    /// Side length that folder images are resized to [default: 32]
    #[arg(long, value_name = "PX")]
    pub image_size: Option<usize>,
    /// Training images of the synthetic dataset [default: the preset's or the run's, else 5000]
    #[arg(long, value_name = "N")]
    pub synthetic_train: Option<usize>,
    /// Test images of the synthetic dataset [default: the preset's or the run's, else 1000]
    #[arg(long, value_name = "N")]
    pub synthetic_test: Option<usize>,
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

/// The encoder under evaluation: trained, from a file, or freshly initialised.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false, id = "encoder_source")]
pub struct EvalEncoderArgs {
    /// A run folder (its last checkpoint)
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// An encoder in safetensors (from `simclr export` or torchvision)
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// A randomly initialised encoder, as pretraining initialises it (see --width, --stem,
    /// --seed)
    #[arg(long)]
    pub random_init: bool,
}

/// The shape and seed of a `--random-init` encoder.
#[derive(Args, Debug, Clone, Default)]
pub struct RandomInitArgs {
    /// Encoder base width of --random-init [default: 64]
    #[arg(long)]
    pub width: Option<usize>,
    /// Encoder stem of --random-init: cifar or imagenet [default: from the image size]
    #[arg(long)]
    pub stem: Option<String>,
    /// Seed of --random-init [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
}

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

/// The split named on the command line.
pub fn pick_split<'a>(data: &'a Dataset, name: &str) -> simclr::Result<&'a Split> {
    match name {
        "train" => Ok(&data.train),
        "test" => Ok(&data.test),
        other => Err(simclr::Error::UnknownName {
            what: "split",
            given: other.into(),
            expected: "train or test".into(),
        }),
    }
}

/// Where this machine stands among several (`--nodes`).
#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    /// Machines that train together (each runs this command with its --node-rank)
    #[arg(long, value_name = "M", requires_all = ["node_rank", "coordinator"])]
    pub nodes: Option<usize>,
    /// This machine's rank, 0 to M-1; rank 0 writes the run folder
    #[arg(long, value_name = "R", requires = "nodes")]
    pub node_rank: Option<usize>,
    /// HOST:PORT of `simclr coordinator`
    #[arg(long, value_name = "HOST:PORT", requires = "nodes")]
    pub coordinator: Option<String>,
    /// HOST:PORT where the other machines reach this one [default: 127.0.0.1 and the
    /// coordinator's port + 1 + rank]
    #[arg(long, value_name = "HOST:PORT", requires = "nodes")]
    pub node_address: Option<String>,
    /// With --nodes: seconds to keep trying to reach the coordinator
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub connect_timeout: u64,
    /// With --nodes: seconds without progress (a peer died) after which this node stops
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub peer_timeout: u64,
}

impl NodeArgs {
    /// This machine's place among several, when --nodes is given.
    pub fn plan(&self) -> Result<Option<NodePlan>> {
        let (Some(nodes), Some(rank), Some(coordinator)) =
            (self.nodes, self.node_rank, self.coordinator.clone())
        else {
            return Ok(None);
        };
        let node_address = match &self.node_address {
            Some(address) => address.clone(),
            None => NodePlan::default_node_address(&coordinator, rank)?,
        };
        let plan = NodePlan {
            nodes,
            rank,
            coordinator,
            node_address,
            connect_timeout: Duration::from_secs(self.connect_timeout),
        };
        plan.validate()?;
        Ok(Some(plan))
    }
}
