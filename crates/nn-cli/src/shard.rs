//! `--shard K/N | auto`: which part of a grid search this process runs.
//!
//! A search of P points and `cv` folds has P · cv jobs, numbered
//! j = point · cv + fold. Shard K of N runs the jobs with j mod N = K: round
//! robin, so the shards' job counts differ by at most one, and the folds of
//! one point (and neighbouring points, which differ in the last parameter
//! only) land on different shards.
//!
//! With `--shard auto`, K and N come from the cluster:
//! - a Slurm job array: K = (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN`) / `SLURM_ARRAY_TASK_STEP`
//!   (step 1 if unset), N = `SLURM_ARRAY_TASK_COUNT`; with `--shards N`,
//!   K = `SLURM_ARRAY_TASK_ID` itself, so that some tasks of an array
//!   numbered from 0 can be submitted again (`sbatch --array=7,12`) and keep
//!   their shard;
//! - a Kubernetes Indexed Job: K = `JOB_COMPLETION_INDEX`, N = `--shards N` (the Job's `completions`).

use std::fmt;

use crate::error::{CliError, CliResult};

/// The Slurm array variables `--shard auto` reads.
pub const SLURM_TASK_ID: &str = "SLURM_ARRAY_TASK_ID";
/// The lowest task id of the Slurm array.
pub const SLURM_TASK_MIN: &str = "SLURM_ARRAY_TASK_MIN";
/// The number of tasks of the Slurm array.
pub const SLURM_TASK_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
/// The step between task ids of the Slurm array (`--array=0-10:2`).
pub const SLURM_TASK_STEP: &str = "SLURM_ARRAY_TASK_STEP";
/// The index of a pod of a Kubernetes Indexed Job.
pub const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";

/// Shard `index` of `count`, `index` counting from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// K, from 0 to `count` − 1.
    pub index: usize,
    /// N, at least 1.
    pub count: usize,
}

impl Shard {
    /// Shard `index` of `count`.
    ///
    /// # Errors
    /// [`CliError::Usage`] if `count` is 0 or `index` is not below it; `source`
    /// says where the numbers came from (e.g. `--shard 3/3`).
    pub fn new(index: usize, count: usize, source: &str) -> CliResult<Self> {
        if count == 0 {
            return Err(CliError::usage(format!("{source}: the number of shards must be at least 1, got 0")));
        }
        if index >= count {
            return Err(CliError::usage(format!(
                "{source}: shard {index} does not exist: with {count} shards K counts from 0 to {}",
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }

    /// Reads `K/N`, e.g. `0/4`.
    ///
    /// # Errors
    /// [`CliError::Usage`] for anything but two whole numbers with K < N.
    pub fn parse(text: &str) -> CliResult<Self> {
        let source = format!("--shard {text}");
        let numbers = text.split_once('/').and_then(|(k, n)| Some((whole(k)?, whole(n)?)));
        match numbers {
            Some((index, count)) => Shard::new(index, count, &source),
            None => Err(CliError::usage(format!(
                "{source}: expected K/N with K counting from 0 (e.g. 0/4), or auto"
            ))),
        }
    }

    /// The shard `--shard` and `--shards` name, reading `auto` from `env`
    /// (a lookup of environment variables, `std::env::var(..).ok()` in `nn`).
    ///
    /// See the module's documentation for where `auto` takes K and N from.
    ///
    /// # Errors
    /// [`CliError::Usage`]: a malformed `--shard`, `--shards` without `auto`,
    /// `auto` outside a Slurm array or an Indexed Job, a variable that is not a
    /// number, an Indexed Job without `--shards`, or K not below N.
    pub fn resolve(
        shard: &str,
        shards: Option<usize>,
        env: impl Fn(&str) -> Option<String>,
    ) -> CliResult<Self> {
        if shard != "auto" {
            if let Some(n) = shards {
                return Err(CliError::usage(format!(
                    "--shards {n} goes with --shard auto (Kubernetes Indexed Jobs); --shard {shard} already gives N"
                )));
            }
            return Shard::parse(shard);
        }
        let number = |name: &str| -> CliResult<Option<usize>> {
            match env(name) {
                None => Ok(None),
                Some(text) => whole(&text).map(Some).ok_or_else(|| {
                    CliError::usage(format!("--shard auto: {name}={text} is not a whole number"))
                }),
            }
        };
        match (number(SLURM_TASK_ID)?, number(K8S_INDEX)?, shards) {
            (Some(_), Some(_), _) => Err(CliError::usage(format!(
                "--shard auto: both {SLURM_TASK_ID} (Slurm) and {K8S_INDEX} (Kubernetes) are set; give --shard K/N"
            ))),
            (Some(id), None, Some(count)) => {
                // Pinned N: a subset of the array submitted again (sbatch --array=7,12) keeps its shards.
                Shard::new(id, count, &format!("--shard auto ({SLURM_TASK_ID}={id}, --shards {count})"))
            }
            (Some(id), None, None) => {
                let required = |name: &str| {
                    number(name)?.ok_or_else(|| {
                        CliError::usage(format!(
                            "--shard auto: {SLURM_TASK_ID} is set but {name} is not; run as a job array (sbatch --array=0-N)"
                        ))
                    })
                };
                let (min, count) = (required(SLURM_TASK_MIN)?, required(SLURM_TASK_COUNT)?);
                let step = number(SLURM_TASK_STEP)?.unwrap_or(1).max(1);
                if id < min || (id - min) % step != 0 {
                    return Err(CliError::usage(format!(
                        "--shard auto: {SLURM_TASK_ID}={id} is not {SLURM_TASK_MIN}={min} plus a multiple of {SLURM_TASK_STEP}={step}"
                    )));
                }
                let source = format!(
                    "--shard auto ({SLURM_TASK_ID}={id}, {SLURM_TASK_MIN}={min}, {SLURM_TASK_COUNT}={count}; use a contiguous --array)"
                );
                Shard::new((id - min) / step, count, &source)
            }
            (None, Some(index), Some(count)) => {
                Shard::new(index, count, &format!("--shard auto ({K8S_INDEX}={index}, --shards {count})"))
            }
            (None, Some(index), None) => Err(CliError::usage(format!(
                "--shard auto: {K8S_INDEX}={index} is set (a Kubernetes Indexed Job) but --shards N is missing; give the Job's completions"
            ))),
            (None, None, _) => Err(CliError::usage(format!(
                "--shard auto: neither a Slurm job array ({SLURM_TASK_ID}) nor a Kubernetes Indexed Job ({K8S_INDEX}) is in the environment; give --shard K/N"
            ))),
        }
    }

    /// The shard that runs job `job` of a search split into `count` shards.
    pub fn owner(job: usize, count: usize) -> usize {
        job % count.max(1)
    }

    /// This shard's jobs among `total`, in order: `index`, `index + count`, ….
    pub fn jobs(&self, total: usize) -> Vec<usize> {
        (self.index..total).step_by(self.count).collect()
    }
}

impl fmt::Display for Shard {
    /// `K/N`, e.g. `1/3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A whole number without sign or spaces.
fn whole(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    }

    fn message(result: CliResult<Shard>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn k_of_n_is_read_and_shown() {
        let shard = Shard::parse("2/5").unwrap();
        assert_eq!(shard, Shard { index: 2, count: 5 });
        assert_eq!(shard.to_string(), "2/5");
        assert_eq!(Shard::resolve("0/1", None, env(&[])).unwrap(), Shard { index: 0, count: 1 });
    }

    #[test]
    fn jobs_go_round_robin_and_balance() {
        assert_eq!(Shard { index: 1, count: 3 }.jobs(10), [1, 4, 7]);
        assert_eq!(Shard { index: 0, count: 3 }.jobs(10), [0, 3, 6, 9]);
        assert_eq!(Shard { index: 4, count: 6 }.jobs(3), Vec::<usize>::new());
        let mut seen = [0; 10];
        for k in 0..3 {
            for j in (Shard { index: k, count: 3 }).jobs(10) {
                assert_eq!(Shard::owner(j, 3), k);
                seen[j] += 1;
            }
        }
        assert_eq!(seen, [1; 10]);
    }

    #[test]
    fn malformed_shards_are_refused() {
        for text in ["1-3", "a/3", "1/", "/3", "-1/3", "1/3/4", " 1/3", "auto2"] {
            assert_eq!(
                message(Shard::parse(text)),
                format!("--shard {text}: expected K/N with K counting from 0 (e.g. 0/4), or auto")
            );
        }
    }

    #[test]
    fn k_must_be_below_n_and_n_positive() {
        assert_eq!(
            message(Shard::parse("3/3")),
            "--shard 3/3: shard 3 does not exist: with 3 shards K counts from 0 to 2"
        );
        assert_eq!(
            message(Shard::parse("0/0")),
            "--shard 0/0: the number of shards must be at least 1, got 0"
        );
    }

    #[test]
    fn shards_goes_with_auto_only() {
        assert_eq!(
            message(Shard::resolve("1/3", Some(3), env(&[]))),
            "--shards 3 goes with --shard auto (Kubernetes Indexed Jobs); --shard 1/3 already gives N"
        );
    }

    #[test]
    fn auto_reads_a_slurm_array() {
        let vars = [(SLURM_TASK_ID, "7"), (SLURM_TASK_MIN, "5"), (SLURM_TASK_COUNT, "4")];
        assert_eq!(Shard::resolve("auto", None, env(&vars)).unwrap(), Shard { index: 2, count: 4 });
        assert_eq!(
            Shard::resolve("auto", Some(10), env(&vars)).unwrap(),
            Shard { index: 7, count: 10 },
            "--shards pins N and takes K from the task id alone"
        );
        assert_eq!(
            Shard::resolve("auto", Some(10), env(&vars[..1])).unwrap(),
            Shard { index: 7, count: 10 },
            "a re-submitted subset of the array"
        );
        let stepped =
            [(SLURM_TASK_ID, "4"), (SLURM_TASK_MIN, "0"), (SLURM_TASK_COUNT, "3"), (SLURM_TASK_STEP, "2")];
        assert_eq!(Shard::resolve("auto", None, env(&stepped)).unwrap(), Shard { index: 2, count: 3 });
    }

    #[test]
    fn slurm_errors_name_the_variables() {
        let vars = [(SLURM_TASK_ID, "7"), (SLURM_TASK_MIN, "5"), (SLURM_TASK_COUNT, "4")];
        assert_eq!(
            message(Shard::resolve("auto", Some(3), env(&vars))),
            "--shard auto (SLURM_ARRAY_TASK_ID=7, --shards 3): shard 7 does not exist: with 3 shards K counts from 0 to 2"
        );
        assert_eq!(
            message(Shard::resolve("auto", None, env(&vars[..2]))),
            "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; run as a job array (sbatch --array=0-N)"
        );
        let sparse = [(SLURM_TASK_ID, "9"), (SLURM_TASK_MIN, "1"), (SLURM_TASK_COUNT, "3")];
        assert_eq!(
            message(Shard::resolve("auto", None, env(&sparse))),
            "--shard auto (SLURM_ARRAY_TASK_ID=9, SLURM_ARRAY_TASK_MIN=1, SLURM_ARRAY_TASK_COUNT=3; use a contiguous --array): \
             shard 8 does not exist: with 3 shards K counts from 0 to 2"
        );
        let below = [(SLURM_TASK_ID, "0"), (SLURM_TASK_MIN, "1"), (SLURM_TASK_COUNT, "3")];
        assert_eq!(
            message(Shard::resolve("auto", None, env(&below))),
            "--shard auto: SLURM_ARRAY_TASK_ID=0 is not SLURM_ARRAY_TASK_MIN=1 plus a multiple of SLURM_ARRAY_TASK_STEP=1"
        );
        let bad = [(SLURM_TASK_ID, "x")];
        assert_eq!(
            message(Shard::resolve("auto", None, env(&bad))),
            "--shard auto: SLURM_ARRAY_TASK_ID=x is not a whole number"
        );
    }

    #[test]
    fn auto_reads_an_indexed_job_with_shards() {
        let vars = [(K8S_INDEX, "2")];
        assert_eq!(Shard::resolve("auto", Some(3), env(&vars)).unwrap(), Shard { index: 2, count: 3 });
        assert_eq!(
            message(Shard::resolve("auto", None, env(&vars))),
            "--shard auto: JOB_COMPLETION_INDEX=2 is set (a Kubernetes Indexed Job) but --shards N is missing; give the Job's completions"
        );
        assert_eq!(
            message(Shard::resolve("auto", Some(2), env(&vars))),
            "--shard auto (JOB_COMPLETION_INDEX=2, --shards 2): shard 2 does not exist: with 2 shards K counts from 0 to 1"
        );
    }

    #[test]
    fn auto_without_a_cluster_or_with_both_is_refused() {
        assert_eq!(
            message(Shard::resolve("auto", None, env(&[]))),
            "--shard auto: neither a Slurm job array (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) is in the environment; give --shard K/N"
        );
        let both = [(SLURM_TASK_ID, "0"), (K8S_INDEX, "0")];
        assert_eq!(
            message(Shard::resolve("auto", Some(1), env(&both))),
            "--shard auto: both SLURM_ARRAY_TASK_ID (Slurm) and JOB_COMPLETION_INDEX (Kubernetes) are set; give --shard K/N"
        );
    }
}
