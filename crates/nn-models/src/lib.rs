//! Containers of the report: [`Sequential`] chains modules, [`AutoEncoder`]
//! pairs an encoder with a decoder. Both are [`nn_core::Module`]s, so they nest.
//!
//! A chain checks its shapes before it runs ([`Sequential::check`]) and names
//! the first layer that does not fit; [`Sequential::summary`] prints the layer
//! table with output shapes and parameter counts.

mod autoencoder;
mod sequential;
mod summary;

pub use autoencoder::AutoEncoder;
pub use sequential::Sequential;
pub use summary::{Summary, SummaryRow};
