//! Model files of `nn`: the network's parameters in safetensors (through
//! nn-io: PyTorch's state-dict names and layouts, written atomically, loaded
//! strictly) and, in the file's metadata, what rebuilds the network with no
//! option: its notation, the loss, the shape of one input row, the classes,
//! and where it was trained.
//!
//! Metadata keys (all strings): `net` (a classifier) or `encoder` and
//! `decoder` (an auto-encoder), in the report's notation; `loss` as `--loss`
//! names it; `row_shape` as JSON, e.g. `[64,1]`; `classes` (classifiers);
//! `data`, `labels`, `test_fraction`, `seed` (the training data and split);
//! `epochs`, `optimizer`, `learning_rate`, `batch_size` (for the record);
//! plus nn-io's `format = "nn"` and `dtype = "f32"`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nn_io::Metadata;

use crate::build;
use crate::error::{CliError, CliResult};
use crate::experiment::{LossName, NetSpec, Network, input_shape};
use crate::notation::{LayerSpec, parse};

/// Key of a classifier's notation.
pub const NET: &str = "net";
/// Key of an auto-encoder's encoder notation.
pub const ENCODER: &str = "encoder";
/// Key of an auto-encoder's decoder notation.
pub const DECODER: &str = "decoder";
/// Key of the loss, as `--loss` names it.
pub const LOSS: &str = "loss";
/// Key of the shape of one input row, as JSON: `[64]`, `[64,1]`.
pub const ROW_SHAPE: &str = "row_shape";
/// Key of a classifier's number of classes.
pub const CLASSES: &str = "classes";
/// Key of the training data, as `--data` named it.
pub const DATA: &str = "data";
/// Key of the IDX labels file of the training data.
pub const LABELS: &str = "labels";
/// Key of the fraction of each class held out for testing.
pub const TEST_FRACTION: &str = "test_fraction";
/// Key of the seed of the weights, the split and the shuffling.
pub const SEED: &str = "seed";
/// Prefix of the optimizer's tensors in a checkpoint (nn-train's layout).
const OPTIMIZER_TENSORS: &str = "optimizer.";

/// The data a model was trained on and how it was split.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedOn {
    /// `--data`: `digits` or a file path.
    pub data: String,
    /// `--labels`, for IDX images.
    pub labels: Option<PathBuf>,
    /// `--test-fraction`.
    pub test_fraction: f64,
    /// `--seed`: with the fraction, it gives the same split again.
    pub seed: u64,
}

/// What a model file says about its network, besides the parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The network.
    pub net: NetSpec,
    /// The loss it was trained with (scores `nn eval`).
    pub loss: LossName,
    /// The shape of one input row, e.g. `[64]` or `[64, 1]` (length, channels).
    pub row_shape: Vec<usize>,
    /// A classifier's number of classes (its output width); `None` for an auto-encoder.
    pub classes: Option<usize>,
    /// Where it was trained, if the file says.
    pub trained_on: Option<TrainedOn>,
}

impl ModelInfo {
    /// The number of features one input row has.
    pub fn features(&self) -> usize {
        self.row_shape.iter().product()
    }

    /// The metadata entries that describe the model (module doc).
    pub fn metadata(&self) -> Metadata {
        let mut meta = Metadata::new();
        match &self.net {
            NetSpec::Classifier(specs) => {
                meta.insert(NET, NetSpec::Classifier(specs.clone()).notation());
            }
            NetSpec::AutoEncoder { encoder, decoder } => {
                meta.insert(ENCODER, NetSpec::Classifier(encoder.clone()).notation());
                meta.insert(DECODER, NetSpec::Classifier(decoder.clone()).notation());
            }
        }
        meta.insert(LOSS, self.loss.name());
        let dims: Vec<String> = self.row_shape.iter().map(usize::to_string).collect();
        meta.insert(ROW_SHAPE, format!("[{}]", dims.join(",")));
        if let Some(classes) = self.classes {
            meta.insert(CLASSES, classes.to_string());
        }
        if let Some(on) = &self.trained_on {
            meta.insert(DATA, on.data.clone());
            if let Some(labels) = &on.labels {
                meta.insert(LABELS, labels.display().to_string());
            }
            meta.insert(TEST_FRACTION, on.test_fraction.to_string());
            meta.insert(SEED, on.seed.to_string());
        }
        meta
    }

    /// Reads the model's description from a file's metadata.
    ///
    /// # Errors
    /// [`CliError::NotAModel`] naming `path` and the entry that is missing or wrong.
    pub fn from_metadata(path: &Path, meta: &Metadata) -> CliResult<Self> {
        let bad = |reason: String| CliError::NotAModel { path: path.to_path_buf(), reason };
        let notation = |key: &str, text: &str| {
            let specs =
                parse(text).map_err(|e| bad(format!("its \"{key}\" entry does not parse: {}", e.message)))?;
            build::check_parameters(&specs).map_err(|e| bad(format!("its \"{key}\" entry: {e}")))?;
            Ok::<_, CliError>(specs)
        };
        let net = match (meta.get(NET), meta.get(ENCODER), meta.get(DECODER)) {
            (Some(net), _, _) => NetSpec::Classifier(notation(NET, net)?),
            (None, Some(encoder), Some(decoder)) => NetSpec::AutoEncoder {
                encoder: notation(ENCODER, encoder)?,
                decoder: notation(DECODER, decoder)?,
            },
            _ => {
                return Err(bad(format!(
                    "no \"{NET}\" (or \"{ENCODER}\" and \"{DECODER}\") entry in its metadata; \
                     nn train --save writes one"
                )));
            }
        };
        let loss = match meta.get(LOSS) {
            None => net.default_loss(),
            Some(name) => LossName::from_name(name)
                .ok_or_else(|| bad(format!("its \"{LOSS}\" entry \"{name}\" is no loss nn knows")))?,
        };
        let row_shape = meta
            .get(ROW_SHAPE)
            .ok_or_else(|| bad(format!("no \"{ROW_SHAPE}\" entry in its metadata")))
            .and_then(|text| {
                parse_shape(text)
                    .ok_or_else(|| bad(format!("its \"{ROW_SHAPE}\" entry \"{text}\" is not [n, ...]")))
            })?;
        let number = |key: &str| -> CliResult<Option<u64>> {
            meta.get(key)
                .map(|text| {
                    text.parse()
                        .map_err(|_| bad(format!("its \"{key}\" entry \"{text}\" is not a whole number")))
                })
                .transpose()
        };
        let classes = match (&net, number(CLASSES)?) {
            (NetSpec::Classifier(_), None) => {
                return Err(bad(format!("no \"{CLASSES}\" entry in its metadata")));
            }
            (NetSpec::Classifier(_), Some(0)) => return Err(bad(format!("its \"{CLASSES}\" entry is 0"))),
            (NetSpec::Classifier(_), Some(n)) => Some(n as usize),
            (NetSpec::AutoEncoder { .. }, _) => None,
        };
        let trained_on = match (meta.get(DATA), meta.get(TEST_FRACTION), number(SEED)?) {
            (Some(data), Some(fraction), Some(seed)) => Some(TrainedOn {
                data: data.to_string(),
                labels: meta.get(LABELS).map(PathBuf::from),
                test_fraction: fraction.parse().map_err(|_| {
                    bad(format!("its \"{TEST_FRACTION}\" entry \"{fraction}\" is not a number"))
                })?,
                seed,
            }),
            _ => None,
        };
        Ok(Self { net, loss, row_shape, classes, trained_on })
    }
}

/// `[64,1]` → `[64, 1]`; `None` unless a non-empty list of positive whole numbers.
fn parse_shape(text: &str) -> Option<Vec<usize>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    let dims: Option<Vec<usize>> =
        inner.split(',').map(|d| d.trim().parse().ok().filter(|&d| d > 0)).collect();
    dims.filter(|d| !d.is_empty() && d.iter().try_fold(1usize, |acc, &x| acc.checked_mul(x)).is_some())
}

/// Refuses to go on if `path` exists and `force` is off, so that nothing
/// replaces a model (or checkpoint) by accident. Call it before training.
///
/// # Errors
/// [`CliError::Exists`]: `model.safetensors exists; pass --force to replace it`.
pub fn check_free(path: &Path, force: bool) -> CliResult<()> {
    if !force && path.exists() {
        return Err(CliError::Exists { path: path.to_path_buf() });
    }
    Ok(())
}

/// Saves `network` to `path` with `metadata` (the model's own entries from
/// [`ModelInfo::metadata`], and any others), atomically: a crash mid-write
/// leaves the previous file intact.
///
/// # Errors
/// [`CliError::ModelFile`] if the file cannot be written.
pub fn save(path: &Path, network: &Network, metadata: &Metadata) -> CliResult<()> {
    nn_io::save(network.as_module(), path, metadata)?;
    Ok(())
}

/// A model read back from its file.
pub struct Model {
    /// The file.
    pub path: PathBuf,
    /// The network with the file's parameters.
    pub network: Network,
    /// What the file says about it.
    pub info: ModelInfo,
    /// The whole metadata.
    pub metadata: Metadata,
}

/// Loads the model in `path`: rebuilds the network from the metadata, then
/// loads the parameters strictly. A checkpoint of `nn train --checkpoint`
/// loads too (its optimizer state is left out).
///
/// # Errors
/// - [`CliError::ModelFile`]: unreadable, truncated or corrupt file, another
///   element type, or tensors that do not fit the network (each listed);
/// - [`CliError::NotAModel`]: metadata that does not describe a network, or
///   a network that does not take rows of the recorded shape.
pub fn load(path: &Path) -> CliResult<Model> {
    let file = nn_io::load_tensors::<f32>(path)?;
    let info = ModelInfo::from_metadata(path, &file.metadata)?;
    let tensors: BTreeMap<String, _> = if file.metadata.get("checkpoint").is_some() {
        file.tensors.into_iter().filter(|(name, _)| !name.starts_with(OPTIMIZER_TENSORS)).collect()
    } else {
        file.tensors
    };
    // Compare names and shapes before building: the network then takes no
    // more memory than the file's tensors, whatever sizes the metadata claims.
    check_tensors(path, &parameter_shapes(&info.net), &tensors)?;
    info.net.check_rows(&info.row_shape).map_err(|reason| CliError::NotAModel {
        path: path.to_path_buf(),
        reason: format!("its network: {reason}"),
    })?;
    let mut network = Network::build(&info.net, 0);
    let out = network.summary(&input_shape(1, &info.row_shape)).map_err(|e| CliError::NotAModel {
        path: path.to_path_buf(),
        reason: format!("its network does not take rows of shape {:?}: {e}", info.row_shape),
    })?;
    let out = out.output_shape().to_vec();
    let expected = match (&info.net, info.classes) {
        (NetSpec::Classifier(_), Some(classes)) => vec![1, classes],
        _ => vec![1, info.features()],
    };
    if out != expected {
        return Err(CliError::NotAModel {
            path: path.to_path_buf(),
            reason: format!("its network gives outputs of shape {out:?}, its metadata says {expected:?}"),
        });
    }
    nn_io::assign_parameters(network.module(), &tensors, path)?;
    Ok(Model { path: path.to_path_buf(), network, info, metadata: file.metadata })
}

/// The parameters of `net` by state-dict name, in the network's order, with
/// their shapes in PyTorch's layout: what [`Network::build`] would allocate.
pub fn parameter_shapes(net: &NetSpec) -> Vec<(String, Vec<usize>)> {
    let chain = |prefix: &str, specs: &[LayerSpec]| -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let (weight, bias) = match *spec {
                LayerSpec::Linear { input, output } => (vec![output, input], output),
                LayerSpec::Conv1D { k_size, chan_in, chan_out, .. } => {
                    (vec![chan_out, chan_in, k_size], chan_out)
                }
                _ => continue,
            };
            out.push((format!("{prefix}{i}.weight"), weight));
            out.push((format!("{prefix}{i}.bias"), vec![bias]));
        }
        out
    };
    match net {
        NetSpec::Classifier(specs) => chain("", specs),
        NetSpec::AutoEncoder { encoder, decoder } => {
            let mut out = chain("encoder.", encoder);
            out.extend(chain("decoder.", decoder));
            out
        }
    }
}

/// nn-io's strict check, on shapes alone: every expected tensor present with
/// its shape, nothing else.
fn check_tensors<T>(
    path: &Path,
    expected: &[(String, Vec<usize>)],
    tensors: &BTreeMap<String, ndarray::ArrayD<T>>,
) -> CliResult<()> {
    let mut missing = Vec::new();
    let mut shapes = Vec::new();
    for (name, shape) in expected {
        match tensors.get(name) {
            None => missing.push(name.clone()),
            Some(t) if t.shape() != shape.as_slice() => shapes.push(nn_io::ShapeMismatch {
                name: name.clone(),
                file: t.shape().to_vec(),
                model: shape.clone(),
            }),
            Some(_) => {}
        }
    }
    let unexpected: Vec<String> =
        tensors.keys().filter(|name| !expected.iter().any(|(e, _)| e == *name)).cloned().collect();
    if missing.is_empty() && unexpected.is_empty() && shapes.is_empty() {
        return Ok(());
    }
    Err(nn_io::IoError::Mismatch { path: path.to_path_buf(), missing, unexpected, shapes }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(net: &str) -> ModelInfo {
        ModelInfo {
            net: NetSpec::parse(Some(net), None, None).unwrap(),
            loss: LossName::LogSoftmaxCe,
            row_shape: vec![64],
            classes: Some(10),
            trained_on: Some(TrainedOn { data: "digits".into(), labels: None, test_fraction: 0.2, seed: 3 }),
        }
    }

    #[test]
    fn metadata_round_trips() {
        let info = info("Linear(64,10) -> ReLU");
        let meta = info.metadata();
        assert_eq!(meta.get(NET), Some("Linear(64, 10) -> ReLU()"));
        assert_eq!(meta.get(ROW_SHAPE), Some("[64]"));
        assert_eq!(meta.get(LOSS), Some("logsoftmax-ce"));
        assert_eq!(ModelInfo::from_metadata(Path::new("m"), &meta).unwrap(), info);

        let ae = ModelInfo {
            net: NetSpec::parse(None, Some("Linear(64,8)"), Some("Linear(8,64) -> Sigmoid")).unwrap(),
            loss: LossName::Bce,
            row_shape: vec![64, 1],
            classes: None,
            trained_on: None,
        };
        let meta = ae.metadata();
        assert_eq!(meta.get(DECODER), Some("Linear(8, 64) -> Sigmoid()"));
        assert_eq!(meta.get(ROW_SHAPE), Some("[64,1]"));
        assert_eq!(ModelInfo::from_metadata(Path::new("m"), &meta).unwrap(), ae);
    }

    #[test]
    fn metadata_without_a_network_is_not_a_model() {
        let err = ModelInfo::from_metadata(Path::new("m.safetensors"), &Metadata::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.safetensors is not a model written by nn: no \"net\" (or \"encoder\" and \"decoder\") entry in its metadata; nn train --save writes one"
        );
        let meta = info("Linear(64,10)").metadata().with(ROW_SHAPE, "[64,0]");
        let err = ModelInfo::from_metadata(Path::new("m"), &meta).unwrap_err();
        assert_eq!(
            err.to_string(),
            "m is not a model written by nn: its \"row_shape\" entry \"[64,0]\" is not [n, ...]"
        );
        let meta = info("Linear(64,10)").metadata().with(NET, "Lin(64,10)");
        let err = ModelInfo::from_metadata(Path::new("m"), &meta).unwrap_err();
        assert_eq!(
            err.to_string(),
            "m is not a model written by nn: its \"net\" entry does not parse: unknown layer 'Lin'; did you mean Linear?"
        );
    }

    #[test]
    fn shapes_parse_strictly() {
        assert_eq!(parse_shape("[64, 1]"), Some(vec![64, 1]));
        assert_eq!(parse_shape("[]"), None);
        assert_eq!(parse_shape("64"), None);
        assert_eq!(parse_shape("[18446744073709551615,2]"), None);
    }

    #[test]
    fn an_existing_file_needs_force() {
        let path = std::env::temp_dir().join(format!("nn-cli-exists-{}", std::process::id()));
        std::fs::write(&path, b"x").unwrap();
        let err = check_free(&path, false).unwrap_err();
        assert_eq!(err.to_string(), format!("{} exists; pass --force to replace it", path.display()));
        assert!(check_free(&path, true).is_ok());
        std::fs::remove_file(&path).unwrap();
        assert!(check_free(&path, false).is_ok());
    }
}
