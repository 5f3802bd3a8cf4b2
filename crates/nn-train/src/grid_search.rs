//! Cross-validated grid search on a rayon pool: the (point, fold) jobs run
//! the most expensive first, and the results do not depend on the number of threads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ndarray::{ArrayD, ArrayViewD, Axis};
use nn_core::{Float, Loss, Module};
use rayon::prelude::*;

use crate::data_check::check_finite;
use crate::grid_result::{FoldResult, GridResult};
use crate::sgd::train_into;
use crate::{History, Metric, ParamGrid, Point, TrainConfig, TrainError, progress};

/// What the build function of [`grid_search`] makes for a point: a fresh
/// network, its loss, and how to train it.
///
/// `config.seed` is replaced by the job's seed, `config.validation` and
/// `config.progress` are ignored: the search scores each fold itself.
pub struct Setup<F: Float = f32> {
    /// The network, with its starting weights.
    pub net: Box<dyn Module<F>>,
    /// The loss to train with (targets are one-hot rows of the labels).
    pub loss: Box<dyn Loss<F>>,
    /// Batch size, epochs, optimizer, learning rate, early stopping.
    pub config: TrainConfig<F>,
}

/// How [`grid_search`] runs.
#[derive(Debug, Clone, Default)]
pub struct GridOptions {
    /// Threads of the pool running the jobs; `None` (the default): rayon's
    /// global pool (one thread per core, or `RAYON_NUM_THREADS`).
    pub threads: Option<usize>,
    /// Seeds the stratified folds and, with (point index, fold), each job's
    /// shuffling. Default 0.
    pub seed: u64,
    /// A directory to draw one PNG per point into: the training-loss curve of
    /// each fold, named by [`Point::file_stem`] (e.g.
    /// `point-03_hidden=100_lr=0.1.png`). Default `None`.
    pub save_loss_graphs: Option<PathBuf>,
    /// A progress bar over the jobs on stderr, if stderr is a terminal. Default `false`.
    pub progress: bool,
    /// Run only these (point, fold) jobs, numbered `point · cv + fold` (numbers
    /// past the last job select nothing; repeats run once). `None` (the
    /// default): every job. A shard of a search spread over machines: each
    /// point keeps only its selected folds, points with none are left out, and
    /// `mean`/`std` are over the selected folds; put the shards' folds
    /// together with [`GridResult::from_folds`] for the search's ranking.
    pub jobs: Option<Vec<usize>>,
}

/// The training seed of job (`point`, `fold`): a SplitMix64 hash of the
/// search seed, the point index and the fold, so it depends on nothing else.
pub fn job_seed(seed: u64, point: usize, fold: usize) -> u64 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    mix(seed ^ mix(((point as u64) << 20) ^ fold as u64))
}

/// One fold's data, gathered once and shared by every point's job.
struct FoldData<F: Float> {
    x_train: ArrayD<F>,
    y_train: ArrayD<F>,
    x_val: ArrayD<F>,
    labels_val: Vec<usize>,
}

/// Scores every point of `grid` by `cv`-fold stratified cross-validation and
/// ranks them.
///
/// `x` is (n, …) as the networks take it, `labels` the n class labels (the
/// targets are their one-hot rows, as many columns as the largest label + 1).
/// The folds come from [`nn_data::stratified_k_fold`] with `options.seed`.
/// For each (point, fold) job, on a thread of the pool: `build(point)` makes a
/// [`Setup`], which is trained on the other folds with seed
/// [`job_seed`]`(options.seed, point, fold)`, then scored by `metric` on the
/// fold. Jobs start the most expensive first, by an estimate (the network's
/// parameter count × epochs × training rows, which calls `build` once more
/// per point), so that small jobs fill the end of the search; they are
/// collected in job order, so the results are the same, bit for bit, on any
/// number of threads (only `seconds` differs).
///
/// A job whose build or training fails (e.g. [`TrainError::Diverged`]) is
/// recorded as `failed: <message>` and the search goes on. With
/// `options.jobs`, only the selected jobs run (see [`GridOptions::jobs`]);
/// each job's result is the same as in the whole search.
///
/// # Errors
/// Before any job runs: [`TrainError::EmptyGrid`] / [`TrainError::DuplicateParam`]
/// for a bad grid; [`TrainError::EmptyData`], [`TrainError::RowMismatch`],
/// [`TrainError::NoBatchAxis`], [`TrainError::NonFiniteData`] for bad data;
/// [`TrainError::LabelOutOfRange`] for a label the networks have no output
/// for (not below the output width of the first point's network, found by
/// building it once more; not below the number of rows if no point builds);
/// [`TrainError::Data`] if the folds cannot be made (cv < 2 or more folds
/// than samples); [`TrainError::ZeroThreads`] / [`TrainError::ThreadPool`].
/// After the jobs: [`TrainError::Plot`] if a loss graph cannot be drawn.
pub fn grid_search<F, B>(
    build: B,
    grid: &ParamGrid,
    x: ArrayViewD<'_, F>,
    labels: &[usize],
    metric: Metric,
    cv: usize,
    options: &GridOptions,
) -> Result<GridResult, TrainError>
where
    F: Float,
    B: Fn(&Point) -> Result<Setup<F>, TrainError> + Sync,
{
    const WHAT: &str = "grid-search data";
    let points = grid.points()?;
    if x.ndim() == 0 {
        return Err(TrainError::NoBatchAxis { what: WHAT, name: "x" });
    }
    let rows = x.len_of(Axis(0));
    if rows == 0 {
        return Err(TrainError::EmptyData { what: WHAT });
    }
    if rows != labels.len() {
        return Err(TrainError::RowMismatch {
            what: WHAT,
            x_rows: rows,
            y_name: "the label list",
            y_rows: labels.len(),
        });
    }
    check_finite(WHAT, "x", &x)?;
    let classes = check_labels(&build, &points, x.shape(), labels)?;
    let pool = match options.threads {
        Some(0) => return Err(TrainError::ZeroThreads),
        Some(threads) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| TrainError::ThreadPool { threads, message: e.to_string() })?,
        ),
        None => None,
    };
    let folds = nn_data::stratified_k_fold(labels, cv, options.seed).map_err(|source| TrainError::Data {
        context: format!("grid search with cv = {cv}"),
        source: Box::new(source),
    })?;
    let folds: Vec<FoldData<F>> = folds
        .iter()
        .map(|(train, val)| FoldData {
            x_train: x.select(Axis(0), train),
            y_train: one_hot(labels, train, classes),
            x_val: x.select(Axis(0), val),
            labels_val: val.iter().map(|&i| labels[i]).collect(),
        })
        .collect();

    let selected = |p: usize, f: usize| options.jobs.as_ref().is_none_or(|jobs| jobs.contains(&(p * cv + f)));
    let jobs: Vec<(usize, usize)> = (0..points.len())
        .flat_map(|p| (0..cv).map(move |f| (p, f)))
        .filter(|&(p, f)| selected(p, f))
        .collect();
    let bar = progress::bar(options.progress, jobs.len(), "grid");
    let run = |&(p, f): &(usize, usize)| {
        let result = run_job(&build, &points[p], f, &folds[f], metric, job_seed(options.seed, p, f));
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        result
    };
    let schedule = || {
        let point_costs: Vec<f64> = (0..points.len())
            .into_par_iter()
            .with_max_len(1)
            .map(|p| if (0..cv).any(|f| selected(p, f)) { point_cost(&build, &points[p]) } else { 0.0 })
            .collect();
        let costs: Vec<f64> =
            jobs.iter().map(|&(p, f)| point_costs[p] * folds[f].x_train.len_of(Axis(0)) as f64).collect();
        run_largest_first(&jobs, &costs, run)
    };
    let results: Vec<FoldResult> = match &pool {
        Some(pool) => pool.install(schedule),
        None => schedule(),
    };
    if let Some(bar) = bar {
        bar.finish();
    }

    let mut results = results.into_iter();
    let per_point: Vec<(Point, Vec<FoldResult>)> = points
        .into_iter()
        .enumerate()
        .map(|(p, point)| {
            let count = (0..cv).filter(|&f| selected(p, f)).count();
            (point, results.by_ref().take(count).collect::<Vec<_>>())
        })
        .filter(|(_, folds)| !folds.is_empty())
        .collect();
    let result = GridResult::from_folds(metric, cv, grid.names().map(str::to_string).collect(), per_point);
    if let Some(dir) = &options.save_loss_graphs {
        result.draw_loss_graphs(dir)?;
    }
    Ok(result)
}

/// Checks the labels before any job starts and returns the number of
/// classes, the largest label + 1 (the width of the one-hot targets).
///
/// Each label must have an output: it must be below the output width of the
/// network of the first point that builds (asked with
/// [`Module::output_shape`] on `x_shape`). When no point builds, or its
/// network does not take `x`, every job fails anyway; the labels must then be
/// below the number of rows, a bound that keeps the one-hot targets no
/// larger than rows² values. Without this, a label of 10⁹ made every job
/// build a one-hot matrix of rows × (10⁹ + 1) values before failing, and
/// `usize::MAX` wrapped to 0 classes and panicked inside ndarray.
///
/// # Errors
/// [`TrainError::LabelOutOfRange`] naming the first row holding the largest
/// label, the label and the bound.
fn check_labels<F: Float, B>(
    build: &B,
    points: &[Point],
    x_shape: &[usize],
    labels: &[usize],
) -> Result<usize, TrainError>
where
    B: Fn(&Point) -> Result<Setup<F>, TrainError> + Sync,
{
    // The first row of the largest label: that is the one to name.
    let (row, label) =
        labels.iter().enumerate().fold((0, 0), |(r, m), (i, &l)| if l > m { (i, l) } else { (r, m) });
    let outputs = points
        .iter()
        .find_map(|point| build(point).ok())
        .and_then(|setup| setup.net.output_shape(x_shape).ok())
        .and_then(|shape| shape.last().copied());
    let bound = outputs.unwrap_or(labels.len());
    if label >= bound {
        return Err(TrainError::LabelOutOfRange { label, row, classes: bound });
    }
    Ok(label + 1)
}

/// The cost of one of `point`'s jobs per training row: its network's
/// parameter count × its epochs, proportional to a dense network's
/// multiply-adds over a training run; 0 if the build fails (that job fails at
/// once). Builds the network once more than the jobs do; that is cheap next to
/// training it.
fn point_cost<F: Float, B>(build: &B, point: &Point) -> f64
where
    B: Fn(&Point) -> Result<Setup<F>, TrainError> + Sync,
{
    build(point).map_or(0.0, |setup| setup.net.parameter_count() as f64 * setup.config.epochs as f64)
}

/// Runs every job on the current rayon pool, the most expensive first, and
/// returns the results in `jobs` order.
///
/// Jobs differ in cost (W5's hidden size 400 trains about 8× longer than 50),
/// and in grid order the largest come last: the search would end with one
/// thread finishing them while the others idle. Here one worker per thread
/// takes the next job in descending `costs` (equal costs in `jobs` order), so
/// the small jobs fill the end. Which thread runs a job never changes its
/// result, so the results are the same on any number of threads.
fn run_largest_first<J: Sync, R: Send>(jobs: &[J], costs: &[f64], run: impl Fn(&J) -> R + Sync) -> Vec<R> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    // A stable sort: ties keep their grid order.
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]));
    let next = AtomicUsize::new(0);
    let workers = rayon::current_num_threads().clamp(1, jobs.len().max(1));
    let mut done: Vec<(usize, R)> = (0..workers)
        .into_par_iter()
        .with_max_len(1)
        .flat_map_iter(|_| {
            let mut done = Vec::new();
            while let Some(&job) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                done.push((job, run(&jobs[job])));
            }
            done
        })
        .collect();
    done.sort_by_key(|&(job, _)| job);
    done.into_iter().map(|(_, result)| result).collect()
}

/// Builds, trains and scores one (point, fold) job; failures become the result's `error`.
fn run_job<F: Float, B>(
    build: &B,
    point: &Point,
    fold: usize,
    data: &FoldData<F>,
    metric: Metric,
    seed: u64,
) -> FoldResult
where
    B: Fn(&Point) -> Result<Setup<F>, TrainError> + Sync,
{
    let start = Instant::now();
    let mut history = History::default();
    let outcome = (|| -> Result<f64, JobError> {
        let Setup { mut net, mut loss, mut config } = build(point)?;
        config.seed = seed;
        config.validation = None;
        config.progress = false;
        train_into(&mut net, &mut loss, (data.x_train.view(), data.y_train.view()), &config, &mut history)?;
        let score = metric.score(&mut net, data.x_val.view(), &data.labels_val)?;
        if score.is_finite() { Ok(score) } else { Err(JobError(format!("the {metric} score is {score}"))) }
    })();
    let (score, error) = match outcome {
        Ok(score) => (Some(score), None),
        Err(JobError(message)) => (None, Some(message)),
    };
    FoldResult {
        fold,
        score,
        train_loss_history: history.train_loss,
        epochs_run: history.epochs_run,
        seconds: start.elapsed().as_secs_f64(),
        error,
    }
}

/// A job's failure, as its message.
struct JobError(String);

impl From<TrainError> for JobError {
    fn from(e: TrainError) -> Self {
        JobError(e.to_string())
    }
}

/// One-hot rows (len(`rows`), `classes`) of the labels of `rows`.
fn one_hot<F: Float>(labels: &[usize], rows: &[usize], classes: usize) -> ArrayD<F> {
    let mut y = ArrayD::zeros(vec![rows.len(), classes]);
    for (r, &i) in rows.iter().enumerate() {
        y[[r, labels[i]]] = F::one();
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{TinyLinear, TinyMse};
    use crate::{OptimizerKind, PointResult};
    use ndarray::Array;

    /// 60 samples of 3 classes around (1, 0), (−1, 1), (−1, −1), with a constant third feature.
    fn blobs() -> (ArrayD<f32>, Vec<usize>) {
        let labels: Vec<usize> = (0..60).map(|i| i % 3).collect();
        let centres = [(1.0, 0.0), (-1.0, 1.0), (-1.0, -1.0)];
        let x = Array::from_shape_fn((60, 3), |(i, j)| {
            let (cx, cy) = centres[labels[i]];
            let jitter = ((i * 37 + j * 11) % 17) as f32 / 17.0 - 0.5;
            match j {
                0 => cx + 0.4 * jitter,
                1 => cy + 0.4 * jitter,
                _ => 1.0,
            }
        });
        (x.into_dyn(), labels)
    }

    fn build(point: &Point) -> Result<Setup<f32>, TrainError> {
        let config = TrainConfig {
            batch_size: point.get_usize("batch")?,
            epochs: 15,
            learning_rate: point.get_f64("lr")?,
            optimizer: OptimizerKind::Momentum { momentum: 0.5 },
            ..Default::default()
        };
        Ok(Setup { net: Box::new(TinyLinear::<f32>::new(3, 3)), loss: Box::new(TinyMse::new()), config })
    }

    fn grid() -> ParamGrid {
        ParamGrid::new().add("batch", [4, 7]).add("lr", [0.05, 1e7])
    }

    fn without_seconds(mut r: GridResult) -> GridResult {
        for p in &mut r.points {
            for f in &mut p.folds {
                f.seconds = 0.0;
            }
        }
        r
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let (x, labels) = blobs();
        let run = |threads| {
            let options = GridOptions { threads: Some(threads), seed: 3, ..Default::default() };
            grid_search(build, &grid(), x.view(), &labels, Metric::Accuracy, 3, &options).unwrap()
        };
        let one = without_seconds(run(1));
        let csv = |r: &GridResult| {
            r.to_csv_string().lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect::<Vec<_>>()
        };
        for threads in [2, 8] {
            let other = without_seconds(run(threads));
            assert_eq!(one, other, "{threads} threads");
            assert_eq!(csv(&one), csv(&other));
        }
    }

    #[test]
    fn shards_of_jobs_put_together_give_the_whole_search() {
        let (x, labels) = blobs();
        let cv = 3;
        let search = |jobs: Option<Vec<usize>>| {
            let options = GridOptions { threads: Some(2), seed: 7, jobs, ..Default::default() };
            without_seconds(
                grid_search(build, &grid(), x.view(), &labels, Metric::Accuracy, cv, &options).unwrap(),
            )
        };
        let whole = search(None);
        let mut folds: Vec<Vec<FoldResult>> = vec![Vec::new(); 4];
        let mut points: Vec<Option<Point>> = vec![None; 4];
        for shard in 0..5 {
            // Job j = point · cv + fold goes to shard j mod 5; 99 is past the last job.
            let jobs: Vec<usize> = (0..4 * cv).filter(|j| j % 5 == shard).chain([99]).collect();
            let part = search(Some(jobs.clone()));
            let ran: usize = part.points.iter().map(|p| p.folds.len()).sum();
            assert_eq!(ran, jobs.len() - 1, "shard {shard}");
            for p in part.points {
                for f in &p.folds {
                    assert_eq!((p.point.index() * cv + f.fold) % 5, shard);
                }
                folds[p.point.index()].extend(p.folds);
                let index = p.point.index();
                points[index] = Some(p.point);
            }
        }
        let merged: Vec<(Point, Vec<FoldResult>)> = points
            .into_iter()
            .zip(folds)
            .map(|(point, mut folds)| {
                folds.sort_by_key(|f| f.fold);
                (point.unwrap(), folds)
            })
            .collect();
        let merged = GridResult::from_folds(Metric::Accuracy, cv, whole.param_names.clone(), merged);
        assert_eq!(merged, whole);
        assert_eq!(merged.to_csv_string(), whole.to_csv_string());
    }

    #[test]
    fn a_diverging_point_fails_and_the_others_are_scored() {
        let (x, labels) = blobs();
        let options = GridOptions { threads: Some(2), ..Default::default() };
        let r = grid_search(build, &grid(), x.view(), &labels, Metric::Accuracy, 3, &options).unwrap();
        assert_eq!(r.points.len(), 4);
        let (ok, failed): (Vec<&PointResult>, Vec<&PointResult>) =
            r.points.iter().partition(|p| p.succeeded());
        assert_eq!(ok.len(), 2);
        assert_eq!(failed.len(), 2);
        // Successful points first, best first; failed after, by index.
        assert!(r.points[0].succeeded() && r.points[1].succeeded());
        assert!(r.points[0].mean >= r.points[1].mean);
        assert!(r.best().unwrap().mean.unwrap() > 0.9, "{:?}", r.best());
        assert_eq!(failed.iter().map(|p| p.point.index()).collect::<Vec<_>>(), vec![1, 3]);
        for p in &failed {
            assert!(p.point.get_f64("lr").unwrap() > 1.0);
            let f = p.folds.iter().find(|f| f.error.is_some()).unwrap();
            assert!(f.status().starts_with("failed: training diverged at epoch "), "{}", f.status());
            assert!(f.score.is_none());
        }
        for p in &ok {
            assert!(
                p.folds
                    .iter()
                    .all(|f| f.score.is_some() && f.epochs_run == 15 && f.train_loss_history.len() == 15)
            );
        }
    }

    #[test]
    fn rows_count_points_times_folds_and_graphs_are_drawn() {
        let (x, labels) = blobs();
        let dir = std::env::temp_dir().join(format!("nn-train-grid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let options = GridOptions { save_loss_graphs: Some(dir.clone()), ..Default::default() };
        let grid = ParamGrid::new().add("batch", [8]).add("lr", [0.05, 0.1, 0.2]);
        let r = grid_search(build, &grid, x.view(), &labels, Metric::Mse, 4, &options).unwrap();
        r.write_csv(dir.join("grid.csv")).unwrap();
        r.write_jsonl(dir.join("grid.jsonl")).unwrap();
        let csv = std::fs::read_to_string(dir.join("grid.csv")).unwrap();
        assert_eq!(csv.lines().count(), 1 + 3 * 4);
        assert!(csv.starts_with(
            "point,batch,lr,fold,score,final_train_loss,epochs_run,status,seconds\n0,8,0.05,0,"
        ));
        let jsonl = std::fs::read_to_string(dir.join("grid.jsonl")).unwrap();
        assert_eq!(jsonl.lines().count(), 3 * 4);
        for line in jsonl.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["status"], "ok");
        }
        // MSE: lower is better, so the ranking is ascending.
        assert!(r.points.windows(2).all(|w| w[0].mean <= w[1].mean));
        for stem in ["point-00_batch=8_lr=0.05", "point-01_batch=8_lr=0.1", "point-02_batch=8_lr=0.2"] {
            assert!(dir.join(format!("{stem}.png")).is_file(), "{stem}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn folds_are_stratified_and_disjoint() {
        let (_, labels) = blobs();
        let folds = nn_data::stratified_k_fold(&labels, 4, 0).unwrap();
        let mut seen = vec![0; labels.len()];
        for (train, val) in &folds {
            assert_eq!(train.len() + val.len(), labels.len());
            assert!(val.iter().all(|i| !train.contains(i)));
            for c in 0..3 {
                let n = val.iter().filter(|&&i| labels[i] == c).count();
                assert!((5..=5).contains(&n), "class {c}: {n}");
            }
            for &i in val {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
    }

    #[test]
    fn a_failing_build_is_recorded_too() {
        let (x, labels) = blobs();
        let grid = ParamGrid::new().add("lr", [0.1]);
        let r = grid_search(build, &grid, x.view(), &labels, Metric::Accuracy, 2, &GridOptions::default())
            .unwrap();
        assert_eq!(
            r.points[0].folds[0].status(),
            "failed: grid point has no parameter \"batch\" (it has: lr)"
        );
        assert!(r.best().is_none());
    }

    #[test]
    fn bad_searches_are_refused_with_a_message() {
        let (x, labels) = blobs();
        let search = |cv, threads, labels: &[usize]| {
            let options = GridOptions { threads, ..Default::default() };
            grid_search(build, &grid(), x.view(), labels, Metric::Accuracy, cv, &options)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            search(1, None, &labels),
            "grid search with cv = 1: cannot make 1 folds of 60 samples: k must be from 2 to the number of samples"
        );
        assert_eq!(search(3, Some(0), &labels), "threads must be at least 1, got 0");
        assert_eq!(
            search(3, None, &labels[..10]),
            "grid-search data: x has 60 rows but the label list has 10; each sample needs one"
        );
    }

    #[test]
    fn labels_without_an_output_are_refused_before_any_job() {
        let (x, mut labels) = blobs();
        let options = GridOptions { threads: Some(1), ..GridOptions::default() };
        for (row, label) in [(7, 3), (12, 1_000_000_000), (59, usize::MAX)] {
            labels[row] = label;
            let started = std::time::Instant::now();
            let err =
                grid_search(build, &grid(), x.view(), &labels, Metric::Accuracy, 3, &options).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("label {label} in row {row} is not below the number of classes 3")
            );
            assert!(matches!(err, TrainError::LabelOutOfRange { classes: 3, .. }));
            // No job ran: not one one-hot matrix of 10⁹ columns was built.
            assert!(started.elapsed().as_secs() < 5);
        }
    }

    #[test]
    fn without_a_network_labels_must_be_below_the_row_count() {
        let (x, mut labels) = blobs();
        labels[4] = 60;
        let failing = |_: &Point| -> Result<Setup<f32>, TrainError> { Err(TrainError::ZeroEpochs) };
        let err =
            grid_search(failing, &grid(), x.view(), &labels, Metric::Accuracy, 3, &GridOptions::default())
                .unwrap_err();
        assert_eq!(err.to_string(), "label 60 in row 4 is not below the number of classes 60");
    }

    #[test]
    fn a_graph_that_cannot_be_drawn_is_named() {
        let (x, labels) = blobs();
        let dir = PathBuf::from("/nonexistent-nn-train-graphs");
        let options = GridOptions { save_loss_graphs: Some(dir), ..Default::default() };
        let grid = ParamGrid::new().add("batch", [8]).add("lr", [0.05]);
        let err = grid_search(build, &grid, x.view(), &labels, Metric::Accuracy, 2, &options).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot draw /nonexistent-nn-train-graphs/point-00_batch=8_lr=0.05.png: "),
            "{err}"
        );
    }

    #[test]
    fn jobs_start_the_most_expensive_first_and_return_in_job_order() {
        let jobs = ["a", "b", "c", "d", "e"];
        let costs = [1.0, 8.0, 2.0, 8.0, 0.0];
        for threads in [1, 2, 8] {
            let started = std::sync::Mutex::new(Vec::new());
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let results = pool.install(|| {
                run_largest_first(&jobs, &costs, |job| {
                    started.lock().unwrap().push(*job);
                    job.to_uppercase()
                })
            });
            assert_eq!(results, ["A", "B", "C", "D", "E"], "{threads} threads");
            let started = started.into_inner().unwrap();
            let mut sorted = started.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, jobs, "each job runs once");
            if threads == 1 {
                // Equal costs keep their order.
                assert_eq!(started, ["b", "d", "c", "a", "e"]);
            }
        }
        assert!(run_largest_first(&[] as &[u8], &[], |_| 0).is_empty());
    }

    #[test]
    fn a_point_costs_its_parameters_times_its_epochs() {
        let point = &grid().points().unwrap()[0];
        // TinyLinear(3, 3): 9 weights and 3 biases; 15 epochs.
        assert_eq!(point_cost(&build, point), 12.0 * 15.0);
        let point = &ParamGrid::new().add("lr", [0.1]).points().unwrap()[0];
        assert_eq!(point_cost(&build, point), 0.0);
    }

    #[test]
    fn job_seeds_depend_on_point_and_fold() {
        assert_eq!(job_seed(1, 2, 3), job_seed(1, 2, 3));
        let seeds = [job_seed(0, 0, 0), job_seed(0, 0, 1), job_seed(0, 1, 0), job_seed(1, 0, 0)];
        for i in 0..seeds.len() {
            for j in 0..i {
                assert_ne!(seeds[i], seeds[j]);
            }
        }
    }
}
