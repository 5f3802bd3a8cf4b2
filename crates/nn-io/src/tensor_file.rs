//! `TensorFile`: every tensor of a file, by name, with its metadata.

use std::collections::BTreeMap;

use ndarray::ArrayD;

use crate::Metadata;

/// The contents of a safetensors file whose tensors all have the element type `F`.
///
/// What [`load_tensors`](crate::load_tensors) returns: for checkpoints
/// (parameters plus optimizer state), tests, and tools.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorFile<F> {
    /// The tensors by name (e.g. `0.weight` (out, in)), in name order.
    pub tensors: BTreeMap<String, ArrayD<F>>,
    /// The file's `__metadata__` (empty if it has none).
    pub metadata: Metadata,
}
