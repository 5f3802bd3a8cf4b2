//! Interop: a model written by `nn train --save` is read in Python with
//! numpy and safetensors only (no torch), its forward pass recomputed by hand
//! from the notation in the file's metadata, and compared with
//! `nn predict --output scores` within 1e-5.
//!
//! Needs a Python with numpy and safetensors: `NN_PYTHON` (default
//! `python3`). Without one the test prints why and passes; `.ci/run` installs
//! both into `target/pyenv` and sets `NN_PYTHON`.

mod common;

use std::process::{Command, Stdio};

use common::{TempDir, nn, ok, stderr, write_csv};

/// Reads the model with numpy and safetensors and prints one output row per
/// input row. Layers are indexed as `nn.Sequential` indexes them (activations
/// counted); sequences are (batch, length, channels), channels last.
const FORWARD: &str = r#"
import json, re, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

model, data = sys.argv[1], sys.argv[2]
with safe_open(model, framework="np") as f:
    meta = f.metadata()
assert meta["format"] == "nn" and meta["dtype"] == "f32", meta
tensors = load_file(model)
x = np.loadtxt(data, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)[:, :-1]
x = x.reshape((x.shape[0], *json.loads(meta["row_shape"])))
used = set()
for i, text in enumerate(re.split(r"->", meta["net"])):
    name, args = re.fullmatch(r"\s*(\w+)\s*(?:\((.*)\))?\s*", text).groups()
    args = [int(a) for a in (args or "").split(",") if a.strip()]
    w, b = tensors.get(f"{i}.weight"), tensors.get(f"{i}.bias")
    if w is not None:
        assert w.dtype == np.float32 and b.dtype == np.float32
        used |= {f"{i}.weight", f"{i}.bias"}
        w, b = w.astype(np.float64), b.astype(np.float64)
    if name == "Linear":
        assert w.shape == (args[1], args[0]), w.shape  # (out, in)
        x = x @ w.T + b
    elif name == "Conv1D":
        k, c_in, c_out = args[:3]
        stride = args[3] if len(args) > 3 else 1
        assert w.shape == (c_out, c_in, k), w.shape  # PyTorch's Conv1d layout
        steps = (x.shape[1] - k) // stride + 1
        windows = np.stack([x[:, t * stride : t * stride + k, :] for t in range(steps)], axis=1)
        x = np.einsum("btkc,ock->bto", windows, w) + b  # (batch, length, channels)
    elif name == "MaxPool1D":
        k = args[0]
        stride = args[1] if len(args) > 1 else k
        steps = (x.shape[1] - k) // stride + 1
        x = np.stack([x[:, t * stride : t * stride + k, :].max(axis=1) for t in range(steps)], axis=1)
    elif name == "Upsample1D":
        x = np.repeat(x, args[0], axis=1)
    elif name == "Flatten":
        x = x.reshape(x.shape[0], -1)
    elif name == "ReLU":
        x = np.maximum(x, 0.0)
    elif name == "TanH":
        x = np.tanh(x)
    elif name == "Sigmoid":
        x = 1.0 / (1.0 + np.exp(-x))
    elif name == "Softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        x = e / e.sum(axis=-1, keepdims=True)
    else:
        sys.exit(f"unknown layer {name}")
assert used == set(tensors), sorted(set(tensors) - used)
for row in x:
    print(",".join(repr(float(v)) for v in row))
"#;

/// The Python to use, or why there is none.
fn python() -> Result<String, String> {
    let python = std::env::var("NN_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import numpy, safetensors.numpy"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !probe.status.success() {
        let why = String::from_utf8_lossy(&probe.stderr);
        let why = why.lines().last().unwrap_or("import failed");
        return Err(format!("{python} lacks numpy or safetensors ({why})"));
    }
    Ok(python)
}

#[test]
fn numpy_recomputes_what_nn_predicts_from_the_model_file() {
    let python = match python() {
        Ok(python) => python,
        Err(why) => {
            eprintln!(
                "interop test skipped: {why}; set NN_PYTHON to a Python with numpy and safetensors (pip install numpy safetensors)"
            );
            return;
        }
    };
    let dir = TempDir::new("interop");
    let model = dir.file("small.safetensors");
    let rows = dir.file("rows.csv");
    write_csv(&rows, 37, 64, 10);
    let net = "Conv1D(3,1,4,2) -> ReLU -> MaxPool1D(2) -> Flatten -> Linear(60,16) -> ReLU -> Linear(16,10)";
    ok(&nn(&["train", "--net", net, "--epochs", "3", "--save", &model]));

    let ours = ok(&nn(&["predict", "--model", &model, "--data", &rows, "--output", "scores"]));
    let out =
        Command::new(&python).args(["-c", FORWARD, &model, &rows]).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{python}: {}", stderr(&out));
    let theirs = String::from_utf8(out.stdout).unwrap();

    assert_eq!(ours.lines().count(), 37);
    assert_eq!(theirs.lines().count(), 37);
    let mut worst = 0.0f64;
    for (i, (a, b)) in ours.lines().zip(theirs.lines()).enumerate() {
        let a: Vec<f64> = a.split(',').map(|v| v.parse().unwrap()).collect();
        let b: Vec<f64> = b.split(',').map(|v| v.parse().unwrap()).collect();
        assert_eq!(a.len(), 10, "row {i}");
        assert_eq!(a.len(), b.len(), "row {i}");
        for (x, y) in a.iter().zip(&b) {
            worst = worst.max((x - y).abs());
            assert!((x - y).abs() <= 1e-5, "row {i}: nn {x}, numpy {y}");
        }
    }
    eprintln!("interop: largest difference between nn and numpy {worst:e}");
}
