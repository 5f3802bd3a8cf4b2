//! One guarded training step, shared by [`Optim`](crate::Optim) and [`train`](crate::train):
//! forward, loss, backward, finiteness checks, update, zero_grad.

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Float, Loss, Module, ShapeError};

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

/// An optimizer plus the scratch space of its [`Optimizer::checked_step`].
pub(crate) struct Stepper<F: Float> {
    optimizer: Box<dyn Optimizer<F>>,
    /// Where an optimizer without a checked update of its own keeps the
    /// parameters to undo a step; allocated on its first step, never used by
    /// the crate's own optimizers.
    undo: Vec<ArrayD<F>>,
    steps: usize,
}

impl<F: Float> Stepper<F> {
    pub(crate) fn new(optimizer: Box<dyn Optimizer<F>>) -> Self {
        Self { optimizer, undo: Vec::new(), steps: 0 }
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
        self.steps += 1;
        let value = {
            let out = net.forward(x.view()).map_err(|e| TrainError::shape(at.context(), e))?;
            match loss.forward(y.view(), out.view()) {
                Ok(value) => value,
                // A loss that refuses a NaN prediction (BCELoss) sees a
                // diverging network: report it as the divergence it is.
                Err(ShapeError::Value { argument: "prediction yhat", .. })
                    if net.first_non_finite_output().is_some() =>
                {
                    return Err(self.diverged(net, F::nan(), NonFinite::Loss, at));
                }
                Err(e) => return Err(TrainError::shape(at.context(), e)),
            }
        };
        if !value.is_finite() {
            return Err(self.diverged(net, value, NonFinite::Loss, at));
        }
        let delta =
            loss.backward(y.view(), net.output().view()).map_err(|e| TrainError::shape(at.context(), e))?;
        // Plain SGD on a network whose modules all support it: the update is
        // taken inside the backward pass, without storing and re-reading
        // the gradients, once every module has proven it finite (W4: about
        // 8 % of a step). When a module cannot prove it, the unfused step
        // below runs and finds (and names) the exact cause.
        if let Some(learning_rate) = self.optimizer.fused_learning_rate()
            && net.supports_fused_sgd()
        {
            let learning_rate = F::of_f64(learning_rate);
            let proved = net
                .sgd_check(x.view(), delta.view(), learning_rate, false)
                .map_err(|e| TrainError::shape(at.context(), e))?;
            if proved {
                net.sgd_apply(x, delta.view(), learning_rate)
                    .map_err(|e| TrainError::shape(at.context(), e))?;
                self.optimizer.record_fused_step();
                return Ok(value);
            }
        }
        // Parameter gradients only: the input's gradient is never used here,
        // and containers then skip their first module's delta. Set, not
        // accumulated: whatever a caller accumulated before the first step
        // is not this batch's, and after it the optimizer leaves zeros,
        // which a product with β = 0 need not read.
        net.backward_set_gradient(x, delta.view()).map_err(|e| TrainError::shape(at.context(), e))?;

        // The optimizer checks every gradient and every updated value before
        // it writes, and zeroes the gradients whatever the outcome.
        if let Err(cause) = self.optimizer.checked_step(&mut AsDyn(&mut *net), &mut self.undo) {
            return Err(self.diverged(net, value, cause, at));
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
}

/// An `f32` widened to the `f64` that prints like it (0.1, not 0.10000000149011612).
pub(crate) fn short_f64<F: Float>(value: F) -> f64 {
    if !value.is_finite() || F::DTYPE == "f64" {
        return value.as_f64();
    }
    value.to_string().parse().unwrap_or(value.as_f64())
}
