//! `--data digits | FILE.csv[.gz] | IMAGES.idx3-ubyte[.gz] --labels LABELS.idx1-ubyte[.gz]`.

use std::path::Path;

use ndarray::{Array2, ArrayD, Axis, IxDyn, s};
use nn_data::{CsvOptions, Dataset, digits, read_csv, read_csv_features, read_idx_pair, stratified_split};

use crate::args::{InputArgs, SplitPart};
use crate::error::{CliError, CliResult};
use crate::model_file::ModelInfo;

/// Loads the data named by `--data` (and `--labels` for IDX images).
///
/// `digits` is the bundled 8×8 set (pixels / 16); a CSV has numbers then the
/// label in the last column, a header line skipped; IDX images are scaled by 1/255.
///
/// # Errors
/// [`CliError::Data`] naming the file and the place of what is wrong, or
/// that it has no rows.
pub fn load(data: &str, labels: Option<&Path>) -> CliResult<Dataset> {
    let dataset = load_any(data, labels)?;
    if dataset.is_empty() {
        return Err(nn_data::DataError::Empty { file: data.to_string() }.into());
    }
    Ok(dataset)
}

/// [`load`], empty data sets included.
fn load_any(data: &str, labels: Option<&Path>) -> CliResult<Dataset> {
    match (data, labels) {
        ("digits", None) => Ok(digits()),
        ("digits", Some(_)) => {
            Err(CliError::usage("--labels goes with IDX image files, not with --data digits"))
        }
        (path, Some(labels)) => Ok(read_idx_pair(path, labels)?),
        (path, None) if is_idx(path) => Err(CliError::usage(format!(
            "{path} looks like an IDX image file: give its labels with --labels LABELS.idx1-ubyte"
        ))),
        (path, None) => Ok(read_csv(path, &CsvOptions::default())?),
    }
}

fn is_idx(path: &str) -> bool {
    path.contains("idx3") || path.contains("-ubyte")
}

/// A stratified train/test split of `data`, seeded.
pub struct Split {
    /// Training rows.
    pub train: Dataset,
    /// Held-out rows.
    pub test: Dataset,
}

/// Splits `data` into train and test parts with `test_fraction` of each class held out.
///
/// # Errors
/// [`CliError::Data`] if the fraction is outside (0, 1) or a class is too small.
pub fn split(data: &Dataset, test_fraction: f64, seed: u64) -> CliResult<Split> {
    let (train, test) = stratified_split(&data.labels, test_fraction, seed)?;
    Ok(Split { train: data.select(&train), test: data.select(&test) })
}

/// Rows of `x` shaped for the network: (rows, `row_shape`…).
///
/// # Panics
/// If `row_shape` does not hold exactly the row's features (checked by the caller).
pub fn shaped(x: &Array2<f32>, row_shape: &[usize]) -> ArrayD<f32> {
    let mut shape = vec![x.len_of(Axis(0))];
    shape.extend_from_slice(row_shape);
    x.to_owned().into_shape_with_order(IxDyn(&shape)).expect("row_shape holds the features of one row")
}

/// The rows a saved model runs on, and how to name them in messages.
pub struct ModelInput {
    /// The rows (all, or one part of the split).
    pub data: Dataset,
    /// `digits`, or the file, with the part: `digits, test part`.
    pub description: String,
}

/// The rows `nn predict` reads from `--data` when it is a CSV file, parsed
/// once: all of them features if the file has exactly `features` columns
/// (new samples without labels), the first `features` if it has one more (a
/// label column, not needed to predict). `None` for anything else, which
/// [`model_input`] reads (the digits, IDX files, a `--split` part).
///
/// # Errors
/// [`CliError::Data`] if the file cannot be read or parsed, naming the
/// place; [`CliError::Usage`] for a width that is neither `features` nor
/// `features` + 1, naming both and the model in `model_path`.
pub fn prediction_rows(
    input: &InputArgs,
    features: usize,
    model_path: &Path,
) -> CliResult<Option<Array2<f32>>> {
    let Some(path) = input.data.as_deref() else { return Ok(None) };
    if path == "digits" || is_idx(path) || input.labels.is_some() || input.split != SplitPart::All {
        return Ok(None);
    }
    let x = read_csv_features(path, 1.0)?;
    match x.ncols() {
        width if width == features => Ok(Some(x)),
        width if width == features + 1 => Ok(Some(x.slice(s![.., ..features]).to_owned())),
        width => Err(CliError::usage(format!(
            "{} takes rows of {features} features but {path} has {width} columns: give {features} feature columns, optionally followed by a label",
            model_path.display()
        ))),
    }
}

/// Loads the data of `nn eval` and `nn predict` for the model in `model_path`:
/// `--data` (default: the data the model was trained on, else the digits),
/// all rows or one part of the split the model was trained with, and checks
/// that its rows have the width the model takes.
///
/// # Errors
/// The data errors of [`load`]; [`CliError::Usage`] for a split the model
/// does not record, or rows of another width than the model's, naming both sizes.
pub fn model_input(input: &InputArgs, info: &ModelInfo, model_path: &Path) -> CliResult<ModelInput> {
    let (name, labels) = match (&input.data, &info.trained_on) {
        (Some(data), _) => (data.clone(), input.labels.clone()),
        (None, Some(on)) if input.labels.is_none() => (on.data.clone(), on.labels.clone()),
        (None, _) => ("digits".to_string(), input.labels.clone()),
    };
    let data = load(&name, labels.as_deref())?;
    if data.features() != info.features() {
        return Err(CliError::usage(format!(
            "{} takes rows of {} features but {name} has {} features per row",
            model_path.display(),
            info.features(),
            data.features()
        )));
    }
    let part = match input.split {
        SplitPart::All => return Ok(ModelInput { data, description: name }),
        SplitPart::Train => "train",
        SplitPart::Test => "test",
    };
    let Some(on) = &info.trained_on else {
        return Err(CliError::usage(format!(
            "--split {part} needs the seed and test fraction of the training run, which {} does not record: use --split all",
            model_path.display()
        )));
    };
    let parts = split(&data, input.test_fraction.unwrap_or(on.test_fraction), on.seed)?;
    let data = if input.split == SplitPart::Train { parts.train } else { parts.test };
    Ok(ModelInput { data, description: format!("{name}, {part} part") })
}
