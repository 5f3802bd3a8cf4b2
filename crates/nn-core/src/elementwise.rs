//! The transcendental functions of activations and losses over slices: tanh,
//! the logistic sigmoid, the exponential and the natural logarithm; and the
//! largest magnitude of a slice, which bounds a fused update (see
//! [`Module::sgd_check`](crate::Module::sgd_check)).
//!
//! For `f32`, glibc's `tanhf` and `expm1f` took 60% of an auto-encoder's
//! training step: one scalar call per element. Here each `f32` is widened to
//! `f64`, where an exponential by range reduction and a polynomial (degree
//! 10; for tanh, e^r − 1 to degree 9, which needs no subtraction) is
//! accurate to about 1e-11 or better, so the `f32` results are the correctly
//! rounded values up to 1 ulp (tested over a sweep against `f64`'s own functions).
//! The loops have no calls and no branches, so the compiler vectorizes them;
//! they run inside `pulp`'s dispatch, which compiles them for AVX-512 or AVX2
//! when the CPU has it. The polynomials are evaluated with explicit fused
//! multiply-adds (`mul_add`): the compiler never fuses `p * r + c` itself, and
//! a separate multiply and add double both the instructions and the length of
//! the dependency chain. A fused multiply-add is exactly rounded everywhere
//! (in hardware, or by the C library's `fma` on CPUs without it), so the
//! results are the same on every CPU. `f64` (gradient checks) keeps the standard library's
//! functions.

/// Element types with slice versions of the activations' functions: `f32` and `f64`.
///
/// Implemented by nn-core for its two [`Float`](crate::Float) types, of which it is a supertrait.
pub trait Elementwise: Sized {
    /// `output[i] = tanh(input[i])`.
    ///
    /// # Panics
    /// If the slices differ in length.
    fn tanh_into(input: &[Self], output: &mut [Self]);

    /// `output[i] = 1 / (1 + e^−input[i])`, without overflow for any input.
    ///
    /// # Panics
    /// If the slices differ in length.
    fn sigmoid_into(input: &[Self], output: &mut [Self]);

    /// `output[i] = ln(input[i])`: −∞ at 0, NaN below 0 and for NaN, +∞ at +∞.
    ///
    /// # Panics
    /// If the slices differ in length.
    fn ln_into(input: &[Self], output: &mut [Self]);

    /// `values[i] = e^values[i]`, in place: +∞ past the type's range, 0 (or a
    /// subnormal) far below it, NaN for NaN.
    fn exp_in_place(values: &mut [Self]);

    /// The largest |value| (0 for an empty slice), or `None` if a value is
    /// NaN or infinite. Long slices are read in two halves on a rayon pool
    /// ([`crate::pool::fold_halves`]).
    fn max_abs(values: &[Self]) -> Option<Self>;
}

// `max_abs` works on the bit patterns: with the sign bit cleared, a float's
// bits order as its magnitude does, and NaN and ±∞ have the largest patterns
// of all. An integer maximum vectorizes where a float one (whose NaN rules
// forbid reordering) does not.

fn max_abs_f32(values: &[f32]) -> Option<f32> {
    const MAGNITUDE: u32 = u32::MAX >> 1;
    let bits =
        pulp::Arch::new().dispatch(|| values.iter().fold(0, |m: u32, v| m.max(v.to_bits() & MAGNITUDE)));
    let largest = f32::from_bits(bits);
    largest.is_finite().then_some(largest)
}

fn max_abs_f64(values: &[f64]) -> Option<f64> {
    const MAGNITUDE: u64 = u64::MAX >> 1;
    let bits =
        pulp::Arch::new().dispatch(|| values.iter().fold(0, |m: u64, v| m.max(v.to_bits() & MAGNITUDE)));
    let largest = f64::from_bits(bits);
    largest.is_finite().then_some(largest)
}

impl Elementwise for f64 {
    fn max_abs(values: &[f64]) -> Option<f64> {
        crate::pool::fold_halves(values, max_abs_f64, |a, b| Some(a?.max(b?)))
    }

    fn tanh_into(input: &[f64], output: &mut [f64]) {
        assert_eq!(input.len(), output.len(), "tanh_into: input and output lengths differ");
        for (y, &x) in output.iter_mut().zip(input) {
            *y = x.tanh();
        }
    }

    fn sigmoid_into(input: &[f64], output: &mut [f64]) {
        assert_eq!(input.len(), output.len(), "sigmoid_into: input and output lengths differ");
        for (y, &x) in output.iter_mut().zip(input) {
            // e^|x| never overflows: for x < 0, e^x / (1 + e^x).
            *y = if x >= 0.0 {
                1.0 / (1.0 + (-x).exp())
            } else {
                let e = x.exp();
                e / (1.0 + e)
            };
        }
    }

    fn ln_into(input: &[f64], output: &mut [f64]) {
        assert_eq!(input.len(), output.len(), "ln_into: input and output lengths differ");
        for (y, &x) in output.iter_mut().zip(input) {
            *y = x.ln();
        }
    }

    fn exp_in_place(values: &mut [f64]) {
        for x in values {
            *x = x.exp();
        }
    }
}

impl Elementwise for f32 {
    fn max_abs(values: &[f32]) -> Option<f32> {
        crate::pool::fold_halves(values, max_abs_f32, |a, b| Some(a?.max(b?)))
    }

    fn tanh_into(input: &[f32], output: &mut [f32]) {
        assert_eq!(input.len(), output.len(), "tanh_into: input and output lengths differ");
        pulp::Arch::new().dispatch(|| {
            for (y, &x) in output.iter_mut().zip(input) {
                *y = tanh_f32(x);
            }
        });
    }

    fn sigmoid_into(input: &[f32], output: &mut [f32]) {
        assert_eq!(input.len(), output.len(), "sigmoid_into: input and output lengths differ");
        pulp::Arch::new().dispatch(|| {
            for (y, &x) in output.iter_mut().zip(input) {
                *y = sigmoid_f32(x);
            }
        });
    }

    fn ln_into(input: &[f32], output: &mut [f32]) {
        assert_eq!(input.len(), output.len(), "ln_into: input and output lengths differ");
        pulp::Arch::new().dispatch(|| {
            for (y, &x) in output.iter_mut().zip(input) {
                *y = ln_f32(x);
            }
        });
    }

    fn exp_in_place(values: &mut [f32]) {
        pulp::Arch::new().dispatch(|| {
            for x in values.iter_mut() {
                *x = exp_f32(*x);
            }
        });
    }
}

/// e^x in f64 arithmetic, rounded to f32. x is capped to [−110, 100]: below
/// −104 the result is under half the smallest f32 subnormal, above 89 it
/// overflows f32 (the cast gives +∞). NaN stays NaN.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    exp_small(f64::from(x).clamp(-110.0, 100.0)) as f32
}

/// ln x in f64 arithmetic. Every positive finite f32 is a normal f64, so
/// x = 2^e·m with m in [√½, √2), and ln m = 2·atanh(s) with s = (m − 1)/(m + 1),
/// |s| ≤ 0.172, summed to s²¹ (the remainder is below 1e-17). Zero, negative,
/// infinite and NaN inputs are chosen at the end, without branches.
#[inline(always)]
fn ln_f32(x: f32) -> f32 {
    const MANTISSA: u64 = (1 << 52) - 1;
    const ONE_EXPONENT: u64 = 1023 << 52;
    let wide = f64::from(x);
    let bits = wide.to_bits();
    let mut exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & MANTISSA) | ONE_EXPONENT);
    let high = m > std::f64::consts::SQRT_2;
    m = if high { 0.5 * m } else { m };
    exponent += i64::from(high);
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let mut series: f64 = 1.0 / 21.0;
    for odd in [19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0] {
        series = series.mul_add(z, 1.0 / odd);
    }
    let ln = exponent as f64 * std::f64::consts::LN_2 + 2.0 * s * series;
    let special = if x == 0.0 {
        f32::NEG_INFINITY
    } else if x == f32::INFINITY {
        f32::INFINITY
    } else {
        f32::NAN
    };
    if x > 0.0 && x < f32::INFINITY { ln as f32 } else { special }
}

/// tanh in f64 arithmetic: tanh |x| = m/(m + 2) with m = e^{2|x|} − 1,
/// and the sign of x. m is computed without cancellation, so one formula
/// serves small and large |x| alike: 2|x| = n·ln 2 + r ([`reduce`]),
/// e^r − 1 = r·q(r) with q summed to r⁸/9! (the remainder is below 3e-11),
/// and m = 2^n·(e^r − 1) + (2^n − 1). |x| is capped at 10, where tanh rounds
/// to ±1 in f32 already. NaN stays NaN; −0 stays −0.
#[inline(always)]
fn tanh_f32(x: f32) -> f32 {
    let (r, scale) = reduce(2.0 * f64::from(x).abs().clamp(0.0, 10.0));
    let mut q: f64 = 1.0 / 362_880.0;
    for c in [40_320.0, 5_040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0] {
        q = q.mul_add(r, 1.0 / c);
    }
    let m = (r * q).mul_add(scale, scale - 1.0);
    ((m / (m + 2.0)) as f32).copysign(x)
}

/// 1 / (1 + e^−x) in f64 arithmetic. x is capped to [−110, 40]: below −104
/// the result is under half the smallest f32 subnormal, above 17 it rounds
/// to 1. NaN stays NaN.
#[inline(always)]
fn sigmoid_f32(x: f32) -> f32 {
    let x = f64::from(x).clamp(-110.0, 40.0);
    (1.0 / (1.0 + exp_small(-x))) as f32
}

/// e^y for |y| ≤ 700 in f64, to about 1e-13 relative, without calls or
/// branches: e^r by its Taylor series to r¹⁰ (the remainder is below 3e-13)
/// after [`reduce`]. NaN gives NaN.
#[inline(always)]
fn exp_small(y: f64) -> f64 {
    let (r, scale) = reduce(y);
    let mut p: f64 = 1.0 / 3_628_800.0;
    for c in [362_880.0, 40_320.0, 5_040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0, 1.0] {
        p = p.mul_add(r, 1.0 / c);
    }
    p * scale
}

/// y = n·ln 2 + r with n a whole number and |r| ≤ ln 2 / 2, for |y| ≤ 700:
/// returns r and 2^n (built in the exponent bits). NaN gives a NaN r.
#[inline(always)]
fn reduce(y: f64) -> (f64, f64) {
    // Adding 1.5·2^52 rounds to an integer (to nearest) in the low mantissa bits.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    const LN2_HI: f64 = 0.693_147_180_369_123_8; // ln 2 with the low 32 bits cleared, exact in n·LN2_HI
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10; // ln 2 − LN2_HI
    let shifted = y * std::f64::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (y - n * LN2_HI) - n * LN2_LO;
    // The low bits of `shifted` hold n in two's complement; 2^n has exponent n + 1023.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    (r, f64::from_bits(n_bits.wrapping_add(1023) << 52))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite f32 of the same sign.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    /// Inputs from −120 to 120: a fine sweep near 0, wider steps beyond, and
    /// values at the edges of the formulas' ranges (the caps, and tanh's
    /// first halving of the range reduction, 2|x| = ln 2 / 2).
    fn sweep() -> Vec<f32> {
        let mut xs =
            vec![0.0, -0.0, 1e-4, -1e-4, 0.99e-4, 1e-30, -1e-30, 9.0, 10.0, -10.0, 17.0, -87.0, -104.0];
        let ln2_quarter = std::f32::consts::LN_2 / 4.0;
        for step in -3..=3 {
            let x = ln2_quarter + step as f32 * f32::EPSILON * ln2_quarter;
            xs.extend([x, -x]);
        }
        let mut x = 1e-8f32;
        while x < 120.0 {
            xs.push(x);
            xs.push(-x);
            x *= 1.0 + 1.0 / 64.0;
        }
        xs.extend((-20_000..20_000).map(|i| i as f32 * 1e-3 + 1.23e-4));
        xs
    }

    #[test]
    fn fast_tanh_is_within_1_ulp_of_the_rounded_f64_value() {
        let xs = sweep();
        let mut ys = vec![0.0f32; xs.len()];
        f32::tanh_into(&xs, &mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            let expected = f64::from(x).tanh() as f32;
            assert!(ulps(y, expected) <= 1, "tanh({x}) = {y}, correctly rounded {expected}");
        }
    }

    #[test]
    fn fast_sigmoid_is_within_1_ulp_of_the_rounded_f64_value() {
        let xs = sweep();
        let mut ys = vec![0.0f32; xs.len()];
        f32::sigmoid_into(&xs, &mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            let expected = (1.0 / (1.0 + (-f64::from(x)).exp())) as f32;
            assert!(ulps(y, expected) <= 1, "sigmoid({x}) = {y}, correctly rounded {expected}");
        }
    }

    #[test]
    fn max_abs_is_the_largest_magnitude_or_none_for_nan_and_infinity() {
        assert_eq!(f32::max_abs(&[]), Some(0.0));
        assert_eq!(f32::max_abs(&[1.5, -3.25, 2.0, -0.0]), Some(3.25));
        assert_eq!(f64::max_abs(&[1.5, -3.25, 2.0]), Some(3.25));
        assert_eq!(f32::max_abs(&[f32::MAX, -1.0]), Some(f32::MAX));
        assert_eq!(f32::max_abs(&[f32::MIN_POSITIVE / 4.0]), Some(f32::MIN_POSITIVE / 4.0));
        for bad in [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut values = vec![1.0; 1000];
            values[777] = bad;
            assert_eq!(f32::max_abs(&values), None, "{bad}");
            assert_eq!(
                f64::max_abs(&values.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()),
                None,
                "{bad}"
            );
        }
        // Halves on a pool: the largest value in either half, None for NaN in either.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let mut long = vec![0.5_f32; crate::pool::SHARE_MIN + 5];
        long[3] = -7.0;
        assert_eq!(pool.install(|| f32::max_abs(&long)), Some(7.0));
        *long.last_mut().unwrap() = 9.0;
        assert_eq!(pool.install(|| f32::max_abs(&long)), Some(9.0));
        *long.last_mut().unwrap() = f32::NAN;
        assert_eq!(pool.install(|| f32::max_abs(&long)), None);
    }

    #[test]
    fn limits_and_nan() {
        let xs = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e30, -1e30];
        let mut ys = [0.0f32; 5];
        f32::tanh_into(&xs, &mut ys);
        assert_eq!(&ys[..2], &[1.0, -1.0]);
        assert!(ys[2].is_nan());
        assert_eq!(&ys[3..], &[1.0, -1.0]);
        // The sign of zero, and values so small that tanh x rounds to x (subnormals too).
        let tiny = [-0.0f32, 1e-40, -1e-40, 1e-20];
        let mut out = [1.0f32; 4];
        f32::tanh_into(&tiny, &mut out);
        assert_eq!(out.map(f32::to_bits), tiny.map(f32::to_bits));
        f32::sigmoid_into(&xs, &mut ys);
        assert_eq!(&ys[..2], &[1.0, 0.0]);
        assert!(ys[2].is_nan());
        assert_eq!(&ys[3..], &[1.0, 0.0]);
        let mut y64 = [0.0f64; 3];
        f64::sigmoid_into(&[-1000.0, 0.0, 1000.0], &mut y64);
        assert_eq!(y64, [0.0, 0.5, 1.0]);
        f64::tanh_into(&[0.5f64.atanh(), 0.0, -1000.0], &mut y64);
        assert!((y64[0] - 0.5).abs() < 1e-15 && y64[1] == 0.0 && y64[2] == -1.0);
    }

    #[test]
    fn fast_ln_is_within_1_ulp_of_the_rounded_f64_value() {
        let mut xs = vec![f32::MIN_POSITIVE, 1e-45, 1e-40, f32::MAX, 1.0, 0.5, 2.0, 1.0 - f32::EPSILON / 2.0];
        // Subnormals: every 2^-149 · i up to a few thousand, then by factors.
        xs.extend((1..4096).map(f32::from_bits));
        let mut x = f32::MIN_POSITIVE;
        while x < 3e38 {
            xs.push(x);
            x *= 1.0 + 1.0 / 128.0;
        }
        xs.extend((1..100_000).map(|i| i as f32 * 1e-5));
        xs.extend([std::f32::consts::SQRT_2, std::f32::consts::FRAC_1_SQRT_2]);
        let mut ys = vec![0.0f32; xs.len()];
        f32::ln_into(&xs, &mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            let expected = f64::from(x).ln() as f32;
            assert!(ulps(y, expected) <= 1, "ln({x}) = {y}, correctly rounded {expected}");
        }
    }

    #[test]
    fn ln_at_zero_infinity_negatives_and_nan() {
        let xs = [0.0f32, -0.0, f32::INFINITY, -1.0, f32::NEG_INFINITY, f32::NAN, -1e-40];
        let mut ys = [0.0f32; 7];
        f32::ln_into(&xs, &mut ys);
        assert_eq!(&ys[..3], &[f32::NEG_INFINITY, f32::NEG_INFINITY, f32::INFINITY]);
        assert!(ys[3..].iter().all(|y| y.is_nan()));
        let mut y64 = [0.0f64; 3];
        f64::ln_into(&[0.0, 1.0, -1.0], &mut y64);
        assert!(y64[0] == f64::NEG_INFINITY && y64[1] == 0.0 && y64[2].is_nan());
    }

    #[test]
    fn fast_exp_is_within_1_ulp_of_the_rounded_f64_value() {
        let mut xs = sweep();
        xs.extend((-104_000..89_000).map(|i| i as f32 * 1e-3));
        xs.extend([88.72, 88.73, -87.3, -103.9, -103.98]);
        let mut ys = xs.clone();
        f32::exp_in_place(&mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            let expected = f64::from(x).exp() as f32;
            let close = if expected.is_finite() { ulps(y, expected) <= 1 } else { y == expected };
            assert!(close, "exp({x}) = {y}, correctly rounded {expected}");
        }
        let mut limits = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e30, -1e30, 0.0];
        f32::exp_in_place(&mut limits);
        assert_eq!(limits[..2], [f32::INFINITY, 0.0]);
        assert!(limits[2].is_nan());
        assert_eq!(limits[3..], [f32::INFINITY, 0.0, 1.0]);
        let mut wide = [0.0f64, 1.0, -1000.0];
        f64::exp_in_place(&mut wide);
        assert_eq!(wide, [1.0, std::f64::consts::E, 0.0]);
    }

    #[test]
    fn exp_small_is_accurate_to_1e_12() {
        for i in -7000..7000 {
            let y = f64::from(i) * 0.1 + 0.0123;
            let relative = (exp_small(y) - y.exp()).abs() / y.exp();
            assert!(relative < 1e-12, "exp({y}): relative error {relative}");
        }
    }

    #[test]
    #[should_panic(expected = "tanh_into: input and output lengths differ")]
    fn lengths_must_match() {
        f32::tanh_into(&[1.0, 2.0], &mut [0.0]);
    }
}
