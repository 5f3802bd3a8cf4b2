//! The error every training entry point returns: bad hyper-parameters, bad
//! data, a shape mistake, a divergence, a file that cannot be written.

use std::fmt;
use std::path::PathBuf;

use nn_core::ShapeError;

/// What went wrong in training, validation, grid search or writing results.
///
/// Every hyper-parameter and every piece of data is checked before the first
/// step, so a mistake reads as one of these, naming the argument, never as a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// The batch size is 0.
    #[error("batch size must be at least 1, got 0")]
    ZeroBatchSize,
    /// The number of epochs is 0.
    #[error("number of epochs must be at least 1, got 0")]
    ZeroEpochs,
    /// The learning rate is not a positive finite number.
    #[error("learning rate must be positive and finite, got {0}")]
    LearningRate(f64),
    /// The early-stopping threshold is negative or not finite.
    #[error("early-stopping threshold eps must be non-negative and finite, got {0}")]
    EarlyStopEps(f64),
    /// The momentum of SGD with momentum is outside [0, 1).
    #[error("momentum must be in [0, 1), got {0}")]
    Momentum(f64),
    /// An optimizer name that `OptimizerKind::from_str` does not know.
    #[error("unknown optimizer \"{0}\": expected sgd, momentum or adam")]
    UnknownOptimizer(String),
    /// A metric name that `Metric::from_str` does not know.
    #[error("unknown metric \"{0}\": expected accuracy or mse")]
    UnknownMetric(String),
    /// A data set (`what` is e.g. `training data`) has no rows.
    #[error("{what} is empty: x has 0 rows")]
    EmptyData {
        /// Which data: `training data`, `validation data`, `grid-search data`.
        what: &'static str,
    },
    /// Inputs and targets (or labels) do not have one row per sample each.
    #[error("{what}: x has {x_rows} rows but {y_name} has {y_rows}; each sample needs one")]
    RowMismatch {
        /// Which data: `training data`, `validation data`, `grid-search data`.
        what: &'static str,
        /// Rows of the inputs.
        x_rows: usize,
        /// What the second argument is: `y` or `the label list`.
        y_name: &'static str,
        /// Rows of the targets (or number of labels).
        y_rows: usize,
    },
    /// A tensor is a scalar (rank 0), so it has no rows.
    #[error("{what}: {name} must have a batch axis (rows = samples), got a scalar")]
    NoBatchAxis {
        /// Which data.
        what: &'static str,
        /// `x` or `y`.
        name: &'static str,
    },
    /// The data holds a NaN or an infinity.
    #[error("{what}: {name} holds a non-finite value ({value}) in row {row}")]
    NonFiniteData {
        /// Which data.
        what: &'static str,
        /// `x` or `y`.
        name: &'static str,
        /// The row, counting from 0.
        row: usize,
        /// The value, `NaN`, `inf` or `-inf`.
        value: f64,
    },
    /// A module or loss refused a tensor; `context` says where (e.g. `epoch 1, batch 1`).
    #[error("{context}: {source}")]
    Shape {
        /// Where it happened.
        context: String,
        /// The module's or loss's own error (boxed: it keeps `TrainError` small).
        #[source]
        source: Box<ShapeError>,
    },
    /// The loss, a gradient or a parameter became NaN or infinite.
    ///
    /// The parameters are left as they were before the failing step, all
    /// finite, so the network keeps its last good weights.
    #[error("{}", DivergedMessage(self))]
    Diverged {
        /// The epoch, counting from 1; 0 when [`crate::Optim::step`] was called
        /// on its own, and `batch` is then the step count.
        epoch: usize,
        /// The batch within the epoch, counting from 1.
        batch: usize,
        /// The batch loss (NaN or infinite unless `cause` says otherwise).
        loss: f64,
        /// What became non-finite.
        cause: NonFinite,
        /// The first module whose output is not finite, as
        /// `Module::first_non_finite_output` names it (`layer 2, Linear(100, 10)`).
        layer: Option<String>,
        /// The learning rate in use.
        learning_rate: f64,
    },
    /// A grid-search point lacks a parameter the build function asks for.
    #[error("grid point has no parameter \"{name}\" (it has: {available})")]
    MissingParam {
        /// The name asked for.
        name: String,
        /// The names the point has, comma separated.
        available: String,
    },
    /// A grid-search parameter does not have the type asked for.
    #[error("grid parameter \"{name}\" is {value}, expected {expected}")]
    ParamType {
        /// The parameter.
        name: String,
        /// Its value, printed.
        value: String,
        /// What was asked, e.g. `a number` or `a non-negative integer`.
        expected: &'static str,
    },
    /// The grid has no point: no parameter, or a parameter without values.
    #[error("parameter grid is empty{0}")]
    EmptyGrid(String),
    /// A grid parameter is named twice.
    #[error("grid parameter \"{0}\" is given twice")]
    DuplicateParam(String),
    /// A split of the data (nn-data) failed, e.g. too few samples for the folds.
    #[error("{context}: {source}")]
    Data {
        /// What was being split, e.g. `grid search with cv = 5`.
        context: String,
        /// nn-data's error (boxed: it keeps `TrainError` small).
        #[source]
        source: Box<nn_data::DataError>,
    },
    /// A thread count of 0.
    #[error("threads must be at least 1, got 0")]
    ZeroThreads,
    /// The thread pool could not be built.
    #[error("cannot start a pool of {threads} threads: {message}")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// rayon's message.
        message: String,
    },
    /// A label is not below the number of classes.
    #[error("label {label} in row {row} is not below the number of classes {classes}")]
    LabelOutOfRange {
        /// The label.
        label: usize,
        /// Its row, counting from 0.
        row: usize,
        /// The number of classes.
        classes: usize,
    },
    /// Predicted and true labels differ in length.
    #[error("{predicted} predictions but {labels} labels")]
    LengthMismatch {
        /// Number of predictions.
        predicted: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A model or checkpoint file cannot be read or written, is corrupt, or
    /// does not fit the network: nn-io's message, which names the file.
    #[error(transparent)]
    ModelFile(Box<nn_io::IoError>),
    /// The checkpoint interval is 0.
    #[error("checkpoint interval must be at least 1 epoch, got 0")]
    ZeroCheckpointEvery,
    /// A model file without the metadata of a checkpoint, or with damaged metadata.
    #[error("{} is not a checkpoint: {reason}", path.display())]
    NotACheckpoint {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong, e.g. `no "epochs" in its metadata`.
        reason: String,
    },
    /// A checkpoint written with another optimizer than the one the run asks for.
    #[error(
        "{} was written by a run with optimizer {checkpoint} but this run uses {config}; resume with the same optimizer",
        path.display()
    )]
    OptimizerMismatch {
        /// The checkpoint.
        path: PathBuf,
        /// The checkpoint's optimizer, e.g. `adam`.
        checkpoint: String,
        /// The run's optimizer.
        config: String,
    },
    /// A checkpoint that has already run more epochs than asked for in all.
    #[error(
        "{} has already run {done} epochs, more than the {epochs} asked for; ask for at least {done} epochs in all",
        path.display()
    )]
    CheckpointAhead {
        /// The checkpoint.
        path: PathBuf,
        /// Epochs it has run.
        done: usize,
        /// Epochs asked for in all.
        epochs: usize,
    },
    /// An optimizer was given a state it cannot take.
    #[error("{optimizer} cannot take this state: {reason}")]
    OptimizerState {
        /// The optimizer, e.g. `Adam(lr=0.001, …)`.
        optimizer: String,
        /// What does not fit.
        reason: String,
    },
    /// A loss graph could not be drawn.
    #[error("cannot draw {}: {source}", path.display())]
    Plot {
        /// The file.
        path: PathBuf,
        /// nn-plot's error (boxed: it keeps `TrainError` small).
        #[source]
        source: Box<nn_plot::PlotError>,
    },
}

/// What became non-finite in a diverged step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonFinite {
    /// The batch loss is NaN or infinite.
    Loss,
    /// The loss is finite but the gradient of this parameter (its state-dict name) is not.
    Gradient(String),
    /// Loss and gradients are finite but the update would make this parameter non-finite.
    Update(String),
}

/// Formats [`TrainError::Diverged`] (thiserror cannot branch).
struct DivergedMessage<'a>(&'a TrainError);

impl fmt::Display for DivergedMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TrainError::Diverged { epoch, batch, loss, cause, layer, learning_rate } = self.0 else {
            return Ok(());
        };
        if *epoch == 0 {
            write!(f, "training diverged at step {batch}: ")?;
        } else {
            write!(f, "training diverged at epoch {epoch}, batch {batch}: ")?;
        }
        match cause {
            NonFinite::Loss => write!(f, "loss is {}", Num(*loss))?,
            NonFinite::Gradient(p) => {
                write!(f, "loss is {} but the gradient of {p} is not finite", Num(*loss))?
            }
            NonFinite::Update(p) => write!(f, "loss is {} but the update makes {p} non-finite", Num(*loss))?,
        }
        match (layer, cause) {
            (Some(layer), _) => write!(f, "; first non-finite output in {layer}")?,
            (None, NonFinite::Loss) => f.write_str("; every layer's output is finite, the loss is not")?,
            (None, _) => {}
        }
        write!(f, "; try a smaller learning rate (now {})", Num(*learning_rate))
    }
}

/// A number as people read it: `0.1`, `1000000`, `1e30`, `NaN`.
struct Num(f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if x.is_finite() && x != 0.0 && !(1e-4..1e9).contains(&x.abs()) {
            write!(f, "{x:e}")
        } else {
            write!(f, "{x}")
        }
    }
}

impl From<nn_io::IoError> for TrainError {
    fn from(error: nn_io::IoError) -> Self {
        TrainError::ModelFile(Box::new(error))
    }
}

impl TrainError {
    /// Wraps a [`ShapeError`] with where it happened.
    pub fn shape(context: impl Into<String>, source: ShapeError) -> Self {
        TrainError::Shape { context: context.into(), source: Box::new(source) }
    }

    /// The [`ShapeError`] inside, if this is a [`TrainError::Shape`].
    pub fn as_shape_error(&self) -> Option<&ShapeError> {
        match self {
            TrainError::Shape { source, .. } => Some(source),
            _ => None,
        }
    }

    /// Whether this is a [`TrainError::Diverged`].
    pub fn is_diverged(&self) -> bool {
        matches!(self, TrainError::Diverged { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_stays_small_enough_to_return() {
        // clippy's result_large_err fires at 128 bytes, in our callers' closures too.
        assert!(std::mem::size_of::<TrainError>() < 128, "{}", std::mem::size_of::<TrainError>());
    }
}
