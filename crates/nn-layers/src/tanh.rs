//! Hyperbolic tangent, element-wise: y = tanh(x), ∂y/∂x = 1 − y².

use nn_core::Float;

use crate::output_activation::{OutputActivation, OutputRule};

/// Element-wise tanh: input of any shape with at least one axis -> output of the same shape.
/// No parameters.
///
/// The backward pass, 1 − y², uses the output kept by the last forward,
/// as every [`OutputActivation`] does.
///
/// ```
/// use ndarray::{arr1, ArrayD};
/// use nn_core::Module;
/// use nn_layers::TanH;
///
/// let mut tanh = TanH::new();
/// let x: ArrayD<f64> = arr1(&[0.0, 1.0]).into_dyn();
/// assert_eq!(tanh.forward(x.view())?.as_slice().unwrap(), &[0.0, 1f64.tanh()]);
/// # Ok::<(), nn_core::ShapeError>(())
/// ```
pub type TanH<F = f32> = OutputActivation<F, TanhRule>;

/// The rule of [`TanH`]: y = tanh(x), ∂y/∂x = 1 − y².
#[derive(Debug, Clone, Copy, Default)]
pub struct TanhRule;

impl OutputRule for TanhRule {
    const NOTATION: &'static str = "TanH()";

    fn apply<F: Float>(input: &[F], output: &mut [F]) {
        F::tanh_into(input, output);
    }

    fn derivative<F: Float>(y: F) -> F {
        F::one() - y * y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{array, assert_close};
    use ndarray::ArrayD;
    use nn_core::Module;
    use nn_core::gradcheck;

    #[test]
    fn tanh_matches_hand_computed_values() {
        let mut tanh = TanH::<f64>::new();
        let x = array(&[1, 3], &[0.0, 0.5f64.atanh(), -1000.0]);
        assert_close(tanh.forward(x.view()).unwrap(), &[0.0, 0.5, -1.0]);
        let g = tanh.backward_delta(x.view(), array(&[1, 3], &[1.0, 2.0, 1.0]).view()).unwrap();
        assert_close(g, &[1.0, 1.5, 0.0]);
    }

    #[test]
    fn tanh_displays_in_the_report_notation() {
        assert_eq!(TanH::<f32>::default().to_string(), "TanH()");
    }

    #[test]
    fn tanh_reuses_its_buffers() {
        let mut tanh = TanH::<f32>::new();
        let x = ArrayD::<f32>::ones(ndarray::IxDyn(&[4, 6]));
        let out = tanh.forward(x.view()).unwrap().as_ptr();
        let grad = tanh.backward_delta(x.view(), x.view()).unwrap().as_ptr();
        assert_eq!(tanh.forward(x.view()).unwrap().as_ptr(), out);
        assert_eq!(tanh.backward_delta(x.view(), x.view()).unwrap().as_ptr(), grad);
    }

    #[test]
    fn tanh_backward_recomputes_for_a_new_shape() {
        let mut tanh = TanH::<f64>::new();
        let x = array(&[2], &[0.0, 0.0]);
        let g = tanh.backward_delta(x.view(), x.mapv(|_| 1.0).view()).unwrap();
        assert_close(g, &[1.0, 1.0]);
    }

    #[test]
    fn tanh_gradients_match_finite_differences() {
        let mut rng = gradcheck::seeded(12);
        let x = gradcheck::uniform(&[3, 4, 2], -2.0..2.0, &mut rng);
        let report = gradcheck::check(&mut TanH::new(), &x, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
    }

    #[test]
    fn tanh_rejects_a_scalar() {
        let err = TanH::<f32>::new().output_shape(&[]).unwrap_err();
        assert_eq!(err.to_string(), "TanH() expects at least 1 axis but receives ()");
    }

    #[test]
    fn tanh_rejects_a_delta_of_the_wrong_shape() {
        let mut tanh = TanH::<f64>::new();
        let x = array::<f64>(&[2, 2], &[0.0; 4]);
        let delta = array::<f64>(&[4], &[0.0; 4]);
        let err = tanh.backward_delta(x.view(), delta.view()).unwrap_err();
        assert_eq!(err.to_string(), "TanH(): delta has shape (4,) but the output has shape (2, 2)");
    }
}
