//! One module per subcommand: its flags and its work.

pub mod augment_preview;
pub mod bench;
pub mod coordinator;
pub mod embed;
pub mod experiment;
pub mod export;
pub mod finetune;
pub mod pretrain;
pub mod probe;
pub mod supervised;
pub mod tsne;
