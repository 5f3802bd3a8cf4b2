//! Model files: a module's parameters in [safetensors], named as PyTorch's
//! `nn.Sequential.state_dict()` names them (`0.weight`, `2.bias`,
//! `encoder.0.weight`), in PyTorch's layouts, written atomically and loaded
//! strictly.
//!
//! - [`save`] writes every parameter plus a [`Metadata`] string map
//!   (`format = "nn"`, `dtype`, and what the caller adds, such as the network
//!   in the report's notation), through [`write_atomic`]: a crash mid-write
//!   leaves the previous file intact.
//! - [`load_into`] checks element type, names and shapes against the model,
//!   reports every problem at once, and copies only when all fit; a NaN or
//!   infinite value in any tensor is refused, naming the tensor and index.
//! - [`read_metadata`] reads the metadata first (to rebuild the network),
//!   [`load_tensors`] reads every tensor by name (checkpoints, tests).
//!
//! A truncated or corrupt file is an [`IoError`] naming the file, never a panic.
//!
//! ```
//! use nn_layers::{Linear, ReLU};
//! use nn_models::Sequential;
//! use rand::{SeedableRng, rngs::StdRng};
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let net = Sequential::<f32>::new().add(Linear::new(64, 10, &mut rng)).add(ReLU::new()).add(Linear::new(10, 3, &mut rng));
//! let path = std::env::temp_dir().join(format!("nn-io-doc-{}.safetensors", std::process::id()));
//! nn_io::save(&net, &path, &nn_io::Metadata::new().with("net", net.to_string()))?;
//!
//! let mut fresh = Sequential::<f32>::new().add(Linear::new(64, 10, &mut rng)).add(ReLU::new()).add(Linear::new(10, 3, &mut rng));
//! let metadata = nn_io::load_into(&mut fresh, &path)?;
//! assert_eq!(metadata.get("net"), Some("Linear(64, 10) -> ReLU() -> Linear(10, 3)"));
//! assert_eq!(nn_io::load_tensors::<f32>(&path)?.tensors.keys().collect::<Vec<_>>(), ["0.bias", "0.weight", "2.bias", "2.weight"]);
//! # std::fs::remove_file(&path).unwrap();
//! # Ok::<(), nn_io::IoError>(())
//! ```
//!
//! [safetensors]: https://github.com/huggingface/safetensors

mod atomic;
mod elements;
mod error;
mod format;
mod load;
mod metadata;
mod save;
mod tensor_file;
#[cfg(test)]
mod test_dir;

pub use atomic::write_atomic;
pub use error::{IoError, ShapeMismatch};
pub use load::{assign_parameters, load_into, load_tensors, read_metadata};
pub use metadata::{DTYPE_KEY, FORMAT, FORMAT_KEY, Metadata};
pub use save::{save, save_tensors};
pub use tensor_file::TensorFile;
