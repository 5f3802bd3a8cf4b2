//! Plain gradient descent: w ← w − lr·g, the report's `update_parameters`.

use std::fmt;

use ndarray::ArrayD;
use nn_core::{Float, Module};

use crate::optimizer::{
    Optimizer, apply_stateless, check_learning_rate, check_state, check_stateless, first_non_finite,
};
use crate::{NonFinite, TrainError};

/// Plain SGD: each step calls [`Module::update_parameters`] with the learning
/// rate, so w ← w − lr·g. No state.
///
/// [`checked_step`](Optimizer::checked_step) computes the same w − lr·g
/// itself, through [`Module::visit_parameters_mut`] (as the default
/// `update_parameters` does), so that it can check before it writes.
#[derive(Debug, Clone)]
pub struct Sgd {
    learning_rate: f64,
    steps: u64,
}

impl Sgd {
    /// SGD with `learning_rate`.
    ///
    /// # Errors
    /// [`TrainError::LearningRate`] unless `learning_rate` is positive and finite.
    pub fn new(learning_rate: f64) -> Result<Self, TrainError> {
        Ok(Self { learning_rate: check_learning_rate(learning_rate)?, steps: 0 })
    }
}

impl<F: Float> Optimizer<F> for Sgd {
    fn step(&mut self, module: &mut dyn Module<F>) {
        module.update_parameters(F::of_f64(self.learning_rate));
        self.steps += 1;
    }

    fn checked_step(
        &mut self,
        module: &mut dyn Module<F>,
        _undo: &mut Vec<ArrayD<F>>,
    ) -> Result<(), NonFinite> {
        let lr = F::of_f64(self.learning_rate);
        // As the default `update_parameters`: `*w -= lr * g`.
        let update = |w: F, g: F| w - lr * g;
        if let Err(cause) = first_non_finite(module, |_, p| check_stateless(p, update)) {
            module.zero_grad();
            return Err(cause);
        }
        module.visit_parameters_mut(&mut |p| apply_stateless(p, update));
        self.steps += 1;
        Ok(())
    }

    fn fused_learning_rate(&self) -> Option<f64> {
        Some(self.learning_rate)
    }

    fn record_fused_step(&mut self) {
        self.steps += 1;
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), TrainError> {
        self.learning_rate = check_learning_rate(learning_rate)?;
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn load_state(&mut self, steps: u64, state: Vec<Vec<ArrayD<F>>>) -> Result<(), TrainError> {
        check_state(self, &[], &state)?;
        self.steps = steps;
        Ok(())
    }
}

impl fmt::Display for Sgd {
    /// `SGD(lr=0.1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SGD(lr={})", self.learning_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::Params;

    #[test]
    fn sgd_moves_against_the_gradient() {
        let mut m = Params::new(&[1.0, -2.0], &[0.5, 0.25]);
        let mut opt = Sgd::new(0.1).unwrap();
        Optimizer::<f64>::step(&mut opt, &mut m);
        assert_eq!(m.values(), vec![1.0 - 0.05, -2.0 - 0.025]);
        assert_eq!(Optimizer::<f64>::steps(&opt), 1);
    }

    #[test]
    fn sgd_has_no_state_but_a_step_count() {
        let mut opt = Sgd::new(0.1).unwrap();
        assert!(Optimizer::<f32>::state(&opt).is_empty());
        Optimizer::<f32>::load_state(&mut opt, 7, vec![]).unwrap();
        assert_eq!(Optimizer::<f32>::steps(&opt), 7);
        let err = Optimizer::<f32>::load_state(&mut opt, 1, vec![vec![]]).unwrap_err();
        assert_eq!(err.to_string(), "SGD(lr=0.1) cannot take this state: expected 0 state lists (), got 1");
    }
}
