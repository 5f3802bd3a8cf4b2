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
//!
//! ```
//! use nn_layers::{Linear, ReLU};
//! use nn_losses::LogSoftmaxCrossEntropy;
//! use nn_models::Sequential;
//! use nn_train::{TrainConfig, accuracy, predict, train};
//! use rand::{SeedableRng, rngs::StdRng};
//!
//! let digits = nn_data::digits();
//! let x = digits.x.clone().into_dyn();
//! let y = digits.one_hot().into_dyn();
//! let mut rng = StdRng::seed_from_u64(1);
//! let mut net = Sequential::new().add(Linear::new(64, 32, &mut rng)).add(ReLU::new()).add(Linear::new(32, 10, &mut rng));
//! let config = TrainConfig { epochs: 5, learning_rate: 0.1, ..Default::default() };
//! let history = train(&mut net, &mut LogSoftmaxCrossEntropy::new(), (x.view(), y.view()), &config)?;
//! assert!(history.train_loss[4] < history.train_loss[0]);
//! assert!(accuracy(&predict(&mut net, x.view())?, &digits.labels) > 0.8);
//! # Ok::<(), nn_train::TrainError>(())
//! ```

mod adam;
mod as_dyn;
mod atomic;
mod batches;
mod checkpoint;
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
pub use checkpoint::{CheckpointInfo, Checkpointing, read_checkpoint, resume, train_checkpointed};
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
