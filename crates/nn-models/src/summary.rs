//! The layer table of a network: output shape and parameter count of each layer.

use std::fmt;

use nn_core::Dims;

/// One line of a [`Summary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    /// Position, as in parameter names: `3`, or `encoder.1` inside an AutoEncoder.
    pub index: String,
    /// The layer in the report's notation.
    pub layer: String,
    /// Its output shape, batch first.
    pub output_shape: Vec<usize>,
    /// Its number of scalar parameters.
    pub parameters: usize,
}

/// What `summary(input_shape)` returns: each layer with its output shape and
/// parameter count, printed as an aligned table with the total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The input shape the table was computed for.
    pub input_shape: Vec<usize>,
    /// One row per layer, in order.
    pub rows: Vec<SummaryRow>,
}

impl Summary {
    pub(crate) fn new(input_shape: &[usize]) -> Self {
        Self { input_shape: input_shape.to_vec(), rows: Vec::new() }
    }

    pub(crate) fn push(&mut self, index: String, layer: String, output_shape: Vec<usize>, parameters: usize) {
        self.rows.push(SummaryRow { index, layer, output_shape, parameters });
    }

    /// Parameters of the whole network.
    pub fn total_parameters(&self) -> usize {
        self.rows.iter().map(|r| r.parameters).sum()
    }

    /// The network's output shape (the input shape for an empty network).
    pub fn output_shape(&self) -> &[usize] {
        self.rows.last().map_or(&self.input_shape, |r| &r.output_shape)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shapes: Vec<String> = self.rows.iter().map(|r| Dims(&r.output_shape).to_string()).collect();
        let index_w = self.rows.iter().map(|r| r.index.len()).chain([1]).max().unwrap_or(1);
        let layer_w = self.rows.iter().map(|r| r.layer.len()).chain([5]).max().unwrap_or(5);
        let shape_w = shapes.iter().map(String::len).chain([12]).max().unwrap_or(12);
        writeln!(
            f,
            "{:<index_w$}  {:<layer_w$}  {:<shape_w$}  {:>10}",
            "#", "layer", "output shape", "parameters"
        )?;
        writeln!(
            f,
            "{:<index_w$}  {:<layer_w$}  {:<shape_w$}  {:>10}",
            "",
            "input",
            Dims(&self.input_shape).to_string(),
            ""
        )?;
        for (row, shape) in self.rows.iter().zip(&shapes) {
            writeln!(
                f,
                "{:<index_w$}  {:<layer_w$}  {:<shape_w$}  {:>10}",
                row.index, row.layer, shape, row.parameters
            )?;
        }
        write!(f, "total parameters: {}", self.total_parameters())
    }
}
