//! Scores of a trained network: accuracy, predictions, mean squared error,
//! the confusion matrix, and `Metric`, the score grid search ranks by.

use std::fmt;
use std::str::FromStr;

use ndarray::{Array2, ArrayViewD, Axis, Slice};
use nn_core::{Float, Module, check_target};

use crate::TrainError;

/// Rows per forward pass in [`predict`] and [`Metric::score`].
pub const PREDICT_CHUNK: usize = 256;

/// Fraction of `predicted` equal to `labels`, position by position (0 when empty).
///
/// # Panics
/// If the lengths differ: predictions and labels of one data set always match,
/// so a difference is a bug in the caller.
pub fn accuracy(predicted: &[usize], labels: &[usize]) -> f64 {
    assert_eq!(
        predicted.len(),
        labels.len(),
        "accuracy: {} predictions but {} labels",
        predicted.len(),
        labels.len()
    );
    if labels.is_empty() {
        return 0.0;
    }
    predicted.iter().zip(labels).filter(|(p, l)| p == l).count() as f64 / labels.len() as f64
}

/// The position of the largest value (the first, on ties; NaNs never win).
pub(crate) fn argmax<F: Float>(row: &ArrayViewD<'_, F>) -> usize {
    let mut best = 0;
    let mut best_value = F::neg_infinity();
    for (i, &v) in row.iter().enumerate() {
        if v > best_value {
            best = i;
            best_value = v;
        }
    }
    best
}

/// The predicted class of each row of `x` (rows = samples): the argmax of
/// the network's output row, computed in chunks of [`PREDICT_CHUNK`] rows.
///
/// # Errors
/// [`TrainError::NoBatchAxis`] for a scalar; [`TrainError::Shape`] if the network refuses `x`.
pub fn predict<F: Float, N: Module<F> + ?Sized>(
    net: &mut N,
    x: ArrayViewD<'_, F>,
) -> Result<Vec<usize>, TrainError> {
    if x.ndim() == 0 {
        return Err(TrainError::NoBatchAxis { what: "predict", name: "x" });
    }
    let rows = x.len_of(Axis(0));
    let mut out = Vec::with_capacity(rows);
    for start in (0..rows).step_by(PREDICT_CHUNK) {
        let end = (start + PREDICT_CHUNK).min(rows);
        let output = net
            .forward(x.slice_axis(Axis(0), Slice::from(start..end)))
            .map_err(|e| TrainError::shape(format!("predict, rows {start}..{end}"), e))?;
        out.extend(output.outer_iter().map(|row| argmax(&row)));
    }
    Ok(out)
}

/// Mean over the rows of the sum over outputs of (predicted − target)²: the
/// reduction of `MSELoss`, so this equals its value on the same tensors.
///
/// # Errors
/// [`TrainError::Shape`] unless both are (rows, outputs) of one shape.
pub fn mean_squared_error<F: Float>(
    predicted: ArrayViewD<'_, F>,
    target: ArrayViewD<'_, F>,
) -> Result<f64, TrainError> {
    check_target(&"mean_squared_error", &target, &predicted).map_err(|e| TrainError::shape("metrics", e))?;
    let rows = predicted.len_of(Axis(0));
    if rows == 0 {
        return Ok(0.0);
    }
    let sum: f64 = predicted.iter().zip(target.iter()).map(|(&p, &t)| (p - t).as_f64().powi(2)).sum();
    Ok(sum / rows as f64)
}

/// Counts of (true label, predicted label): entry `[t, p]` is how many
/// samples of class `t` were predicted `p` (rows: truth, as scikit-learn).
///
/// # Errors
/// [`TrainError::LengthMismatch`] if the lengths differ;
/// [`TrainError::LabelOutOfRange`] if a label or prediction is not below `classes`.
pub fn confusion_matrix(
    predicted: &[usize],
    labels: &[usize],
    classes: usize,
) -> Result<Array2<usize>, TrainError> {
    if predicted.len() != labels.len() {
        return Err(TrainError::LengthMismatch { predicted: predicted.len(), labels: labels.len() });
    }
    let mut m = Array2::zeros((classes, classes));
    for (row, (&p, &t)) in predicted.iter().zip(labels).enumerate() {
        let label = p.max(t);
        if label >= classes {
            return Err(TrainError::LabelOutOfRange { label, row, classes });
        }
        m[[t, p]] += 1;
    }
    Ok(m)
}

/// The score grid search ranks points by, on each fold's validation part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Metric {
    /// Fraction of rows whose output argmax is the label; higher is better.
    #[default]
    Accuracy,
    /// [`mean_squared_error`] between the outputs and the one-hot rows of the
    /// labels; lower is better.
    Mse,
}

impl Metric {
    /// Whether a larger score is better (accuracy) or a smaller one (MSE).
    pub fn higher_is_better(self) -> bool {
        match self {
            Metric::Accuracy => true,
            Metric::Mse => false,
        }
    }

    /// Scores `net` on `x` (rows = samples) against class `labels`, in chunks.
    ///
    /// # Errors
    /// [`TrainError::RowMismatch`] if `labels` do not have one entry per row;
    /// [`TrainError::Shape`] if the network refuses `x`; for [`Metric::Mse`],
    /// [`TrainError::LabelOutOfRange`] if a label is not below the number of outputs.
    pub fn score<F: Float, N: Module<F> + ?Sized>(
        self,
        net: &mut N,
        x: ArrayViewD<'_, F>,
        labels: &[usize],
    ) -> Result<f64, TrainError> {
        if x.ndim() == 0 {
            return Err(TrainError::NoBatchAxis { what: "scored data", name: "x" });
        }
        let rows = x.len_of(Axis(0));
        if rows != labels.len() {
            return Err(TrainError::RowMismatch {
                what: "scored data",
                x_rows: rows,
                y_name: "the label list",
                y_rows: labels.len(),
            });
        }
        match self {
            Metric::Accuracy => Ok(accuracy(&predict(net, x)?, labels)),
            Metric::Mse => {
                let mut sum = 0.0;
                for start in (0..rows).step_by(PREDICT_CHUNK) {
                    let end = (start + PREDICT_CHUNK).min(rows);
                    let output = net
                        .forward(x.slice_axis(Axis(0), Slice::from(start..end)))
                        .map_err(|e| TrainError::shape(format!("scoring, rows {start}..{end}"), e))?;
                    for (i, row) in output.outer_iter().enumerate() {
                        let label = labels[start + i];
                        if label >= row.len() {
                            return Err(TrainError::LabelOutOfRange {
                                label,
                                row: start + i,
                                classes: row.len(),
                            });
                        }
                        let t = |j: usize| if j == label { 1.0 } else { 0.0 };
                        sum += row.iter().enumerate().map(|(j, &v)| (v.as_f64() - t(j)).powi(2)).sum::<f64>();
                    }
                }
                Ok(if rows == 0 { 0.0 } else { sum / rows as f64 })
            }
        }
    }
}

impl fmt::Display for Metric {
    /// `accuracy` or `mse`, the names [`FromStr`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Metric::Accuracy => "accuracy",
            Metric::Mse => "mse",
        })
    }
}

impl FromStr for Metric {
    type Err = TrainError;

    /// `accuracy` or `mse`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "accuracy" => Ok(Metric::Accuracy),
            "mse" => Ok(Metric::Mse),
            _ => Err(TrainError::UnknownMetric(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TinyLinear;
    use ndarray::array;

    #[test]
    fn accuracy_counts_matches() {
        assert_eq!(accuracy(&[1, 2, 3, 4], &[1, 2, 0, 4]), 0.75);
        assert_eq!(accuracy(&[], &[]), 0.0);
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        let row = array![1.0f32, 3.0, 3.0, f32::NAN].into_dyn();
        assert_eq!(argmax(&row.view()), 1);
    }

    #[test]
    fn predict_takes_the_argmax_of_each_row() {
        // TinyLinear(1, 2): outputs (0.1x, 0.2x): class 1 for x > 0, class 0 for x < 0.
        let mut net = TinyLinear::<f32>::new(1, 2);
        let x =
            ndarray::Array::from_shape_fn((600, 1), |(i, _)| if i % 3 == 0 { -1.0 } else { 1.0 }).into_dyn();
        let p = predict(&mut net, x.view()).unwrap();
        assert_eq!(p.len(), 600);
        assert!(p.iter().enumerate().all(|(i, &c)| c == usize::from(i % 3 != 0)));
    }

    #[test]
    fn mse_sums_outputs_and_averages_rows() {
        let p = array![[1.0f64, 0.0], [0.0, 0.0]].into_dyn();
        let t = array![[0.0f64, 0.0], [0.0, 2.0]].into_dyn();
        assert_eq!(mean_squared_error(p.view(), t.view()).unwrap(), 2.5);
        let bad = array![[0.0f64, 1.0, 2.0]].into_dyn();
        let err = mean_squared_error(p.view(), bad.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "metrics: mean_squared_error: target y has shape (1, 3) but prediction yhat has shape (2, 2)"
        );
    }

    #[test]
    fn confusion_matrix_rows_are_the_truth() {
        let m = confusion_matrix(&[0, 1, 1, 2], &[0, 0, 1, 2], 3).unwrap();
        assert_eq!(m, array![[1, 1, 0], [0, 1, 0], [0, 0, 1]]);
        let err = confusion_matrix(&[0, 3], &[0, 1], 3).unwrap_err();
        assert_eq!(err.to_string(), "label 3 in row 1 is not below the number of classes 3");
        let err = confusion_matrix(&[0], &[0, 1], 3).unwrap_err();
        assert_eq!(err.to_string(), "1 predictions but 2 labels");
    }

    #[test]
    fn metric_scores_and_parses() {
        let mut net = TinyLinear::<f64>::new(1, 2);
        let x = array![[1.0], [-1.0]].into_dyn();
        assert_eq!(Metric::Accuracy.score(&mut net, x.view(), &[1, 1]).unwrap(), 0.5);
        // outputs (0.1, 0.2) and (-0.1, -0.2) against one-hot [0, 1] twice.
        let mse = Metric::Mse.score(&mut net, x.view(), &[1, 1]).unwrap();
        assert!((mse - (0.01 + 0.64 + 0.01 + 1.44) / 2.0).abs() < 1e-12);
        assert!(Metric::Accuracy.higher_is_better() && !Metric::Mse.higher_is_better());
        assert_eq!("MSE".parse::<Metric>().unwrap(), Metric::Mse);
        assert_eq!(Metric::Accuracy.to_string(), "accuracy");
        assert_eq!(
            "f1".parse::<Metric>().unwrap_err().to_string(),
            "unknown metric \"f1\": expected accuracy or mse"
        );
        let err = Metric::Accuracy.score(&mut net, x.view(), &[1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "scored data: x has 2 rows but the label list has 1; each sample needs one"
        );
        let err = Metric::Mse.score(&mut net, x.view(), &[2, 0]).unwrap_err();
        assert_eq!(err.to_string(), "label 2 in row 0 is not below the number of classes 2");
    }
}
