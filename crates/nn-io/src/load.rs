//! Loading: strictly into a module, or as named tensors, or just the metadata.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ndarray::{ArrayD, Dimension, IxDyn};
use nn_core::{Float, Module};

use crate::elements::{decode_le, dtype_name, dtype_of};
use crate::format::{Parsed, parse};
use crate::{IoError, Metadata, ShapeMismatch, TensorFile};

/// Loads the parameters saved in `path` into `module` and returns the file's metadata.
///
/// Strict, as PyTorch's `load_state_dict(strict=True)`: every tensor must
/// have the model's element type `F` (an `f64` file is not silently cast
/// into an `f32` model), every value must be finite, and the names and
/// shapes must be exactly the model's parameters. All problems are reported at once; only if there is
/// none are the values copied in, so on error `module` is unchanged.
///
/// # Errors
/// - [`IoError::Read`] if the file cannot be read;
/// - [`IoError::Corrupt`] if it is truncated or not a safetensors file;
/// - [`IoError::DType`] if a tensor is not of type `F`, naming both types;
/// - [`IoError::NonFinite`] if a tensor holds a NaN or an infinity, naming
///   the tensor, the value and its index;
/// - [`IoError::Mismatch`] listing missing and unexpected tensors and each
///   shape as `0.weight: file (10, 64) vs model (100, 64)`.
pub fn load_into<F: Float, M: Module<F> + ?Sized>(
    module: &mut M,
    path: impl AsRef<Path>,
) -> Result<Metadata, IoError> {
    let path = path.as_ref();
    let file = load_tensors::<F>(path)?;
    assign_parameters(module, &file.tensors, path)?;
    Ok(file.metadata)
}

/// Copies `tensors` into the parameters of `module`, by name, strictly, as
/// [`load_into`] does; `path` is where they came from, for the message.
///
/// This is the second half of [`load_into`], for files that hold more than
/// a module's parameters: take those out first (a checkpoint's optimizer
/// state, say), then assign the rest.
///
/// # Errors
/// [`IoError::Mismatch`] listing missing and unexpected tensors and each
/// shape difference; `module` is then unchanged.
pub fn assign_parameters<F: Float, M: Module<F> + ?Sized>(
    module: &mut M,
    tensors: &BTreeMap<String, ArrayD<F>>,
    path: impl AsRef<Path>,
) -> Result<(), IoError> {
    let mut missing = Vec::new();
    let mut shapes = Vec::new();
    let mut known = BTreeSet::new();
    module.visit_parameters(&mut |p| {
        let name = p.name.to_string();
        match tensors.get(&name) {
            None => missing.push(name.clone()),
            Some(t) if t.shape() != p.value.shape() => shapes.push(ShapeMismatch {
                name: name.clone(),
                file: t.shape().to_vec(),
                model: p.value.shape().to_vec(),
            }),
            Some(_) => {}
        }
        known.insert(name);
    });
    let unexpected: Vec<String> = tensors.keys().filter(|name| !known.contains(*name)).cloned().collect();
    if !(missing.is_empty() && unexpected.is_empty() && shapes.is_empty()) {
        return Err(IoError::Mismatch { path: path.as_ref().to_path_buf(), missing, unexpected, shapes });
    }
    module.visit_parameters_mut(&mut |mut p| {
        if let Some(t) = tensors.get(&p.name.to_string()) {
            p.value.assign(t);
        }
    });
    Ok(())
}

/// Reads every tensor of `path`, all of element type `F` and finite, with the metadata.
///
/// Every tensor is checked, not only a module's parameters: a checkpoint's
/// optimizer state with a NaN in it is refused too.
///
/// # Errors
/// [`IoError::Read`], [`IoError::Corrupt`], [`IoError::DType`] naming the
/// first tensor (in name order) that is not of type `F`, or
/// [`IoError::NonFinite`] naming the first tensor (in name order) that holds
/// a NaN or an infinity, with the first such value and its index.
pub fn load_tensors<F: Float>(path: impl AsRef<Path>) -> Result<TensorFile<F>, IoError> {
    let path = path.as_ref();
    let bytes = read(path)?;
    let Parsed { tensors: raw, metadata } = parse(&bytes).map_err(|reason| corrupt(path, reason))?;
    let mut tensors = BTreeMap::new();
    for (name, t) in raw {
        if t.dtype != dtype_of::<F>() {
            return Err(IoError::DType {
                path: path.to_path_buf(),
                tensor: name,
                file: dtype_name(t.dtype),
                model: F::DTYPE,
            });
        }
        let array = ArrayD::from_shape_vec(IxDyn(&t.shape), decode_le::<F>(t.data))
            .map_err(|e| corrupt(path, format!("tensor {name}: {e}")))?;
        // A NaN weight loads, evaluates and predicts without complaint (every
        // output NaN, every label 0): refuse it here, where the file is named.
        if let Some((index, value)) = array.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(IoError::NonFinite {
                path: path.to_path_buf(),
                tensor: name,
                value: value.as_f64(),
                index: index.slice().to_vec(),
            });
        }
        tensors.insert(name, array);
    }
    Ok(TensorFile { tensors, metadata })
}

/// Reads the metadata of `path`, e.g. to rebuild the network from its
/// notation before [`load_into`]. The whole file is validated.
///
/// # Errors
/// [`IoError::Read`] or [`IoError::Corrupt`].
pub fn read_metadata(path: impl AsRef<Path>) -> Result<Metadata, IoError> {
    let path = path.as_ref();
    let bytes = read(path)?;
    let parsed = parse(&bytes).map_err(|reason| corrupt(path, reason))?;
    Ok(parsed.metadata)
}

fn read(path: &Path) -> Result<Vec<u8>, IoError> {
    std::fs::read(path).map_err(|source| IoError::Read { path: path.to_path_buf(), source })
}

fn corrupt(path: &Path, reason: String) -> IoError {
    IoError::Corrupt { path: path.to_path_buf(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::save;
    use crate::test_dir::TestDir;
    use nn_layers::{Conv1D, Flatten, Linear, ReLU};
    use nn_models::{AutoEncoder, Sequential};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn mlp<F: Float>(hidden: usize, seed: u64) -> Sequential<F> {
        let mut rng = StdRng::seed_from_u64(seed);
        Sequential::new()
            .add(Linear::new(64, hidden, &mut rng))
            .add(ReLU::new())
            .add(Linear::new(hidden, 10, &mut rng))
    }

    fn conv<F: Float>(seed: u64) -> Sequential<F> {
        let mut rng = StdRng::seed_from_u64(seed);
        Sequential::new()
            .add(Conv1D::new(3, 1, 4, 1, &mut rng))
            .add(ReLU::new())
            .add(Flatten::new())
            .add(Linear::new(4 * 62, 10, &mut rng))
    }

    fn parameters<F: Float, M: Module<F> + ?Sized>(m: &M) -> Vec<(String, ArrayD<F>)> {
        let mut out = Vec::new();
        m.visit_parameters(&mut |p| out.push((p.name.to_string(), p.value.to_owned())));
        out
    }

    #[test]
    fn save_then_load_gives_identical_parameters() {
        let dir = TestDir::new("round-trip");
        let path = dir.join("m.safetensors");
        let net = conv::<f32>(1);
        save(&net, &path, &Metadata::new().with("net", net.to_string())).unwrap();
        let mut fresh = conv::<f32>(2);
        assert_ne!(parameters(&net), parameters(&fresh));
        let meta = load_into(&mut fresh, &path).unwrap();
        assert_eq!(parameters(&net), parameters(&fresh));
        assert_eq!(meta.get("net"), Some("Conv1D(3, 1, 4) -> ReLU() -> Flatten() -> Linear(248, 10)"));
        assert_eq!(meta.get("format"), Some("nn"));
        assert_eq!(meta.dtype(), Some("f32"));
        assert_eq!(read_metadata(&path).unwrap(), meta);

        let file = load_tensors::<f32>(&path).unwrap();
        assert_eq!(file.tensors["0.weight"].shape(), &[4, 1, 3]); // PyTorch's Conv1d (out, in, k)
        assert_eq!(file.tensors["3.weight"].shape(), &[10, 248]); // Linear (out, in)
        assert_eq!(file.tensors.len(), 4);
    }

    #[test]
    fn f64_models_and_autoencoders_round_trip() {
        let dir = TestDir::new("round-trip-f64");
        let path = dir.join("ae.safetensors");
        let ae = AutoEncoder::new(mlp::<f64>(8, 3), mlp::<f64>(8, 4));
        save(&ae, &path, &Metadata::new()).unwrap();
        let file = load_tensors::<f64>(&path).unwrap();
        assert!(file.tensors.contains_key("encoder.0.weight") && file.tensors.contains_key("decoder.2.bias"));
        assert_eq!(file.metadata.dtype(), Some("f64"));
        let mut fresh = AutoEncoder::new(mlp::<f64>(8, 5), mlp::<f64>(8, 6));
        load_into(&mut fresh, &path).unwrap();
        assert_eq!(parameters(&ae), parameters(&fresh));
    }

    #[test]
    fn saving_twice_gives_the_same_bytes() {
        let dir = TestDir::new("deterministic");
        let net = mlp::<f32>(5, 1);
        let meta = Metadata::new().with("b", "2").with("a", "1");
        save(&net, dir.join("a"), &meta).unwrap();
        save(&net, dir.join("b"), &meta).unwrap();
        assert_eq!(std::fs::read(dir.join("a")).unwrap(), std::fs::read(dir.join("b")).unwrap());
    }

    #[test]
    fn strict_loading_lists_missing_unexpected_and_shapes() {
        let dir = TestDir::new("strict");
        let path = dir.join("m.safetensors");
        // File: Linear(64, 10) -> ReLU -> Linear(10, 10) -> ReLU -> Linear(10, 3)
        let mut rng = StdRng::seed_from_u64(0);
        let saved = Sequential::<f32>::new()
            .add(Linear::new(64, 10, &mut rng))
            .add(ReLU::new())
            .add(Linear::new(10, 10, &mut rng))
            .add(ReLU::new())
            .add(Linear::new(10, 3, &mut rng));
        save(&saved, &path, &Metadata::new()).unwrap();
        // Model: Linear(64, 100) -> ReLU -> Linear(100, 10): 2.weight differs, 4.* unexpected.
        let mut model = mlp::<f32>(100, 1);
        let before = parameters(&model);
        let err = load_into(&mut model, &path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} does not fit the model: unexpected 4.bias, 4.weight; 0.weight: file (10, 64) vs model (100, 64); 0.bias: file (10,) vs model (100,); 2.weight: file (10, 10) vs model (10, 100)",
                path.display()
            )
        );
        assert_eq!(parameters(&model), before, "nothing is copied when anything differs");

        // A deeper model than the file: missing tensors.
        let mut deeper = Sequential::<f32>::new()
            .add(Linear::new(64, 10, &mut rng))
            .add(ReLU::new())
            .add(Linear::new(10, 10, &mut rng))
            .add(ReLU::new())
            .add(Linear::new(10, 3, &mut rng))
            .add(ReLU::new())
            .add(Linear::new(3, 3, &mut rng));
        let err = load_into(&mut deeper, &path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{} does not fit the model: missing 6.weight, 6.bias", path.display())
        );
        let IoError::Mismatch { missing, unexpected, shapes, .. } = err else { panic!() };
        assert_eq!((missing.len(), unexpected.len(), shapes.len()), (2, 0, 0));
    }

    #[test]
    fn an_f64_file_is_not_cast_into_an_f32_model() {
        let dir = TestDir::new("dtype");
        let path = dir.join("m64.safetensors");
        save(&mlp::<f64>(5, 1), &path, &Metadata::new()).unwrap();
        let err = load_into(&mut mlp::<f32>(5, 1), &path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: tensor 0.bias is f64 but the model computes in f32; build the model in f64 or convert the file",
                path.display()
            )
        );
        let path32 = dir.join("m32.safetensors");
        save(&mlp::<f32>(5, 1), &path32, &Metadata::new()).unwrap();
        let err = load_tensors::<f64>(&path32).unwrap_err();
        assert!(matches!(err, IoError::DType { file, model: "f64", .. } if file == "f32"));
    }

    #[test]
    fn truncated_or_corrupt_files_are_errors_naming_the_file() {
        let dir = TestDir::new("corrupt");
        let good = dir.join("good.safetensors");
        save(&mlp::<f32>(5, 1), &good, &Metadata::new().with("net", "x")).unwrap();
        let bytes = std::fs::read(&good).unwrap();
        let bad = dir.join("bad.safetensors");
        let n = bytes.len();
        for cut in [0, 1, 7, 8, 9, 20, 100, n / 2, n - 4, n - 1] {
            std::fs::write(&bad, &bytes[..cut]).unwrap();
            let err = load_into(&mut mlp::<f32>(5, 1), &bad).unwrap_err();
            assert!(matches!(err, IoError::Corrupt { .. }), "cut at {cut}: {err}");
            let prefix = format!("{} is not a valid safetensors file: ", bad.display());
            assert!(err.to_string().starts_with(&prefix), "{err}");
            assert!(read_metadata(&bad).is_err());
        }
        std::fs::write(&bad, &bytes[..n - 1]).unwrap();
        assert_eq!(
            load_tensors::<f32>(&bad).unwrap_err().to_string(),
            format!(
                "{} is not a valid safetensors file: tensor 2.weight ends at byte 1540 of the data but the file holds 1539 bytes of data (truncated?)",
                bad.display()
            )
        );
        let mut garbage = bytes.clone();
        garbage[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&bad, &garbage).unwrap();
        assert!(
            load_tensors::<f32>(&bad)
                .unwrap_err()
                .to_string()
                .contains("the header length is 18446744073709551615 bytes")
        );
        std::fs::write(&bad, b"this is a CSV file, not a model\n1,2,3\n").unwrap();
        assert!(matches!(read_metadata(&bad).unwrap_err(), IoError::Corrupt { .. }));
    }

    /// Saves the tensors of `from` to `to` with the value at `index` of `tensor` replaced.
    fn with_value<F: Float>(from: &Path, to: &Path, tensor: &str, index: &[usize], value: F) {
        let mut file = load_tensors::<F>(from).unwrap();
        file.tensors.get_mut(tensor).unwrap()[IxDyn(index)] = value;
        crate::save_tensors(to, file.tensors.iter().map(|(k, v)| (k, v.view())), &file.metadata).unwrap();
    }

    #[test]
    fn non_finite_values_are_refused_naming_tensor_value_and_index() {
        let dir = TestDir::new("non-finite");
        let good = dir.join("good.safetensors");
        let bad = dir.join("bad.safetensors");
        save(&mlp::<f32>(5, 1), &good, &Metadata::new().with("net", "x")).unwrap();
        let cases: [(&str, &[usize], f32, &str); 4] = [
            ("0.bias", &[3], f32::NAN, "tensor 0.bias holds a non-finite value (NaN) at index 3"),
            ("0.weight", &[0, 0], f32::NAN, "tensor 0.weight holds a non-finite value (NaN) at index (0, 0)"),
            (
                "2.weight",
                &[9, 4],
                f32::INFINITY,
                "tensor 2.weight holds a non-finite value (inf) at index (9, 4)",
            ),
            ("2.bias", &[0], f32::NEG_INFINITY, "tensor 2.bias holds a non-finite value (-inf) at index 0"),
        ];
        for (tensor, index, value, message) in cases {
            with_value(&good, &bad, tensor, index, value);
            let mut model = mlp::<f32>(5, 2);
            let before = parameters(&model);
            let err = load_into(&mut model, &bad).unwrap_err();
            assert_eq!(err.to_string(), format!("{}: {message}", bad.display()));
            assert_eq!(parameters(&model), before, "nothing is copied from a file with {value}");
            assert!(matches!(load_tensors::<f32>(&bad).unwrap_err(), IoError::NonFinite { .. }));
        }
        // The first in name order, and the first in row-major order within it.
        let mut file = load_tensors::<f32>(&good).unwrap();
        file.tensors.get_mut("2.bias").unwrap()[IxDyn(&[1])] = f32::NAN;
        file.tensors.get_mut("0.weight").unwrap()[IxDyn(&[1, 2])] = f32::INFINITY;
        file.tensors.get_mut("0.weight").unwrap()[IxDyn(&[2, 0])] = f32::NAN;
        crate::save_tensors(&bad, file.tensors.iter().map(|(k, v)| (k, v.view())), &file.metadata).unwrap();
        assert_eq!(
            load_tensors::<f32>(&bad).unwrap_err().to_string(),
            format!("{}: tensor 0.weight holds a non-finite value (inf) at index (1, 2)", bad.display())
        );
        // The metadata alone can still be read (to say what the file is).
        assert_eq!(read_metadata(&bad).unwrap().get("net"), Some("x"));
    }

    #[test]
    fn non_finite_values_are_refused_in_f64_files_and_in_every_tensor() {
        let dir = TestDir::new("non-finite-64");
        let good = dir.join("good.safetensors");
        let bad = dir.join("bad.safetensors");
        save(&conv::<f64>(1), &good, &Metadata::new()).unwrap();
        with_value(&good, &bad, "0.weight", &[3, 0, 2], f64::NAN);
        assert_eq!(
            load_into(&mut conv::<f64>(2), &bad).unwrap_err().to_string(),
            format!("{}: tensor 0.weight holds a non-finite value (NaN) at index (3, 0, 2)", bad.display())
        );
        // Tensors that are no parameter, such as a checkpoint's optimizer state.
        let mut file = load_tensors::<f64>(&good).unwrap();
        let mut state = ArrayD::<f64>::zeros(IxDyn(&[4]));
        state[2] = f64::INFINITY;
        file.tensors.insert("optimizer.exp_avg.0.bias".into(), state);
        crate::save_tensors(&bad, file.tensors.iter().map(|(k, v)| (k, v.view())), &file.metadata).unwrap();
        assert_eq!(
            load_tensors::<f64>(&bad).unwrap_err().to_string(),
            format!(
                "{}: tensor optimizer.exp_avg.0.bias holds a non-finite value (inf) at index 2",
                bad.display()
            )
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = load_tensors::<f32>("/nonexistent-nn-io/m.safetensors").unwrap_err();
        assert!(err.to_string().starts_with("cannot read /nonexistent-nn-io/m.safetensors: "), "{err}");
    }

    #[test]
    fn every_byte_flip_in_the_header_is_an_error_or_a_valid_file() {
        let dir = TestDir::new("flips");
        let good = dir.join("good.safetensors");
        save(&mlp::<f32>(3, 1), &good, &Metadata::new()).unwrap();
        let bytes = std::fs::read(&good).unwrap();
        let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let bad = dir.join("bad.safetensors");
        for i in 0..header_end {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                std::fs::write(&bad, &b).unwrap();
                // Must not panic; either outcome is fine.
                let _ = load_into(&mut mlp::<f32>(3, 1), &bad);
            }
        }
    }
}
