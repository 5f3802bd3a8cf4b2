//! The layers of the report, each a [`nn_core::Module`]: [`Linear`], [`Conv1D`],
//! [`MaxPool1D`], [`Flatten`], its inverse [`Unflatten`] and [`Upsample1D`], and the activations [`TanH`],
//! [`Sigmoid`], [`ReLU`] and [`Softmax`].
//!
//! Layouts: dense data is (batch, features), sequences are (batch, length,
//! channels) with channels last. Parameters are stored in PyTorch's layout
//! (`Linear` weight (out, in), `Conv1D` weight (chan_out, chan_in, k_size)) and
//! visited as `weight`, then `bias`. Every layer is generic over the element
//! type, `f32` by default, `f64` for gradient checks. Every layer keeps its
//! `output` and `grad_input` and reuses them while the batch size holds.
//!
//! Lua Torch's contract holds: the backward methods of a layer are called with
//! the input of its last forward. Layers that keep something from the forward
//! pass (Conv1D's unrolled windows, MaxPool1D's argmax, the outputs of TanH,
//! Sigmoid and Softmax) reuse it, and compute it again only when the input
//! shape changed.
//!
//! The report's convolutional network, shape by shape:
//!
//! ```
//! use ndarray::{ArrayD, IxDyn};
//! use nn_core::{Module, gradcheck};
//! use nn_layers::{Conv1D, Flatten, Linear, MaxPool1D, ReLU};
//!
//! let mut rng = gradcheck::seeded(0);
//! let mut layers: Vec<Box<dyn Module>> = vec![
//!     Box::new(Conv1D::new(3, 1, 32, 1, &mut rng)),
//!     Box::new(MaxPool1D::new(2, 2)),
//!     Box::new(Flatten::new()),
//!     Box::new(Linear::new(992, 100, &mut rng)),
//!     Box::new(ReLU::new()),
//!     Box::new(Linear::new(100, 10, &mut rng)),
//! ];
//! let mut x = ArrayD::<f32>::zeros(IxDyn(&[8, 64, 1]));
//! for layer in &mut layers {
//!     x = layer.forward(x.view())?.clone();
//!     println!("{layer}: {:?}", x.shape());
//! }
//! assert_eq!(x.shape(), &[8, 10]);
//! # Ok::<(), nn_core::ShapeError>(())
//! ```

mod bias;
mod check;
mod conv1d;
mod flatten;
mod linear;
mod max_pool1d;
mod output_activation;
mod relu;
mod reshape;
mod sigmoid;
mod slices;
mod softmax;
mod tanh;
#[cfg(test)]
mod testing;
mod unflatten;
mod upsample1d;

pub use conv1d::Conv1D;
pub use flatten::Flatten;
pub use linear::Linear;
pub use max_pool1d::MaxPool1D;
pub use output_activation::{OutputActivation, OutputRule};
pub use relu::ReLU;
pub use sigmoid::{Sigmoid, SigmoidRule};
pub use softmax::Softmax;
pub use tanh::{TanH, TanhRule};
pub use unflatten::Unflatten;
pub use upsample1d::Upsample1D;
