//! Mini-batches gathered from shuffled rows into buffers allocated once per run.

use ndarray::{ArrayD, ArrayViewD, CowArray, IxDyn};
use nn_core::{Float, tensor};

/// The rows of a (rows, …) tensor in row-major order, and a batch buffer of
/// each size an epoch needs: full batches and the last, partial one.
pub(crate) struct Batches<'a, F: Float> {
    source: CowArray<'a, F, IxDyn>,
    row_len: usize,
    full: ArrayD<F>,
    partial: Option<ArrayD<F>>,
}

impl<'a, F: Float> Batches<'a, F> {
    /// Buffers for batches of `batch_size` rows of `data`, and one for the
    /// remainder of `rows % batch_size` rows, if any. `batch_size` is at most `rows`.
    pub(crate) fn new(data: ArrayViewD<'a, F>, batch_size: usize) -> Self {
        let rows = data.shape()[0];
        let mut shape = data.shape().to_vec();
        let row_len = data.len() / rows.max(1);
        shape[0] = batch_size;
        let full = tensor::aligned_zeros(IxDyn(&shape));
        let partial = (!rows.is_multiple_of(batch_size)).then(|| {
            shape[0] = rows % batch_size;
            tensor::aligned_zeros(IxDyn(&shape))
        });
        let source = if data.is_standard_layout() {
            CowArray::from(data)
        } else {
            CowArray::from(data.as_standard_layout().into_owned())
        };
        Self { source, row_len, full, partial }
    }

    /// Copies the rows `indices` into the buffer of that many rows and returns it.
    pub(crate) fn gather(&mut self, indices: &[usize]) -> ArrayViewD<'_, F> {
        let buffer = match &mut self.partial {
            Some(p) if p.shape()[0] == indices.len() => p,
            _ => &mut self.full,
        };
        let source = self.source.as_slice().expect("as_standard_layout gives a contiguous array");
        let target = buffer.as_slice_mut().expect("a fresh array is contiguous");
        if self.row_len > 0 {
            for (row, &i) in target.chunks_exact_mut(self.row_len).zip(indices) {
                row.copy_from_slice(&source[i * self.row_len..(i + 1) * self.row_len]);
            }
        }
        buffer.view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array;

    #[test]
    fn gathers_rows_in_the_given_order_into_reused_buffers() {
        let data = Array::from_shape_fn((5, 2, 1), |(i, j, _)| (10 * i + j) as f32).into_dyn();
        let mut b = Batches::new(data.view(), 2);
        let ptr = b.gather(&[4, 0]).as_ptr();
        assert_eq!(b.gather(&[4, 0]).iter().copied().collect::<Vec<_>>(), vec![40.0, 41.0, 0.0, 1.0]);
        assert_eq!(b.gather(&[1, 2]).as_ptr(), ptr);
        let last = b.gather(&[3]);
        assert_eq!(last.shape(), &[1, 2, 1]);
        assert_eq!(last.iter().copied().collect::<Vec<_>>(), vec![30.0, 31.0]);
    }

    #[test]
    fn non_contiguous_sources_are_read_in_row_order() {
        let data = Array::from_shape_fn((2, 3), |(i, j)| (10 * i + j) as f64);
        let t = data.t().into_dyn(); // (3, 2), column-major view
        let mut b = Batches::new(t, 3);
        assert_eq!(
            b.gather(&[2, 0, 1]).iter().copied().collect::<Vec<_>>(),
            vec![2.0, 12.0, 0.0, 10.0, 1.0, 11.0]
        );
    }
}
