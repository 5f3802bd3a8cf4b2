//! `nn bench`: times training epochs of a network (or of a named workload,
//! W1–W5), counts heap allocations per step, and measures matrix products.
//!
//! An epoch is what [`nn_train::train`] runs: shuffle the rows, gather each
//! mini-batch (the last, partial one included) into a buffer allocated once,
//! and take one [`Optim::step`] (forward, loss, backward, finiteness checks,
//! SGD update). The loop is written here, around the library's `Optim`, so
//! that each epoch and each step can be timed and the allocations of the
//! timed epochs counted; it does what `train` does per epoch, without
//! `train`'s once-per-call checks of the data. The first epoch is a warm-up
//! (buffers grow to their sizes); the median and minimum are over the rest.

use std::fs;
use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use ndarray::{Array2, ArrayD, ArrayViewD, CowArray, IxDyn};
use nn_core::linalg::matmul_into;
use nn_data::{Dataset, digits, one_hot, stratified_k_fold, stratified_split};
use nn_train::{GridOptions, GridResult, Metric, Optim, ParamGrid, Point, Setup, TrainConfig, grid_search};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use crate::alloc_counter;
use crate::args::BenchArgs;
use crate::build;
use crate::data_source::{load, shaped, split};
use crate::error::{CliError, CliResult};
use crate::experiment::{self, NetSpec, Network};
use crate::notation::{LayerSpec, parse};
use crate::output_paths;
use crate::threads::thread_pool;
use crate::workloads::{self, Workload, WorkloadData, WorkloadName};

/// Runs `nn bench`.
///
/// # Errors
/// [`CliError::Usage`] for options that do not go together or are out of
/// range, an unknown workload; the errors of the notation, the data, and of
/// training (e.g. a diverging run).
pub fn run(args: &BenchArgs) -> CliResult<()> {
    if let Some(dir) = &args.dump_data {
        return dump_data(dir, args.json);
    }
    let threads = args.threads.unwrap_or(1);
    let pool = thread_pool(threads)?;
    if let Some(epochs) = args.epochs
        && epochs < 2
    {
        return Err(CliError::usage(format!(
            "--epochs must be at least 2 (one warm-up epoch, then the timed ones), got {epochs}"
        )));
    }
    let report = if args.gemm {
        pool.install(|| gemm_report(threads))?
    } else {
        match &args.workload {
            Some(name) => match WorkloadName::parse(name)? {
                WorkloadName::W5 => w5_report(args, threads)?,
                name => pool.install(|| workload_report(name.workload(), args, threads))?,
            },
            None => pool.install(|| net_report(args, threads))?,
        }
    };
    if args.json {
        println!("{report}");
    } else {
        print_text(&report);
    }
    Ok(())
}

/// The time and allocations of training epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Milliseconds of each timed epoch (the warm-up left out).
    pub epoch_ms: Vec<f64>,
    /// Microseconds of each timed step.
    pub step_us: Vec<f64>,
    /// Steps in one epoch.
    pub steps_per_epoch: usize,
    /// Heap allocations during the timed epochs, all threads; `None` if the
    /// counting allocator is not installed (a library caller, not `nn`).
    pub allocations: Option<u64>,
    /// The mean loss of the last epoch.
    pub last_loss: f64,
}

impl Timing {
    /// Allocations per timed step.
    pub fn allocations_per_step(&self) -> Option<f64> {
        let steps = self.steps_per_epoch * self.epoch_ms.len();
        self.allocations.map(|a| a as f64 / steps.max(1) as f64)
    }
}

/// The median of `values` (the mean of the two middle ones for an even count); NaN if empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The smallest of `values`; NaN if empty.
pub fn minimum(values: &[f64]) -> f64 {
    values.iter().copied().reduce(f64::min).unwrap_or(f64::NAN)
}

/// The rows of a (rows, …) tensor and a buffer for each batch size an epoch
/// needs, allocated once: the full batches and the last, partial one.
struct Gather<'a> {
    source: CowArray<'a, f32, IxDyn>,
    row_len: usize,
    full: ArrayD<f32>,
    partial: ArrayD<f32>,
}

impl<'a> Gather<'a> {
    fn new(data: ArrayViewD<'a, f32>, batch: usize) -> Self {
        let rows = data.shape()[0];
        let row_len = data.len() / rows.max(1);
        let mut shape = data.shape().to_vec();
        shape[0] = batch;
        let full = ArrayD::zeros(IxDyn(&shape));
        shape[0] = rows % batch;
        let partial = ArrayD::zeros(IxDyn(&shape));
        let source = if data.is_standard_layout() {
            CowArray::from(data)
        } else {
            CowArray::from(data.as_standard_layout().into_owned())
        };
        Self { source, row_len, full, partial }
    }

    /// Copies rows `indices` into the buffer of that many rows.
    fn gather(&mut self, indices: &[usize]) -> ArrayViewD<'_, f32> {
        let buffer = if indices.len() == self.full.shape()[0] { &mut self.full } else { &mut self.partial };
        let source = self.source.as_slice().expect("a standard-layout array is contiguous");
        let target = buffer.as_slice_mut().expect("a fresh array is contiguous");
        for (row, &i) in target.chunks_exact_mut(self.row_len.max(1)).zip(indices) {
            row.copy_from_slice(&source[i * self.row_len..(i + 1) * self.row_len]);
        }
        buffer.view()
    }
}

/// Trains `net` with plain SGD at `lr` for `epochs` epochs on (x, y), in
/// batches of `batch` rows (the last, partial batch kept), the rows shuffled
/// each epoch from `seed`, and times every epoch and step after the first.
///
/// # Errors
/// [`CliError::Train`] for a bad learning rate, a tensor the network
/// refuses, or a diverging step.
pub fn time_epochs(
    net: Box<dyn nn_core::Module<f32>>,
    loss: Box<dyn nn_core::Loss<f32>>,
    (x, y): (ArrayViewD<'_, f32>, ArrayViewD<'_, f32>),
    batch: usize,
    lr: f64,
    epochs: usize,
    seed: u64,
) -> CliResult<Timing> {
    let rows = x.shape()[0];
    if rows == 0 || batch == 0 || epochs < 2 {
        return Err(CliError::usage(format!(
            "a benchmark needs rows, a batch size and 2 epochs; got {rows} rows, batch size {batch}, {epochs} epochs"
        )));
    }
    let batch = batch.min(rows);
    let mut optim = Optim::new(net, loss, lr)?;
    let (mut xs, mut ys) = (Gather::new(x, batch), Gather::new(y, batch));
    let steps_per_epoch = rows.div_ceil(batch);
    let mut order: Vec<usize> = (0..rows).collect();
    let mut epoch_ms = Vec::with_capacity(epochs);
    let mut step_us = Vec::with_capacity(epochs * steps_per_epoch);
    let mut allocations_before = 0;
    let mut last_loss = 0.0;
    for epoch in 0..epochs {
        if epoch == 1 {
            allocations_before = alloc_counter::allocations();
        }
        let started = Instant::now();
        for (slot, i) in order.iter_mut().zip(0..) {
            *slot = i;
        }
        order.shuffle(&mut StdRng::seed_from_u64(seed.wrapping_add(epoch as u64)));
        let mut sum = 0.0;
        for indices in order.chunks(batch) {
            let step_started = Instant::now();
            let value = optim.step(xs.gather(indices), ys.gather(indices))?;
            if epoch > 0 {
                step_us.push(step_started.elapsed().as_secs_f64() * 1e6);
            }
            sum += f64::from(value) * indices.len() as f64;
        }
        last_loss = black_box(sum / rows as f64);
        if epoch > 0 {
            epoch_ms.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let allocations = alloc_counter::allocations() - allocations_before;
    Ok(Timing {
        epoch_ms,
        step_us,
        steps_per_epoch,
        allocations: alloc_counter::installed().then_some(allocations),
        last_loss,
    })
}

/// FLOPs of the matrix products of one row through a network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flops {
    /// The forward pass.
    pub forward: f64,
    /// A training step: forward, weight gradients, and input gradients of
    /// every product layer but the network's first layer (nobody needs it).
    pub training: f64,
}

/// Counts 2·m·n·k per product for one row of shape `row` (no batch axis)
/// through `specs`, the first of which is the network's first layer when
/// `first_is_input` holds. `Linear(i, o)`: 2·i·o; `Conv1D(k, c_in, c_out, s)`
/// on (len, c_in): 2·len_out·k·c_in·c_out. Other layers: 0 (no products).
/// Returns the FLOPs and the row shape after the layers.
fn count_flops(specs: &[LayerSpec], row: &[usize], first_is_input: bool) -> (Flops, Vec<usize>) {
    let mut row = row.to_vec();
    let mut flops = Flops { forward: 0.0, training: 0.0 };
    for (index, spec) in specs.iter().enumerate() {
        let product = match (*spec, row.as_slice()) {
            (LayerSpec::Linear { input, output }, _) => {
                row = vec![output];
                Some(2.0 * input as f64 * output as f64)
            }
            (LayerSpec::Conv1D { k_size, chan_in, chan_out, stride }, &[len, _]) => {
                let out = len.saturating_sub(k_size) / stride.max(1) + 1;
                row = vec![out, chan_out];
                Some(2.0 * (out * k_size * chan_in * chan_out) as f64)
            }
            (LayerSpec::MaxPool1D { k_size, stride }, &[len, channels]) => {
                row = vec![len.saturating_sub(k_size) / stride.max(1) + 1, channels];
                None
            }
            (LayerSpec::Upsample1D { scale }, &[len, channels]) => {
                row = vec![len * scale, channels];
                None
            }
            (LayerSpec::Flatten, _) => {
                row = vec![row.iter().product()];
                None
            }
            (LayerSpec::Unflatten { length, channels }, _) => {
                row = vec![length, channels];
                None
            }
            _ => None,
        };
        if let Some(p) = product {
            let input_gradient = if first_is_input && index == 0 { 0.0 } else { p };
            flops.forward += p;
            flops.training += 2.0 * p + input_gradient;
        }
    }
    (flops, row)
}

/// The FLOPs of one row of shape `row_shape` through `net` (see [`Flops`]).
pub fn flops_per_row(net: &NetSpec, row_shape: &[usize]) -> Flops {
    match net {
        NetSpec::Classifier(specs) => count_flops(specs, row_shape, true).0,
        NetSpec::AutoEncoder { encoder, decoder } => {
            let (e, code) = count_flops(encoder, row_shape, true);
            let (d, _) = count_flops(decoder, &code, false);
            Flops { forward: e.forward + d.forward, training: e.training + d.training }
        }
    }
}

/// The 1437 training rows of the digits' seeded 80/20 stratified split.
fn digits_train() -> CliResult<Dataset> {
    let data = digits();
    let (rows, _) = stratified_split(&data.labels, 0.2, 0)?;
    Ok(data.select(&rows))
}

/// Everything [`measure`] needs.
struct Bench<'a> {
    workload: Option<WorkloadName>,
    net: NetSpec,
    loss: Option<experiment::LossName>,
    x: Array2<f32>,
    y: ArrayD<f32>,
    classes: usize,
    batch: usize,
    lr: f64,
    epochs: usize,
    seed: u64,
    threads: usize,
    data_name: &'a str,
}

/// Builds, checks and times the network; returns the JSON report.
fn measure(b: Bench<'_>) -> CliResult<Value> {
    let mut network = Network::build(&b.net, b.seed);
    let row_shape = experiment::check(&b.net, &network, b.x.ncols(), b.classes)?;
    let loss = b.loss.unwrap_or_else(|| b.net.default_loss()).build();
    let loss_name = loss.to_string();
    let notation = network.module().to_string();
    let x = shaped(&b.x, &row_shape);
    let timing =
        time_epochs(network.into_module(), loss, (x.view(), b.y.view()), b.batch, b.lr, b.epochs, b.seed)?;
    let rows = b.x.nrows();
    let flops_per_epoch = flops_per_row(&b.net, &row_shape).training * rows as f64;
    let epoch_ms_median = median(&timing.epoch_ms);
    Ok(json!({
        "workload": b.workload.map(|w| w.to_string()),
        "net": notation,
        "loss": loss_name,
        "data": b.data_name,
        "rows": rows,
        "batch_size": b.batch.min(rows),
        "learning_rate": b.lr,
        "steps_per_epoch": timing.steps_per_epoch,
        "epochs_timed": timing.epoch_ms.len(),
        "threads": b.threads,
        "epoch_ms_median": epoch_ms_median,
        "epoch_ms_min": minimum(&timing.epoch_ms),
        "step_us_median": median(&timing.step_us),
        "allocations_per_step": timing.allocations_per_step(),
        "flops_per_epoch": flops_per_epoch,
        "gflops": flops_per_epoch / (epoch_ms_median * 1e-3) / 1e9,
        "last_epoch_loss": timing.last_loss,
    }))
}

/// `nn bench --workload W1..W4`.
fn workload_report(w: Workload, args: &BenchArgs, threads: usize) -> CliResult<Value> {
    let net = NetSpec::parse(w.net, w.autoencoder.map(|a| a.0), w.autoencoder.map(|a| a.1))?;
    let (x, labels, y, data_name) = match w.data {
        WorkloadData::DigitsTrain => {
            let part = digits_train()?;
            let y = match net {
                NetSpec::Classifier(_) => part.one_hot().into_dyn(),
                NetSpec::AutoEncoder { .. } => part.x.clone().into_dyn(),
            };
            (part.x, part.labels, y, "digits, train part")
        }
        WorkloadData::Random => {
            let (x, labels, y) = workloads::w4_data();
            (x, labels, y, "random (seed 0)")
        }
    };
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    measure(Bench {
        workload: Some(w.name),
        net,
        loss: None,
        x,
        y,
        classes,
        batch: w.batch_size,
        lr: args.lr.unwrap_or(workloads::LEARNING_RATE),
        epochs: args.epochs.unwrap_or(w.default_epochs),
        seed: 0,
        threads,
        data_name,
    })
}

/// `nn bench --net ...` or `--encoder ... --decoder ...`.
fn net_report(args: &BenchArgs, threads: usize) -> CliResult<Value> {
    let net = NetSpec::parse(args.net.as_deref(), args.encoder.as_deref(), args.decoder.as_deref())?;
    let data = load(&args.data.data, args.data.labels.as_deref())?;
    let part = split(&data, args.data.test_fraction, args.seed)?.train;
    if part.is_empty() {
        return Err(CliError::usage("the training part of the split has no rows"));
    }
    let y = match net {
        NetSpec::Classifier(_) => one_hot(&part.labels, part.classes).into_dyn(),
        NetSpec::AutoEncoder { .. } => part.x.clone().into_dyn(),
    };
    measure(Bench {
        workload: None,
        net,
        loss: args.loss,
        classes: part.classes,
        x: part.x,
        y,
        batch: args.batch_size.unwrap_or(32),
        lr: args.lr.unwrap_or(workloads::LEARNING_RATE),
        epochs: args.epochs.unwrap_or(11),
        seed: args.seed,
        threads,
        data_name: &args.data.data,
    })
}

/// W5's network for a grid point, seeded by the point's index (as `benches/grid_search.rs`).
fn w5_setup(point: &Point) -> Result<Setup<f32>, nn_train::TrainError> {
    let hidden = point.get_usize("hidden")?;
    let specs = parse(&workloads::W5_NET.replace("{hidden}", &hidden.to_string()))
        .expect("W5's notation is valid for every hidden size");
    let net = build::sequential(&specs, &mut StdRng::seed_from_u64(point.index() as u64));
    let config = TrainConfig {
        epochs: workloads::W5_EPOCHS,
        learning_rate: point.get_f64("lr")?,
        ..TrainConfig::default()
    };
    Ok(Setup { net: Box::new(net), loss: Box::new(nn_losses::LogSoftmaxCrossEntropy::new()), config })
}

/// The steps and product FLOPs of one W5 search on `labels` (training and scoring).
fn w5_work(labels: &[usize]) -> CliResult<(usize, f64)> {
    let folds = stratified_k_fold(labels, workloads::W5_FOLDS, 0)?;
    let (mut steps, mut flops) = (0, 0.0);
    for hidden in workloads::W5_HIDDEN {
        let specs = parse(&workloads::W5_NET.replace("{hidden}", &hidden.to_string()))
            .expect("W5's notation is valid for every hidden size");
        let f = flops_per_row(&NetSpec::Classifier(specs), &[64]);
        for (train, val) in &folds {
            let points = workloads::W5_LR.len();
            steps += points * workloads::W5_EPOCHS * train.len().div_ceil(32);
            flops += points as f64
                * (workloads::W5_EPOCHS as f64 * train.len() as f64 * f.training
                    + val.len() as f64 * f.forward);
        }
    }
    Ok((steps, flops))
}

/// Whether two searches found the same scores and training histories, bit for bit.
fn same_results(a: &GridResult, b: &GridResult) -> bool {
    let folds = |r: &GridResult| {
        r.points
            .iter()
            .flat_map(|p| p.folds.iter().map(|f| (f.score, f.train_loss_history.clone(), f.error.clone())))
            .collect::<Vec<_>>()
    };
    a.points.len() == b.points.len() && folds(a) == folds(b)
}

/// `nn bench --workload W5`: whole searches on 1 thread and on `threads`
/// (2 by default), a warm-up search each, then the median and minimum.
fn w5_report(args: &BenchArgs, threads: usize) -> CliResult<Value> {
    let part = digits_train()?;
    let x = part.x.clone().into_dyn();
    let grid = ParamGrid::new().add("hidden", workloads::W5_HIDDEN).add("lr", workloads::W5_LR);
    let (steps, flops) = w5_work(&part.labels)?;
    let searches = args.epochs.unwrap_or(WorkloadName::W5.workload().default_epochs);
    let counts: Vec<usize> = if args.threads.is_none() {
        vec![1, 2]
    } else if threads == 1 {
        vec![1]
    } else {
        vec![1, threads]
    };
    let mut runs = Vec::new();
    let mut results: Vec<GridResult> = Vec::new();
    for &t in &counts {
        let options = GridOptions { threads: Some(t), ..GridOptions::default() };
        let mut ms = Vec::with_capacity(searches);
        let mut allocations_before = 0;
        let mut last = None;
        for search in 0..searches {
            if search == 1 {
                allocations_before = alloc_counter::allocations();
            }
            let started = Instant::now();
            let result = grid_search(
                w5_setup,
                &grid,
                x.view(),
                &part.labels,
                Metric::Accuracy,
                workloads::W5_FOLDS,
                &options,
            )?;
            if search > 0 {
                ms.push(started.elapsed().as_secs_f64() * 1e3);
            }
            last = Some(result);
        }
        let allocations = alloc_counter::allocations() - allocations_before;
        let allocations =
            alloc_counter::installed().then_some(allocations as f64 / (steps * ms.len()) as f64);
        let result = last.expect("at least 2 searches");
        if let Some(failed) = result.points.iter().flat_map(|p| &p.folds).find_map(|f| f.error.clone()) {
            return Err(CliError::usage(format!("a W5 job failed: {failed}")));
        }
        results.push(result);
        let search_ms = median(&ms);
        runs.push(json!({
            "threads": t,
            "epoch_ms_median": search_ms,
            "epoch_ms_min": minimum(&ms),
            "step_us_median": search_ms * 1e3 / steps as f64,
            "allocations_per_step": allocations,
            "gflops": flops / (search_ms * 1e-3) / 1e9,
        }));
    }
    let identical = results.windows(2).all(|w| same_results(&w[0], &w[1]));
    let ms_at = |i: usize| runs[i]["epoch_ms_median"].as_f64().unwrap_or(f64::NAN);
    let last = runs.len() - 1;
    let best = &results[0].points.first().map(|p| p.point.to_string()).unwrap_or_default();
    let mut report = json!({
        "workload": "W5",
        "net": workloads::W5_NET,
        "grid": "hidden=50,100,200,400 lr=0.01,0.05,0.1",
        "folds": workloads::W5_FOLDS,
        "epochs_per_job": workloads::W5_EPOCHS,
        "unit": "one whole search (36 jobs) per timed 'epoch'",
        "data": "digits, train part",
        "rows": part.len(),
        "batch_size": 32,
        "steps_per_epoch": steps,
        "epochs_timed": searches - 1,
        "flops_per_epoch": flops,
        "best_point": best,
        "runs": runs.clone(),
        "identical_results": identical,
        "speedup": ms_at(0) / ms_at(last),
    });
    if let (Value::Object(report), Value::Object(run)) = (&mut report, &runs[last]) {
        for (key, value) in run {
            report.insert(key.clone(), value.clone());
        }
    }
    Ok(report)
}

/// The products `--gemm` times: (m, k, n) of c (m, n) = a (m, k) · b (k, n).
pub const GEMM_SIZES: [(usize, usize, usize); 6] =
    [(1024, 1024, 1024), (256, 784, 1024), (256, 1024, 1024), (256, 1024, 10), (32, 64, 100), (32, 992, 100)];

/// `nn bench --gemm`: GFLOP/s of `nn_core::linalg::matmul_into` (f32, row-major
/// operands, β = 0) at [`GEMM_SIZES`]: the median of 7 samples of at least 0.1 s each.
fn gemm_report(threads: usize) -> CliResult<Value> {
    let mut rng = StdRng::seed_from_u64(0);
    let mut sizes = Vec::new();
    let mut peak: f64 = 0.0;
    for (m, k, n) in GEMM_SIZES {
        let a = Array2::from_shape_fn((m, k), |_| rng.random_range(-1.0f32..1.0));
        let b = Array2::from_shape_fn((k, n), |_| rng.random_range(-1.0f32..1.0));
        let mut c = Array2::<f32>::zeros((m, n));
        let mut once = || matmul_into(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut());
        once();
        let started = Instant::now();
        once();
        let first = started.elapsed().as_secs_f64().max(1e-7);
        let repeats = ((0.1 / first).ceil() as usize).clamp(1, 100_000);
        let samples: Vec<f64> = (0..7)
            .map(|_| {
                let started = Instant::now();
                for _ in 0..repeats {
                    once();
                }
                started.elapsed().as_secs_f64() / repeats as f64
            })
            .collect();
        black_box(&c);
        let seconds = median(&samples);
        let gflops = 2.0 * (m * k * n) as f64 / seconds / 1e9;
        peak = peak.max(gflops);
        sizes.push(json!({"m": m, "k": k, "n": n, "ms_median": seconds * 1e3, "gflops": gflops}));
    }
    Ok(json!({"gemm": sizes, "threads": threads, "peak_gflops": peak}))
}

/// `nn bench --dump-data DIR`: the workloads' data as .npy files, for the
/// PyTorch side of `cargo xtask bench-peers`: `digits_train_x.npy` (f32,
/// 1437 × 64), `digits_train_labels.npy` (i64), `digits_train_folds.npy` (i64,
/// the W5 fold of each row), `w4_x.npy` (f32, 10240 × 784), `w4_labels.npy` (i64).
fn dump_data(dir: &Path, json_out: bool) -> CliResult<()> {
    output_paths::create_dir("--dump-data", dir)?;
    let part = digits_train()?;
    let mut folds = vec![0i64; part.len()];
    for (f, (_, val)) in stratified_k_fold(&part.labels, workloads::W5_FOLDS, 0)?.iter().enumerate() {
        for &i in val {
            folds[i] = f as i64;
        }
    }
    let (w4_x, w4_labels, _) = workloads::w4_data();
    let labels = |l: &[usize]| l.iter().map(|&v| v as i64).collect::<Vec<_>>();
    let files = [
        ("digits_train_x.npy", Npy::F32(part.x.as_slice().expect("contiguous"), part.x.dim())),
        ("digits_train_labels.npy", Npy::I64(labels(&part.labels))),
        ("digits_train_folds.npy", Npy::I64(folds)),
        ("w4_x.npy", Npy::F32(w4_x.as_slice().expect("contiguous"), w4_x.dim())),
        ("w4_labels.npy", Npy::I64(labels(&w4_labels))),
    ];
    let mut written = Vec::new();
    for (name, data) in files {
        let path = dir.join(name);
        fs::write(&path, data.bytes()).map_err(|e| CliError::io(&path, e))?;
        written.push(path.display().to_string());
    }
    if json_out {
        println!("{}", json!({"files": written}));
    } else {
        let mut out = std::io::stdout().lock();
        for path in written {
            let _ = writeln!(out, "{path}");
        }
    }
    Ok(())
}

/// An array for a .npy file (format version 1.0, little endian, C order).
enum Npy<'a> {
    /// f32 rows × columns.
    F32(&'a [f32], (usize, usize)),
    /// A vector of i64.
    I64(Vec<i64>),
}

impl Npy<'_> {
    fn bytes(&self) -> Vec<u8> {
        let (descr, shape, payload): (&str, String, Vec<u8>) = match self {
            Npy::F32(values, (rows, cols)) => {
                ("<f4", format!("({rows}, {cols})"), values.iter().flat_map(|v| v.to_le_bytes()).collect())
            }
            Npy::I64(values) => {
                ("<i8", format!("({},)", values.len()), values.iter().flat_map(|v| v.to_le_bytes()).collect())
            }
        };
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        // Magic (6) + version (2) + header length (2) + header, ending in '\n', a multiple of 64.
        let unpadded = 10 + header.len() + 1;
        header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&payload);
        bytes
    }
}

/// The human-readable report.
fn print_text(report: &Value) {
    let number = |key: &str| report[key].as_f64().unwrap_or(f64::NAN);
    if let Some(sizes) = report["gemm"].as_array() {
        println!("matmul_into, f32, {} thread(s):", report["threads"]);
        for s in sizes {
            println!(
                "  {:>5} × {:>5} × {:>5}: {:>9.3} ms, {:>6.1} GFLOP/s",
                s["m"].as_u64().unwrap_or(0),
                s["k"].as_u64().unwrap_or(0),
                s["n"].as_u64().unwrap_or(0),
                s["ms_median"].as_f64().unwrap_or(f64::NAN),
                s["gflops"].as_f64().unwrap_or(f64::NAN)
            );
        }
        return;
    }
    let name = report["workload"].as_str().map(|w| format!("{w} ")).unwrap_or_default();
    println!("{name}{}", report["net"].as_str().unwrap_or(""));
    let allocations = match report["allocations_per_step"].as_f64() {
        Some(a) => format!("{a:.2} allocations per step"),
        None => "allocations not counted".to_string(),
    };
    if let Some(runs) = report["runs"].as_array() {
        for run in runs {
            println!(
                "  {} thread(s): median search {:.1} ms (min {:.1}), {:.1} GFLOP/s",
                run["threads"],
                run["epoch_ms_median"].as_f64().unwrap_or(f64::NAN),
                run["epoch_ms_min"].as_f64().unwrap_or(f64::NAN),
                run["gflops"].as_f64().unwrap_or(f64::NAN),
            );
        }
        println!("  speed-up {:.2}×, identical results: {}", number("speedup"), report["identical_results"]);
        return;
    }
    println!(
        "  median epoch {:.3} ms (min {:.3}), median step {:.1} µs, {allocations}, {:.1} GFLOP/s, {} thread(s)",
        number("epoch_ms_median"),
        number("epoch_ms_min"),
        number("step_us_median"),
        number("gflops"),
        report["threads"]
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier(text: &str) -> NetSpec {
        NetSpec::Classifier(parse(text).unwrap())
    }

    #[test]
    fn w1_flops_are_counted_by_hand() {
        // Forward: 2·64·100 + 2·100·10 = 12 800 + 2 000 = 14 800 per row.
        // Training: forward, weight gradients (14 800 again), and the input
        // gradient of the second layer only (2 000): 31 600 per row.
        let f = flops_per_row(&classifier("Linear(64,100) -> ReLU -> Linear(100,10)"), &[64]);
        assert_eq!(f, Flops { forward: 14_800.0, training: 31_600.0 });
        // An epoch of the 1437 training rows: 45.41 MFLOP.
        assert_eq!(f.training * 1437.0, 45_409_200.0);
    }

    #[test]
    fn conv_and_autoencoder_flops() {
        // Conv1D(3,1,32) on (64, 1): 62 positions × 2·3·1·32 = 11 904, no input gradient;
        // Linear(992,100): 198 400; Linear(100,10): 2 000.
        let f = flops_per_row(
            &classifier(
                "Conv1D(3,1,32) -> MaxPool1D(2,2) -> Flatten -> Linear(992,100) -> ReLU -> Linear(100,10)",
            ),
            &[64, 1],
        );
        assert_eq!(f.forward, 11_904.0 + 198_400.0 + 2_000.0);
        assert_eq!(f.training, 2.0 * 11_904.0 + 3.0 * (198_400.0 + 2_000.0));
        // The decoder's first layer needs its input gradient (the encoder's output's).
        let ae = NetSpec::AutoEncoder {
            encoder: parse("Linear(64,200) -> TanH -> Linear(200,50) -> TanH").unwrap(),
            decoder: parse("Linear(50,200) -> TanH -> Linear(200,64) -> Sigmoid").unwrap(),
        };
        let f = flops_per_row(&ae, &[64]);
        let layers = 2.0 * (64.0 * 200.0 + 200.0 * 50.0 + 50.0 * 200.0 + 200.0 * 64.0);
        assert_eq!(f.forward, layers);
        assert_eq!(f.training, 3.0 * layers - 2.0 * 64.0 * 200.0);
        // Strided convolution: (64 − 4) / 2 + 1 = 31 positions.
        let f = flops_per_row(&classifier("ReLU -> Conv1D(4,1,8,2)"), &[64, 1]);
        assert_eq!(f, Flops { forward: 31.0 * 64.0, training: 3.0 * 31.0 * 64.0 });
    }

    #[test]
    fn medians_and_minima() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(minimum(&[3.0, 1.0, 2.0]), 1.0);
    }

    #[test]
    fn gather_fills_the_full_and_the_partial_buffer() {
        let data = Array2::from_shape_fn((5, 2), |(i, j)| (10 * i + j) as f32).into_dyn();
        let mut g = Gather::new(data.view(), 2);
        assert_eq!(g.gather(&[4, 0]).iter().copied().collect::<Vec<_>>(), vec![40.0, 41.0, 0.0, 1.0]);
        let last = g.gather(&[3]);
        assert_eq!(last.shape(), &[1, 2]);
        assert_eq!(last.iter().copied().collect::<Vec<_>>(), vec![30.0, 31.0]);
    }

    #[test]
    fn time_epochs_times_the_epochs_after_the_warm_up_and_counts_allocations() {
        let part = digits_train().unwrap();
        let net = classifier("Linear(64,16) -> ReLU -> Linear(16,10)");
        let network = Network::build(&net, 0);
        let y = part.one_hot().into_dyn();
        let x = part.x.into_dyn();
        let loss = net.default_loss().build();
        let t = time_epochs(network.into_module(), loss, (x.view(), y.view()), 32, 0.05, 3, 0).unwrap();
        assert_eq!(t.epoch_ms.len(), 2);
        assert_eq!(t.steps_per_epoch, 45, "44 batches of 32 and one of 29");
        assert_eq!(t.step_us.len(), 90);
        assert!(t.epoch_ms.iter().all(|&ms| ms > 0.0));
        // The unit tests run with the counting allocator (see alloc_counter).
        assert!(t.allocations.is_some());
        assert!(t.last_loss.is_finite() && t.last_loss < 2.31);
    }

    #[test]
    fn npy_headers_are_padded_to_64_bytes() {
        let bytes = Npy::F32(&[1.0, 2.0], (1, 2)).bytes();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }"));
        assert!(header.ends_with('\n'));
        assert_eq!(&bytes[10 + header_len..], [1.0f32.to_le_bytes(), 2.0f32.to_le_bytes()].concat());
        let bytes = Npy::I64(vec![7]).bytes();
        assert!(std::str::from_utf8(&bytes[10..]).unwrap().contains("'shape': (1,)"));
    }
}
