//! The command line: `nn train`, `nn eval`, `nn predict`, `nn export`, `nn grid`, `nn repro`, `nn bench`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::experiment::LossName;

/// Train, search and reproduce the report's networks on the 8×8 digits (or your data).
#[derive(Debug, Parser)]
#[command(name = "nn", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train one network written in the report's notation and report its test metrics.
    Train(TrainArgs),
    /// Score a saved model on data: its loss, and accuracy for a classifier.
    Eval(EvalArgs),
    /// Write a saved model's prediction for every row of the data, as CSV.
    Predict(PredictArgs),
    /// Write a PyTorch script defining a saved model's network and loading its file.
    Export(ExportArgs),
    /// Cross-validated grid search over hyper-parameters and sizes in the notation.
    Grid(GridArgs),
    /// Reproduce the report's section 3 on the bundled digits: REPORT.md and its figures.
    Repro(ReproArgs),
    /// Time training epochs of a network or a named workload (W1–W5), with
    /// allocations per step and GFLOP/s; or time matrix products (--gemm).
    Bench(BenchArgs),
}

/// Where the data comes from.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// `digits` (bundled 8×8 digits), FILE.csv[.gz] (numbers, label last, header skipped),
    /// or IMAGES.idx3-ubyte[.gz] with --labels.
    #[arg(long, default_value = "digits")]
    pub data: String,
    /// IDX labels file going with IDX images.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Fraction of each class held out for testing.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
}

/// Training hyper-parameters shared by `train` and `grid`.
#[derive(Debug, Clone, Args)]
pub struct HyperArgs {
    /// Loss: default logsoftmax-ce for classifiers (ce after a final Softmax),
    /// bce for auto-encoders ending in Sigmoid, else mse.
    #[arg(long, value_enum)]
    pub loss: Option<LossName>,
    /// Learning rate.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub lr: f64,
    /// Mini-batch size (the last, partial batch is used too).
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Most epochs to train.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Update rule: sgd, momentum or adam.
    #[arg(long, default_value = "sgd")]
    pub optimizer: String,
    /// Seeds the weights, the split and the shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Early stopping: stop when the epoch loss changes by less than this.
    #[arg(long, allow_negative_numbers = true)]
    pub eps: Option<f64>,
}

/// `nn train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// The classifier, e.g. "Linear(64,100) -> ReLU -> Linear(100,10)".
    #[arg(long)]
    pub net: Option<String>,
    /// An auto-encoder's encoder (with --decoder), e.g. "Linear(64,50) -> TanH".
    #[arg(long)]
    pub encoder: Option<String>,
    /// An auto-encoder's decoder, e.g. "Linear(50,64) -> Sigmoid".
    #[arg(long)]
    pub decoder: Option<String>,
    /// Hyper-parameters.
    #[command(flatten)]
    pub hyper: HyperArgs,
    /// Data.
    #[command(flatten)]
    pub data: DataArgs,
    /// Print the layer table (output shape and parameters of each layer) and exit.
    #[arg(long)]
    pub summary: bool,
    /// Write the per-epoch history as CSV.
    #[arg(long, value_name = "FILE.csv")]
    pub history: Option<PathBuf>,
    /// Draw the train and test loss curves.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// Auto-encoders: draw test digits above their reconstructions.
    #[arg(long, value_name = "FILE.png")]
    pub reconstructions: Option<PathBuf>,
    /// Print one JSON object with the results at the end.
    #[arg(long)]
    pub json: bool,
    /// Threads that share large matrix products (default: one per core); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Save the trained model (safetensors, with the network in its metadata).
    #[arg(long, value_name = "FILE.safetensors")]
    pub save: Option<PathBuf>,
    /// Replace the --save (or --checkpoint) file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Write a checkpoint (parameters, optimizer state, history) to continue from with --resume.
    #[arg(long, value_name = "FILE.safetensors")]
    pub checkpoint: Option<PathBuf>,
    /// Write the checkpoint every N epochs (and after the last) [default: 1].
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
    /// Continue the run of this checkpoint up to --epochs in all (network and settings from it).
    #[arg(long, value_name = "CHECKPOINT")]
    pub resume: Option<PathBuf>,
    /// The options given on the command line (clap ids), filled by `main`:
    /// `--resume` refuses settings that differ from the checkpoint's.
    #[arg(skip)]
    pub given: Vec<String>,
}

/// The data a saved model runs on: as `nn train`'s, defaulting to the model's training data.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// `digits`, FILE.csv[.gz] (numbers, label last; `nn predict` also takes rows without the label) or IMAGES.idx3-ubyte[.gz] with --labels
    /// [default: the data the model was trained on, else digits].
    #[arg(long)]
    pub data: Option<String>,
    /// IDX labels file going with IDX images.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Which rows: all, or the train or test part of the split the model was trained with.
    #[arg(long, value_enum, default_value = "all")]
    pub split: SplitPart,
    /// With --split: fraction of each class held out [default: the model's].
    #[arg(long)]
    pub test_fraction: Option<f64>,
}

/// The rows `--split` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitPart {
    /// Every row, in file order.
    All,
    /// The training part of the model's stratified split.
    Train,
    /// The held-out test part of the model's stratified split (what `nn train` scores).
    Test,
}

/// `nn eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// The model file written by `nn train --save`.
    #[arg(long, value_name = "FILE.safetensors")]
    pub model: PathBuf,
    /// Data.
    #[command(flatten)]
    pub input: InputArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// What `nn predict` writes per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PredictOutput {
    /// The predicted class (the argmax of the output row).
    Labels,
    /// The network's raw output row, with full f32 precision.
    Scores,
}

/// `nn predict`.
#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// The model file written by `nn train --save`.
    #[arg(long, value_name = "FILE.safetensors")]
    pub model: PathBuf,
    /// Data.
    #[command(flatten)]
    pub input: InputArgs,
    /// labels or scores [default: labels for a classifier, scores for an auto-encoder].
    #[arg(long, value_enum)]
    pub output: Option<PredictOutput>,
    /// Write the CSV to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
}

/// `nn export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The PyTorch script to write.
    #[arg(long, value_name = "FILE.py")]
    pub torch: PathBuf,
    /// The model file written by `nn train --save`.
    #[arg(long, value_name = "FILE.safetensors")]
    pub model: PathBuf,
}

/// `nn grid`, or `nn grid merge` with a subcommand.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct GridArgs {
    /// `merge`: rank the results of a search run in shards.
    #[command(subcommand)]
    pub command: Option<GridCommand>,
    /// The classifier, with `{name}` placeholders filled from --grid,
    /// e.g. "Linear(64,{hidden}) -> ReLU -> Linear({hidden},10)".
    #[arg(long, required = true)]
    pub net: Option<String>,
    /// A grid parameter, name=v1,v2,...; repeat for more. `lr`, `batch_size`,
    /// `epochs` and `optimizer` set training; any name can fill a `{name}` of --net.
    #[arg(long = "grid", value_name = "NAME=V1,V2", required = true)]
    pub grid: Vec<String>,
    /// Folds of the stratified cross-validation.
    #[arg(long, default_value_t = 3)]
    pub cv: usize,
    /// Threads running the (point, fold) jobs (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write one row per (point, fold): .csv or .jsonl. With --shard: the
    /// shard's rows for `nn grid merge` (CSV; `{shard}` in the name becomes K).
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// Draw one loss-curve picture per point into this directory.
    #[arg(long, value_name = "DIR")]
    pub loss_graphs: Option<PathBuf>,
    /// Run only shard K of N (K from 0): the jobs j = point·cv + fold with
    /// j mod N = K, rows to --results. `auto`: K and N from a Slurm job array
    /// (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT) or a
    /// Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with --shards N).
    #[arg(long, value_name = "K/N|auto")]
    pub shard: Option<String>,
    /// With --shard auto: N. Needed in a Kubernetes Indexed Job (the Job's
    /// completions); in a Slurm array it pins N and K is SLURM_ARRAY_TASK_ID,
    /// for re-submitting some tasks (sbatch --array=7,12).
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// Hyper-parameters (the grid overrides them).
    #[command(flatten)]
    pub hyper: HyperArgs,
    /// Data (the search runs on the training part; --test-fraction holds out the rest).
    #[command(flatten)]
    pub data: DataArgs,
    /// Print the ranking as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The subcommands of `nn grid`.
#[derive(Debug, Clone, Subcommand)]
pub enum GridCommand {
    /// Check that the shards' files hold every (point, fold) of one search
    /// exactly once, then print the ranking as the unsharded `nn grid` does.
    Merge(MergeArgs),
}

/// `nn grid merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The shards' results files (written by `nn grid --shard K/N --results FILE.csv`).
    #[arg(required = true, value_name = "SHARD.csv")]
    pub files: Vec<PathBuf>,
    /// Draw one loss-curve picture per point into this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub loss_graphs: Option<PathBuf>,
    /// Write the merged rows as the unsharded `nn grid --results` does: .csv or .jsonl.
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// Print the ranking as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `nn repro`.
#[derive(Debug, Clone, Args)]
pub struct ReproArgs {
    /// Directory for REPORT.md and its figures (created if missing).
    #[arg(long, default_value = "repro")]
    pub out: PathBuf,
    /// Few epochs per experiment: the same pipeline in seconds, for tests.
    #[arg(long)]
    pub quick: bool,
    /// Run only the sections starting with this number, e.g. 3.2.3 or 3.3.
    #[arg(long)]
    pub only: Option<String>,
}

/// `nn bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// A named workload of the performance issue: W1, W2, W3, W4 or W5
    /// (W5: grid searches on 1 thread and on --threads, 2 by default).
    #[arg(long, value_name = "W1..W5", conflicts_with_all = ["net", "encoder", "decoder", "loss", "batch_size", "data", "labels", "test_fraction", "seed"])]
    pub workload: Option<String>,
    /// The classifier to time, e.g. "Linear(64,100) -> ReLU -> Linear(100,10)".
    #[arg(long)]
    pub net: Option<String>,
    /// An auto-encoder's encoder (with --decoder).
    #[arg(long)]
    pub encoder: Option<String>,
    /// An auto-encoder's decoder.
    #[arg(long)]
    pub decoder: Option<String>,
    /// Loss [default: as `nn train` chooses].
    #[arg(long, value_enum)]
    pub loss: Option<LossName>,
    /// Learning rate of plain SGD [default: 0.01].
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Mini-batch size [default: 32].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Epochs in all, the first a warm-up that is not timed [default: 11;
    /// W1 21, W4 6; W5: whole searches, 4].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Threads of the rayon pool the run uses [default: 1].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seeds the weights, the split and the shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Data (the run trains on the training part of the split).
    #[command(flatten)]
    pub data: DataArgs,
    /// Time `nn_core::linalg::matmul_into` at 1024³ and at W1, W2 and W4 sizes instead.
    #[arg(long, conflicts_with_all = ["workload", "net", "encoder", "decoder"])]
    pub gemm: bool,
    /// Write the workloads' data as .npy files into DIR (for the PyTorch
    /// comparison of `cargo xtask bench-peers`) and exit.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["workload", "net", "encoder", "decoder", "gemm"])]
    pub dump_data: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}
