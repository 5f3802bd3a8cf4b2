//! Named access to parameters and their gradients.
//!
//! Names follow PyTorch's `state_dict()`: a leaf is `weight` or `bias`, a
//! `Sequential` prefixes the module's position (`2.weight`), an `AutoEncoder`
//! prefixes `encoder.` or `decoder.`. Names are built without allocating, so
//! optimizers can visit parameters on every step.

use std::fmt;

use ndarray::{ArrayViewD, ArrayViewMutD};

/// Deepest nesting a name can record; deeper prefixes are dropped (never in practice).
const MAX_DEPTH: usize = 8;

/// One part of a parameter's path: a position in a chain or a field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// Position in a `Sequential`, from 0.
    Index(usize),
    /// A named part, such as `encoder`.
    Name(&'static str),
}

/// The dotted name of a parameter, e.g. `encoder.0.weight`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ParamName {
    prefix: [Segment; MAX_DEPTH],
    depth: usize,
    leaf: &'static str,
}

impl ParamName {
    /// A leaf name as a layer reports it, e.g. `ParamName::leaf("weight")`.
    pub fn leaf(leaf: &'static str) -> Self {
        Self { prefix: [Segment::Index(0); MAX_DEPTH], depth: 0, leaf }
    }

    /// The same name inside a container: `within(Segment::Index(2))` turns `weight` into `2.weight`.
    pub fn within(mut self, segment: Segment) -> Self {
        if self.depth < MAX_DEPTH {
            self.prefix.copy_within(0..self.depth, 1);
            self.prefix[0] = segment;
            self.depth += 1;
        }
        self
    }

    /// The last part, `weight` or `bias`.
    pub fn leaf_name(&self) -> &'static str {
        self.leaf
    }
}

impl fmt::Display for ParamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.prefix[..self.depth] {
            match segment {
                Segment::Index(i) => write!(f, "{i}.")?,
                Segment::Name(n) => write!(f, "{n}.")?,
            }
        }
        f.write_str(self.leaf)
    }
}

impl fmt::Debug for ParamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// A parameter and its accumulated gradient, read-only.
pub struct Parameter<'a, F> {
    /// Its dotted name.
    pub name: ParamName,
    /// Current value, in PyTorch's layout (e.g. Linear weight (out, in)).
    pub value: ArrayViewD<'a, F>,
    /// Gradient accumulated since the last `zero_grad`, same shape as `value`.
    pub grad: ArrayViewD<'a, F>,
}

/// A parameter and its accumulated gradient, writable: what optimizers and loaders use.
pub struct ParameterMut<'a, F> {
    /// Its dotted name.
    pub name: ParamName,
    /// Current value, in PyTorch's layout.
    pub value: ArrayViewMutD<'a, F>,
    /// Gradient accumulated since the last `zero_grad`, same shape as `value`.
    pub grad: ArrayViewMutD<'a, F>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_like_a_state_dict() {
        let name = ParamName::leaf("weight").within(Segment::Index(2)).within(Segment::Name("encoder"));
        assert_eq!(name.to_string(), "encoder.2.weight");
        assert_eq!(ParamName::leaf("bias").to_string(), "bias");
    }
}
