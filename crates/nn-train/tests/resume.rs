//! A run of 5 epochs with checkpoints, resumed to 10, is bit for bit the
//! uninterrupted 10-epoch run: parameters and history, for every optimizer.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, Axis, Slice};
use nn_core::Module;
use nn_data::{digits, one_hot};
use nn_layers::{Conv1D, Flatten, Linear, ReLU};
use nn_losses::LogSoftmaxCrossEntropy;
use nn_models::Sequential;
use nn_train::{
    Checkpointing, History, OptimizerKind, TrainConfig, read_checkpoint, resume, train, train_checkpointed,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Linear(64, 16) -> ReLU -> Linear(16, 10), initialised from `seed`.
fn mlp(seed: u64) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new().add(Linear::new(64, 16, &mut rng)).add(ReLU::new()).add(Linear::new(16, 10, &mut rng))
}

/// Conv1D(3, 1, 2, 2) -> ReLU -> Flatten -> Linear(62, 10) on (n, 64, 1).
fn conv(seed: u64) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .add(Conv1D::new(3, 1, 2, 2, &mut rng))
        .add(ReLU::new())
        .add(Flatten::new())
        .add(Linear::new(31 * 2, 10, &mut rng))
}

/// 300 digits for training and 100 for validation.
fn data() -> (ArrayD<f32>, ArrayD<f32>, ArrayD<f32>, ArrayD<f32>) {
    let d = digits();
    let x = d.x.slice_axis(Axis(0), Slice::from(0..400)).mapv(|v| v / 16.0).into_dyn();
    let y = one_hot(&d.labels[..400], 10).into_dyn();
    let part = |a: &ArrayD<f32>, r: std::ops::Range<usize>| a.slice_axis(Axis(0), Slice::from(r)).to_owned();
    (part(&x, 0..300), part(&y, 0..300), part(&x, 300..400), part(&y, 300..400))
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nn-train-resume-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parameter_bits(net: &dyn Module<f32>) -> Vec<(String, Vec<u32>)> {
    let mut out = Vec::new();
    net.visit_parameters(&mut |p| {
        out.push((p.name.to_string(), p.value.iter().map(|v| v.to_bits()).collect()))
    });
    out
}

fn history_bits(h: &History) -> (Vec<u64>, Vec<u64>, Vec<u64>, usize, bool) {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    (bits(&h.train_loss), bits(&h.val_loss), bits(&h.val_accuracy), h.epochs_run, h.stopped_early)
}

fn config(
    epochs: usize,
    optimizer: OptimizerKind,
    validation: (ArrayD<f32>, ArrayD<f32>),
) -> TrainConfig<f32> {
    let learning_rate = if optimizer == OptimizerKind::Adam { 0.01 } else { 0.1 };
    TrainConfig {
        batch_size: 32,
        epochs,
        optimizer,
        learning_rate,
        seed: 2024,
        validation: Some(validation),
        ..Default::default()
    }
}

/// Uninterrupted 10 epochs vs 5 with checkpoints every 2 (written at 2, 4, 5) resumed to 10.
fn five_then_ten_equals_ten(optimizer: OptimizerKind, build: fn(u64) -> Sequential<f32>, reshape: bool) {
    let (mut x, y, mut vx, vy) = data();
    if reshape {
        x = x.into_shape_with_order(vec![300, 64, 1]).unwrap();
        vx = vx.into_shape_with_order(vec![100, 64, 1]).unwrap();
    }
    let dir = Dir::new(&format!("{optimizer}-{reshape}"));
    let loss = &mut LogSoftmaxCrossEntropy::new();

    let mut whole = build(1);
    let full =
        train(&mut whole, loss, (x.view(), y.view()), &config(10, optimizer, (vx.clone(), vy.clone())))
            .unwrap();
    assert_eq!(full.epochs_run, 10);

    let mut first = build(1);
    let mut ck = Checkpointing::new(dir.join("run.ckpt"), 2);
    ck.metadata.insert("net", first.to_string());
    let part = train_checkpointed(
        &mut first,
        loss,
        (x.view(), y.view()),
        &config(5, optimizer, (vx.clone(), vy.clone())),
        &ck,
    )
    .unwrap();
    assert_eq!(part.train_loss[..], full.train_loss[..5]);
    let info = read_checkpoint(&ck.path).unwrap();
    assert_eq!(info.epochs, 5);
    assert_eq!(info.metadata.get("net"), Some(first.to_string().as_str()));

    // A fresh network with other weights: everything must come from the checkpoint.
    let mut resumed = build(99);
    let config10 = TrainConfig { validation: Some((vx.clone(), vy.clone())), ..info.config(10) };
    let history = resume(&mut resumed, loss, (x.view(), y.view()), &config10, &ck.path, Some(&ck)).unwrap();

    assert_eq!(parameter_bits(&resumed), parameter_bits(&whole), "{optimizer}: parameters differ");
    assert_eq!(history_bits(&history), history_bits(&full), "{optimizer}: histories differ");
    assert_eq!(read_checkpoint(&ck.path).unwrap().epochs, 10);
}

#[test]
fn plain_sgd_resumes_bit_for_bit() {
    five_then_ten_equals_ten(OptimizerKind::Sgd, mlp, false);
}

#[test]
fn momentum_resumes_bit_for_bit() {
    five_then_ten_equals_ten(OptimizerKind::Momentum { momentum: 0.9 }, mlp, false);
}

#[test]
fn adam_resumes_bit_for_bit() {
    five_then_ten_equals_ten(OptimizerKind::Adam, mlp, false);
}

#[test]
fn a_convolutional_network_with_adam_resumes_bit_for_bit() {
    five_then_ten_equals_ten(OptimizerKind::Adam, conv, true);
}

fn checkpoint_of_mlp(dir: &Dir) -> (PathBuf, ArrayD<f32>, ArrayD<f32>) {
    let (x, y, ..) = data();
    let ck = Checkpointing::new(dir.join("mlp.ckpt"), 1);
    let cfg =
        TrainConfig { epochs: 2, optimizer: OptimizerKind::Adam, learning_rate: 0.01, ..Default::default() };
    train_checkpointed(&mut mlp(1), &mut LogSoftmaxCrossEntropy::new(), (x.view(), y.view()), &cfg, &ck)
        .unwrap();
    (ck.path, x, y)
}

fn resume_err(net: &mut dyn Module<f32>, path: &Path, x: &ArrayD<f32>, y: &ArrayD<f32>) -> String {
    let cfg =
        TrainConfig { epochs: 4, optimizer: OptimizerKind::Adam, learning_rate: 0.01, ..Default::default() };
    let before = parameter_bits(net);
    let err =
        resume(net, &mut LogSoftmaxCrossEntropy::new(), (x.view(), y.view()), &cfg, path, None).unwrap_err();
    assert_eq!(parameter_bits(net), before, "a refused resume changes nothing");
    err.to_string()
}

#[test]
fn a_different_architecture_is_refused_with_the_nn_io_message() {
    let dir = Dir::new("architecture");
    let (path, x, y) = checkpoint_of_mlp(&dir);
    let mut rng = StdRng::seed_from_u64(3);
    let mut wider: Sequential<f32> = Sequential::new()
        .add(Linear::new(64, 32, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(32, 10, &mut rng));
    assert_eq!(
        resume_err(&mut wider, &path, &x, &y),
        format!(
            "{} does not fit the model: 0.weight: file (16, 64) vs model (32, 64); 0.bias: file (16,) vs model (32,); 2.weight: file (10, 16) vs model (10, 32)",
            path.display()
        )
    );
    let mut deeper: Sequential<f32> = Sequential::new()
        .add(Linear::new(64, 16, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(16, 10, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(10, 10, &mut rng));
    assert_eq!(
        resume_err(&mut deeper, &path, &x, &y),
        format!("{} does not fit the model: missing 4.weight, 4.bias", path.display())
    );
}

#[test]
fn an_f32_checkpoint_is_not_loaded_into_an_f64_network() {
    let dir = Dir::new("dtype");
    let (path, x, y) = checkpoint_of_mlp(&dir);
    let mut rng = StdRng::seed_from_u64(3);
    let mut net: Sequential<f64> = Sequential::new()
        .add(Linear::new(64, 16, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(16, 10, &mut rng));
    let cfg = TrainConfig::<f64> {
        epochs: 4,
        optimizer: OptimizerKind::Adam,
        learning_rate: 0.01,
        ..Default::default()
    };
    let err = resume(
        &mut net,
        &mut LogSoftmaxCrossEntropy::new(),
        (x.mapv(f64::from).view(), y.mapv(f64::from).view()),
        &cfg,
        &path,
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: tensor 0.bias is f32 but the model computes in f64; build the model in f32 or convert the file",
            path.display()
        )
    );
}

#[test]
fn a_truncated_checkpoint_is_a_clear_error() {
    let dir = Dir::new("truncated");
    let (path, x, y) = checkpoint_of_mlp(&dir);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = resume_err(&mut mlp(1), &path, &x, &y);
    assert!(err.starts_with(&format!("{} is not a valid safetensors file: ", path.display())), "{err}");
}
