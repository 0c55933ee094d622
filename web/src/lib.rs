//! The SimCLR browser app: a Leptos page (`components`) and a web worker (`worker`) that
//! trains with the same core as the native binary, talking through `protocol` messages.

pub mod components;
pub mod protocol;
pub mod settings;
pub mod worker;
