//! `gradcheck` itself is tested: a module with a deliberately wrong backward
//! must fail, and the report must point at the wrong element.

use std::fmt;

use ndarray::{ArrayD, ArrayViewD, Ix2, IxDyn};
use nn::core::gradcheck::{self, Place};
use nn::core::{ParamName, Parameter, ParameterMut, tensor};
use nn::layers::Linear;
use nn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// y = x · w (element-wise, one weight per feature), with bugs on demand.
struct Scale {
    weight: ArrayD<f64>,
    grad_weight: ArrayD<f64>,
    output: ArrayD<f64>,
    grad_input: ArrayD<f64>,
    /// Multiplies the input gradient of feature 1 by 1.01.
    wrong_delta: bool,
    /// Forgets the batch sum of the weight gradient (uses row 0 only).
    wrong_weight_gradient: bool,
}

impl Scale {
    fn new(wrong_delta: bool, wrong_weight_gradient: bool) -> Self {
        Self {
            weight: ArrayD::from_shape_vec(IxDyn(&[3]), vec![0.5, -1.5, 2.0]).unwrap(),
            grad_weight: ArrayD::zeros(IxDyn(&[3])),
            output: tensor::empty(),
            grad_input: tensor::empty(),
            wrong_delta,
            wrong_weight_gradient,
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scale(3)")
    }
}

impl Module<f64> for Scale {
    fn forward(&mut self, input: ArrayViewD<'_, f64>) -> Result<&ArrayD<f64>, ShapeError> {
        self.output = (&input * &self.weight).into_dyn();
        Ok(&self.output)
    }
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, f64>,
        delta: ArrayViewD<'_, f64>,
    ) -> Result<(), ShapeError> {
        let product = (&input * &delta).into_dimensionality::<Ix2>().unwrap();
        if self.wrong_weight_gradient {
            self.grad_weight += &product.row(0).into_dyn();
        } else {
            self.grad_weight += &product.sum_axis(ndarray::Axis(0)).into_dyn();
        }
        Ok(())
    }
    fn backward_delta(
        &mut self,
        _input: ArrayViewD<'_, f64>,
        delta: ArrayViewD<'_, f64>,
    ) -> Result<&ArrayD<f64>, ShapeError> {
        self.grad_input = (&delta * &self.weight).into_dyn();
        if self.wrong_delta {
            self.grad_input.index_axis_mut(ndarray::Axis(1), 1).mapv_inplace(|v| v * 1.01);
        }
        Ok(&self.grad_input)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        Ok(input_shape.to_vec())
    }
    fn output(&self) -> &ArrayD<f64> {
        &self.output
    }
    fn grad_input(&self) -> &ArrayD<f64> {
        &self.grad_input
    }
    fn visit_parameters(&self, visitor: &mut dyn FnMut(Parameter<'_, f64>)) {
        visitor(Parameter {
            name: ParamName::leaf("weight"),
            value: self.weight.view(),
            grad: self.grad_weight.view(),
        });
    }
    fn visit_parameters_mut(&mut self, visitor: &mut dyn FnMut(ParameterMut<'_, f64>)) {
        visitor(ParameterMut {
            name: ParamName::leaf("weight"),
            value: self.weight.view_mut(),
            grad: self.grad_weight.view_mut(),
        });
    }
}

fn input() -> ArrayD<f64> {
    gradcheck::uniform(&[4, 3], 0.5..2.0, &mut gradcheck::seeded(3))
}

#[test]
fn a_correct_module_passes() {
    let report = gradcheck::check(&mut Scale::new(false, false), &input(), 1e-6).unwrap();
    assert_eq!(report.checked, 12 + 3);
    assert!(report.passes(1e-7), "{report}");
}

#[test]
fn a_wrong_input_gradient_is_caught_and_located() {
    let report = gradcheck::check(&mut Scale::new(true, false), &input(), 1e-6).unwrap();
    assert!(!report.passes(1e-6), "{report}");
    let worst = report.worst.as_ref().unwrap();
    assert_eq!(worst.place, Place::Input);
    assert_eq!(worst.index[1], 1, "{report}");
    assert!((worst.analytic / worst.numeric - 1.01).abs() < 1e-6, "{report}");
    let text = report.to_string();
    assert!(
        text.starts_with("Scale(3): worst of 15 elements is input at [") && text.contains("analytic"),
        "{text}"
    );
}

#[test]
fn a_wrong_parameter_gradient_is_caught_and_named() {
    let report = gradcheck::check(&mut Scale::new(false, true), &input(), 1e-6).unwrap();
    assert!(!report.passes(1e-3), "{report}");
    let worst = report.worst.as_ref().unwrap();
    assert_eq!(worst.place, Place::Parameter("weight".into()));
    assert!(report.to_string().contains("parameter weight at ["), "{report}");
}

#[test]
fn check_leaves_parameters_and_gradients_as_they_were() {
    let mut layer = Linear::<f64>::new(3, 2, &mut StdRng::seed_from_u64(1));
    let mut before = Vec::new();
    layer.visit_parameters(&mut |p| before.push(p.value.to_owned()));
    gradcheck::check(&mut layer, &input(), 1e-6).unwrap();
    let mut after = Vec::new();
    layer.visit_parameters(&mut |p| {
        after.push(p.value.to_owned());
        assert!(p.grad.iter().all(|&g| g == 0.0));
    });
    assert_eq!(before, after);
}
