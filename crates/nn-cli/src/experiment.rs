//! One training run, as `nn train` and every experiment of `nn repro` do it:
//! build the network from notation, check it against the data, train with
//! `nn_train::train` (the test set scored each epoch), and measure.

use std::path::PathBuf;
use std::time::Instant;

use ndarray::{Array2, ArrayD};
use nn_core::{Loss, Module};
use nn_data::{Dataset, one_hot};
use nn_losses::{BCELoss, CrossEntropyLoss, LogSoftmaxCrossEntropy, MSELoss};
use nn_models::{AutoEncoder, Sequential, Summary};
use nn_train::{
    Checkpointing, History, OptimizerKind, TrainConfig, evaluate, resume, train, train_checkpointed,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::build;
use crate::data_source::{Split, shaped};
use crate::error::{CliError, CliResult};
use crate::notation::{LayerSpec, parse};

/// The losses `--loss` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LossName {
    /// `MSELoss`: squared error summed over outputs.
    Mse,
    /// `BCELoss`: binary cross-entropy on probabilities (after a Sigmoid).
    Bce,
    /// `CrossEntropyLoss`: cross-entropy on probabilities (after a Softmax).
    Ce,
    /// `LogSoftmaxCrossEntropy`: cross-entropy on raw scores, stable.
    #[value(name = "logsoftmax-ce")]
    LogSoftmaxCe,
}

impl LossName {
    /// The loss itself.
    pub fn build(self) -> Box<dyn Loss<f32>> {
        match self {
            LossName::Mse => Box::new(MSELoss::new()),
            LossName::Bce => Box::new(BCELoss::new()),
            LossName::Ce => Box::new(CrossEntropyLoss::new()),
            LossName::LogSoftmaxCe => Box::new(LogSoftmaxCrossEntropy::new()),
        }
    }

    /// The name `--loss` takes, e.g. `logsoftmax-ce`: how model files store it.
    pub fn name(self) -> &'static str {
        match self {
            LossName::Mse => "mse",
            LossName::Bce => "bce",
            LossName::Ce => "ce",
            LossName::LogSoftmaxCe => "logsoftmax-ce",
        }
    }

    /// The loss named `name` as [`LossName::name`] writes it.
    pub fn from_name(name: &str) -> Option<Self> {
        [LossName::Mse, LossName::Bce, LossName::Ce, LossName::LogSoftmaxCe]
            .into_iter()
            .find(|l| l.name() == name)
    }
}

/// The network of a run, in the report's notation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetSpec {
    /// A classifier: the output row has one score per class.
    Classifier(Vec<LayerSpec>),
    /// An auto-encoder trained to reproduce its input.
    AutoEncoder {
        /// Input → code.
        encoder: Vec<LayerSpec>,
        /// Code → reconstruction.
        decoder: Vec<LayerSpec>,
    },
}

impl NetSpec {
    /// Parses `--net`, or `--encoder` and `--decoder`.
    ///
    /// # Errors
    /// [`CliError::Notation`] naming the option and the offending token;
    /// [`CliError::Usage`] for a network of more than [`build::MAX_VALUES`] parameters.
    pub fn parse(net: Option<&str>, encoder: Option<&str>, decoder: Option<&str>) -> CliResult<Self> {
        let read = |what: &str, text: &str| {
            let specs = parse(text).map_err(|source| CliError::Notation { what: what.into(), source })?;
            build::check_parameters(&specs).map_err(|e| CliError::usage(format!("{what}: {e}")))?;
            Ok::<_, CliError>(specs)
        };
        match (net, encoder, decoder) {
            (Some(net), None, None) => Ok(NetSpec::Classifier(read("--net", net)?)),
            (None, Some(e), Some(d)) => {
                Ok(NetSpec::AutoEncoder { encoder: read("--encoder", e)?, decoder: read("--decoder", d)? })
            }
            (None, None, None) => Err(CliError::usage(
                "give the network: --net \"...\", or --encoder \"...\" --decoder \"...\"",
            )),
            (Some(_), _, _) => Err(CliError::usage(
                "--net trains a classifier; --encoder/--decoder an auto-encoder: give one or the other",
            )),
            _ => Err(CliError::usage("an auto-encoder needs both --encoder and --decoder")),
        }
    }

    /// The default loss: LogSoftmax cross-entropy for classifiers (CE after a
    /// final Softmax); for auto-encoders BCE after a final Sigmoid, else MSE.
    pub fn default_loss(&self) -> LossName {
        match self {
            NetSpec::Classifier(specs) if build::ends_with(specs, LayerSpec::Softmax) => LossName::Ce,
            NetSpec::Classifier(_) => LossName::LogSoftmaxCe,
            NetSpec::AutoEncoder { decoder, .. } if build::ends_with(decoder, LayerSpec::Sigmoid) => {
                LossName::Bce
            }
            NetSpec::AutoEncoder { .. } => LossName::Mse,
        }
    }

    /// The first layer: it decides how a data row is shaped ([`build::row_shape`]).
    pub fn first(&self) -> Option<&LayerSpec> {
        match self {
            NetSpec::Classifier(specs) => specs.first(),
            NetSpec::AutoEncoder { encoder, .. } => encoder.first(),
        }
    }

    /// Follows one input row of shape `row_shape` through the network and
    /// checks that no layer output is larger than [`build::MAX_VALUES`] per
    /// row, before anything runs (see [`build::check_rows`]).
    ///
    /// # Errors
    /// The layer and the row size it would make.
    pub fn check_rows(&self, row_shape: &[usize]) -> Result<(), String> {
        match self {
            NetSpec::Classifier(specs) => build::check_rows(specs, row_shape).map(drop),
            NetSpec::AutoEncoder { encoder, decoder } => {
                build::check_rows(decoder, &build::check_rows(encoder, row_shape)?).map(drop)
            }
        }
    }

    /// The network in the report's notation.
    pub fn notation(&self) -> String {
        let join =
            |specs: &[LayerSpec]| specs.iter().map(ToString::to_string).collect::<Vec<_>>().join(" -> ");
        match self {
            NetSpec::Classifier(specs) => join(specs),
            NetSpec::AutoEncoder { encoder, decoder } => format!("{} / {}", join(encoder), join(decoder)),
        }
    }
}

/// A network of either kind, built with seeded weights.
// One per run, never in a collection: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum Network {
    /// A classifier.
    Classifier(Sequential<f32>),
    /// An auto-encoder.
    AutoEncoder(AutoEncoder<f32>),
}

impl Network {
    /// Builds `spec` with weights drawn from `seed`.
    pub fn build(spec: &NetSpec, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        match spec {
            NetSpec::Classifier(specs) => Network::Classifier(build::sequential(specs, &mut rng)),
            NetSpec::AutoEncoder { encoder, decoder } => {
                let encoder = build::sequential(encoder, &mut rng);
                Network::AutoEncoder(AutoEncoder::new(encoder, build::sequential(decoder, &mut rng)))
            }
        }
    }

    /// The module to train.
    pub fn module(&mut self) -> &mut dyn Module<f32> {
        match self {
            Network::Classifier(net) => net,
            Network::AutoEncoder(net) => net,
        }
    }

    /// The module, read-only (to save it).
    pub fn as_module(&self) -> &dyn Module<f32> {
        match self {
            Network::Classifier(net) => net,
            Network::AutoEncoder(net) => net,
        }
    }

    /// The network as a boxed module, for code that takes any module.
    pub fn into_module(self) -> Box<dyn Module<f32>> {
        match self {
            Network::Classifier(net) => Box::new(net),
            Network::AutoEncoder(net) => Box::new(net),
        }
    }

    /// The layer table for inputs of `input_shape`.
    ///
    /// # Errors
    /// The first layer that does not fit.
    pub fn summary(&self, input_shape: &[usize]) -> Result<Summary, nn_core::ShapeError> {
        match self {
            Network::Classifier(net) => net.summary(input_shape),
            Network::AutoEncoder(net) => net.summary(input_shape),
        }
    }
}

/// Everything a run needs besides the data.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The network.
    pub net: NetSpec,
    /// The loss (`None`: [`NetSpec::default_loss`]).
    pub loss: Option<LossName>,
    /// Learning rate.
    pub lr: f64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Most epochs.
    pub epochs: usize,
    /// Update rule.
    pub optimizer: OptimizerKind,
    /// Seeds the weights and the shuffling.
    pub seed: u64,
    /// Early stopping threshold on the change of the epoch loss.
    pub eps: Option<f64>,
    /// Progress bar on a terminal.
    pub progress: bool,
}

/// What a run gives back.
pub struct Outcome {
    /// The trained network.
    pub network: Network,
    /// The loss used, in the report's notation.
    pub loss: String,
    /// Per-epoch train loss, and test loss and accuracy.
    pub history: History,
    /// Final loss on the training data.
    pub train_loss: f64,
    /// Final loss on the test data.
    pub test_loss: f64,
    /// Test accuracy, for classifiers.
    pub test_accuracy: Option<f64>,
    /// Wall-clock seconds of training.
    pub seconds: f64,
    /// The shape of one input row for this network.
    pub row_shape: Vec<usize>,
}

/// The input shape of one batch: (batch, row…).
pub fn input_shape(batch: usize, row_shape: &[usize]) -> Vec<usize> {
    std::iter::once(batch).chain(row_shape.iter().copied()).collect()
}

/// Checks `spec` against data of `features` columns and `classes` classes
/// and returns the row shape, before anything is trained.
///
/// # Errors
/// A [`CliError`] naming the layer and both sizes, or the class count.
pub fn check(spec: &NetSpec, network: &Network, features: usize, classes: usize) -> CliResult<Vec<usize>> {
    let row_shape = build::row_shape(spec.first(), features).map_err(CliError::Usage)?;
    spec.check_rows(&row_shape).map_err(CliError::Usage)?;
    let shape = input_shape(1, &row_shape);
    let summary = network.summary(&shape).map_err(|e| match &e {
        nn_core::ShapeError::InChain { index: 0, chain, .. }
            if chain == "Sequential" || chain == "the encoder" =>
        {
            CliError::usage(format!("the data has {features} features per row, but {e}"))
        }
        _ => CliError::Shape(e),
    })?;
    let out = summary.output_shape().to_vec();
    match spec {
        NetSpec::Classifier(_) if out != [1, classes] => Err(CliError::usage(format!(
            "the network's output is {} per row but the data has {classes} classes: end the network with {classes} outputs",
            describe_row(&out)
        ))),
        NetSpec::AutoEncoder { .. } if out != [1, features] => Err(CliError::usage(format!(
            "the auto-encoder's output is {} per row but the input has {features} features: end the decoder with {features} outputs{}",
            describe_row(&out),
            if out.len() > 2 { " (add a Flatten)" } else { "" }
        ))),
        _ => Ok(row_shape),
    }
}

fn describe_row(shape: &[usize]) -> String {
    match &shape[1..] {
        [n] => format!("{n} values"),
        rest => format!("{rest:?}"),
    }
}

/// Refuses a run whose batches of `batch` rows would need more memory than
/// the machine has available, before any batch buffer is allocated: each
/// layer keeps its output and the gradient of its input for a whole batch,
/// so a layer of v values per row holds 2 · batch · v values, which the
/// per-row cap ([`build::MAX_VALUES`]) does not bound. Counts those buffers
/// and the parameters with their gradients (a lower bound), and checks only
/// where the available memory is known (Linux's `MemAvailable`).
///
/// # Errors
/// [`CliError::Usage`] naming the memory needed, the largest layer and the
/// memory available.
pub fn check_memory(network: &Network, row_shape: &[usize], batch: usize) -> CliResult<()> {
    let Some(available) = available_memory() else { return Ok(()) };
    let summary = network.summary(&input_shape(1, row_shape))?;
    fits_in_memory(&summary, batch, available).map_err(CliError::Usage)
}

/// [`check_memory`]'s arithmetic, for a [`Summary`] computed with a batch of 1.
fn fits_in_memory(summary: &Summary, batch: usize, available: u64) -> Result<(), String> {
    const F32: u128 = 4;
    // Saturating: a count past u128 is as refused as one just past the memory.
    let values = |shape: &[usize]| shape.iter().fold(1u128, |n, &d| n.saturating_mul(d as u128));
    let sum = |counts: &mut dyn Iterator<Item = u128>| counts.fold(0u128, u128::saturating_add);
    let per_row = sum(&mut summary.rows.iter().map(|row| values(&row.output_shape)));
    let parameters = sum(&mut summary.rows.iter().map(|row| row.parameters as u128));
    let needed = per_row.saturating_mul(batch as u128).saturating_add(parameters).saturating_mul(2 * F32);
    if needed <= u128::from(available) {
        return Ok(());
    }
    // The first of the largest layers (`max_by_key` keeps the last).
    let largest =
        summary.rows.iter().rev().max_by_key(|row| values(&row.output_shape)).expect("a layer needs memory");
    Err(format!(
        "batches of {batch} rows need at least {} of memory for the layers' outputs and gradients \
         ({} alone {}), more than the {} available: use a smaller --batch-size or smaller layers",
        gib(needed),
        largest.layer,
        gib(values(&largest.output_shape).saturating_mul(batch as u128).saturating_mul(2 * F32)),
        gib(u128::from(available))
    ))
}

/// Bytes as GiB with one decimal.
fn gib(bytes: u128) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// The memory available to new allocations, in bytes: Linux's
/// `MemAvailable`; `None` where it cannot be read.
fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|line| line.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Whether a run starts afresh or from a checkpoint, and where it writes checkpoints.
#[derive(Debug, Clone, Default)]
pub struct Continuation {
    /// Continue the run saved in this checkpoint (nn-train's [`resume`]):
    /// the [`RunSpec`] must be the checkpointed run's, the data the same.
    pub resume_from: Option<PathBuf>,
    /// Write checkpoints as this says.
    pub checkpointing: Option<Checkpointing>,
}

/// Trains `spec` on `split.train`, scoring `split.test` after every epoch.
///
/// # Errors
/// Shape errors before training; [`nn_train::TrainError`] during it.
pub fn run(spec: &RunSpec, split: &Split) -> CliResult<Outcome> {
    run_with(spec, split, &Continuation::default())
}

/// [`run`], resuming from a checkpoint or writing checkpoints as `continuation` says.
///
/// A resumed run returns the whole history, the checkpoint's epochs included,
/// and ends with the parameters an uninterrupted run would have, bit for bit.
///
/// # Errors
/// As [`run`]; a checkpoint that cannot be read, written, or does not fit the network.
pub fn run_with(spec: &RunSpec, split: &Split, continuation: &Continuation) -> CliResult<Outcome> {
    let classes = split.train.classes;
    let mut network = Network::build(&spec.net, spec.seed);
    let row_shape = check(&spec.net, &network, split.train.features(), classes)?;
    check_memory(&network, &row_shape, spec.batch_size.min(split.train.len()))?;
    let targets = |data: &Dataset| -> ArrayD<f32> {
        match spec.net {
            NetSpec::Classifier(_) => one_hot(&data.labels, classes).into_dyn(),
            NetSpec::AutoEncoder { .. } => data.x.clone().into_dyn(),
        }
    };
    let (x_train, y_train) = (shaped(&split.train.x, &row_shape), targets(&split.train));
    let (x_test, y_test) = (shaped(&split.test.x, &row_shape), targets(&split.test));
    let loss_name = spec.loss.unwrap_or_else(|| spec.net.default_loss());
    let mut loss = loss_name.build();
    let config = TrainConfig {
        batch_size: spec.batch_size,
        epochs: spec.epochs,
        early_stop_eps: spec.eps,
        optimizer: spec.optimizer,
        learning_rate: spec.lr,
        seed: spec.seed,
        validation: Some((x_test.clone(), y_test.clone())),
        progress: spec.progress,
    };
    let started = Instant::now();
    let data = (x_train.view(), y_train.view());
    let (module, loss_fn) = (network.module(), loss.as_mut());
    let history = match (&continuation.resume_from, &continuation.checkpointing) {
        (Some(path), checkpointing) => resume(module, loss_fn, data, &config, path, checkpointing.as_ref())?,
        (None, Some(checkpointing)) => train_checkpointed(module, loss_fn, data, &config, checkpointing)?,
        (None, None) => train(module, loss_fn, data, &config)?,
    };
    let seconds = started.elapsed().as_secs_f64();
    let chunk = 256;
    let on_train = evaluate(network.module(), loss.as_ref(), x_train.view(), y_train.view(), chunk)?;
    let on_test = evaluate(network.module(), loss.as_ref(), x_test.view(), y_test.view(), chunk)?;
    let test_accuracy = match spec.net {
        NetSpec::Classifier(_) => on_test.accuracy,
        NetSpec::AutoEncoder { .. } => None,
    };
    Ok(Outcome {
        network,
        loss: loss.to_string(),
        history,
        train_loss: on_train.loss,
        test_loss: on_test.loss,
        test_accuracy,
        seconds,
        row_shape,
    })
}

/// Runs `network` on the rows of `x` and returns its outputs, (rows, outputs).
///
/// # Errors
/// A shape error if the rows do not fit.
pub fn outputs(network: &mut Network, x: &Array2<f32>, row_shape: &[usize]) -> CliResult<Array2<f32>> {
    let input = shaped(x, row_shape);
    let out = network.module().forward(input.view())?;
    let rows = out.shape()[0];
    let width = out.len() / rows.max(1);
    Ok(out.to_shape((rows, width)).map_err(|e| CliError::usage(e.to_string()))?.to_owned())
}

#[cfg(test)]
mod tests {
    use nn_models::SummaryRow;

    use super::*;

    fn summary(outputs: &[(&str, usize, usize)]) -> Summary {
        let rows = outputs
            .iter()
            .enumerate()
            .map(|(i, &(layer, values, parameters))| SummaryRow {
                index: i.to_string(),
                layer: layer.to_string(),
                output_shape: vec![1, values],
                parameters,
            })
            .collect();
        Summary { input_shape: vec![1, 64], rows }
    }

    #[test]
    fn a_batch_fits_when_outputs_gradients_and_parameters_do() {
        // 2 · 4 bytes · (32 rows · 110 values + 6 510 parameters) = 80 240 bytes.
        let net = summary(&[("Linear(64, 100)", 100, 6500), ("Linear(100, 10)", 10, 10)]);
        assert_eq!(fits_in_memory(&net, 32, 80_240), Ok(()));
        assert!(fits_in_memory(&net, 32, 80_239).is_err());
    }

    #[test]
    fn a_batch_too_large_names_the_largest_layer_and_both_sizes() {
        let net = summary(&[("Upsample1D(1000000)", 64_000_000, 0), ("Flatten()", 64_000_000, 0)]);
        let err = fits_in_memory(&net, 32, 24 << 30).unwrap_err();
        assert_eq!(
            err,
            "batches of 32 rows need at least 30.5 GiB of memory for the layers' outputs and gradients \
             (Upsample1D(1000000) alone 15.3 GiB), more than the 24.0 GiB available: \
             use a smaller --batch-size or smaller layers"
        );
    }

    #[test]
    fn sizes_past_u64_do_not_overflow() {
        let net = summary(&[("Linear(64, 2147483648)", usize::MAX, usize::MAX)]);
        assert!(fits_in_memory(&net, usize::MAX, u64::MAX).is_err());
    }
}
