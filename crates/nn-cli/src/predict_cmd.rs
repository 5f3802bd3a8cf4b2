//! `nn predict`: one CSV row per input row, in order: the predicted class,
//! or the network's raw output row with full f32 precision. A CSV of
//! exactly the model's number of features is read as new, unlabelled rows;
//! one more column is a label, and ignored (the file is parsed once).

use std::fmt::Write as _;
use std::io::{self, Write};

use ndarray::{Axis, Slice};
use nn_train::{PREDICT_CHUNK, predict};

use crate::args::{PredictArgs, PredictOutput};
use crate::data_source::{model_input, prediction_rows, shaped};
use crate::error::{CliError, CliResult};
use crate::experiment::NetSpec;
use crate::model_file;
use crate::output_paths::RunFiles;

/// Runs `nn predict`.
///
/// # Errors
/// A model file that cannot be loaded, data that cannot be read or does not
/// fit the model, `--output labels` for an auto-encoder, an `--out` file that
/// is the model or the data, or an output file that cannot be written (an
/// existing one is then left intact).
pub fn run(args: &PredictArgs) -> CliResult<()> {
    let mut model = model_file::load(&args.model)?;
    // The data defaults to the model's training data: that file is an input too.
    let (data, labels) = match (&args.input.data, &model.info.trained_on) {
        (Some(data), _) => (Some(data.as_str()), args.input.labels.as_deref()),
        (None, Some(on)) if args.input.labels.is_none() => (Some(on.data.as_str()), on.labels.as_deref()),
        (None, _) => (None, args.input.labels.as_deref()),
    };
    RunFiles::new()
        .input("the --model file", Some(&args.model))
        .data("--data", data)
        .input("the --labels file", labels)
        .output("--out", args.out.as_deref())
        .check()?;
    let classifier = matches!(model.info.net, NetSpec::Classifier(_));
    let output =
        args.output.unwrap_or(if classifier { PredictOutput::Labels } else { PredictOutput::Scores });
    if output == PredictOutput::Labels && !classifier {
        return Err(CliError::usage(
            "--output labels needs a classifier; an auto-encoder's outputs are its reconstructions: use --output scores",
        ));
    }
    let x = match prediction_rows(&args.input, model.info.features(), &args.model)? {
        Some(rows) => shaped(&rows, &model.info.row_shape),
        None => shaped(&model_input(&args.input, &model.info, &args.model)?.data.x, &model.info.row_shape),
    };
    let mut text = String::new();
    match output {
        // The argmax nn-train's accuracy uses: `nn eval` counts exactly these.
        PredictOutput::Labels => {
            for label in predict(model.network.module(), x.view())? {
                let _ = writeln!(text, "{label}");
            }
        }
        PredictOutput::Scores => {
            let rows = x.len_of(Axis(0));
            for start in (0..rows).step_by(PREDICT_CHUNK) {
                let end = (start + PREDICT_CHUNK).min(rows);
                let out = model.network.module().forward(x.slice_axis(Axis(0), Slice::from(start..end)))?;
                let width = (out.len() / (end - start)).max(1);
                let out = out.as_standard_layout();
                let values = out.as_slice().expect("an array in standard layout is one slice");
                for row in values.chunks(width) {
                    let cells: Vec<String> = row.iter().map(|&v| score(v)).collect();
                    let _ = writeln!(text, "{}", cells.join(","));
                }
            }
        }
    }
    match &args.out {
        Some(path) => nn_io::write_atomic(path, |file| file.write_all(text.as_bytes()))?,
        None => match io::stdout().lock().write_all(text.as_bytes()) {
            // `nn predict | head` closes the pipe early: not an error.
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(CliError::io("stdout", e)),
            _ => {}
        },
    }
    Ok(())
}

/// `v` with the fewest digits that read back as the same f32: `0.125`,
/// `-3.5`, and `1.5e-7` or `2e12` for very small and very large values.
pub fn score(v: f32) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e9).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_read_back_bit_for_bit() {
        for v in [0.1f32, -3.5, 1.0 / 3.0, 1.5e-7, 2e12, f32::MIN_POSITIVE, f32::MAX, -0.0, 1e-45] {
            let text = score(v);
            assert_eq!(text.parse::<f32>().unwrap().to_bits(), v.to_bits(), "{v} -> {text}");
        }
        assert_eq!(score(0.125), "0.125");
        assert_eq!(score(1.5e-7), "1.5e-7");
        assert_eq!(score(f32::NAN), "NaN");
    }
}
