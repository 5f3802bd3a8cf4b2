//! One guarded training step, shared by [`Optim`](crate::Optim) and [`train`](crate::train):
//! forward, loss, backward, finiteness checks, update, zero_grad.

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Float, Loss, Module, ParamName};

use crate::as_dyn::AsDyn;
use crate::{NonFinite, Optimizer, TrainError};

/// Where a step is, for messages: `epoch` from 1 (0 when stepping outside a
/// training loop) and `batch` from 1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At {
    pub(crate) epoch: usize,
    pub(crate) batch: usize,
}

impl At {
    fn context(self) -> String {
        if self.epoch == 0 {
            format!("step {}", self.batch)
        } else {
            format!("epoch {}, batch {}", self.epoch, self.batch)
        }
    }
}

/// An optimizer plus the copy of the parameters that lets a step be undone.
pub(crate) struct Stepper<F: Float> {
    optimizer: Box<dyn Optimizer<F>>,
    /// The parameters before the update in progress, in visiting order;
    /// allocated on the first step.
    backup: Vec<ArrayD<F>>,
    steps: usize,
}

impl<F: Float> Stepper<F> {
    pub(crate) fn new(optimizer: Box<dyn Optimizer<F>>) -> Self {
        Self { optimizer, backup: Vec::new(), steps: 0 }
    }

    pub(crate) fn optimizer(&self) -> &dyn Optimizer<F> {
        &*self.optimizer
    }

    pub(crate) fn optimizer_mut(&mut self) -> &mut dyn Optimizer<F> {
        &mut *self.optimizer
    }

    pub(crate) fn steps(&self) -> usize {
        self.steps
    }

    /// Runs one step on a batch and returns its loss, or [`TrainError::Diverged`]
    /// with the parameters (and zeroed gradients) as they were before the step.
    pub(crate) fn step<N: Module<F> + ?Sized, L: Loss<F> + ?Sized>(
        &mut self,
        net: &mut N,
        loss: &mut L,
        x: ArrayViewD<'_, F>,
        y: ArrayViewD<'_, F>,
        at: At,
    ) -> Result<F, TrainError> {
        if self.steps == 0 {
            // Whatever a caller accumulated before the first step is not this batch's.
            net.zero_grad();
        }
        self.steps += 1;
        let value = {
            let out = net.forward(x.view()).map_err(|e| TrainError::shape(at.context(), e))?;
            loss.forward(y.view(), out.view()).map_err(|e| TrainError::shape(at.context(), e))?
        };
        if !value.is_finite() {
            return Err(self.diverged(net, value, NonFinite::Loss, at));
        }
        let delta =
            loss.backward(y.view(), net.output().view()).map_err(|e| TrainError::shape(at.context(), e))?;
        // Parameter gradients only: the input's gradient is never used here,
        // and containers then skip their first module's delta.
        net.backward_update_gradient(x, delta.view()).map_err(|e| TrainError::shape(at.context(), e))?;

        // One pass checks the gradients and keeps the parameters, a second
        // checks the updated parameters and zeroes the gradients.
        if let Some(name) = self.check_gradients_and_save(net) {
            net.zero_grad();
            return Err(self.diverged(net, value, NonFinite::Gradient(name.to_string()), at));
        }
        self.optimizer.step(&mut AsDyn(&mut *net));
        if let Some(name) = check_parameters_and_zero_grad(net) {
            self.restore(net);
            return Err(self.diverged(net, value, NonFinite::Update(name.to_string()), at));
        }
        Ok(value)
    }

    fn diverged<N: Module<F> + ?Sized>(&self, net: &N, loss: F, cause: NonFinite, at: At) -> TrainError {
        TrainError::Diverged {
            epoch: at.epoch,
            batch: at.batch,
            loss: short_f64(loss),
            cause,
            layer: net.first_non_finite_output(),
            learning_rate: self.optimizer.learning_rate(),
        }
    }

    /// The name of the first parameter whose gradient is not finite; on the
    /// way, copies every parameter into `backup` (in visiting order), which
    /// allocates on the first step only.
    fn check_gradients_and_save<N: Module<F> + ?Sized>(&mut self, net: &N) -> Option<ParamName> {
        let backup = &mut self.backup;
        let mut index = 0;
        let mut found = None;
        net.visit_parameters(&mut |p| {
            if found.is_none() && !all_finite(&p.grad) {
                found = Some(p.name);
            }
            if index == backup.len() {
                backup.push(p.value.to_owned());
            } else {
                copy(&mut backup[index], &p.value);
            }
            index += 1;
        });
        found
    }

    fn restore<N: Module<F> + ?Sized>(&self, net: &mut N) {
        let mut index = 0;
        net.visit_parameters_mut(&mut |mut p| {
            p.value.assign(&self.backup[index]);
            index += 1;
        });
    }
}

/// The name of the first parameter that is not finite after an update; on
/// the way, sets every gradient to zero.
fn check_parameters_and_zero_grad<F: Float, N: Module<F> + ?Sized>(net: &mut N) -> Option<ParamName> {
    let mut found = None;
    net.visit_parameters_mut(&mut |mut p| {
        if found.is_none() && !all_finite(&p.value.view()) {
            found = Some(p.name);
        }
        p.grad.fill(F::zero());
    });
    found
}

/// Whether every element is finite, in one branch-free pass over the memory
/// when the view is contiguous (|v| ≤ MAX is false for NaN and ±∞).
fn all_finite<F: Float>(values: &ArrayViewD<'_, F>) -> bool {
    let finite = |ok: bool, v: &F| ok & (v.abs() <= F::max_value());
    match values.as_slice_memory_order() {
        Some(slice) => slice.iter().fold(true, finite),
        None => values.iter().fold(true, finite),
    }
}

/// `dst` ← `src`, a plain memory copy when both have the same layout.
fn copy<F: Float>(dst: &mut ArrayD<F>, src: &ArrayViewD<'_, F>) {
    if dst.shape() != src.shape() {
        *dst = src.to_owned();
        return;
    }
    if dst.strides() == src.strides()
        && let (Some(d), Some(s)) = (dst.as_slice_memory_order_mut(), src.as_slice_memory_order())
    {
        d.copy_from_slice(s);
        return;
    }
    dst.assign(src);
}

/// An `f32` widened to the `f64` that prints like it (0.1, not 0.10000000149011612).
pub(crate) fn short_f64<F: Float>(value: F) -> f64 {
    if !value.is_finite() || F::DTYPE == "f64" {
        return value.as_f64();
    }
    value.to_string().parse().unwrap_or(value.as_f64())
}
