//! Shape checks several layers share, so that their messages read alike.

use std::fmt::Display;

use nn_core::{Dims, Float, ShapeError};

/// A [`ShapeError::Input`] for `layer`: "{layer} expects {expected} but receives {found}".
pub(crate) fn input_error(
    layer: &dyn Display,
    expected: impl Into<String>,
    found: impl Into<String>,
) -> ShapeError {
    ShapeError::Input { layer: layer.to_string(), expected: expected.into(), found: found.into() }
}

/// Checks an element-wise module's input: any shape with at least one axis.
pub(crate) fn not_scalar(layer: &dyn Display, shape: &[usize]) -> Result<(), ShapeError> {
    if shape.is_empty() {
        return Err(input_error(layer, "at least 1 axis", Dims(shape).to_string()));
    }
    Ok(())
}

/// Checks a sequence input (batch, length, channels) and returns its three sizes.
///
/// With `channels` given, the last axis must have exactly that size.
pub(crate) fn sequence(
    layer: &dyn Display,
    shape: &[usize],
    channels: Option<usize>,
) -> Result<[usize; 3], ShapeError> {
    let &[batch, length, found_channels] = shape else {
        let expected = match channels {
            Some(c) => format!("(batch, length, {c})"),
            None => "(batch, length, channels)".to_string(),
        };
        let mut found = Dims(shape).to_string();
        // A (batch, length) signal only lacks its channel axis: say how to add it.
        if let &[batch, length] = shape
            && channels.is_none_or(|c| c == 1)
        {
            found += &format!("; add a channel axis: {}", Dims(&[batch, length, 1]));
        }
        return Err(input_error(layer, expected, found));
    };
    if let Some(c) = channels
        && found_channels != c
    {
        return Err(input_error(
            layer,
            format!("{c} channel(s) in the last axis"),
            found_channels.to_string(),
        ));
    }
    Ok([batch, length, found_channels])
}

/// The number of windows of `k_size` that fit in `length` at `stride`: (length − k_size)/stride + 1.
pub(crate) fn windows(
    layer: &dyn Display,
    length: usize,
    k_size: usize,
    stride: usize,
) -> Result<usize, ShapeError> {
    if length < k_size {
        return Err(input_error(
            layer,
            format!("a length of at least {k_size} (k_size)"),
            format!("length {length}"),
        ));
    }
    Ok((length - k_size) / stride + 1)
}

/// Panics unless a parameter tensor of shape `dims` can be allocated, i.e.
/// its size in bytes fits in `isize`, naming `layer`, the tensor and its sizes.
///
/// Called by constructors before they allocate, so that `Linear::new(1 << 40,
/// 1 << 40, …)` fails with our message instead of an overflow inside
/// ndarray (or, for Conv1D's fan-in, inside our own arithmetic). A size that
/// fits this bound but not the machine's memory still aborts on allocation.
///
/// # Panics
/// If the product of `dims` times the element size overflows `isize`.
pub(crate) fn assert_allocatable<F: Float>(layer: &dyn Display, tensor: &str, dims: &[usize]) {
    let max = isize::MAX.unsigned_abs() / std::mem::size_of::<F>();
    let count = dims.iter().try_fold(1usize, |count, &d| count.checked_mul(d)).filter(|&c| c <= max);
    if count.is_none() {
        let sizes = dims.iter().map(usize::to_string).collect::<Vec<_>>().join(" × ");
        panic!(
            "{layer}: {tensor} of {sizes} values is too large to allocate (at most {max} {} values fit in the address space)",
            F::DTYPE
        );
    }
}
