//! The `--threads` option of `nn train` and `nn bench`: a rayon pool of that many threads.

use crate::error::{CliError, CliResult};

/// A pool of `threads` threads (at least 1) for a command to run in; large
/// matrix products are shared among them (nn_core::linalg).
///
/// # Errors
/// [`CliError::Usage`] for 0 threads or a pool the system refuses.
pub fn thread_pool(threads: usize) -> CliResult<rayon::ThreadPool> {
    if threads == 0 {
        return Err(CliError::usage("--threads must be at least 1"));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| CliError::usage(format!("cannot start {threads} threads: {e}")))
}
