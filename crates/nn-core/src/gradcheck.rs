//! Finite-difference gradient checking, for our modules and for yours.
//!
//! The method is Lua Torch's `nn.Jacobian`: the module's output is reduced to a
//! scalar f = Σ output ⊙ R with a fixed random R, so ∂f/∂output = R is the
//! `delta` given to both backward methods. Each input element and each
//! parameter element is then moved by ±eps and (f₊ − f₋) / 2eps compared
//! with the analytic gradient. Checks run in f64.
//!
//! ```
//! use nn_core::gradcheck;
//! # use nn_core::{Module, ShapeError, Parameter, ParameterMut};
//! # use ndarray::{ArrayD, ArrayViewD};
//! # struct Square { out: ArrayD<f64>, grad: ArrayD<f64> }
//! # impl std::fmt::Display for Square { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("Square()") } }
//! # impl Module<f64> for Square {
//! #   fn forward(&mut self, x: ArrayViewD<'_, f64>) -> Result<&ArrayD<f64>, ShapeError> { self.out = x.mapv(|v| v * v); Ok(&self.out) }
//! #   fn backward_update_gradient(&mut self, _: ArrayViewD<'_, f64>, _: ArrayViewD<'_, f64>) -> Result<(), ShapeError> { Ok(()) }
//! #   fn backward_delta(&mut self, x: ArrayViewD<'_, f64>, d: ArrayViewD<'_, f64>) -> Result<&ArrayD<f64>, ShapeError> { self.grad = &x * &d * 2.0; Ok(&self.grad) }
//! #   fn output_shape(&self, s: &[usize]) -> Result<Vec<usize>, ShapeError> { Ok(s.to_vec()) }
//! #   fn output(&self) -> &ArrayD<f64> { &self.out }
//! #   fn grad_input(&self) -> &ArrayD<f64> { &self.grad }
//! # }
//! # let mut square = Square { out: nn_core::tensor::empty(), grad: nn_core::tensor::empty() };
//! let mut rng = gradcheck::seeded(1);
//! let x = gradcheck::uniform(&[2, 3], -1.0..1.0, &mut rng);
//! let report = gradcheck::check(&mut square, &x, 1e-6).unwrap();
//! assert!(report.max_error() < 1e-7, "{report}");
//! ```

use std::fmt;
use std::ops::Range;

use ndarray::{ArrayD, Dimension, IxDyn, Zip};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

use crate::{Loss, Module, ShapeError};

/// Where a gradient element lives.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// The module's input (checks `backward_delta`) or a loss's `yhat`.
    Input,
    /// A parameter, by name (checks `backward_update_gradient`).
    Parameter(String),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Input => f.write_str("input"),
            Place::Parameter(name) => write!(f, "parameter {name}"),
        }
    }
}

/// One compared element.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// Input or parameter.
    pub place: Place,
    /// Its index in that tensor.
    pub index: Vec<usize>,
    /// What the backward method computed.
    pub analytic: f64,
    /// What central differences give.
    pub numeric: f64,
}

impl Element {
    /// |analytic − numeric|.
    pub fn abs_error(&self) -> f64 {
        (self.analytic - self.numeric).abs()
    }

    /// |analytic − numeric| / max(1, |analytic|, |numeric|): absolute for small
    /// gradients, relative for large ones, so one tolerance fits every scale.
    pub fn error(&self) -> f64 {
        self.abs_error() / 1f64.max(self.analytic.abs()).max(self.numeric.abs())
    }

    /// |analytic − numeric| / max(|analytic|, |numeric|) (0 when both are 0).
    pub fn rel_error(&self) -> f64 {
        let scale = self.analytic.abs().max(self.numeric.abs());
        if scale == 0.0 { 0.0 } else { self.abs_error() / scale }
    }
}

/// The outcome of a check: how many elements were compared and the worst of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// What was checked, in the report's notation.
    pub subject: String,
    /// Number of elements compared (inputs and parameters).
    pub checked: usize,
    /// The element with the largest [`Element::error`], if any was compared.
    pub worst: Option<Element>,
}

impl Report {
    /// The largest [`Element::error`] (0 when nothing was compared).
    pub fn max_error(&self) -> f64 {
        self.worst.as_ref().map_or(0.0, Element::error)
    }

    /// Whether every element is within `tolerance` (in [`Element::error`]).
    pub fn passes(&self, tolerance: f64) -> bool {
        self.max_error() <= tolerance
    }

    fn consider(&mut self, element: Element) {
        self.checked += 1;
        // A NaN error must win: it is the worst news a check can give.
        let worse = match &self.worst {
            None => true,
            Some(w) => element.error().is_nan() || element.error() > w.error(),
        };
        if worse {
            self.worst = Some(element);
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.worst {
            None => write!(f, "{}: nothing to check", self.subject),
            Some(w) => write!(
                f,
                "{}: worst of {} elements is {} at {:?}: analytic {:.10e}, numeric {:.10e}, error {:.3e} (relative {:.3e})",
                self.subject,
                self.checked,
                w.place,
                w.index,
                w.analytic,
                w.numeric,
                w.error(),
                w.rel_error()
            ),
        }
    }
}

/// A generator with a fixed seed, for reproducible checks.
pub fn seeded(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A tensor of `shape` with values from U(`range`).
pub fn uniform<R: Rng + ?Sized>(shape: &[usize], range: Range<f64>, rng: &mut R) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || rng.random_range(range.clone()))
}

/// Checks both backward methods of `module` at `input` against central
/// differences with step `eps` (1e-6 suits f64).
///
/// The module's parameter gradients are zeroed before and after; its
/// parameters are restored exactly.
///
/// # Errors
/// Any [`ShapeError`] the module returns for `input`.
pub fn check<M: Module<f64> + ?Sized>(
    module: &mut M,
    input: &ArrayD<f64>,
    eps: f64,
) -> Result<Report, ShapeError> {
    let output_shape = module.forward(input.view())?.shape().to_vec();
    let projection = uniform(&output_shape, -1.0..1.0, &mut seeded(0x5eed));
    let objective = |module: &mut M, x: &ArrayD<f64>| -> Result<f64, ShapeError> {
        let out = module.forward(x.view())?;
        Ok(Zip::from(out).and(&projection).fold(0.0, |acc, &o, &r| acc + o * r))
    };

    module.zero_grad();
    module.forward(input.view())?;
    module.backward_update_gradient(input.view(), projection.view())?;
    let mut param_grads = Vec::new();
    let mut param_values = Vec::new();
    module.visit_parameters(&mut |p| {
        param_grads.push((p.name.to_string(), p.grad.to_owned()));
        param_values.push(p.value.to_owned());
    });
    let grad_input = module.backward_delta(input.view(), projection.view())?.clone();
    module.zero_grad();

    let mut report = Report { subject: module.to_string(), checked: 0, worst: None };
    let mut x = input.clone();
    for (index, &analytic) in grad_input.indexed_iter() {
        let original = x[&index];
        x[&index] = original + eps;
        let plus = objective(module, &x)?;
        x[&index] = original - eps;
        let minus = objective(module, &x)?;
        x[&index] = original;
        report.consider(Element {
            place: Place::Input,
            index: index.slice().to_vec(),
            analytic,
            numeric: (plus - minus) / (2.0 * eps),
        });
    }

    for (param_index, (name, grad)) in param_grads.iter().enumerate() {
        for (index, &analytic) in grad.indexed_iter() {
            // Set, not add: restoring must give back the exact original value.
            let set = |module: &mut M, to: f64| {
                let mut seen = 0;
                module.visit_parameters_mut(&mut |mut p| {
                    if seen == param_index {
                        p.value[&index] = to;
                    }
                    seen += 1;
                });
            };
            let original = param_values[param_index][&index];
            set(module, original + eps);
            let plus = objective(module, input)?;
            set(module, original - eps);
            let minus = objective(module, input)?;
            set(module, original);
            report.consider(Element {
                place: Place::Parameter(name.clone()),
                index: index.slice().to_vec(),
                analytic,
                numeric: (plus - minus) / (2.0 * eps),
            });
        }
    }
    Ok(report)
}

/// Checks `loss.backward(y, yhat)` against central differences of `loss.forward` in `yhat`.
///
/// # Errors
/// Any [`ShapeError`] the loss returns for `y` and `yhat`.
pub fn check_loss<L: Loss<f64> + ?Sized>(
    loss: &mut L,
    y: &ArrayD<f64>,
    yhat: &ArrayD<f64>,
    eps: f64,
) -> Result<Report, ShapeError> {
    let analytic = loss.backward(y.view(), yhat.view())?.clone();
    let mut report = Report { subject: loss.to_string(), checked: 0, worst: None };
    let mut yhat = yhat.clone();
    for (index, &analytic) in analytic.indexed_iter() {
        let original = yhat[&index];
        yhat[&index] = original + eps;
        let plus = loss.forward(y.view(), yhat.view())?;
        yhat[&index] = original - eps;
        let minus = loss.forward(y.view(), yhat.view())?;
        yhat[&index] = original;
        report.consider(Element {
            place: Place::Input,
            index: index.slice().to_vec(),
            analytic,
            numeric: (plus - minus) / (2.0 * eps),
        });
    }
    Ok(report)
}
