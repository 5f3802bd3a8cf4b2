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
