//! SGD with momentum, PyTorch's formulation: v ← μ·v + g, w ← w − lr·v.

use std::fmt;

use ndarray::{ArrayD, Zip};
use nn_core::{Float, Module};

use crate::optimizer::{
    Optimizer, apply_with_state, check_learning_rate, check_state, check_with_state, first_non_finite,
    state_for,
};
use crate::{NonFinite, TrainError};

/// SGD with momentum as `torch.optim.SGD(momentum=μ)` (no dampening, no
/// Nesterov): v ← μ·v + g, then w ← w − lr·v, with v = g on the first step.
///
/// One velocity per parameter, in [`Module::visit_parameters_mut`] order,
/// allocated on the first step.
#[derive(Debug, Clone)]
pub struct Momentum<F: Float = f32> {
    learning_rate: f64,
    momentum: f64,
    velocity: Vec<ArrayD<F>>,
    steps: u64,
}

impl<F: Float> Momentum<F> {
    /// SGD with `learning_rate` and `momentum` μ.
    ///
    /// # Errors
    /// [`TrainError::LearningRate`] unless `learning_rate` is positive and
    /// finite; [`TrainError::Momentum`] unless `momentum` is in [0, 1).
    pub fn new(learning_rate: f64, momentum: f64) -> Result<Self, TrainError> {
        if !(0.0..1.0).contains(&momentum) {
            return Err(TrainError::Momentum(momentum));
        }
        Ok(Self {
            learning_rate: check_learning_rate(learning_rate)?,
            momentum,
            velocity: Vec::new(),
            steps: 0,
        })
    }

    /// μ.
    pub fn momentum(&self) -> f64 {
        self.momentum
    }

    /// The velocities, one per parameter in visiting order (empty before the first step).
    pub fn velocity(&self) -> &[ArrayD<F>] {
        &self.velocity
    }
}

/// Makes `state[index]` a zero array shaped like `shape`, allocating only on
/// the first step (or when the module's parameters changed).
pub(crate) fn state_slot<'a, F: Float>(
    state: &'a mut Vec<ArrayD<F>>,
    index: usize,
    shape: &[usize],
) -> &'a mut ArrayD<F> {
    if index == state.len() {
        state.push(ArrayD::zeros(shape));
    } else if state[index].shape() != shape {
        state[index] = ArrayD::zeros(shape);
    }
    &mut state[index]
}

impl<F: Float> Momentum<F> {
    /// One element's update, (w, v, g) ↦ (w', v'): the arithmetic both
    /// [`Optimizer::step`] and [`Optimizer::checked_step`] run.
    fn update(&self) -> impl Fn(F, F, F) -> (F, F) + Copy + use<F> {
        let lr = F::of_f64(self.learning_rate);
        let mu = F::of_f64(self.momentum);
        move |w, v, g| {
            let v = mu * v + g;
            (w - lr * v, v)
        }
    }
}

impl<F: Float> Optimizer<F> for Momentum<F> {
    fn step(&mut self, module: &mut dyn Module<F>) {
        let update = self.update();
        let mut index = 0;
        let velocity = &mut self.velocity;
        module.visit_parameters_mut(&mut |p| {
            let v = state_slot(velocity, index, p.value.shape());
            index += 1;
            Zip::from(p.value).and(v).and(&p.grad).for_each(|w, v, &g| (*w, *v) = update(*w, *v, g));
        });
        velocity.truncate(index);
        self.steps += 1;
    }

    fn checked_step(
        &mut self,
        module: &mut dyn Module<F>,
        _undo: &mut Vec<ArrayD<F>>,
    ) -> Result<(), NonFinite> {
        let update = self.update();
        let velocity = &mut self.velocity;
        let checked = first_non_finite(module, |index, p| {
            check_with_state(p, state_for(velocity, index, &p.value), |w, v, g| update(w, v, g).0)
        });
        if let Err(cause) = checked {
            module.zero_grad();
            return Err(cause);
        }
        let mut index = 0;
        module.visit_parameters_mut(&mut |p| {
            let v = state_slot(velocity, index, p.value.shape());
            index += 1;
            apply_with_state(p, v, update);
        });
        velocity.truncate(index);
        self.steps += 1;
        Ok(())
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

    fn state_names(&self) -> &'static [&'static str] {
        &["velocity"]
    }

    fn state(&self) -> Vec<&[ArrayD<F>]> {
        vec![&self.velocity]
    }

    fn load_state(&mut self, steps: u64, state: Vec<Vec<ArrayD<F>>>) -> Result<(), TrainError> {
        check_state(self, Optimizer::<F>::state_names(self), &state)?;
        self.velocity = state.into_iter().next().unwrap_or_default();
        self.steps = steps;
        Ok(())
    }
}

impl<F: Float> fmt::Display for Momentum<F> {
    /// `Momentum(lr=0.1, momentum=0.9)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Momentum(lr={}, momentum={})", self.learning_rate, self.momentum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::Params;

    #[test]
    fn momentum_matches_two_hand_computed_steps() {
        // lr 0.1, μ 0.9, w = [1, -2], g = [0.5, 0.25] then [1, -1].
        let mut m = Params::new(&[1.0, -2.0], &[0.5, 0.25]);
        let mut opt = Momentum::<f64>::new(0.1, 0.9).unwrap();
        opt.step(&mut m);
        // v = g = [0.5, 0.25]; w = [1 - 0.05, -2 - 0.025]
        assert_eq!(m.values(), vec![0.95, -2.025]);
        m.set_grads(&[1.0, -1.0]);
        opt.step(&mut m);
        // v = 0.9·[0.5, 0.25] + [1, -1] = [1.45, -0.775]; w -= 0.1·v
        let w = m.values();
        assert!((w[0] - (0.95 - 0.145)).abs() < 1e-15, "{w:?}");
        assert!((w[1] - (-2.025 + 0.0775)).abs() < 1e-15, "{w:?}");
        assert!((opt.velocity()[0][[0]] - 1.45).abs() < 1e-15);
    }

    #[test]
    fn a_loaded_state_continues_exactly() {
        let mut a = Params::new(&[1.0, -2.0], &[0.5, 0.25]);
        let mut opt = Momentum::<f64>::new(0.1, 0.9).unwrap();
        opt.step(&mut a);
        let state: Vec<Vec<ArrayD<f64>>> = opt.state().into_iter().map(<[_]>::to_vec).collect();
        let mut b = Params::new(&a.values(), &[0.5, 0.25]);
        let mut resumed = Momentum::<f64>::new(0.1, 0.9).unwrap();
        resumed.load_state(opt.steps(), state).unwrap();
        opt.step(&mut a);
        resumed.step(&mut b);
        assert_eq!(a.values(), b.values());
        assert_eq!(resumed.steps(), 2);
        assert_eq!(opt.state_names(), &["velocity"]);
    }

    #[test]
    fn momentum_zero_is_plain_sgd() {
        let mut a = Params::new(&[1.0, -2.0], &[0.5, 0.25]);
        let mut b = Params::new(&[1.0, -2.0], &[0.5, 0.25]);
        let mut opt = Momentum::<f64>::new(0.1, 0.0).unwrap();
        opt.step(&mut a);
        b.update_parameters(0.1);
        assert_eq!(a.values(), b.values());
    }

    #[test]
    fn momentum_out_of_range_message() {
        let err = Momentum::<f32>::new(0.1, -0.5).unwrap_err();
        assert_eq!(err.to_string(), "momentum must be in [0, 1), got -0.5");
    }

    #[test]
    fn state_is_allocated_on_the_first_step_only() {
        let mut m = Params::new(&[1.0, -2.0], &[0.5, 0.25]);
        let mut opt = Momentum::<f64>::new(0.1, 0.9).unwrap();
        opt.step(&mut m);
        let ptr = opt.velocity()[0].as_ptr();
        opt.step(&mut m);
        assert_eq!(ptr, opt.velocity()[0].as_ptr());
    }
}
