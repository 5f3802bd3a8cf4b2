//! Model files end to end: `nn train --save`, `nn eval`, `nn predict`,
//! `nn export`, checkpoints and `--resume`, and what they refuse.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{TempDir, json, nn, ok, refused, stderr, write_csv};
use ndarray::ArrayD;
use nn_cli::data_source::{load, split};
use nn_cli::experiment::{self, NetSpec, RunSpec, outputs};
use nn_cli::model_file::{self, ModelInfo, TrainedOn};
use nn_train::OptimizerKind;

const MLP: &str = "Linear(64,32) -> ReLU -> Linear(32,10)";
const CONV: &str = "Conv1D(3,1,4) -> ReLU -> MaxPool1D(2,2) -> Flatten -> Linear(124,10)";

/// The tensors of a safetensors file, as bits.
fn tensor_bits(path: &str) -> BTreeMap<String, (Vec<usize>, Vec<u32>)> {
    let file = nn_io::load_tensors::<f32>(path).unwrap();
    file.tensors
        .into_iter()
        .map(|(name, t)| (name, (t.shape().to_vec(), t.iter().map(|v| v.to_bits()).collect())))
        .collect()
}

fn without_seconds(mut value: serde_json::Value) -> serde_json::Value {
    value.as_object_mut().unwrap().remove("seconds");
    value
}

#[test]
fn a_saved_model_predicts_exactly_as_the_trained_network() {
    let dir = TempDir::new("in-process");
    let data = load("digits", None).unwrap();
    let parts = split(&data, 0.2, 5).unwrap();
    let spec = RunSpec {
        net: NetSpec::parse(Some(CONV), None, None).unwrap(),
        loss: None,
        lr: 0.1,
        batch_size: 32,
        epochs: 2,
        optimizer: OptimizerKind::Momentum { momentum: 0.9 },
        seed: 5,
        eps: None,
        progress: false,
    };
    let mut outcome = experiment::run(&spec, &parts).unwrap();
    let info = ModelInfo {
        net: spec.net.clone(),
        loss: spec.net.default_loss(),
        row_shape: outcome.row_shape.clone(),
        classes: Some(10),
        trained_on: Some(TrainedOn { data: "digits".into(), labels: None, test_fraction: 0.2, seed: 5 }),
    };
    let path = dir.path().join("m.safetensors");
    model_file::save(&path, &outcome.network, &info.metadata()).unwrap();
    let mut loaded = model_file::load(&path).unwrap();
    assert_eq!(loaded.info, info);
    let before = outputs(&mut outcome.network, &parts.test.x, &outcome.row_shape).unwrap();
    let after = outputs(&mut loaded.network, &parts.test.x, &loaded.info.row_shape).unwrap();
    let bits = |a: &ndarray::Array2<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&before), bits(&after));

    // Parameters named and laid out as PyTorch's state_dict.
    let shapes: Vec<(String, Vec<usize>)> = nn_io::load_tensors::<f32>(&path)
        .unwrap()
        .tensors
        .iter()
        .map(|(name, t): (&String, &ArrayD<f32>)| (name.clone(), t.shape().to_vec()))
        .collect();
    assert_eq!(
        shapes,
        [
            ("0.bias".to_string(), vec![4]),
            ("0.weight".to_string(), vec![4, 1, 3]),
            ("4.bias".to_string(), vec![10]),
            ("4.weight".to_string(), vec![10, 124]),
        ]
    );
}

#[test]
fn train_save_then_eval_and_predict_need_only_the_model() {
    let dir = TempDir::new("save-eval");
    let model = dir.file("m.safetensors");
    let trained =
        json(&nn(&["train", "--net", CONV, "--epochs", "3", "--seed", "2", "--save", &model, "--json"]));

    let meta = nn_io::read_metadata(&model).unwrap();
    assert_eq!(
        meta.get("net"),
        Some("Conv1D(3, 1, 4) -> ReLU() -> MaxPool1D(2, 2) -> Flatten() -> Linear(124, 10)")
    );
    assert_eq!(meta.get("loss"), Some("logsoftmax-ce"));
    assert_eq!(meta.get("row_shape"), Some("[64,1]"));
    assert_eq!(meta.get("dtype"), Some("f32"));
    assert_eq!(meta.get("format"), Some("nn"));
    assert_eq!(meta.get("classes"), Some("10"));
    assert_eq!(meta.get("seed"), Some("2"));

    // The test part of the split it was trained with: the very numbers nn train printed.
    let eval = json(&nn(&["eval", "--model", &model, "--split", "test", "--json"]));
    assert_eq!(eval["loss"], trained["test_loss"]);
    assert_eq!(eval["accuracy"], trained["test_accuracy"]);
    assert_eq!(eval["rows"], 360);
    assert_eq!(eval["data"], "digits, test part");

    let text = ok(&nn(&["eval", "--model", &model]));
    assert!(text.contains("digits (1797 rows): loss ") && text.contains("accuracy 0."), "{text}");

    // predict: one row per input row, all rows, in order; labels are the argmax of the scores.
    let labels = ok(&nn(&["predict", "--model", &model]));
    let scores = ok(&nn(&["predict", "--model", &model, "--output", "scores"]));
    assert_eq!(labels.lines().count(), 1797);
    assert_eq!(scores.lines().count(), 1797);
    for (label, row) in labels.lines().zip(scores.lines()) {
        let values: Vec<f32> = row.split(',').map(|v| v.parse().unwrap()).collect();
        assert_eq!(values.len(), 10);
        let best = (0..10).fold(0, |b, i| if values[i] > values[b] { i } else { b });
        assert_eq!(label.parse::<usize>().unwrap(), best, "{row}");
    }
    let test_labels = ok(&nn(&["predict", "--model", &model, "--split", "test"]));
    assert_eq!(test_labels.lines().count(), 360);

    // --out writes the same CSV to a file.
    let out = dir.file("scores.csv");
    assert_eq!(ok(&nn(&["predict", "--model", &model, "--output", "scores", "--out", &out])), "");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), scores);
}

#[test]
fn predictions_on_a_csv_follow_its_rows() {
    let dir = TempDir::new("predict-csv");
    let model = dir.file("m.safetensors");
    let csv = dir.file("rows.csv");
    write_csv(&csv, 23, 64, 10);
    ok(&nn(&["train", "--net", MLP, "--epochs", "2", "--save", &model]));
    let scores = ok(&nn(&["predict", "--model", &model, "--data", &csv, "--output", "scores"]));
    assert_eq!(scores.lines().count(), 23);
    // Reverse the rows: the predictions come back reversed.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1..].reverse();
    let reversed = dir.file("reversed.csv");
    std::fs::write(&reversed, lines.join("\n")).unwrap();
    let back = ok(&nn(&["predict", "--model", &model, "--data", &reversed, "--output", "scores"]));
    assert_eq!(back.lines().rev().collect::<Vec<_>>(), scores.lines().collect::<Vec<_>>());
    let eval = json(&nn(&["eval", "--model", &model, "--data", &csv, "--json"]));
    assert_eq!(eval["rows"], 23);

    // The same rows without their label column are new samples: same predictions.
    let unlabelled = dir.file("unlabelled.csv");
    let rows: Vec<String> =
        text.lines().map(|line| line.rsplit_once(',').expect("a label column").0.to_string()).collect();
    std::fs::write(&unlabelled, rows.join("\n")).unwrap();
    assert_eq!(ok(&nn(&["predict", "--model", &model, "--data", &unlabelled, "--output", "scores"])), scores);
    assert_eq!(
        ok(&nn(&["predict", "--model", &model, "--data", &unlabelled])),
        ok(&nn(&["predict", "--model", &model, "--data", &csv]))
    );
    // One column short of the model's width is an error naming both widths.
    let narrow = dir.file("narrow.csv");
    let rows: Vec<String> = rows.iter().map(|row| row.rsplit_once(',').unwrap().0.to_string()).collect();
    std::fs::write(&narrow, rows.join("\n")).unwrap();
    let refusal = refused(&nn(&["predict", "--model", &model, "--data", &narrow]));
    assert_eq!(
        refusal,
        format!(
            "{model} takes rows of 64 features but {narrow} has 63 columns: give 64 feature columns, optionally followed by a label"
        )
    );
}

#[test]
fn an_existing_model_is_replaced_only_with_force() {
    let dir = TempDir::new("force");
    let model = dir.file("model.safetensors");
    ok(&nn(&["train", "--net", MLP, "--epochs", "1", "--save", &model]));
    let first = std::fs::read(&model).unwrap();
    let message = refused(&nn(&["train", "--net", MLP, "--epochs", "2", "--save", &model]));
    assert_eq!(message, format!("{model} exists; pass --force to replace it"));
    assert_eq!(std::fs::read(&model).unwrap(), first, "the file is untouched");
    ok(&nn(&["train", "--net", MLP, "--epochs", "2", "--save", &model, "--force"]));
    assert_ne!(std::fs::read(&model).unwrap(), first);
    assert_eq!(nn_io::read_metadata(&model).unwrap().get("epochs"), Some("2"));
}

#[test]
fn an_interrupted_write_leaves_the_previous_model_intact() {
    let dir = TempDir::new("interrupted");
    let model = dir.file("model.safetensors");
    ok(&nn(&["train", "--net", MLP, "--epochs", "1", "--save", &model]));
    let before = std::fs::read(&model).unwrap();
    let predictions = ok(&nn(&["predict", "--model", &model, "--output", "scores"]));
    // The write nn does (nn-io's write_atomic), cut off halfway by a simulated crash.
    let err = nn_io::write_atomic(&model, |file| {
        file.write_all(&before[..before.len() / 2])?;
        Err(std::io::Error::other("simulated crash"))
    })
    .unwrap_err();
    assert!(err.to_string().ends_with("simulated crash"), "{err}");
    assert_eq!(std::fs::read(&model).unwrap(), before);
    assert_eq!(ok(&nn(&["predict", "--model", &model, "--output", "scores"])), predictions);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");

    // A run that fails (here: it diverges) does not touch the file either, even with --force.
    let out = nn(&["train", "--net", MLP, "--loss", "mse", "--lr", "1e30", "--save", &model, "--force"]);
    assert!(refused(&out).starts_with("training diverged"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&model).unwrap(), before);
}

#[test]
fn five_epochs_resumed_to_ten_equal_ten_straight_bit_for_bit() {
    let dir = TempDir::new("resume");
    let (straight, resumed, ck) =
        (dir.file("straight.safetensors"), dir.file("resumed.safetensors"), dir.file("ck"));
    let (h10, h5_10) = (dir.file("h10.csv"), dir.file("h5-10.csv"));
    for optimizer in ["adam", "momentum", "sgd"] {
        let common =
            ["--net", CONV, "--optimizer", optimizer, "--lr", "0.01", "--seed", "7", "--batch-size", "50"];
        let run10 = json(&nn(&[
            &["train"],
            &common[..],
            &["--epochs", "10", "--save", &straight, "--history", &h10, "--json", "--force"],
        ]
        .concat()));
        ok(&nn(&[
            &["train"],
            &common[..],
            &["--epochs", "5", "--checkpoint", &ck, "--checkpoint-every", "2", "--force"],
        ]
        .concat()));
        let info = nn_train::read_checkpoint(&ck).unwrap();
        assert_eq!(info.epochs, 5, "the last epoch is checkpointed too");
        let run5_10 = json(&nn(&[
            "train",
            "--resume",
            &ck,
            "--epochs",
            "10",
            "--save",
            &resumed,
            "--history",
            &h5_10,
            "--json",
            "--force",
        ]));

        assert_eq!(tensor_bits(&straight), tensor_bits(&resumed), "{optimizer}");
        assert_eq!(
            std::fs::read(&straight).unwrap(),
            std::fs::read(&resumed).unwrap(),
            "{optimizer}: same bytes"
        );
        assert_eq!(std::fs::read_to_string(&h10).unwrap(), std::fs::read_to_string(&h5_10).unwrap());
        assert_eq!(without_seconds(run10), without_seconds(run5_10), "{optimizer}");
        // The resumed run went on checkpointing to the same file.
        assert_eq!(nn_train::read_checkpoint(&ck).unwrap().epochs, 10);
    }
}

#[test]
fn resume_refuses_what_contradicts_the_checkpoint() {
    let dir = TempDir::new("resume-refuse");
    let ck = dir.file("ck.safetensors");
    ok(&nn(&["train", "--net", MLP, "--epochs", "3", "--checkpoint", &ck]));
    assert_eq!(
        refused(&nn(&["train", "--resume", &ck, "--epochs", "5", "--net", MLP])),
        "--resume takes the network from the checkpoint: drop --net"
    );
    assert_eq!(
        refused(&nn(&["train", "--resume", &ck])),
        format!("--resume needs --epochs E, the epochs to reach in all ({ck} has run 3)")
    );
    assert_eq!(
        refused(&nn(&["train", "--resume", &ck, "--epochs", "5", "--lr", "0.5"])),
        "--lr 0.5 differs from the checkpoint's 0.1: a resumed run keeps the settings it started with"
    );
    assert_eq!(
        refused(&nn(&["train", "--resume", &ck, "--epochs", "2"])),
        format!("{ck} has already run 3 epochs, more than the 2 asked for; ask for at least 3 epochs in all")
    );
    let model = dir.file("m.safetensors");
    ok(&nn(&["train", "--net", MLP, "--epochs", "1", "--save", &model]));
    assert_eq!(
        refused(&nn(&["train", "--resume", &model, "--epochs", "5"])),
        format!("{model} is not a checkpoint: no \"checkpoint\" entry in its metadata (a model file?)")
    );
    let csv = dir.file("other.csv");
    write_csv(&csv, 40, 64, 10);
    assert_eq!(
        refused(&nn(&["train", "--resume", &ck, "--epochs", "5", "--data", &csv])),
        format!(
            "{ck} was trained on 1437 rows but this data gives 32 training rows: resume with the run's --data and --test-fraction"
        )
    );
    // A fresh run does not replace a checkpoint by accident.
    assert_eq!(
        refused(&nn(&["train", "--net", MLP, "--epochs", "1", "--checkpoint", &ck])),
        format!("{ck} exists; pass --force to replace it")
    );
    assert_eq!(
        refused(&nn(&["train", "--net", MLP, "--checkpoint-every", "2"])),
        "--checkpoint-every goes with --checkpoint FILE"
    );
    // A checkpoint is a model too: eval and predict take its parameters.
    let eval = json(&nn(&["eval", "--model", &ck, "--json"]));
    assert_eq!(eval["rows"], 1797);
}

/// The checkpoint keeps a fingerprint of its training rows: other rows of the
/// same count are refused, the same rows under another name are not.
#[test]
fn resume_refuses_other_data_of_the_same_size_and_takes_moved_data() {
    let dir = TempDir::new("resume-data");
    let (data, ck) = (dir.file("a.csv"), dir.file("ck.safetensors"));
    write_csv(&data, 40, 8, 2);
    ok(&nn(&["train", "--net", "Linear(8,2)", "--data", &data, "--epochs", "2", "--checkpoint", &ck]));
    let text = std::fs::read_to_string(&data).unwrap();
    let (other, moved) = (dir.file("b.csv"), dir.file("moved.csv"));
    // The same shape and labels, the zeros of the features (in most rows) changed.
    std::fs::write(&other, text.replace("\n0,", "\n0.5,").replace(",0,", ",0.5,")).unwrap();
    std::fs::write(&moved, &text).unwrap();
    assert_eq!(
        refused(&nn(&["train", "--resume", &ck, "--epochs", "3", "--data", &other])),
        format!(
            "{ck} was trained on other rows than the 32 training rows of {other}: resume with the run's --data and --test-fraction"
        )
    );
    // The resumed checkpoint is an input: no other output may replace it, even with --force.
    assert_eq!(
        refused(&nn(&["train", "--resume", &ck, "--epochs", "3", "--save", &ck, "--force"])),
        format!("--save {ck} is also the --resume checkpoint; give another path")
    );
    assert_eq!(
        refused(&nn(&["train", "--resume", &ck, "--epochs", "3", "--history", &data])),
        format!("--history {data} is also the data file of the checkpoint's run; give another path")
    );
    ok(&nn(&["train", "--resume", &ck, "--epochs", "3", "--data", &moved, "--checkpoint", &ck]));
    assert_eq!(nn_train::read_checkpoint(&ck).unwrap().epochs, 3);
}

#[test]
fn auto_encoders_save_evaluate_and_predict_reconstructions() {
    let dir = TempDir::new("ae");
    let model = dir.file("ae.safetensors");
    let trained = json(&nn(&[
        "train",
        "--encoder",
        "Linear(64,16) -> TanH",
        "--decoder",
        "Linear(16,64) -> Sigmoid",
        "--epochs",
        "2",
        "--save",
        &model,
        "--json",
    ]));
    let meta = nn_io::read_metadata(&model).unwrap();
    assert_eq!(meta.get("encoder"), Some("Linear(64, 16) -> TanH()"));
    assert_eq!(meta.get("decoder"), Some("Linear(16, 64) -> Sigmoid()"));
    assert_eq!(meta.get("loss"), Some("bce"));
    let names: Vec<String> = nn_io::load_tensors::<f32>(&model).unwrap().tensors.into_keys().collect();
    assert_eq!(names, ["decoder.0.bias", "decoder.0.weight", "encoder.0.bias", "encoder.0.weight"]);

    let eval = json(&nn(&["eval", "--model", &model, "--split", "test", "--json"]));
    assert_eq!(eval["loss"], trained["test_loss"]);
    assert!(eval["accuracy"].is_null());
    let scores = ok(&nn(&["predict", "--model", &model]));
    assert_eq!(scores.lines().count(), 1797);
    assert!(scores.lines().all(|l| l.split(',').count() == 64));
    assert_eq!(
        refused(&nn(&["predict", "--model", &model, "--output", "labels"])),
        "--output labels needs a classifier; an auto-encoder's outputs are its reconstructions: use --output scores"
    );
}

#[test]
fn export_writes_a_pytorch_script_for_the_model() {
    let dir = TempDir::new("export");
    let model = dir.file("m.safetensors");
    let script = dir.file("m.py");
    ok(&nn(&["train", "--net", CONV, "--epochs", "1", "--save", &model]));
    assert_eq!(ok(&nn(&["export", "--torch", &script, "--model", &model])), "");
    let text = std::fs::read_to_string(&script).unwrap();
    for expected in [
        "class Conv1d(nn.Conv1d):",
        "        Conv1d(1, 4, 3, stride=1),  # Conv1D(3, 1, 4)\n",
        "        MaxPool1d(2, stride=2),  # MaxPool1D(2, 2)\n",
        "        nn.Linear(124, 10),  # Linear(124, 10)\n",
        "INPUT_SHAPE = (64, 1)\n",
        "net.load_state_dict(state, strict=True)",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    torch_round_trip(&dir, &model, &script);
}

/// With `NN_TORCH_PYTHON` (a Python with torch and safetensors): the script
/// loads the file, torch's outputs match ours within 1e-5, and the file torch
/// saves back has the same tensors, bit for bit, and the same predictions.
fn torch_round_trip(dir: &TempDir, model: &str, script: &str) {
    let Some(python) = std::env::var_os("NN_TORCH_PYTHON") else {
        eprintln!("torch round trip skipped: set NN_TORCH_PYTHON to a Python with torch and safetensors");
        return;
    };
    let csv = dir.file("rows.csv");
    write_csv(&csv, 40, 64, 10);
    let back = dir.file("back.safetensors");
    let program = r#"
import importlib.util, sys, numpy as np, torch
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
net = m.load(sys.argv[2])
x = np.loadtxt(sys.argv[3], delimiter=",", skiprows=1, dtype=np.float32)[:, :-1]
with torch.no_grad():
    y = net(torch.from_numpy(x).reshape(x.shape[0], *m.INPUT_SHAPE))
for row in y.numpy():
    print(",".join(repr(float(v)) for v in row))
m.save(net, sys.argv[4])
"#;
    let out = Command::new(python)
        .args(["-c", program, script, model, &csv, &back])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "python: {}", stderr(&out));
    let ours = ok(&nn(&["predict", "--model", model, "--data", &csv, "--output", "scores"]));
    let torch = String::from_utf8(out.stdout).unwrap();
    assert_eq!(ours.lines().count(), torch.lines().count());
    for (a, b) in ours.lines().zip(torch.lines()) {
        for (x, y) in a.split(',').zip(b.split(',')) {
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "ours {x}, torch {y}");
        }
    }
    assert_eq!(tensor_bits(model), tensor_bits(&back));
    assert_eq!(nn_io::read_metadata(model).unwrap(), nn_io::read_metadata(&back).unwrap());
    assert_eq!(ok(&nn(&["predict", "--model", &back, "--data", &csv, "--output", "scores"])), ours);
    assert!(Path::new(&back).exists());
}
