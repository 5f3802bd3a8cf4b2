//! What Flatten and Unflatten share: the same values under another shape, copied into kept buffers.

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Float, tensor};

/// The kept output and input-gradient buffers of a layer that only
/// reshapes: its output holds its input's values in row-major order, its
/// input gradient holds `delta`'s values under the input's shape.
#[derive(Debug, Clone)]
pub(crate) struct Reshape<F: Float> {
    pub(crate) output: ArrayD<F>,
    pub(crate) grad_input: ArrayD<F>,
}

impl<F: Float> Reshape<F> {
    pub(crate) fn new() -> Self {
        Self { output: tensor::empty(), grad_input: tensor::empty() }
    }

    /// `input`'s values under `shape` (the layer has checked that the sizes agree).
    pub(crate) fn forward(&mut self, input: &ArrayViewD<'_, F>, shape: &[usize]) -> &ArrayD<F> {
        tensor::ensure_shape(&mut self.output, shape);
        copy_row_major(&mut self.output, input);
        &self.output
    }

    /// `delta`'s values under `input_shape` (the layer has checked `delta`).
    pub(crate) fn backward(&mut self, input_shape: &[usize], delta: &ArrayViewD<'_, F>) -> &ArrayD<F> {
        tensor::ensure_shape(&mut self.grad_input, input_shape);
        copy_row_major(&mut self.grad_input, delta);
        &self.grad_input
    }
}

/// Copies `src` into the same number of elements of `dst`, both in row-major order.
fn copy_row_major<F: Float>(dst: &mut ArrayD<F>, src: &ArrayViewD<'_, F>) {
    let dst = dst.as_slice_mut().expect("kept buffers are in standard layout");
    match src.as_slice() {
        Some(src) => dst.copy_from_slice(src),
        None => dst.iter_mut().zip(src.iter()).for_each(|(d, &s)| *d = s),
    }
}
