//! `Optim`, the report's class: a network, a loss and a learning rate, stepped batch by batch.

use ndarray::ArrayViewD;
use nn_core::{Float, Loss, Module};

use crate::stepper::{At, Stepper};
use crate::{Optimizer, OptimizerKind, TrainError};

/// The report's `Optim(net, loss, eps)`: owns a network and a loss and takes
/// one gradient step per call to [`step`](Optim::step).
///
/// `N` and `L` are any [`Module`] and [`Loss`], boxed trait objects included.
/// Steady-state steps allocate nothing: the modules reuse their buffers and
/// the optimizer its state. The crate's optimizers check a step before they
/// write it; another optimizer's copy of the parameters, kept to undo a
/// diverging step, is allocated on the first step.
pub struct Optim<F: Float, N, L> {
    net: N,
    loss: L,
    stepper: Stepper<F>,
}

impl<F: Float, N: Module<F>, L: Loss<F>> Optim<F, N, L> {
    /// Plain SGD with learning rate `eps` (the report's name): each step moves
    /// every parameter by −eps × its gradient.
    ///
    /// # Errors
    /// [`TrainError::LearningRate`] unless `eps` is positive and finite.
    pub fn new(net: N, loss: L, eps: f64) -> Result<Self, TrainError> {
        Ok(Self::with_optimizer(net, loss, OptimizerKind::Sgd.build(eps)?))
    }

    /// Steps with `optimizer` (see [`OptimizerKind::build`]).
    pub fn with_optimizer(net: N, loss: L, optimizer: Box<dyn Optimizer<F>>) -> Self {
        Self { net, loss, stepper: Stepper::new(optimizer) }
    }

    /// One step on a batch: forward, loss, loss backward, network backward;
    /// then, only if the loss and every gradient are finite, the optimizer's
    /// update and `zero_grad`. Returns the batch loss (mean over the batch).
    ///
    /// `batch_x` is (batch, …) as the network takes it, `batch_y` (batch, outputs).
    ///
    /// # Errors
    /// - [`TrainError::Shape`] if the network or the loss refuses a tensor;
    /// - [`TrainError::Diverged`] if the loss, a gradient or an updated
    ///   parameter is NaN or infinite: it names the step (`epoch` 0, `batch` =
    ///   the step count from 1) and the first layer whose output is not finite.
    ///   The parameters are then those before the step, all finite, and the
    ///   gradients are zero: the network keeps its last good weights.
    pub fn step(&mut self, batch_x: ArrayViewD<'_, F>, batch_y: ArrayViewD<'_, F>) -> Result<F, TrainError> {
        let at = At { epoch: 0, batch: self.stepper.steps() + 1 };
        self.stepper.step(&mut self.net, &mut self.loss, batch_x, batch_y, at)
    }

    /// The network.
    pub fn net(&self) -> &N {
        &self.net
    }

    /// The network, writable.
    pub fn net_mut(&mut self) -> &mut N {
        &mut self.net
    }

    /// The loss.
    pub fn loss(&self) -> &L {
        &self.loss
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &dyn Optimizer<F> {
        self.stepper.optimizer()
    }

    /// The optimizer, writable (e.g. to change the learning rate).
    pub fn optimizer_mut(&mut self) -> &mut dyn Optimizer<F> {
        self.stepper.optimizer_mut()
    }

    /// Number of [`step`](Optim::step) calls so far, failed ones included.
    pub fn steps(&self) -> usize {
        self.stepper.steps()
    }

    /// Gives back the network and the loss.
    pub fn into_inner(self) -> (N, L) {
        (self.net, self.loss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NonFinite;
    use crate::test_util::{TinyLinear, TinyMse};
    use ndarray::{ArrayD, IxDyn, array};

    fn params(net: &TinyLinear<f32>) -> Vec<f32> {
        net.weight.iter().chain(net.bias.iter()).copied().collect()
    }

    #[test]
    fn step_is_one_sgd_update_by_hand() {
        // TinyLinear(1, 1): w = 0.1, b = 0; x = [[1], [2]], y = [[1], [0]].
        let mut optim = Optim::new(TinyLinear::<f64>::new(1, 1), TinyMse::new(), 0.5).unwrap();
        let x = array![[1.0], [2.0]].into_dyn();
        let y = array![[1.0], [0.0]].into_dyn();
        let loss = optim.step(x.view(), y.view()).unwrap();
        // yhat = [0.1, 0.2]; loss = ((0.9)² + 0.2²)/2 = 0.425
        assert!((loss - 0.425).abs() < 1e-12);
        // dL/dyhat = [-0.9, 0.2]; dW = -0.9·1 + 0.2·2 = -0.5; db = -0.7
        let net = optim.net();
        assert!((net.weight[[0, 0]] - (0.1 + 0.25)).abs() < 1e-12);
        assert!((net.bias[[0]] - 0.35).abs() < 1e-12);
        assert_eq!(optim.steps(), 1);
    }

    #[test]
    fn new_rejects_a_bad_learning_rate() {
        let err = Optim::new(TinyLinear::<f32>::new(1, 1), TinyMse::new(), 0.0).err().unwrap();
        assert_eq!(err.to_string(), "learning rate must be positive and finite, got 0");
    }

    #[test]
    fn shape_errors_say_which_step() {
        let mut optim = Optim::new(TinyLinear::<f32>::new(3, 1), TinyMse::new(), 0.1).unwrap();
        let x = ArrayD::<f32>::zeros(IxDyn(&[2, 4]));
        let y = ArrayD::<f32>::zeros(IxDyn(&[2, 1]));
        let err = optim.step(x.view(), y.view()).unwrap_err();
        assert_eq!(err.to_string(), "step 1: TinyLinear(3, 1) expects 3 features but receives [2, 4]");
    }

    #[test]
    fn divergence_keeps_the_last_finite_weights() {
        let mut optim = Optim::new(TinyLinear::<f32>::new(2, 1), TinyMse::new(), 1e6).unwrap();
        let x = array![[1.0f32, 2.0], [3.0, -1.0]].into_dyn();
        let y = array![[1.0f32], [0.0]].into_dyn();
        let mut before = params(optim.net());
        let err = loop {
            match optim.step(x.view(), y.view()) {
                Ok(_) => before = params(optim.net()),
                Err(e) => break e,
            }
            assert!(optim.steps() < 100, "never diverged");
        };
        let TrainError::Diverged { epoch, batch, learning_rate, .. } = &err else { panic!("{err}") };
        assert_eq!((*epoch, *batch, *learning_rate), (0, optim.steps(), 1e6));
        assert!(
            err.to_string().starts_with(&format!("training diverged at step {}: loss is ", optim.steps()))
        );
        assert!(err.to_string().ends_with("; try a smaller learning rate (now 1000000)"), "{err}");
        let after = params(optim.net());
        assert_eq!(before, after);
        assert!(after.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn diverged_message_names_the_layer() {
        let err = TrainError::Diverged {
            epoch: 3,
            batch: 7,
            loss: f64::NAN,
            cause: NonFinite::Loss,
            layer: Some("layer 2, Linear(100, 10)".into()),
            learning_rate: 10.0,
        };
        assert_eq!(
            err.to_string(),
            "training diverged at epoch 3, batch 7: loss is NaN; first non-finite output in layer 2, Linear(100, 10); try a smaller learning rate (now 10)"
        );
        let err = TrainError::Diverged {
            epoch: 1,
            batch: 2,
            loss: 3.5,
            cause: NonFinite::Gradient("0.weight".into()),
            layer: None,
            learning_rate: 0.1,
        };
        assert_eq!(
            err.to_string(),
            "training diverged at epoch 1, batch 2: loss is 3.5 but the gradient of 0.weight is not finite; try a smaller learning rate (now 0.1)"
        );
        let err = TrainError::Diverged {
            epoch: 1,
            batch: 2,
            loss: 1e30,
            cause: NonFinite::Update("bias".into()),
            layer: None,
            learning_rate: 1e6,
        };
        assert_eq!(
            err.to_string(),
            "training diverged at epoch 1, batch 2: loss is 1e30 but the update makes bias non-finite; try a smaller learning rate (now 1000000)"
        );
    }

    #[test]
    fn boxed_trait_objects_train_too() {
        let net: Box<dyn Module<f32>> = Box::new(TinyLinear::<f32>::new(2, 1));
        let loss: Box<dyn Loss<f32>> = Box::new(TinyMse::new());
        let mut optim = Optim::with_optimizer(net, loss, OptimizerKind::Adam.build(0.01).unwrap());
        let x = array![[1.0f32, 2.0]].into_dyn();
        let y = array![[1.0f32]].into_dyn();
        let first = optim.step(x.view(), y.view()).unwrap();
        let mut last = first;
        for _ in 0..50 {
            last = optim.step(x.view(), y.view()).unwrap();
        }
        assert!(last < first);
        assert_eq!(optim.optimizer().steps(), 51);
        let (_net, _loss) = optim.into_inner();
    }
}
