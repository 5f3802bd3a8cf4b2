//! From parsed notation to a network: layers, seeded weights, and the input layout.

use nn_core::Module;
use nn_layers::{Conv1D, Flatten, Linear, MaxPool1D, ReLU, Sigmoid, Softmax, TanH, Unflatten, Upsample1D};
use nn_models::Sequential;
use rand::Rng;

use crate::notation::LayerSpec;

/// One module for one spec, drawing its weights from `rng` (each layer's default init).
pub fn layer<R: Rng + ?Sized>(spec: LayerSpec, rng: &mut R) -> Box<dyn Module<f32>> {
    match spec {
        LayerSpec::Linear { input, output } => Box::new(Linear::new(input, output, rng)),
        LayerSpec::Conv1D { k_size, chan_in, chan_out, stride } => {
            Box::new(Conv1D::new(k_size, chan_in, chan_out, stride, rng))
        }
        LayerSpec::MaxPool1D { k_size, stride } => Box::new(MaxPool1D::new(k_size, stride)),
        LayerSpec::Upsample1D { scale } => Box::new(Upsample1D::new(scale)),
        LayerSpec::Flatten => Box::new(Flatten::new()),
        LayerSpec::Unflatten { length, channels } => Box::new(Unflatten::new(length, channels)),
        LayerSpec::TanH => Box::new(TanH::new()),
        LayerSpec::Sigmoid => Box::new(Sigmoid::new()),
        LayerSpec::ReLU => Box::new(ReLU::new()),
        LayerSpec::Softmax => Box::new(Softmax::new()),
    }
}

/// A `Sequential` of the specs, in order.
pub fn sequential<R: Rng + ?Sized>(specs: &[LayerSpec], rng: &mut R) -> Sequential<f32> {
    Sequential::from_modules(specs.iter().map(|&s| layer(s, rng)).collect())
}

/// The shape of one input row for a network whose first layer is `first`,
/// given rows of `features` numbers: a network that starts with a sequence
/// layer receives each row as (length, channels), channels last; any other
/// receives it as is.
///
/// # Errors
/// A message when the row cannot be split into `chan_in` channels.
pub fn row_shape(first: Option<&LayerSpec>, features: usize) -> Result<Vec<usize>, String> {
    let channels = match first {
        Some(LayerSpec::Conv1D { chan_in, .. }) => *chan_in,
        Some(LayerSpec::MaxPool1D { .. } | LayerSpec::Upsample1D { .. }) => 1,
        _ => return Ok(vec![features]),
    };
    if !features.is_multiple_of(channels) {
        return Err(format!(
            "the data has {features} features per row, which cannot be split into {channels} channels for {}",
            first.map(ToString::to_string).unwrap_or_default()
        ));
    }
    Ok(vec![features / channels, channels])
}

/// The most values `nn` allocates for a network's parameters in all, or for
/// one layer's output per row: 2³¹ (8 GiB of f32). Larger sizes in the
/// notation are refused before anything is allocated, instead of aborting
/// the process when memory runs out (or overflowing the shape arithmetic).
pub const MAX_VALUES: usize = 1 << 31;

/// The number of parameters of `specs`, checked against [`MAX_VALUES`]
/// without building anything.
///
/// # Errors
/// A message naming the layer that takes the count past the limit.
pub fn check_parameters(specs: &[LayerSpec]) -> Result<usize, String> {
    let mut total = 0usize;
    for spec in specs {
        let count = match *spec {
            LayerSpec::Linear { input, output } => {
                input.checked_mul(output).and_then(|w| w.checked_add(output))
            }
            LayerSpec::Conv1D { k_size, chan_in, chan_out, .. } => chan_out
                .checked_mul(chan_in)
                .and_then(|w| w.checked_mul(k_size))
                .and_then(|w| w.checked_add(chan_out)),
            _ => Some(0),
        };
        total = count.and_then(|c| total.checked_add(c)).filter(|&t| t <= MAX_VALUES).ok_or_else(|| {
            format!("{spec} takes the network past the {MAX_VALUES} parameters nn builds at most")
        })?;
    }
    Ok(total)
}

/// Follows one row of shape `row` (no batch axis) through `specs` and checks
/// that no layer makes it larger than [`MAX_VALUES`] values. Stops, without
/// error, at the first layer the row does not fit: the shape check that
/// follows names it. Returns the last row shape it reached.
///
/// # Errors
/// A message naming the layer and the row size it would make.
pub fn check_rows(specs: &[LayerSpec], row: &[usize]) -> Result<Vec<usize>, String> {
    let mut row = row.to_vec();
    for spec in specs {
        let next: Option<Vec<usize>> = match (*spec, row.as_slice()) {
            (LayerSpec::Linear { output, .. }, _) => Some(vec![output]),
            (LayerSpec::Conv1D { k_size, chan_out, stride, .. }, &[len, _]) if len >= k_size => {
                Some(vec![(len - k_size) / stride + 1, chan_out])
            }
            (LayerSpec::MaxPool1D { k_size, stride }, &[len, channels]) if len >= k_size => {
                Some(vec![(len - k_size) / stride + 1, channels])
            }
            (LayerSpec::Upsample1D { scale }, &[len, channels]) => {
                let Some(len) = len.checked_mul(scale) else {
                    return Err(format!("{spec} makes rows longer than nn can count"));
                };
                Some(vec![len, channels])
            }
            (LayerSpec::Conv1D { .. } | LayerSpec::MaxPool1D { .. } | LayerSpec::Upsample1D { .. }, _) => {
                None
            }
            (LayerSpec::Flatten, _) => {
                Some(vec![row.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX)])
            }
            (LayerSpec::Unflatten { length, channels }, &[features])
                if length.checked_mul(channels) == Some(features) =>
            {
                Some(vec![length, channels])
            }
            (LayerSpec::Unflatten { .. }, _) => None,
            _ => Some(row.clone()),
        };
        let Some(next) = next else { return Ok(row) };
        match next.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) {
            Some(values) if values <= MAX_VALUES => row = next,
            Some(values) => {
                return Err(format!(
                    "{spec} makes each row {values} values, more than the {MAX_VALUES} nn builds"
                ));
            }
            None => return Err(format!("{spec} makes each row more values than nn can count")),
        }
    }
    Ok(row)
}

/// Whether the network ends in layers that make each output row a
/// probability distribution (a Softmax) or independent probabilities (a Sigmoid).
pub fn ends_with(specs: &[LayerSpec], spec: LayerSpec) -> bool {
    specs.last() == Some(&spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notation::parse;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn builds_the_network_it_parsed() {
        let specs = parse("Conv1D(3,1,32) -> MaxPool1D(2,2) -> Flatten -> Linear(992,10)").unwrap();
        let net = sequential(&specs, &mut StdRng::seed_from_u64(0));
        assert_eq!(net.to_string(), "Conv1D(3, 1, 32) -> MaxPool1D(2, 2) -> Flatten() -> Linear(992, 10)");
        let row = row_shape(specs.first(), 64).unwrap();
        assert_eq!(row, vec![64, 1]);
        assert_eq!(net.check(&[5, 64, 1]).unwrap().last().unwrap(), &vec![5, 10]);
    }

    #[test]
    fn a_dense_code_feeds_a_convolutional_decoder_through_unflatten() {
        let specs = parse("Linear(64,32) -> TanH -> Linear(32,496) -> Unflatten(31,16) -> Upsample1D(2) -> Conv1D(3,16,1) -> Flatten").unwrap();
        let net = sequential(&specs, &mut StdRng::seed_from_u64(0));
        assert_eq!(row_shape(specs.first(), 64).unwrap(), vec![64]);
        assert_eq!(check_rows(&specs, &[64]), Ok(vec![60]));
        assert_eq!(net.check(&[5, 64]).unwrap().last().unwrap(), &vec![5, 60]);
        // A width Unflatten does not take is left to the shape check, which names it.
        let specs = parse("Linear(64,10) -> Unflatten(31,16)").unwrap();
        assert_eq!(check_rows(&specs, &[64]), Ok(vec![10]));
        let err = sequential(&specs, &mut StdRng::seed_from_u64(0)).check(&[5, 64]).unwrap_err();
        assert!(
            err.to_string().contains("Unflatten(31, 16) expects (batch, 496) but receives (5, 10)"),
            "{err}"
        );
    }

    #[test]
    fn sizes_past_the_limit_are_refused_before_building() {
        let specs = parse("Linear(64,100) -> ReLU -> Linear(100,10)").unwrap();
        assert_eq!(check_parameters(&specs), Ok(64 * 100 + 100 + 100 * 10 + 10));
        let specs = parse("Linear(64,100) -> Linear(100000,100000)").unwrap();
        assert_eq!(
            check_parameters(&specs).unwrap_err(),
            "Linear(100000, 100000) takes the network past the 2147483648 parameters nn builds at most"
        );
        assert!(check_parameters(&parse("Conv1D(99999999999,99999999999,99999999999)").unwrap()).is_err());

        let specs = parse("Conv1D(3,1,8) -> Upsample1D(1000) -> Flatten -> Linear(496000,10)").unwrap();
        assert_eq!(check_rows(&specs, &[64, 1]), Ok(vec![10]));
        let specs = parse("Upsample1D(100000) -> Upsample1D(1000)").unwrap();
        assert_eq!(
            check_rows(&specs, &[64, 1]).unwrap_err(),
            "Upsample1D(1000) makes each row 6400000000 values, more than the 2147483648 nn builds"
        );
        let specs = parse("Upsample1D(9223372036854775807)").unwrap();
        assert_eq!(
            check_rows(&specs, &[64, 1]).unwrap_err(),
            "Upsample1D(9223372036854775807) makes rows longer than nn can count"
        );
        // A row that does not fit a layer is left to the shape check.
        assert_eq!(check_rows(&parse("Conv1D(3,1,8) -> Linear(5,5)").unwrap(), &[64]), Ok(vec![64]));
    }

    #[test]
    fn rows_that_do_not_split_into_channels_are_refused() {
        let specs = parse("Conv1D(3,3,8)").unwrap();
        assert_eq!(
            row_shape(specs.first(), 64).unwrap_err(),
            "the data has 64 features per row, which cannot be split into 3 channels for Conv1D(3, 3, 8)"
        );
        assert_eq!(row_shape(parse("Linear(64,10)").unwrap().first(), 64).unwrap(), vec![64]);
    }
}
