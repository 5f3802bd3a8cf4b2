//! Training the runs of the selected sections: each configuration once (two
//! sections asking for the same run share it), the longest first, on a few
//! threads. Every run is seeded, so the results do not depend on the order.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use ndarray::Array2;
use nn_train::{History, TrainConfig, evaluate, train};

use crate::data_source::{Split, shaped};
use crate::error::{CliError, CliResult};
use crate::experiment::{self, NetSpec, Network, Outcome, RunSpec, input_shape, outputs};
use crate::repro::experiments::{PIXELS, Section, Study};

/// One thing to train.
#[derive(Debug, Clone)]
pub enum Job {
    /// A run of `experiment::run`.
    Run(RunSpec),
    /// An auto-encoder trained in stages, measured at the end of each: the
    /// epoch counts (increasing) at which it is measured.
    Stages(RunSpec, Vec<usize>),
}

/// The key of a run: everything that changes its result (the loss as used,
/// whether named or the default).
pub fn run_key(spec: &RunSpec) -> String {
    format!(
        "{} | loss {:?} | {} lr {} | batch {} | {} epochs | seed {} | eps {:?}",
        spec.net.notation(),
        spec.loss.unwrap_or_else(|| spec.net.default_loss()),
        spec.optimizer,
        spec.lr,
        spec.batch_size,
        spec.epochs,
        spec.seed,
        spec.eps
    )
}

impl Job {
    /// The jobs of `section`, one per variant.
    pub fn of(section: &Section) -> Vec<Job> {
        match &section.study {
            Study::Stages { variant, stages } => vec![Job::Stages(variant.spec.clone(), stages.clone())],
            _ => section.variants().into_iter().map(|v| Job::Run(v.spec.clone())).collect(),
        }
    }

    /// The run's settings.
    pub fn spec(&self) -> &RunSpec {
        match self {
            Job::Run(spec) | Job::Stages(spec, _) => spec,
        }
    }

    /// Identifies the job: equal keys, equal results.
    pub fn key(&self) -> String {
        match self {
            Job::Run(spec) => run_key(spec),
            Job::Stages(spec, stages) => format!("stages {stages:?} | {}", run_key(spec)),
        }
    }

    /// A rough cost for ordering: epochs × multiply-adds and outputs per digit.
    pub fn cost(&self) -> f64 {
        let spec = self.spec();
        let network = Network::build(&spec.net, 0);
        let Ok(row) = experiment::check(&spec.net, &network, PIXELS, 10) else { return 0.0 };
        let Ok(summary) = network.summary(&input_shape(1, &row)) else { return 0.0 };
        let per_digit: usize = summary
            .rows
            .iter()
            .map(|r| {
                let inner = &r.output_shape[1..];
                let positions: usize = inner[..inner.len().saturating_sub(1)].iter().product();
                r.parameters * positions + inner.iter().product::<usize>()
            })
            .sum();
        spec.epochs as f64 * per_digit as f64
    }
}

/// An auto-encoder measured at one stage of a staged run.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Epochs trained so far.
    pub epochs: usize,
    /// Loss on the training data.
    pub train_loss: f64,
    /// Loss on the test data.
    pub test_loss: f64,
    /// Mean squared error per pixel of the test reconstructions.
    pub test_mse: f64,
    /// Reconstructions of the showcase digits.
    pub showcase: Array2<f32>,
}

/// A trained job.
pub struct Trained {
    /// The run (for a staged run: at its last stage, with the whole history).
    pub outcome: Outcome,
    /// Auto-encoders: mean squared error per pixel of the test reconstructions.
    pub test_mse: Option<f64>,
    /// Auto-encoders: reconstructions of the showcase digits, (digits, 64).
    pub showcase: Option<Array2<f32>>,
    /// Staged runs: each stage.
    pub stages: Vec<Stage>,
}

/// What a job gave: the trained run or why it failed (e.g. divergence).
pub type JobResult = Result<Trained, String>;

/// Test-set mean squared error per pixel and the showcase reconstructions of an auto-encoder.
fn reconstruction(
    network: &mut Network,
    row_shape: &[usize],
    split: &Split,
    showcase: &Array2<f32>,
) -> CliResult<(f64, Array2<f32>)> {
    let rebuilt = outputs(network, &split.test.x, row_shape)?;
    let mse = (&rebuilt - &split.test.x).mapv(|d| f64::from(d) * f64::from(d)).mean().unwrap_or(f64::NAN);
    Ok((mse, outputs(network, showcase, row_shape)?))
}

/// Trains an auto-encoder in stages: the first stage is exactly a run of
/// `stages[0]` epochs; each next stage continues the same network with the
/// seed + stage index for its shuffling.
fn staged(spec: &RunSpec, split: &Split, stages: &[usize], showcase: &Array2<f32>) -> CliResult<Trained> {
    if !matches!(spec.net, NetSpec::AutoEncoder { .. }) {
        return Err(CliError::usage("a staged run trains an auto-encoder"));
    }
    let mut network = Network::build(&spec.net, spec.seed);
    let row_shape = experiment::check(&spec.net, &network, split.train.features(), split.train.classes)?;
    let (x_train, y_train) = (shaped(&split.train.x, &row_shape), split.train.x.clone().into_dyn());
    let (x_test, y_test) = (shaped(&split.test.x, &row_shape), split.test.x.clone().into_dyn());
    let mut loss = spec.loss.unwrap_or_else(|| spec.net.default_loss()).build();
    let mut history = History::default();
    let mut done = 0;
    let mut seconds = 0.0;
    let mut measured = Vec::new();
    for (index, &target) in stages.iter().enumerate() {
        let config = TrainConfig {
            batch_size: spec.batch_size,
            epochs: target.saturating_sub(done),
            early_stop_eps: spec.eps,
            optimizer: spec.optimizer,
            learning_rate: spec.lr,
            seed: spec.seed + index as u64,
            validation: Some((x_test.clone(), y_test.clone())),
            progress: false,
        };
        let started = Instant::now();
        let part = train(network.module(), loss.as_mut(), (x_train.view(), y_train.view()), &config)?;
        seconds += started.elapsed().as_secs_f64();
        history.train_loss.extend(part.train_loss);
        history.val_loss.extend(part.val_loss);
        history.val_accuracy.extend(part.val_accuracy);
        history.epochs_run += part.epochs_run;
        done = target;
        let on_train = evaluate(network.module(), loss.as_ref(), x_train.view(), y_train.view(), 256)?;
        let on_test = evaluate(network.module(), loss.as_ref(), x_test.view(), y_test.view(), 256)?;
        let (test_mse, rebuilt) = reconstruction(&mut network, &row_shape, split, showcase)?;
        measured.push(Stage {
            epochs: target,
            train_loss: on_train.loss,
            test_loss: on_test.loss,
            test_mse,
            showcase: rebuilt,
        });
    }
    let last = measured.last().cloned().ok_or_else(|| CliError::usage("a staged run needs stages"))?;
    let outcome = Outcome {
        network,
        loss: loss.to_string(),
        history,
        train_loss: last.train_loss,
        test_loss: last.test_loss,
        test_accuracy: None,
        seconds,
        row_shape,
    };
    Ok(Trained { outcome, test_mse: Some(last.test_mse), showcase: Some(last.showcase), stages: measured })
}

/// Trains `job` on `split` and measures it; `showcase` are the digits to reconstruct.
///
/// # Errors
/// Shape errors, divergence, or a staged run of a classifier.
pub fn train_job(job: &Job, split: &Split, showcase: &Array2<f32>) -> CliResult<Trained> {
    match job {
        Job::Stages(spec, stages) => staged(spec, split, stages, showcase),
        Job::Run(spec) => {
            let mut outcome = experiment::run(spec, split)?;
            let (test_mse, rebuilt) = match spec.net {
                NetSpec::AutoEncoder { .. } => {
                    let (mse, rebuilt) =
                        reconstruction(&mut outcome.network, &outcome.row_shape, split, showcase)?;
                    (Some(mse), Some(rebuilt))
                }
                NetSpec::Classifier(_) => (None, None),
            };
            Ok(Trained { outcome, test_mse, showcase: rebuilt, stages: Vec::new() })
        }
    }
}

/// Trains every job (each key once) on `threads` threads, the costliest
/// first, calling `on_done` as each finishes; returns the results by key.
pub fn run_all<P>(
    jobs: Vec<Job>,
    split: &Split,
    showcase: &Array2<f32>,
    threads: usize,
    on_done: P,
) -> HashMap<String, JobResult>
where
    P: Fn(&Job, &JobResult) + Sync,
{
    let mut unique: Vec<Job> = Vec::new();
    for job in jobs {
        if !unique.iter().any(|j| j.key() == job.key()) {
            unique.push(job);
        }
    }
    let mut costed: Vec<(f64, Job)> = unique.into_iter().map(|j| (j.cost(), j)).collect();
    // Popped from the end: the costliest first, so no long run starts last.
    costed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let queue = Mutex::new(costed);
    let results = Mutex::new(HashMap::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().expect("no worker panics holding the queue").pop();
                    let Some((_, job)) = next else { break };
                    let result = train_job(&job, split, showcase).map_err(|e| e.to_string());
                    on_done(&job, &result);
                    results.lock().expect("no worker panics holding the results").insert(job.key(), result);
                }
            });
        }
    });
    results.into_inner().expect("every worker finished")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repro::experiments::{Budget, sections};

    #[test]
    fn the_same_run_in_two_sections_has_one_key() {
        let all = sections(&Budget::new(false), 1437);
        let jobs: Vec<Job> = all.iter().flat_map(Job::of).collect();
        let key = |number: &str, index: usize| {
            Job::of(all.iter().find(|s| s.number == number).unwrap())[index].key()
        };
        // The ReLU network with lr 0.1 and batch 32 is 3.1.1's linear run.
        assert_eq!(key("3.1.1", 0), key("3.1.2", 1));
        assert_eq!(key("3.1.1", 0), key("3.2.3", 1));
        assert_ne!(key("3.2.3", 0), key("3.2.3", 1));
        // 3.2.1's LogSoftmax CE variant names the default loss: the same run.
        assert_eq!(key("3.1.1", 0), key("3.2.1", 3));
        assert_ne!(key("3.1.1", 0), key("3.2.1", 0));
        let unique: std::collections::HashSet<String> = jobs.iter().map(Job::key).collect();
        assert!(unique.len() < jobs.len());
    }

    #[test]
    fn costs_order_the_long_runs_first() {
        let all = sections(&Budget::new(false), 1437);
        let cost = |number: &str, index: usize| {
            Job::of(all.iter().find(|s| s.number == number).unwrap())[index].cost()
        };
        assert!(cost("3.1.1", 1) > cost("3.1.1", 0), "convolution costs more than linear");
        assert!(cost("3.3.2", 0) > cost("3.3.1", 0), "1500 epochs cost more than 300");
    }
}
