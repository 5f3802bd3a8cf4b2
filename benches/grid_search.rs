//! W5: grid_search over 12 points × 3 folds of `Linear(64,h) -> ReLU -> Linear(h,10)`
//! (hidden 50/100/200/400 × lr 0.01/0.05/0.1), 10 epochs each, on 1 and on 2
//! threads. After the measurements it prints the speed-up from 1 to 2 threads,
//! read from criterion's own estimates of this run.
//!
//! `cargo bench --bench grid_search`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group};
use nn::data::{digits, stratified_split};
use nn::layers::{Linear, ReLU};
use nn::losses::LogSoftmaxCrossEntropy;
use nn::prelude::*;
use nn::train::{GridOptions, Metric, ParamGrid, Point, Setup, TrainConfig, TrainError, grid_search};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn build(point: &Point) -> Result<Setup<f32>, TrainError> {
    let hidden = point.get_usize("hidden")?;
    let mut rng = StdRng::seed_from_u64(point.index() as u64);
    let net = Sequential::new()
        .add(Linear::new(64, hidden, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(hidden, 10, &mut rng));
    let config = TrainConfig { epochs: 10, learning_rate: point.get_f64("lr")?, ..TrainConfig::default() };
    Ok(Setup { net: Box::new(net), loss: Box::new(LogSoftmaxCrossEntropy::new()), config })
}

fn w5(c: &mut Criterion) {
    let data = digits();
    let (train, _) = stratified_split(&data.labels, 0.2, 0).expect("the digits split");
    let part = data.select(&train);
    let x = part.x.into_dyn();
    let grid = ParamGrid::new().add("hidden", [50, 100, 200, 400]).add("lr", [0.01, 0.05, 0.1]);
    let mut group = c.benchmark_group("grid_search");
    group.sample_size(10);
    for threads in [1, 2] {
        let options = GridOptions { threads: Some(threads), ..GridOptions::default() };
        group.bench_function(format!("W5_threads_{threads}"), |b| {
            b.iter(|| {
                black_box(grid_search(build, &grid, x.view(), &part.labels, Metric::Accuracy, 3, &options))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, w5);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let median = |threads: usize| -> Option<f64> {
        let path = format!("target/criterion/grid_search/W5_threads_{threads}/new/estimates.json");
        let text = std::fs::read_to_string(Path::new(&path)).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json["median"]["point_estimate"].as_f64()
    };
    match (median(1), median(2)) {
        (Some(one), Some(two)) => println!("grid_search W5 speed-up from 1 to 2 threads: {:.2}x", one / two),
        _ => println!("grid_search W5 speed-up: run the whole bench to measure both thread counts"),
    }
}
