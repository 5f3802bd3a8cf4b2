//! Seeded weight initialisation.
//!
//! Every constructor takes the random generator it draws from, so a seed fixes
//! a network's starting point. Each layer documents which scheme it uses by default.

use ndarray::{ArrayD, IxDyn};
use rand::{Rng, RngExt};

use crate::Float;

/// How a layer draws its starting weights; `fan_in` and `fan_out` count the
/// inputs and outputs of one unit (for Conv1D, `chan_in × k_size` and `chan_out × k_size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Init {
    /// U(−k, k) with k = 1/√fan_in for weights and bias: the Torch7 and PyTorch default.
    #[default]
    TorchDefault,
    /// Glorot/Xavier: U(−k, k) with k = √(6 / (fan_in + fan_out)); bias zero. Suits TanH and Sigmoid.
    XavierUniform,
    /// He/Kaiming: U(−k, k) with k = √(6 / fan_in); bias zero. Suits ReLU.
    HeUniform,
}

impl Init {
    /// The bound k of the weights' uniform distribution.
    pub fn weight_bound(self, fan_in: usize, fan_out: usize) -> f64 {
        match self {
            Init::TorchDefault => 1.0 / (fan_in as f64).sqrt(),
            Init::XavierUniform => (6.0 / (fan_in + fan_out) as f64).sqrt(),
            Init::HeUniform => (6.0 / fan_in as f64).sqrt(),
        }
    }

    /// The bound of the bias's uniform distribution (0: the bias starts at zero).
    pub fn bias_bound(self, fan_in: usize) -> f64 {
        match self {
            Init::TorchDefault => 1.0 / (fan_in as f64).sqrt(),
            Init::XavierUniform | Init::HeUniform => 0.0,
        }
    }
}

/// An array of `shape` drawn from U(−bound, bound), in row-major order.
///
/// Values are drawn in f64 and rounded, so an f32 and an f64 network built
/// from the same seed start from the same weights (up to rounding).
pub fn uniform<F: Float, R: Rng + ?Sized>(shape: &[usize], bound: f64, rng: &mut R) -> ArrayD<F> {
    if bound == 0.0 {
        return ArrayD::zeros(IxDyn(shape));
    }
    ArrayD::from_shape_simple_fn(IxDyn(shape), || F::of_f64(rng.random_range(-bound..bound)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn same_seed_same_weights() {
        let a: ArrayD<f32> = uniform(&[3, 4], 0.5, &mut StdRng::seed_from_u64(7));
        let b: ArrayD<f32> = uniform(&[3, 4], 0.5, &mut StdRng::seed_from_u64(7));
        assert_eq!(a, b);
        assert!(a.iter().all(|v| v.abs() < 0.5));
    }

    #[test]
    fn bounds_follow_the_documented_formulas() {
        assert_eq!(Init::TorchDefault.weight_bound(64, 10), 0.125);
        assert_eq!(Init::HeUniform.weight_bound(6, 1), 1.0);
        assert_eq!(Init::XavierUniform.weight_bound(2, 4), 1.0);
        assert_eq!(Init::XavierUniform.bias_bound(2), 0.0);
    }
}
