//! Axis ranges and tick labels shared by the charts.

/// Data beyond ±[`LIMIT`] (or below `1 / LIMIT` on a log axis) is cut off the
/// axis: plotters' tick search needs a finite span.
const LIMIT: f64 = 1e300;

/// Spans narrower than this fraction of the magnitude count as flat: finer
/// steps would be lost in f64 rounding (plotters' tick search stalls on them)
/// and no tick label could tell them apart.
const MIN_RELATIVE_SPAN: f64 = 1e-9;

/// `lo..hi` widened by 5 % on each side; a flat series gets a band of 10 % of
/// its value (±1 around 0).
pub(crate) fn linear_range(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = (lo.clamp(-LIMIT, LIMIT), hi.clamp(-LIMIT, LIMIT));
    let span = hi - lo;
    let magnitude = lo.abs().max(hi.abs());
    if span > MIN_RELATIVE_SPAN * magnitude {
        (lo - 0.05 * span, hi + 0.05 * span)
    } else {
        let mid = lo + span / 2.0;
        let pad = if mid == 0.0 { 1.0 } else { 0.1 * mid.abs() };
        (mid - pad, mid + pad)
    }
}

/// The log-axis counterpart of [`LIMIT`]: data outside `1 / LOG_LIMIT ..
/// LOG_LIMIT` is cut off, so that `hi / lo` stays finite.
const LOG_LIMIT: f64 = 1e150;

/// `lo..hi` (both > 0) widened by 5 % of the span in log space; a flat series
/// gets a factor of 2 each side.
pub(crate) fn log_range(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = (lo.clamp(1.0 / LOG_LIMIT, LOG_LIMIT), hi.clamp(1.0 / LOG_LIMIT, LOG_LIMIT));
    let ratio = hi / lo;
    if ratio > 1.0 + MIN_RELATIVE_SPAN {
        let pad = ratio.powf(0.05);
        (lo / pad, hi * pad)
    } else {
        (lo / 2.0, hi * 2.0)
    }
}

/// Ticks of a log axis over `lo..hi` (both > 0): 1-2-5 per decade over a
/// short range, 1 and 3 over a few decades, powers of ten beyond (every
/// k-th one over more than 8 decades).
pub(crate) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let decades = hi.log10() - lo.log10();
    if decades > 8.0 {
        let k = (decades / 8.0).ceil() as usize;
        return (first..=last).filter(|e| e % k as i32 == 0).map(|e| power_of_ten(1.0, e)).collect();
    }
    let steps: &[&[f64]] = if decades <= 1.2 {
        &[
            &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0],
            &[1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0],
        ]
    } else if decades <= 2.5 {
        &[&[1.0, 2.0, 5.0], &[1.0, 2.0, 3.0, 5.0, 7.0]]
    } else if decades <= 4.5 {
        &[&[1.0, 3.0], &[1.0, 2.0, 5.0]]
    } else {
        &[&[1.0], &[1.0, 3.0]]
    };
    let mut ticks = Vec::new();
    for mantissas in steps {
        ticks = (first..=last)
            .flat_map(|e| mantissas.iter().map(move |&m| power_of_ten(m, e)))
            .filter(|t| (lo..=hi).contains(t))
            .collect();
        if ticks.len() >= 3 {
            break;
        }
    }
    ticks
}

/// `m · 10^e`, as m / 10^-e for e < 0: 3 / 10 is 0.3 exactly, 3 * 0.1 is not.
fn power_of_ten(m: f64, e: i32) -> f64 {
    if e < 0 { m / 10f64.powi(-e) } else { m * 10f64.powi(e) }
}

/// Tick labels for a linear axis over `lo..hi`: as many decimals as a tenth
/// of the span needs, so neighbouring ticks never print alike; scientific
/// notation for very large or very small values.
pub(crate) fn linear_tick_format(lo: f64, hi: f64) -> impl Fn(f64) -> String {
    let step = (hi - lo) / 10.0;
    let magnitude = lo.abs().max(hi.abs());
    let scientific = !(1e-3..1e5).contains(&magnitude);
    let decimals = if step > 0.0 { (1 - step.log10().floor() as i32).clamp(0, 8) as usize } else { 2 };
    move |v| {
        if v == 0.0 {
            "0".to_string()
        } else if scientific {
            format_tick(v)
        } else {
            trim_zeros(&format!("{v:.decimals$}")).to_string()
        }
    }
}

/// A tick label with at most 4 significant digits, trailing zeros trimmed,
/// in scientific notation when very large or small.
pub(crate) fn format_tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".to_string();
    }
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.2e}");
        // 1.50e-4 -> 1.5e-4
        return match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", trim_zeros(m)),
            None => s,
        };
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_have_margins() {
        assert_eq!(linear_range(0.0, 10.0), (-0.5, 10.5));
        assert_eq!(linear_range(2.0, 2.0), (1.8, 2.2));
        assert_eq!(linear_range(0.0, 0.0), (-1.0, 1.0));
        assert_eq!(linear_range(-f64::MAX, f64::MAX), (-1.1e300, 1.1e300));
        let (lo, hi) = linear_range(1.0, 1.0 + 1e-15);
        assert!((lo - 0.9).abs() < 1e-12 && (hi - 1.1).abs() < 1e-12, "{lo} {hi}");
        assert_eq!(linear_range(-4.0, -4.0), (-4.4, -3.6));
        let (lo, hi) = log_range(0.01, 100.0);
        assert!((lo - 0.01 / 10f64.powf(0.2)).abs() < 1e-12 && (hi - 100.0 * 10f64.powf(0.2)).abs() < 1e-9);
        assert_eq!(log_range(1.0, 1.0), (0.5, 2.0));
        let (lo, hi) = log_range(5e-324, f64::MAX);
        assert!(lo > 0.0 && hi.is_finite(), "{lo} {hi}");
    }

    #[test]
    fn log_ticks_thin_out_over_many_decades() {
        assert_eq!(log_ticks(0.08, 3.0), vec![0.1, 0.2, 0.5, 1.0, 2.0]);
        assert_eq!(log_ticks(0.15, 0.9), vec![0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8]);
        assert_eq!(log_ticks(1.0, 1.5), vec![1.0, 1.2, 1.4]);
        assert_eq!(log_ticks(1e-4, 2.0), vec![1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0]);
        assert_eq!(log_ticks(1e-6, 1.0).len(), 7);
        assert_eq!(log_ticks(1e-12, 1e4), vec![1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 0.01, 1.0, 100.0, 1e4]);
        assert_eq!(log_ticks(1e-160, 1e160).len(), 9);
    }

    #[test]
    fn linear_tick_labels_follow_the_span() {
        let f = linear_tick_format(0.0, 2.7);
        assert_eq!((f(0.5), f(1.0), f(2.0)), ("0.5".to_string(), "1".to_string(), "2".to_string()));
        let f = linear_tick_format(0.12, 0.14);
        assert_eq!((f(0.122), f(0.1235)), ("0.122".to_string(), "0.1235".to_string()));
        let f = linear_tick_format(1000.1, 1000.3);
        assert_eq!(f(1000.15), "1000.15");
        let f = linear_tick_format(0.0, 300.0);
        assert_eq!((f(50.0), f(-0.0)), ("50".to_string(), "0".to_string()));
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(format_tick(0.0), "0");
        assert_eq!(format_tick(1.0), "1");
        assert_eq!(format_tick(0.25), "0.25");
        assert_eq!(format_tick(0.123456), "0.1235");
        assert_eq!(format_tick(1234.0), "1234");
        assert_eq!(format_tick(12345.6), "12346");
        assert_eq!(format_tick(-2.5), "-2.5");
        assert_eq!(format_tick(0.00015), "1.5e-4");
        assert_eq!(format_tick(250000.0), "2.5e5");
    }
}
