//! End-to-end tests of the `nn` binary: train, grid and the error paths.

use std::path::PathBuf;
use std::process::{Command, Output};

fn nn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nn")).args(args).output().expect("the nn binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "nn failed: {}", stderr(out));
    serde_json::from_str(stdout(out).trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

#[test]
fn train_gives_the_same_model_on_one_and_two_threads() {
    // Linear(64,2048) at batch 32 is a 4 M multiply-add product: large
    // enough for nn_core::linalg to share it with the second thread.
    let net = "Linear(64,2048) -> ReLU -> Linear(2048,10)";
    let run = |threads: &str| {
        let result = json(&nn(&["train", "--net", net, "--epochs", "1", "--threads", threads, "--json"]));
        ["train_loss", "test_loss", "test_accuracy"].map(|key| result[key].as_f64().unwrap().to_bits())
    };
    assert_eq!(run("1"), run("2"));
    let out = nn(&["train", "--net", net, "--threads", "0"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--threads must be at least 1"), "{}", stderr(&out));
}

#[test]
fn train_reaches_the_report_accuracy_on_the_digits() {
    let out = nn(&["train", "--net", "Linear(64,100) -> ReLU -> Linear(100,10)", "--epochs", "50", "--json"]);
    let result = json(&out);
    let accuracy = result["test_accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.95, "test accuracy {accuracy}");
    assert_eq!(result["epochs_run"], 50);
    for key in ["train_loss", "test_loss", "seconds"] {
        assert!(result[key].as_f64().unwrap().is_finite(), "{key}: {result}");
    }
}

#[test]
fn the_report_shape_typo_exits_non_zero_naming_both_sizes() {
    let out = nn(&["train", "--net", "Conv1D(5,1,10) -> MaxPool1D(2,2) -> Flatten -> Linear(310,10)"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("Linear(310, 10) expects 310 features but receives 300"), "{err}");
    assert!(err.contains("30 × 10"), "{err}");
    assert_eq!(stdout(&out), "", "nothing is trained");
}

#[test]
fn a_parse_error_points_at_the_token() {
    let out = nn(&["train", "--net", "Linear(64,100) -> Relu2 -> Linear(100,10)"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unknown layer 'Relu2'; did you mean ReLU? at column 19"), "{err}");
    assert!(err.contains("                    ^^^^^"), "{err}");
}

#[test]
fn zero_sizes_and_unknown_layers_are_refused() {
    let out = nn(&["train", "--net", "Linear(64,0)"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Linear sizes must be positive, found 0"), "{}", stderr(&out));
}

#[test]
fn summary_prints_the_layer_table_and_exits() {
    let net = "Conv1D(3,1,32) -> MaxPool1D(2,2) -> Flatten -> Linear(992,100) -> ReLU -> Linear(100,10)";
    let out = nn(&["train", "--net", net, "--summary"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("(32, 992)") && text.contains("99300") && text.contains("total parameters: 100438"),
        "{text}"
    );
}

#[test]
fn a_convolutional_network_takes_digit_rows_as_length_64_by_1() {
    let net = "Conv1D(3,1,8) -> MaxPool1D(2,2) -> Flatten -> Linear(248,10)";
    let result = json(&nn(&["train", "--net", net, "--epochs", "3", "--json"]));
    assert!(result["test_accuracy"].as_f64().unwrap() > 0.5, "{result}");
}

#[test]
fn history_plot_and_autoencoder_pictures_are_written() {
    let dir = temp_dir("files");
    let history = dir.join("history.csv");
    let plot = dir.join("loss.png");
    let pictures = dir.join("rec.png");
    let out = nn(&[
        "train",
        "--encoder",
        "Linear(64,32) -> TanH",
        "--decoder",
        "Linear(32,64) -> Sigmoid",
        "--epochs",
        "4",
        "--history",
        history.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
        "--reconstructions",
        pictures.to_str().unwrap(),
        "--json",
    ]);
    let result = json(&out);
    assert_eq!(result["loss"], "BCELoss()", "the default loss after a Sigmoid");
    assert!(result["test_accuracy"].is_null(), "an auto-encoder has no accuracy");
    let csv = std::fs::read_to_string(&history).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    assert!(csv.starts_with("epoch,train_loss,val_loss,val_accuracy"), "{csv}");
    for png in [&plot, &pictures] {
        assert!(std::fs::read(png).unwrap().starts_with(b"\x89PNG"), "{}", png.display());
    }
}

#[test]
fn data_of_the_wrong_width_is_refused_with_both_sizes() {
    let dir = temp_dir("width");
    let csv = dir.join("wide.csv");
    let rows: Vec<String> = (0..20).map(|i| format!("{},{},{},{}", i, i + 1, i + 2, i % 2)).collect();
    std::fs::write(&csv, rows.join("\n")).unwrap();
    let out = nn(&["train", "--net", "Linear(64,10)", "--data", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("the data has 3 features per row") && err.contains("expects 64 features but receives 3"),
        "{err}"
    );
}

#[test]
fn a_corrupt_csv_names_the_file_and_line() {
    let dir = temp_dir("corrupt");
    let csv = dir.join("bad.csv");
    std::fs::write(&csv, "1,2,0\n3,x,1\n").unwrap();
    let out = nn(&["train", "--net", "Linear(2,2)", "--data", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("bad.csv") && err.contains("line 2") && err.contains("'x' is not a number"),
        "{err}"
    );
}

#[test]
fn idx_images_without_labels_are_refused() {
    let out = nn(&["train", "--net", "Linear(784,10)", "--data", "train-images.idx3-ubyte"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--labels"), "{}", stderr(&out));
}

#[test]
fn classes_left_without_training_rows_are_named_in_a_warning() {
    let out = nn(&["train", "--net", "Linear(64,10)", "--epochs", "1", "--test-fraction", "0.999"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "of the data have no training rows with --test-fraction 0.999: the network never sees them"
        ),
        "{}",
        stderr(&out)
    );
    let out = nn(&["train", "--net", "Linear(64,10)", "--epochs", "1"]);
    assert!(!stderr(&out).contains("no training rows"), "{}", stderr(&out));
}

#[test]
fn batches_larger_than_the_memory_are_refused_before_training() {
    if !std::path::Path::new("/proc/meminfo").exists() {
        return; // nn checks only where it can read the memory available
    }
    // 640 M values per row for Upsample1D: 152.6 GiB of outputs and gradients
    // for a batch of 32, more than any machine that runs these tests has.
    let net =
        "Unflatten(64,1) -> Upsample1D(10000000) -> MaxPool1D(10000000,10000000) -> Flatten -> Linear(64,10)";
    let out = nn(&["train", "--net", net, "--epochs", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "nn: batches of 32 rows need at least 152.6 GiB of memory for the layers' outputs and gradients \
             (Upsample1D(10000000) alone 152.6 GiB), more than the "
        ) && err.trim_end().ends_with(" GiB available: use a smaller --batch-size or smaller layers"),
        "{err}"
    );
}

#[test]
fn an_unknown_optimizer_is_refused() {
    let out = nn(&["train", "--net", "Linear(64,10)", "--optimizer", "rmsprop"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown optimizer \"rmsprop\": expected sgd, momentum or adam"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn grid_ranks_points_and_results_do_not_depend_on_threads() {
    let dir = temp_dir("grid");
    let run = |threads: &str| {
        let file = dir.join(format!("results-{threads}.csv"));
        let out = nn(&[
            "grid",
            "--net",
            "Linear(64,{hidden}) -> ReLU -> Linear({hidden},10)",
            "--grid",
            "hidden=20,50",
            "--grid",
            "lr=0.05,0.1",
            "--cv",
            "3",
            "--epochs",
            "3",
            "--threads",
            threads,
            "--results",
            file.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        (stdout(&out), std::fs::read_to_string(file).unwrap())
    };
    let (table_1, csv_1) = run("1");
    let (table_2, csv_2) = run("2");
    assert_eq!(table_1, table_2);
    let without_seconds =
        |csv: &str| csv.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect::<Vec<_>>();
    assert_eq!(without_seconds(&csv_1), without_seconds(&csv_2));
    assert_eq!(csv_1.lines().count(), 1 + 4 * 3, "{csv_1}");
    assert!(table_1.lines().next().unwrap().starts_with("rank  point  hidden  lr"), "{table_1}");
    assert!(table_1.contains("best: hidden="), "{table_1}");
}

#[test]
fn grid_checks_every_point_before_training() {
    let out =
        nn(&["grid", "--net", "Linear(64,{hidden}) -> ReLU -> Linear(50,10)", "--grid", "hidden=50,60"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("at point hidden=60") && err.contains("expects 50 features but receives 60"),
        "{err}"
    );

    let out = nn(&["grid", "--net", "Linear(64,10)", "--grid", "hidden=50"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--grid hidden is not used"), "{}", stderr(&out));
}
