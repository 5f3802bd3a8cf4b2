//! Logistic sigmoid, element-wise: y = 1 / (1 + e^−x), ∂y/∂x = y·(1 − y).

use nn_core::Float;

use crate::output_activation::{OutputActivation, OutputRule};

/// Element-wise logistic sigmoid: input of any shape with at least one axis ->
/// output of the same shape. No parameters. Computed without overflow for any |x|.
///
/// The backward pass, y·(1 − y), uses the output kept by the last forward,
/// as every [`OutputActivation`] does.
///
/// ```
/// use ndarray::{arr1, ArrayD};
/// use nn_core::Module;
/// use nn_layers::Sigmoid;
///
/// let mut sigmoid = Sigmoid::new();
/// let x: ArrayD<f64> = arr1(&[0.0, -1000.0, 1000.0]).into_dyn();
/// assert_eq!(sigmoid.forward(x.view())?.as_slice().unwrap(), &[0.5, 0.0, 1.0]);
/// # Ok::<(), nn_core::ShapeError>(())
/// ```
pub type Sigmoid<F = f32> = OutputActivation<F, SigmoidRule>;

/// The rule of [`Sigmoid`]: y = 1 / (1 + e^−x), ∂y/∂x = y·(1 − y).
#[derive(Debug, Clone, Copy, Default)]
pub struct SigmoidRule;

impl OutputRule for SigmoidRule {
    const NOTATION: &'static str = "Sigmoid()";

    fn apply<F: Float>(input: &[F], output: &mut [F]) {
        F::sigmoid_into(input, output);
    }

    fn derivative<F: Float>(y: F) -> F {
        y * (F::one() - y)
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
    fn sigmoid_matches_hand_computed_values() {
        let mut sigmoid = Sigmoid::<f64>::new();
        // ln 3 gives 3/4, −ln 3 gives 1/4.
        let x = array(&[1, 3], &[0.0, 3f64.ln(), -(3f64.ln())]);
        assert_close(sigmoid.forward(x.view()).unwrap(), &[0.5, 0.75, 0.25]);
        let g = sigmoid.backward_delta(x.view(), array(&[1, 3], &[1.0, 2.0, 1.0]).view()).unwrap();
        assert_close(g, &[0.25, 0.375, 0.1875]);
    }

    #[test]
    fn sigmoid_is_finite_for_large_inputs() {
        let mut sigmoid = Sigmoid::<f32>::new();
        let x = array(&[4], &[-1e30, -100.0, 100.0, 1e30]);
        let y = sigmoid.forward(x.view()).unwrap();
        assert!(y.iter().all(|v| v.is_finite()), "{y}");
        assert_close(y, &[0.0, 0.0, 1.0, 1.0]);
        let g = sigmoid.backward_delta(x.view(), x.mapv(|_| 1.0).view()).unwrap();
        assert_close(g, &[0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn sigmoid_displays_in_the_report_notation() {
        assert_eq!(Sigmoid::<f32>::default().to_string(), "Sigmoid()");
    }

    #[test]
    fn sigmoid_reuses_its_buffers() {
        let mut sigmoid = Sigmoid::<f32>::new();
        let x = ArrayD::<f32>::ones(ndarray::IxDyn(&[4, 6]));
        let out = sigmoid.forward(x.view()).unwrap().as_ptr();
        let grad = sigmoid.backward_delta(x.view(), x.view()).unwrap().as_ptr();
        assert_eq!(sigmoid.forward(x.view()).unwrap().as_ptr(), out);
        assert_eq!(sigmoid.backward_delta(x.view(), x.view()).unwrap().as_ptr(), grad);
    }

    #[test]
    fn sigmoid_backward_recomputes_for_a_new_shape() {
        let mut sigmoid = Sigmoid::<f64>::new();
        let x = array(&[2], &[0.0, 0.0]);
        let g = sigmoid.backward_delta(x.view(), x.mapv(|_| 1.0).view()).unwrap();
        assert_close(g, &[0.25, 0.25]);
    }

    #[test]
    fn sigmoid_gradients_match_finite_differences() {
        let mut rng = gradcheck::seeded(12);
        let x = gradcheck::uniform(&[3, 4, 2], -2.0..2.0, &mut rng);
        let report = gradcheck::check(&mut Sigmoid::new(), &x, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
    }

    #[test]
    fn sigmoid_rejects_a_scalar() {
        let err = Sigmoid::<f32>::new().output_shape(&[]).unwrap_err();
        assert_eq!(err.to_string(), "Sigmoid() expects at least 1 axis but receives ()");
    }

    #[test]
    fn sigmoid_rejects_a_delta_of_the_wrong_shape() {
        let mut sigmoid = Sigmoid::<f64>::new();
        let x = array::<f64>(&[2, 2], &[0.0; 4]);
        let delta = array::<f64>(&[4], &[0.0; 4]);
        let err = sigmoid.backward_delta(x.view(), delta.view()).unwrap_err();
        assert_eq!(err.to_string(), "Sigmoid(): delta has shape (4,) but the output has shape (2, 2)");
    }
}
