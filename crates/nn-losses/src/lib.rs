//! The losses of the report, each a [`Loss`](nn_core::Loss) between targets
//! `y` and predictions `yhat`, both (batch, outputs):
//!
//! | loss | per sample ℓᵢ | use after |
//! |---|---|---|
//! | [`MSELoss`] | Σⱼ (yᵢⱼ − ŷᵢⱼ)² | any output |
//! | [`BCELoss`] | −Σⱼ [yᵢⱼ log ŷᵢⱼ + (1 − yᵢⱼ) log(1 − ŷᵢⱼ)] | `Sigmoid` |
//! | [`CrossEntropyLoss`] | −Σⱼ yᵢⱼ log ŷᵢⱼ | `Softmax` |
//! | [`LogSoftmaxCrossEntropy`] | −Σⱼ yᵢⱼ log softmax(ŷᵢ)ⱼ | raw scores |
//!
//! Reduction, the same for all (the [`Loss`](nn_core::Loss) contract): the
//! per-sample loss sums over the outputs, `forward` is the mean over the
//! batch, `backward` the gradient of that mean. Classification targets are
//! one-hot rows. Logarithms of probabilities are clamped at −100, as in
//! PyTorch, so the probability losses stay finite at 0 and 1.
//!
//! Values are checked as shapes are: each loss refuses a value outside its
//! domain with [`ShapeError::Value`](nn_core::ShapeError::Value), naming the
//! value and its (row, column). `BCELoss` takes targets and predictions in
//! [0, 1] (NaN refused), the cross-entropy losses finite non-negative targets,
//! `MSELoss` finite targets; [`Loss::check_targets`](nn_core::Loss::check_targets)
//! runs the target check alone, on a whole data set.
//!
//! ```
//! use ndarray::array;
//! use nn_core::Loss;
//! use nn_losses::MSELoss;
//!
//! let mut loss = MSELoss::<f64>::new();
//! let y = array![[1.0, 0.0]].into_dyn();
//! let yhat = array![[0.5, 0.5]].into_dyn();
//! assert_eq!(loss.forward(y.view(), yhat.view()).unwrap(), 0.5);
//! assert_eq!(loss.backward(y.view(), yhat.view()).unwrap(), &array![[-1.0, 1.0]].into_dyn());
//! ```

mod bce;
mod clamp;
mod cross_entropy;
mod log_softmax_cross_entropy;
mod mse;
mod rows;

pub use bce::BCELoss;
pub use cross_entropy::CrossEntropyLoss;
pub use log_softmax_cross_entropy::LogSoftmaxCrossEntropy;
pub use mse::MSELoss;
