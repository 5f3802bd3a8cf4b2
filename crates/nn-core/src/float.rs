//! The element types a module can compute in: `f32` (the default) and `f64`.

use ndarray::NdFloat;
use num_traits::FromPrimitive;

use crate::elementwise::Elementwise;
use crate::linalg::Gemm;

/// A floating-point element type: `f32` (the default everywhere) or `f64`
/// (what gradient checks use, for tight tolerances).
///
/// Sealed in spirit: the library is written and tested for these two types.
pub trait Float: NdFloat + FromPrimitive + Default + std::iter::Sum + Gemm + Elementwise + 'static {
    /// The name stored in model files and printed by summaries: `"f32"` or `"f64"`.
    const DTYPE: &'static str;

    /// Converts an `f64` literal or statistic, rounding to nearest for `f32`.
    fn of_f64(value: f64) -> Self;

    /// Widens to `f64` (exact for both types).
    fn as_f64(self) -> f64;
}

impl Float for f32 {
    const DTYPE: &'static str = "f32";

    fn of_f64(value: f64) -> Self {
        value as f32
    }

    fn as_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Float for f64 {
    const DTYPE: &'static str = "f64";

    fn of_f64(value: f64) -> Self {
        value
    }

    fn as_f64(self) -> f64 {
        self
    }
}
