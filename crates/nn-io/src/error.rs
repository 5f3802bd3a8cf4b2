//! `IoError`: everything that can go wrong reading or writing a model file.

use std::fmt;
use std::path::PathBuf;

use nn_core::Dims;

/// A model file that cannot be written, read, or loaded into a module.
///
/// Every message names the file. Nothing in this crate panics on a bad file:
/// a truncated, corrupt or foreign file is [`IoError::Corrupt`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The file cannot be read (missing, no permission, …).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// The file cannot be written; an existing file at `path` is left as it was.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// The bytes are not a valid safetensors file: truncated, garbage header,
    /// header length past the end, invalid JSON, offsets that do not add up.
    #[error("{} is not a valid safetensors file: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, e.g. `the header length is 4096 bytes but only 120 bytes follow (truncated?)`.
        reason: String,
    },
    /// A tensor's element type is not the model's: no silent conversion.
    #[error(
        "{}: tensor {tensor} is {file} but the model computes in {model}; build the model in {file} or convert the file",
        path.display()
    )]
    DType {
        /// The file.
        path: PathBuf,
        /// The first tensor (in name order) of another type.
        tensor: String,
        /// Its element type in lower case, e.g. `f64`, `f16`, `i64`.
        file: String,
        /// The model's element type, `f32` or `f64`.
        model: &'static str,
    },
    /// The tensors in the file are not the model's parameters: all the
    /// problems are listed at once.
    #[error("{} does not fit the model: {}", path.display(), MismatchList { missing, unexpected, shapes })]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// Parameters of the model with no tensor in the file, in the model's order.
        missing: Vec<String>,
        /// Tensors in the file that are no parameter of the model, in name order.
        unexpected: Vec<String>,
        /// Parameters whose tensor has another shape, in the model's order.
        shapes: Vec<ShapeMismatch>,
    },
    /// A tensor holds a NaN or an infinity: a model that computes nothing but
    /// NaN, or an optimizer state that would make every step NaN, is refused
    /// when it is read rather than found out by its outputs.
    #[error(
        "{}: tensor {tensor} holds a non-finite value ({value}) at index {}",
        path.display(),
        Index(index)
    )]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The first tensor (in name order) holding one.
        tensor: String,
        /// The first such value in row-major order: NaN, inf or -inf.
        value: f64,
        /// Its position in the tensor, one coordinate per dimension.
        index: Vec<usize>,
    },
    /// Two tensors to be saved have the same name.
    #[error("cannot write {}: two tensors are named {name}", path.display())]
    DuplicateName {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        name: String,
    },
}

/// A parameter whose tensor in the file has another shape.
///
/// Displays as `0.weight: file (10, 64) vs model (100, 64)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// The parameter's name, e.g. `0.weight`.
    pub name: String,
    /// The shape in the file.
    pub file: Vec<usize>,
    /// The shape the model has.
    pub model: Vec<usize>,
}

impl fmt::Display for ShapeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: file {} vs model {}", self.name, Dims(&self.file), Dims(&self.model))
    }
}

/// A position in a tensor: `3` in a vector, `(2, 5)` in a matrix, `()` in a scalar.
struct Index<'a>(&'a [usize]);

impl fmt::Display for Index<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [i] => write!(f, "{i}"),
            index => write!(f, "{}", Dims(index)),
        }
    }
}

/// The body of [`IoError::Mismatch`]: `missing a, b; unexpected c; d: file (1,) vs model (2,)`.
struct MismatchList<'a> {
    missing: &'a [String],
    unexpected: &'a [String],
    shapes: &'a [ShapeMismatch],
}

impl fmt::Display for MismatchList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!("missing {}", self.missing.join(", ")));
        }
        if !self.unexpected.is_empty() {
            parts.push(format!("unexpected {}", self.unexpected.join(", ")));
        }
        parts.extend(self.shapes.iter().map(ShapeMismatch::to_string));
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_lists_every_problem_on_one_line() {
        let err = IoError::Mismatch {
            path: "m.safetensors".into(),
            missing: vec!["2.weight".into(), "2.bias".into()],
            unexpected: vec!["4.bias".into()],
            shapes: vec![ShapeMismatch { name: "0.weight".into(), file: vec![10, 64], model: vec![100, 64] }],
        };
        assert_eq!(
            err.to_string(),
            "m.safetensors does not fit the model: missing 2.weight, 2.bias; unexpected 4.bias; 0.weight: file (10, 64) vs model (100, 64)"
        );
    }

    #[test]
    fn non_finite_values_are_named_with_their_index() {
        let err = |value: f64, index: Vec<usize>| {
            IoError::NonFinite { path: "m.safetensors".into(), tensor: "0.weight".into(), value, index }
                .to_string()
        };
        assert_eq!(
            err(f64::NAN, vec![3]),
            "m.safetensors: tensor 0.weight holds a non-finite value (NaN) at index 3"
        );
        assert_eq!(
            err(f64::INFINITY, vec![2, 5]),
            "m.safetensors: tensor 0.weight holds a non-finite value (inf) at index (2, 5)"
        );
        assert_eq!(
            err(f64::NEG_INFINITY, vec![]),
            "m.safetensors: tensor 0.weight holds a non-finite value (-inf) at index ()"
        );
    }

    #[test]
    fn the_error_stays_small_enough_to_return() {
        assert!(std::mem::size_of::<IoError>() <= 104, "{}", std::mem::size_of::<IoError>());
    }
}
