//! Elements as little-endian bytes: `f32` or `f64`, as the model's [`Float`] says.

use nn_core::Float;
use safetensors::Dtype;

/// The safetensors element type of `F`: `F64` for `f64`, `F32` otherwise.
pub(crate) fn dtype_of<F: Float>() -> Dtype {
    if F::DTYPE == "f64" { Dtype::F64 } else { Dtype::F32 }
}

/// A safetensors element type in lower case, as messages print it: `f32`, `bf16`, `i64`.
pub(crate) fn dtype_name(dtype: Dtype) -> String {
    dtype.to_string().to_ascii_lowercase()
}

/// Appends `values` to `out` as little-endian `F::DTYPE` elements.
pub(crate) fn extend_le<'a, F: Float>(out: &mut Vec<u8>, values: impl Iterator<Item = &'a F>) {
    if dtype_of::<F>() == Dtype::F64 {
        for v in values {
            out.extend_from_slice(&v.as_f64().to_le_bytes());
        }
    } else {
        // Exact: F is f32 here, widened to f64 and back.
        for v in values {
            out.extend_from_slice(&(v.as_f64() as f32).to_le_bytes());
        }
    }
}

/// Reads little-endian `F::DTYPE` elements; `bytes.len()` is a multiple of
/// the element size (the file's offsets were validated).
pub(crate) fn decode_le<F: Float>(bytes: &[u8]) -> Vec<F> {
    if dtype_of::<F>() == Dtype::F64 {
        bytes.chunks_exact(8).map(|c| F::of_f64(f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))).collect()
    } else {
        bytes
            .chunks_exact(4)
            .map(|c| F::of_f64(f64::from(f32::from_le_bytes(c.try_into().unwrap_or([0; 4])))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_round_trip_bit_for_bit() {
        let values32 = [0.1f32, -0.0, f32::MIN_POSITIVE, 3.4e38, f32::INFINITY, 1.0e-45];
        let mut bytes = Vec::new();
        extend_le(&mut bytes, values32.iter());
        assert_eq!(&bytes[..4], &0.1f32.to_le_bytes());
        let back: Vec<f32> = decode_le(&bytes);
        assert_eq!(back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), values32.map(f32::to_bits));

        let values64 = [0.1f64, -2.5e-300, f64::MAX];
        let mut bytes = Vec::new();
        extend_le(&mut bytes, values64.iter());
        assert_eq!(bytes.len(), 24);
        assert_eq!(decode_le::<f64>(&bytes), values64);
    }

    #[test]
    fn dtypes_print_in_lower_case() {
        assert_eq!(dtype_name(dtype_of::<f32>()), "f32");
        assert_eq!(dtype_name(dtype_of::<f64>()), "f64");
        assert_eq!(dtype_name(Dtype::BF16), "bf16");
    }
}
