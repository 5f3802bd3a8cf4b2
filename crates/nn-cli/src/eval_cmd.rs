//! `nn eval`: a saved model's loss (and accuracy, for a classifier) on data.

use ndarray::ArrayD;
use nn_data::one_hot;
use nn_train::evaluate;
use serde_json::json;

use crate::args::EvalArgs;
use crate::data_source::{ModelInput, model_input, shaped};
use crate::error::{CliError, CliResult};
use crate::experiment::NetSpec;
use crate::model_file::{self, ModelInfo};

/// Rows per forward pass, as `nn train` scores its test set: the same chunks
/// give the same loss, bit for bit.
const CHUNK: usize = 256;

/// Runs `nn eval`.
///
/// # Errors
/// A model file that cannot be loaded, data that cannot be read or does not
/// fit the model (width, labels out of range), or an empty data set.
pub fn run(args: &EvalArgs) -> CliResult<()> {
    let mut model = model_file::load(&args.model)?;
    let input = model_input(&args.input, &model.info, &args.model)?;
    let x = shaped(&input.data.x, &model.info.row_shape);
    let y = targets(&model.info, &input)?;
    let loss = model.info.loss.build();
    let mut score = evaluate(model.network.module(), loss.as_ref(), x.view(), y.view(), CHUNK)?;
    if model.info.classes.is_none() {
        // An auto-encoder's "accuracy" would compare the argmax pixels of its reconstructions.
        score.accuracy = None;
    }
    let notation = model.info.net.notation();
    if args.json {
        let result = json!({
            "model": args.model.display().to_string(),
            "net": notation,
            "data": input.description,
            "rows": input.data.len(),
            "loss_function": loss.to_string(),
            "loss": score.loss,
            "accuracy": score.accuracy,
        });
        println!("{result}");
    } else {
        println!("{notation}");
        let accuracy = score.accuracy.map(|a| format!(", accuracy {a:.4}")).unwrap_or_default();
        println!(
            "{} ({} rows): loss {:.4} with {}{accuracy}",
            input.description,
            input.data.len(),
            score.loss,
            loss
        );
    }
    Ok(())
}

/// One-hot labels for a classifier (each label below its classes), the
/// inputs themselves for an auto-encoder.
///
/// # Errors
/// [`CliError::Usage`] for a label the classifier has no output for.
pub fn targets(info: &ModelInfo, input: &ModelInput) -> CliResult<ArrayD<f32>> {
    let data = &input.data;
    match (&info.net, info.classes) {
        (NetSpec::Classifier(_), Some(classes)) => {
            if let Some((row, &label)) = data.labels.iter().enumerate().find(|(_, l)| **l >= classes) {
                return Err(CliError::usage(format!(
                    "{}: label {label} in row {} is out of range: the model has {classes} classes (0..{classes})",
                    input.description,
                    row + 1
                )));
            }
            Ok(one_hot(&data.labels, classes).into_dyn())
        }
        _ => Ok(data.x.clone().into_dyn()),
    }
}
