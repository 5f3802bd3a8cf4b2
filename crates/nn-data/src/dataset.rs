//! A labelled data set: one sample per row of `x`, one class label per sample.

use ndarray::{Array2, Axis};

/// The largest number of classes a reader accepts when none is given:
/// labels are below 2²⁴ = 16 777 216 (integers up to there are exact in f32).
pub const MAX_CLASSES: usize = 1 << 24;

/// Samples and their class labels.
///
/// `x` is (samples, features) in f32 (callers wanting f64 use
/// [`to_f64`](Dataset::to_f64) or `mapv`); `labels[i]` is the class of row
/// `i`, in `0..classes`. The readers of this crate uphold both invariants;
/// code building a `Dataset` by hand must too.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The samples, (samples, features).
    pub x: Array2<f32>,
    /// The class of each sample, `labels.len() == x.nrows()`.
    pub labels: Vec<usize>,
    /// The number of classes: every label is below it.
    pub classes: usize,
}

impl Dataset {
    /// A data set with `classes` = the largest label + 1 (0 without samples).
    ///
    /// # Panics
    /// If `labels` and the rows of `x` differ in number.
    pub fn new(x: Array2<f32>, labels: Vec<usize>) -> Self {
        assert_eq!(
            x.nrows(),
            labels.len(),
            "a data set needs one label per row: {} rows but {} labels",
            x.nrows(),
            labels.len()
        );
        let classes = labels.iter().max().map_or(0, |&max| max + 1);
        Self { x, labels, classes }
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The number of features, the columns of `x`.
    pub fn features(&self) -> usize {
        self.x.ncols()
    }

    /// The labels as one-hot rows, (samples, classes): the targets of the losses.
    ///
    /// # Panics
    /// If a label is not below `classes` (a hand-built, inconsistent data set).
    pub fn one_hot(&self) -> Array2<f32> {
        one_hot(&self.labels, self.classes)
    }

    /// How many samples each class has, a vector of length `classes`.
    ///
    /// # Panics
    /// If a label is not below `classes`.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &label in &self.labels {
            counts[label] += 1;
        }
        counts
    }

    /// The samples at `indices`, in that order (repeats allowed), with the
    /// same number of classes: x (indices.len(), features).
    ///
    /// # Panics
    /// If an index is not below [`len`](Dataset::len).
    pub fn select(&self, indices: &[usize]) -> Dataset {
        Dataset {
            x: self.x.select(Axis(0), indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes,
        }
    }

    /// `x` widened to f64, (samples, features), e.g. for gradient checks.
    pub fn to_f64(&self) -> Array2<f64> {
        self.x.mapv(f64::from)
    }
}

/// One-hot rows for `labels`, (labels.len(), classes): row i is 1 in column
/// `labels[i]` and 0 elsewhere.
///
/// ```
/// use ndarray::array;
/// assert_eq!(nn_data::one_hot(&[2, 0], 3), array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]);
/// ```
///
/// # Panics
/// If a label is not below `classes`; the message names both.
pub fn one_hot(labels: &[usize], classes: usize) -> Array2<f32> {
    let mut rows = Array2::zeros((labels.len(), classes));
    for (i, &label) in labels.iter().enumerate() {
        assert!(label < classes, "label {label} of row {i} is out of range (0..{classes})");
        rows[[i, label]] = 1.0;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn small() -> Dataset {
        Dataset::new(array![[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], vec![1, 0, 1])
    }

    #[test]
    fn dataset_reports_its_sizes() {
        let data = small();
        assert_eq!((data.len(), data.features(), data.classes), (3, 2, 2));
        assert!(!data.is_empty());
        assert_eq!(data.class_counts(), vec![1, 2]);
        assert!(Dataset::new(Array2::zeros((0, 4)), vec![]).is_empty());
    }

    #[test]
    fn one_hot_puts_a_single_one_per_row() {
        assert_eq!(small().one_hot(), array![[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]);
        assert_eq!(one_hot(&[], 3).shape(), &[0, 3]);
    }

    #[test]
    #[should_panic(expected = "label 3 of row 1 is out of range (0..3)")]
    fn one_hot_names_a_label_out_of_range() {
        one_hot(&[0, 3], 3);
    }

    #[test]
    fn select_keeps_order_and_classes() {
        let picked = small().select(&[2, 0]);
        assert_eq!(picked.x, array![[4.0, 5.0], [0.0, 1.0]]);
        assert_eq!(picked.labels, vec![1, 1]);
        assert_eq!(picked.classes, 2);
        assert_eq!(small().to_f64()[[1, 1]], 3.0f64);
    }

    #[test]
    #[should_panic(expected = "a data set needs one label per row: 3 rows but 2 labels")]
    fn new_rejects_a_label_count_that_differs_from_the_rows() {
        Dataset::new(Array2::zeros((3, 1)), vec![0, 1]);
    }
}
