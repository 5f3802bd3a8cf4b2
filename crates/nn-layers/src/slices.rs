//! Element-wise layers walk their tensors as slices: one tight loop the
//! compiler vectorizes, instead of ndarray's dynamic-rank iteration per call.

use ndarray::{ArrayBase, Data, DataMut, Dimension};

/// The elements of a standard-layout array (a kept buffer, or a view made so
/// by `as_standard_layout`), in row-major order.
///
/// # Panics
/// If the array is not contiguous: callers pass only such arrays, an invariant of this crate.
pub(crate) fn contiguous<S: Data, D: Dimension>(array: &ArrayBase<S, D>) -> &[S::Elem] {
    array.as_slice().expect("a standard-layout array")
}

/// The elements of a kept buffer, writable, in row-major order.
///
/// # Panics
/// As [`contiguous`].
pub(crate) fn contiguous_mut<S: DataMut, D: Dimension>(array: &mut ArrayBase<S, D>) -> &mut [S::Elem] {
    array.as_slice_mut().expect("a standard-layout array")
}
