//! Saving a module's parameters, or any named tensors, to a safetensors file.

use std::io::Write;
use std::path::Path;

use ndarray::ArrayViewD;
use nn_core::{Float, Module};

use crate::format::to_bytes;
use crate::metadata::{DTYPE_KEY, FORMAT, FORMAT_KEY};
use crate::{IoError, Metadata, write_atomic};

/// Saves every parameter of `module` to `path`, atomically (see [`write_atomic`]).
///
/// Each parameter from [`Module::visit_parameters`] becomes a tensor named
/// by its [`ParamName`](nn_core::ParamName), which is what PyTorch's
/// `nn.Sequential.state_dict()` calls it (`0.weight`, `2.bias`,
/// `encoder.0.weight`), in PyTorch's layout (Linear weight (out, in), Conv1D
/// weight (out, in, k)), as little-endian `F32` or `F64` per `F::DTYPE`.
/// The file's `__metadata__` is `metadata` plus `format = "nn"` and `dtype`
/// (`f32` or `f64`), which replace any entries of those names.
///
/// The same module and metadata always give the same bytes.
///
/// # Errors
/// [`IoError::Write`] if the file cannot be written (an existing file is then
/// left untouched); [`IoError::DuplicateName`] if two parameters share a name.
pub fn save<F: Float, M: Module<F> + ?Sized>(
    module: &M,
    path: impl AsRef<Path>,
    metadata: &Metadata,
) -> Result<(), IoError> {
    let mut tensors = Vec::new();
    module.visit_parameters(&mut |p| tensors.push((p.name.to_string(), p.value.to_owned())));
    save_tensors(path, tensors.iter().map(|(name, value)| (name.as_str(), value.view())), metadata)
}

/// Saves named tensors of element type `F` to `path`, atomically, with
/// `metadata` plus `format = "nn"` and `dtype`, as [`save`] does.
///
/// For files that are not just a module's parameters, such as checkpoints.
///
/// # Errors
/// [`IoError::Write`] if the file cannot be written (an existing file is then
/// left untouched); [`IoError::DuplicateName`] if two tensors share a name.
pub fn save_tensors<'a, F: Float, S: AsRef<str>>(
    path: impl AsRef<Path>,
    tensors: impl IntoIterator<Item = (S, ArrayViewD<'a, F>)>,
    metadata: &Metadata,
) -> Result<(), IoError> {
    let path = path.as_ref();
    let metadata = metadata.clone().with(FORMAT_KEY, FORMAT).with(DTYPE_KEY, F::DTYPE);
    let tensors = tensors.into_iter().map(|(name, view)| (name.as_ref().to_string(), view)).collect();
    let bytes = to_bytes(tensors, &metadata)
        .map_err(|name| IoError::DuplicateName { path: path.to_path_buf(), name })?;
    write_atomic(path, |file| file.write_all(&bytes))
}
