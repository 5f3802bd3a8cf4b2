//! The `Optimizer` trait and `OptimizerKind`, the configuration that builds one.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use ndarray::{ArrayBase, ArrayD, ArrayViewD, Data, IxDyn, Zip};
use nn_core::{Float, Module, Parameter, ParameterMut, pool};

use crate::{Adam, Momentum, NonFinite, Sgd, TrainError};

/// A rule that moves a module's parameters along their accumulated gradients.
///
/// [`step`](Optimizer::step) reads each parameter's gradient through
/// [`Module::visit_parameters_mut`] and updates its value; it does not zero
/// the gradients. [`checked_step`](Optimizer::checked_step), what
/// [`crate::Optim`] and [`crate::train`] call, updates only if every value
/// stays finite, and zeroes the gradients. Per-parameter state (velocities,
/// moments) is kept in the visiting order, allocated on the first step only.
///
/// The `Display` form names the rule and its settings, e.g. `Adam(lr=0.001)`.
pub trait Optimizer<F: Float>: fmt::Display + fmt::Debug + Send {
    /// Updates every parameter of `module` from its gradient.
    fn step(&mut self, module: &mut dyn Module<F>);

    /// Updates every parameter of `module` as [`step`](Optimizer::step) does,
    /// bit for bit, unless a gradient is not finite or the update would make a
    /// value non-finite; in every case, then sets every gradient to zero.
    ///
    /// [`Sgd`], [`Momentum`] and [`Adam`] first check, without writing, every
    /// gradient and every value the update would give, then update and zero
    /// each gradient in one more pass. The default implementation, for other
    /// optimizers, copies every parameter into `undo`, runs
    /// [`step`](Optimizer::step), checks the values, and puts the copy back if
    /// one is not finite; its own state is not restored then. `undo` is the
    /// caller's scratch space for that copy (one tensor per parameter, shaped
    /// like it), kept between steps so that only the first allocates; the
    /// three optimizers here leave it empty.
    ///
    /// # Errors
    /// [`NonFinite::Gradient`] naming the first parameter (in visiting order)
    /// whose gradient is not finite, else [`NonFinite::Update`] naming the
    /// first that the update would make non-finite. The parameter values are
    /// then as before the call; for the three optimizers here, so are the
    /// state and the step count.
    fn checked_step(
        &mut self,
        module: &mut dyn Module<F>,
        undo: &mut Vec<ArrayD<F>>,
    ) -> Result<(), NonFinite> {
        step_with_undo(self, module, undo)
    }

    /// For plain gradient descent (w ← w − lr·g, no state), the learning
    /// rate: a training step may then take the update inside the backward
    /// pass ([`Module::sgd_check`], [`Module::sgd_apply`]), bit for bit the
    /// same as [`checked_step`](Optimizer::checked_step) without storing the
    /// gradients, and call [`record_fused_step`](Optimizer::record_fused_step).
    /// `None`, the default, for any other rule.
    fn fused_learning_rate(&self) -> Option<f64> {
        None
    }

    /// Counts a step taken inside the backward pass (see
    /// [`fused_learning_rate`](Optimizer::fused_learning_rate)).
    fn record_fused_step(&mut self) {}

    /// The learning rate in use.
    fn learning_rate(&self) -> f64;

    /// Changes the learning rate (for schedules); the state is kept.
    ///
    /// # Errors
    /// [`TrainError::LearningRate`] unless `learning_rate` is positive and finite.
    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), TrainError>;

    /// Number of steps taken so far.
    fn steps(&self) -> u64;

    /// The names of the per-parameter state tensors, PyTorch's where it has
    /// them: `["velocity"]` for [`Momentum`], `["exp_avg", "exp_avg_sq"]` for
    /// [`Adam`], none for plain [`Sgd`].
    fn state_names(&self) -> &'static [&'static str] {
        &[]
    }

    /// The state, one list per [`state_names`](Optimizer::state_names)
    /// entry, each holding one tensor per parameter (shaped like it) in
    /// [`Module::visit_parameters`] order; the lists are empty before the first step.
    ///
    /// With [`steps`](Optimizer::steps) this is everything a checkpoint needs
    /// to continue the run bit for bit.
    fn state(&self) -> Vec<&[ArrayD<F>]> {
        Vec::new()
    }

    /// Continues from a saved state: `state` as [`state`](Optimizer::state)
    /// gives it, `steps` as [`steps`](Optimizer::steps) gave it (Adam's bias
    /// correction depends on it). The learning rate is kept.
    ///
    /// # Errors
    /// [`TrainError::OptimizerState`] unless there is one list per state name
    /// and every list has the same length; nothing is changed then.
    fn load_state(&mut self, steps: u64, state: Vec<Vec<ArrayD<F>>>) -> Result<(), TrainError>;
}

/// [`Optimizer::checked_step`] for any optimizer: saves the parameters into
/// `undo` while checking the gradients, steps, then checks the values while
/// zeroing the gradients, and restores the saved values on failure.
fn step_with_undo<F: Float, O: Optimizer<F> + ?Sized>(
    optimizer: &mut O,
    module: &mut dyn Module<F>,
    undo: &mut Vec<ArrayD<F>>,
) -> Result<(), NonFinite> {
    let mut index = 0;
    let mut gradient = None;
    module.visit_parameters(&mut |p| {
        if gradient.is_none() && !all_finite(&p.grad) {
            gradient = Some(p.name);
        }
        if index == undo.len() {
            undo.push(p.value.to_owned());
        } else {
            copy(&mut undo[index], &p.value);
        }
        index += 1;
    });
    if let Some(name) = gradient {
        module.zero_grad();
        return Err(NonFinite::Gradient(name.to_string()));
    }
    optimizer.step(module);
    let mut update = None;
    module.visit_parameters_mut(&mut |mut p| {
        if update.is_none() && !all_finite(&p.value.view()) {
            update = Some(p.name);
        }
        p.grad.fill(F::zero());
    });
    let Some(name) = update else { return Ok(()) };
    let mut index = 0;
    module.visit_parameters_mut(&mut |mut p| {
        p.value.assign(&undo[index]);
        index += 1;
    });
    Err(NonFinite::Update(name.to_string()))
}

/// `dst` ← `src`, a plain memory copy when both have the same layout.
fn copy<F: Float>(dst: &mut ArrayD<F>, src: &ArrayViewD<'_, F>) {
    if dst.shape() != src.shape() {
        *dst = src.to_owned();
        return;
    }
    if dst.strides() == src.strides()
        && let (Some(d), Some(s)) = (dst.as_slice_memory_order_mut(), src.as_slice_memory_order())
    {
        d.copy_from_slice(s);
        return;
    }
    dst.assign(src);
}

/// Whether `x` is neither NaN nor infinite, without a branch (|x| ≤ MAX is
/// false for both), so that loops over it vectorise.
#[inline(always)]
fn finite<F: Float>(x: F) -> bool {
    x.abs() <= F::max_value()
}

/// Whether every element is finite, in one branch-free pass over the memory
/// when the view is contiguous.
fn all_finite<F: Float>(values: &ArrayViewD<'_, F>) -> bool {
    let finite = |ok: bool, &v: &F| ok & finite(v);
    match values.as_slice_memory_order() {
        Some(slice) => pulp::Arch::new().dispatch(|| slice.iter().fold(true, finite)),
        None => values.iter().fold(true, finite),
    }
}

/// The read-only half of a checked step: calls `check(index, parameter)` on
/// every parameter in visiting order (whether its gradient and the values its
/// update would give are all finite), and names the first parameter whose
/// gradient is not finite, else the first whose update is not.
pub(crate) fn first_non_finite<F: Float>(
    module: &dyn Module<F>,
    mut check: impl FnMut(usize, &Parameter<'_, F>) -> bool,
) -> Result<(), NonFinite> {
    let (mut gradient, mut update) = (None, None);
    let mut index = 0;
    module.visit_parameters(&mut |p| {
        index += 1;
        // A gradient found is the answer; an update found may still be outranked.
        if gradient.is_some() || check(index - 1, &p) {
            return;
        }
        if all_finite(&p.grad) {
            update.get_or_insert(p.name);
        } else {
            gradient = Some(p.name);
        }
    });
    match (gradient, update) {
        (Some(name), _) => Err(NonFinite::Gradient(name.to_string())),
        (None, Some(name)) => Err(NonFinite::Update(name.to_string())),
        (None, None) => Ok(()),
    }
}

/// `state` if it holds a tensor shaped like `value` (the first step has none:
/// the update then starts from zeros, as `state_slot` makes them).
pub(crate) fn state_for<'a, F: Float>(
    state: &'a [ArrayD<F>],
    index: usize,
    value: &ArrayViewD<'_, F>,
) -> Option<&'a ArrayD<F>> {
    state.get(index).filter(|s| s.shape() == value.shape())
}

/// Whether `a` and `b` have the same shape and strides, so that their
/// memory-order slices (if contiguous) pair up element for element.
fn same_layout<F, S: Data<Elem = F>, T: Data<Elem = F>>(
    a: &ArrayBase<S, IxDyn>,
    b: &ArrayBase<T, IxDyn>,
) -> bool {
    a.shape() == b.shape() && a.strides() == b.strides()
}

/// The contiguous memory of `a` if it is laid out as `like` (same shape and strides).
fn slice_like<'a, F: Float>(a: &'a ArrayViewD<'_, F>, like: &ArrayViewD<'_, F>) -> Option<&'a [F]> {
    if same_layout(a, like) { a.as_slice_memory_order() } else { None }
}

// The slice loops below run inside `pulp`'s dispatch, which compiles them for
// AVX-512 or AVX2 when the CPU has it (the crate itself targets baseline
// x86-64, i.e. 4-wide SSE). They fold the checks with `&`, without an early
// exit, so that they vectorise; a failure is rare and costs only the rest of
// the pass. The per-element arithmetic is the caller's `update`, unchanged:
// Rust never contracts a·b + c into a fused multiply-add, so wider vectors
// give the same bits.

// The loops over slices take them as function arguments, inlined into
// the dispatched code: as arguments, `&mut` slices tell LLVM that nothing
// else (another slice, or a constant the update reads through a reference)
// changes under their stores, which vectorising needs. Passed through the
// closures alone, the slices lose that and the loops stay scalar. For the
// same reason the update rules are `Copy` and copied into the dispatched
// closure (`move`): handed on as `&update`, the update pass stayed scalar
// and took four times as long (W3: 18 % of a step instead of 4 %).

/// `ok` folded over (w, g) pairs, from `true`.
#[inline(always)]
fn check2<F: Float>(w: &[F], g: &[F], ok: impl Fn(bool, F, F) -> bool) -> bool {
    w.iter().zip(g).fold(true, |acc, (&w, &g)| ok(acc, w, g))
}

/// `ok` folded over (w, s, g) triples, from `true`.
#[inline(always)]
fn check3<F: Float>(w: &[F], s: &[F], g: &[F], ok: impl Fn(bool, F, F, F) -> bool) -> bool {
    w.iter().zip(s).zip(g).fold(true, |acc, ((&w, &s), &g)| ok(acc, w, s, g))
}

/// `ok` folded over (w, s1, s2, g) quadruples, from `true`.
#[inline(always)]
fn check4<F: Float>(w: &[F], a: &[F], b: &[F], g: &[F], ok: impl Fn(bool, F, F, F, F) -> bool) -> bool {
    w.iter().zip(a).zip(b).zip(g).fold(true, |acc, (((&w, &a), &b), &g)| ok(acc, w, a, b, g))
}

/// w ← `update`(w, g), g ← 0, element by element.
#[inline(always)]
fn apply2<F: Float>(w: &mut [F], g: &mut [F], update: impl Fn(F, F) -> F) {
    for (w, g) in w.iter_mut().zip(g) {
        *w = update(*w, *g);
        *g = F::zero();
    }
}

/// (w, s) ← `update`(w, s, g), g ← 0, element by element.
#[inline(always)]
fn apply3<F: Float>(w: &mut [F], s: &mut [F], g: &mut [F], update: impl Fn(F, F, F) -> (F, F)) {
    for ((w, s), g) in w.iter_mut().zip(s).zip(g) {
        (*w, *s) = update(*w, *s, *g);
        *g = F::zero();
    }
}

/// (w, s1, s2) ← `update`(w, s1, s2, g), g ← 0, element by element.
#[inline(always)]
fn apply4<F: Float>(
    w: &mut [F],
    a: &mut [F],
    b: &mut [F],
    g: &mut [F],
    update: impl Fn(F, F, F, F) -> (F, F, F),
) {
    for (((w, a), b), g) in w.iter_mut().zip(a).zip(b).zip(g) {
        (*w, *a, *b) = update(*w, *a, *b, *g);
        *g = F::zero();
    }
}

/// `check` over `0..len`, or over its two halves on the pool when
/// [`pool::shares`]; true if every part is.
fn in_halves(len: usize, check: impl Fn(Range<usize>) -> bool + Sync) -> bool {
    if !pool::shares(len) {
        return check(0..len);
    }
    let mid = len / 2;
    let (first, second) = rayon::join(|| check(0..mid), || check(mid..len));
    first & second
}

/// Whether `p`'s gradient g and every w' = `update`(w, g) are finite.
pub(crate) fn check_stateless<F: Float>(p: &Parameter<'_, F>, update: impl Fn(F, F) -> F + Sync) -> bool {
    let ok = |ok: bool, w: F, g: F| ok & finite(g) & finite(update(w, g));
    match (p.value.as_slice_memory_order(), slice_like(&p.grad, &p.value)) {
        (Some(w), Some(g)) => {
            in_halves(w.len(), |r| pulp::Arch::new().dispatch(|| check2(&w[r.clone()], &g[r], ok)))
        }
        _ => Zip::from(&p.value).and(&p.grad).fold(true, |acc, &w, &g| ok(acc, w, g)),
    }
}

/// Whether `p`'s gradient g and every w' = `update`(w, s, g) are finite, with
/// s from `state` (zeros if `None`).
pub(crate) fn check_with_state<F: Float>(
    p: &Parameter<'_, F>,
    state: Option<&ArrayD<F>>,
    update: impl Fn(F, F, F) -> F + Sync,
) -> bool {
    let Some(state) = state else { return check_stateless(p, |w, g| update(w, F::zero(), g)) };
    let s = state.view();
    let ok = |ok: bool, w: F, s: F, g: F| ok & finite(g) & finite(update(w, s, g));
    match (p.value.as_slice_memory_order(), slice_like(&s, &p.value), slice_like(&p.grad, &p.value)) {
        (Some(w), Some(s), Some(g)) => in_halves(w.len(), |r| {
            pulp::Arch::new().dispatch(|| check3(&w[r.clone()], &s[r.clone()], &g[r], ok))
        }),
        _ => Zip::from(&p.value).and(&s).and(&p.grad).fold(true, |acc, &w, &s, &g| ok(acc, w, s, g)),
    }
}

/// Whether `p`'s gradient g and every w' = `update`(w, s1, s2, g) are
/// finite, with s1, s2 from `states` (zeros if `None`).
pub(crate) fn check_with_states<F: Float>(
    p: &Parameter<'_, F>,
    states: (Option<&ArrayD<F>>, Option<&ArrayD<F>>),
    update: impl Fn(F, F, F, F) -> F + Sync,
) -> bool {
    let (Some(s1), Some(s2)) = states else {
        // Only the first step lacks state, and then it lacks both.
        return check_stateless(p, |w, g| update(w, F::zero(), F::zero(), g));
    };
    let (s1, s2) = (s1.view(), s2.view());
    let ok = |ok: bool, w: F, a: F, b: F, g: F| ok & finite(g) & finite(update(w, a, b, g));
    match (
        p.value.as_slice_memory_order(),
        slice_like(&s1, &p.value),
        slice_like(&s2, &p.value),
        slice_like(&p.grad, &p.value),
    ) {
        (Some(w), Some(a), Some(b), Some(g)) => in_halves(w.len(), |r| {
            pulp::Arch::new().dispatch(|| check4(&w[r.clone()], &a[r.clone()], &b[r.clone()], &g[r], ok))
        }),
        _ => Zip::from(&p.value)
            .and(&s1)
            .and(&s2)
            .and(&p.grad)
            .fold(true, |acc, &w, &a, &b, &g| ok(acc, w, a, b, g)),
    }
}

/// The writing half of a checked step: w ← `update`(w, g), g ← 0.
pub(crate) fn apply_stateless<F: Float>(
    mut p: ParameterMut<'_, F>,
    update: impl Fn(F, F) -> F + Sync + Copy,
) {
    if same_layout(&p.value, &p.grad)
        && let (Some(w), Some(g)) = (p.value.as_slice_memory_order_mut(), p.grad.as_slice_memory_order_mut())
    {
        let run = |w: &mut [F], g: &mut [F]| pulp::Arch::new().dispatch(move || apply2(w, g, update));
        if pool::shares(w.len()) {
            let mid = w.len() / 2;
            let ((w1, w2), (g1, g2)) = (w.split_at_mut(mid), g.split_at_mut(mid));
            rayon::join(|| run(w1, g1), || run(w2, g2));
        } else {
            run(w, g);
        }
        return;
    }
    Zip::from(p.value).and(p.grad).for_each(|w, g| {
        *w = update(*w, *g);
        *g = F::zero();
    });
}

/// The writing half of a checked step with one state tensor:
/// (w, s) ← `update`(w, s, g), g ← 0.
pub(crate) fn apply_with_state<F: Float>(
    mut p: ParameterMut<'_, F>,
    state: &mut ArrayD<F>,
    update: impl Fn(F, F, F) -> (F, F) + Sync + Copy,
) {
    if same_layout(&p.value, &p.grad)
        && same_layout(&p.value, state)
        && let (Some(w), Some(s), Some(g)) = (
            p.value.as_slice_memory_order_mut(),
            state.as_slice_memory_order_mut(),
            p.grad.as_slice_memory_order_mut(),
        )
    {
        let run = |w: &mut [F], s: &mut [F], g: &mut [F]| {
            pulp::Arch::new().dispatch(move || apply3(w, s, g, update))
        };
        if pool::shares(w.len()) {
            let mid = w.len() / 2;
            let ((w1, w2), (s1, s2), (g1, g2)) =
                (w.split_at_mut(mid), s.split_at_mut(mid), g.split_at_mut(mid));
            rayon::join(|| run(w1, s1, g1), || run(w2, s2, g2));
        } else {
            run(w, s, g);
        }
        return;
    }
    Zip::from(p.value).and(state).and(p.grad).for_each(|w, s, g| {
        (*w, *s) = update(*w, *s, *g);
        *g = F::zero();
    });
}

/// The writing half of a checked step with two state tensors:
/// (w, s1, s2) ← `update`(w, s1, s2, g), g ← 0.
pub(crate) fn apply_with_states<F: Float>(
    mut p: ParameterMut<'_, F>,
    states: (&mut ArrayD<F>, &mut ArrayD<F>),
    update: impl Fn(F, F, F, F) -> (F, F, F) + Sync + Copy,
) {
    let (s1, s2) = states;
    if same_layout(&p.value, &p.grad)
        && same_layout(&p.value, s1)
        && same_layout(&p.value, s2)
        && let (Some(w), Some(a), Some(b), Some(g)) = (
            p.value.as_slice_memory_order_mut(),
            s1.as_slice_memory_order_mut(),
            s2.as_slice_memory_order_mut(),
            p.grad.as_slice_memory_order_mut(),
        )
    {
        let run = |w: &mut [F], a: &mut [F], b: &mut [F], g: &mut [F]| {
            pulp::Arch::new().dispatch(move || apply4(w, a, b, g, update));
        };
        if pool::shares(w.len()) {
            let mid = w.len() / 2;
            let ((w1, w2), (a1, a2)) = (w.split_at_mut(mid), a.split_at_mut(mid));
            let ((b1, b2), (g1, g2)) = (b.split_at_mut(mid), g.split_at_mut(mid));
            rayon::join(|| run(w1, a1, b1, g1), || run(w2, a2, b2, g2));
        } else {
            run(w, a, b, g);
        }
        return;
    }
    Zip::from(p.value).and(s1).and(s2).and(p.grad).for_each(|w, a, b, g| {
        (*w, *a, *b) = update(*w, *a, *b, *g);
        *g = F::zero();
    });
}

/// Checks a state given to [`Optimizer::load_state`]: one list per name, all of one length.
///
/// # Errors
/// [`TrainError::OptimizerState`] naming `optimizer`.
pub(crate) fn check_state<F>(
    optimizer: &dyn fmt::Display,
    names: &[&str],
    state: &[Vec<ArrayD<F>>],
) -> Result<(), TrainError> {
    let fail = |reason: String| TrainError::OptimizerState { optimizer: optimizer.to_string(), reason };
    if state.len() != names.len() {
        return Err(fail(format!(
            "expected {} state lists ({}), got {}",
            names.len(),
            names.join(", "),
            state.len()
        )));
    }
    if let Some(first) = state.first()
        && let Some((i, other)) = state.iter().enumerate().find(|(_, l)| l.len() != first.len())
    {
        return Err(fail(format!(
            "{} has {} tensors but {} has {}",
            names[0],
            first.len(),
            names[i],
            other.len()
        )));
    }
    Ok(())
}

/// Checks a learning rate: positive and finite.
///
/// # Errors
/// [`TrainError::LearningRate`] otherwise.
pub(crate) fn check_learning_rate(learning_rate: f64) -> Result<f64, TrainError> {
    if learning_rate > 0.0 && learning_rate.is_finite() {
        Ok(learning_rate)
    } else {
        Err(TrainError::LearningRate(learning_rate))
    }
}

/// Which optimizer to train with, as given in a configuration or on a command line.
///
/// Parses from `sgd`, `momentum` (momentum 0.9) or `adam` (PyTorch's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum OptimizerKind {
    /// Plain gradient descent, the report's `update_parameters(lr)`: [`Sgd`].
    #[default]
    Sgd,
    /// SGD with momentum, PyTorch's formulation: [`Momentum`].
    Momentum {
        /// μ in v ← μ·v + g, in [0, 1).
        momentum: f64,
    },
    /// Adam with β1 = 0.9, β2 = 0.999, ε = 1e-8 and bias correction: [`Adam`].
    Adam,
}

/// The momentum `"momentum"` parses to.
pub const DEFAULT_MOMENTUM: f64 = 0.9;

impl OptimizerKind {
    /// Builds the optimizer with `learning_rate`.
    ///
    /// # Errors
    /// [`TrainError::LearningRate`] unless `learning_rate` is positive and
    /// finite; [`TrainError::Momentum`] unless the momentum is in [0, 1).
    pub fn build<F: Float>(&self, learning_rate: f64) -> Result<Box<dyn Optimizer<F>>, TrainError> {
        Ok(match *self {
            OptimizerKind::Sgd => Box::new(Sgd::new(learning_rate)?),
            OptimizerKind::Momentum { momentum } => Box::new(Momentum::new(learning_rate, momentum)?),
            OptimizerKind::Adam => Box::new(Adam::new(learning_rate)?),
        })
    }
}

impl FromStr for OptimizerKind {
    type Err = TrainError;

    /// `sgd`, `momentum`, `momentum(μ)` (what `Display` prints for a μ other
    /// than 0.9) or `adam`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        let momentum = name
            .strip_prefix("momentum(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|mu| mu.trim().parse::<f64>().ok());
        match (name.as_str(), momentum) {
            ("sgd", _) => Ok(OptimizerKind::Sgd),
            ("momentum", _) => Ok(OptimizerKind::Momentum { momentum: DEFAULT_MOMENTUM }),
            (_, Some(momentum)) => Ok(OptimizerKind::Momentum { momentum }),
            ("adam", _) => Ok(OptimizerKind::Adam),
            _ => Err(TrainError::UnknownOptimizer(s.to_string())),
        }
    }
}

impl fmt::Display for OptimizerKind {
    /// `sgd`, `momentum` (or `momentum(0.5)` when not the default), `adam`:
    /// the names [`FromStr`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptimizerKind::Sgd => f.write_str("sgd"),
            OptimizerKind::Momentum { momentum } if *momentum == DEFAULT_MOMENTUM => f.write_str("momentum"),
            OptimizerKind::Momentum { momentum } => write!(f, "momentum({momentum})"),
            OptimizerKind::Adam => f.write_str("adam"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{Pair, Params};

    const KINDS: [OptimizerKind; 3] =
        [OptimizerKind::Sgd, OptimizerKind::Momentum { momentum: 0.9 }, OptimizerKind::Adam];

    /// A parameter `0.weight` of 3 values and `1.weight` of 2, the first of them near `f32::MAX`.
    fn pair() -> Pair<f32> {
        Pair(Params::new(&[1.0, -2.0, 0.1], &[0.0; 3]), Params::new(&[3.39e38, 0.25], &[0.0; 2]))
    }

    /// Step `k`'s gradients, of varying signs and sizes; `1.weight[0]`'s is −1 − k.
    fn set_grads(net: &mut Pair<f32>, k: usize) {
        let k = k as f64;
        net.0.set_grads(&[0.5 - 0.3 * k, 0.25 + 0.1 * k, -1.5 / (k + 1.0)]);
        net.1.set_grads(&[-1.0 - k, 0.75 * (k - 2.0)]);
    }

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    /// Everything a step may change: values, state and step count, bit for bit.
    fn snapshot(net: &Pair<f32>, optimizer: &dyn Optimizer<f32>) -> (Vec<u32>, Vec<Vec<u32>>, u64) {
        let state = optimizer
            .state()
            .iter()
            .map(|list| list.iter().flat_map(|a| a.iter().map(|v| v.to_bits())).collect())
            .collect();
        (bits(&net.values()), state, optimizer.steps())
    }

    #[test]
    fn checked_steps_are_steps_bit_for_bit() {
        for kind in KINDS {
            let (mut a, mut b) = (pair(), pair());
            let mut plain = kind.build::<f32>(0.01).unwrap();
            let mut checked = kind.build::<f32>(0.01).unwrap();
            let mut undo = Vec::new();
            for k in 0..6 {
                set_grads(&mut a, k);
                set_grads(&mut b, k);
                plain.step(&mut a);
                a.zero_grad();
                checked.checked_step(&mut b, &mut undo).unwrap();
                assert_eq!(snapshot(&a, &*plain), snapshot(&b, &*checked), "{kind}, step {k}");
                assert!(b.grads().iter().all(|g| g.to_bits() == 0), "{kind}: gradients zeroed");
            }
            assert!(undo.is_empty(), "{kind} needs no copy");
        }
    }

    #[test]
    fn a_diverging_step_changes_nothing() {
        for kind in KINDS {
            let (mut net, mut twin) = (pair(), pair());
            let mut optimizer = kind.build::<f32>(0.01).unwrap();
            let mut reference = kind.build::<f32>(0.01).unwrap();
            let mut undo = Vec::new();
            for k in 0..3 {
                set_grads(&mut net, k);
                optimizer.checked_step(&mut net, &mut undo).unwrap();
            }
            let before = snapshot(&net, &*optimizer);

            set_grads(&mut net, 3);
            net.1.set_grads(&[f64::NAN, 0.5]);
            let err = optimizer.checked_step(&mut net, &mut undo).unwrap_err();
            assert_eq!(err, NonFinite::Gradient("1.weight".into()), "{kind}");
            assert_eq!(snapshot(&net, &*optimizer), before, "{kind}");
            assert!(net.grads().iter().all(|g| g.to_bits() == 0), "{kind}: gradients zeroed");

            // 1.weight[0] ≈ 3.39e38 moves up by about 1e37 · 4: past f32::MAX.
            optimizer.set_learning_rate(1e37).unwrap();
            set_grads(&mut net, 3);
            let err = optimizer.checked_step(&mut net, &mut undo).unwrap_err();
            assert_eq!(err, NonFinite::Update("1.weight".into()), "{kind}");
            assert_eq!(snapshot(&net, &*optimizer), before, "{kind}");
            assert!(net.grads().iter().all(|g| g.to_bits() == 0), "{kind}: gradients zeroed");

            // The run goes on as if the failed steps had never been tried.
            optimizer.set_learning_rate(0.01).unwrap();
            for k in 0..4 {
                set_grads(&mut twin, k);
                reference.checked_step(&mut twin, &mut undo).unwrap();
            }
            set_grads(&mut net, 3);
            optimizer.checked_step(&mut net, &mut undo).unwrap();
            assert_eq!(snapshot(&net, &*optimizer), snapshot(&twin, &*reference), "{kind}");
        }
    }

    #[test]
    fn a_gradient_outranks_an_earlier_update() {
        for kind in KINDS {
            let mut net = Pair::<f32>(Params::new(&[3.39e38], &[-1.0]), Params::new(&[1.0], &[f64::NAN]));
            let mut optimizer = kind.build::<f32>(1e37).unwrap();
            let err = optimizer.checked_step(&mut net, &mut Vec::new()).unwrap_err();
            assert_eq!(err, NonFinite::Gradient("1.weight".into()), "{kind}");
            net.0.set_grads(&[-1.0]);
            net.1.set_grads(&[1.0]);
            let err = optimizer.checked_step(&mut net, &mut Vec::new()).unwrap_err();
            assert_eq!(err, NonFinite::Update("0.weight".into()), "{kind}");
            assert_eq!(bits(&net.values()), bits(&[3.39e38, 1.0]), "{kind}");
        }
    }

    /// Two parameters long enough for the vectorised loops, 131 and 67
    /// values (neither a multiple of a vector's lanes), with seeded values.
    fn long_pair<F: Float>() -> Pair<F> {
        let values =
            |n: usize, seed: f64| (0..n).map(|i| ((i as f64 + seed) * 0.37).sin()).collect::<Vec<_>>();
        Pair(Params::new(&values(131, 1.0), &[0.0; 131]), Params::new(&values(67, 2.0), &[0.0; 67]))
    }

    /// Step `k`'s gradients for [`long_pair`], of varying signs and sizes.
    fn long_grads(k: usize) -> (Vec<f64>, Vec<f64>) {
        let grads = |n: usize, seed: f64| {
            (0..n).map(|i| ((i * (k + 3)) as f64 * 0.11 + seed).cos() * (1.0 + i as f64 / 16.0)).collect()
        };
        (grads(131, 0.5), grads(67, 1.5))
    }

    fn set_long_grads<F: Float>(net: &mut Pair<F>, k: usize) {
        let (first, second) = long_grads(k);
        net.0.set_grads(&first);
        net.1.set_grads(&second);
    }

    /// Values and state, widened to f64 (exactly) and compared by bits, and the step count.
    fn wide_snapshot<F: Float>(
        net: &Pair<F>,
        optimizer: &dyn Optimizer<F>,
    ) -> (Vec<u64>, Vec<Vec<u64>>, u64) {
        let wide = |v: &F| v.as_f64().to_bits();
        let state = optimizer
            .state()
            .iter()
            .map(|list| list.iter().flat_map(|a| a.iter().map(wide)).collect())
            .collect();
        (net.values().iter().map(wide).collect(), state, optimizer.steps())
    }

    fn long_checked_steps_are_steps<F: Float>() {
        for kind in KINDS {
            let (mut a, mut b) = (long_pair::<F>(), long_pair::<F>());
            let mut plain = kind.build::<F>(0.01).unwrap();
            let mut checked = kind.build::<F>(0.01).unwrap();
            for k in 0..5 {
                set_long_grads(&mut a, k);
                set_long_grads(&mut b, k);
                plain.step(&mut a);
                a.zero_grad();
                checked.checked_step(&mut b, &mut Vec::new()).unwrap();
                assert_eq!(
                    wide_snapshot(&a, &*plain),
                    wide_snapshot(&b, &*checked),
                    "{kind} {}, step {k}",
                    F::DTYPE
                );
                assert!(b.grads().iter().all(|g| g.as_f64().to_bits() == 0), "{kind}: gradients zeroed");
            }
        }
    }

    #[test]
    fn long_checked_steps_are_steps_bit_for_bit() {
        long_checked_steps_are_steps::<f32>();
        long_checked_steps_are_steps::<f64>();
    }

    #[test]
    fn one_bad_element_anywhere_in_a_long_parameter_is_found() {
        for kind in KINDS {
            for at in [0, 1, 15, 16, 63, 64, 100, 127, 128, 130] {
                // A gradient, after a first good step so that the state is in use.
                let mut net = long_pair::<f32>();
                let mut optimizer = kind.build::<f32>(0.01).unwrap();
                set_long_grads(&mut net, 0);
                optimizer.checked_step(&mut net, &mut Vec::new()).unwrap();
                let before = wide_snapshot(&net, &*optimizer);
                let (mut first, second) = long_grads(1);
                first[at] = f64::INFINITY;
                net.0.set_grads(&first);
                net.1.set_grads(&second);
                let err = optimizer.checked_step(&mut net, &mut Vec::new()).unwrap_err();
                assert_eq!(err, NonFinite::Gradient("0.weight".into()), "{kind}, at {at}");
                assert_eq!(wide_snapshot(&net, &*optimizer), before, "{kind}, at {at}");
                assert!(net.grads().iter().all(|g| g.to_bits() == 0), "{kind}: gradients zeroed");

                // An update: 3.39e38 moved up by about 1e37 passes f32::MAX.
                let mut values = long_pair::<f64>().0.values();
                values[at] = 3.39e38;
                let mut grads = vec![0.5; 131];
                grads[at] = -1.0;
                let mut net = Pair::<f32>(Params::new(&values, &grads), Params::new(&[0.0; 3], &[0.0; 3]));
                let mut optimizer = kind.build::<f32>(1e37).unwrap();
                let err = optimizer.checked_step(&mut net, &mut Vec::new()).unwrap_err();
                assert_eq!(err, NonFinite::Update("0.weight".into()), "{kind}, at {at}");
                assert_eq!(net.0.values()[at], 3.39e38_f32, "{kind}, at {at}");
                assert_eq!(optimizer.steps(), 0, "{kind}, at {at}");
            }
        }
    }

    #[test]
    fn large_parameters_shared_with_a_pool_step_bit_for_bit_as_alone() {
        // Long enough to be split in halves inside a pool of two threads.
        let n = nn_core::pool::SHARE_MIN + 37;
        let values: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let grads = |k: usize| -> Vec<f64> { (0..n).map(|i| ((i * (k + 2)) as f64 * 0.013).cos()).collect() };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        for kind in KINDS {
            let fresh =
                || Pair::<f32>(Params::new(&values, &grads(0)), Params::new(&[1.0, 2.0], &[0.5, 0.25]));
            let (mut alone, mut shared_net) = (fresh(), fresh());
            let (mut first, mut second) =
                (kind.build::<f32>(0.01).unwrap(), kind.build::<f32>(0.01).unwrap());
            for k in 0..3 {
                alone.0.set_grads(&grads(k));
                shared_net.0.set_grads(&grads(k));
                first.checked_step(&mut alone, &mut Vec::new()).unwrap();
                pool.install(|| second.checked_step(&mut shared_net, &mut Vec::new())).unwrap();
                assert_eq!(
                    wide_snapshot(&alone, &*first),
                    wide_snapshot(&shared_net, &*second),
                    "{kind}, step {k}"
                );
                assert!(shared_net.grads().iter().all(|g| g.to_bits() == 0), "{kind}: gradients zeroed");
            }
            // A bad gradient in the second half is found there too, and nothing changes.
            let before = wide_snapshot(&shared_net, &*second);
            let mut bad = grads(5);
            bad[n - 3] = f64::NAN;
            shared_net.0.set_grads(&bad);
            let err = pool.install(|| second.checked_step(&mut shared_net, &mut Vec::new())).unwrap_err();
            assert_eq!(err, NonFinite::Gradient("0.weight".into()), "{kind}");
            assert_eq!(wide_snapshot(&shared_net, &*second), before, "{kind}");
        }
    }

    /// An optimizer from elsewhere: only `step`, so it gets the default `checked_step`.
    #[derive(Debug)]
    struct Unchecked(Sgd);

    impl fmt::Display for Unchecked {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.fmt(f)
        }
    }

    impl Optimizer<f32> for Unchecked {
        fn step(&mut self, module: &mut dyn Module<f32>) {
            Optimizer::<f32>::step(&mut self.0, module);
        }
        fn learning_rate(&self) -> f64 {
            Optimizer::<f32>::learning_rate(&self.0)
        }
        fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), TrainError> {
            Optimizer::<f32>::set_learning_rate(&mut self.0, learning_rate)
        }
        fn steps(&self) -> u64 {
            Optimizer::<f32>::steps(&self.0)
        }
        fn load_state(&mut self, steps: u64, state: Vec<Vec<ArrayD<f32>>>) -> Result<(), TrainError> {
            self.0.load_state(steps, state)
        }
    }

    #[test]
    fn the_default_checked_step_undoes_with_a_copy() {
        let (mut net, mut twin) = (pair(), pair());
        let mut optimizer = Unchecked(Sgd::new(0.01).unwrap());
        let mut sgd = Sgd::new(0.01).unwrap();
        let mut undo = Vec::new();
        for k in 0..3 {
            set_grads(&mut net, k);
            set_grads(&mut twin, k);
            optimizer.checked_step(&mut net, &mut undo).unwrap();
            sgd.checked_step(&mut twin, &mut Vec::new()).unwrap();
            assert_eq!(bits(&net.values()), bits(&twin.values()));
            assert!(net.grads().iter().all(|g| g.to_bits() == 0));
        }
        assert_eq!(undo.len(), 2);
        let before = bits(&net.values());
        set_grads(&mut net, 3);
        net.0.set_grads(&[0.5, f64::INFINITY, 0.5]);
        let err = optimizer.checked_step(&mut net, &mut undo).unwrap_err();
        assert_eq!(err, NonFinite::Gradient("0.weight".into()));
        assert_eq!(bits(&net.values()), before);
        assert!(net.grads().iter().all(|g| g.to_bits() == 0));
        optimizer.set_learning_rate(1e37).unwrap();
        set_grads(&mut net, 3);
        let err = optimizer.checked_step(&mut net, &mut undo).unwrap_err();
        assert_eq!(err, NonFinite::Update("1.weight".into()));
        assert_eq!(bits(&net.values()), before);
        assert!(net.grads().iter().all(|g| g.to_bits() == 0));
    }

    #[test]
    fn kinds_parse_from_their_names() {
        assert_eq!("sgd".parse::<OptimizerKind>().unwrap(), OptimizerKind::Sgd);
        assert_eq!("Momentum".parse::<OptimizerKind>().unwrap(), OptimizerKind::Momentum { momentum: 0.9 });
        assert_eq!(" adam ".parse::<OptimizerKind>().unwrap(), OptimizerKind::Adam);
        assert_eq!(
            "momentum(0.5)".parse::<OptimizerKind>().unwrap(),
            OptimizerKind::Momentum { momentum: 0.5 }
        );
        assert!("momentum(x)".parse::<OptimizerKind>().is_err());
        for kind in [
            OptimizerKind::Sgd,
            OptimizerKind::Momentum { momentum: 0.9 },
            OptimizerKind::Momentum { momentum: 0.25 },
            OptimizerKind::Adam,
        ] {
            assert_eq!(kind.to_string().parse::<OptimizerKind>().unwrap(), kind);
        }
    }

    #[test]
    fn unknown_optimizer_message() {
        let err = "adamw".parse::<OptimizerKind>().unwrap_err();
        assert_eq!(err.to_string(), "unknown optimizer \"adamw\": expected sgd, momentum or adam");
    }

    #[test]
    fn build_checks_the_learning_rate() {
        for lr in [0.0, -0.1, f64::NAN, f64::INFINITY] {
            let err = OptimizerKind::Adam.build::<f32>(lr).unwrap_err();
            assert!(matches!(err, TrainError::LearningRate(_)), "{err}");
        }
        let err = OptimizerKind::Sgd.build::<f32>(-0.1).unwrap_err();
        assert_eq!(err.to_string(), "learning rate must be positive and finite, got -0.1");
        let err = OptimizerKind::Momentum { momentum: 1.0 }.build::<f32>(0.1).unwrap_err();
        assert_eq!(err.to_string(), "momentum must be in [0, 1), got 1");
    }

    #[test]
    fn state_lists_are_checked() {
        let names = ["exp_avg", "exp_avg_sq"];
        let one = || vec![ArrayD::<f32>::zeros(ndarray::IxDyn(&[2]))];
        let err = check_state(&"Adam(lr=0.1)", &names, &[one()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Adam(lr=0.1) cannot take this state: expected 2 state lists (exp_avg, exp_avg_sq), got 1"
        );
        let err = check_state(&"Adam(lr=0.1)", &names, &[one(), vec![]]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Adam(lr=0.1) cannot take this state: exp_avg has 1 tensors but exp_avg_sq has 0"
        );
        assert!(check_state(&"Adam(lr=0.1)", &names, &[one(), one()]).is_ok());
    }

    #[test]
    fn built_optimizers_name_themselves() {
        assert_eq!(OptimizerKind::Sgd.build::<f32>(0.1).unwrap().to_string(), "SGD(lr=0.1)");
        assert_eq!(
            OptimizerKind::Momentum { momentum: 0.5 }.build::<f32>(0.1).unwrap().to_string(),
            "Momentum(lr=0.1, momentum=0.5)"
        );
        assert_eq!(
            OptimizerKind::Adam.build::<f64>(0.001).unwrap().to_string(),
            "Adam(lr=0.001, betas=(0.9, 0.999), eps=0.00000001)"
        );
    }
}
