//! The `nn` command's library: the report's network notation, the data
//! options, model files, and the commands built on them (`train`, `eval`,
//! `predict`, `export`, `grid`, `repro`, `bench`).
//!
//! The binary (`src/main.rs`) only parses the command line and prints errors.

pub mod alloc_counter;
pub mod args;
pub mod bench_cmd;
pub mod build;
pub mod data_source;
pub mod error;
pub mod eval_cmd;
pub mod experiment;
pub mod export_cmd;
pub mod fingerprint;
pub mod grid_cmd;
pub mod merge;
pub mod model_file;
pub mod notation;
pub mod output_paths;
pub mod predict_cmd;
pub mod repro;
pub mod search_id;
pub mod shard;
pub mod shard_file;
pub mod threads;
pub mod train_cmd;
pub mod workloads;
