//! `History`: the losses and accuracies of a training run, one entry per epoch.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::TrainError;
use crate::atomic::write_atomic;

/// What [`train`](crate::train) and [`sgd`](crate::sgd) record, one entry per epoch run.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct History {
    /// Training loss of each epoch: the mean of the batch losses weighted by batch size.
    pub train_loss: Vec<f64>,
    /// Validation loss after each epoch (empty without validation data).
    pub val_loss: Vec<f64>,
    /// Validation accuracy after each epoch (empty without validation data, or
    /// when the targets have one column).
    pub val_accuracy: Vec<f64>,
    /// Epochs run (the length of `train_loss`).
    pub epochs_run: usize,
    /// Whether early stopping ended the run before the last epoch asked for.
    pub stopped_early: bool,
}

impl History {
    /// The history as CSV: header `epoch,train_loss,val_loss,val_accuracy`,
    /// one row per epoch (counting from 1), empty cells where nothing was measured.
    pub fn to_csv_string(&self) -> String {
        let mut out = String::from("epoch,train_loss,val_loss,val_accuracy\n");
        let cell = |v: Option<&f64>| v.map(f64::to_string).unwrap_or_default();
        for (i, loss) in self.train_loss.iter().enumerate() {
            let _ = writeln!(
                out,
                "{},{loss},{},{}",
                i + 1,
                cell(self.val_loss.get(i)),
                cell(self.val_accuracy.get(i))
            );
        }
        out
    }

    /// Writes [`to_csv_string`](History::to_csv_string) to `path`, through a
    /// temporary file beside it renamed into place.
    ///
    /// # Errors
    /// [`TrainError::Io`] naming `path`.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<(), TrainError> {
        write_atomic(path.as_ref(), self.to_csv_string().as_bytes())
    }

    /// The last training loss, if any epoch ran.
    pub fn final_train_loss(&self) -> Option<f64> {
        self.train_loss.last().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_one_row_per_epoch_and_empty_cells() {
        let h = History {
            train_loss: vec![2.5, 1.25],
            val_loss: vec![3.0, 1.5],
            val_accuracy: vec![],
            epochs_run: 2,
            stopped_early: false,
        };
        assert_eq!(h.to_csv_string(), "epoch,train_loss,val_loss,val_accuracy\n1,2.5,3,\n2,1.25,1.5,\n");
        let dir = std::env::temp_dir().join(format!("nn-train-history-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        h.write_csv(dir.join("h.csv")).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("h.csv")).unwrap(), h.to_csv_string());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
