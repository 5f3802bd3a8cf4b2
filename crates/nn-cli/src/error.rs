//! Every way a command can fail, each printed as one clear message.

use std::path::PathBuf;

use crate::notation::NotationError;

/// An error of the `nn` command; `main` prints it once and exits with status 2.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The network description could not be read.
    #[error("{what}: {source}")]
    Notation {
        /// Which option held it, e.g. `--net`.
        what: String,
        /// Where and why.
        source: NotationError,
    },
    /// The network does not fit the data or itself.
    #[error("{0}")]
    Shape(#[from] nn_core::ShapeError),
    /// Training or a search failed.
    #[error("{0}")]
    Train(#[from] nn_train::TrainError),
    /// The data could not be read.
    #[error("{0}")]
    Data(#[from] nn_data::DataError),
    /// A figure could not be drawn.
    #[error("{0}")]
    Plot(#[from] nn_plot::PlotError),
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// Options that do not go together, or a value out of range.
    #[error("{0}")]
    Usage(String),
}

/// The result of a command.
pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// A usage error with this message.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }
}
