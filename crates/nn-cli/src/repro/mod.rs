//! `nn repro`: section 3 of the report on the bundled digits, every
//! experiment trained, measured and drawn, written up as REPORT.md beside
//! its figures.
//!
//! The list of experiments is in [`experiments`]; the runs are trained once
//! each, on two threads, by [`jobs`]; [`render`] draws each section's
//! figures and writes its part of the report; [`report`] assembles REPORT.md.
//! The analyses beyond the report (k-means with purity and the adjusted Rand
//! index, PCA) are in [`kmeans`](mod@kmeans), [`clustering`] and [`pca`].

pub mod clustering;
pub mod experiments;
pub mod jobs;
pub mod kmeans;
pub mod pca;
pub mod render;
pub mod report;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

use ndarray::{Array2, Axis};

pub use clustering::{adjusted_rand_index, purity};
pub use experiments::{Budget, Claim, Section, Study, Variant, sections, select};
pub use jobs::{Job, Trained};
pub use kmeans::{KMeans, cluster_means, kmeans};
pub use pca::{Pca, SymmetricEigen, symmetric_eigen};
pub use report::{ReportMeta, SectionReport, SummaryRow};

use crate::args::ReproArgs;
use crate::data_source::{Split, split};
use crate::error::CliResult;
use crate::output_paths;
use crate::repro::experiments::{SEED, TEST_FRACTION};

/// Most runs trained at a time: the machine this was measured on has 2 cores,
/// and each run's matrix products are single-threaded.
pub const MAX_THREADS: usize = 2;

/// Runs `nn repro`.
///
/// # Errors
/// An unknown `--only` prefix (listing the sections), an output directory
/// that cannot be created, or a figure or REPORT.md that cannot be written.
/// A run that fails (e.g. diverges) is reported in REPORT.md, not as an error.
pub fn run(args: &ReproArgs) -> CliResult<()> {
    let started = Instant::now();
    let budget = Budget::new(args.quick);
    let data = nn_data::digits();
    let split = split(&data, TEST_FRACTION, SEED)?;
    let chosen = select(sections(&budget, split.train.len()), args.only.as_deref())?;
    output_paths::create_dir("--out", &args.out)?;
    let showcase = showcase(&split);
    let jobs: Vec<Job> = chosen.iter().flat_map(Job::of).collect();
    let runs = jobs.iter().map(Job::key).collect::<HashSet<_>>().len();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_THREADS);
    eprintln!(
        "nn repro{}: {} section{}, {runs} runs on {threads} thread{}, into {}",
        if args.quick { " --quick" } else { "" },
        chosen.len(),
        if chosen.len() == 1 { "" } else { "s" },
        if threads == 1 { "" } else { "s" },
        args.out.display()
    );

    let progress = Progress::new(&chosen, runs, started);
    let mut results =
        jobs::run_all(jobs, &split, &showcase, threads, |job, result| progress.done(job, result));

    let ctx = render::Context {
        out: &args.out,
        split: &split,
        showcase: &showcase,
        floor: bce_floor(&split.test.x),
    };
    let mut parts = Vec::new();
    for section in &chosen {
        parts.push(render::section(section, &mut results, &ctx)?);
    }
    let meta = ReportMeta {
        quick: args.quick,
        machine: machine(),
        threads,
        runs,
        total_seconds: started.elapsed().as_secs_f64(),
        setup: setup(&budget, &split, data.len()),
    };
    let path = report::write(&args.out, &meta, &parts)?;
    eprintln!("wrote {} in {:.1} s", path.display(), started.elapsed().as_secs_f64());
    Ok(())
}

/// The first test digit of each class, in class order: (up to 10, 64).
pub fn showcase(split: &Split) -> Array2<f32> {
    let labels = &split.test.labels;
    let rows: Vec<usize> =
        (0..split.test.classes).filter_map(|class| labels.iter().position(|&l| l == class)).collect();
    split.test.x.select(Axis(0), &rows)
}

/// The BCE of a perfect reconstruction: the mean over rows of the pixels'
/// entropy, −Σ [x ln x + (1 − x) ln(1 − x)] (grey levels are not 0 or 1).
pub fn bce_floor(x: &Array2<f32>) -> f64 {
    let entropy =
        |p: f64| if p <= 0.0 || p >= 1.0 { 0.0 } else { -(p * p.ln() + (1.0 - p) * (1.0 - p).ln()) };
    let total: f64 = x.iter().map(|&v| entropy(f64::from(v))).sum();
    total / x.nrows().max(1) as f64
}

/// The processor model (Linux) and the number of logical cores.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, m)| m.trim().to_string())
    });
    match model {
        Some(model) => format!("{model}, {cores} logical cores"),
        None => format!("{cores} logical cores"),
    }
}

fn setup(budget: &Budget, split: &Split, digits: usize) -> Vec<String> {
    vec![
        format!(
            "Data: the bundled 8×8 digits ({digits} images of 64 pixels scaled to [0, 1] by 1/16, 10 \
             classes), split once, stratified: {} for training, {} held out for testing (fraction \
             {TEST_FRACTION}, seed {SEED}). The test set is scored after every epoch for the curves; \
             nothing is selected on it: every run trains for its fixed number of epochs.",
            split.train.len(),
            split.test.len()
        ),
        format!(
            "Training, unless a section varies it: plain SGD (the report's `update_parameters`), \
             learning rate {}, mini-batches of {} (the last, partial one included), weights from the \
             Torch defaults U(±1/√fan_in), {} epochs for classifiers (the report's 200) and {} for \
             auto-encoders. Classifiers use `LogSoftmaxCrossEntropy()` on raw scores, auto-encoders \
             ending in `Sigmoid()` use `BCELoss()`; every loss sums over the outputs of a sample and \
             averages over the batch.",
            experiments::LEARNING_RATE,
            experiments::BATCH_SIZE,
            budget.classifier_epochs,
            budget.autoencoder_epochs
        ),
        format!(
            "Seeds: every run uses seed {SEED} for its weights and its shuffling, so the variants of a \
             section differ only by what the section studies; a run asked for by two sections (e.g. \
             the ReLU network with learning rate 0.1 and batch 32) is trained once; and any row can be \
             repeated alone with `nn train`, whose defaults are the same seed and split. Runs are \
             deterministic: running two at a time changes nothing but the seconds."
        ),
        format!(
            "Auto-encoder losses are BCE per image, summed over the 64 pixels. The pixels are grey \
             levels, not 0 or 1, so even a perfect reconstruction scores their entropy: {:.2} on these \
             test digits. The mean squared error per pixel of the test reconstructions is given beside \
             it. Reconstructions are drawn for the first test digit of each class.",
            bce_floor(&split.test.x)
        ),
        "Verdicts: a claimed accuracy counts as reproduced when ours is at most half a point (0.005) \
         below it, the report's figures having two decimals."
            .to_string(),
    ]
}

/// Progress lines on stderr: one per run, one per section when its last run ends.
struct Progress<'a> {
    sections: &'a [Section],
    runs: usize,
    started: Instant,
    state: Mutex<ProgressState>,
}

#[derive(Default)]
struct ProgressState {
    seconds: HashMap<String, f64>,
    announced: HashSet<&'static str>,
}

impl<'a> Progress<'a> {
    fn new(sections: &'a [Section], runs: usize, started: Instant) -> Self {
        Self { sections, runs, started, state: Mutex::new(ProgressState::default()) }
    }

    fn done(&self, job: &Job, result: &jobs::JobResult) {
        let mut state = self.state.lock().expect("progress is never poisoned");
        let seconds = result.as_ref().map_or(0.0, |t| t.outcome.seconds);
        state.seconds.insert(job.key(), seconds);
        let outcome = match result {
            Ok(t) => match t.outcome.test_accuracy {
                Some(a) => format!("test accuracy {a:.3}"),
                None => format!("test loss {:.3}", t.outcome.test_loss),
            },
            Err(e) => format!("failed: {}", e.lines().next().unwrap_or_default()),
        };
        let spec = job.spec();
        eprintln!(
            "  [{}/{}] {:.1} s  {} ({} epochs): {outcome}",
            state.seconds.len(),
            self.runs,
            seconds,
            spec.net.notation(),
            spec.epochs
        );
        for section in self.sections {
            if state.announced.contains(section.number) {
                continue;
            }
            let keys: Vec<String> = Job::of(section).iter().map(Job::key).collect();
            if keys.iter().all(|k| state.seconds.contains_key(k)) {
                let total: f64 = keys.iter().map(|k| state.seconds[k]).sum();
                eprintln!(
                    "{} {} ... {total:.1} s (at {:.1} s)",
                    section.number,
                    section.title,
                    self.started.elapsed().as_secs_f64()
                );
                state.announced.insert(section.number);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bce_floor_is_the_pixels_entropy() {
        let x = ndarray::array![[0.0_f32, 1.0, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0]];
        // Row 1: two pixels of entropy ln 2; row 2: none. Mean ln 2.
        assert!((bce_floor(&x) - std::f64::consts::LN_2).abs() < 1e-12);
    }

    #[test]
    fn the_showcase_has_one_digit_per_class_in_order() {
        let data = nn_data::digits();
        let split = split(&data, TEST_FRACTION, SEED).unwrap();
        let shown = showcase(&split);
        assert_eq!(shown.dim(), (10, 64));
        for (class, row) in shown.rows().into_iter().enumerate() {
            let index = split.test.labels.iter().position(|&l| l == class).unwrap();
            assert_eq!(row, split.test.x.row(index));
        }
    }
}
