//! The `nn` command's library: the network notation, and the commands built on it.

pub mod build;
pub mod notation;
