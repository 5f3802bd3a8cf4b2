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
    /// A model or checkpoint file cannot be read or written, is corrupt, or
    /// does not fit its network: nn-io's message, which names the file.
    #[error(transparent)]
    ModelFile(#[from] nn_io::IoError),
    /// A safetensors file without the metadata `nn` needs to rebuild the network.
    #[error("{} is not a model written by nn: {reason}", path.display())]
    NotAModel {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong, e.g. `no "net" entry in its metadata`.
        reason: String,
    },
    /// A file that a command would replace, without `--force`.
    #[error("{} exists; pass --force to replace it", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Options that do not go together, or a value out of range.
    #[error("{0}")]
    Usage(String),
}

/// The result of a command.
pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CliError::Io { path: path.into(), source }
    }

    /// A usage error with this message.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }
}
