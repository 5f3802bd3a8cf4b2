//! The named workloads of `nn bench --workload`: W1–W5 of the performance
//! issue, the same as in `benches/` and in the PyTorch comparison
//! (`cargo xtask bench-peers`).
//!
//! All train in f32 with plain SGD at learning rate 0.01, on shuffled rows,
//! the last partial batch kept. W1–W3 and W5 train on the 1437 training rows
//! of the seeded (seed 0) stratified 80/20 split of the 8×8 digits; W4 on 40
//! batches of 256 seeded random rows.

use ndarray::{Array2, ArrayD};
use nn_data::one_hot;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::error::{CliError, CliResult};

/// One of the workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadName {
    /// `Linear(64,100) -> ReLU -> Linear(100,10)`, LogSoftmax cross-entropy, batch 32.
    W1,
    /// `Conv1D(3,1,32) -> MaxPool1D(2,2) -> Flatten -> Linear(992,100) -> ReLU -> Linear(100,10)`, batch 32.
    W2,
    /// The auto-encoder `Linear(64,200) -> TanH -> Linear(200,50) -> TanH` /
    /// `Linear(50,200) -> TanH -> Linear(200,64) -> Sigmoid`, BCE, batch 32.
    W3,
    /// `Linear(784,1024) -> ReLU -> Linear(1024,1024) -> ReLU -> Linear(1024,10)`,
    /// batch 256, 40 batches of seeded random data per epoch.
    W4,
    /// A grid search of W1: 12 points (hidden 50/100/200/400 × lr 0.01/0.05/0.1)
    /// × 3 folds, 10 epochs each.
    W5,
}

/// Every workload, in order.
pub const ALL: [WorkloadName; 5] =
    [WorkloadName::W1, WorkloadName::W2, WorkloadName::W3, WorkloadName::W4, WorkloadName::W5];

/// The learning rate of every workload (and W5's grid overrides it).
pub const LEARNING_RATE: f64 = 0.01;

/// W4: batches per epoch.
pub const W4_BATCHES: usize = 40;
/// W4: rows per batch.
pub const W4_BATCH: usize = 256;
/// W4: features per row.
pub const W4_FEATURES: usize = 784;
/// W4: classes.
pub const W4_CLASSES: usize = 10;

/// W5: the hidden sizes of the grid.
pub const W5_HIDDEN: [usize; 4] = [50, 100, 200, 400];
/// W5: the learning rates of the grid.
pub const W5_LR: [f64; 3] = [0.01, 0.05, 0.1];
/// W5: folds of the cross-validation.
pub const W5_FOLDS: usize = 3;
/// W5: epochs of each (point, fold) job.
pub const W5_EPOCHS: usize = 10;
/// W5: the network, `{hidden}` filled from the grid.
pub const W5_NET: &str = "Linear(64,{hidden}) -> ReLU -> Linear({hidden},10)";

/// Where a workload's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadData {
    /// The training part of the digits' seeded 80/20 stratified split (1437 rows).
    DigitsTrain,
    /// [`W4_BATCHES`] × [`W4_BATCH`] random rows: [`w4_data`].
    Random,
}

/// What `nn bench --workload` runs for one workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    /// Its name.
    pub name: WorkloadName,
    /// The classifier in the report's notation (W5: the grid's template).
    pub net: Option<&'static str>,
    /// The auto-encoder's encoder and decoder.
    pub autoencoder: Option<(&'static str, &'static str)>,
    /// Rows per batch.
    pub batch_size: usize,
    /// Its rows.
    pub data: WorkloadData,
    /// Epochs `nn bench` runs when `--epochs` is not given, the warm-up one
    /// included (W5: whole searches).
    pub default_epochs: usize,
}

impl WorkloadName {
    /// Reads `W1`…`W5` (or `w1`…`w5`).
    ///
    /// # Errors
    /// [`CliError::Usage`] naming the choices.
    pub fn parse(name: &str) -> CliResult<Self> {
        ALL.into_iter()
            .find(|w| w.to_string().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| CliError::usage(format!("unknown workload '{name}': choose W1, W2, W3, W4 or W5")))
    }

    /// Its definition.
    pub fn workload(self) -> Workload {
        let classifier = |net, batch_size, data, default_epochs| Workload {
            name: self,
            net: Some(net),
            autoencoder: None,
            batch_size,
            data,
            default_epochs,
        };
        match self {
            WorkloadName::W1 => {
                classifier("Linear(64,100) -> ReLU -> Linear(100,10)", 32, WorkloadData::DigitsTrain, 21)
            }
            WorkloadName::W2 => classifier(
                "Conv1D(3,1,32) -> MaxPool1D(2,2) -> Flatten -> Linear(992,100) -> ReLU -> Linear(100,10)",
                32,
                WorkloadData::DigitsTrain,
                11,
            ),
            WorkloadName::W3 => Workload {
                name: self,
                net: None,
                autoencoder: Some((
                    "Linear(64,200) -> TanH -> Linear(200,50) -> TanH",
                    "Linear(50,200) -> TanH -> Linear(200,64) -> Sigmoid",
                )),
                batch_size: 32,
                data: WorkloadData::DigitsTrain,
                default_epochs: 11,
            },
            WorkloadName::W4 => classifier(
                "Linear(784,1024) -> ReLU -> Linear(1024,1024) -> ReLU -> Linear(1024,10)",
                W4_BATCH,
                WorkloadData::Random,
                6,
            ),
            WorkloadName::W5 => classifier(W5_NET, 32, WorkloadData::DigitsTrain, 4),
        }
    }
}

impl std::fmt::Display for WorkloadName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            WorkloadName::W1 => "W1",
            WorkloadName::W2 => "W2",
            WorkloadName::W3 => "W3",
            WorkloadName::W4 => "W4",
            WorkloadName::W5 => "W5",
        };
        f.write_str(name)
    }
}

/// W4's data, seeded with 0: x ([`W4_BATCHES`]·[`W4_BATCH`], [`W4_FEATURES`])
/// uniform in [0, 1), then the labels uniform in 0..[`W4_CLASSES`], and
/// their one-hot rows. The same as `benches/workloads.rs`.
pub fn w4_data() -> (Array2<f32>, Vec<usize>, ArrayD<f32>) {
    let mut rng = StdRng::seed_from_u64(0);
    let rows = W4_BATCHES * W4_BATCH;
    let x = Array2::from_shape_fn((rows, W4_FEATURES), |_| rng.random_range(0.0f32..1.0));
    let labels: Vec<usize> = (0..rows).map(|_| rng.random_range(0..W4_CLASSES)).collect();
    let y = one_hot(&labels, W4_CLASSES).into_dyn();
    (x, labels, y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notation::parse;

    #[test]
    fn names_are_read_in_either_case_and_unknown_ones_refused() {
        assert_eq!(WorkloadName::parse("W3").unwrap(), WorkloadName::W3);
        assert_eq!(WorkloadName::parse("w5").unwrap(), WorkloadName::W5);
        assert_eq!(
            WorkloadName::parse("W9").unwrap_err().to_string(),
            "unknown workload 'W9': choose W1, W2, W3, W4 or W5"
        );
    }

    #[test]
    fn every_workload_is_valid_notation() {
        for name in ALL {
            let w = name.workload();
            assert_eq!(w.name, name);
            let texts = match (w.net, w.autoencoder) {
                (Some(net), None) => vec![net.replace("{hidden}", "100")],
                (None, Some((e, d))) => vec![e.to_string(), d.to_string()],
                _ => panic!("{name} is a classifier or an auto-encoder"),
            };
            for text in texts {
                parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            assert!(w.default_epochs >= 2, "a warm-up and a timed epoch");
        }
    }

    #[test]
    fn w4_data_is_seeded() {
        let (x, labels, y) = w4_data();
        assert_eq!(x.dim(), (10240, 784));
        assert_eq!(y.shape(), &[10240, 10]);
        assert!(x.iter().all(|v| (0.0..1.0).contains(v)));
        assert!(labels.iter().all(|&l| l < 10));
        assert_eq!(w4_data().0, x);
    }
}
