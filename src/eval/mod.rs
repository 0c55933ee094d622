//! Evaluation of a representation: batched features, the kNN monitor, linear/MLP probe
//! heads and the probing protocol over label fractions, the supervised baseline, the
//! encoders under evaluation, fine-tuning, PCA, t-SNE and UMAP.

pub mod encoder_source;
pub mod features;
pub mod finetune;
pub mod head;
pub mod knn;
pub mod map_method;
pub mod pca;
pub mod probing;
#[cfg(not(target_arch = "wasm32"))]
pub mod supervised;
pub mod supervised_config;
pub mod supervised_task;
pub mod tsne;
pub mod umap;
