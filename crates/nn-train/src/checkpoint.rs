//! Checkpoints: what a run needs to continue bit for bit, in one safetensors
//! file written atomically through nn-io.
//!
//! Tensors: the parameters under their state-dict names (`0.weight`), and
//! the optimizer's state as `optimizer.<state>.<parameter>`
//! (`optimizer.velocity.0.weight`, `optimizer.exp_avg.2.bias`). Metadata:
//! `checkpoint = "1"`, `epochs`, `history` (JSON), `optimizer`,
//! `learning_rate`, `optimizer_steps`, `seed`, `batch_size`,
//! `early_stop_eps`, `rows`, plus nn-io's `format` and `dtype` and whatever
//! the caller adds through [`Checkpointing::metadata`]. No random generator
//! state is stored: the shuffle of epoch e depends only on the seed and e.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Dims, Float, Loss, Module};
use nn_io::Metadata;
use serde_json::{Number, Value, json};

use crate::sgd::run;
use crate::{History, Optimizer, OptimizerKind, TrainConfig, TrainError};

/// Prefix of the optimizer's state tensors.
const STATE_PREFIX: &str = "optimizer.";
/// Metadata key marking a checkpoint, with the layout version.
const CHECKPOINT: &str = "checkpoint";
const EPOCHS: &str = "epochs";
const HISTORY: &str = "history";
const OPTIMIZER: &str = "optimizer";
const LEARNING_RATE: &str = "learning_rate";
const OPTIMIZER_STEPS: &str = "optimizer_steps";
const SEED: &str = "seed";
const BATCH_SIZE: &str = "batch_size";
const EARLY_STOP_EPS: &str = "early_stop_eps";
const ROWS: &str = "rows";

/// Where and how often a run writes its checkpoint.
///
/// ```
/// use nn_train::Checkpointing;
/// let mut every_5 = Checkpointing::new("run.ckpt.safetensors", 5);
/// every_5.metadata.insert("net", "Linear(64, 10)");
/// assert_eq!(every_5.every, 5);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpointing {
    /// The checkpoint file, replaced atomically at each write.
    pub path: PathBuf,
    /// Write after every `every` epochs, and after the last one. At least 1.
    pub every: usize,
    /// Extra metadata entries, e.g. the network in the report's notation so
    /// that a tool can rebuild the network before resuming. The checkpoint's
    /// own keys (module doc) replace entries of the same name.
    pub metadata: Metadata,
}

impl Checkpointing {
    /// Writes `path` every `every` epochs and at the end, with no extra metadata.
    pub fn new(path: impl Into<PathBuf>, every: usize) -> Self {
        Self { path: path.into(), every, metadata: Metadata::new() }
    }
}

/// What a checkpoint says about its run, from its metadata.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckpointInfo {
    /// Epochs run so far.
    pub epochs: usize,
    /// The history of those epochs.
    pub history: History,
    /// The optimizer the run uses.
    pub optimizer: OptimizerKind,
    /// Its learning rate.
    pub learning_rate: f64,
    /// The optimizer's step count (Adam's bias correction depends on it).
    pub optimizer_steps: u64,
    /// The run's seed.
    pub seed: u64,
    /// The run's batch size.
    pub batch_size: usize,
    /// The run's early-stopping threshold.
    pub early_stop_eps: Option<f64>,
    /// Rows of the training data.
    pub rows: usize,
    /// The whole metadata, the caller's entries (e.g. `net`) included.
    pub metadata: Metadata,
}

impl CheckpointInfo {
    /// The configuration that continues this run up to `epochs` in all:
    /// batch size, seed, early stopping, optimizer and learning rate as the
    /// checkpoint says, the rest (validation, progress) as
    /// [`TrainConfig::default`].
    pub fn config<F: Float>(&self, epochs: usize) -> TrainConfig<F> {
        TrainConfig {
            batch_size: self.batch_size,
            epochs,
            early_stop_eps: self.early_stop_eps,
            optimizer: self.optimizer,
            learning_rate: self.learning_rate,
            seed: self.seed,
            ..TrainConfig::default()
        }
    }

    fn from_metadata(path: &Path, metadata: Metadata) -> Result<Self, TrainError> {
        let bad = |reason: String| TrainError::NotACheckpoint { path: path.to_path_buf(), reason };
        if metadata.get(CHECKPOINT).is_none() {
            return Err(bad(format!("no \"{CHECKPOINT}\" entry in its metadata (a model file?)")));
        }
        let field = |key: &str| metadata.get(key).ok_or_else(|| bad(format!("no \"{key}\" in its metadata")));
        fn parse<T: FromStr>(key: &str, value: &str) -> Result<T, String> {
            value.parse().map_err(|_| format!("\"{key}\" is \"{value}\", which does not parse"))
        }
        let history = history_from_json(field(HISTORY)?)
            .ok_or_else(|| bad(format!("\"{HISTORY}\" is not a training history")))?;
        let epochs: usize = parse(EPOCHS, field(EPOCHS)?).map_err(bad)?;
        if history.epochs_run != epochs || history.train_loss.len() != epochs {
            return Err(bad(format!(
                "its history has {} epochs but \"{EPOCHS}\" says {epochs}",
                history.train_loss.len()
            )));
        }
        let early_stop_eps = match field(EARLY_STOP_EPS)? {
            "none" => None,
            eps => Some(parse(EARLY_STOP_EPS, eps).map_err(bad)?),
        };
        Ok(Self {
            epochs,
            history,
            optimizer: parse(OPTIMIZER, field(OPTIMIZER)?).map_err(bad)?,
            learning_rate: parse(LEARNING_RATE, field(LEARNING_RATE)?).map_err(bad)?,
            optimizer_steps: parse(OPTIMIZER_STEPS, field(OPTIMIZER_STEPS)?).map_err(bad)?,
            seed: parse(SEED, field(SEED)?).map_err(bad)?,
            batch_size: parse(BATCH_SIZE, field(BATCH_SIZE)?).map_err(bad)?,
            early_stop_eps,
            rows: parse(ROWS, field(ROWS)?).map_err(bad)?,
            metadata,
        })
    }
}

/// Reads what the checkpoint at `path` says about its run, e.g. to rebuild
/// the network from a `net` entry and the configuration with
/// [`CheckpointInfo::config`] before [`resume`]. The whole file is validated.
///
/// # Errors
/// [`TrainError::ModelFile`] if the file cannot be read or is not a valid
/// safetensors file; [`TrainError::NotACheckpoint`] if its metadata is not a
/// checkpoint's.
pub fn read_checkpoint(path: impl AsRef<Path>) -> Result<CheckpointInfo, TrainError> {
    let path = path.as_ref();
    CheckpointInfo::from_metadata(path, nn_io::read_metadata(path)?)
}

/// [`train`](crate::train), writing a checkpoint to `checkpointing.path`
/// after every `checkpointing.every` epochs and after the last (early
/// stopping included). A run stopped at any point can continue from its
/// last checkpoint with [`resume`], with the same result bit for bit.
///
/// # Errors
/// As [`train`](crate::train); [`TrainError::ZeroCheckpointEvery`] if
/// `checkpointing.every` is 0; [`TrainError::ModelFile`] if the checkpoint
/// cannot be written (the previous one is then left intact).
pub fn train_checkpointed<F: Float, N: Module<F> + ?Sized, L: Loss<F> + ?Sized>(
    net: &mut N,
    loss: &mut L,
    data: (ArrayViewD<'_, F>, ArrayViewD<'_, F>),
    config: &TrainConfig<F>,
    checkpointing: &Checkpointing,
) -> Result<History, TrainError> {
    let mut history = History::default();
    run(net, loss, data, config, &mut history, None, Some(checkpointing))?;
    Ok(history)
}

/// Continues the run saved in `checkpoint` up to `config.epochs` epochs in
/// all, and returns the whole history (the checkpoint's epochs included).
///
/// `net` must have the architecture of the checkpoint: its parameters are
/// loaded strictly (nn-io's [`assign_parameters`](nn_io::assign_parameters)),
/// then the optimizer's state and step count, then the history. The run goes
/// on with `config`, so with the batch size, seed, early stopping and
/// learning rate of the checkpointed run ([`CheckpointInfo::config`]) and the
/// same data, the result is bit for bit that of an uninterrupted run. A run
/// that had stopped early, or reached `config.epochs`, runs no further epoch.
/// With `checkpointing`, checkpoints go on being written as in
/// [`train_checkpointed`] (to the same file, if you like).
///
/// # Errors
/// - the errors of [`train`](crate::train) for `config` and the data;
/// - [`TrainError::ModelFile`]: the checkpoint cannot be read, is corrupt,
///   has another element type, or does not fit `net` (nn-io's message,
///   listing missing and unexpected tensors and each shape);
/// - [`TrainError::NotACheckpoint`]: a model file, or damaged metadata;
/// - [`TrainError::OptimizerMismatch`]: `config.optimizer` is not the
///   checkpoint's;
/// - [`TrainError::CheckpointAhead`]: the checkpoint has run more than
///   `config.epochs` epochs.
///
/// `net` is unchanged by any of these except the data and training errors.
pub fn resume<F: Float, N: Module<F> + ?Sized, L: Loss<F> + ?Sized>(
    net: &mut N,
    loss: &mut L,
    data: (ArrayViewD<'_, F>, ArrayViewD<'_, F>),
    config: &TrainConfig<F>,
    checkpoint: impl AsRef<Path>,
    checkpointing: Option<&Checkpointing>,
) -> Result<History, TrainError> {
    let mut history = History::default();
    run(net, loss, data, config, &mut history, Some(checkpoint.as_ref()), checkpointing)?;
    Ok(history)
}

/// Writes the checkpoint of a run after `history.epochs_run` epochs.
pub(crate) fn write<F: Float, N: Module<F> + ?Sized>(
    checkpointing: &Checkpointing,
    net: &N,
    optimizer: &dyn Optimizer<F>,
    history: &History,
    config: &TrainConfig<F>,
    rows: usize,
) -> Result<(), TrainError> {
    let mut params: Vec<(String, ArrayD<F>)> = Vec::new();
    net.visit_parameters(&mut |p| params.push((p.name.to_string(), p.value.to_owned())));
    let mut tensors: Vec<(String, ArrayViewD<'_, F>)> =
        params.iter().map(|(name, value)| (name.clone(), value.view())).collect();
    for (state, list) in optimizer.state_names().iter().zip(optimizer.state()) {
        for ((name, _), value) in params.iter().zip(list) {
            tensors.push((format!("{STATE_PREFIX}{state}.{name}"), value.view()));
        }
    }
    let eps = config.early_stop_eps.map_or_else(|| "none".to_string(), |eps| eps.to_string());
    let metadata = checkpointing
        .metadata
        .clone()
        .with(CHECKPOINT, "1")
        .with(EPOCHS, history.epochs_run.to_string())
        .with(HISTORY, history_to_json(history))
        .with(OPTIMIZER, config.optimizer.to_string())
        .with(LEARNING_RATE, optimizer.learning_rate().to_string())
        .with(OPTIMIZER_STEPS, optimizer.steps().to_string())
        .with(SEED, config.seed.to_string())
        .with(BATCH_SIZE, config.batch_size.to_string())
        .with(EARLY_STOP_EPS, eps)
        .with(ROWS, rows.to_string());
    nn_io::save_tensors(&checkpointing.path, tensors, &metadata)?;
    Ok(())
}

/// Loads the checkpoint at `path` into `net` and `optimizer` and returns its
/// history. Everything is checked before anything is copied.
pub(crate) fn restore<F: Float, N: Module<F> + ?Sized>(
    path: &Path,
    net: &mut N,
    optimizer: &mut dyn Optimizer<F>,
    config: &TrainConfig<F>,
) -> Result<History, TrainError> {
    let file = nn_io::load_tensors::<F>(path)?;
    let info = CheckpointInfo::from_metadata(path, file.metadata)?;
    if info.optimizer != config.optimizer {
        return Err(TrainError::OptimizerMismatch {
            path: path.to_path_buf(),
            checkpoint: info.optimizer.to_string(),
            config: config.optimizer.to_string(),
        });
    }
    if info.epochs > config.epochs {
        return Err(TrainError::CheckpointAhead {
            path: path.to_path_buf(),
            done: info.epochs,
            epochs: config.epochs,
        });
    }
    let (mut state, params): (BTreeMap<String, ArrayD<F>>, BTreeMap<String, ArrayD<F>>) =
        file.tensors.into_iter().partition(|(name, _)| name.starts_with(STATE_PREFIX));
    check_state(optimizer.state_names(), &state, &params, info.optimizer_steps)
        .map_err(|reason| TrainError::NotACheckpoint { path: path.to_path_buf(), reason })?;
    nn_io::assign_parameters(net, &params, path)?;

    let names = optimizer.state_names();
    let mut lists: Vec<Vec<ArrayD<F>>> = vec![Vec::new(); names.len()];
    net.visit_parameters(&mut |p| {
        for (list, state_name) in lists.iter_mut().zip(names) {
            if let Some(value) = state.remove(&format!("{STATE_PREFIX}{state_name}.{}", p.name)) {
                list.push(value);
            }
        }
    });
    optimizer.load_state(info.optimizer_steps, lists)?;
    Ok(info.history)
}

/// Checks that the optimizer state tensors of a checkpoint fit its
/// parameters: each named `optimizer.<one of names>.<a parameter>`, shaped
/// like it, and each state complete (or absent before the first step).
fn check_state<F>(
    names: &[&str],
    state: &BTreeMap<String, ArrayD<F>>,
    params: &BTreeMap<String, ArrayD<F>>,
    steps: u64,
) -> Result<(), String> {
    let mut counts = vec![0; names.len()];
    for (key, value) in state {
        let rest = &key[STATE_PREFIX.len()..];
        let found = names.iter().enumerate().find_map(|(i, name)| {
            let param = rest.strip_prefix(name)?.strip_prefix('.')?;
            Some((i, param, params.get(param)?))
        });
        let Some((i, param, param_value)) = found else {
            return Err(format!(
                "optimizer state tensor {key} belongs to no state of this optimizer and parameter"
            ));
        };
        if value.shape() != param_value.shape() {
            return Err(format!(
                "optimizer state tensor {key} has shape {} but {param} has {}",
                Dims(value.shape()),
                Dims(param_value.shape())
            ));
        }
        counts[i] += 1;
    }
    for (name, count) in names.iter().zip(counts) {
        if count != params.len() && !(count == 0 && steps == 0) {
            return Err(format!("optimizer state {name} covers {count} of {} parameters", params.len()));
        }
    }
    Ok(())
}

/// The history as JSON; non-finite numbers (a validation loss can be
/// infinite) are written as strings, which JSON numbers cannot be.
fn history_to_json(history: &History) -> String {
    let floats = |values: &[f64]| -> Value {
        values
            .iter()
            .map(|&v| Number::from_f64(v).map_or_else(|| Value::String(v.to_string()), Value::Number))
            .collect()
    };
    json!({
        "train_loss": floats(&history.train_loss),
        "val_loss": floats(&history.val_loss),
        "val_accuracy": floats(&history.val_accuracy),
        "epochs_run": history.epochs_run,
        "stopped_early": history.stopped_early,
    })
    .to_string()
}

/// Reads [`history_to_json`]'s output back, bit for bit.
fn history_from_json(text: &str) -> Option<History> {
    let value: Value = serde_json::from_str(text).ok()?;
    let floats = |key: &str| -> Option<Vec<f64>> {
        value.get(key)?.as_array()?.iter().map(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok())).collect()
    };
    Some(History {
        train_loss: floats("train_loss")?,
        val_loss: floats("val_loss")?,
        val_accuracy: floats("val_accuracy")?,
        epochs_run: usize::try_from(value.get("epochs_run")?.as_u64()?).ok()?,
        stopped_early: value.get("stopped_early")?.as_bool()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{TinyLinear, TinyMse};
    use crate::train;
    use ndarray::{Array, ArrayD};

    fn line(n: usize) -> (ArrayD<f32>, ArrayD<f32>) {
        let x = Array::from_shape_fn((n, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 11.0 - 0.5).into_dyn();
        let y = Array::from_shape_fn((n, 1), |(i, _)| 2.0 * x[[i, 0]] - x[[i, 1]] + 0.5).into_dyn();
        (x, y)
    }

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("nn-train-ckpt-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn config(epochs: usize, optimizer: OptimizerKind) -> TrainConfig<f32> {
        TrainConfig { batch_size: 3, epochs, optimizer, learning_rate: 0.05, seed: 11, ..Default::default() }
    }

    #[test]
    fn history_json_round_trips_bit_for_bit() {
        let h = History {
            train_loss: vec![0.1, 1.0 / 3.0, 5e-324, 1.7976931348623157e308, -0.0],
            val_loss: vec![f64::INFINITY, f64::NAN, 2.0],
            val_accuracy: vec![0.9],
            epochs_run: 5,
            stopped_early: true,
        };
        let back = history_from_json(&history_to_json(&h)).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.train_loss), bits(&h.train_loss));
        assert_eq!(bits(&back.val_loss), bits(&h.val_loss));
        assert_eq!((back.epochs_run, back.stopped_early), (5, true));
        assert!(history_from_json("{\"train_loss\": [1]}").is_none());
    }

    #[test]
    fn a_checkpoint_says_what_its_run_was() {
        let dir = Dir::new("info");
        let (x, y) = line(10);
        let mut net = TinyLinear::<f32>::new(2, 1);
        let mut ck = Checkpointing::new(dir.0.join("ck"), 2);
        ck.metadata.insert("net", "TinyLinear(2, 1)");
        ck.metadata.insert("epochs", "overridden");
        let cfg = TrainConfig {
            early_stop_eps: Some(1e-9),
            ..config(5, OptimizerKind::Momentum { momentum: 0.5 })
        };
        let h = train_checkpointed(&mut net, &mut TinyMse::new(), (x.view(), y.view()), &cfg, &ck).unwrap();
        let info = read_checkpoint(&ck.path).unwrap();
        assert_eq!(info.epochs, 5);
        assert_eq!(info.history, h);
        assert_eq!(info.optimizer, OptimizerKind::Momentum { momentum: 0.5 });
        assert_eq!((info.learning_rate, info.optimizer_steps), (0.05, 20));
        assert_eq!((info.seed, info.batch_size, info.rows, info.early_stop_eps), (11, 3, 10, Some(1e-9)));
        assert_eq!(info.metadata.get("net"), Some("TinyLinear(2, 1)"));
        assert_eq!(info.metadata.get("format"), Some("nn"));
        let again = info.config::<f32>(8);
        assert_eq!((again.epochs, again.batch_size, again.seed), (8, 3, 11));
        assert_eq!(again.optimizer, cfg.optimizer);
        let file = nn_io::load_tensors::<f32>(&ck.path).unwrap();
        let names: Vec<&str> = file.tensors.keys().map(String::as_str).collect();
        assert_eq!(names, ["bias", "optimizer.velocity.bias", "optimizer.velocity.weight", "weight"]);
    }

    #[test]
    fn resuming_continues_exactly_here_too() {
        let dir = Dir::new("continue");
        let (x, y) = line(10);
        let mut whole = TinyLinear::<f32>::new(2, 1);
        let full =
            train(&mut whole, &mut TinyMse::new(), (x.view(), y.view()), &config(6, OptimizerKind::Adam))
                .unwrap();
        let ck = Checkpointing::new(dir.0.join("ck"), 100);
        let mut first = TinyLinear::<f32>::new(2, 1);
        let cfg = config(4, OptimizerKind::Adam);
        train_checkpointed(&mut first, &mut TinyMse::new(), (x.view(), y.view()), &cfg, &ck).unwrap();
        let mut resumed = TinyLinear::<f32>::new(2, 1);
        let h = resume(
            &mut resumed,
            &mut TinyMse::new(),
            (x.view(), y.view()),
            &config(6, OptimizerKind::Adam),
            &ck.path,
            None,
        )
        .unwrap();
        assert_eq!(h, full);
        assert_eq!(resumed.weight, whole.weight);
        assert_eq!(resumed.bias, whole.bias);
        // Only the steps after the checkpoint ran.
        assert_eq!(resumed.backward_calls, 2 * 4);
    }

    #[test]
    fn resume_refuses_another_optimizer_a_shorter_run_and_model_files() {
        let dir = Dir::new("refuse");
        let (x, y) = line(10);
        let ck = Checkpointing::new(dir.0.join("ck"), 1);
        let mut net = TinyLinear::<f32>::new(2, 1);
        train_checkpointed(
            &mut net,
            &mut TinyMse::new(),
            (x.view(), y.view()),
            &config(3, OptimizerKind::Adam),
            &ck,
        )
        .unwrap();
        let attempt = |cfg: TrainConfig<f32>, path: &Path| {
            let mut fresh = TinyLinear::<f32>::new(2, 1);
            let before = fresh.weight.clone();
            let err =
                resume(&mut fresh, &mut TinyMse::new(), (x.view(), y.view()), &cfg, path, None).unwrap_err();
            assert_eq!(fresh.weight, before, "{err}");
            err.to_string()
        };
        let p = ck.path.display();
        assert_eq!(
            attempt(config(5, OptimizerKind::Sgd), &ck.path),
            format!(
                "{p} was written by a run with optimizer adam but this run uses sgd; resume with the same optimizer"
            )
        );
        assert_eq!(
            attempt(config(2, OptimizerKind::Adam), &ck.path),
            format!(
                "{p} has already run 3 epochs, more than the 2 asked for; ask for at least 3 epochs in all"
            )
        );
        let model = dir.0.join("model");
        nn_io::save(&net, &model, &Metadata::new()).unwrap();
        assert_eq!(
            attempt(config(5, OptimizerKind::Adam), &model),
            format!(
                "{} is not a checkpoint: no \"checkpoint\" entry in its metadata (a model file?)",
                model.display()
            )
        );
        // A checkpoint whose optimizer state was cut short.
        let mut file = nn_io::load_tensors::<f32>(&ck.path).unwrap();
        file.tensors.remove("optimizer.exp_avg.bias");
        let damaged = dir.0.join("damaged");
        nn_io::save_tensors(&damaged, file.tensors.iter().map(|(k, v)| (k, v.view())), &file.metadata)
            .unwrap();
        assert_eq!(
            attempt(config(5, OptimizerKind::Adam), &damaged),
            format!(
                "{} is not a checkpoint: optimizer state exp_avg covers 1 of 2 parameters",
                damaged.display()
            )
        );
        let mut bad = ck.clone();
        bad.every = 0;
        let err = train_checkpointed(
            &mut net,
            &mut TinyMse::new(),
            (x.view(), y.view()),
            &config(1, OptimizerKind::Adam),
            &bad,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "checkpoint interval must be at least 1 epoch, got 0");
    }

    #[test]
    fn a_finished_run_resumes_to_itself() {
        let dir = Dir::new("finished");
        let (x, y) = line(10);
        let ck = Checkpointing::new(dir.0.join("ck"), 2);
        let mut net = TinyLinear::<f32>::new(2, 1);
        let cfg = TrainConfig { early_stop_eps: Some(0.5), ..config(50, OptimizerKind::Sgd) };
        let h = train_checkpointed(&mut net, &mut TinyMse::new(), (x.view(), y.view()), &cfg, &ck).unwrap();
        assert!(h.stopped_early);
        let mut again = TinyLinear::<f32>::new(2, 1);
        let h2 =
            resume(&mut again, &mut TinyMse::new(), (x.view(), y.view()), &cfg, &ck.path, Some(&ck)).unwrap();
        assert_eq!(h2, h);
        assert_eq!(again.backward_calls, 0);
        assert_eq!(again.weight, net.weight);
        assert_eq!(read_checkpoint(&ck.path).unwrap().history, h);
    }
}
