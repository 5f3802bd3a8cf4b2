//! Trains `Linear(64, 100) -> ReLU() -> Linear(100, 10)` on the bundled 8×8
//! digits with a hand-written loop (the report's `Optim.step`, spelled out)
//! and prints the test accuracy.
//!
//! `cargo run --release --example digits`

use ndarray::{Array2, Axis};
use nn::data::{digits, one_hot, stratified_split};
use nn::layers::{Linear, ReLU};
use nn::losses::LogSoftmaxCrossEntropy;
use nn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

const EPOCHS: usize = 40;
const BATCH_SIZE: usize = 32;
const LEARNING_RATE: f32 = 0.1;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = digits();
    let (train, test) = stratified_split(&data.labels, 0.2, 0)?;
    let x_train = data.x.select(Axis(0), &train);
    let y_train = one_hot(&train.iter().map(|&i| data.labels[i]).collect::<Vec<_>>(), data.classes);

    let mut rng = StdRng::seed_from_u64(0);
    let mut net: Sequential = Sequential::new()
        .add(Linear::new(64, 100, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(100, 10, &mut rng));
    let mut loss = LogSoftmaxCrossEntropy::new();
    println!("{net}\n{}", net.summary(&[BATCH_SIZE, 64])?);

    let mut order: Vec<usize> = (0..train.len()).collect();
    for epoch in 1..=EPOCHS {
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for batch in order.chunks(BATCH_SIZE) {
            let x: Array2<f32> = x_train.select(Axis(0), batch);
            let y: Array2<f32> = y_train.select(Axis(0), batch);
            let (x, y) = (x.into_dyn(), y.into_dyn());
            let yhat = net.forward(x.view())?;
            total += loss.forward(y.view(), yhat.view())? * batch.len() as f32;
            let delta = loss.backward(y.view(), yhat.view())?;
            net.backward(x.view(), delta.view())?;
            net.update_parameters(LEARNING_RATE);
            net.zero_grad();
        }
        if epoch % 10 == 0 {
            println!("epoch {epoch:>3}: train loss {:.4}", total / train.len() as f32);
        }
    }

    let x_test = data.x.select(Axis(0), &test).into_dyn();
    let scores = net.forward(x_test.view())?;
    let correct = scores
        .axis_iter(Axis(0))
        .zip(&test)
        .filter(|(row, i)| argmax(row.iter().copied()) == data.labels[**i])
        .count();
    println!("test accuracy: {:.4} ({correct} of {})", correct as f64 / test.len() as f64, test.len());
    Ok(())
}

fn argmax(values: impl Iterator<Item = f32>) -> usize {
    values.enumerate().fold((0, f32::NEG_INFINITY), |best, (i, v)| if v > best.1 { (i, v) } else { best }).0
}
