//! Training for the report's networks: [`Optim`] (one guarded step),
//! [`sgd`] and [`train`] (the mini-batch loop with early stopping and
//! validation), the optimizers ([`Sgd`], [`Momentum`], [`Adam`]), metrics,
//! and a cross-validated [`grid_search`] on rayon whose results do not
//! depend on the thread count.
//!
//! Everything is written against `nn_core`'s [`Module`](nn_core::Module) and
//! [`Loss`](nn_core::Loss) traits. Every hyper-parameter and every piece of
//! data is checked first: a mistake is a [`TrainError`] naming the argument,
//! and a diverging run is [`TrainError::Diverged`] naming the epoch, batch and
//! layer, with the network left at its last finite weights.

mod adam;
mod as_dyn;
mod atomic;
mod batches;
mod config;
mod data_check;
mod error;
mod evaluate;
mod grid_result;
mod grid_search;
mod history;
mod metrics;
mod momentum;
mod optim;
mod optimizer;
mod param_grid;
mod progress;
mod sgd;
mod sgd_optimizer;
mod stepper;
#[cfg(test)]
mod test_util;

pub use adam::Adam;
pub use config::TrainConfig;
pub use error::{NonFinite, TrainError};
pub use evaluate::{Evaluation, evaluate};
pub use grid_result::{FoldResult, GridResult, PointResult};
pub use grid_search::{GridOptions, Setup, grid_search, job_seed};
pub use history::History;
pub use metrics::{Metric, PREDICT_CHUNK, accuracy, confusion_matrix, mean_squared_error, predict};
pub use momentum::Momentum;
pub use optim::Optim;
pub use optimizer::{DEFAULT_MOMENTUM, Optimizer, OptimizerKind};
pub use param_grid::{ParamGrid, ParamValue, Point};
pub use sgd::{sgd, train};
pub use sgd_optimizer::Sgd;
