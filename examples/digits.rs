//! Trains the report's first network, `Linear(64, 100) -> ReLU() -> Linear(100, 10)`,
//! on the bundled 8×8 digits with the report's `sgd` and prints the test accuracy.
//!
//! `cargo run --release --example digits`

use nn::data::{digits, one_hot, stratified_split};
use nn::layers::{Linear, ReLU};
use nn::losses::LogSoftmaxCrossEntropy;
use nn::prelude::*;
use nn::train::{accuracy, predict, sgd};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    train_and_score(true)?;
    Ok(())
}

/// Trains the network and returns its test accuracy; prints the story if `verbose`.
fn train_and_score(verbose: bool) -> Result<f64, Box<dyn std::error::Error>> {
    let data = digits();
    let (train, test) = stratified_split(&data.labels, 0.2, 0)?;
    let (train, test) = (data.select(&train), data.select(&test));
    let x_train = train.x.clone().into_dyn();
    let y_train = one_hot(&train.labels, data.classes).into_dyn();

    let mut rng = StdRng::seed_from_u64(0);
    let mut net: Sequential = Sequential::new()
        .add(Linear::new(64, 100, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(100, 10, &mut rng));
    if verbose {
        println!("{net}\n{}", net.summary(&[32, 64])?);
    }

    // sgd(net, data, loss, batch_size, nb_epochs, eps, step), as in the report.
    let mut loss = LogSoftmaxCrossEntropy::new();
    let history = sgd(&mut net, (x_train.view(), y_train.view()), &mut loss, 32, 40, 1e-5, 0.1)?;
    for (epoch, value) in history.train_loss.iter().enumerate().filter(|(e, _)| verbose && (e + 1) % 10 == 0)
    {
        println!("epoch {:>3}: train loss {value:.4}", epoch + 1);
    }

    let predicted = predict(&mut net, test.x.view().into_dyn())?;
    let test_accuracy = accuracy(&predicted, &test.labels);
    if verbose {
        let correct = predicted.iter().zip(&test.labels).filter(|(p, l)| p == l).count();
        println!(
            "test accuracy: {test_accuracy:.4} ({correct} of {}) after {} epochs",
            test.len(),
            history.epochs_run
        );
    }
    Ok(test_accuracy)
}

/// `cargo test` runs this example's tests (`test = true` in Cargo.toml).
#[test]
fn the_example_reaches_the_report_accuracy() {
    let test_accuracy = train_and_score(false).unwrap();
    assert!(test_accuracy >= 0.95, "test accuracy {test_accuracy}");
}
