//! The bias gradient every layer with a bias shares: the column sums of `delta`.

use ndarray::{Array1, ArrayView2, Zip};
use nn_core::Float;

/// grad_bias[o] += Σᵢ delta[i, o]: `delta` is (rows, outputs), `grad_bias` (outputs).
///
/// Reads contiguous rows as slices (the usual case) instead of one ndarray
/// operation per row.
///
/// # Panics
/// If the widths differ: callers check `delta` first, an invariant of this crate.
pub(crate) fn add_column_sums<F: Float>(grad_bias: &mut Array1<F>, delta: ArrayView2<'_, F>) {
    assert_eq!(grad_bias.len(), delta.ncols(), "bias and delta widths are checked first");
    match (grad_bias.as_slice_mut(), delta.as_slice()) {
        (Some(sums), Some(rows)) if !sums.is_empty() => {
            for row in rows.chunks_exact(sums.len()) {
                for (sum, &d) in sums.iter_mut().zip(row) {
                    *sum += d;
                }
            }
        }
        _ => {
            for row in delta.rows() {
                Zip::from(&mut *grad_bias).and(&row).for_each(|sum, &d| *sum += d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, arr2};

    #[test]
    fn column_sums_add_up_for_any_layout() {
        let delta = arr2(&[[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]);
        let mut sums = arr1(&[0.5, 0.0, 0.0]);
        add_column_sums(&mut sums, delta.view());
        assert_eq!(sums, arr1(&[11.5, 22.0, 33.0]));
        let transposed = delta.t().to_owned();
        let mut sums = arr1(&[0.0, 0.0]);
        add_column_sums(&mut sums, transposed.t().t());
        add_column_sums(&mut sums, delta.t());
        assert_eq!(sums, arr1(&[12.0, 120.0]));
    }
}
