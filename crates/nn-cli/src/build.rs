//! From parsed notation to a network: layers, seeded weights, and the input layout.

use nn_core::Module;
use nn_layers::{Conv1D, Flatten, Linear, MaxPool1D, ReLU, Sigmoid, Softmax, TanH, Upsample1D};
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
    fn rows_that_do_not_split_into_channels_are_refused() {
        let specs = parse("Conv1D(3,3,8)").unwrap();
        assert_eq!(
            row_shape(specs.first(), 64).unwrap_err(),
            "the data has 64 features per row, which cannot be split into 3 channels for Conv1D(3, 3, 8)"
        );
        assert_eq!(row_shape(parse("Linear(64,10)").unwrap().first(), 64).unwrap(), vec![64]);
    }
}
