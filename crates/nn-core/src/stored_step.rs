//! The fused SGD step ([`Module::sgd_check`], [`Module::sgd_apply`]) for a
//! module that stores its gradients first: each w − lr·g checked exactly,
//! then applied, as the unfused training step does. For modules whose
//! parameters are small (Conv1D's kernels), where storing the gradients costs
//! little, so that a network holding one can still take the fused step.

use ndarray::Zip;

use crate::{Float, Module};

/// Whether every stored gradient g of `module` and every w − `learning_rate`·g is finite.
pub fn stored_step_is_finite<F: Float, M: Module<F> + ?Sized>(module: &M, learning_rate: F) -> bool {
    let mut finite = true;
    module.visit_parameters(&mut |p| {
        finite &= Zip::from(&p.value)
            .and(&p.grad)
            .fold(true, |ok, &w, &g| ok & g.is_finite() & (w - learning_rate * g).is_finite());
    });
    finite
}

/// w ← w − `learning_rate`·g and g ← 0 for every parameter of `module`.
pub fn apply_stored_step<F: Float, M: Module<F> + ?Sized>(module: &mut M, learning_rate: F) {
    module.visit_parameters_mut(&mut |p| {
        Zip::from(p.value).and(p.grad).for_each(|w, g| {
            *w -= learning_rate * *g;
            *g = F::zero();
        });
    });
}
