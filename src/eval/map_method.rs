//! The two ways of drawing a 2-D map of `h`, t-SNE and UMAP, behind one choice: for the
//! study, `simclr tsne --method` and the page alike.

use crate::eval::tsne::{embed, Embedding2d, TsneConfig};
use crate::eval::umap::UmapConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How a 2-D map of `h` is drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MapMethod {
    /// t-SNE (linfa-tsne).
    Tsne(TsneConfig),
    /// UMAP ([`crate::eval::umap`]).
    Umap(UmapConfig),
}

impl MapMethod {
    /// Each method with its default settings, t-SNE first.
    pub fn defaults() -> [MapMethod; 2] {
        [
            MapMethod::Tsne(TsneConfig::default()),
            MapMethod::Umap(UmapConfig::default()),
        ]
    }

    /// The method whose file stem is `stem` (`tsne` or `umap`), with its default settings.
    pub fn named(stem: &str) -> Result<Self> {
        let methods = Self::defaults();
        let expected = crate::error::one_of(methods.iter().map(Self::stem));
        methods
            .into_iter()
            .find(|m| m.stem() == stem)
            .ok_or_else(|| Error::UnknownName {
                what: "map method",
                given: stem.into(),
                expected,
            })
    }

    /// "t-SNE" or "UMAP".
    pub fn name(&self) -> &'static str {
        match self {
            MapMethod::Tsne(_) => "t-SNE",
            MapMethod::Umap(_) => "UMAP",
        }
    }

    /// The file stem: `tsne` or `umap`.
    pub fn stem(&self) -> &'static str {
        match self {
            MapMethod::Tsne(_) => "tsne",
            MapMethod::Umap(_) => "umap",
        }
    }

    /// The seed of the method's random start (and of the points chosen for it).
    pub fn seed(&self) -> u64 {
        match self {
            MapMethod::Tsne(c) => c.seed,
            MapMethod::Umap(c) => c.seed,
        }
    }

    /// Rejects settings that give no map, by name.
    pub fn validate(&self) -> Result<()> {
        match self {
            MapMethod::Tsne(c) => c.validate(),
            MapMethod::Umap(c) => c.validate(),
        }
    }

    /// The 2-D map of `values`, `dim` numbers per point.
    pub fn embed(&self, values: &[f32], dim: usize) -> Result<Embedding2d> {
        match self {
            MapMethod::Tsne(c) => embed(values, dim, c),
            MapMethod::Umap(c) => crate::eval::umap::embed(values, dim, c),
        }
    }
}
