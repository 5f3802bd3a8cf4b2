//! Adam (Kingma & Ba), as `torch.optim.Adam` with its defaults.

use std::fmt;

use ndarray::{ArrayD, Zip};
use nn_core::{Float, Module};

use crate::momentum::state_slot;
use crate::optimizer::{
    Optimizer, apply_with_states, check_learning_rate, check_state, check_with_states, first_non_finite,
    state_for,
};
use crate::{NonFinite, TrainError};

/// Adam with bias correction, PyTorch's formulation: at step t,
/// m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g²,
/// w ← w − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε).
///
/// Defaults β1 = 0.9, β2 = 0.999, ε = 1e-8. Moments are kept per parameter,
/// in [`Module::visit_parameters_mut`] order, allocated on the first step.
#[derive(Debug, Clone)]
pub struct Adam<F: Float = f32> {
    learning_rate: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    first_moment: Vec<ArrayD<F>>,
    second_moment: Vec<ArrayD<F>>,
    steps: u64,
}

impl<F: Float> Adam<F> {
    /// Adam with `learning_rate` and PyTorch's defaults (β1 0.9, β2 0.999, ε 1e-8).
    ///
    /// # Errors
    /// [`TrainError::LearningRate`] unless `learning_rate` is positive and finite.
    pub fn new(learning_rate: f64) -> Result<Self, TrainError> {
        Ok(Self {
            learning_rate: check_learning_rate(learning_rate)?,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            first_moment: Vec::new(),
            second_moment: Vec::new(),
            steps: 0,
        })
    }

    /// The moments m and v, one per parameter in visiting order (empty before the first step).
    pub fn moments(&self) -> (&[ArrayD<F>], &[ArrayD<F>]) {
        (&self.first_moment, &self.second_moment)
    }
}

impl<F: Float> Adam<F> {
    /// One element's update at step `steps` (from 1), (w, m, v, g) ↦ (w', m',
    /// v'): the arithmetic both [`Optimizer::step`] and
    /// [`Optimizer::checked_step`] run.
    fn update(&self, steps: u64) -> impl Fn(F, F, F, F) -> (F, F, F) + Copy + use<F> {
        let t = i32::try_from(steps).unwrap_or(i32::MAX);
        // Bias corrections in f64, as PyTorch computes them in Python floats.
        let step_size = F::of_f64(self.learning_rate / (1.0 - self.beta1.powi(t)));
        let sqrt_c2 = F::of_f64((1.0 - self.beta2.powi(t)).sqrt());
        let (b1, b2, eps) = (F::of_f64(self.beta1), F::of_f64(self.beta2), F::of_f64(self.eps));
        let (one_b1, one_b2) = (F::one() - b1, F::one() - b2);
        move |w, m, v, g| {
            let m = b1 * m + one_b1 * g;
            let v = b2 * v + one_b2 * g * g;
            (w - step_size * m / (v.sqrt() / sqrt_c2 + eps), m, v)
        }
    }
}

impl<F: Float> Optimizer<F> for Adam<F> {
    fn step(&mut self, module: &mut dyn Module<F>) {
        self.steps += 1;
        let update = self.update(self.steps);
        let (ms, vs) = (&mut self.first_moment, &mut self.second_moment);
        let mut index = 0;
        module.visit_parameters_mut(&mut |p| {
            let m = state_slot(ms, index, p.value.shape());
            let v = state_slot(vs, index, p.value.shape());
            index += 1;
            Zip::from(p.value)
                .and(m)
                .and(v)
                .and(&p.grad)
                .for_each(|w, m, v, &g| (*w, *m, *v) = update(*w, *m, *v, g));
        });
        ms.truncate(index);
        vs.truncate(index);
    }

    fn checked_step(
        &mut self,
        module: &mut dyn Module<F>,
        _undo: &mut Vec<ArrayD<F>>,
    ) -> Result<(), NonFinite> {
        let update = self.update(self.steps + 1);
        let (ms, vs) = (&mut self.first_moment, &mut self.second_moment);
        let checked = first_non_finite(module, |index, p| {
            let states = (state_for(ms, index, &p.value), state_for(vs, index, &p.value));
            check_with_states(p, states, |w, m, v, g| update(w, m, v, g).0)
        });
        if let Err(cause) = checked {
            module.zero_grad();
            return Err(cause);
        }
        let mut index = 0;
        module.visit_parameters_mut(&mut |p| {
            let m = state_slot(ms, index, p.value.shape());
            let v = state_slot(vs, index, p.value.shape());
            index += 1;
            apply_with_states(p, (m, v), update);
        });
        ms.truncate(index);
        vs.truncate(index);
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
        &["exp_avg", "exp_avg_sq"]
    }

    fn state(&self) -> Vec<&[ArrayD<F>]> {
        vec![&self.first_moment, &self.second_moment]
    }

    fn load_state(&mut self, steps: u64, state: Vec<Vec<ArrayD<F>>>) -> Result<(), TrainError> {
        check_state(self, Optimizer::<F>::state_names(self), &state)?;
        let mut lists = state.into_iter();
        self.first_moment = lists.next().unwrap_or_default();
        self.second_moment = lists.next().unwrap_or_default();
        self.steps = steps;
        Ok(())
    }
}

impl<F: Float> fmt::Display for Adam<F> {
    /// `Adam(lr=0.001, betas=(0.9, 0.999), eps=0.00000001)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Adam(lr={}, betas=({}, {}), eps={})", self.learning_rate, self.beta1, self.beta2, self.eps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::Params;

    #[test]
    fn adam_matches_two_hand_computed_steps() {
        // lr 0.1; w = [1, -2]; g1 = [0.5, 0.25], g2 = [1, -1].
        let mut p = Params::new(&[1.0, -2.0], &[0.5, 0.25]);
        let mut opt = Adam::<f64>::new(0.1).unwrap();
        opt.step(&mut p);
        // Step 1: m̂ = g, v̂ = g², so w -= lr·g/(|g| + ε) ≈ lr·sign(g).
        let w1 = p.values();
        let expect1 = [1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 - 0.1 * 0.25 / (0.25 + 1e-8)];
        for (a, b) in w1.iter().zip(expect1) {
            assert!((a - b).abs() < 1e-12, "{w1:?}");
        }
        p.set_grads(&[1.0, -1.0]);
        opt.step(&mut p);
        // Step 2 by hand for each coordinate.
        let w2 = p.values();
        for (i, (g1, g2)) in [(0.5, 1.0), (0.25, -1.0)].into_iter().enumerate() {
            let m: f64 = 0.9 * (0.1 * g1) + 0.1 * g2;
            let v: f64 = 0.999 * (0.001 * g1 * g1) + 0.001 * g2 * g2;
            let m_hat = m / (1.0 - 0.81);
            let v_hat = v / (1.0 - 0.998001);
            let expect = expect1[i] - 0.1 * m_hat / (v_hat.sqrt() + 1e-8);
            assert!((w2[i] - expect).abs() < 1e-12, "{i}: {} vs {expect}", w2[i]);
        }
        assert_eq!(opt.steps(), 2);
    }

    #[test]
    fn a_loaded_state_continues_exactly_with_its_bias_correction() {
        let mut a = Params::<f32>::new(&[1.0, -2.0], &[0.5, 0.25]);
        let mut opt = Adam::<f32>::new(0.01).unwrap();
        for _ in 0..3 {
            opt.step(&mut a);
        }
        let state: Vec<Vec<ArrayD<f32>>> = opt.state().into_iter().map(<[_]>::to_vec).collect();
        let mut resumed = Adam::<f32>::new(0.01).unwrap();
        resumed.load_state(opt.steps(), state).unwrap();
        let mut b = Params::<f32>::new(&[0.0, 0.0], &[0.5, 0.25]);
        b.visit_parameters_mut(&mut |mut p| p.value.assign(&ndarray::arr1(&a.values()).into_dyn()));
        for _ in 0..2 {
            opt.step(&mut a);
            resumed.step(&mut b);
        }
        assert_eq!(a.values(), b.values());
        assert_eq!(resumed.steps(), 5);
        let err = resumed.load_state(1, vec![vec![]]).unwrap_err();
        assert!(err.to_string().ends_with("expected 2 state lists (exp_avg, exp_avg_sq), got 1"), "{err}");
    }

    #[test]
    fn adam_in_f32_follows_f64() {
        let mut a = Params::<f32>::new(&[1.0, -2.0], &[0.5, 0.25]);
        let mut b = Params::<f64>::new(&[1.0, -2.0], &[0.5, 0.25]);
        let (mut oa, mut ob) = (Adam::<f32>::new(0.01).unwrap(), Adam::<f64>::new(0.01).unwrap());
        for _ in 0..3 {
            oa.step(&mut a);
            ob.step(&mut b);
        }
        for (x, y) in a.values().iter().zip(b.values()) {
            assert!((f64::from(*x) - y).abs() < 1e-6);
        }
    }
}
