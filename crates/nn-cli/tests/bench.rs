//! End-to-end tests of `nn bench`: the fields it prints and its errors.
//! No timing thresholds: the machine running the tests may be busy.

mod common;

use common::{TempDir, json, nn, refused};

/// The fields every epoch measurement prints, with sane values.
fn assert_measurement(report: &serde_json::Value) {
    for key in ["epoch_ms_median", "epoch_ms_min", "step_us_median", "gflops", "flops_per_epoch"] {
        let value = report[key].as_f64().unwrap_or_else(|| panic!("{key} is a number: {report}"));
        assert!(value > 0.0 && value.is_finite(), "{key} = {value}: {report}");
    }
    assert!(report["epoch_ms_min"].as_f64() <= report["epoch_ms_median"].as_f64(), "{report}");
    let allocations = report["allocations_per_step"].as_f64().expect("allocations are counted by nn");
    assert!(allocations >= 0.0, "{report}");
    assert!(report["threads"].as_u64().unwrap() >= 1, "{report}");
}

#[test]
fn w1_prints_every_field_and_allocates_nothing_per_step() {
    let report = json(&nn(&["bench", "--workload", "W1", "--epochs", "3", "--json"]));
    assert_measurement(&report);
    assert_eq!(report["workload"], "W1");
    assert_eq!(report["net"], "Linear(64, 100) -> ReLU() -> Linear(100, 10)");
    assert_eq!(report["loss"], "LogSoftmaxCrossEntropy()");
    assert_eq!(report["threads"], 1);
    assert_eq!(report["epochs_timed"], 2);
    assert_eq!(report["rows"], 1437);
    assert_eq!(report["steps_per_epoch"], 45, "44 batches of 32 and the last one of 29");
    // 31 600 FLOPs per row (see bench_cmd's unit test) × 1437 rows.
    assert_eq!(report["flops_per_epoch"], 45_409_200.0);
    // As tests/no_alloc.rs asserts through the library API.
    assert_eq!(report["allocations_per_step"], 0.0, "{report}");
}

#[test]
fn w2_allocates_nothing_per_step_either() {
    let report = json(&nn(&["bench", "--workload", "w2", "--epochs", "2", "--json"]));
    assert_measurement(&report);
    assert_eq!(report["workload"], "W2");
    assert_eq!(report["allocations_per_step"], 0.0, "{report}");
}

#[test]
fn products_shared_with_a_second_thread_allocate_nothing_per_step() {
    // Linear(64,2048) at batch 32: 4 M multiply-adds, shared with the pool's
    // second thread by nn_core::linalg (rayon::join on every pass).
    let net = "Linear(64,2048) -> ReLU -> Linear(2048,10)";
    let report = json(&nn(&[
        "bench",
        "--net",
        net,
        "--batch-size",
        "32",
        "--epochs",
        "3",
        "--threads",
        "2",
        "--json",
    ]));
    assert_measurement(&report);
    assert_eq!(report["threads"], 2);
    assert_eq!(report["allocations_per_step"], 0.0, "{report}");
}

#[test]
fn any_network_on_any_batch_size_and_threads() {
    let report = json(&nn(&[
        "bench",
        "--net",
        "Linear(64,30) -> TanH -> Linear(30,10)",
        "--batch-size",
        "100",
        "--epochs",
        "3",
        "--threads",
        "2",
        "--lr",
        "0.05",
        "--json",
    ]));
    assert_measurement(&report);
    assert_eq!(report["workload"], serde_json::Value::Null);
    assert_eq!(report["net"], "Linear(64, 30) -> TanH() -> Linear(30, 10)");
    assert_eq!(report["threads"], 2);
    assert_eq!(report["batch_size"], 100);
    assert_eq!(report["steps_per_epoch"], 15, "1437 rows in batches of 100");

    let report = json(&nn(&[
        "bench",
        "--encoder",
        "Linear(64,16) -> TanH",
        "--decoder",
        "Linear(16,64) -> Sigmoid",
        "--epochs",
        "2",
        "--json",
    ]));
    assert_measurement(&report);
    assert_eq!(report["loss"], "BCELoss()");
}

#[test]
fn w5_compares_thread_counts_on_identical_results() {
    let report = json(&nn(&["bench", "--workload", "W5", "--epochs", "2", "--json"]));
    assert_measurement(&report);
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.iter().map(|r| r["threads"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(report["identical_results"], true);
    assert!(report["speedup"].as_f64().unwrap() > 0.0);
}

#[test]
fn gemm_reports_gflops_per_size() {
    let report = json(&nn(&["bench", "--gemm", "--json"]));
    let sizes = report["gemm"].as_array().unwrap();
    assert_eq!(sizes[0]["m"], 1024);
    assert!(sizes.iter().all(|s| s["gflops"].as_f64().unwrap() > 0.0), "{report}");
    assert!(report["peak_gflops"].as_f64().unwrap() > 0.0);
}

#[test]
fn dump_data_writes_npy_files() {
    let dir = TempDir::new("bench-dump");
    let report = json(&nn(&["bench", "--dump-data", dir.file("data").as_str(), "--json"]));
    assert_eq!(report["files"].as_array().unwrap().len(), 5);
    let payload = |name: &str| {
        let bytes = std::fs::read(dir.path().join("data").join(name)).unwrap();
        assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"), "{name}");
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0, "{name}");
        bytes.len() - 10 - header_len
    };
    assert_eq!(payload("digits_train_x.npy"), 1437 * 64 * 4);
    assert_eq!(payload("digits_train_labels.npy"), 1437 * 8);
    assert_eq!(payload("digits_train_folds.npy"), 1437 * 8);
    assert_eq!(payload("w4_x.npy"), 10240 * 784 * 4);
    assert_eq!(payload("w4_labels.npy"), 10240 * 8);
}

#[test]
fn bad_requests_are_refused_with_a_message() {
    assert_eq!(
        refused(&nn(&["bench", "--workload", "W9"])),
        "unknown workload 'W9': choose W1, W2, W3, W4 or W5"
    );
    assert_eq!(
        refused(&nn(&["bench", "--workload", "W1", "--epochs", "1"])),
        "--epochs must be at least 2 (one warm-up epoch, then the timed ones), got 1"
    );
    assert_eq!(
        refused(&nn(&["bench", "--workload", "W1", "--threads", "0"])),
        "--threads must be at least 1"
    );
    assert_eq!(
        refused(&nn(&["bench"])),
        "give the network: --net \"...\", or --encoder \"...\" --decoder \"...\""
    );
    let out = nn(&["bench", "--workload", "W1", "--net", "Linear(64,10)"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}
