//! Plain gradient descent: w ← w − lr·g, the report's `update_parameters`.

use std::fmt;

use ndarray::ArrayD;
use nn_core::{Float, Module};

use crate::TrainError;
use crate::optimizer::{Optimizer, check_learning_rate, check_state};

/// Plain SGD: each step calls [`Module::update_parameters`] with the learning
/// rate, so w ← w − lr·g. No state.
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
