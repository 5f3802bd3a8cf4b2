//! The whole library behind one crate: depend on `nn` for everything, or on
//! one of `nn-core`, `nn-layers`, `nn-losses`, `nn-models`, `nn-data`,
//! `nn-io`, `nn-plot`, `nn-train` for just that part. See `ARCHITECTURE.md` for what each crate owns.

pub use nn_core as core;
pub use nn_data as data;
pub use nn_io as io;
pub use nn_layers as layers;
pub use nn_losses as losses;
pub use nn_models as models;
pub use nn_plot as plot;
pub use nn_train as train;

/// The names most programs need, in one `use nn::prelude::*;`.
pub mod prelude {
    pub use nn_core::{Float, Init, Loss, Module, ShapeError, Tensor, TensorView};
    pub use nn_models::{AutoEncoder, Sequential};
}

/// The README's example runs as a doctest, so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
