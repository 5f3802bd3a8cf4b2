//! `TrainConfig`: every setting of [`train`](crate::train), with documented defaults.

use ndarray::ArrayD;
use nn_core::Float;

use crate::optimizer::check_learning_rate;
use crate::{OptimizerKind, TrainError};

/// How [`train`](crate::train) runs. Build it from [`Default`] and change what differs:
///
/// ```
/// use nn_train::{OptimizerKind, TrainConfig};
/// let config = TrainConfig::<f32> { epochs: 10, optimizer: OptimizerKind::Adam, learning_rate: 1e-3, ..Default::default() };
/// assert_eq!(config.batch_size, 32);
/// ```
#[derive(Debug, Clone)]
pub struct TrainConfig<F: Float = f32> {
    /// Samples per mini-batch; the last, partial batch of an epoch is used too.
    /// Larger than the data: the whole data is one batch. Default 32.
    pub batch_size: usize,
    /// Most epochs to run. Default 30.
    pub epochs: usize,
    /// Early stopping: stop after an epoch whose loss differs from the
    /// previous epoch's by less than this. Default `None` (run every epoch).
    pub early_stop_eps: Option<f64>,
    /// The update rule. Default [`OptimizerKind::Sgd`].
    pub optimizer: OptimizerKind,
    /// Learning rate. Default 0.1.
    pub learning_rate: f64,
    /// Seeds the shuffling of the samples each epoch: same seed, same history,
    /// bit for bit. Default 0.
    pub seed: u64,
    /// Held-out (x, y) scored after every epoch: loss, and accuracy when y
    /// has more than one column (one-hot rows). Default `None`.
    pub validation: Option<(ArrayD<F>, ArrayD<F>)>,
    /// Show a progress bar over epochs on stderr, if stderr is a terminal. Default `false`.
    pub progress: bool,
}

impl<F: Float> Default for TrainConfig<F> {
    fn default() -> Self {
        Self {
            batch_size: 32,
            epochs: 30,
            early_stop_eps: None,
            optimizer: OptimizerKind::Sgd,
            learning_rate: 0.1,
            seed: 0,
            validation: None,
            progress: false,
        }
    }
}

impl<F: Float> TrainConfig<F> {
    /// Checks the hyper-parameters (not the data).
    ///
    /// # Errors
    /// [`TrainError::ZeroBatchSize`], [`TrainError::ZeroEpochs`],
    /// [`TrainError::LearningRate`], [`TrainError::EarlyStopEps`] or
    /// [`TrainError::Momentum`].
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.batch_size == 0 {
            return Err(TrainError::ZeroBatchSize);
        }
        if self.epochs == 0 {
            return Err(TrainError::ZeroEpochs);
        }
        check_learning_rate(self.learning_rate)?;
        if let Some(eps) = self.early_stop_eps
            && !(eps >= 0.0 && eps.is_finite())
        {
            return Err(TrainError::EarlyStopEps(eps));
        }
        if let OptimizerKind::Momentum { momentum } = self.optimizer
            && !(0.0..1.0).contains(&momentum)
        {
            return Err(TrainError::Momentum(momentum));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(config: TrainConfig<f32>) -> String {
        config.validate().unwrap_err().to_string()
    }

    #[test]
    fn every_bad_hyper_parameter_has_its_message() {
        let base = TrainConfig::<f32>::default;
        assert_eq!(err(TrainConfig { batch_size: 0, ..base() }), "batch size must be at least 1, got 0");
        assert_eq!(err(TrainConfig { epochs: 0, ..base() }), "number of epochs must be at least 1, got 0");
        assert_eq!(
            err(TrainConfig { learning_rate: -1.0, ..base() }),
            "learning rate must be positive and finite, got -1"
        );
        assert_eq!(
            err(TrainConfig { learning_rate: f64::NAN, ..base() }),
            "learning rate must be positive and finite, got NaN"
        );
        assert_eq!(
            err(TrainConfig { learning_rate: f64::INFINITY, ..base() }),
            "learning rate must be positive and finite, got inf"
        );
        assert_eq!(
            err(TrainConfig { early_stop_eps: Some(-0.5), ..base() }),
            "early-stopping threshold eps must be non-negative and finite, got -0.5"
        );
        assert_eq!(
            err(TrainConfig { optimizer: OptimizerKind::Momentum { momentum: 2.0 }, ..base() }),
            "momentum must be in [0, 1), got 2"
        );
        assert!(base().validate().is_ok());
    }
}
