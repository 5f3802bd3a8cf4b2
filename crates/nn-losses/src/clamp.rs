//! Clamping that keeps the probability losses finite at ŷ = 0 and ŷ = 1.
//!
//! Forward: the logarithm is clamped at −100, as PyTorch's `BCELoss` does, so
//! `log 0` counts as −100 instead of −∞. Backward: ŷ is clamped into
//! [δ, 1 − δ] with δ = max(1e-12, machine epsilon), i.e. 1e-12 in f64 and
//! about 1.19e-7 in f32 (1 − 1e-12 rounds to 1 in f32), so no gradient
//! divides by 0. NaN passes through both untouched: a diverging network
//! must show as a NaN loss, not as a silently clamped one.

use nn_core::Float;

/// The floor of a clamped logarithm, PyTorch's value.
pub(crate) const LOG_FLOOR: f64 = -100.0;

/// ln `p`, at least −100 (so ln 0 = −100); NaN for NaN or negative `p`.
pub(crate) fn clamped_ln<F: Float>(p: F) -> F {
    let floor = F::of_f64(LOG_FLOOR);
    let l = p.ln();
    if l < floor { floor } else { l }
}

/// δ = max(1e-12, machine epsilon): 1e-12 in f64, about 1.19e-7 in f32.
pub(crate) fn probability_floor<F: Float>() -> F {
    let delta = F::of_f64(1e-12);
    if F::epsilon() > delta { F::epsilon() } else { delta }
}

/// `p` clamped into [δ, 1 − δ] (see [`probability_floor`]); NaN stays NaN.
pub(crate) fn clamp_probability<F: Float>(p: F) -> F {
    let delta = probability_floor::<F>();
    let top = F::one() - delta;
    if p < delta {
        delta
    } else if p > top {
        top
    } else {
        p
    }
}

/// `p` clamped to at least δ (see [`probability_floor`]); NaN stays NaN.
pub(crate) fn floor_probability<F: Float>(p: F) -> F {
    let delta = probability_floor::<F>();
    if p < delta { delta } else { p }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamped_ln_floors_at_minus_100_and_keeps_nan() {
        assert_eq!(clamped_ln(0.0f64), -100.0);
        assert_eq!(clamped_ln(0.0f32), -100.0);
        assert_eq!(clamped_ln(1.0f64), 0.0);
        assert!((clamped_ln(0.5f64) - 0.5f64.ln()).abs() < 1e-15);
        assert!(clamped_ln(f64::NAN).is_nan());
        assert!(clamped_ln(-1.0f64).is_nan());
    }

    #[test]
    fn probability_floor_suits_each_precision() {
        assert_eq!(probability_floor::<f64>(), 1e-12);
        assert_eq!(probability_floor::<f32>(), f32::EPSILON);
        assert!(1.0f32 - probability_floor::<f32>() < 1.0);
        assert_eq!(clamp_probability(0.0f32), f32::EPSILON);
        assert_eq!(clamp_probability(1.0f64), 1.0 - 1e-12);
        assert_eq!(clamp_probability(0.3f64), 0.3);
        assert!(clamp_probability(f64::NAN).is_nan());
        assert_eq!(floor_probability(0.0f64), 1e-12);
        assert_eq!(floor_probability(1.0f64), 1.0);
    }
}
