//! Checks on data before training: rows present and matching, values finite.

use ndarray::{ArrayViewD, Axis};
use nn_core::Float;

use crate::TrainError;

/// Checks that `x` and `y` have the same positive number of rows (axis 0)
/// and only finite values; returns the number of rows.
///
/// # Errors
/// [`TrainError::NoBatchAxis`], [`TrainError::EmptyData`],
/// [`TrainError::RowMismatch`] or [`TrainError::NonFiniteData`], naming `what`.
pub(crate) fn check_pair<F: Float>(
    what: &'static str,
    x: &ArrayViewD<'_, F>,
    y: &ArrayViewD<'_, F>,
) -> Result<usize, TrainError> {
    for (name, a) in [("x", x), ("y", y)] {
        if a.ndim() == 0 {
            return Err(TrainError::NoBatchAxis { what, name });
        }
    }
    let (x_rows, y_rows) = (x.len_of(Axis(0)), y.len_of(Axis(0)));
    if x_rows == 0 {
        return Err(TrainError::EmptyData { what });
    }
    if x_rows != y_rows {
        return Err(TrainError::RowMismatch { what, x_rows, y_name: "y", y_rows });
    }
    check_finite(what, "x", x)?;
    check_finite(what, "y", y)?;
    Ok(x_rows)
}

/// Checks that `a` holds only finite values.
///
/// # Errors
/// [`TrainError::NonFiniteData`] naming the first row with a NaN or an infinity.
pub(crate) fn check_finite<F: Float>(
    what: &'static str,
    name: &'static str,
    a: &ArrayViewD<'_, F>,
) -> Result<(), TrainError> {
    if a.iter().all(|v| v.is_finite()) {
        return Ok(());
    }
    for (row, r) in a.outer_iter().enumerate() {
        if let Some(v) = r.iter().find(|v| !v.is_finite()) {
            return Err(TrainError::NonFiniteData { what, name, row, value: v.as_f64() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn, array};

    #[test]
    fn messages_name_the_argument() {
        let x = ArrayD::<f32>::zeros(IxDyn(&[3, 2]));
        let y = ArrayD::<f32>::zeros(IxDyn(&[2, 1]));
        let err = check_pair("training data", &x.view(), &y.view()).unwrap_err();
        assert_eq!(err.to_string(), "training data: x has 3 rows but y has 2; each sample needs one");

        let empty = ArrayD::<f32>::zeros(IxDyn(&[0, 2]));
        let err = check_pair("training data", &empty.view(), &empty.view()).unwrap_err();
        assert_eq!(err.to_string(), "training data is empty: x has 0 rows");

        let scalar = ArrayD::<f32>::zeros(IxDyn(&[]));
        let err = check_pair("validation data", &x.view(), &scalar.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "validation data: y must have a batch axis (rows = samples), got a scalar"
        );

        let bad = array![[0.0f32, 1.0], [2.0, f32::NAN], [f32::INFINITY, 0.0]].into_dyn();
        let err = check_pair("training data", &bad.view(), &x.view()).unwrap_err();
        assert_eq!(err.to_string(), "training data: x holds a non-finite value (NaN) in row 1");
        let err = check_pair("training data", &x.view(), &bad.view()).unwrap_err();
        assert_eq!(err.to_string(), "training data: y holds a non-finite value (NaN) in row 1");
    }

    #[test]
    fn good_data_gives_its_row_count() {
        let x = ArrayD::<f64>::zeros(IxDyn(&[5, 64, 1]));
        let y = ArrayD::<f64>::zeros(IxDyn(&[5, 10]));
        assert_eq!(check_pair("training data", &x.view(), &y.view()).unwrap(), 5);
    }
}
