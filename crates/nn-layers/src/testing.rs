//! Helpers shared by the unit tests.

use approx::abs_diff_eq;
use ndarray::{ArrayD, IxDyn};
use nn_core::Float;

/// An array of `shape` from row-major `values`.
pub(crate) fn array<F: Float>(shape: &[usize], values: &[f64]) -> ArrayD<F> {
    ArrayD::from_shape_vec(IxDyn(shape), values.iter().map(|&v| F::of_f64(v)).collect())
        .expect("values fill the shape")
}

/// Asserts that `actual`, read in row-major order, is `expected` to within 1e-6.
pub(crate) fn assert_close<F: Float>(actual: &ArrayD<F>, expected: &[f64]) {
    let got: Vec<f64> = actual.iter().map(|v| v.as_f64()).collect();
    assert_eq!(got.len(), expected.len(), "{got:?} vs {expected:?}");
    let close = got.iter().zip(expected).all(|(&a, &e)| abs_diff_eq!(a, e, epsilon = 1e-6));
    assert!(close, "{got:?} vs {expected:?}");
}
