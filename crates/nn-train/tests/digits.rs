//! End-to-end training on the bundled digits with the real layers and losses.

use ndarray::{ArrayD, Axis};
use nn_data::{digits, one_hot, stratified_split};
use nn_layers::{Linear, ReLU};
use nn_losses::{LogSoftmaxCrossEntropy, MSELoss};
use nn_models::Sequential;
use nn_train::{
    GridOptions, Metric, NonFinite, Optim, OptimizerKind, ParamGrid, Point, Setup, TrainConfig, TrainError,
    accuracy, predict, train,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn mlp(hidden: usize, seed: u64) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .add(Linear::new(64, hidden, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(hidden, 10, &mut rng))
}

struct Split {
    x_train: ArrayD<f32>,
    y_train: ArrayD<f32>,
    x_test: ArrayD<f32>,
    y_test: ArrayD<f32>,
    labels_test: Vec<usize>,
}

fn split() -> Split {
    let d = digits();
    let (train, test) = stratified_split(&d.labels, 0.2, 42).unwrap();
    let (tr, te) = (d.select(&train), d.select(&test));
    Split {
        x_train: tr.x.clone().into_dyn(),
        y_train: one_hot(&tr.labels, 10).into_dyn(),
        x_test: te.x.clone().into_dyn(),
        y_test: one_hot(&te.labels, 10).into_dyn(),
        labels_test: te.labels,
    }
}

fn params(net: &Sequential<f32>) -> Vec<f32> {
    let mut out = Vec::new();
    nn_core::Module::visit_parameters(net, &mut |p| out.extend(p.value.iter().copied()));
    out
}

#[test]
fn mlp_reaches_95_percent_on_held_out_digits() {
    let s = split();
    let mut net = mlp(100, 1);
    let config = TrainConfig {
        batch_size: 32,
        epochs: 30,
        learning_rate: 0.1,
        seed: 7,
        validation: Some((s.x_test.clone(), s.y_test.clone())),
        ..Default::default()
    };
    let h =
        train(&mut net, &mut LogSoftmaxCrossEntropy::new(), (s.x_train.view(), s.y_train.view()), &config)
            .unwrap();
    let acc = accuracy(&predict(&mut net, s.x_test.view()).unwrap(), &s.labels_test);
    assert!(acc >= 0.95, "test accuracy {acc}");
    assert_eq!((h.epochs_run, h.val_loss.len(), h.val_accuracy.len()), (30, 30, 30));
    assert_eq!(h.val_accuracy[29], acc);
    assert!(h.train_loss[29] < h.train_loss[0] / 5.0, "{:?}", h.train_loss);
}

#[test]
fn sequence_shaped_inputs_are_taken_as_they_are() {
    // (n, 64, 1) rows, as a Conv1D network takes them, into a network that flattens first.
    let s = split();
    let x3 = s.x_train.clone().insert_axis(Axis(2));
    let mut rng = StdRng::seed_from_u64(3);
    let mut net = Sequential::new().add(nn_layers::Flatten::new()).add(Linear::new(64, 10, &mut rng));
    let h = nn_train::sgd(
        &mut net,
        (x3.view(), s.y_train.view()),
        &mut LogSoftmaxCrossEntropy::new(),
        64,
        3,
        0.0,
        0.1,
    )
    .unwrap();
    assert_eq!(h.epochs_run, 3);
    assert!(h.train_loss[2] < h.train_loss[0]);
}

#[test]
fn a_huge_learning_rate_diverges_naming_epoch_batch_and_layer() {
    let s = split();
    let mut net = mlp(100, 1);
    let config = TrainConfig { learning_rate: 1e6, epochs: 50, ..Default::default() };
    let err =
        train(&mut net, &mut MSELoss::new(), (s.x_train.view(), s.y_train.view()), &config).unwrap_err();
    let TrainError::Diverged { epoch, batch, ref layer, .. } = err else { panic!("{err}") };
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("training diverged at epoch {epoch}, batch {batch}: loss is ")),
        "{message}"
    );
    assert!(message.ends_with("; try a smaller learning rate (now 1000000)"), "{message}");
    if let Some(layer) = layer {
        assert!(layer.starts_with("layer "), "{layer}");
    }
    assert!(params(&net).iter().all(|v| v.is_finite()));
}

#[test]
fn outputs_that_overflow_name_their_layer() {
    // At lr 1e20 the second batch's hidden values (~1e21) stay finite but the
    // last layer's outputs overflow f32: that layer is named.
    let s = split();
    let mut net = mlp(100, 1);
    let config = TrainConfig { learning_rate: 1e20, epochs: 5, ..Default::default() };
    let err =
        train(&mut net, &mut MSELoss::new(), (s.x_train.view(), s.y_train.view()), &config).unwrap_err();
    assert_eq!(
        err.to_string(),
        "training diverged at epoch 1, batch 2: loss is inf; first non-finite output in layer 2, Linear(100, 10); try a smaller learning rate (now 1e20)"
    );
    assert!(params(&net).iter().all(|v| v.is_finite()));
}

#[test]
fn optim_keeps_the_weights_of_the_last_finite_step() {
    let s = split();
    let mut optim = Optim::new(mlp(100, 1), MSELoss::new(), 1e6).unwrap();
    let (xb, yb) =
        (s.x_train.slice_axis(Axis(0), (0..32).into()), s.y_train.slice_axis(Axis(0), (0..32).into()));
    let mut before = params(optim.net());
    let err = loop {
        match optim.step(xb.view(), yb.view()) {
            Ok(_) => before = params(optim.net()),
            Err(e) => break e,
        }
        assert!(optim.steps() < 100, "never diverged");
    };
    assert!(err.is_diverged(), "{err}");
    let TrainError::Diverged { cause, .. } = &err else { unreachable!() };
    if *cause == NonFinite::Loss {
        assert!(
            err.to_string().contains("; first non-finite output in layer ")
                || err.to_string().contains("the loss is not")
        );
    }
    let after = params(optim.net());
    assert!(after.iter().all(|v| v.is_finite()));
    assert_eq!(before, after);
}

#[test]
fn grid_search_on_digits_is_the_same_on_1_2_and_8_threads() {
    let d = digits();
    // Every 6th sample: 300 samples, still stratified enough for 3 folds.
    let rows: Vec<usize> = (0..d.labels.len()).step_by(6).collect();
    let sub = d.select(&rows);
    let x = sub.x.clone().into_dyn();
    let build = |p: &Point| -> Result<Setup<f32>, TrainError> {
        Ok(Setup {
            net: Box::new(mlp(p.get_usize("hidden")?, p.index() as u64)),
            loss: match p.get_str("loss")?.as_str() {
                "mse" => Box::new(MSELoss::new()),
                _ => Box::new(LogSoftmaxCrossEntropy::new()),
            },
            config: TrainConfig {
                epochs: 8,
                batch_size: 16,
                learning_rate: p.get_f64("lr")?,
                optimizer: p.get_str("opt")?.parse::<OptimizerKind>()?,
                ..Default::default()
            },
        })
    };
    // Cross-entropy on log-softmax survives lr = 1e6 (its gradient is bounded): MSE does not.
    let grid = ParamGrid::new()
        .add("hidden", [16])
        .add("lr", [0.5, 1e6])
        .add("loss", ["ce", "mse"])
        .add("opt", ["sgd"]);
    let run = |threads| {
        let options = GridOptions { threads: Some(threads), seed: 5, ..Default::default() };
        let mut r = nn_train::grid_search(build, &grid, x.view(), &sub.labels, Metric::Accuracy, 3, &options)
            .unwrap();
        r.points.iter_mut().flat_map(|p| p.folds.iter_mut()).for_each(|f| f.seconds = 0.0);
        r
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(8));
    assert_eq!(one.to_csv_string().lines().count(), 1 + 4 * 3);
    let best = one.best().unwrap();
    assert_eq!(best.point.get_f64("lr").unwrap(), 0.5);
    assert_eq!(one.points.iter().filter(|p| p.succeeded()).count(), 3);
    assert!(best.mean.unwrap() > 0.8, "{best:?}");
    for p in &one.points {
        if p.point.get_f64("lr").unwrap() > 1.0 && p.point.get_str("loss").unwrap() == "mse" {
            assert!(
                !p.succeeded(),
                "{:?}",
                p.folds.iter().map(|f| (f.status(), f.score, f.final_train_loss())).collect::<Vec<_>>()
            );
            assert!(p.folds.iter().any(|f| f.status().starts_with("failed: training diverged")));
        }
    }
}
