//! The `Optimizer` trait and `OptimizerKind`, the configuration that builds one.

use std::fmt;
use std::str::FromStr;

use ndarray::ArrayD;
use nn_core::{Float, Module};

use crate::{Adam, Momentum, Sgd, TrainError};

/// A rule that moves a module's parameters along their accumulated gradients.
///
/// [`step`](Optimizer::step) reads each parameter's gradient through
/// [`Module::visit_parameters_mut`] and updates its value; it does not zero
/// the gradients ([`crate::Optim`] does). Per-parameter state (velocities,
/// moments) is kept in the visiting order, allocated on the first step only.
///
/// The `Display` form names the rule and its settings, e.g. `Adam(lr=0.001)`.
pub trait Optimizer<F: Float>: fmt::Display + fmt::Debug + Send {
    /// Updates every parameter of `module` from its gradient.
    fn step(&mut self, module: &mut dyn Module<F>);

    /// The learning rate in use.
    fn learning_rate(&self) -> f64;

    /// Changes the learning rate (for schedules); the state is kept.
    ///
    /// # Errors
    /// [`TrainError::LearningRate`] unless `learning_rate` is positive and finite.
    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), TrainError>;

    /// Number of steps taken so far.
    fn steps(&self) -> u64;

    /// The names of the per-parameter state tensors, PyTorch's where it has
    /// them: `["velocity"]` for [`Momentum`], `["exp_avg", "exp_avg_sq"]` for
    /// [`Adam`], none for plain [`Sgd`].
    fn state_names(&self) -> &'static [&'static str] {
        &[]
    }

    /// The state, one list per [`state_names`](Optimizer::state_names)
    /// entry, each holding one tensor per parameter (shaped like it) in
    /// [`Module::visit_parameters`] order; the lists are empty before the first step.
    ///
    /// With [`steps`](Optimizer::steps) this is everything a checkpoint needs
    /// to continue the run bit for bit.
    fn state(&self) -> Vec<&[ArrayD<F>]> {
        Vec::new()
    }

    /// Continues from a saved state: `state` as [`state`](Optimizer::state)
    /// gives it, `steps` as [`steps`](Optimizer::steps) gave it (Adam's bias
    /// correction depends on it). The learning rate is kept.
    ///
    /// # Errors
    /// [`TrainError::OptimizerState`] unless there is one list per state name
    /// and every list has the same length; nothing is changed then.
    fn load_state(&mut self, steps: u64, state: Vec<Vec<ArrayD<F>>>) -> Result<(), TrainError>;
}

/// Checks a state given to [`Optimizer::load_state`]: one list per name, all of one length.
///
/// # Errors
/// [`TrainError::OptimizerState`] naming `optimizer`.
pub(crate) fn check_state<F>(
    optimizer: &dyn fmt::Display,
    names: &[&str],
    state: &[Vec<ArrayD<F>>],
) -> Result<(), TrainError> {
    let fail = |reason: String| TrainError::OptimizerState { optimizer: optimizer.to_string(), reason };
    if state.len() != names.len() {
        return Err(fail(format!(
            "expected {} state lists ({}), got {}",
            names.len(),
            names.join(", "),
            state.len()
        )));
    }
    if let Some(first) = state.first()
        && let Some((i, other)) = state.iter().enumerate().find(|(_, l)| l.len() != first.len())
    {
        return Err(fail(format!(
            "{} has {} tensors but {} has {}",
            names[0],
            first.len(),
            names[i],
            other.len()
        )));
    }
    Ok(())
}

/// Checks a learning rate: positive and finite.
///
/// # Errors
/// [`TrainError::LearningRate`] otherwise.
pub(crate) fn check_learning_rate(learning_rate: f64) -> Result<f64, TrainError> {
    if learning_rate > 0.0 && learning_rate.is_finite() {
        Ok(learning_rate)
    } else {
        Err(TrainError::LearningRate(learning_rate))
    }
}

/// Which optimizer to train with, as given in a configuration or on a command line.
///
/// Parses from `sgd`, `momentum` (momentum 0.9) or `adam` (PyTorch's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum OptimizerKind {
    /// Plain gradient descent, the report's `update_parameters(lr)`: [`Sgd`].
    #[default]
    Sgd,
    /// SGD with momentum, PyTorch's formulation: [`Momentum`].
    Momentum {
        /// μ in v ← μ·v + g, in [0, 1).
        momentum: f64,
    },
    /// Adam with β1 = 0.9, β2 = 0.999, ε = 1e-8 and bias correction: [`Adam`].
    Adam,
}

/// The momentum `"momentum"` parses to.
pub const DEFAULT_MOMENTUM: f64 = 0.9;

impl OptimizerKind {
    /// Builds the optimizer with `learning_rate`.
    ///
    /// # Errors
    /// [`TrainError::LearningRate`] unless `learning_rate` is positive and
    /// finite; [`TrainError::Momentum`] unless the momentum is in [0, 1).
    pub fn build<F: Float>(&self, learning_rate: f64) -> Result<Box<dyn Optimizer<F>>, TrainError> {
        Ok(match *self {
            OptimizerKind::Sgd => Box::new(Sgd::new(learning_rate)?),
            OptimizerKind::Momentum { momentum } => Box::new(Momentum::new(learning_rate, momentum)?),
            OptimizerKind::Adam => Box::new(Adam::new(learning_rate)?),
        })
    }
}

impl FromStr for OptimizerKind {
    type Err = TrainError;

    /// `sgd`, `momentum`, `momentum(μ)` (what `Display` prints for a μ other
    /// than 0.9) or `adam`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        let momentum = name
            .strip_prefix("momentum(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|mu| mu.trim().parse::<f64>().ok());
        match (name.as_str(), momentum) {
            ("sgd", _) => Ok(OptimizerKind::Sgd),
            ("momentum", _) => Ok(OptimizerKind::Momentum { momentum: DEFAULT_MOMENTUM }),
            (_, Some(momentum)) => Ok(OptimizerKind::Momentum { momentum }),
            ("adam", _) => Ok(OptimizerKind::Adam),
            _ => Err(TrainError::UnknownOptimizer(s.to_string())),
        }
    }
}

impl fmt::Display for OptimizerKind {
    /// `sgd`, `momentum` (or `momentum(0.5)` when not the default), `adam`:
    /// the names [`FromStr`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptimizerKind::Sgd => f.write_str("sgd"),
            OptimizerKind::Momentum { momentum } if *momentum == DEFAULT_MOMENTUM => f.write_str("momentum"),
            OptimizerKind::Momentum { momentum } => write!(f, "momentum({momentum})"),
            OptimizerKind::Adam => f.write_str("adam"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_from_their_names() {
        assert_eq!("sgd".parse::<OptimizerKind>().unwrap(), OptimizerKind::Sgd);
        assert_eq!("Momentum".parse::<OptimizerKind>().unwrap(), OptimizerKind::Momentum { momentum: 0.9 });
        assert_eq!(" adam ".parse::<OptimizerKind>().unwrap(), OptimizerKind::Adam);
        assert_eq!(
            "momentum(0.5)".parse::<OptimizerKind>().unwrap(),
            OptimizerKind::Momentum { momentum: 0.5 }
        );
        assert!("momentum(x)".parse::<OptimizerKind>().is_err());
        for kind in [
            OptimizerKind::Sgd,
            OptimizerKind::Momentum { momentum: 0.9 },
            OptimizerKind::Momentum { momentum: 0.25 },
            OptimizerKind::Adam,
        ] {
            assert_eq!(kind.to_string().parse::<OptimizerKind>().unwrap(), kind);
        }
    }

    #[test]
    fn unknown_optimizer_message() {
        let err = "adamw".parse::<OptimizerKind>().unwrap_err();
        assert_eq!(err.to_string(), "unknown optimizer \"adamw\": expected sgd, momentum or adam");
    }

    #[test]
    fn build_checks_the_learning_rate() {
        for lr in [0.0, -0.1, f64::NAN, f64::INFINITY] {
            let err = OptimizerKind::Adam.build::<f32>(lr).unwrap_err();
            assert!(matches!(err, TrainError::LearningRate(_)), "{err}");
        }
        let err = OptimizerKind::Sgd.build::<f32>(-0.1).unwrap_err();
        assert_eq!(err.to_string(), "learning rate must be positive and finite, got -0.1");
        let err = OptimizerKind::Momentum { momentum: 1.0 }.build::<f32>(0.1).unwrap_err();
        assert_eq!(err.to_string(), "momentum must be in [0, 1), got 1");
    }

    #[test]
    fn state_lists_are_checked() {
        let names = ["exp_avg", "exp_avg_sq"];
        let one = || vec![ArrayD::<f32>::zeros(ndarray::IxDyn(&[2]))];
        let err = check_state(&"Adam(lr=0.1)", &names, &[one()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Adam(lr=0.1) cannot take this state: expected 2 state lists (exp_avg, exp_avg_sq), got 1"
        );
        let err = check_state(&"Adam(lr=0.1)", &names, &[one(), vec![]]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Adam(lr=0.1) cannot take this state: exp_avg has 1 tensors but exp_avg_sq has 0"
        );
        assert!(check_state(&"Adam(lr=0.1)", &names, &[one(), one()]).is_ok());
    }

    #[test]
    fn built_optimizers_name_themselves() {
        assert_eq!(OptimizerKind::Sgd.build::<f32>(0.1).unwrap().to_string(), "SGD(lr=0.1)");
        assert_eq!(
            OptimizerKind::Momentum { momentum: 0.5 }.build::<f32>(0.1).unwrap().to_string(),
            "Momentum(lr=0.1, momentum=0.5)"
        );
        assert_eq!(
            OptimizerKind::Adam.build::<f64>(0.001).unwrap().to_string(),
            "Adam(lr=0.001, betas=(0.9, 0.999), eps=0.00000001)"
        );
    }
}
