//! The `--threads` option of `nn train`, `nn grid` and `nn bench`: a rayon
//! pool of that many threads, and the bound on it.

use crate::error::{CliError, CliResult};

/// The fewest threads [`most_threads`] allows, whatever the machine.
pub const THREADS_FLOOR: usize = 64;

/// The most threads a command starts on a machine of `cores` cores: 4 per
/// core, and at least [`THREADS_FLOOR`]. More only slow a run down (each
/// large product is cut into as many pieces), and tens of thousands make a
/// run of seconds take minutes while the system starts them.
pub fn most_threads(cores: usize) -> usize {
    cores.saturating_mul(4).max(THREADS_FLOOR)
}

/// The cores of this machine, as the standard library sees them (1 if unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Checks a `--threads` value: at least 1, at most [`most_threads`] of this machine.
///
/// # Errors
/// [`CliError::Usage`] naming the bound and the core count.
pub fn check_threads(threads: usize) -> CliResult<()> {
    let cores = cores();
    let most = most_threads(cores);
    if threads == 0 {
        return Err(CliError::usage("--threads must be at least 1"));
    }
    if threads > most {
        return Err(CliError::usage(format!(
            "--threads {threads} is more than the {most} threads nn starts on this machine of {cores} core{} \
             (4 per core, at least {THREADS_FLOOR})",
            if cores == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// A pool of `threads` threads (at least 1) for a command to run in; large
/// matrix products are shared among them (nn_core::linalg).
///
/// # Errors
/// [`CliError::Usage`] for a count [`check_threads`] refuses, or a pool the system refuses.
pub fn thread_pool(threads: usize) -> CliResult<rayon::ThreadPool> {
    check_threads(threads)?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| CliError::usage(format!("cannot start {threads} threads: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_four_per_core_and_at_least_the_floor() {
        assert_eq!(most_threads(1), 64);
        assert_eq!(most_threads(16), 64);
        assert_eq!(most_threads(64), 256);
        assert_eq!(most_threads(usize::MAX), usize::MAX);
        assert!(check_threads(most_threads(cores())).is_ok());
        assert_eq!(check_threads(0).unwrap_err().to_string(), "--threads must be at least 1");
        let err = check_threads(most_threads(cores()) + 1).unwrap_err().to_string();
        assert!(err.contains("threads nn starts on this machine of"), "{err}");
    }
}
