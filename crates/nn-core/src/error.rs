//! The error every module and loss returns when a tensor does not fit.

use std::fmt;

/// A tensor a module or loss cannot take.
///
/// Modules check their arguments before any ndarray call, so a shape mistake
/// is this error, naming the layer and both sizes, never a panic deep inside
/// ndarray.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShapeError {
    /// The input does not fit the layer.
    #[error("{layer} expects {expected} but receives {found}")]
    Input {
        /// The layer in the report's notation, e.g. `Linear(310, 10)`.
        layer: String,
        /// What the layer takes, e.g. `310 features`.
        expected: String,
        /// What it was given, e.g. `300`.
        found: String,
    },
    /// `delta` does not have the shape of the layer's output for this input.
    #[error("{layer}: delta has shape {} but the output has shape {}", Dims(found), Dims(expected))]
    Delta {
        /// The layer in the report's notation.
        layer: String,
        /// The output shape `delta` must have.
        expected: Vec<usize>,
        /// The shape `delta` has.
        found: Vec<usize>,
    },
    /// A loss was given a target `y` and a prediction `yhat` that do not match.
    #[error("{loss}: target y has shape {} but prediction yhat has shape {}{hint}", Dims(y), Dims(yhat))]
    Target {
        /// The loss, e.g. `MSELoss()`.
        loss: String,
        /// Shape of the target.
        y: Vec<usize>,
        /// Shape of the prediction.
        yhat: Vec<usize>,
        /// Extra advice, empty or starting with `; `.
        hint: String,
    },
    /// A loss was given a value outside its domain, e.g. a `BCELoss` target of 2.
    #[error("{loss}: {argument} holds {value} at row {row}, column {column}, outside {domain}{hint}")]
    Value {
        /// The loss, e.g. `BCELoss()`.
        loss: String,
        /// Which argument: `target y` or `prediction yhat`.
        argument: &'static str,
        /// The value as printed, e.g. `2` or `NaN`.
        value: String,
        /// Its row (the sample in the batch), counting from 0.
        row: usize,
        /// Its column (the output), counting from 0.
        column: usize,
        /// The values the loss takes, e.g. `[0, 1]`.
        domain: &'static str,
        /// Extra advice, empty or starting with `; `.
        hint: &'static str,
    },
    /// A layer inside a chain (a `Sequential`, an `AutoEncoder`) refused its input.
    #[error("layer {index} of {chain}, {source}{context}")]
    InChain {
        /// Position of the layer in the chain, counting from 0 as state-dict names do.
        index: usize,
        /// The chain, e.g. `Sequential` or `AutoEncoder.decoder`.
        chain: String,
        /// The layer's own error.
        source: Box<ShapeError>,
        /// Where the offending size came from, empty or starting with ` (`.
        context: String,
    },
    /// A network was used before any batch went through it, e.g. `backward` before `forward`.
    #[error("{layer}: {what}")]
    Order {
        /// The module or loss.
        layer: String,
        /// What was called out of order.
        what: String,
    },
}

/// Formats a shape as `(2, 3)`, the way the messages print them.
#[derive(Debug, Clone, Copy)]
pub struct Dims<'a>(pub &'a [usize]);

impl fmt::Display for Dims<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() == 1 {
            f.write_str(",")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_error_names_layer_and_both_sizes() {
        let err = ShapeError::Input {
            layer: "Linear(310, 10)".into(),
            expected: "310 features".into(),
            found: "300".into(),
        };
        assert_eq!(err.to_string(), "Linear(310, 10) expects 310 features but receives 300");
    }

    #[test]
    fn value_error_names_loss_argument_value_and_place() {
        let err = ShapeError::Value {
            loss: "BCELoss()".into(),
            argument: "target y",
            value: "2".into(),
            row: 3,
            column: 1,
            domain: "[0, 1]",
            hint: "; scale the targets into [0, 1]",
        };
        assert_eq!(
            err.to_string(),
            "BCELoss(): target y holds 2 at row 3, column 1, outside [0, 1]; scale the targets into [0, 1]"
        );
    }

    #[test]
    fn dims_print_like_tuples() {
        assert_eq!(Dims(&[2, 3]).to_string(), "(2, 3)");
        assert_eq!(Dims(&[4]).to_string(), "(4,)");
        assert_eq!(Dims(&[]).to_string(), "()");
    }
}
