//! An encoder and a decoder trained together to reproduce their input.

use std::fmt;

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Float, Module, Parameter, ParameterMut, Segment, ShapeError};

use crate::{Sequential, Summary};

/// input (batch, …) → encoder → latent code → decoder → reconstruction.
///
/// Shapes: the encoder's input → the decoder's output, which for an
/// auto-encoder is the input's shape. Parameters are named `encoder.0.weight`,
/// `decoder.2.bias`, … as PyTorch's `state_dict()` would name two
/// `nn.Sequential` fields.
pub struct AutoEncoder<F: Float = f32> {
    /// Input → latent code.
    pub encoder: Sequential<F>,
    /// Latent code → reconstruction.
    pub decoder: Sequential<F>,
}

impl<F: Float> AutoEncoder<F> {
    /// An auto-encoder of these two chains.
    pub fn new(encoder: Sequential<F>, decoder: Sequential<F>) -> Self {
        Self { encoder, decoder }
    }

    /// The latent codes of `input`: the encoder's output, (batch, latent…).
    ///
    /// # Errors
    /// A [`ShapeError`] naming the encoder's layer that refused the input.
    pub fn latent(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        self.encoder.forward(input).map_err(|e| rename(e, "the encoder"))
    }

    /// Checks both halves for an input of `input_shape` and returns the
    /// latent shape and the output shape.
    ///
    /// # Errors
    /// A [`ShapeError`] naming the half and the first layer that does not fit.
    pub fn check(&self, input_shape: &[usize]) -> Result<(Vec<usize>, Vec<usize>), ShapeError> {
        let latent = self.encoder.output_shape(input_shape).map_err(|e| rename(e, "the encoder"))?;
        let output = self.decoder.output_shape(&latent).map_err(|e| rename(e, "the decoder"))?;
        Ok((latent, output))
    }

    /// The layer table of both halves, rows named `encoder.0`, `decoder.3`, ….
    ///
    /// # Errors
    /// As [`check`](AutoEncoder::check).
    pub fn summary(&self, input_shape: &[usize]) -> Result<Summary, ShapeError> {
        let (latent, _) = self.check(input_shape)?;
        let mut summary = Summary::new(input_shape);
        for (half, chain, shape) in
            [("encoder", &self.encoder, input_shape), ("decoder", &self.decoder, &latent)]
        {
            for row in chain.summary(shape)?.rows {
                summary.push(format!("{half}.{}", row.index), row.layer, row.output_shape, row.parameters);
            }
        }
        Ok(summary)
    }
}

/// Names the half a chain error came from.
fn rename(error: ShapeError, half: &str) -> ShapeError {
    match error {
        ShapeError::InChain { index, source, context, .. } => {
            ShapeError::InChain { index, chain: half.to_string(), source, context }
        }
        other => other,
    }
}

impl<F: Float> Module<F> for AutoEncoder<F> {
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let code = self.encoder.forward(input).map_err(|e| rename(e, "the encoder"))?;
        self.decoder.forward(code.view()).map_err(|e| rename(e, "the decoder"))
    }

    /// The decoder's full backward pass (the encoder needs its delta), then
    /// the encoder's parameter gradients, without ∂loss/∂input (see
    /// [`Sequential`]'s); call [`backward`](Module::backward) for it.
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        self.decoder.backward(self.encoder.output().view(), delta).map_err(|e| rename(e, "the decoder"))?;
        self.encoder
            .backward_update_gradient(input, self.decoder.grad_input().view())
            .map_err(|e| rename(e, "the encoder"))
    }

    /// As [`backward_update_gradient`](Module::backward_update_gradient),
    /// with the gradients set rather than accumulated.
    fn backward_set_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        self.decoder
            .backward_set(self.encoder.output().view(), delta)
            .map_err(|e| rename(e, "the decoder"))?;
        self.encoder
            .backward_set_gradient(input, self.decoder.grad_input().view())
            .map_err(|e| rename(e, "the encoder"))
    }

    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.decoder
            .backward_delta(self.encoder.output().view(), delta)
            .map_err(|e| rename(e, "the decoder"))?;
        self.encoder
            .backward_delta(input, self.decoder.grad_input().view())
            .map_err(|e| rename(e, "the encoder"))
    }

    fn backward(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.decoder.backward(self.encoder.output().view(), delta).map_err(|e| rename(e, "the decoder"))?;
        self.encoder.backward(input, self.decoder.grad_input().view()).map_err(|e| rename(e, "the encoder"))
    }

    fn backward_set(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.decoder
            .backward_set(self.encoder.output().view(), delta)
            .map_err(|e| rename(e, "the decoder"))?;
        self.encoder
            .backward_set(input, self.decoder.grad_input().view())
            .map_err(|e| rename(e, "the encoder"))
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        self.check(input_shape).map(|(_, output)| output)
    }

    fn output(&self) -> &ArrayD<F> {
        self.decoder.output()
    }

    fn grad_input(&self) -> &ArrayD<F> {
        self.encoder.grad_input()
    }

    fn visit_parameters(&self, visitor: &mut dyn FnMut(Parameter<'_, F>)) {
        for (half, chain) in [("encoder", &self.encoder), ("decoder", &self.decoder)] {
            chain.visit_parameters(&mut |p| {
                visitor(Parameter { name: p.name.within(Segment::Name(half)), ..p })
            });
        }
    }

    fn visit_parameters_mut(&mut self, visitor: &mut dyn FnMut(ParameterMut<'_, F>)) {
        for (half, chain) in [("encoder", &mut self.encoder), ("decoder", &mut self.decoder)] {
            chain.visit_parameters_mut(&mut |p| {
                visitor(ParameterMut { name: p.name.within(Segment::Name(half)), ..p });
            });
        }
    }

    fn zero_grad(&mut self) {
        self.encoder.zero_grad();
        self.decoder.zero_grad();
    }

    fn update_parameters(&mut self, gradient_step: F) {
        self.encoder.update_parameters(gradient_step);
        self.decoder.update_parameters(gradient_step);
    }

    fn supports_fused_sgd(&self) -> bool {
        self.encoder.supports_fused_sgd() && self.decoder.supports_fused_sgd()
    }

    /// The decoder's check (with its delta, which the encoder needs), then the encoder's.
    fn sgd_check(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
        need_delta: bool,
    ) -> Result<bool, ShapeError> {
        let decoder_proved = self
            .decoder
            .sgd_check(self.encoder.output().view(), delta, learning_rate, true)
            .map_err(|e| rename(e, "the decoder"))?;
        if !decoder_proved {
            return Ok(false);
        }
        self.encoder
            .sgd_check(input, self.decoder.grad_input().view(), learning_rate, need_delta)
            .map_err(|e| rename(e, "the encoder"))
    }

    fn sgd_apply(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
    ) -> Result<(), ShapeError> {
        self.decoder
            .sgd_apply(self.encoder.output().view(), delta, learning_rate)
            .map_err(|e| rename(e, "the decoder"))?;
        self.encoder
            .sgd_apply(input, self.decoder.grad_input().view(), learning_rate)
            .map_err(|e| rename(e, "the encoder"))
    }

    fn first_non_finite_output(&self) -> Option<String> {
        let encoder = self.encoder.first_non_finite_output().map(|l| format!("encoder {l}"));
        encoder.or_else(|| self.decoder.first_non_finite_output().map(|l| format!("decoder {l}")))
    }
}

impl<F: Float> fmt::Display for AutoEncoder<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AutoEncoder(encoder: {}, decoder: {})", self.encoder, self.decoder)
    }
}
