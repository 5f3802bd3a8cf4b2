//! Values a loss cannot take (a BCE target of 2, a prediction of 1.5, a
//! negative cross-entropy target) are refused through every entry point,
//! `Loss`, `Optim::step`, `sgd` and `train`, with an error naming the loss,
//! the value and its (row, column); a diverging BCE network is still
//! reported as a divergence.

use ndarray::{Array2, ArrayD, array};
use nn::core::{Loss, ShapeError};
use nn::layers::{Linear, Sigmoid};
use nn::losses::{BCELoss, CrossEntropyLoss, LogSoftmaxCrossEntropy, MSELoss};
use nn::models::Sequential;
use nn::train::{
    GridOptions, Metric, NonFinite, Optim, ParamGrid, Point, Setup, TrainConfig, TrainError, evaluate,
    grid_search, sgd, train,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Linear(2, 2) -> Sigmoid, outputs in [0, 1].
fn sigmoid_net() -> Sequential {
    Sequential::new().add(Linear::new(2, 2, &mut StdRng::seed_from_u64(0))).add(Sigmoid::new())
}

/// Four samples with targets in [0, 1] but for `bad` at (row 2, column 1).
fn data(bad: f32) -> (ArrayD<f32>, ArrayD<f32>) {
    let x = array![[0.1f32, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8]].into_dyn();
    let mut y = array![[0.0f32, 1.0], [1.0, 0.0], [0.5, 0.5], [0.25, 0.75]].into_dyn();
    y[[2, 1]] = bad;
    (x, y)
}

#[test]
fn sgd_refuses_a_bce_target_of_2_before_the_first_step() {
    let (x, y) = data(2.0);
    let mut net = sigmoid_net();
    let before: Vec<f32> = net.parameters_flat();
    let err = sgd(&mut net, (x.view(), y.view()), &mut BCELoss::new(), 2, 3, 0.0, 0.1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "training data: BCELoss(): target y holds 2 at row 2, column 1, outside [0, 1]; \
         BCELoss takes targets in [0, 1]: scale the data (e.g. divide by its largest value)"
    );
    assert!(matches!(err.as_shape_error(), Some(ShapeError::Value { row: 2, column: 1, .. })));
    assert_eq!(net.parameters_flat(), before, "no step was taken");
}

#[test]
fn sgd_refuses_negative_and_nan_cross_entropy_targets() {
    let (x, _) = data(0.0);
    let y = array![[0.0f32, 1.0], [1.0, 0.0], [0.0, -1.0], [1.0, 0.0]].into_dyn();
    let err = sgd(&mut sigmoid_net(), (x.view(), y.view()), &mut CrossEntropyLoss::new(), 2, 1, 0.0, 0.1)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("training data: CrossEntropyLoss(): target y holds -1 at row 2, column 1")
    );
    let err =
        sgd(&mut sigmoid_net(), (x.view(), y.view()), &mut LogSoftmaxCrossEntropy::new(), 2, 1, 0.0, 0.1)
            .unwrap_err();
    assert!(
        err.to_string().starts_with("training data: LogSoftmaxCrossEntropy(): target y holds -1 at row 2")
    );
    // NaN targets: the data check names them first, whatever the loss.
    let (_, y) = data(f32::NAN);
    let err = sgd(&mut sigmoid_net(), (x.view(), y.view()), &mut MSELoss::new(), 2, 1, 0.0, 0.1).unwrap_err();
    assert_eq!(err.to_string(), "training data: y holds a non-finite value (NaN) in row 2");
}

#[test]
fn train_and_evaluate_refuse_bad_validation_and_evaluation_targets() {
    let (x, good) = data(0.5);
    let (_, bad) = data(-0.5);
    let config = TrainConfig { validation: Some((x.clone(), bad.clone())), ..TrainConfig::default() };
    let err = train(&mut sigmoid_net(), &mut BCELoss::new(), (x.view(), good.view()), &config).unwrap_err();
    assert!(
        err.to_string().starts_with("validation data: BCELoss(): target y holds -0.5 at row 2, column 1"),
        "{err}"
    );
    let err = evaluate(&mut sigmoid_net(), &BCELoss::new(), x.view(), bad.view(), 3).unwrap_err();
    assert!(
        err.to_string().starts_with("evaluation data: BCELoss(): target y holds -0.5 at row 2, column 1"),
        "{err}"
    );
}

#[test]
fn optim_step_refuses_a_bce_target_and_a_prediction_outside_0_1() {
    let (x, y) = data(2.0);
    let mut optim = Optim::new(sigmoid_net(), BCELoss::new(), 0.1).unwrap();
    let err = optim.step(x.view(), y.view()).unwrap_err();
    assert!(err.to_string().starts_with("step 1: BCELoss(): target y holds 2 at row 2, column 1"), "{err}");

    // A network without Sigmoid predicts outside [0, 1]: 20 · 0.1 = 2.
    let linear = Linear::from_parameters(array![[20.0f32, 0.0], [0.0, 20.0]], array![0.0, 0.0]);
    let mut optim = Optim::new(Sequential::new().add(linear), BCELoss::new(), 0.1).unwrap();
    let (_, y) = data(0.5);
    let err = optim.step(x.view(), y.view()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "step 1: BCELoss(): prediction yhat holds 2 at row 0, column 0, outside [0, 1]; \
         BCELoss takes probabilities: end the network with Sigmoid"
    );
}

#[test]
fn a_grid_search_job_whose_network_predicts_outside_0_1_fails_with_the_reason() {
    // 12 samples of 2 classes; a Linear without Sigmoid under BCELoss.
    let x = Array2::from_shape_fn((12, 2), |(i, j)| (i * 3 + j) as f32).into_dyn();
    let labels: Vec<usize> = (0..12).map(|i| i % 2).collect();
    let build = |point: &Point| -> Result<Setup<f32>, TrainError> {
        let linear = Linear::new(2, 2, &mut StdRng::seed_from_u64(1));
        let config = TrainConfig { learning_rate: point.get_f64("lr")?, epochs: 1, ..TrainConfig::default() };
        Ok(Setup { net: Box::new(Sequential::new().add(linear)), loss: Box::new(BCELoss::new()), config })
    };
    let grid = ParamGrid::new().add("lr", [0.1]);
    let result =
        grid_search(build, &grid, x.view(), &labels, Metric::Accuracy, 2, &GridOptions::default()).unwrap();
    for fold in &result.points[0].folds {
        let error = fold.error.as_deref().unwrap_or_default();
        assert!(error.starts_with("epoch 1, batch 1: BCELoss(): prediction yhat holds "), "{error}");
        assert!(error.ends_with("; BCELoss takes probabilities: end the network with Sigmoid"), "{error}");
    }
}

#[test]
fn a_diverging_bce_network_is_still_reported_as_divergence() {
    // The first Linear overflows to (∞, −∞), the second sums them: NaN,
    // and the Sigmoid's output is NaN too.
    let overflow = Linear::from_parameters(array![[3e38f32], [-3e38]], array![0.0, 0.0]);
    let sum = Linear::from_parameters(array![[1.0f32, 1.0]], array![0.0]);
    let net = Sequential::new().add(overflow).add(sum).add(Sigmoid::new());
    let mut optim = Optim::new(net, BCELoss::new(), 0.1).unwrap();
    let x = array![[10.0f32]].into_dyn();
    let y = array![[1.0f32]].into_dyn();
    let err = optim.step(x.view(), y.view()).unwrap_err();
    let TrainError::Diverged { cause, loss, .. } = &err else { panic!("{err}") };
    assert_eq!(cause, &NonFinite::Loss);
    assert!(loss.is_nan());
    assert_eq!(
        err.to_string(),
        "training diverged at step 1: loss is NaN; first non-finite output in layer 0, Linear(1, 2); \
         try a smaller learning rate (now 0.1)"
    );
}

/// The parameters of a network, flattened, to see that nothing moved.
trait Flat {
    fn parameters_flat(&self) -> Vec<f32>;
}

impl Flat for Sequential {
    fn parameters_flat(&self) -> Vec<f32> {
        use nn::core::Module;
        let mut values = Vec::new();
        self.visit_parameters(&mut |p| values.extend(p.value.iter().copied()));
        values
    }
}

proptest! {
    /// BCELoss accepts every target and prediction in [0, 1], and refuses a
    /// value put outside it anywhere, naming that value's row and column.
    #[test]
    fn bce_refuses_exactly_the_values_outside_0_1(
        rows in 1usize..6, cols in 1usize..80, seed: u64,
        at in (0usize..6, 0usize..80), bad in prop_oneof![-10.0f32..-1e-6, 1.000001f32..10.0, Just(f32::NAN)],
        in_target: bool,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let uniform = |rng: &mut StdRng| Array2::from_shape_fn((rows, cols), |_| rand::RngExt::random_range(rng, 0.0f32..=1.0));
        let (mut y, mut yhat) = (uniform(&mut rng), uniform(&mut rng));
        let mut loss = BCELoss::<f32>::new();
        prop_assert!(loss.forward(y.view().into_dyn(), yhat.view().into_dyn()).is_ok());
        prop_assert!(loss.backward(y.view().into_dyn(), yhat.view().into_dyn()).is_ok());
        let (row, column) = (at.0 % rows, at.1 % cols);
        if in_target { y[[row, column]] = bad } else { yhat[[row, column]] = bad }
        let err = loss.forward(y.view().into_dyn(), yhat.view().into_dyn()).unwrap_err();
        let argument = if in_target { "target y" } else { "prediction yhat" };
        prop_assert!(
            matches!(&err, ShapeError::Value { argument: a, row: r, column: c, .. } if *a == argument && *r == row && *c == column),
            "{}", err
        );
        prop_assert_eq!(loss.backward(y.view().into_dyn(), yhat.view().into_dyn()).unwrap_err(), err);
    }
}
